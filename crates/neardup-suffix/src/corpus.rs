//! The corpus on disk, and the *segments* every later stage reads.
//!
//! The corpus is two temporary files: the documents' bytes back to back (no
//! separators: windows are kept inside documents by bookkeeping, not by
//! sentinel bytes), and one little-endian `u64` end offset per document. A
//! byte's *position* is its offset in the first file, so positions order the
//! corpus by `(doc, offset)`, which is what "earlier" means.
//!
//! Stages never see documents, only [`Segment`]s: a run of consecutive window
//! starts `start .. start + windows` together with the text they need
//! (`windows + min_len - 1` bytes). A document is one segment, or several
//! overlapping ones if it is longer than the memory budget allows; a bucket
//! of the partition (see [`crate::partition`]) is a file of segments. Every
//! window start belongs to exactly one segment, and every source yields its
//! segments in increasing position order, an invariant the suffix-array
//! stage relies on to compare positions through offsets in its own text.

use crate::error::Result;
use crate::store::{TempFile, TempReader};

/// Documents per block of the document-end index kept on disk.
const BLOCK: u64 = 512;

/// A run of window starts and the text that covers them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Segment<'a> {
    /// Corpus position of the first window start.
    pub(crate) start: u64,
    /// Number of window starts (at least 1).
    pub(crate) windows: u64,
    /// `windows + min_len - 1` bytes from `start`.
    pub(crate) text: &'a [u8],
}

/// Whether a visitor of segments wants more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Stop,
}

/// A visitor of segments.
pub(crate) type Visit<'f> = dyn FnMut(Segment<'_>) -> Result<Flow> + 'f;

/// Something that yields segments in increasing position order.
pub(crate) trait SegmentSource: Sync {
    /// Total text bytes of all segments.
    fn bytes(&self) -> u64;
    /// Calls `f` on every segment, in position order, until it says stop.
    fn for_each(&self, f: &mut Visit<'_>) -> Result<()>;
}

/// The written corpus.
#[derive(Debug)]
pub(crate) struct Corpus {
    pub(crate) text: TempFile,
    pub(crate) ends: TempFile,
    pub(crate) docs: u64,
    pub(crate) min_len: u64,
    /// Window starts over all documents searched.
    pub(crate) windows: u64,
    /// Documents left out of the search (a bit per document), if any: their
    /// bytes keep their positions but hold no window.
    pub(crate) skip: Option<Vec<u64>>,
    /// Bytes of the documents searched.
    pub(crate) live_bytes: u64,
}

impl Corpus {
    /// Bytes of the documents searched.
    pub(crate) fn bytes(&self) -> u64 {
        self.live_bytes
    }

    /// Whether document `d` is left out.
    pub(crate) fn skipped(&self, d: u64) -> bool {
        self.skip.as_ref().is_some_and(|bits| bits[usize_of(d / 64)] >> (d % 64) & 1 == 1)
    }

    /// Leaves out the documents for which `keep` is false; recounts windows
    /// and bytes.
    pub(crate) fn retain(&mut self, keep: &dyn Fn(u32) -> bool) -> Result<()> {
        let mut bits = vec![0u64; usize_of(self.docs.div_ceil(64))];
        let (mut windows, mut bytes, mut pos, mut any) = (0, 0, 0u64, false);
        let mut ends = self.ends.reader(0, self.ends.len(), 1 << 16);
        for d in 0..self.docs {
            let end = ends.read_u64()?;
            let len = end.saturating_sub(pos);
            pos = end;
            // Documents are numbered by `u32` (`CorpusWriter::add`).
            if keep(d as u32) {
                windows += windows_in(len, self.min_len);
                bytes += len;
            } else {
                bits[usize_of(d / 64)] |= 1 << (d % 64);
                any = true;
            }
        }
        self.skip = any.then_some(bits);
        self.windows = windows;
        self.live_bytes = bytes;
        Ok(())
    }

    /// The corpus as segments of at most `max_windows` window starts each.
    pub(crate) fn segments(&self, max_windows: u64) -> CorpusSegments<'_> {
        CorpusSegments { corpus: self, max_windows: max_windows.max(1) }
    }

    pub(crate) fn doc_index(&self) -> Result<DocIndex<'_>> {
        DocIndex::new(&self.ends, self.docs)
    }
}

/// Window starts in a document of `len` bytes.
pub(crate) fn windows_in(len: u64, min_len: u64) -> u64 {
    (len + 1).saturating_sub(min_len)
}

