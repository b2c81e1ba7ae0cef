//! Collects the spans of all buckets and gives them back sorted by start.
//!
//! Buckets finish in any order (they run in parallel) and each holds windows
//! from all over the corpus, so their spans must be sorted before they can be
//! merged per document. They are: in memory while they fit their share of the
//! budget, otherwise as an external merge sort (sorted runs of 24-byte records
//! spilled to anonymous files, merged at most [`FAN_IN`] at a time). Starts
//! are unique (every window start lives in one bucket), so the order, and
//! hence the output, does not depend on which bucket finished first.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::bucket::RawSpan;
use crate::corpus::usize_of;
use crate::error::Result;
use crate::store::{Scratch, TempFile};

const RECORD: usize = 24;
/// Runs merged at once.
const FAN_IN: usize = 64;

/// Accumulates spans; sorted runs spill to disk beyond `cap` spans.
pub(crate) struct SpanSink {
    buf: Vec<RawSpan>,
    cap: usize,
    runs: Vec<TempFile>,
    scratch: Scratch,
    io_buffer: usize,
    total: u64,
}

impl SpanSink {
    /// A sink using about `memory` bytes.
    pub(crate) fn new(scratch: &Scratch, memory: usize) -> SpanSink {
        let cap = (memory / 2 / std::mem::size_of::<RawSpan>()).max(64);
        SpanSink {
            buf: Vec::new(),
            cap,
            runs: Vec::new(),
            scratch: scratch.clone(),
            io_buffer: (memory / 2 / (FAN_IN + 1)).clamp(RECORD * 16, 1 << 20),
            total: 0,
        }
    }

    pub(crate) fn extend(&mut self, spans: Vec<RawSpan>) -> Result<()> {
        self.total += spans.len() as u64;
        for s in spans {
            self.buf.push(s);
            if self.buf.len() >= self.cap {
                self.spill()?;
            }
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<()> {
        self.buf.sort_unstable();
        let mut w = self.scratch.file()?.writer(self.io_buffer);
        for s in self.buf.drain(..) {
            w.write_all(&encode(s))?;
        }
        self.runs.push(w.finish()?);
        Ok(())
    }

    /// All spans, sorted.
    pub(crate) fn sorted(mut self) -> Result<Sorted> {
        if self.runs.is_empty() {
            self.buf.sort_unstable();
            return Ok(Sorted::Memory(self.buf.into_iter()));
        }
        if !self.buf.is_empty() {
            self.spill()?;
        }
        let mut runs = std::mem::take(&mut self.runs);
        while runs.len() > FAN_IN {
            let rest = runs.split_off(FAN_IN);
            let mut merge = Merge::new(runs, self.io_buffer)?;
            let mut w = self.scratch.file()?.writer(self.io_buffer);
            while let Some(s) = merge.next()? {
                w.write_all(&encode(s))?;
            }
            runs = rest;
            runs.push(w.finish()?);
        }
        Ok(Sorted::Merge(Merge::new(runs, self.io_buffer)?))
    }
}

fn encode(s: RawSpan) -> [u8; RECORD] {
    let mut b = [0u8; RECORD];
    b[..8].copy_from_slice(&s.start.to_le_bytes());
    b[8..16].copy_from_slice(&s.end.to_le_bytes());
    b[16..].copy_from_slice(&s.source.to_le_bytes());
    b
}

fn decode(b: &[u8]) -> RawSpan {
    let u = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    RawSpan { start: u(0), end: u(8), source: u(16) }
}

/// Spans in start order.
pub(crate) enum Sorted {
    Memory(std::vec::IntoIter<RawSpan>),
    Merge(Merge),
}

impl Sorted {
    pub(crate) fn next(&mut self) -> Result<Option<RawSpan>> {
        match self {
            Sorted::Memory(it) => Ok(it.next()),
            Sorted::Merge(m) => m.next(),
        }
    }
}

/// A k-way merge of sorted runs.
pub(crate) struct Merge {
    runs: Vec<Run>,
    heap: BinaryHeap<Reverse<(RawSpan, usize)>>,
}

impl Merge {
    fn new(files: Vec<TempFile>, buffer: usize) -> Result<Merge> {
        let mut runs: Vec<Run> = files.into_iter().map(|f| Run::new(f, buffer)).collect();
        let mut heap = BinaryHeap::with_capacity(runs.len());
        for (i, r) in runs.iter_mut().enumerate() {
            if let Some(s) = r.next()? {
                heap.push(Reverse((s, i)));
            }
        }
        Ok(Merge { runs, heap })
    }

    fn next(&mut self) -> Result<Option<RawSpan>> {
        let Some(Reverse((s, i))) = self.heap.pop() else {
            return Ok(None);
        };
        if let Some(t) = self.runs[i].next()? {
            self.heap.push(Reverse((t, i)));
        }
        Ok(Some(s))
    }
}

/// Reads one run in blocks.
struct Run {
    file: TempFile,
    pos: u64,
    buf: Vec<u8>,
    at: usize,
    block: usize,
}

impl Run {
    fn new(file: TempFile, buffer: usize) -> Run {
        Run { file, pos: 0, buf: Vec::new(), at: 0, block: (buffer / RECORD).max(16) * RECORD }
    }

    fn next(&mut self) -> Result<Option<RawSpan>> {
        if self.at == self.buf.len() {
            let left = self.file.len() - self.pos;
            if left == 0 {
                return Ok(None);
            }
            let n = usize_of(left).min(self.block);
            if !n.is_multiple_of(RECORD) {
                return Err(self.file.scratch().corrupt("a span run has a partial record"));
            }
            self.buf.resize(n, 0);
            self.file.read_exact_at(&mut self.buf, self.pos)?;
            self.pos += n as u64;
            self.at = 0;
        }
        let s = decode(&self.buf[self.at..self.at + RECORD]);
        self.at += RECORD;
        Ok(Some(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(mut s: Sorted) -> Vec<RawSpan> {
        let mut v = Vec::new();
        while let Some(x) = s.next().unwrap() {
            v.push(x);
        }
        v
    }

    #[test]
    fn spilled_and_in_memory_sorts_agree() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = Scratch::new(dir.path()).unwrap();
        let spans: Vec<RawSpan> = (0..10_000u64)
            .map(|i| {
                let s = crate::partition::mix(i) % 1_000_000_007;
                RawSpan { start: s, end: s + 5, source: i }
            })
            .collect();
        let mut want = spans.clone();
        want.sort();
        for memory in [1 << 30, 3000, 100] {
            let mut sink = SpanSink::new(&scratch, memory);
            for chunk in spans.chunks(777) {
                sink.extend(chunk.to_vec()).unwrap();
            }
            assert_eq!(drain(sink.sorted().unwrap()), want, "memory {memory}");
        }
        assert_eq!(fs_err::read_dir(dir.path()).unwrap().count(), 0);
    }
}
