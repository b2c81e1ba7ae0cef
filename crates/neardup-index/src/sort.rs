//! External sort of a batch's key entries, so that a batch of any size is
//! bulk-loaded in key order with bounded memory.
//!
//! A batch of a million records brings some 22 million holder rows (one
//! per band key and one per exact hash; the lookup keys are their
//! prefixes, taken as the sorted rows go by). They are collected in a
//! buffer of fixed-width entries; a full buffer is sorted, deduplicated and
//! spilled to an anonymous temporary file (a "run"); at the end the runs
//! are merged with a heap, reading each through a small buffer. Memory is
//! the buffer plus 64 KiB per run, whatever the batch's size.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::codec::lookup_len;

/// Bytes of an entry on disk.
const WIDTH: usize = 32;

/// A holder key (at most 25 bytes) packed, zero-padded, into two
/// big-endian integers: integer comparison is byte order, and much
/// cheaper than `memcmp` on byte arrays. Holder keys with one tag have one
/// length, so padding keeps their order.
pub(crate) type Entry = (u128, u128);

/// The entry of a holder key.
pub(crate) fn entry(key: &[u8]) -> Entry {
    let mut b = [0u8; WIDTH];
    b[..key.len()].copy_from_slice(key);
    from_bytes(&b)
}

fn from_bytes(b: &[u8; WIDTH]) -> Entry {
    let mut hi = [0u8; 16];
    let mut lo = [0u8; 16];
    hi.copy_from_slice(&b[..16]);
    lo.copy_from_slice(&b[16..]);
    (u128::from_be_bytes(hi), u128::from_be_bytes(lo))
}

fn to_bytes(e: &Entry) -> [u8; WIDTH] {
    let mut b = [0u8; WIDTH];
    b[..16].copy_from_slice(&e.0.to_be_bytes());
    b[16..].copy_from_slice(&e.1.to_be_bytes());
    b
}

/// The holder key of an entry: its bytes and length (`None` if the tag is
/// unknown: a damaged temporary file).
pub(crate) fn key(e: &Entry) -> Option<([u8; WIDTH], usize)> {
    let b = to_bytes(e);
    let n = lookup_len(b[0])? + 8;
    Some((b, n))
}

/// Collects entries; see the [module documentation](self).
pub(crate) struct Sorter {
    buf: Vec<Entry>,
    cap: usize,
    runs: Vec<std::fs::File>,
    dir: PathBuf,
}

impl Sorter {
    /// A sorter using about `memory` bytes, spilling into `dir`.
    pub(crate) fn new(dir: &Path, memory: usize) -> Sorter {
        Sorter { buf: Vec::new(), cap: (memory / WIDTH).max(16), runs: Vec::new(), dir: dir.into() }
    }

    /// True once a run went to disk.
    pub(crate) fn spilled(&self) -> bool {
        !self.runs.is_empty()
    }

    pub(crate) fn push(&mut self, e: Entry) -> std::io::Result<()> {
        self.buf.push(e);
        if self.buf.len() >= self.cap {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> std::io::Result<()> {
        self.buf.sort_unstable();
        self.buf.dedup();
        let file = tempfile::tempfile_in(&self.dir)?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        for e in &self.buf {
            w.write_all(&to_bytes(e))?;
        }
        let mut file = w.into_inner().map_err(std::io::IntoInnerError::into_error)?;
        file.rewind()?;
        self.runs.push(file);
        self.buf.clear();
        Ok(())
    }

    /// Every entry pushed, ascending, without duplicates.
    pub(crate) fn finish(mut self) -> std::io::Result<Merged> {
        if self.runs.is_empty() {
            self.buf.sort_unstable();
            self.buf.dedup();
            return Ok(Merged::Memory(self.buf.into_iter()));
        }
        if !self.buf.is_empty() {
            self.spill()?;
        }
        let mut readers: Vec<_> =
            self.runs.into_iter().map(|f| BufReader::with_capacity(64 << 10, f)).collect();
        let mut heap = BinaryHeap::with_capacity(readers.len());
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(e) = read_entry(r)? {
                heap.push(Reverse((e, i)));
            }
        }
        Ok(Merged::Runs { readers, heap, last: None })
    }
}

fn read_entry(r: &mut impl Read) -> std::io::Result<Option<Entry>> {
    let mut b = [0u8; WIDTH];
    match r.read_exact(&mut b) {
        Ok(()) => Ok(Some(from_bytes(&b))),
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(err) => Err(err),
    }
}

/// The sorted entries of a [`Sorter`].
pub(crate) enum Merged {
    /// Nothing was spilled.
    Memory(std::vec::IntoIter<Entry>),
    /// A merge of spilled runs.
    Runs {
        readers: Vec<BufReader<std::fs::File>>,
        heap: BinaryHeap<Reverse<(Entry, usize)>>,
        last: Option<Entry>,
    },
}

impl Iterator for Merged {
    type Item = std::io::Result<Entry>;

    fn next(&mut self) -> Option<std::io::Result<Entry>> {
        match self {
            Merged::Memory(it) => it.next().map(Ok),
            Merged::Runs { readers, heap, last } => loop {
                let Reverse((e, i)) = heap.pop()?;
                match read_entry(&mut readers[i]) {
                    Ok(Some(next)) => heap.push(Reverse((next, i))),
                    Ok(None) => {}
                    Err(err) => return Some(Err(err)),
                }
                // Runs are deduplicated each; equal entries of two runs
                // come out one after the other.
                if last.as_ref() != Some(&e) {
                    *last = Some(e);
                    return Some(Ok(e));
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{band_lookup, exact_lookup, holder_key};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn sorts_and_dedups_whatever_spills(
            keys in proptest::collection::vec((any::<bool>(), 0u8..4, any::<u64>(), 0u64..3), 0..1500),
            memory in prop_oneof![Just(0usize), Just(30_000), Just(1 << 20)],
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut s = Sorter::new(dir.path(), memory);
            let mut want = Vec::new();
            for (exact, band, key, seq) in keys {
                let k = if exact {
                    holder_key(&exact_lookup(u128::from(key % 50) << 64 | u128::from(band)), seq)
                } else {
                    holder_key(&band_lookup(u16::from(band), key % 50), seq)
                };
                s.push(entry(&k)).unwrap();
                want.push(k);
            }
            want.sort_unstable();
            want.dedup();
            let got: Vec<Vec<u8>> = s
                .finish()
                .unwrap()
                .map(|e| {
                    let (b, n) = key(&e.unwrap()).unwrap();
                    b[..n].to_vec()
                })
                .collect();
            prop_assert_eq!(&got, &want);
        }
    }

    #[test]
    fn unknown_tags_are_refused() {
        assert_eq!(key(&(u128::MAX, 0)), None);
    }
}
