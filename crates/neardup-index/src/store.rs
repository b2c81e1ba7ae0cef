//! The one small trait over an ordered key-value engine, and its two
//! implementations: [`FjallStore`] (fjall, an embedded LSM tree) for real
//! indexes and [`MemStore`] (a `BTreeMap`) for tests.
//!
//! An index needs little of its engine: point reads, ordered scans over a
//! key range, multi-key writes that land atomically, sorted bulk loads, and
//! a way to make what was written durable. The keys live in a few separate
//! [`Table`]s so an engine can give each its own tree: records are appended
//! in key order while band keys arrive at random, and keeping them apart
//! keeps one from paying for the other's compaction. Anything that offers
//! those operations (RocksDB column families and its SST ingestion, LMDB
//! sub-databases) can replace fjall by implementing [`Store`].
//!
//! Engines must make a write either fully visible or not at all, also
//! across a crash of the process: the batch protocol of
//! [`Index`](crate::Index) builds atomic batches of any size on that.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::error::StoreError;

/// The tables of an index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// Format, settings, the commit state and the committed batches.
    Meta,
    /// Sequence number → record value.
    Records,
    /// Lookup key (an exact hash, or a band and its key) → nothing: the
    /// key has holders. A point read, answered by Bloom filters when the
    /// key is new, as most are.
    Keys,
    /// Lookup key + sequence number → nothing: one holder of the key.
    Holders,
}

impl Table {
    /// Every table, in a fixed order.
    pub const ALL: [Table; 4] = [Table::Meta, Table::Records, Table::Keys, Table::Holders];

    /// The table's name (an engine may use it for its keyspace).
    pub fn name(self) -> &'static str {
        match self {
            Table::Meta => "meta",
            Table::Records => "records",
            Table::Keys => "keys",
            Table::Holders => "holders",
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// One change in a [`WriteBatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// The table.
    pub table: Table,
    /// The key.
    pub key: Vec<u8>,
    /// The new value, or `None` to delete the key.
    pub value: Option<Vec<u8>>,
}

/// Changes that a [`Store`] applies atomically.
#[derive(Debug, Default, Clone)]
pub struct WriteBatch {
    /// The changes, applied in order.
    pub ops: Vec<Op>,
    bytes: usize,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> WriteBatch {
        WriteBatch::default()
    }

    /// Sets `key` to `value` in `table`.
    pub fn put(&mut self, table: Table, key: Vec<u8>, value: Vec<u8>) {
        self.bytes += key.len() + value.len();
        self.ops.push(Op { table, key, value: Some(value) });
    }

    /// Deletes `key` from `table` (nothing happens if it is absent).
    pub fn delete(&mut self, table: Table, key: Vec<u8>) {
        self.bytes += key.len();
        self.ops.push(Op { table, key, value: None });
    }

    /// Number of changes.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Bytes of keys and values, roughly what the batch costs in memory.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// A key and its value, as a scan yields them.
pub type Entry = (Vec<u8>, Vec<u8>);

/// An ordered scan; its items are in ascending key order.
pub type Scan<'a> = Box<dyn Iterator<Item = Result<Entry, StoreError>> + Send + 'a>;

/// A sorted bulk load into one table, from [`Store::ingest`].
pub trait Ingest {
    /// Adds an entry; keys must come in strictly ascending order (an error
    /// otherwise, never a panic).
    fn write(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError>;

    /// Makes every entry written visible at once, and durable. Dropping an
    /// ingestion without finishing it adds nothing.
    fn finish(self: Box<Self>) -> Result<(), StoreError>;
}

/// An ordered key-value engine with atomic multi-key writes.
///
/// Reads may run on many threads while one thread writes; a read sees each
/// [`write`](Store::write) and each finished [`ingest`](Store::ingest)
/// entirely or not at all.
pub trait Store: Send + Sync {
    /// The value of `key` in `table`.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// The entries of `table` with `from <= key` and `key < to` (no upper
    /// end with `None`), in ascending key order.
    fn scan(&self, table: Table, from: &[u8], to: Option<&[u8]>) -> Scan<'_>;

