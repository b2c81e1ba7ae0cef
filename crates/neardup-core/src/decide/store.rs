//! Per-record data kept on disk: shingle sets and signatures for near
//! duplicates, offset maps for repeated substrings.
//!
//! Verifying a candidate pair needs both records' shingle sets, and the
//! candidates are only known once every record has been read, so the sets
//! must be kept — but not in memory: at ~8 bytes per word of text they are
//! as large as the corpus. They go to an anonymous temp file (gone when the
//! run ends, however it ends), appended in input order; memory holds one
//! offset per record. Reads are positioned (`pread`), so lookups need no
//! seek state and may come in any order.
//!
//! A small run (a service request, a Python call on a few records) never
//! touches the disk: each store's bytes stay in memory until they pass its
//! write buffer's size, and only then is its temp file created
//! ([`SpillFile`]). Creating and removing four temp files per request was
//! most of the fixed cost of a small check.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// An append-only byte log with positioned reads: in memory until it holds
/// `buffer` bytes, then in an anonymous temp file in `dir`, created then,
/// with `buffer` bytes of write buffer in front of it.
pub(crate) struct SpillFile {
    dir: PathBuf,
    buffer: usize,
    /// Everything while in memory; once spilled, what is not on disk yet.
    mem: Vec<u8>,
    file: Option<File>,
    /// Bytes in the file.
    on_disk: u64,
}

impl SpillFile {
    pub(crate) fn new(dir: &Path, buffer: usize) -> SpillFile {
        SpillFile {
            dir: dir.to_owned(),
            buffer: buffer.max(1),
            mem: Vec::new(),
            file: None,
            on_disk: 0,
        }
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.mem.extend_from_slice(bytes);
        if self.mem.len() >= self.buffer {
            self.spill()?;
        }
        Ok(())
    }

    /// Writes what memory holds to the file (created the first time).
    fn spill(&mut self) -> io::Result<()> {
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(tempfile::tempfile_in(&self.dir)?),
        };
        // Positioned: a reader's clone of the file shares its cursor.
        file.write_all_at(&self.mem, self.on_disk)?;
        self.on_disk += self.mem.len() as u64;
        self.mem.clear();
        Ok(())
    }

    /// Bytes written so far.
    pub(crate) fn len(&self) -> u64 {
        self.on_disk + self.mem.len() as u64
    }

    /// Bytes in the file; those past it are in memory ([`SpillFile::buffered`]).
    pub(crate) fn on_disk(&self) -> u64 {
        self.on_disk
    }

    /// Reads `out.len()` bytes from `at`, from the file, memory, or both.
    pub(crate) fn read_exact_at(&self, out: &mut [u8], at: u64) -> io::Result<()> {
        let end = at + out.len() as u64;
        if end > self.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end of a store",
            ));
        }
        let split = self.on_disk.clamp(at, end);
        let (disk, mem) = out.split_at_mut((split - at) as usize);
        if !disk.is_empty() {
            let file = self.file.as_ref().ok_or_else(|| io::Error::other("spill file missing"))?;
            file.read_exact_at(disk, at)?;
        }
        if !mem.is_empty() {
            // The memory part starts at the file's end or later.
            let from = (split - self.on_disk) as usize;
            mem.copy_from_slice(&self.mem[from..from + mem.len()]);
        }
        Ok(())
    }

    /// A reader of everything written, from the start.
    pub(crate) fn reader(&mut self) -> io::Result<Box<dyn Read + Send>> {
        use std::io::Seek;
        if self.file.is_none() {
            return Ok(Box::new(io::Cursor::new(self.mem.clone())));
        }
        self.spill()?;
        let mut file = self
            .file
            .as_ref()
            .ok_or_else(|| io::Error::other("spill file missing"))?
            .try_clone()?;
        file.seek(io::SeekFrom::Start(0))?;
        Ok(Box::new(io::BufReader::with_capacity(self.buffer, file)))
    }
}

