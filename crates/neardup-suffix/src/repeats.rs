//! The answer: cuts per document, and how they are made from raw spans.
//!
//! Raw spans (sorted by start) are merged into maximal cut spans per
//! document (touching spans merge: the cut set is a set of bytes), each is
//! shrunk inward to UTF-8 character boundaries, optionally filtered by token
//! count, mapped to `(doc, offset)`, and written as a 32-byte record to an
//! anonymous file that [`Repeats`] reads back in document order. Holding the
//! cuts on disk keeps memory flat however many there are.
//!
//! # Boundaries
//!
//! A cut `[a, b)` found on bytes may start or end inside a multi-byte
//! character (two texts can share the tail bytes of different characters).
//! It is shrunk to `[a', b')`, `a'` the first boundary at or after `a`, `b'`
//! the last at or before `b`: at most 3 bytes off each end. The shrunk cut
//! is kept even if it is now shorter than `min_len`: every byte of it still
//! lies in a repeated window of `min_len` bytes, which is the definition, and
//! dropping it would leave most of a repeat in the text. Only a cut that
//! shrinks to nothing is dropped ([`Stats::dropped_at_boundaries`]). So the
//! cut set is always a subset of the byte-level cut set, and what is left of
//! a document, like each cut, is valid UTF-8.

use crate::bucket::RawSpan;
use crate::config::{Config, Mode};
use crate::corpus::{usize_of, Corpus, DocIndex};
use crate::error::Result;
use crate::spans::Sorted;
use crate::store::{Scratch, TempFile, TempWriter};

const RECORD: usize = 32;

/// One span of a document to remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cut {
    /// Byte offset in the document's canonical text (a char boundary).
    pub start: usize,
    /// Length in bytes (ends on a char boundary).
    pub len: usize,
    /// Document of another occurrence of the cut's first bytes: in
    /// [`Mode::Later`] the earliest occurrence in the corpus, always earlier
    /// than the cut; in [`Mode::All`] the earliest occurrence other than the
    /// cut itself.
    pub first_doc: u32,
    /// Byte offset of that occurrence in `first_doc`. Precisely: the window
    /// of `min_len` bytes at the cut's start before boundary shrinking, `s`,
    /// occurs at `o` in `first_doc`; `first_offset = o + (start - s)`, so the
    /// bytes from `start` up to `s + min_len` equal those from
    /// `first_offset`.
    pub first_offset: usize,
}

impl Cut {
    /// Offset one past the cut's last byte.
    pub fn end(&self) -> usize {
        self.start + self.len
    }
}

/// The cuts of one document, sorted by start, disjoint and not touching.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocCuts {
    /// Document index, as returned by [`crate::CorpusWriter::add`].
    pub doc: u32,
    /// Its cuts.
    pub cuts: Vec<Cut>,
}

/// Counts from a run. The first group is part of the answer; the last group
/// (buckets, depth, ...) describes how it was computed and changes with the
/// memory budget and thread count.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Documents in the corpus.
    pub docs: u64,
    /// Bytes of canonical text.
    pub bytes: u64,
    /// Window starts (positions where `min_len` bytes of one document start).
    pub windows: u64,
    /// Cuts reported.
    pub cuts: u64,
    /// Bytes in those cuts.
    pub cut_bytes: u64,
    /// Documents with at least one cut.
    pub docs_with_cuts: u64,
    /// Spans that shrank to nothing at UTF-8 boundaries.
    pub dropped_at_boundaries: u64,
    /// Cuts dropped by [`Config::min_tokens`].
    pub dropped_by_tokens: u64,
    /// Buckets solved in memory (1 when the corpus fits the budget).
    pub buckets: u64,
    /// Deepest partition level used (0: none).
    pub depth: u32,
    /// Buckets solved over budget after [`crate::MAX_DEPTH`] partitions.
    pub over_budget: u64,
    /// Segments collapsed as exact copies of earlier ones.
    pub collapsed: u64,
    /// Bytes written to partition files.
    pub partitioned_bytes: u64,
}

/// Repeated spans of a corpus, per document, read back from a temporary
/// file in document order. Dropping it frees the file.
#[derive(Debug)]
pub struct Repeats {
    file: Option<TempFile>,
    stats: Stats,
    min_len: usize,
    mode: Mode,
}

impl Repeats {
    /// Counts from the run.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The `min_len` the cuts were found with.
    pub fn min_len(&self) -> usize {
        self.min_len
    }

    /// The mode the cuts were found with.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Number of documents with at least one cut.
    pub fn docs_with_cuts(&self) -> u64 {
        self.stats.docs_with_cuts
    }