    /// Applies every change of `batch`, atomically: after a crash at any
    /// moment, all of them are there or none.
    fn write(&self, batch: WriteBatch) -> Result<(), StoreError>;

    /// Starts a sorted bulk load into `table`: far cheaper per entry than
    /// [`write`](Store::write) for large sorted runs (an LSM engine writes
    /// them straight to table files).
    fn ingest(&self, table: Table) -> Result<Box<dyn Ingest + '_>, StoreError>;

    /// Makes every write so far durable (synced to disk).
    fn persist(&self) -> Result<(), StoreError>;

    /// Bytes the engine uses on disk.
    fn disk_bytes(&self) -> Result<u64, StoreError>;

    /// The entries whose key starts with `prefix`, in ascending key order.
    fn scan_prefix(&self, table: Table, prefix: &[u8]) -> Scan<'_> {
        match prefix_end(prefix) {
            Some(end) => self.scan(table, prefix, Some(&end)),
            None => self.scan(table, prefix, None),
        }
    }
}

/// The smallest key greater than every key starting with `prefix`, or
/// `None` when there is none (the prefix is empty or all `0xff`).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// An in-memory [`Store`] for tests: one `BTreeMap` per table behind a lock.
///
/// Clones share the same maps, so a test can drop an
/// [`Index`](crate::Index) in the middle of a batch (a "crash": nothing is
/// cleaned up) and open another over the same data. [`MemStore::snapshot`]
/// copies the data instead, to freeze a state.
#[derive(Clone, Default)]
pub struct MemStore {
    tables: Arc<RwLock<MemTables>>,
}

type MemTables = [BTreeMap<Vec<u8>, Vec<u8>>; 4];

impl MemStore {
    /// An empty store.
    pub fn new() -> MemStore {
        MemStore::default()
    }

    /// An independent copy of the current contents.
    pub fn snapshot(&self) -> MemStore {
        let tables = self.tables.read().unwrap_or_else(|e| e.into_inner()).clone();
        MemStore { tables: Arc::new(RwLock::new(tables)) }
    }
}

/// Entries per lock acquisition in a [`MemStore`] scan.
const MEM_PAGE: usize = 256;

impl Store for MemStore {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let tables = self.tables.read().unwrap_or_else(|e| e.into_inner());
        Ok(tables[table.slot()].get(key).cloned())
    }

    fn scan(&self, table: Table, from: &[u8], to: Option<&[u8]>) -> Scan<'_> {
        // Pages of entries, re-locking per page, so a caller may read or
        // write the store while it scans (as fjall allows).
        let mut next: Bound<Vec<u8>> = Bound::Included(from.to_vec());
        let to = to.map(<[u8]>::to_vec);
        let mut page = std::collections::VecDeque::new();
        let mut done = false;
        Box::new(std::iter::from_fn(move || {
            if page.is_empty() && !done {
                let tables = self.tables.read().unwrap_or_else(|e| e.into_inner());
                let upper = match &to {
                    Some(t) => Bound::Excluded(t.clone()),
                    None => Bound::Unbounded,
                };
                if let (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b)) =
                    (&next, &upper)
                {
                    if a >= b {
                        return None;
                    }
                }
                page.extend(
                    tables[table.slot()]
                        .range((next.clone(), upper))
                        .take(MEM_PAGE)
                        .map(|(k, v)| (k.clone(), v.clone())),
                );
                match page.back() {
                    Some((k, _)) if page.len() == MEM_PAGE => next = Bound::Excluded(k.clone()),
                    _ => done = true,
                }
            }
            page.pop_front().map(Ok)
        }))
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut tables = self.tables.write().unwrap_or_else(|e| e.into_inner());
        for op in batch.ops {
            let t = &mut tables[op.table.slot()];
            match op.value {
                Some(v) => {
                    t.insert(op.key, v);
                }
                None => {
                    t.remove(&op.key);
                }
            }
        }
        Ok(())
    }

    fn ingest(&self, table: Table) -> Result<Box<dyn Ingest + '_>, StoreError> {
        Ok(Box::new(MemIngest { store: self, table, batch: WriteBatch::new(), last: None }))
    }

    fn persist(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn disk_bytes(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
}

/// Checks that `key` is past `last`, and keeps it.
fn ascending(last: &mut Option<Vec<u8>>, key: &[u8], table: Table) -> Result<(), StoreError> {
    if let Some(prev) = last {
        if key <= prev.as_slice() {
            return Err(StoreError::new(format!(
                "ingestion into {}: keys out of order ({} after {})",
                table.name(),
                hex(key),
                hex(prev)
            )));
        }
        prev.clear();
        prev.extend_from_slice(key);
    } else {
        *last = Some(key.to_vec());
    }
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

struct MemIngest<'a> {
    store: &'a MemStore,
    table: Table,
    batch: WriteBatch,
    last: Option<Vec<u8>>,
}

impl Ingest for MemIngest<'_> {
    fn write(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        ascending(&mut self.last, key, self.table)?;
        self.batch.put(self.table, key.to_vec(), value.to_vec());
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), StoreError> {
        self.store.write(self.batch)
    }
}