/// Append-only store of variable-length `u64` slices, by record index.
pub(crate) struct SliceStore {
    log: SpillFile,
    sealed: bool,
    /// Start (in bytes) of each record's slice; `u64::MAX` for none.
    starts: Vec<u64>,
    /// Length in bytes.
    lens: Vec<u32>,
    /// Bytes written to the log.
    bytes: u64,
    /// Bytes of every record's slice, shared ones counted for each.
    logical: u64,
}

impl SliceStore {
    pub(crate) fn new(tmp_dir: &Path) -> io::Result<SliceStore> {
        Ok(SliceStore {
            log: SpillFile::new(tmp_dir, 1 << 20),
            sealed: false,
            starts: Vec::new(),
            lens: Vec::new(),
            bytes: 0,
            logical: 0,
        })
    }

    /// Appends the slice of record `index` (indexes must increase; records
    /// skipped have no slice).
    pub(crate) fn push(&mut self, index: usize, values: &[u64]) -> io::Result<()> {
        let w = self.start(index, values.len() * 8)?;
        if cfg!(target_endian = "little") {
            // The values' own bytes are little-endian: no copy to convert.
            return w.write_all(bytemuck::cast_slice(values));
        }
        // Little-endian bytes, a block at a time (one `write_all` per value
        // cost 2 % of a near-duplicate run).
        let mut block = [0u8; 512];
        for chunk in values.chunks(block.len() / 8) {
            for (b, v) in block.chunks_exact_mut(8).zip(chunk) {
                b.copy_from_slice(&v.to_le_bytes());
            }
            w.write_all(&block[..chunk.len() * 8])?;
        }
        Ok(())
    }

    fn start(&mut self, index: usize, len: usize) -> io::Result<&mut SpillFile> {
        let len =
            u32::try_from(len).map_err(|_| io::Error::other("a record's slice exceeds 4 GiB"))?;
        self.place(index, self.bytes, len)?;
        self.bytes += u64::from(len);
        Ok(&mut self.log)
    }

    /// Records that record `index`'s slice is `len` bytes at `start` of
    /// the log.
    fn place(&mut self, index: usize, start: u64, len: u32) -> io::Result<()> {
        if self.sealed {
            return Err(io::Error::other("slice store already sealed"));
        }
        if self.starts.len() <= index {
            self.starts.resize(index + 1, u64::MAX);
            self.lens.resize(index + 1, 0);
        }
        self.starts[index] = start;
        self.lens[index] = len;
        self.logical += u64::from(len);
        Ok(())
    }

    /// Gives record `index` the slice of record `of`, pushed before,
    /// without writing it again (a record that repeats an earlier one's
    /// text). Indexes must increase, as with [`SliceStore::push`].
    pub(crate) fn alias(&mut self, index: usize, of: usize) -> io::Result<()> {
        if of >= index {
            return Err(io::Error::other("a slice shared with a later record"));
        }
        let (start, len) = match (self.starts.get(of), self.lens.get(of)) {
            (Some(&start), Some(&len)) => (start, len),
            _ => (u64::MAX, 0),
        };
        self.place(index, start, len)
    }

    /// Ends writing; reads may start.
    pub(crate) fn seal(&mut self) -> io::Result<()> {
        self.sealed = true;
        Ok(())
    }

    /// Reads record `index`'s slice into `out` (empty if it has none).
    pub(crate) fn get(&self, index: usize, out: &mut Vec<u64>) -> io::Result<()> {
        out.clear();
        let (Some(&start), Some(&len)) = (self.starts.get(index), self.lens.get(index)) else {
            return Ok(());
        };
        if start == u64::MAX || len == 0 {
            return Ok(());
        }
        // Reads may come before sealing (a record that repeats an earlier
        // one's text copies its slices in pass 1): the log serves bytes
        // still in memory as well as those on disk.
        // Straight into `out`'s buffer (reused by the caller): no
        // per-read allocation and copy, which verification pays per pair.
        out.resize(len as usize / 8, 0);
        self.log.read_exact_at(bytemuck::cast_slice_mut(out.as_mut_slice()), start)?;
        out.iter_mut().for_each(|v| *v = u64::from_le(*v));
        Ok(())
    }

