//! [`Index`]: records in history order, looked up by exact hash and by LSH
//! band key, added in atomic batches of any size.
//!
//! # Rows
//! Each record is a value under its sequence number. Its exact hash and
//! each of its band keys is a *lookup key*: the keys table says that a
//! lookup key has holders, and the holders table lists them, one row per
//! (lookup key, sequence number), adjacent and in history order. Adding a
//! record only writes rows; it reads nothing (the keys table's rows are
//! written again by each holder, which is idempotent). A lookup is one
//! point read in the keys table, answered by the engine's Bloom filters
//! when the key is new, as most are; a short scan of its holders when not.
//!
//! # Batches
//! A batch's rows carry sequence numbers from the index's committed count
//! on, which make them invisible: every reader ignores sequence numbers at
//! or past the count it read. The commit — a few rows that set the new
//! count and record the batch's key — makes them visible. A batch whose
//! rows fit in memory goes in one engine write together with its commit
//! (atomic in the engine's journal), made durable by one sync: a single
//! record's add costs one sync, not two. A larger one is bulk-loaded,
//! records first (in sequence order, as the caller yields them), then the
//! lookup keys and holders, sorted on disk; once those are durable, the
//! commit is written and made durable. A batch is in the index exactly
//! when its commit is.
//!
//! A crash before the commit leaves rows past the committed count. They
//! are found by scanning the records table from that count (a record's
//! value lists its lookup keys, and no holder is written before its
//! record), and deleted when the index is opened and before every batch,
//! with the lookup keys that no committed record holds. A crash after the
//! commit leaves a whole batch; a caller that reruns it finds it with
//! [`Index::committed_batch`] and can tell which records it already holds.
//!
//! # Readers
//! Committed rows never change, so a reader needs no lock and no engine
//! snapshot: a [`View`] fixes the committed count once and ignores every
//! sequence number past it. Many threads may read while one adds; a view
//! never sees part of a batch. `Index` is `Send + Sync`; share it in an
//! `Arc`.
//!
//! # Memory
//! The engine's budget ([`OpenOptions::memory`]) plus, while a batch is
//! added, [`OpenOptions::chunk_bytes`], whatever the index's or the
//! batch's size.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, RwLock};

use serde_json::Value;

use crate::codec::{
    band_lookup, be_u64, decode_holders, decode_record, encode_alias, encode_holders,
    encode_record, exact_lookup, holder_key, record_key, show_lookup, split_holder, NewAlias,
    NewEntry, NewRecord, Stored, Target, BAND, EXACT, INLINE_HOLDERS,
};
use crate::error::{Error, Result, StoreError};
use crate::meta::{self, BatchInfo, Shape, State, FORMAT_VERSION, OLDEST_READABLE};
use crate::settings;
use crate::sort::{self, Sorter};
use crate::store::{FjallStore, Ingest, Store, Table, WriteBatch};

/// Name of the marker file in an index directory.
pub const MARKER: &str = "neardup-index.json";
/// The engine's directory inside an index directory.
const DB_DIR: &str = "db";
/// Record bytes past which a batch is bulk-loaded rather than written
/// through the engine's journal and memtables (see `write_rows`).
const SMALL_WRITE: usize = 4 << 20;
/// Records per page when crashed rows are removed.
const ROLLBACK_PAGE: usize = 1024;

/// How to open an index.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OpenOptions {
    /// Memory budget of the storage engine, in bytes (block cache and write
    /// buffers; see [`FjallStore`]). Default 256 MiB.
    pub memory: u64,
    /// Memory for adding a batch (default 32 MiB), beyond the engine's,
    /// whatever the batch's size: a batch whose rows fit goes in one engine
    /// write; a larger one is bulk-loaded, its keys sorted in runs of this
    /// size spilled to the index's directory.
    pub chunk_bytes: usize,
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions { memory: 256 << 20, chunk_bytes: 32 << 20 }
    }
}

impl OpenOptions {
    /// The defaults.
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// Sets [`OpenOptions::memory`].
    pub fn memory(mut self, bytes: u64) -> OpenOptions {
        self.memory = bytes;
        self
    }

    /// Sets [`OpenOptions::chunk_bytes`] (at least 1).
    pub fn chunk_bytes(mut self, bytes: usize) -> OpenOptions {
        self.chunk_bytes = bytes.max(1);
        self
    }
}

/// What [`Index::add_batch`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Receipt {
    /// The batch as committed.
    pub batch: BatchInfo,
    /// Records in the index after it.
    pub records: u64,
}

/// Size and settings of an index, as `neardup index stats` shows them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Stats {
    /// Committed records: kept records and aliases.
    pub records: u64,
    /// Of them, kept records (found by exact hash and band keys).
    pub kept: u64,
    /// Of them, aliases (records removed as duplicates, found by exact
    /// hash only; see [`crate::NewAlias`]).
    pub aliases: u64,
    /// Committed batches.
    pub batches: u64,
    /// Bytes the index takes on disk (0 for an in-memory store).
    pub bytes_on_disk: u64,
    /// Layout version.
    pub format_version: u32,
    /// Fingerprint of the settings (xxh3-128 of their canonical JSON).
    pub fingerprint: String,
    /// The matching settings the index was created with.
    pub settings: Value,
}

/// A persistent index of records; see the [module documentation](self).
pub struct Index {
    store: Box<dyn Store>,
    path: PathBuf,
    settings: Value,
    fingerprint: String,
    chunk_bytes: usize,
    /// Where a batch's keys are sorted.
    tmp_dir: PathBuf,
    /// What readers may see.
    published: RwLock<State>,
    /// Held by the one writer (and by `verify`).
    writer: Mutex<()>,
    /// The layout version stored (an older readable one until the first
    /// add; see [`OLDEST_READABLE`]).
    format: Mutex<u32>,
    /// The directory whose marker names the version, for an index opened
    /// from one.
    marker_dir: Option<PathBuf>,
}

