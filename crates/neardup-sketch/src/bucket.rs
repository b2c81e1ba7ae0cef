//! The LSH bucket table: groups documents by `(band, key)` in bounded
//! memory, spilling sorted runs to disk when it must.
//!
//! # Why sort instead of a hash map
//! A hash map from `(band, key)` to a list of documents costs ~60–100
//! bytes per entry, grows without bound, and iterates in an order that
//! depends on the hasher. Instead we append one fixed 16-byte entry per
//! `(document, band)` to a flat buffer; when the buffer reaches the memory
//! budget we sort it and write it to a temporary file as a *run*; at the end
//! the runs are k-way merged and equal `(band, key)` neighbours form the
//! buckets. This is external sorting (Knuth, TAOCP vol. 3, §5.4), the
//! same plan MapReduce implementations of LSH follow (Spark's group-by
//! band). It gives:
//!
//! - **bounded memory**: `16 B × entries` up to the budget, plus 64 KiB of
//!   read buffer per merged run (at most [`FAN_IN`] at once; more runs are
//!   merged in several passes);
//! - **deterministic output**: buckets come out sorted by band, then key,
//!   and each bucket's documents sorted ascending, whatever the budget,
//!   insertion order or thread that built the table (property-tested:
//!   a 1-entry budget gives the same buckets as an unbounded one);
//! - **no leftovers**: runs are anonymous temporary files
//!   (`tempfile::tempfile_in`), unlinked as soon as they are created on
//!   Unix, so they disappear when the table is dropped, on success, error
//!   or panic, and even if the process is killed.
//!
//! # Memory per entry
//! An entry is a `u128`: `band (32 bits) | key (64) | doc (32)`, so sorting
//! compares single integers. A document with `b` bands costs `16·b` bytes
//! until the next spill: 256 bytes at 16 bands, so a 1 GiB budget holds ~4
//! million documents before the first spill. Run files take the same 16
//! bytes per entry on disk.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::extsort::{ExternalSorter, Sorted};

/// Bytes per in-memory entry (one document in one band).
pub const ENTRY_BYTES: usize = 16;

/// Runs merged at once; more runs are first merged in passes of this many.
pub use crate::extsort::FAN_IN;

/// One bucket: the documents whose band `band` has key `key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucket<'a> {
    /// Band index, `0..bands`.
    pub band: usize,
    /// The band key.
    pub key: u64,
    /// At least two distinct document indexes, ascending.
    pub docs: &'a [u32],
}

/// Collects `(doc, band keys)` and yields the buckets of two or more
/// documents, in bounded memory.
///
/// ```
/// use neardup_sketch::BucketTable;
///
/// let tmp = std::env::temp_dir();
/// let mut table = BucketTable::new(2, 1 << 20, &tmp)?;
/// table.insert(0, &[10, 20])?;
/// table.insert(1, &[11, 20])?;
/// table.insert(2, &[10, 21])?;
/// let mut found = Vec::new();
/// table.finish()?.for_each_bucket(|b| found.push((b.band, b.docs.to_vec())))?;
/// assert_eq!(found, [(0, vec![0, 2]), (1, vec![0, 1])]);
/// # Ok::<(), neardup_sketch::Error>(())
/// ```
#[derive(Debug)]
pub struct BucketTable {
    bands: usize,
    sorter: ExternalSorter<u128>,
    inserted: u64,
}

#[inline]
fn pack(band: usize, key: u64, doc: u32) -> u128 {
    (band as u128) << 96 | u128::from(key) << 32 | u128::from(doc)
}

#[inline]
fn group(e: u128) -> u128 {
    e >> 32
}

impl BucketTable {
    /// A table for documents with `bands` band keys each, holding at most
    /// `memory_budget_bytes` of entries in memory (at least one document's
    /// worth) and spilling runs to anonymous files in `tmp_dir`.
    ///
    /// # Errors
    /// [`Error::Parameter`] if `bands` is 0 or above `u32::MAX`.
    pub fn new(bands: usize, memory_budget_bytes: usize, tmp_dir: &Path) -> Result<BucketTable> {
        if bands == 0 || u32::try_from(bands).is_err() {
            return Err(Error::Parameter {
                name: "bands",
                value: bands.to_string(),
                expected: "1 to 4294967295",
            });
        }
        // At least one document's entries fit.
        let budget = memory_budget_bytes.max(bands * ENTRY_BYTES);
        Ok(BucketTable { bands, sorter: ExternalSorter::new(budget, tmp_dir, false), inserted: 0 })
    }