/// [`Corpus`] documents cut into segments.
pub(crate) struct CorpusSegments<'a> {
    corpus: &'a Corpus,
    max_windows: u64,
}

impl SegmentSource for CorpusSegments<'_> {
    fn bytes(&self) -> u64 {
        self.corpus.bytes()
    }

    fn for_each(&self, f: &mut Visit<'_>) -> Result<()> {
        let c = self.corpus;
        let l = c.min_len;
        let mut ends = c.ends.reader(0, c.ends.len(), 1 << 16);
        let mut text = c.text.reader(0, c.text.len(), 1 << 20);
        let mut buf: Vec<u8> = Vec::new();
        let mut pos = 0u64;
        for d in 0..c.docs {
            let end = ends.read_u64()?;
            let Some(len) = end.checked_sub(pos) else {
                return Err(c.ends.scratch().corrupt("document ends go backwards"));
            };
            let total = if c.skipped(d) { 0 } else { windows_in(len, l) };
            if total == 0 {
                text.skip(len)?;
                pos = end;
                continue;
            }
            // Pieces: windows [k*P, min((k+1)*P, total)), each with its text;
            // consecutive pieces share `l - 1` bytes, kept in `buf`.
            buf.clear();
            let mut done = 0u64;
            while done < total {
                let r = (total - done).min(self.max_windows);
                let need = usize_of(r + l - 1);
                let have = buf.len();
                buf.resize(need, 0);
                read_into(&mut text, &mut buf[have..])?;
                if f(Segment { start: pos + done, windows: r, text: &buf })? == Flow::Stop {
                    return Ok(());
                }
                done += r;
                // Keep the overlap for the next piece.
                let keep_from = usize_of(r);
                buf.drain(..keep_from.min(buf.len()));
            }
            // `buf` now holds the last `l - 1` bytes, already read.
            pos = end;
        }
        Ok(())
    }
}

fn read_into(r: &mut TempReader<'_>, buf: &mut [u8]) -> Result<()> {
    r.read_exact(buf)
}

/// Converts a length that is known to fit in memory.
pub(crate) fn usize_of(n: u64) -> usize {
    usize::try_from(n).expect("a length held in memory fits in usize")
}

/// Maps positions to documents and back, with `8 / 512` bytes of memory per
/// document: one sampled end per block of 512, the block itself read from
/// disk when needed (the last one is cached, so sorted lookups are cheap).
pub(crate) struct DocIndex<'a> {
    ends: &'a TempFile,
    docs: u64,
    /// End of the last document of each block.
    samples: Vec<u64>,
    block: Vec<u64>,
    block_id: u64,
}