/// The one writer of an index ([`Index::writer`]); adds are held off while
/// it lives.
pub struct Writer<'a> {
    index: &'a Index,
    _guard: MutexGuard<'a, ()>,
    absent: Absent,
}

impl<'a> Writer<'a> {
    /// The index.
    pub fn index(&self) -> &'a Index {
        self.index
    }

    /// Bytes of rows a batch may hold in memory ([`OpenOptions::chunk_bytes`]).
    pub(crate) fn chunk_bytes(&self) -> usize {
        self.index.chunk_bytes
    }

    /// A view of every committed record: the history the next batch is
    /// added after (no other batch can come in while the writer lives).
    /// Decide the batch on this view: the lookup keys it finds absent are
    /// remembered, and adding the batch then reads none of them again.
    pub fn view(&self) -> View<'_> {
        View { index: self.index, limit: self.index.records(), absent: Some(&self.absent) }
    }

    /// See [`Index::committed_batch`].
    pub fn committed_batch(&self, batch_key: [u8; 16]) -> Result<Option<BatchInfo>> {
        self.index.committed_batch(batch_key)
    }

    /// See [`Index::add_batch`].
    pub fn add_batch<T: Into<NewEntry>>(
        &self,
        batch_key: [u8; 16],
        entries: impl IntoIterator<Item = T>,
    ) -> Result<Receipt> {
        self.try_add_batch(batch_key, entries.into_iter().map(Ok::<_, std::convert::Infallible>))
    }

    /// See [`Index::try_add_batch`].
    pub fn try_add_batch<T: Into<NewEntry>, E>(
        &self,
        batch_key: [u8; 16],
        entries: impl IntoIterator<Item = std::result::Result<T, E>>,
    ) -> Result<Receipt>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    {
        let added = self.index.add_locked(batch_key, entries, &self.absent);
        // What was absent may be there now.
        self.absent.clear();
        added
    }
}

/// Lookup keys a [`Writer`]'s view found absent from the index, so that
/// adding the batch decided on that view does not read them again (most of
/// a batch's keys are new). Only the writer adds lookup keys, and it holds
/// the lock from deciding to adding, so a key absent then is absent when
/// the batch is added; rollback only removes keys or rewrites present ones.
/// Exact: the keys themselves, not hashes of them (a false "absent" would
/// overwrite a key's holders). Bounded: past [`Absent::MAX`] keys, the
/// rest are read again. Kept as plain lists, sorted once when the batch is
/// added and walked beside its lookup keys, which come sorted too.
#[derive(Default)]
struct Absent {
    keys: Mutex<AbsentKeys>,
}

/// Lookup keys as numbers whose order is the keys' byte order.
#[derive(Default)]
struct AbsentKeys {
    /// Exact hashes.
    exact: Vec<u128>,
    /// `band << 64 | key`.
    bands: Vec<u128>,
    /// Adds finished so far: a key read absent before an add finished may
    /// have been added by it, and is not noted once it has.
    epoch: u64,
}

impl Absent {
    /// Keys kept at most (16 bytes each).
    const MAX: usize = 1 << 21;