/// Table size of the keys and holders tables' leveled compaction.
///
/// Their keys are hashes, so every batch's rows spread over the whole key
/// range and each merge into level 1 rewrites all of it. fjall's default
/// (64 MiB tables, level 1 four times that) made each batch of an index
/// below a few hundred thousand records pay for rewriting most of the
/// index; with small tables level 1 stays small, rows move on to deeper
/// levels early, and the work per batch follows the batch, not the
/// history (`bench/incremental.py`; fixed when an index is created).
const LEVEL_TABLE: u64 = 8 << 20;
/// Level-0 tables that start a compaction of the keys and holders tables:
/// each one is another filter to probe for every lookup of a new key.
const LEVEL0_TABLES: u8 = 2;

/// A [`Store`] on fjall: one database, one keyspace per [`Table`].
///
/// Memory: fjall's block cache gets half the budget given to
/// [`FjallStore::open`]; each keyspace's memtable (the write buffer of
/// small writes, its size fixed when the index is created) a fortieth,
/// between 1 and 64 MiB, and fjall holds at most five per keyspace (one
/// active, four waiting to be flushed) before it stalls writes, so that
/// the four keyspaces' memtables stay within the other half at worst.
/// Bulk loads ([`Store::ingest`]) bypass memtables. Index and filter blocks
/// of the newest levels stay pinned (they are small); deeper levels go
/// through the cache. None of this grows with the data: reads of a large
/// index beyond the cache hit the OS page cache, not the process.
pub struct FjallStore {
    db: fjall::Database,
    keyspaces: [fjall::Keyspace; 4],
    path: PathBuf,
}