    /// Values in record `index`'s slice, from memory (0 if it has none).
    pub(crate) fn values(&self, index: usize) -> usize {
        match (self.starts.get(index), self.lens.get(index)) {
            (Some(&start), Some(&len)) if start != u64::MAX => len as usize / 8,
            _ => 0,
        }
    }

    /// Bytes of the records' slices (on disk once past the write buffer),
    /// a shared slice counted for each record: the same whichever records
    /// share theirs.
    pub(crate) fn disk_bytes(&self) -> u64 {
        self.logical
    }
}

/// Fixed-size rows of `u64`s by record index, in a temp file: what a record
/// table would otherwise hold per record (Gopher statistics, 52 bytes, for
/// every record of a run with a ledger). Rows may be read while more are
/// appended: a row still in the write buffer is read from there.
pub(crate) struct RowStore {
    log: SpillFile,
    /// Bytes of one row.
    row: usize,
    /// Rows written (absent ones as zeros).
    rows: u64,
    /// Pass 2 reads every row, in order: a block at a time, not a `pread`
    /// per row (a system call per record: 193,068 of the 352,067 a run on
    /// 200,000 short records made).
    cache: BlockCache,
}

impl RowStore {
    pub(crate) fn new(tmp_dir: &Path, width: usize) -> io::Result<RowStore> {
        Ok(RowStore {
            log: SpillFile::new(tmp_dir, 1 << 16),
            row: width * 8,
            rows: 0,
            cache: BlockCache::default(),
        })
    }

    /// Writes row `index` (rows in increasing order; rows skipped read back
    /// as absent). `values` should not be all zero.
    pub(crate) fn put(&mut self, index: u64, values: &[u64]) -> io::Result<()> {
        let mut bytes = vec![0u8; self.row];
        while self.rows < index {
            self.log.write_all(&bytes)?;
            self.rows += 1;
        }
        for (b, v) in bytes.chunks_exact_mut(8).zip(values) {
            b.copy_from_slice(&v.to_le_bytes());
        }
        self.log.write_all(&bytes)?;
        self.rows += 1;
        Ok(())
    }

    /// Row `index` into `out`; false if it was never written (or is all
    /// zeros).
    pub(crate) fn get(&self, index: u64, out: &mut Vec<u64>) -> io::Result<bool> {
        out.clear();
        if index >= self.rows {
            return Ok(false);
        }
        // Straight into `out`'s buffer, as `SliceStore::get`: pass 2 reads a
        // row per record.
        out.resize(self.row / 8, 0);
        let at = index * self.row as u64;
        self.cache.read(&self.log, at, bytemuck::cast_slice_mut(out.as_mut_slice()))?;
        out.iter_mut().for_each(|v| *v = u64::from_le(*v));
        Ok(out.iter().any(|&v| v != 0))
    }
}

/// Optional strings by record index (the ids records carry), in a temp
/// file: a 10-million-record run with 90-byte ids would otherwise hold a
/// gigabyte of them. Memory keeps one offset per record; reads go through
/// a [`BlockCache`], so reading records in order (the ledger) costs one
/// read a block, and a string still in the write buffer is read from there.
pub(crate) struct StringStore {
    log: SpillFile,
    /// `starts[k] << 1 | present` for record `k`; the end of record `k` is
    /// the start of `k + 1` (or `bytes`).
    starts: Vec<u64>,
    bytes: u64,
    cache: BlockCache,
}