    /// `lookup` as (is an exact hash, number).
    fn key(lookup: &[u8]) -> Option<(bool, u128)> {
        let mut b = [0u8; 16];
        match (lookup.first(), lookup.len()) {
            (Some(&EXACT), 17) => {
                b.copy_from_slice(&lookup[1..]);
                Some((true, u128::from_be_bytes(b)))
            }
            (Some(&BAND), 11) => {
                b[6..].copy_from_slice(&lookup[1..]);
                Some((false, u128::from_be_bytes(b)))
            }
            _ => None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, AbsentKeys> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The epoch to pass to [`Absent::insert`]: taken before the read.
    fn epoch(&self) -> u64 {
        self.lock().epoch
    }

    /// Notes `lookup` absent, read so since `epoch`.
    fn insert(&self, lookup: &[u8], epoch: u64) {
        if let Some((exact, k)) = Absent::key(lookup) {
            let mut s = self.lock();
            if s.epoch == epoch && s.exact.len() + s.bands.len() < Absent::MAX {
                if exact {
                    s.exact.push(k);
                } else {
                    s.bands.push(k);
                }
            }
        }
    }

    /// Takes the keys, sorted, to walk beside ascending lookup keys.
    fn take_sorted(&self) -> AbsentWalk {
        let mut keys = {
            let mut s = self.lock();
            AbsentKeys {
                exact: std::mem::take(&mut s.exact),
                bands: std::mem::take(&mut s.bands),
                epoch: s.epoch,
            }
        };
        for v in [&mut keys.exact, &mut keys.bands] {
            v.sort_unstable();
            v.dedup();
        }
        AbsentWalk { keys, at: (0, 0) }
    }

    /// Forgets every key, at the end of an add (whether it succeeded or
    /// not): keys read before it may be there now.
    fn clear(&self) {
        let mut s = self.lock();
        let epoch = s.epoch + 1;
        *s = AbsentKeys { epoch, ..AbsentKeys::default() };
    }
}

/// [`Absent`]'s keys, sorted, asked about lookup keys in ascending order.
struct AbsentWalk {
    keys: AbsentKeys,
    /// Where the walk is in `exact` and in `bands`.
    at: (usize, usize),
}

impl AbsentWalk {
    /// Whether `lookup` was found absent; `lookup` must not be smaller than
    /// the one asked about before.
    fn contains(&mut self, lookup: &[u8]) -> bool {
        let Some((exact, k)) = Absent::key(lookup) else {
            return false;
        };
        let (list, at) = if exact {
            (&self.keys.exact, &mut self.at.0)
        } else {
            (&self.keys.bands, &mut self.at.1)
        };
        while list.get(*at).is_some_and(|&x| x < k) {
            *at += 1;
        }
        list.get(*at) == Some(&k)
    }
}

/// A consistent read-only view of an index: the records before a limit
/// fixed when the view was made. Cheap to make; make one per request.
#[derive(Clone, Copy)]
pub struct View<'a> {
    index: &'a Index,
    limit: u64,
    /// Where a writer's view notes the lookup keys it finds absent.
    absent: Option<&'a Absent>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Marker {
    format: String,
    version: u32,
    engine: String,
}

impl Index {
    /// Creates an index in `dir` (new, or an empty directory) holding the
    /// matching `settings` (a JSON object).
    pub fn create(dir: impl AsRef<Path>, settings: Value, opts: &OpenOptions) -> Result<Index> {
        let dir = dir.as_ref();
        let io = |source| Error::Io { path: dir.to_owned(), source };
        match fs_err::read_dir(dir) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(Error::NotEmpty { path: dir.to_owned() });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs_err::create_dir_all(dir).map_err(io)?;
            }
            Err(e) => return Err(io(e)),
        }
        let store = FjallStore::open(&dir.join(DB_DIR), opts.memory)
            .map_err(|source| Error::Store { path: dir.to_owned(), source })?;
        let mut index = Index::create_in(Box::new(store), dir, settings, opts)?;
        index.tmp_dir = dir.to_owned();
        index.marker_dir = Some(dir.to_owned());
        // The marker goes last: a directory without it is not an index.
        write_marker(dir, FORMAT_VERSION)?;
        Ok(index)
    }

    /// Marks an index of an older readable layout as of this one, before
    /// its first add writes what older builds cannot read: the stored
    /// format first, then the directory's marker (either refuses them).
    fn upgrade_format(&self) -> Result<()> {
        let mut format = self.format.lock().unwrap_or_else(|e| e.into_inner());
        if *format == FORMAT_VERSION {
            return Ok(());
        }
        let mut b = WriteBatch::new();
        b.put(Table::Meta, meta::FORMAT.to_vec(), meta::encode_format(FORMAT_VERSION));
        self.write(b)?;
        self.persist()?;
        if let Some(dir) = &self.marker_dir {
            write_marker(dir, FORMAT_VERSION)?;
        }
        *format = FORMAT_VERSION;
        Ok(())
    }

    /// Opens the index in `dir`, removing the rows of a batch that a crash
    /// left unfinished.
    pub fn open(dir: impl AsRef<Path>, opts: &OpenOptions) -> Result<Index> {
        let dir = dir.as_ref();
        let not = |reason: String| Error::NotAnIndex { path: dir.to_owned(), reason };
        let text = match fs_err::read_to_string(dir.join(MARKER)) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(not(format!("no {MARKER}; create one with `neardup index create`")))
            }
            Err(e) => return Err(Error::Io { path: dir.to_owned(), source: e }),
        };
        let marker: Marker = serde_json::from_str(&text)
            .map_err(|e| not(format!("{MARKER} does not parse: {e}")))?;
        if marker.format != "neardup-index" {
            return Err(not(format!("{MARKER} names format `{}`", marker.format)));
        }
        if !(OLDEST_READABLE..=FORMAT_VERSION).contains(&marker.version) {
            return Err(Error::Version {
                path: dir.to_owned(),
                found: marker.version,
                supported: FORMAT_VERSION,
            });
        }
        if marker.engine != "fjall" {
            return Err(not(format!(
                "{MARKER} names engine `{}`, expected `fjall`",
                marker.engine
            )));
        }
        let store = FjallStore::open(&dir.join(DB_DIR), opts.memory)
            .map_err(|source| Error::Store { path: dir.to_owned(), source })?;
        let mut index = Index::open_in(Box::new(store), dir, opts)?;
        index.tmp_dir = dir.to_owned();
        index.marker_dir = Some(dir.to_owned());
        Ok(index)
    }

    /// Creates an index in an empty `store`; `label` names it in messages.
    pub fn create_in(
        store: Box<dyn Store>,
        label: impl Into<PathBuf>,
        settings: Value,
        opts: &OpenOptions,
    ) -> Result<Index> {
        let path = label.into();
        if !settings.is_object() {
            return Err(Error::SettingsNotObject { path, given: settings.to_string() });
        }
        let index = Index::new(store, path, settings, opts);
        if index.get(Table::Meta, meta::FORMAT)?.is_some() {
            return Err(Error::NotEmpty { path: index.path });
        }
        let mut b = WriteBatch::new();
        b.put(Table::Meta, meta::FORMAT.to_vec(), meta::encode_format(FORMAT_VERSION));
        b.put(
            Table::Meta,
            meta::SETTINGS.to_vec(),
            meta::encode_text(&settings::canonical(&index.settings)),
        );
        b.put(Table::Meta, meta::FINGERPRINT.to_vec(), meta::encode_text(&index.fingerprint));
        b.put(Table::Meta, meta::STATE.to_vec(), meta::encode_state(&State::default()));
        index.write(b)?;
        index.persist()?;
        Ok(index)
    }

    /// Opens the index in `store`; `label` names it in messages.
    pub fn open_in(
        store: Box<dyn Store>,
        label: impl Into<PathBuf>,
        opts: &OpenOptions,
    ) -> Result<Index> {
        let mut index = Index::new(store, label.into(), Value::Null, opts);
        let format = index.meta_value(meta::FORMAT, "format")?;
        let version =
            meta::decode_format(&format).map_err(|w| index.corrupt("meta", "format", w))?;
        if !(OLDEST_READABLE..=FORMAT_VERSION).contains(&version) {
            return Err(Error::Version {
                path: index.path,
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        index.format = Mutex::new(version);
        let raw = index.meta_value(meta::SETTINGS, "settings")?;
        let text = meta::decode_text(&raw).map_err(|w| index.corrupt("meta", "settings", w))?;
        index.settings = serde_json::from_str(text)
            .map_err(|e| index.corrupt("meta", "settings", format!("does not parse: {e}")))?;
        index.fingerprint = settings::fingerprint(&index.settings);
        let state = index.load_state()?;
        {
            let _w = index.lock_writer();
            index.rollback(state.next_seq)?;
        }
        *index.published.write().unwrap_or_else(|e| e.into_inner()) = state;
        Ok(index)
    }

    fn new(store: Box<dyn Store>, path: PathBuf, settings: Value, opts: &OpenOptions) -> Index {
        let fingerprint = settings::fingerprint(&settings);
        Index {
            store,
            path,
            settings,
            fingerprint,
            chunk_bytes: opts.chunk_bytes.max(1),
            tmp_dir: std::env::temp_dir(),
            published: RwLock::new(State::default()),
            writer: Mutex::new(()),
            format: Mutex::new(FORMAT_VERSION),
            marker_dir: None,
        }
    }

    /// Where the index is (its directory, or the label of its store).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The matching settings the index was created with.
    pub fn settings(&self) -> &Value {
        &self.settings
    }

    /// Fingerprint of [`Index::settings`]: xxh3-128 of their canonical
    /// JSON, 32 hex digits.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// `Ok` when `given` equals the index's settings, else an error naming
    /// the first setting that differs and both values.
    pub fn check_settings(&self, given: &Value) -> Result<()> {
        settings::check(&self.settings, given)
            .map_err(|mismatch| Error::Settings { path: self.path.clone(), mismatch })
    }

    fn state(&self) -> State {
        *self.published.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Committed records.
    pub fn records(&self) -> u64 {
        self.state().next_seq
    }

    /// A view of the records committed now.
    pub fn view(&self) -> View<'_> {
        View { index: self, limit: self.records(), absent: None }
    }

    fn view_limited(&self, limit: u64) -> View<'_> {
        View { index: self, limit, absent: None }
    }

    /// A view of the first `limit` records (say, the history before a
    /// batch: `view_at(info.first_seq)`).
    pub fn view_at(&self, limit: u64) -> Result<View<'_>> {
        let records = self.records();
        if limit > records {
            return Err(Error::OutOfRange {
                path: self.path.clone(),
                what: format!("a view of {limit} records, but the index holds {records}"),
            });
        }
        Ok(View { index: self, limit, absent: None })
    }

    /// See [`View::find_exact`].
    pub fn find_exact(&self, hash: u128) -> Result<Option<(u64, String)>> {
        self.view().find_exact(hash)
    }

    /// See [`View::find_band`].
    pub fn find_band(&self, band: usize, key: u64, out: &mut Vec<u64>) -> Result<()> {
        self.view().find_band(band, key, out)
    }

    /// See [`View::record`].
    pub fn record(&self, seq: u64) -> Result<Stored> {
        self.view().record(seq)
    }

    /// The batch committed under `batch_key`, if any.
    pub fn committed_batch(&self, batch_key: [u8; 16]) -> Result<Option<BatchInfo>> {
        let published = self.records();
        Ok(self.batch_info(&batch_key)?.filter(|i| i.first_seq + i.count <= published))
    }

    fn batch_info(&self, batch_key: &[u8; 16]) -> Result<Option<BatchInfo>> {
        let Some(v) = self.get(Table::Meta, &meta::batch_key(batch_key))? else {
            return Ok(None);
        };
        meta::decode_batch(&v)
            .map(Some)
            .map_err(|w| self.corrupt("meta", &format!("batch {}", meta::hex(batch_key)), w))
    }

    /// Size and settings.
    pub fn stats(&self) -> Result<Stats> {
        let state = self.state();
        Ok(Stats {
            records: state.next_seq,
            kept: state.next_seq - state.aliases,
            aliases: state.aliases,
            batches: state.batches,
            bytes_on_disk: self.store.disk_bytes().map_err(|e| self.store_error(e))?,
            format_version: *self.format.lock().unwrap_or_else(|e| e.into_inner()),
            fingerprint: self.fingerprint.clone(),
            settings: self.settings.clone(),
        })
    }

    /// Adds `entries` (kept records, [`NewRecord`], or aliases,
    /// [`NewAlias`]) as one atomic batch under `batch_key`; see the
    /// [module documentation](self). Fails, adding nothing, if a batch with
    /// this key is already in the index or an entry cannot be stored.
    pub fn add_batch<T: Into<NewEntry>>(
        &self,
        batch_key: [u8; 16],
        entries: impl IntoIterator<Item = T>,
    ) -> Result<Receipt> {
        self.writer()?.add_batch(batch_key, entries)
    }

    /// [`Index::add_batch`] over fallible entries: the first `Err` aborts
    /// the batch, adding nothing ([`Error::Aborted`]).
    pub fn try_add_batch<T: Into<NewEntry>, E>(
        &self,
        batch_key: [u8; 16],
        entries: impl IntoIterator<Item = std::result::Result<T, E>>,
    ) -> Result<Receipt>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    {
        self.writer()?.try_add_batch(batch_key, entries)
    }

    /// The one writer: waits for an add in progress, then holds adds off
    /// until dropped. Deciding a batch against [`Writer::view`] and adding
    /// it with [`Writer::add_batch`] under one writer makes sure that no
    /// other batch came in between (what `neardup serve` does per request).
    pub fn writer(&self) -> Result<Writer<'_>> {
        let guard = self.lock_writer();
        // The store, not memory, says what is committed: an earlier add may
        // have failed after its commit was written.
        let state = self.load_state()?;
        *self.published.write().unwrap_or_else(|e| e.into_inner()) = state;
        Ok(Writer { index: self, _guard: guard, absent: Absent::default() })
    }

    fn add_locked<T: Into<NewEntry>, E>(
        &self,
        batch_key: [u8; 16],
        entries: impl IntoIterator<Item = std::result::Result<T, E>>,
        absent: &Absent,
    ) -> Result<Receipt>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    {
        let state = self.load_state()?;
        *self.published.write().unwrap_or_else(|e| e.into_inner()) = state;
        if let Some(info) = self.batch_info(&batch_key)? {
            return Err(Error::BatchCommitted {
                path: self.path.clone(),
                key: meta::hex(&batch_key),
                first_seq: info.first_seq,
                count: info.count,
            });
        }
        self.rollback(state.next_seq)?;
        self.upgrade_format()?;
        let (next_seq, shape, aliases, rows) = match self.write_rows(state, entries, absent) {
            Ok(r) => r,
            Err(e) => {
                // Best effort: what stays is removed by the next add or open.
                let _ = self.rollback(state.next_seq);
                return Err(e);
            }
        };
        // Bulk-loaded rows are durable before the commit that makes them
        // visible; rows still in a write go with the commit, atomically.
        let mut b = match rows {
            Some(rows) => rows,
            None => {
                self.persist()?;
                WriteBatch::new()
            }
        };
        let info = BatchInfo {
            first_seq: state.next_seq,
            count: next_seq - state.next_seq,
            number: state.batches,
        };
        let new =
            State { next_seq, batches: state.batches + 1, shape, aliases: state.aliases + aliases };
        b.put(Table::Meta, meta::STATE.to_vec(), meta::encode_state(&new));
        b.put(Table::Meta, meta::batch_key(&batch_key), meta::encode_batch(&info));
        b.put(
            Table::Meta,
            meta::batch_number_key(info.number),
            meta::encode_batch_number(&batch_key, &info),
        );
        self.write(b)?;
        self.persist()?;
        *self.published.write().unwrap_or_else(|e| e.into_inner()) = new;
        Ok(Receipt { batch: info, records: next_seq })
    }

    /// Writes the rows of a batch; returns the next sequence number, the
    /// shape, the aliases and, for a batch whose rows fit in
    /// [`OpenOptions::chunk_bytes`], those rows as one engine write, not
    /// yet written (the commit joins them). A larger batch is bulk-loaded:
    /// records in sequence order as they come, then the lookup keys and
    /// holders, sorted on disk, one ingestion per table. Records go first,
    /// so that every row a crash leaves behind is found through a record.
    fn write_rows<T: Into<NewEntry>, E>(
        &self,
        state: State,
        entries: impl IntoIterator<Item = std::result::Result<T, E>>,
        absent: &Absent,
    ) -> Result<(u64, Option<Shape>, u64, Option<WriteBatch>)>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    {
        let io = |source| Error::Io { path: self.path.clone(), source };
        let mut seq = state.next_seq;
        let mut shape = state.shape;
        let mut sorter = Sorter::new(&self.tmp_dir, self.chunk_bytes / 2);
        let mut small = WriteBatch::new();
        let mut records: Option<Box<dyn Ingest + '_>> = None;
        let mut value = Vec::new();
        // Which positions of the batch are aliases (an alias may only
        // point to a kept record).
        let mut is_alias: Vec<u64> = Vec::new();
        let mut aliases = 0u64;
        for (position, entry) in (0u64..).zip(entries) {
            let r: NewEntry = entry
                .map_err(|e| Error::Aborted {
                    path: self.path.clone(),
                    position,
                    source: e.into(),
                })?
                .into();
            match &r {
                NewEntry::Record(r) => {
                    shape = self.validate(r, position, shape)?;
                    encode_record(r, &mut value);
                }
                NewEntry::Alias(a) => {
                    let of = self.resolve(a, position, state.next_seq, &is_alias)?;
                    encode_alias(a, of, &mut value);
                    aliases += 1;
                    let (word, bit) = ((position / 64) as usize, position % 64);
                    if is_alias.len() <= word {
                        is_alias.resize(word + 1, 0);
                    }
                    is_alias[word] |= 1 << bit;
                }
            }
            match &mut records {
                Some(ing) => {
                    ing.write(&record_key(seq), &value).map_err(|e| self.store_error(e))?
                }
                None => small.put(Table::Records, record_key(seq).to_vec(), value.clone()),
            }
            sorter.push(sort::entry(&holder_key(&exact_lookup(r.hash()), seq))).map_err(io)?;
            for (band, &key) in (0u16..).zip(r.bands()) {
                sorter.push(sort::entry(&holder_key(&band_lookup(band, key), seq))).map_err(io)?;
            }
            seq += 1;
            if records.is_none()
                && (small.bytes() >= (self.chunk_bytes / 2).min(SMALL_WRITE) || sorter.spilled())
            {
                // A large batch: bulk-load it.
                let mut ing = self.store.ingest(Table::Records).map_err(|e| self.store_error(e))?;
                for op in small.ops.drain(..) {
                    let v = op.value.as_deref().unwrap_or_default();
                    ing.write(&op.key, v).map_err(|e| self.store_error(e))?;
                }
                records = Some(ing);
            }
        }
        let bad_entry = || {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a temporary sort file of the batch is damaged",
            ))
        };
        let mut holders = sorter.finish().map_err(io)?;
        let mut walk = absent.take_sorted();
        // Holders sorted are lookup keys sorted: one pass over them, a
        // lookup key's new holders at a time, writes both tables.
        let mut groups = Groups::default();
        let mut next = || -> Result<Option<(Vec<u8>, u64)>> {
            match holders.next() {
                None => Ok(None),
                Some(e) => {
                    let (b, n) = sort::key(&e.map_err(io)?).ok_or_else(bad_entry)?;
                    let (lookup, seq) = split_holder(&b[..n]).ok_or_else(bad_entry)?;
                    Ok(Some((lookup.to_vec(), seq)))
                }
            }
        };
        let Some(ing) = records else {
            while groups.next(&mut next)? {
                if self.place_holders(&mut groups, state.next_seq, &mut walk)? {
                    small.put(Table::Keys, groups.lookup.clone(), groups.value.clone());
                }
                for &s in &groups.rows {
                    small.put(Table::Holders, holder_key(&groups.lookup, s), Vec::new());
                }
            }
            return Ok((seq, shape, aliases, Some(small)));
        };
        let fail = |e| self.store_error(e);
        ing.finish().map_err(fail)?;
        let mut keys = self.store.ingest(Table::Keys).map_err(fail)?;
        let mut rows = self.store.ingest(Table::Holders).map_err(fail)?;
        while groups.next(&mut next)? {
            if self.place_holders(&mut groups, state.next_seq, &mut walk)? {
                keys.write(&groups.lookup, &groups.value).map_err(fail)?;
            }
            for &s in &groups.rows {
                rows.write(&holder_key(&groups.lookup, s), &[]).map_err(fail)?;
            }
        }
        // Rows first: a key whose holders move to rows (an empty value)
        // must never be visible before them. Rows beside a list are
        // ignored by readers, and rollback removes them.
        rows.finish().map_err(fail)?;
        keys.finish().map_err(fail)?;
        Ok((seq, shape, aliases, None))
    }

    /// Where the holders of `g.lookup` go once `g.new` (this batch's,
    /// from `first_new` on) are added: fills `g.value` and `g.rows` (the
    /// holder rows to write) and says whether the key's value is written.
    /// A key lists up to [`INLINE_HOLDERS`] itself; past that, or when its
    /// holders are rows already, they are rows (see [`encode_holders`]).
    fn place_holders(
        &self,
        g: &mut Groups,
        first_new: u64,
        absent: &mut AbsentWalk,
    ) -> Result<bool> {
        g.rows.clear();
        g.all.clear();
        let value =
            if absent.contains(&g.lookup) { None } else { self.get(Table::Keys, &g.lookup)? };
        match value {
            Some(v) if v.is_empty() => {
                g.rows.extend_from_slice(&g.new);
                return Ok(false);
            }
            Some(v) => {
                decode_holders(&v, &mut g.all)
                    .map_err(|w| self.corrupt("keys", &show_lookup(&g.lookup), w))?;
                // Holders of an unfinished batch were rolled back; never
                // keep one that slipped through.
                g.all.retain(|&s| s < first_new);
            }
            None => {}
        }
        g.all.extend_from_slice(&g.new);
        if g.all.len() <= INLINE_HOLDERS {
            encode_holders(&g.all, &mut g.value);
        } else {
            g.value.clear();
            g.rows.extend_from_slice(&g.all);
        }
        Ok(true)
    }

    /// Checks a kept record; returns the index's shape with it.
    fn validate(
        &self,
        r: &NewRecord,
        position: u64,
        shape: Option<Shape>,
    ) -> Result<Option<Shape>> {
        let invalid = |what: String| Error::InvalidRecord {
            path: self.path.clone(),
            id: r.id.clone(),
            position,
            what,
        };
        let (Ok(bands), Ok(slots)) =
            (u16::try_from(r.bands.len()), u32::try_from(r.signature.len()))
        else {
            return Err(invalid(format!(
                "{} band keys and {} signature slots; at most {} and {} fit",
                r.bands.len(),
                r.signature.len(),
                u16::MAX,
                u32::MAX
            )));
        };
        let this = Shape { bands: u32::from(bands), slots };
        if let Some(s) = shape.filter(|_| bands > 0) {
            if s != this {
                return Err(invalid(format!(
                    "{} band keys and {} signature slots, but the index's records have {} and {}",
                    this.bands, this.slots, s.bands, s.slots
                )));
            }
        }
        if let Some(i) = r.set.windows(2).position(|w| w[0] >= w[1]) {
            return Err(invalid(format!(
                "shingle set is not ascending and distinct at position {}",
                i + 1
            )));
        }
        // A record without band keys (too short to shingle) fits any shape.
        Ok(if bands > 0 { Some(this) } else { shape })
    }

    /// The sequence number of the kept record alias `a` (at `position` of
    /// a batch starting at `first_seq`) points to; an error if it is not
    /// an earlier kept record.
    fn resolve(
        &self,
        a: &NewAlias,
        position: u64,
        first_seq: u64,
        is_alias: &[u64],
    ) -> Result<u64> {
        let invalid = |what: String| Error::InvalidRecord {
            path: self.path.clone(),
            id: a.id.clone(),
            position,
            what,
        };
        match a.of {
            Target::InBatch(p) => {
                if p >= position {
                    return Err(invalid(format!(
                        "an alias of batch record {p}, which does not come before it"
                    )));
                }
                if is_alias.get((p / 64) as usize).is_some_and(|w| w >> (p % 64) & 1 == 1) {
                    return Err(invalid(format!(
                        "an alias of batch record {p}, which is an alias itself"
                    )));
                }
                Ok(first_seq + p)
            }
            Target::Seq(seq) => {
                if seq >= first_seq {
                    return Err(invalid(format!(
                        "an alias of record {seq}, but the index holds {first_seq}"
                    )));
                }
                let r = self.view_limited(first_seq).record(seq)?;
                if r.alias.is_some() {
                    return Err(invalid(format!(
                        "an alias of record {seq}, which is an alias itself"
                    )));
                }
                Ok(seq)
            }
        }
    }

    /// Removes the rows of an unfinished batch: every record at or past
    /// `next_seq`, its holders, and the lookup keys no committed record
    /// holds. Each page goes in one engine write, record included, so a
    /// crash here leaves rows the next call finds.
    fn rollback(&self, next_seq: u64) -> Result<()> {
        let mut removed = false;
        loop {
            let page: Vec<(Vec<u8>, Vec<u8>)> = self
                .store
                .scan(Table::Records, &record_key(next_seq), None)
                .take(ROLLBACK_PAGE)
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| self.store_error(e))?;
            if page.is_empty() {
                break;
            }
            let mut b = WriteBatch::new();
            let mut lookups = std::collections::BTreeSet::new();
            for (k, v) in &page {
                let seq = be_u64(k).ok_or_else(|| {
                    self.corrupt("records", &format!("key {}", meta::hex(k)), "not 8 bytes".into())
                })?;
                let r = decode_record(seq, v)
                    .map_err(|w| self.corrupt("records", &format!("seq {seq}"), w))?;
                let exact = exact_lookup(r.hash).to_vec();
                b.delete(Table::Holders, holder_key(&exact, seq));
                lookups.insert(exact);
                for (band, &key) in (0u16..).zip(&r.bands) {
                    let lookup = band_lookup(band, key).to_vec();
                    b.delete(Table::Holders, holder_key(&lookup, seq));
                    lookups.insert(lookup);
                }
                b.delete(Table::Records, k.clone());
            }
            for lookup in lookups {
                let value = self.get(Table::Keys, &lookup)?;
                if let Some(v) = value.filter(|v| !v.is_empty()) {
                    // The key lists its holders: drop the batch's, and any
                    // rows beside the list (a move to rows cut short).
                    for e in self.store.scan_prefix(Table::Holders, &lookup) {
                        b.delete(Table::Holders, e.map_err(|e| self.store_error(e))?.0);
                    }
                    let mut seqs = Vec::new();
                    decode_holders(&v, &mut seqs)
                        .map_err(|w| self.corrupt("keys", &show_lookup(&lookup), w))?;
                    let before = seqs.len();
                    seqs.retain(|&s| s < next_seq);
                    if seqs.is_empty() {
                        b.delete(Table::Keys, lookup);
                    } else if seqs.len() < before {
                        let mut v = Vec::new();
                        encode_holders(&seqs, &mut v);
                        b.put(Table::Keys, lookup, v);
                    }
                    continue;
                }
                // Holders come in sequence order: the first says whether a
                // committed record holds the key.
                let first = match self.store.scan_prefix(Table::Holders, &lookup).next() {
                    None => None,
                    Some(e) => {
                        let (k, _) = e.map_err(|e| self.store_error(e))?;
                        split_holder(&k).map(|(_, s)| s)
                    }
                };
                if first.is_none_or(|s| s >= next_seq) {
                    b.delete(Table::Keys, lookup);
                }
            }
            self.write(b)?;
            removed = true;
        }
        if removed {
            self.persist()?;
        }
        Ok(())
    }

    pub(crate) fn load_state(&self) -> Result<State> {
        let v = self.meta_value(meta::STATE, "state")?;
        meta::decode_state(&v).map_err(|w| self.corrupt("meta", "state", w))
    }

    pub(crate) fn lock_writer(&self) -> std::sync::MutexGuard<'_, ()> {
        // The lock guards no data (the state is reloaded from the store by
        // each writer), so a panic elsewhere does not make it unusable.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn meta_value(&self, key: &[u8], name: &str) -> Result<Vec<u8>> {
        self.get(Table::Meta, key)?.ok_or_else(|| self.corrupt("meta", name, "missing".to_owned()))
    }

    pub(crate) fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.store.get(table, key).map_err(|e| self.store_error(e))
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    fn write(&self, b: WriteBatch) -> Result<()> {
        if b.is_empty() {
            return Ok(());
        }
        self.store.write(b).map_err(|e| self.store_error(e))
    }

    fn persist(&self) -> Result<()> {
        self.store.persist().map_err(|e| self.store_error(e))
    }

    pub(crate) fn store_error(&self, source: StoreError) -> Error {
        Error::Store { path: self.path.clone(), source }
    }

    pub(crate) fn corrupt(&self, table: &'static str, key: &str, what: String) -> Error {
        Error::Corrupt { path: self.path.clone(), table, key: key.to_owned(), what }
    }
}