impl FjallStore {
    /// Opens (or creates) a fjall database at `path` with a memory budget
    /// of `memory` bytes (see the type's documentation for the split).
    pub fn open(path: &Path, memory: u64) -> Result<FjallStore, StoreError> {
        let memory = memory.max(8 << 20);
        let db = fjall::Database::builder(path)
            .cache_size(memory / 2)
            // The meta keyspace takes a few bytes per batch, so its memtable
            // seldom fills, and fjall keeps every journal since its last
            // flush; past this size it flushes it. Opening replays what the
            // journals hold: the cap bounds that time (fjall's minimum).
            .max_journaling_size(64 << 20)
            // One background worker: with more, fjall's first worker hands
            // every compaction message back to the queue and takes it again
            // while another worker compacts, a busy loop that burnt a core
            // for as long as each compaction ran (fjall 3.1,
            // `worker_pool.rs`). Flushes and compactions of small tables
            // (see `LEVEL_TABLE`) take turns on one thread instead.
            .worker_threads(1)
            .open()
            .map_err(|e| match e {
                fjall::Error::Locked => StoreError::new(
                    "the index is open elsewhere (another neardup process, or another Index \
                     object in this one, holds its lock): close that first",
                ),
                e => StoreError::new(e),
            })?;
        let memtable = (memory / 40).clamp(1 << 20, 64 << 20);
        // Level 1 of the keys table is small (see `LEVEL_TABLE`): its filters
        // are whole and pinned, so that a lookup of a new key, the common
        // case, costs a few bit probes there. Level 0 keeps whole filters
        // too, through the cache: a large batch lands there whole, and
        // pinning its filters would hold memory in proportion to the batch.
        // Deeper levels are partitioned: a lookup loads a small partition
        // through the cache, not a table's whole filter, which a cache
        // smaller than all filters would read again and again.
        // Holders and records are only scanned or read where they exist:
        // filters would cost compaction time and memory for nothing.
        let levels = |top: &[bool]| fjall::config::PinningPolicy::new(top.to_vec());
        let open = |t: Table| {
            db.keyspace(t.name(), || {
                let o = fjall::KeyspaceCreateOptions::default().max_memtable_size(memtable);
                let hashed = || {
                    Arc::new(
                        fjall::compaction::Leveled::default()
                            .with_table_target_size(LEVEL_TABLE)
                            .with_l0_threshold(LEVEL0_TABLES),
                    )
                };
                match t {
                    Table::Keys => o
                        .compaction_strategy(hashed())
                        .filter_block_partitioning_policy(levels(&[false, false, true]))
                        .index_block_partitioning_policy(levels(&[false, false, true]))
                        .filter_block_pinning_policy(levels(&[false, true, false]))
                        .index_block_pinning_policy(levels(&[true, true, false])),
                    Table::Holders => o
                        .compaction_strategy(hashed())
                        .filter_policy(fjall::config::FilterPolicy::disabled())
                        .index_block_partitioning_policy(levels(&[false, false, true])),
                    Table::Records => o
                        .filter_policy(fjall::config::FilterPolicy::disabled())
                        .index_block_partitioning_policy(levels(&[false, false, true])),
                    Table::Meta => o,
                }
            })
            .map_err(StoreError::new)
        };
        let keyspaces =
            [open(Table::Meta)?, open(Table::Records)?, open(Table::Keys)?, open(Table::Holders)?];
        Ok(FjallStore { db, keyspaces, path: path.to_owned() })
    }

    /// Where the database is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn ks(&self, table: Table) -> &fjall::Keyspace {
        &self.keyspaces[table.slot()]
    }
}

impl Store for FjallStore {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.ks(table).get(key).map_err(StoreError::new)?.map(|v| v.to_vec()))
    }

    fn scan(&self, table: Table, from: &[u8], to: Option<&[u8]>) -> Scan<'_> {
        let lower = Bound::Included(from.to_vec());
        let upper = match to {
            Some(t) => Bound::Excluded(t.to_vec()),
            None => Bound::Unbounded,
        };
        Box::new(self.ks(table).range::<Vec<u8>, _>((lower, upper)).map(|guard| {
            let (k, v) = guard.into_inner().map_err(StoreError::new)?;
            Ok((k.to_vec(), v.to_vec()))
        }))
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut b = self.db.batch();
        for op in batch.ops {
            let ks = self.ks(op.table);
            match op.value {
                Some(v) => b.insert(ks, op.key, v),
                None => b.remove(ks, op.key),
            }
        }
        b.commit().map_err(StoreError::new)
    }

    fn ingest(&self, table: Table) -> Result<Box<dyn Ingest + '_>, StoreError> {
        // fjall does not export its ingestion type: hold it in a closure.
        let mut inner = Some(self.ks(table).start_ingestion().map_err(StoreError::new)?);
        let step = move |cmd: Step<'_>| match (cmd, inner.as_mut()) {
            (Step::Write(k, v), Some(i)) => i.write(k, v),
            (Step::Finish, Some(_)) => inner.take().map_or(Ok(()), |i| i.finish()),
            (_, None) => Ok(()),
        };
        Ok(Box::new(FjallIngest { step: Box::new(step), table, last: None }))
    }

    fn persist(&self) -> Result<(), StoreError> {
        self.db.persist(fjall::PersistMode::SyncAll).map_err(StoreError::new)
    }

    fn disk_bytes(&self) -> Result<u64, StoreError> {
        self.db.disk_space().map_err(StoreError::new)
    }
}

