//! Sorting more fixed-width integers than memory holds.
//!
//! Entries are appended to a buffer; when it reaches the memory budget it
//! is sorted and written to an anonymous temporary file as a *run*; at the
//! end the runs are k-way merged (Knuth, TAOCP vol. 3, §5.4), at most
//! [`FAN_IN`] at a time, more in several passes. The LSH bucket table
//! ([`crate::BucketTable`]) sorts `(band, key, doc)` entries this way, and
//! neardup's near-duplicate stage sorts its candidate pairs.
//!
//! - **Bounded memory**: the budget, plus 64 KiB of read buffer per merged
//!   run.
//! - **Deterministic**: the output is the sorted multiset of what was
//!   pushed (or the sorted set, with `dedup`), whatever the budget.
//! - **No leftovers**: runs are anonymous temp files, unlinked on creation,
//!   gone when the sorter is dropped, however the process ends.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Runs merged at once; more runs are first merged in passes of this many.
pub const FAN_IN: usize = 64;

/// Read and write buffer per run file.
const IO_BUFFER: usize = 64 * 1024;

/// A fixed-width entry that sorts as an integer.
pub trait Entry: Copy + Ord + Send + 'static {
    /// Bytes on disk and in memory.
    const BYTES: usize;
    /// Little-endian bytes into `out` (`BYTES` long).
    fn put(self, out: &mut [u8]);
    /// From little-endian bytes (`BYTES` long).
    fn get(b: &[u8]) -> Self;
}

macro_rules! int_entry {
    ($t:ty) => {
        impl Entry for $t {
            const BYTES: usize = std::mem::size_of::<$t>();
            fn put(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_le_bytes());
            }
            fn get(b: &[u8]) -> $t {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(b);
                <$t>::from_le_bytes(a)
            }
        }
    };
}
int_entry!(u64);
int_entry!(u128);

/// Collects entries in bounded memory and streams them back sorted. Once it
/// has spilled, [`ExternalSorter::finish`] spills the rest as well, so that
/// reading the output holds no more than the read buffers.
///
/// ```
/// use neardup_sketch::extsort::ExternalSorter;
///
/// let mut s = ExternalSorter::<u64>::new(16, &std::env::temp_dir(), true); // 2 entries in memory
/// for v in [5, 3, 5, 1, 9, 3] {
///     s.push(v)?;
/// }
/// let mut out = Vec::new();
/// let mut sorted = s.finish()?;
/// while let Some(v) = sorted.next()? {
///     out.push(v);
/// }
/// assert_eq!(out, [1, 3, 5, 9]);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ExternalSorter<T> {
    budget_entries: usize,
    tmp_dir: PathBuf,
    mem: Vec<T>,
    runs: Vec<Run>,
    dedup: bool,
}

/// A sorted run in an anonymous temporary file.
#[derive(Debug)]
struct Run {
    file: File,
    entries: u64,
}

impl<T: Entry> ExternalSorter<T> {
    /// A sorter holding at most `memory_budget_bytes` of entries (at least
    /// one) before it spills a run to `tmp_dir`; with `dedup`, equal
    /// entries come out once.
    pub fn new(memory_budget_bytes: usize, tmp_dir: &Path, dedup: bool) -> ExternalSorter<T> {
        ExternalSorter {
            budget_entries: (memory_budget_bytes / T::BYTES).max(1),
            tmp_dir: tmp_dir.to_owned(),
            mem: Vec::new(),
            runs: Vec::new(),
            dedup,
        }
    }

    /// Adds an entry, spilling a run first if the buffer is full.
    ///
    /// # Errors
    /// Writing a run failed.
    #[inline]
    pub fn push(&mut self, e: T) -> io::Result<()> {
        if self.mem.len() == self.mem.capacity() || self.mem.len() >= self.budget_entries {
            self.grow()?;
        }
        self.mem.push(e);
        Ok(())
    }

    #[cold]
    fn grow(&mut self) -> io::Result<()> {
        if self.mem.len() >= self.budget_entries {
            self.spill()?;
            if self.mem.capacity() > self.budget_entries {
                self.mem = Vec::new();
            }
        }
        // Grow by doubling, but never past the budget.
        let want = (self.mem.capacity() * 2).max(1024).min(self.budget_entries);
        self.mem.reserve_exact(want.saturating_sub(self.mem.len()).max(1));
        Ok(())
    }

    /// Changes the memory budget (what else the process holds grew or
    /// shrank); a smaller one spills at the next push.
    pub fn set_budget(&mut self, memory_budget_bytes: usize) {
        self.budget_entries = (memory_budget_bytes / T::BYTES).max(1);
        if self.mem.capacity() > self.budget_entries && self.mem.len() < self.budget_entries {
            self.mem.shrink_to(self.budget_entries);
        }
    }

    /// Runs spilled to disk so far.
    #[must_use]
    pub fn spilled_runs(&self) -> usize {
        self.runs.len()
    }

    /// Bytes of entries held in memory (capacity, not length).
    #[must_use]
    pub fn memory_usage(&self) -> usize {
        self.mem.capacity() * T::BYTES
    }

    /// The temp directory, for error messages.
    #[must_use]
    pub fn tmp_dir(&self) -> &Path {
        &self.tmp_dir
    }

    fn sort_mem(&mut self) {
        // On the run's pool: the buckets' and the candidate pairs' sorts
        // are between the parallel stages, and a million entries take a
        // core a tenth of a second.
        use rayon::slice::ParallelSliceMut;
        self.mem.par_sort_unstable();
        if self.dedup {
            self.mem.dedup();
        }
    }