    /// The cuts of one document (empty if none), by binary search in the
    /// cut file: `O(log cuts)` small reads, no index in memory. To walk all
    /// documents in order, [`Repeats::cursor`] or [`Repeats::iter`] are
    /// cheaper.
    pub fn doc_cuts(&self, doc: u32) -> Result<Vec<Cut>> {
        let Some(file) = self.file.as_ref() else { return Ok(Vec::new()) };
        let n = file.len() / RECORD as u64;
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if read_record(file, mid)?.0 < doc {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let mut cuts = Vec::new();
        let mut i = lo;
        while i < n {
            let (d, cut) = read_record(file, i)?;
            if d != doc {
                break;
            }
            cuts.push(cut);
            i += 1;
        }
        Ok(cuts)
    }

    /// Documents with cuts, in document order.
    pub fn iter(&self) -> Iter<'_> {
        Iter { file: self.file.as_ref(), pos: 0, buf: Vec::new(), at: 0, pending: None }
    }

    /// A cursor answering "cuts of document `d`" for non-decreasing `d`, for
    /// a writer that walks the corpus in order.
    pub fn cursor(&self) -> Cursor<'_> {
        Cursor {
            iter: self.iter(),
            next: None,
            current: DocCuts { doc: 0, cuts: Vec::new() },
            last: None,
        }
    }
}

/// Reads record `i` of the cut file.
fn read_record(file: &TempFile, i: u64) -> Result<(u32, Cut)> {
    let mut r = [0u8; RECORD];
    file.read_exact_at(&mut r, i * RECORD as u64)?;
    Ok(decode(&r))
}

/// A cut record: doc `u32`, start `u64`, len `u64`, first doc `u32`, first
/// offset `u64`, little-endian.
fn decode(r: &[u8]) -> (u32, Cut) {
    let u32_at = |i: usize| u32::from_le_bytes(r[i..i + 4].try_into().expect("4 bytes"));
    let u64_at = |i: usize| u64::from_le_bytes(r[i..i + 8].try_into().expect("8 bytes"));
    let cut = Cut {
        start: usize_of(u64_at(4)),
        len: usize_of(u64_at(12)),
        first_doc: u32_at(20),
        first_offset: usize_of(u64_at(24)),
    };
    (u32_at(0), cut)
}

/// Iterator over [`DocCuts`] in document order; see [`Repeats::iter`].
pub struct Iter<'a> {
    file: Option<&'a TempFile>,
    pos: u64,
    buf: Vec<u8>,
    at: usize,
    pending: Option<(u32, Cut)>,
}

impl Iter<'_> {
    fn record(&mut self) -> Result<Option<(u32, Cut)>> {
        let Some(file) = self.file else { return Ok(None) };
        if self.at == self.buf.len() {
            let left = file.len() - self.pos;
            if left == 0 {
                return Ok(None);
            }
            let n = usize_of(left).min(RECORD * 4096);
            if !n.is_multiple_of(RECORD) {
                return Err(file.scratch().corrupt("the cut file has a partial record"));
            }
            self.buf.resize(n, 0);
            file.read_exact_at(&mut self.buf, self.pos)?;
            self.pos += n as u64;
            self.at = 0;
        }
        let r = decode(&self.buf[self.at..self.at + RECORD]);
        self.at += RECORD;
        Ok(Some(r))
    }

    fn next_doc(&mut self) -> Result<Option<DocCuts>> {
        let first = match self.pending.take() {
            Some(r) => r,
            None => match self.record()? {
                Some(r) => r,
                None => return Ok(None),
            },
        };
        let mut out = DocCuts { doc: first.0, cuts: vec![first.1] };
        while let Some((doc, cut)) = self.record()? {
            if doc != out.doc {
                self.pending = Some((doc, cut));
                break;
            }
            out.cuts.push(cut);
        }
        Ok(Some(out))
    }
}

impl Iterator for Iter<'_> {
    type Item = Result<DocCuts>;

    fn next(&mut self) -> Option<Result<DocCuts>> {
        self.next_doc().transpose()
    }
}

/// Looks up cuts by document, in non-decreasing document order; see
/// [`Repeats::cursor`].
pub struct Cursor<'a> {
    iter: Iter<'a>,
    next: Option<DocCuts>,
    current: DocCuts,
    last: Option<u32>,
}

impl Cursor<'_> {
    /// The cuts of `doc` (empty if none). `doc` must not be smaller than in
    /// the previous call; a smaller one gets no cuts.
    pub fn cuts(&mut self, doc: u32) -> Result<&[Cut]> {
        if self.last.is_some_and(|l| doc < l) {
            return Ok(&[]);
        }
        self.last = Some(doc);
        loop {
            if self.next.is_none() {
                match self.iter.next_doc()? {
                    Some(d) => self.next = Some(d),
                    None => return Ok(&[]),
                }
            }
            let next_doc = self.next.as_ref().map_or(u32::MAX, |d| d.doc);
            if next_doc < doc {
                self.next = None;
            } else if next_doc == doc {
                if let Some(d) = self.next.take() {
                    self.current = d;
                }
                return Ok(&self.current.cuts);
            } else {
                return Ok(&[]);
            }
        }
    }
}