    /// Adds document `doc` (a dense index) with one key per band. Spills a
    /// sorted run to disk first if the entries would exceed the budget.
    ///
    /// # Errors
    /// [`Error::BandCount`] if `band_keys.len()` differs from `bands`;
    /// [`Error::Spill`] if writing a run fails.
    pub fn insert(&mut self, doc: u32, band_keys: &[u64]) -> Result<()> {
        if band_keys.len() != self.bands {
            return Err(Error::BandCount { expected: self.bands, found: band_keys.len() });
        }
        for (band, &key) in band_keys.iter().enumerate() {
            if let Err(source) = self.sorter.push(pack(band, key, doc)) {
                return Err(Error::Spill { dir: self.sorter.tmp_dir().to_owned(), source });
            }
        }
        self.inserted += 1;
        Ok(())
    }

    /// Documents inserted so far.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.inserted
    }

    /// Whether nothing was inserted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.inserted == 0
    }

    /// Runs spilled to disk so far.
    #[must_use]
    pub fn spilled_runs(&self) -> usize {
        self.sorter.spilled_runs()
    }

    /// Changes the memory budget (at least one document's entries).
    pub fn set_budget(&mut self, memory_budget_bytes: usize) {
        self.sorter.set_budget(memory_budget_bytes.max(self.bands * ENTRY_BYTES));
    }

    /// Bytes of entries held in memory (capacity, not length).
    #[must_use]
    pub fn memory_usage(&self) -> usize {
        self.sorter.memory_usage()
    }

    /// Ends insertion and returns the buckets, merging runs as needed.
    ///
    /// # Errors
    /// [`Error::Spill`] if merging runs fails.
    pub fn finish(self) -> Result<Buckets> {
        let tmp_dir = self.sorter.tmp_dir().to_owned();
        let merger =
            self.sorter.finish().map_err(|source| Error::Spill { dir: tmp_dir.clone(), source })?;
        Ok(Buckets { merger, pending: None, docs: Vec::new(), tmp_dir })
    }
}

/// The buckets of a finished [`BucketTable`], streamed in `(band, key)`
/// order. Holds one bucket's documents at a time.
pub struct Buckets {
    merger: Sorted<u128>,
    pending: Option<u128>,
    docs: Vec<u32>,
    tmp_dir: PathBuf,
}

impl std::fmt::Debug for Buckets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buckets").field("tmp_dir", &self.tmp_dir).finish_non_exhaustive()
    }
}