/// Blocks of an append-only [`SpillFile`] read ahead, for stores that pass 2
/// reads record by record.
///
/// One slot per rayon thread (pass 2 prepares batches on every thread, each
/// scanning its own stretch of records), and each slot two blocks: the
/// scan's, refilled only when a read moves past it, and one for looking
/// back (the id a duplicate names, a cut's first copy), small, so that
/// such a look neither throws the scan's block away nor reads a whole block
/// for one id. What is on disk never changes, so a block stays true.
pub(crate) struct BlockCache {
    slots: Vec<std::sync::Mutex<Slot>>,
}

impl Default for BlockCache {
    fn default() -> BlockCache {
        BlockCache { slots: (0..SLOTS).map(|_| std::sync::Mutex::default()).collect() }
    }
}

/// One thread's cached blocks: `(offset, bytes)` for the scan and for
/// looks back.
#[derive(Default)]
struct Slot {
    scan: (u64, Vec<u8>),
    back: (u64, Vec<u8>),
}

/// Bytes read at once into the scan's block.
const BLOCK: u64 = 64 << 10;
/// Bytes read at once into the block for looks back.
const BACK_BLOCK: u64 = 4 << 10;
/// Cache slots (threads past this share them).
const SLOTS: usize = 16;

/// Whether `block` at `at` holds `from..to`.
fn holds((at, block): &(u64, Vec<u8>), from: u64, to: u64) -> bool {
    from >= *at && to <= *at + block.len() as u64
}

impl BlockCache {
    /// Reads `out.len()` bytes of `log` from `from`: through the calling
    /// thread's blocks when they lie on disk; what reaches the write buffer,
    /// or is larger than a block, by [`SpillFile::read_exact_at`] (memory
    /// without a system call, the file with one).
    fn read(&self, log: &SpillFile, from: u64, out: &mut [u8]) -> io::Result<()> {
        let (len, to) = (out.len(), from + out.len() as u64);
        let on_disk = log.on_disk();
        if from >= on_disk || to > on_disk || len as u64 > BLOCK {
            return log.read_exact_at(out, from);
        }
        let slot = rayon::current_thread_index().map_or(0, |i| 1 + i % (SLOTS - 1));
        let mut slot =
            self.slots[slot].lock().map_err(|_| io::Error::other("store cache poisoned"))?;
        let Slot { scan, back } = &mut *slot;
        let cached = if holds(scan, from, to) {
            scan
        } else if holds(back, from, to) {
            back
        } else {
            // Moving forward (or starting): the scan's next block; behind
            // the scan: a small block for the look.
            let (cached, size) = if from >= scan.0 || scan.1.is_empty() {
                (scan, BLOCK)
            } else {
                (back, BACK_BLOCK)
            };
            let (at, block) = cached;
            *at = from;
            block.resize(size.max(len as u64).min(on_disk - from) as usize, 0);
            log.read_exact_at(block, from)?;
            cached
        };
        let (at, block) = &*cached;
        out.copy_from_slice(&block[(from - at) as usize..(to - at) as usize]);
        Ok(())
    }
}

impl StringStore {
    pub(crate) fn new(tmp_dir: &Path) -> io::Result<StringStore> {
        Ok(StringStore {
            log: SpillFile::new(tmp_dir, 1 << 16),
            starts: Vec::new(),
            bytes: 0,
            cache: BlockCache::default(),
        })
    }

    /// Appends the next record's string (records in order).
    pub(crate) fn push(&mut self, s: Option<&str>) -> io::Result<()> {
        self.starts.push(self.bytes << 1 | u64::from(s.is_some()));
        if let Some(s) = s {
            self.log.write_all(s.as_bytes())?;
            self.bytes += s.len() as u64;
        }
        Ok(())
    }

    /// Bytes of memory per record.
    pub(crate) const RECORD_BYTES: usize = 8;

