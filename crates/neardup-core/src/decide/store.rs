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

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Append-only store of variable-length `u64` slices, by record index.
pub(crate) struct SliceStore {
    writer: Option<BufWriter<File>>,
    file: Option<File>,
    /// Start (in bytes) of each record's slice; `u64::MAX` for none.
    starts: Vec<u64>,
    /// Length in bytes.
    lens: Vec<u32>,
    bytes: u64,
}

impl SliceStore {
    pub(crate) fn new(tmp_dir: &Path) -> io::Result<SliceStore> {
        let file = tempfile::tempfile_in(tmp_dir)?;
        Ok(SliceStore {
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
            file: None,
            starts: Vec::new(),
            lens: Vec::new(),
            bytes: 0,
        })
    }

    /// Appends the slice of record `index` (indexes must increase; records
    /// skipped have no slice).
    pub(crate) fn push(&mut self, index: usize, values: &[u64]) -> io::Result<()> {
        let w = self.start(index, values.len() * 8)?;
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

    fn start(&mut self, index: usize, len: usize) -> io::Result<&mut BufWriter<File>> {
        let Some(w) = self.writer.as_mut() else {
            return Err(io::Error::other("slice store already sealed"));
        };
        let len =
            u32::try_from(len).map_err(|_| io::Error::other("a record's slice exceeds 4 GiB"))?;
        if self.starts.len() <= index {
            self.starts.resize(index + 1, u64::MAX);
            self.lens.resize(index + 1, 0);
        }
        self.starts[index] = self.bytes;
        self.lens[index] = len;
        self.bytes += u64::from(len);
        Ok(w)
    }

    /// Ends writing; reads may start.
    pub(crate) fn seal(&mut self) -> io::Result<()> {
        if let Some(w) = self.writer.take() {
            self.file = Some(w.into_inner().map_err(|e| e.into_error())?);
        }
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
        let Some(file) = self.file.as_ref() else {
            return Err(io::Error::other("slice store read before sealing"));
        };
        // Straight into `out`'s buffer (reused by the caller): no
        // per-read allocation and copy, which verification pays per pair.
        out.resize(len as usize / 8, 0);
        file.read_exact_at(bytemuck::cast_slice_mut(out.as_mut_slice()), start)?;
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

    /// Bytes on disk.
    pub(crate) fn disk_bytes(&self) -> u64 {
        self.bytes
    }
}

/// Fixed-size rows of `u64`s by record index, in a temp file: what a record
/// table would otherwise hold per record (Gopher statistics, 52 bytes, for
/// every record of a run with a ledger). Rows may be read while more are
/// appended: a row still in the write buffer is read from there.
pub(crate) struct RowStore {
    writer: BufWriter<File>,
    /// Bytes of one row.
    row: usize,
    /// Rows written (absent ones as zeros).
    rows: u64,
}

impl RowStore {
    pub(crate) fn new(tmp_dir: &Path, width: usize) -> io::Result<RowStore> {
        let file = tempfile::tempfile_in(tmp_dir)?;
        Ok(RowStore { writer: BufWriter::with_capacity(1 << 16, file), row: width * 8, rows: 0 })
    }

    /// Writes row `index` (rows in increasing order; rows skipped read back
    /// as absent). `values` should not be all zero.
    pub(crate) fn put(&mut self, index: u64, values: &[u64]) -> io::Result<()> {
        let mut bytes = vec![0u8; self.row];
        while self.rows < index {
            self.writer.write_all(&bytes)?;
            self.rows += 1;
        }
        for (b, v) in bytes.chunks_exact_mut(8).zip(values) {
            b.copy_from_slice(&v.to_le_bytes());
        }
        // One write a row: a row is wholly in the buffer or wholly on disk.
        self.writer.write_all(&bytes)?;
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
        let at = index * self.row as u64;
        let buffered = self.writer.buffer();
        let on_disk = self.rows * self.row as u64 - buffered.len() as u64;
        let mut bytes = vec![0u8; self.row];
        if at >= on_disk {
            let from = (at - on_disk) as usize;
            bytes.copy_from_slice(&buffered[from..from + self.row]);
        } else {
            self.writer.get_ref().read_exact_at(&mut bytes, at)?;
        }
        out.extend(bytes.chunks_exact(8).map(|c| {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            u64::from_le_bytes(a)
        }));
        Ok(out.iter().any(|&v| v != 0))
    }
}

/// Optional strings by record index (the ids records carry), in a temp
/// file: a 10-million-record run with 90-byte ids would otherwise hold a
/// gigabyte of them. Memory keeps one offset per record; reads go through
/// a block cache, so reading records in order (the ledger) costs one read
/// a block, and a string still in the write buffer is read from there.
pub(crate) struct StringStore {
    writer: BufWriter<File>,
    /// `starts[k] << 1 | present` for record `k`; the end of record `k` is
    /// the start of `k + 1` (or `bytes`).
    starts: Vec<u64>,
    bytes: u64,
    cache: std::sync::Mutex<(u64, Vec<u8>)>,
}

/// Bytes read at once into the cache.
const BLOCK: u64 = 64 << 10;

impl StringStore {
    pub(crate) fn new(tmp_dir: &Path) -> io::Result<StringStore> {
        let file = tempfile::tempfile_in(tmp_dir)?;
        Ok(StringStore {
            writer: BufWriter::with_capacity(1 << 16, file),
            starts: Vec::new(),
            bytes: 0,
            cache: std::sync::Mutex::new((0, Vec::new())),
        })
    }

    /// Appends the next record's string (records in order).
    pub(crate) fn push(&mut self, s: Option<&str>) -> io::Result<()> {
        self.starts.push(self.bytes << 1 | u64::from(s.is_some()));
        if let Some(s) = s {
            self.writer.write_all(s.as_bytes())?;
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
        let len = (to - from) as usize;
        let mut out = vec![0u8; len];
        let buffered = self.writer.buffer();
        let on_disk = self.bytes - buffered.len() as u64;
        if from >= on_disk {
            let at = (from - on_disk) as usize;
            out.copy_from_slice(&buffered[at..at + len]);
        } else if to > on_disk || len as u64 > BLOCK {
            self.writer.get_ref().read_exact_at(&mut out, from)?;
        } else {
            let mut cache = self.cache.lock().map_err(|_| io::Error::other("id cache poisoned"))?;
            let (at, block) = &mut *cache;
            if from < *at || to > *at + block.len() as u64 {
                *at = from;
                block.resize(BLOCK.min(on_disk - from) as usize, 0);
                self.writer.get_ref().read_exact_at(block, from)?;
            }
            out.copy_from_slice(&block[(from - *at) as usize..(to - *at) as usize]);
        }
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
}