enum Step<'k> {
    Write(&'k [u8], &'k [u8]),
    Finish,
}

type StepFn<'a> = Box<dyn for<'k> FnMut(Step<'k>) -> fjall::Result<()> + 'a>;

struct FjallIngest<'a> {
    step: StepFn<'a>,
    table: Table,
    last: Option<Vec<u8>>,
}

impl Ingest for FjallIngest<'_> {
    fn write(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        // fjall panics on keys out of order: check first.
        ascending(&mut self.last, key, self.table)?;
        (self.step)(Step::Write(key, value)).map_err(StoreError::new)
    }

    fn finish(mut self: Box<Self>) -> Result<(), StoreError> {
        (self.step)(Step::Finish).map_err(StoreError::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(store: &dyn Store) {
        let mut b = WriteBatch::new();
        for i in 0u32..1000 {
            b.put(Table::Keys, i.to_be_bytes().to_vec(), vec![i as u8]);
        }
        b.put(Table::Meta, b"k".to_vec(), b"v".to_vec());
        store.write(b).unwrap();
        assert_eq!(store.get(Table::Meta, b"k").unwrap(), Some(b"v".to_vec()));
        assert_eq!(store.get(Table::Keys, b"k").unwrap(), None);
        let got: Vec<_> = store
            .scan(Table::Keys, &10u32.to_be_bytes(), Some(&600u32.to_be_bytes()))
            .map(|r| r.unwrap().0)
            .collect();
        let want: Vec<_> = (10u32..600).map(|i| i.to_be_bytes().to_vec()).collect();
        assert_eq!(got, want);
        let all = store.scan(Table::Keys, &[], None).count();
        assert_eq!(all, 1000);
        // Prefix: keys 0x00000100..=0x000001ff.
        let p: Vec<_> = store.scan_prefix(Table::Keys, &[0, 0, 1]).map(|r| r.unwrap().0).collect();
        assert_eq!(p.len(), 256);
        let mut d = WriteBatch::new();
        d.delete(Table::Meta, b"k".to_vec());
        store.write(d).unwrap();
        assert_eq!(store.get(Table::Meta, b"k").unwrap(), None);

        let mut ing = store.ingest(Table::Holders).unwrap();
        ing.write(b"a", b"1").unwrap();
        ing.write(b"b", b"").unwrap();
        assert!(ing.write(b"b", b"").is_err(), "keys must ascend");
        assert!(ing.write(b"a", b"").is_err(), "keys must ascend");
        // Nothing is visible before the end.
        assert_eq!(store.get(Table::Holders, b"a").unwrap(), None);
        ing.finish().unwrap();
        assert_eq!(store.get(Table::Holders, b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(store.scan(Table::Holders, &[], None).count(), 2);
        let mut dropped = store.ingest(Table::Holders).unwrap();
        dropped.write(b"c", b"").unwrap();
        drop(dropped);
        assert_eq!(store.get(Table::Holders, b"c").unwrap(), None);
        store.persist().unwrap();
    }

    #[test]
    fn mem_store_gets_scans_writes() {
        exercise(&MemStore::new());
    }

    #[test]
    fn fjall_store_gets_scans_writes() {
        let dir = tempfile::tempdir().unwrap();
        let s = FjallStore::open(&dir.path().join("db"), 16 << 20).unwrap();
        exercise(&s);
        assert!(s.disk_bytes().unwrap() > 0);
    }

    #[test]
    fn prefix_end_carries() {
        assert_eq!(prefix_end(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(&[]), None);
    }
}