impl<'a> DocIndex<'a> {
    fn new(ends: &'a TempFile, docs: u64) -> Result<DocIndex<'a>> {
        let mut samples = Vec::with_capacity(usize_of(docs.div_ceil(BLOCK)));
        let mut r = ends.reader(0, ends.len(), 1 << 16);
        let mut last = 0;
        for d in 0..docs {
            last = r.read_u64()?;
            if d % BLOCK == BLOCK - 1 {
                samples.push(last);
            }
        }
        if !docs.is_multiple_of(BLOCK) {
            samples.push(last);
        }
        Ok(DocIndex { ends, docs, samples, block: Vec::new(), block_id: u64::MAX })
    }

    fn load(&mut self, block: u64) -> Result<()> {
        if self.block_id != block {
            let first = block * BLOCK;
            let n = BLOCK.min(self.docs - first);
            let mut raw = vec![0u8; usize_of(n * 8)];
            self.ends.read_exact_at(&mut raw, first * 8)?;
            self.block.clear();
            self.block
                .extend(raw.chunks_exact(8).map(|c| {
                    u64::from_le_bytes(c.try_into().expect("chunks_exact gives 8 bytes"))
                }));
            self.block_id = block;
        }
        Ok(())
    }

    /// End position of document `doc`.
    pub(crate) fn end(&mut self, doc: u64) -> Result<u64> {
        self.load(doc / BLOCK)?;
        Ok(self.block[usize_of(doc % BLOCK)])
    }

    /// Start position of document `doc`.
    pub(crate) fn start(&mut self, doc: u64) -> Result<u64> {
        if doc == 0 {
            Ok(0)
        } else {
            self.end(doc - 1)
        }
    }

    /// The document holding position `pos`, with its start and end.
    pub(crate) fn locate(&mut self, pos: u64) -> Result<(u64, u64, u64)> {
        let k = self.samples.partition_point(|&e| e <= pos) as u64;
        if k as usize >= self.samples.len() {
            return Err(self.ends.scratch().corrupt(format!("position {pos} is past the corpus")));
        }
        self.load(k)?;
        let i = self.block.partition_point(|&e| e <= pos) as u64;
        let doc = k * BLOCK + i;
        let end = self.block[usize_of(i)];
        let start = self.start(doc)?;
        Ok((doc, start, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Scratch;

    fn corpus(docs: &[&[u8]], l: u64) -> (tempfile::TempDir, Corpus) {
        let dir = tempfile::tempdir().unwrap();
        let scratch = Scratch::new(dir.path()).unwrap();
        let mut t = scratch.file().unwrap().writer(64);
        let mut e = scratch.file().unwrap().writer(64);
        let mut windows = 0;
        for d in docs {
            t.write_all(d).unwrap();
            e.write_u64(t.len()).unwrap();
            windows += windows_in(d.len() as u64, l);
        }
        let text = t.finish().unwrap();
        let live_bytes = text.len();
        let c = Corpus {
            text,
            ends: e.finish().unwrap(),
            docs: docs.len() as u64,
            min_len: l,
            windows,
            skip: None,
            live_bytes,
        };
        (dir, c)
    }

    #[test]
    fn segments_cover_every_window_once_with_its_text() {
        let docs: Vec<&[u8]> = vec![b"abcdefghij", b"", b"xy", b"klmnopqrstuvw"];
        let all: Vec<u8> = docs.concat();
        for l in 1..6u64 {
            for p in 1..6u64 {
                let (_d, c) = corpus(&docs, l);
                let mut seen = Vec::new();
                c.segments(p)
                    .for_each(&mut |s| {
                        assert!(s.windows >= 1 && s.windows <= p);
                        assert_eq!(s.text.len() as u64, s.windows + l - 1);
                        let a = s.start as usize;
                        assert_eq!(s.text, &all[a..a + s.text.len()]);
                        seen.extend(s.start..s.start + s.windows);
                        Ok(Flow::Continue)
                    })
                    .unwrap();
                let mut want = Vec::new();
                let mut pos = 0u64;
                for d in &docs {
                    let w = windows_in(d.len() as u64, l);
                    want.extend(pos..pos + w);
                    pos += d.len() as u64;
                }
                assert_eq!(seen, want, "l={l} p={p}");
                assert_eq!(c.windows, want.len() as u64);
            }
        }
    }

    #[test]
    fn skipped_documents_hold_no_window() {
        let docs: Vec<&[u8]> = vec![b"abcdefghij", b"klmnop", b"qrstuvw", b"xyz"];
        let (_d, mut c) = corpus(&docs, 3);
        c.retain(&|d| d != 1 && d != 3).unwrap();
        assert_eq!((c.windows, c.bytes()), (8 + 5, 17));
        let mut seen = Vec::new();
        c.segments(100)
            .for_each(&mut |s| {
                seen.extend(s.start..s.start + s.windows);
                Ok(Flow::Continue)
            })
            .unwrap();
        // Document 2 keeps its positions (16..23) though document 1 is out.
        assert_eq!(seen, (0..8).chain(16..21).collect::<Vec<u64>>());
    }

    #[test]
    fn doc_index_locates_positions_across_blocks() {
        let lens: Vec<usize> = (0..1500).map(|i| i % 7).collect();
        let bodies: Vec<Vec<u8>> = lens.iter().map(|&n| vec![b'a'; n]).collect();
        let docs: Vec<&[u8]> = bodies.iter().map(|b| b.as_slice()).collect();
        let (_d, c) = corpus(&docs, 3);
        let mut ix = c.doc_index().unwrap();
        let mut pos = 0u64;
        let mut expect = Vec::new();
        for (d, &n) in lens.iter().enumerate() {
            for i in 0..n as u64 {
                expect.push((pos + i, d as u64, pos, pos + n as u64));
            }
            pos += n as u64;
        }
        // Sorted, then scattered lookups.
        for &(p, d, s, e) in &expect {
            assert_eq!(ix.locate(p).unwrap(), (d, s, e));
        }
        for &(p, d, s, e) in expect.iter().rev().step_by(37) {
            assert_eq!(ix.locate(p).unwrap(), (d, s, e));
        }
        assert!(ix.locate(pos).is_err());
    }
}