impl<'a> View<'a> {
    /// Records in this view: sequence numbers `0..records()`.
    pub fn records(&self) -> u64 {
        self.limit
    }

    /// The index this is a view of.
    pub fn index(&self) -> &'a Index {
        self.index
    }

    /// The first record with exact hash `hash`: its sequence number and id
    /// (an alias's own, if an alias was first; see [`View::lookup_exact`]).
    pub fn find_exact(&self, hash: u128) -> Result<Option<(u64, String)>> {
        Ok(self.lookup_exact(hash)?.map(|r| (r.seq, r.id)))
    }

    /// The first record with exact hash `hash`, read: a kept record, or an
    /// alias naming the kept record where its text lives.
    pub fn lookup_exact(&self, hash: u128) -> Result<Option<Stored>> {
        let mut first = None;
        self.holders(&exact_lookup(hash), |seq| {
            first = Some(seq);
            false
        })?;
        let Some(seq) = first else {
            return Ok(None);
        };
        let r = self.record(seq)?;
        if r.hash != hash {
            return Err(self.index.corrupt(
                "holders",
                &format!("hash {hash:032x}"),
                format!("names record {seq}, whose hash is {:032x}", r.hash),
            ));
        }
        Ok(Some(r))
    }

    /// Appends to `out`, ascending, the sequence numbers of the records
    /// whose key in band `band` is `key`.
    pub fn find_band(&self, band: usize, key: u64, out: &mut Vec<u64>) -> Result<()> {
        let Ok(band) = u16::try_from(band) else {
            return Err(Error::OutOfRange {
                path: self.index.path.clone(),
                what: format!("band {band}: at most {} bands fit", u16::MAX),
            });
        };
        self.holders(&band_lookup(band, key), |seq| {
            out.push(seq);
            true
        })
    }

    /// Calls `each` with the holders of `lookup` in the view, ascending,
    /// while it returns true. One point read, unless the key has more
    /// holders than its value lists (see [`encode_holders`]).
    fn holders(&self, lookup: &[u8], mut each: impl FnMut(u64) -> bool) -> Result<()> {
        let ix = self.index;
        let epoch = self.absent.map(Absent::epoch);
        let Some(value) = ix.get(Table::Keys, lookup)? else {
            if let (Some(a), Some(e)) = (self.absent, epoch) {
                a.insert(lookup, e);
            }
            return Ok(());
        };
        if !value.is_empty() {
            let mut seqs = Vec::new();
            decode_holders(&value, &mut seqs)
                .map_err(|w| ix.corrupt("keys", &show_lookup(lookup), w))?;
            for seq in seqs {
                if seq >= self.limit || !each(seq) {
                    break;
                }
            }
            return Ok(());
        }
        for entry in ix.store.scan_prefix(Table::Holders, lookup) {
            let (k, _) = entry.map_err(|e| ix.store_error(e))?;
            let seq = split_holder(&k).map(|(_, s)| s).ok_or_else(|| {
                ix.corrupt("holders", &show_lookup(lookup), format!("key {}", meta::hex(&k)))
            })?;
            if seq >= self.limit || !each(seq) {
                break;
            }
        }
        Ok(())
    }

    /// The record with sequence number `seq`.
    pub fn record(&self, seq: u64) -> Result<Stored> {
        let ix = self.index;
        if seq >= self.limit {
            return Err(Error::OutOfRange {
                path: ix.path.clone(),
                what: format!("record {seq}, but the view holds {} records", self.limit),
            });
        }
        let v = ix
            .get(Table::Records, &record_key(seq))?
            .ok_or_else(|| ix.corrupt("records", &format!("seq {seq}"), "missing".to_owned()))?;
        decode_record(seq, &v).map_err(|w| ix.corrupt("records", &format!("seq {seq}"), w))
    }

    /// The records of the view in sequence order, streamed from the store.
    pub fn iter(&self) -> Records<'a> {
        let ix = self.index;
        Records {
            index: ix,
            scan: ix.store.scan(Table::Records, &record_key(0), Some(&record_key(self.limit))),
            expected: 0,
            limit: self.limit,
        }
    }
}