    /// Record `k`'s string, if it has one.
    pub(crate) fn get(&self, k: usize) -> io::Result<Option<String>> {
        let Some(&start) = self.starts.get(k) else { return Ok(None) };
        if start & 1 == 0 {
            return Ok(None);
        }
        let (from, to) = (start >> 1, self.starts.get(k + 1).map_or(self.bytes, |s| s >> 1));
        let mut out = vec![0u8; (to - from) as usize];
        self.cache.read(&self.log, from, &mut out)?;
        String::from_utf8(out).map(Some).map_err(io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_come_back_by_index() {
        let mut s = SliceStore::new(&std::env::temp_dir()).unwrap();
        s.push(0, &[1, 2, 3]).unwrap();
        s.push(2, &[]).unwrap();
        s.push(3, &[u64::MAX, 7]).unwrap();
        s.seal().unwrap();
        let mut out = Vec::new();
        s.get(3, &mut out).unwrap();
        assert_eq!(out, [u64::MAX, 7]);
        s.get(0, &mut out).unwrap();
        assert_eq!(out, [1, 2, 3]);
        s.get(1, &mut out).unwrap();
        assert!(out.is_empty());
        s.get(9, &mut out).unwrap();
        assert!(out.is_empty());
        assert_eq!(s.disk_bytes(), 40);
    }

    /// A shared slice reads back as its first record's, pushes after it
    /// land where they should, and the bytes count it for each record.
    #[test]
    fn shared_slices_come_back_and_count_for_each_record() {
        let mut s = SliceStore::new(&std::env::temp_dir()).unwrap();
        s.push(0, &[1, 2, 3]).unwrap();
        s.alias(1, 0).unwrap();
        s.push(2, &[4]).unwrap();
        // A record without a slice shares none.
        s.alias(4, 3).unwrap();
        s.alias(5, 2).unwrap();
        assert!(s.alias(5, 6).is_err(), "only an earlier record's slice is shared");
        s.seal().unwrap();
        assert!(s.alias(6, 0).is_err(), "sealed");
        let mut out = Vec::new();
        for (index, want) in
            [(0, &[1u64, 2, 3][..]), (1, &[1, 2, 3]), (2, &[4]), (4, &[]), (5, &[4])]
        {
            s.get(index, &mut out).unwrap();
            assert_eq!(out, want, "record {index}");
            assert_eq!(s.values(index), want.len());
        }
        assert_eq!(s.disk_bytes(), 8 * (3 + 3 + 1 + 1));
    }

    #[test]
    fn strings_come_back_from_buffer_cache_and_disk() {
        let mut s = StringStore::new(&std::env::temp_dir()).unwrap();
        let id =
            |i: usize| (!i.is_multiple_of(3)).then(|| format!("record-{i}-{}", "é".repeat(i % 7)));
        for i in 0..20_000 {
            s.push(id(i).as_deref()).unwrap();
            if i % 997 == 0 {
                assert_eq!(s.get(i).unwrap(), id(i), "just written");
            }
        }
        for i in (0..20_000).chain([5, 19_999, 0, 12_345]) {
            assert_eq!(s.get(i).unwrap(), id(i), "record {i}");
        }
        assert_eq!(s.get(20_000).unwrap(), None);
    }

    #[test]
    fn rows_come_back_while_more_are_written() {
        let mut s = RowStore::new(&std::env::temp_dir(), 3).unwrap();
        // Enough rows that some are on disk and some in the buffer.
        for i in 10..5000u64 {
            s.put(i, &[i, i + 1, i + 2]).unwrap();
        }
        let mut out = Vec::new();
        for i in [10, 2000, 4999] {
            assert!(s.get(i, &mut out).unwrap());
            assert_eq!(out, [i, i + 1, i + 2]);
        }
        let mut s = RowStore::new(&std::env::temp_dir(), 3).unwrap();
        let mut out = Vec::new();
        s.put(0, &[1, 2, 3]).unwrap();
        assert!(s.get(0, &mut out).unwrap());
        assert_eq!(out, [1, 2, 3]);
        s.put(4, &[7, 0, 9]).unwrap();
        assert!(!s.get(2, &mut out).unwrap(), "skipped rows are absent");
        assert!(s.get(4, &mut out).unwrap());
        assert_eq!(out, [7, 0, 9]);
        assert!(!s.get(5, &mut out).unwrap());
    }

    #[test]
    fn rows_come_back_through_the_cache_in_any_order_and_thread() {
        use rayon::prelude::*;
        let mut s = RowStore::new(&std::env::temp_dir(), 3).unwrap();
        let row = |i: u64| [i + 1, i * 7, i ^ 0xabc];
        let mut out = Vec::new();
        for i in 0..20_000u64 {
            s.put(i, &row(i)).unwrap();
            // Reads while rows are written: a block cached now ends where
            // the file ended then.
            if i % 997 == 0 {
                for j in [0, i / 2, i] {
                    assert!(s.get(j, &mut out).unwrap());
                    assert_eq!(out, row(j), "row {j} after {i} written");
                }
            }
        }
        // Forward, backward and strided, then on several threads at once.
        let order: Vec<u64> =
            (0..20_000).chain((0..20_000).rev()).chain((0..20_000).step_by(613)).collect();
        for &j in &order {
            assert!(s.get(j, &mut out).unwrap());
            assert_eq!(out, row(j), "row {j}");
        }
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        pool.install(|| {
            order.par_chunks(500).for_each(|chunk| {
                let mut out = Vec::new();
                for &j in chunk {
                    assert!(s.get(j, &mut out).unwrap());
                    assert_eq!(out, row(j), "row {j} on a pool");
                }
            });
        });
    }

    #[test]
    fn long_slices_span_several_write_blocks() {
        let mut s = SliceStore::new(&std::env::temp_dir()).unwrap();
        let long: Vec<u64> = (0..1000u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).collect();
        s.push(0, &long[..64]).unwrap();
        s.push(1, &long).unwrap();
        s.seal().unwrap();
        let mut out = Vec::new();
        s.get(1, &mut out).unwrap();
        assert_eq!(out, long);
        s.get(0, &mut out).unwrap();
        assert_eq!(out, long[..64]);
    }

    #[test]
    fn a_spill_file_touches_the_disk_only_past_its_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let files = || fs_err::read_dir(dir.path()).unwrap().count();
        let mut small = SpillFile::new(dir.path(), 64);
        small.write_all(&[7; 40]).unwrap();
        assert!(small.file.is_none(), "40 bytes of 64 stay in memory");
        let mut out = [0u8; 10];
        small.read_exact_at(&mut out, 30).unwrap();
        assert_eq!(out, [7; 10]);
        assert!(small.read_exact_at(&mut out, 35).is_err(), "past the end");
        let mut all = Vec::new();
        small.reader().unwrap().read_to_end(&mut all).unwrap();
        assert_eq!(all, [7; 40]);
        // Past the buffer: on disk, read across the file and memory.
        let bytes: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut big = SpillFile::new(dir.path(), 64);
        for chunk in bytes.chunks(13) {
            big.write_all(chunk).unwrap();
        }
        assert!(big.file.is_some() && big.on_disk() > 0 && !big.mem.is_empty());
        for (at, len) in [(0, 1000), (5, 100), (big.on_disk() - 3, 7), (990, 10)] {
            let mut out = vec![0u8; len];
            big.read_exact_at(&mut out, at).unwrap();
            assert_eq!(out, bytes[at as usize..at as usize + len]);
        }
        let mut all = Vec::new();
        big.reader().unwrap().read_to_end(&mut all).unwrap();
        assert_eq!(all, bytes);
        // Writing on after a reader was made appends (the reader's clone of
        // the file shares its cursor, which it moved to the start).
        let _unread = big.reader().unwrap();
        big.write_all(&[9; 200]).unwrap();
        let mut out = vec![0u8; 1200];
        big.read_exact_at(&mut out, 0).unwrap();
        assert_eq!(out[..1000], bytes[..]);
        assert_eq!(out[1000..], [9; 200]);
        // The temp files are anonymous: nothing is left in the directory.
        assert_eq!(files(), 0);
    }
}