    fn spill(&mut self) -> io::Result<()> {
        if self.mem.is_empty() {
            return Ok(());
        }
        self.sort_mem();
        let mut it = self.mem.iter().copied();
        let run = write_run(&self.tmp_dir, || Ok(it.next()))?;
        self.runs.push(run);
        self.mem.clear();
        Ok(())
    }

    /// Ends input; returns the entries sorted, merging runs as needed.
    ///
    /// # Errors
    /// Merging runs failed.
    pub fn finish(mut self) -> io::Result<Sorted<T>> {
        if !self.runs.is_empty() {
            // The budget was reached once: the rest goes to disk too, so
            // the merge holds buffers only and its memory is free for the
            // next stage.
            self.spill()?;
            self.mem = Vec::new();
        }
        self.sort_mem();
        // Keep merging the oldest runs until one final merge can take them all.
        while self.runs.len() > FAN_IN {
            let batch: Vec<Run> = self.runs.drain(..FAN_IN).collect();
            let mut merger =
                Sorted::<T>::new(batch.into_iter().map(Source::file).collect(), self.dedup)?;
            let run = write_run(&self.tmp_dir, || merger.next())?;
            self.runs.push(run);
        }
        let mut sources: Vec<Source<T>> = self.runs.drain(..).map(Source::file).collect();
        sources.push(Source::Mem(std::mem::take(&mut self.mem).into_iter()));
        Sorted::new(sources, self.dedup)
    }
}

fn write_run<T: Entry>(
    dir: &Path,
    mut next: impl FnMut() -> io::Result<Option<T>>,
) -> io::Result<Run> {
    let mut w = BufWriter::with_capacity(IO_BUFFER, tempfile::tempfile_in(dir)?);
    let mut entries = 0u64;
    let mut buf = [0u8; 16];
    while let Some(e) = next()? {
        e.put(&mut buf[..T::BYTES]);
        w.write_all(&buf[..T::BYTES])?;
        entries += 1;
    }
    let mut file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(Run { file, entries })
}

/// A sorted stream of entries: a run file or the in-memory remainder.
enum Source<T> {
    File { reader: BufReader<File>, left: u64 },
    Mem(std::vec::IntoIter<T>),
}

impl<T: Entry> Source<T> {
    fn file(run: Run) -> Source<T> {
        Source::File { reader: BufReader::with_capacity(IO_BUFFER, run.file), left: run.entries }
    }

    fn next(&mut self) -> io::Result<Option<T>> {
        match self {
            Source::Mem(it) => Ok(it.next()),
            Source::File { left: 0, .. } => Ok(None),
            Source::File { reader, left } => {
                let mut buf = [0u8; 16];
                reader.read_exact(&mut buf[..T::BYTES])?;
                *left -= 1;
                Ok(Some(T::get(&buf[..T::BYTES])))
            }
        }
    }
}

/// The sorted output of an [`ExternalSorter`]: a k-way merge of its runs
/// with a min-heap of their heads.
pub struct Sorted<T> {
    sources: Vec<Source<T>>,
    heap: BinaryHeap<Reverse<(T, usize)>>,
    dedup: bool,
    last: Option<T>,
}

impl<T> std::fmt::Debug for Sorted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sorted").field("runs", &self.sources.len()).finish_non_exhaustive()
    }
}

impl<T: Entry> Sorted<T> {
    fn new(mut sources: Vec<Source<T>>, dedup: bool) -> io::Result<Sorted<T>> {
        let mut heap = BinaryHeap::with_capacity(sources.len());
        for (i, s) in sources.iter_mut().enumerate() {
            if let Some(e) = s.next()? {
                heap.push(Reverse((e, i)));
            }
        }
        Ok(Sorted { sources, heap, dedup, last: None })
    }

    /// The next entry in order, or `None` at the end.
    ///
    /// # Errors
    /// Reading a run failed.
    #[allow(clippy::should_implement_trait)] // fallible: not an `Iterator`
    pub fn next(&mut self) -> io::Result<Option<T>> {
        loop {
            let Some(Reverse((e, i))) = self.heap.pop() else {
                return Ok(None);
            };
            if let Some(n) = self.sources.get_mut(i).map(Source::next).transpose()?.flatten() {
                self.heap.push(Reverse((n, i)));
            }
            if self.dedup && self.last == Some(e) {
                continue;
            }
            self.last = Some(e);
            return Ok(Some(e));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sort_all(values: &[u64], budget: usize, dedup: bool) -> Vec<u64> {
        let mut s = ExternalSorter::<u64>::new(budget, &std::env::temp_dir(), dedup);
        for &v in values {
            s.push(v).unwrap();
        }
        let mut sorted = s.finish().unwrap();
        let mut out = Vec::new();
        while let Some(v) = sorted.next().unwrap() {
            out.push(v);
        }
        out
    }

    proptest! {
        #[test]
        fn any_budget_sorts_like_memory(values in prop::collection::vec(0u64..50, 0..400), budget in 1usize..200, dedup: bool) {
            let mut want = values.clone();
            want.sort_unstable();
            if dedup {
                want.dedup();
            }
            prop_assert_eq!(sort_all(&values, budget * 8, dedup), want);
        }
    }

    #[test]
    fn many_runs_merge_in_passes() {
        let values: Vec<u64> = (0..5000u64).map(|i| (i * 7919) % 1000).collect();
        let mut s = ExternalSorter::<u64>::new(8 * 10, &std::env::temp_dir(), false);
        for &v in &values {
            s.push(v).unwrap();
        }
        assert!(s.spilled_runs() > FAN_IN, "{} runs", s.spilled_runs());
        let mut sorted = s.finish().unwrap();
        let mut n = 0;
        let mut last = 0;
        while let Some(v) = sorted.next().unwrap() {
            assert!(v >= last);
            last = v;
            n += 1;
        }
        assert_eq!(n, values.len());
    }
}