/// The records of a [`View`] in sequence order ([`View::iter`]).
pub struct Records<'a> {
    index: &'a Index,
    scan: crate::store::Scan<'a>,
    expected: u64,
    limit: u64,
}

impl Iterator for Records<'_> {
    type Item = Result<Stored>;

    fn next(&mut self) -> Option<Result<Stored>> {
        let ix = self.index;
        let Some(entry) = self.scan.next() else {
            if self.expected < self.limit {
                let missing = self.expected;
                self.expected = self.limit;
                return Some(Err(ix.corrupt(
                    "records",
                    &format!("seq {missing}"),
                    "missing".to_owned(),
                )));
            }
            return None;
        };
        let item = entry.map_err(|e| ix.store_error(e)).and_then(|(k, v)| {
            let seq = be_u64(&k).filter(|&s| s == self.expected).ok_or_else(|| {
                ix.corrupt(
                    "records",
                    &format!("key {}", meta::hex(&k)),
                    format!("expected record {} next", self.expected),
                )
            })?;
            decode_record(seq, &v).map_err(|w| ix.corrupt("records", &format!("seq {seq}"), w))
        });
        self.expected += 1;
        Some(item)
    }
}

/// A lookup key and the holders a batch adds to it, from the batch's
/// sorted holder rows ([`Index::place_holders`] fills the rest).
#[derive(Default)]
struct Groups {
    lookup: Vec<u8>,
    new: Vec<u64>,
    /// The first row of the next key, read past the end of this one.
    ahead: Option<(Vec<u8>, u64)>,
    all: Vec<u64>,
    value: Vec<u8>,
    rows: Vec<u64>,
}