impl Buckets {
    /// The next bucket with at least two distinct documents, or `None` at
    /// the end. (A lending iterator: the bucket borrows `self`.)
    ///
    /// # Errors
    /// [`Error::Spill`] if reading a run fails.
    pub fn next_bucket(&mut self) -> Result<Option<Bucket<'_>>> {
        let io = |source| Error::Spill { dir: self.tmp_dir.clone(), source };
        loop {
            let first = match self.pending.take() {
                Some(e) => e,
                None => match self.merger.next().map_err(io)? {
                    Some(e) => e,
                    None => return Ok(None),
                },
            };
            self.docs.clear();
            self.docs.push(first as u32);
            loop {
                match self.merger.next().map_err(io)? {
                    Some(e) if group(e) == group(first) => {
                        let doc = e as u32;
                        // Sorted, so a repeated insert of one doc is adjacent.
                        if self.docs.last() != Some(&doc) {
                            self.docs.push(doc);
                        }
                    }
                    other => {
                        self.pending = other;
                        break;
                    }
                }
            }
            if self.docs.len() >= 2 {
                let g = group(first);
                return Ok(Some(Bucket {
                    band: (g >> 64) as usize,
                    key: g as u64,
                    docs: &self.docs,
                }));
            }
            if self.pending.is_none() {
                return Ok(None);
            }
        }
    }

    /// Calls `f` on every bucket of two or more documents, in order.
    ///
    /// # Errors
    /// [`Error::Spill`] if reading a run fails.
    pub fn for_each_bucket(mut self, mut f: impl FnMut(Bucket<'_>)) -> Result<()> {
        while let Some(b) = self.next_bucket()? {
            f(b);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Found = Vec<(usize, u64, Vec<u32>)>;

    fn run(bands: usize, budget: usize, docs: &[(u32, Vec<u64>)]) -> (Found, usize) {
        let dir = tempfile::tempdir().unwrap();
        let mut t = BucketTable::new(bands, budget, dir.path()).unwrap();
        for (doc, keys) in docs {
            t.insert(*doc, keys).unwrap();
        }
        let runs = t.spilled_runs();
        let mut found = Vec::new();
        t.finish()
            .unwrap()
            .for_each_bucket(|b| found.push((b.band, b.key, b.docs.to_vec())))
            .unwrap();
        (found, runs)
    }

    fn naive(docs: &[(u32, Vec<u64>)]) -> Found {
        let mut map = std::collections::BTreeMap::<(usize, u64), Vec<u32>>::new();
        for (doc, keys) in docs {
            for (band, &key) in keys.iter().enumerate() {
                map.entry((band, key)).or_default().push(*doc);
            }
        }
        map.into_iter()
            .filter_map(|((band, key), mut docs)| {
                docs.sort_unstable();
                docs.dedup();
                (docs.len() >= 2).then_some((band, key, docs))
            })
            .collect()
    }

    #[test]
    fn groups_by_band_and_key() {
        let docs = vec![(5, vec![1, 2]), (3, vec![1, 9]), (4, vec![7, 2]), (6, vec![2, 1])];
        let (found, _) = run(2, 1 << 20, &docs);
        assert_eq!(found, vec![(0, 1, vec![3, 5]), (1, 2, vec![4, 5])]);
    }

    #[test]
    fn same_key_in_different_bands_is_different_bucket() {
        let docs = vec![(0, vec![7, 8]), (1, vec![8, 7])];
        assert!(run(2, 1 << 20, &docs).0.is_empty());
    }

    #[test]
    fn repeated_doc_counts_once() {
        let docs = vec![(0, vec![7]), (0, vec![7]), (1, vec![8])];
        assert!(run(1, 1 << 20, &docs).0.is_empty());
    }

    #[test]
    fn wrong_band_count_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = BucketTable::new(3, 1024, dir.path()).unwrap();
        assert!(matches!(t.insert(0, &[1, 2]), Err(Error::BandCount { expected: 3, found: 2 })));
        assert!(BucketTable::new(0, 1024, dir.path()).is_err());
    }

    #[test]
    fn empty_table_has_no_buckets() {
        assert!(run(4, 1024, &[]).0.is_empty());
    }

    /// Many runs force multi-pass merging (more than `FAN_IN` runs), and
    /// every spill file is gone once the table is dropped.
    #[test]
    fn multi_pass_merge_and_cleanup() {
        let docs: Vec<(u32, Vec<u64>)> =
            (0..2000u32).map(|d| (d, vec![u64::from(d % 37), u64::from(d % 101)])).collect();
        let dir = tempfile::tempdir().unwrap();
        let mut t = BucketTable::new(2, 16 * 20, dir.path()).unwrap();
        for (doc, keys) in &docs {
            t.insert(*doc, keys).unwrap();
        }
        assert!(t.spilled_runs() > FAN_IN, "{} runs", t.spilled_runs());
        let mut found = Vec::new();
        t.finish()
            .unwrap()
            .for_each_bucket(|b| found.push((b.band, b.key, b.docs.to_vec())))
            .unwrap();
        assert_eq!(found, naive(&docs));
        // Anonymous temp files never show up as directory entries.
        assert_eq!(fs_err::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn unwritable_tmp_dir_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let mut t = BucketTable::new(1, 16, &missing).unwrap();
        t.insert(0, &[1]).unwrap();
        let err = t.insert(1, &[1]).unwrap_err();
        assert!(matches!(err, Error::Spill { .. }));
        assert!(err.to_string().contains("missing"));
    }

    proptest! {
        /// A tiny budget (spilling every few documents) gives exactly the
        /// buckets an unbounded table and a naive `BTreeMap` give.
        #[test]
        fn spilling_does_not_change_buckets(
            docs in prop::collection::vec(
                (0u32..200, prop::collection::vec(0u64..12, 3)), 0..300),
            budget_entries in 3usize..40,
        ) {
            let (small, runs) = run(3, budget_entries * ENTRY_BYTES, &docs);
            let (large, none) = run(3, 1 << 30, &docs);
            prop_assert_eq!(none, 0);
            prop_assert!(docs.len() < 14 || runs > 0);
            prop_assert_eq!(&small, &large);
            prop_assert_eq!(&large, &naive(&docs));
        }
    }
}
