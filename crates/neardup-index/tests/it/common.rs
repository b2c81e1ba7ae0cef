//! Helpers shared by the tests: an index in a temp directory or in memory,
//! filled with batches of records from seeds; a store that fails on demand,
//! a store that pauses after a read.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Mutex;

use neardup_index::{
    Index, Ingest, MemStore, NewRecord, OpenOptions, Scan, Store, StoreError, Table, WriteBatch,
};
use serde_json::Value;
use tempfile::TempDir;

/// An index directory (`ix`) in a temp directory of its own, and the
/// options it is opened with (a 16 MiB cache unless told otherwise): what
/// the tests on disk set up. Dropping it removes the directory.
pub(crate) struct TempIndex {
    tmp: TempDir,
    pub(crate) dir: PathBuf,
    pub(crate) opts: OpenOptions,
}

impl TempIndex {
    pub(crate) fn new() -> TempIndex {
        TempIndex::with_options(OpenOptions::new().memory(16 << 20))
    }

    pub(crate) fn with_options(opts: OpenOptions) -> TempIndex {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ix");
        TempIndex { tmp, dir, opts }
    }

    /// An index created with `settings`, `recs` added to it as batches cut
    /// at `cuts` ([`add_batches`]), and closed.
    pub(crate) fn filled(settings: Value, recs: &[NewRecord], cuts: &[usize]) -> TempIndex {
        let t = TempIndex::new();
        add_batches(&t.create(settings), recs, cuts);
        t
    }

    /// The temp directory, for other paths beside the index.
    pub(crate) fn root(&self) -> &Path {
        self.tmp.path()
    }

    pub(crate) fn create(&self, settings: Value) -> Index {
        Index::create(&self.dir, settings, &self.opts).unwrap()
    }

    pub(crate) fn open(&self) -> Index {
        Index::open(&self.dir, &self.opts).unwrap()
    }
}

/// An index over a [`MemStore`] (labelled `m`, default options), and the
/// store, to tamper with or to open again.
pub(crate) fn in_memory(settings: Value) -> (MemStore, Index) {
    let store = MemStore::new();
    let index = Index::create_in(Box::new(store.clone()), "m", settings, &OpenOptions::new());
    (store, index.unwrap())
}

/// Records from seeds `0..n` ([`random_record`]).
pub(crate) fn records(n: u64, bands: usize, set: usize) -> Vec<NewRecord> {
    (0..n).map(|i| random_record(i, bands, set)).collect()
}

/// Adds `recs` as consecutive batches cut at `cuts` (ascending, each
/// within `recs`): batch `k` (from 0) keyed `[k + 1; 16]`.
pub(crate) fn add_batches(index: &Index, recs: &[NewRecord], cuts: &[usize]) {
    let bounds: Vec<usize> =
        [0].into_iter().chain(cuts.iter().copied()).chain([recs.len()]).collect();
    for (k, w) in bounds.windows(2).enumerate() {
        index.add_batch([k as u8 + 1; 16], recs[w[0]..w[1]].iter().cloned()).unwrap();
    }
}

/// SplitMix64: a seeded generator (tests must be reproducible).
pub(crate) fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A record with `bands` random band keys, a 16-slot signature and a set
/// of about `set` hashes, all from `seed`.
pub(crate) fn random_record(seed: u64, bands: usize, set: usize) -> NewRecord {
    let mut s = seed;
    let hash = (u128::from(splitmix(&mut s)) << 64) | u128::from(splitmix(&mut s));
    let mut shingles: Vec<u64> = (0..set).map(|_| splitmix(&mut s)).collect();
    shingles.sort_unstable();
    shingles.dedup();
    NewRecord {
        id: format!("r{seed}"),
        hash,
        len: splitmix(&mut s) % 10_000,
        bands: (0..bands).map(|_| splitmix(&mut s)).collect(),
        signature: (0..16).map(|_| splitmix(&mut s) as u32).collect(),
        set: shingles,
    }
}

/// A record with one band key, 5 in band 0, and no signature or set.
pub(crate) fn one_band_record(id: &str, hash: u128) -> NewRecord {
    NewRecord { id: id.into(), hash, len: 1, bands: vec![5], signature: vec![], set: vec![] }
}

/// A [`MemStore`] that stops the first read of a band key, once it is
/// done, until the test lets it go: it says so on `told`, waits on `go`.
pub(crate) struct PauseAfterRead {
    inner: MemStore,
    armed: Mutex<Option<(Sender<()>, Receiver<()>)>>,
}

impl PauseAfterRead {
    pub(crate) fn new(told: Sender<()>, go: Receiver<()>) -> PauseAfterRead {
        PauseAfterRead { inner: MemStore::new(), armed: Mutex::new(Some((told, go))) }
    }
}

impl Store for PauseAfterRead {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let r = self.inner.get(table, key);
        if table == Table::Keys && key.first() == Some(&1) {
            let armed = self.armed.lock().unwrap().take();
            if let Some((told, go)) = armed {
                told.send(()).unwrap();
                go.recv().unwrap();
            }
        }
        r
    }

    fn scan(&self, table: Table, from: &[u8], to: Option<&[u8]>) -> Scan<'_> {
        self.inner.scan(table, from, to)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.inner.write(batch)
    }

    fn ingest(&self, table: Table) -> Result<Box<dyn Ingest + '_>, StoreError> {
        self.inner.ingest(table)
    }

    fn persist(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn disk_bytes(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
}

/// A [`MemStore`] whose writes and persists fail once a budget of
/// operations is spent: an I/O failure (or a crash, if the index is then
/// dropped and reopened over [`FailStore::inner`]) at any chosen point:
/// every write, persist, ingestion start and ingestion end counts.
pub(crate) struct FailStore {
    pub(crate) inner: MemStore,
    budget: AtomicI64,
}

impl FailStore {
    pub(crate) fn new(inner: MemStore, budget: i64) -> FailStore {
        FailStore { inner, budget: AtomicI64::new(budget) }
    }

    fn spend(&self) -> Result<(), StoreError> {
        if self.budget.fetch_sub(1, Ordering::SeqCst) <= 0 {
            return Err(StoreError::new("injected failure"));
        }
        Ok(())
    }
}

impl Store for FailStore {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(table, key)
    }
    fn scan(&self, table: Table, from: &[u8], to: Option<&[u8]>) -> Scan<'_> {
        self.inner.scan(table, from, to)
    }
    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.spend()?;
        self.inner.write(batch)
    }
    fn ingest(&self, table: Table) -> Result<Box<dyn Ingest + '_>, StoreError> {
        self.spend()?;
        Ok(Box::new(FailIngest { store: self, inner: self.inner.ingest(table)? }))
    }
    fn persist(&self) -> Result<(), StoreError> {
        self.spend()?;
        self.inner.persist()
    }
    fn disk_bytes(&self) -> Result<u64, StoreError> {
        self.inner.disk_bytes()
    }
}

/// An ingestion that may fail at its end.
struct FailIngest<'a> {
    store: &'a FailStore,
    inner: Box<dyn Ingest + 'a>,
}

impl Ingest for FailIngest<'_> {
    fn write(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.inner.write(key, value)
    }
    fn finish(self: Box<Self>) -> Result<(), StoreError> {
        self.store.spend()?;
        self.inner.finish()
    }
}