/// Merges sorted raw spans into the final cuts.
pub(crate) fn emit(
    corpus: &Corpus,
    spans: &mut Sorted,
    cfg: &Config,
    scratch: &Scratch,
    mut stats: Stats,
) -> Result<Repeats> {
    let mut out = Emitter {
        corpus,
        cfg,
        docs: corpus.doc_index()?,
        sources: corpus.doc_index()?,
        w: scratch.file()?.writer(1 << 16),
        stats: &mut stats,
        last_doc: None,
        buf: Vec::new(),
    };
    // The open span: (doc, doc start, doc end, raw span).
    let mut open: Option<(u64, u64, u64, RawSpan)> = None;
    while let Some(s) = spans.next()? {
        let (doc, ds, de) = match open {
            Some((d, ds, de, _)) if s.start >= ds && s.start < de => (d, ds, de),
            _ => out.docs.locate(s.start)?,
        };
        match open.as_mut() {
            Some((d, _, _, cur)) if *d == doc && s.start <= cur.end => cur.end = cur.end.max(s.end),
            _ => {
                if let Some(o) = open.take() {
                    out.cut(o)?;
                }
                open = Some((doc, ds, de, s));
            }
        }
    }
    if let Some(o) = open.take() {
        out.cut(o)?;
    }
    let file = out.w.finish()?;
    Ok(Repeats {
        file: (file.len() > 0).then_some(file),
        stats,
        min_len: cfg.min_len,
        mode: cfg.mode,
    })
}

struct Emitter<'a> {
    corpus: &'a Corpus,
    cfg: &'a Config,
    docs: DocIndex<'a>,
    sources: DocIndex<'a>,
    w: TempWriter,
    stats: &'a mut Stats,
    last_doc: Option<u64>,
    buf: Vec<u8>,
}

fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

impl Emitter<'_> {
    fn read(&mut self, a: u64, b: u64) -> Result<&[u8]> {
        self.buf.resize(usize_of(b - a), 0);
        self.corpus.text.read_exact_at(&mut self.buf, a)?;
        Ok(&self.buf)
    }

    fn cut(&mut self, (doc, ds, de, s): (u64, u64, u64, RawSpan)) -> Result<()> {
        // Shrink the start forward past continuation bytes...
        let head_end = s.end.min(s.start + 4);
        let skip =
            self.read(s.start, head_end)?.iter().take_while(|&&b| is_continuation(b)).count();
        let a = s.start + skip as u64;
        // ...and the end back while it points at one.
        let mut b = s.end;
        if a < b && b < de {
            let lo = a.max(b.saturating_sub(4));
            let bytes = self.read(lo, b + 1)?;
            let mut i = bytes.len() - 1;
            while i > 0 && is_continuation(bytes[i]) {
                i -= 1;
            }
            if is_continuation(bytes[i]) {
                // Only continuation bytes back to `a`: nothing is left.
                b = a;
            } else {
                b = lo + i as u64;
            }
        }
        if a >= b {
            self.stats.dropped_at_boundaries += 1;
            return Ok(());
        }
        if self.cfg.min_tokens > 0 {
            let text = self.read(a, b)?;
            let tokens = String::from_utf8_lossy(text).split_whitespace().count();
            if tokens < self.cfg.min_tokens {
                self.stats.dropped_by_tokens += 1;
                return Ok(());
            }
        }
        let (sdoc, sstart, _) = self.sources.locate(s.source)?;
        let first_offset = s.source - sstart + (a - s.start);
        let mut rec = [0u8; RECORD];
        rec[..4]
            .copy_from_slice(&u32::try_from(doc).expect("document indexes fit u32").to_le_bytes());
        rec[4..12].copy_from_slice(&(a - ds).to_le_bytes());
        rec[12..20].copy_from_slice(&(b - a).to_le_bytes());
        rec[20..24]
            .copy_from_slice(&u32::try_from(sdoc).expect("document indexes fit u32").to_le_bytes());
        rec[24..].copy_from_slice(&first_offset.to_le_bytes());
        self.w.write_all(&rec)?;
        self.stats.cuts += 1;
        self.stats.cut_bytes += b - a;
        if self.last_doc != Some(doc) {
            self.stats.docs_with_cuts += 1;
            self.last_doc = Some(doc);
        }
        Ok(())
    }
}