impl Groups {
    /// Reads the next lookup key and its new holders off `next`; false at
    /// the end.
    fn next(&mut self, next: &mut impl FnMut() -> Result<Option<(Vec<u8>, u64)>>) -> Result<bool> {
        let Some((lookup, seq)) = self.ahead.take().map_or_else(&mut *next, |a| Ok(Some(a)))?
        else {
            return Ok(false);
        };
        self.lookup = lookup;
        self.new.clear();
        self.new.push(seq);
        while let Some((l, s)) = next()? {
            if l != self.lookup {
                self.ahead = Some((l, s));
                break;
            }
            self.new.push(s);
        }
        Ok(true)
    }
}

/// Writes the directory's marker naming layout `version`, atomically.
fn write_marker(dir: &Path, version: u32) -> Result<()> {
    let io = |source| Error::Io { path: dir.to_owned(), source };
    let marker = Marker { format: "neardup-index".to_owned(), version, engine: "fjall".to_owned() };
    let tmp = dir.join(format!("{MARKER}.tmp"));
    let text = serde_json::to_string_pretty(&marker).expect("a marker serializes") + "\n";
    let mut f = fs_err::File::create(&tmp).map_err(io)?;
    std::io::Write::write_all(&mut f, text.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    fs_err::rename(&tmp, dir.join(MARKER)).map_err(io)?;
    fs_err::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    Ok(())
}
