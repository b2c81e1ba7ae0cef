//! Content-defined partitioning: splits window starts into buckets such that
//! equal windows always share a bucket, and neighbouring windows usually do.
//!
//! A window of `L` bytes goes to the bucket of its *minimizer*: of its
//! `w = L - m + 1` substrings of `m` bytes, the one with the smallest hash
//! (Roberts et al. 2004; the same trick splits k-mers into disk buckets in
//! genome assemblers, e.g. KMC 2). The bucket is a function of the window's
//! bytes alone, so every occurrence of a repeated window lands in the same
//! bucket and buckets can be solved independently, in memory, in parallel.
//! Consecutive windows share their minimizer until it slides out, so a
//! bucket receives *runs* of consecutive windows, each stored once with the
//! `L - 1` bytes that complete its last window: with random minimizers a run
//! lasts about `(w + 1) / 2` windows, and the stored text is about
//! `1 + 2 (L + 15) / (w + 1)` times the corpus (the 15: a 16-byte header per
//! run), 3.7x for `L = 100`.
//!
//! A bucket can be too big for the budget: a frequent `m`-gram that happens
//! to hash low, or many copies of the same text. The caller then partitions
//! the bucket again with another seed (new minimizers break up the first
//! kind) after collapsing identical runs (which removes the second kind).
//!
//! All buckets of one partition are written into one anonymous *spill file*
//! in chunks (one buffer per bucket, appended when full), so a partition
//! costs one file descriptor however wide it is.

use std::io::Read;
use std::sync::Arc;

use rayon::prelude::*;

use crate::config::{check_cancel, Phase, Progress};
use crate::corpus::{usize_of, Flow, Segment, SegmentSource, Visit};
use crate::error::Result;
use crate::store::{Scratch, TempFile, TempWriter};

/// Longest substring whose hash picks the bucket.
const MAX_M: usize = 16;
/// Size of a segment record's header: start and window count.
pub(crate) const HEADER: u64 = 16;

/// How windows are assigned to buckets.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Partitioner {
    l: usize,
    m: usize,
    w: usize,
    seed: u64,
    fanout: u32,
    /// Keep the first `m` bytes of 16 loaded ones.
    masks: (u64, u64),
}

impl Partitioner {
    /// `fanout` buckets for windows of `min_len` bytes; `level` picks the
    /// hash seed, so that a bucket partitioned again splits differently.
    pub(crate) fn new(min_len: usize, level: u32, fanout: u32) -> Partitioner {
        let m = (min_len / 4).clamp(1, MAX_M);
        let seed =
            mix(0x6e65_6172_6475_7000 ^ u64::from(level).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mask = |bytes: usize| if bytes >= 8 { u64::MAX } else { (1u64 << (8 * bytes)) - 1 };
        let masks = (mask(m), mask(m.saturating_sub(8)));
        Partitioner { l: min_len, m, w: min_len - m + 1, seed, fanout: fanout.max(1), masks }
    }

    /// Expected bytes written per byte of input (see the module docs).
    pub(crate) fn blowup(min_len: usize) -> f64 {
        let m = (min_len / 4).clamp(1, MAX_M);
        let w = (min_len - m + 1) as f64;
        1.0 + 2.0 * (min_len as f64 - 1.0 + HEADER as f64) / (w + 1.0)
    }

    fn mmer_hash(&self, text: &[u8], j: usize) -> u64 {
        // Two unaligned loads, masked to `m` bytes; near the end of the text,
        // a copy. (A copy of `m` bytes every time cost a `memcpy` call per
        // byte: a third of the partition time.)
        let (lo, hi) = match text.get(j..j + MAX_M) {
            Some(w) => (
                u64::from_le_bytes(w[..8].try_into().expect("8 bytes")),
                u64::from_le_bytes(w[8..].try_into().expect("8 bytes")),
            ),
            None => {
                let mut b = [0u8; MAX_M];
                b[..self.m].copy_from_slice(&text[j..j + self.m]);
                (
                    u64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
                    u64::from_le_bytes(b[8..].try_into().expect("8 bytes")),
                )
            }
        };
        let (lo, hi) = (lo & self.masks.0, hi & self.masks.1);
        mix(lo ^ self.seed) ^ mix(hi ^ self.seed.rotate_left(29) ^ 0x5851_f42d_4c95_7f2d)
    }

    fn bucket_of(&self, min_hash: u64) -> u32 {
        // Minimum hashes are small, so mix again before the range reduction.
        let h = mix(min_hash ^ self.seed.rotate_left(17));
        ((u128::from(h) * u128::from(self.fanout)) >> 64) as u32
    }

    /// Splits a segment's windows into runs `(bucket, first, count)` of
    /// consecutive windows with the same bucket. `ring` is scratch space.
    pub(crate) fn runs(&self, seg: Segment<'_>, ring: &mut Vec<u64>, out: &mut Vec<Run>) {
        let windows = usize_of(seg.windows);
        let text = seg.text;
        let w = self.w;
        debug_assert_eq!(text.len(), windows + self.l - 1);
        ring.clear();
        ring.resize(w, 0);
        let mut current: Option<Run> = None;
        let (mut min_h, mut min_j) = (u64::MAX, 0usize);
        let (mut last_min, mut last_bucket) = (u64::MAX, 0u32);
        let mut r = 0; // ring slot of m-gram j
                       // Window s covers m-grams s ..= s + w - 1. The minimum is kept, and
                       // the ring rescanned only when it slides out: about 2 / (w + 1) of
                       // the time for random hashes, so O(1) per byte, with no deque.
        for j in 0..windows + w - 1 {
            let h = self.mmer_hash(text, j);
            ring[r] = h;
            if h <= min_h {
                (min_h, min_j) = (h, j);
            } else if min_j + w <= j {
                // Oldest first, `<=` keeps the rightmost minimum (it lives
                // longest).
                min_h = u64::MAX;
                let first = j + 1 - w;
                for (k, &v) in ring[r + 1..].iter().chain(&ring[..=r]).enumerate() {
                    if v <= min_h {
                        (min_h, min_j) = (v, first + k);
                    }
                }
            }
            r += 1;
            if r == w {
                r = 0;
            }
            if j + 1 < w {
                continue;
            }
            let s = j + 1 - w;
            if min_h != last_min {
                (last_min, last_bucket) = (min_h, self.bucket_of(min_h));
            }
            let bucket = last_bucket;
            match current.as_mut() {
                Some(run) if run.bucket == bucket => run.count += 1,
                _ => {
                    if let Some(run) = current.take() {
                        out.push(run);
                    }
                    current = Some(Run { bucket, first: s, count: 1 });
                }
            }
        }
        if let Some(run) = current {
            out.push(run);
        }
    }

    /// Writes every window of `source` to its bucket.
    pub(crate) fn split(
        &self,
        source: &dyn SegmentSource,
        scratch: &Scratch,
        buffer: usize,
        batch_bytes: usize,
        progress: Option<&dyn Progress>,
    ) -> Result<Vec<BucketFile>> {
        let mut spill = Spill::new(scratch, self.fanout, buffer, self.l as u64)?;
        let mut batch = Batch::default();
        let flush = |batch: &mut Batch, spill: &mut Spill| -> Result<()> {
            let runs: Vec<Vec<Run>> = batch
                .segs
                .par_iter()
                .map_init(
                    || Vec::with_capacity(self.w),
                    |ring, &(start, windows, a, b)| {
                        let mut out = Vec::new();
                        self.runs(
                            Segment { start, windows, text: &batch.text[a..b] },
                            ring,
                            &mut out,
                        );
                        out
                    },
                )
                .collect();
            for (&(start, _, a, b), runs) in batch.segs.iter().zip(&runs) {
                let text = &batch.text[a..b];
                for r in runs {
                    let piece = &text[r.first..r.first + r.count + self.l - 1];
                    spill.push(r.bucket, start + r.first as u64, r.count as u64, piece)?;
                }
            }
            if let Some(p) = progress {
                p.advance(Phase::Partition, batch.text.len() as u64);
                check_cancel(p)?;
            }
            batch.segs.clear();
            batch.text.clear();
            Ok(())
        };
        source.for_each(&mut |seg| {
            let a = batch.text.len();
            batch.text.extend_from_slice(seg.text);
            batch.segs.push((seg.start, seg.windows, a, batch.text.len()));
            if batch.text.len() >= batch_bytes {
                flush(&mut batch, &mut spill)?;
            }
            Ok(Flow::Continue)
        })?;
        flush(&mut batch, &mut spill)?;
        spill.finish()
    }
}

/// Consecutive windows of a segment that share a bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Run {
    pub(crate) bucket: u32,
    /// Index of the first window in the segment.
    pub(crate) first: usize,
    pub(crate) count: usize,
}

#[derive(Default)]
struct Batch {
    text: Vec<u8>,
    /// (start, windows, text range)
    segs: Vec<(u64, u64, usize, usize)>,
}

/// Buckets being written into one spill file.
struct Spill {
    out: TempWriter,
    buffers: Vec<Vec<u8>>,
    buckets: Vec<BucketMeta>,
    buffer: usize,
    min_len: u64,
}

#[derive(Clone, Default)]
struct BucketMeta {
    chunks: Vec<(u64, u64)>,
    bytes: u64,
    segments: u64,
}

impl Spill {
    fn new(scratch: &Scratch, fanout: u32, buffer: usize, min_len: u64) -> Result<Spill> {
        Ok(Spill {
            out: scratch.file()?.writer(1 << 16),
            buffers: vec![Vec::new(); fanout as usize],
            buckets: vec![BucketMeta::default(); fanout as usize],
            buffer: buffer.max(256),
            min_len,
        })
    }

    fn push(&mut self, bucket: u32, start: u64, windows: u64, text: &[u8]) -> Result<()> {
        let b = bucket as usize;
        let buf = &mut self.buffers[b];
        buf.extend_from_slice(&start.to_le_bytes());
        buf.extend_from_slice(&windows.to_le_bytes());
        buf.extend_from_slice(text);
        let meta = &mut self.buckets[b];
        meta.bytes += text.len() as u64;
        meta.segments += 1;
        if buf.len() >= self.buffer {
            self.spill(b)?;
        }
        Ok(())
    }

    fn spill(&mut self, b: usize) -> Result<()> {
        let buf = &mut self.buffers[b];
        if !buf.is_empty() {
            let at = self.out.len();
            self.out.write_all(buf)?;
            self.buckets[b].chunks.push((at, buf.len() as u64));
            buf.clear();
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<BucketFile>> {
        for b in 0..self.buffers.len() {
            self.spill(b)?;
        }
        let file = Arc::new(self.out.finish()?);
        Ok(self
            .buckets
            .into_iter()
            .filter(|m| m.segments > 0)
            .map(|m| BucketFile {
                file: Arc::clone(&file),
                chunks: m.chunks,
                bytes: m.bytes,
                segments: m.segments,
                min_len: self.min_len,
            })
            .collect())
    }
}

/// One bucket of a partition: segments in position order, in chunks of a
/// shared spill file.
#[derive(Debug)]
pub(crate) struct BucketFile {
    file: Arc<TempFile>,
    chunks: Vec<(u64, u64)>,
    bytes: u64,
    segments: u64,
    min_len: u64,
}

impl BucketFile {
    pub(crate) fn segments(&self) -> u64 {
        self.segments
    }
}

impl SegmentSource for BucketFile {
    fn bytes(&self) -> u64 {
        self.bytes
    }

    fn for_each(&self, f: &mut Visit<'_>) -> Result<()> {
        let scratch = self.file.scratch();
        let mut reader =
            ChunkReader { file: &self.file, chunks: &self.chunks, next: 0, buf: Vec::new(), at: 0 };
        let mut text = Vec::new();
        for _ in 0..self.segments {
            let mut head = [0u8; HEADER as usize];
            reader.read_exact(&mut head).map_err(|e| scratch.err("read", e))?;
            let start = u64::from_le_bytes(head[..8].try_into().expect("8 bytes"));
            let windows = u64::from_le_bytes(head[8..].try_into().expect("8 bytes"));
            if windows == 0 {
                return Err(scratch.corrupt("a bucket holds an empty segment"));
            }
            text.resize(usize_of(windows + self.min_len - 1), 0);
            reader.read_exact(&mut text).map_err(|e| scratch.err("read", e))?;
            if f(Segment { start, windows, text: &text })? == Flow::Stop {
                break;
            }
        }
        Ok(())
    }
}

/// Reads a bucket's chunks back to back.
struct ChunkReader<'a> {
    file: &'a TempFile,
    chunks: &'a [(u64, u64)],
    next: usize,
    buf: Vec<u8>,
    at: usize,
}

impl Read for ChunkReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.buf.len() {
            let Some(&(offset, len)) = self.chunks.get(self.next) else {
                return Ok(0);
            };
            self.next += 1;
            self.buf.resize(usize_of(len), 0);
            self.file.read_exact_at(&mut self.buf, offset).map_err(std::io::Error::other)?;
            self.at = 0;
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A fast 64-bit mixer (the finalizer of MurmurHash3).
pub(crate) fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Vecs(Vec<(u64, Vec<u8>)>, u64);

    impl SegmentSource for Vecs {
        fn bytes(&self) -> u64 {
            self.0.iter().map(|s| s.1.len() as u64).sum()
        }
        fn for_each(&self, f: &mut Visit<'_>) -> Result<()> {
            for (start, t) in &self.0 {
                if f(Segment { start: *start, windows: t.len() as u64 + 1 - self.1, text: t })?
                    == Flow::Stop
                {
                    break;
                }
            }
            Ok(())
        }
    }

    fn text(n: usize, seed: u64) -> Vec<u8> {
        (0..n as u64).map(|i| b'a' + (mix(i ^ seed) % 3) as u8).collect()
    }

    #[test]
    fn equal_windows_share_a_bucket_and_runs_tile_the_segment() {
        for l in [1usize, 2, 5, 9, 40] {
            let p = Partitioner::new(l, 3, 7);
            let t = text(500, l as u64);
            let windows = t.len() + 1 - l;
            let mut out = Vec::new();
            p.runs(
                Segment { start: 0, windows: windows as u64, text: &t },
                &mut Vec::new(),
                &mut out,
            );
            let mut bucket = vec![u32::MAX; windows];
            let mut next = 0;
            for r in &out {
                assert_eq!(r.first, next);
                assert!(r.count > 0 && r.bucket < 7);
                bucket[r.first..r.first + r.count].fill(r.bucket);
                next += r.count;
            }
            assert_eq!(next, windows);
            for a in 0..windows {
                for b in 0..windows {
                    if t[a..a + l] == t[b..b + l] {
                        assert_eq!(bucket[a], bucket[b], "l={l} a={a} b={b}");
                    }
                }
            }
        }
    }

    #[test]
    fn split_round_trips_every_window() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = Scratch::new(dir.path()).unwrap();
        let l = 6u64;
        let src = Vecs(vec![(0, text(300, 1)), (400, text(50, 2)), (1000, text(6, 3))], l);
        let p = Partitioner::new(l as usize, 0, 5);
        let buckets = p.split(&src, &scratch, 100, 64, None).unwrap();
        let mut got = Vec::new();
        for b in &buckets {
            let mut last = None;
            b.for_each(&mut |s| {
                assert!(last < Some(s.start), "segments in position order");
                last = Some(s.start);
                for i in 0..s.windows as usize {
                    got.push((s.start + i as u64, s.text[i..i + l as usize].to_vec()));
                }
                Ok(Flow::Continue)
            })
            .unwrap();
        }
        got.sort();
        let mut want = Vec::new();
        src.for_each(&mut |s| {
            for i in 0..s.windows as usize {
                want.push((s.start + i as u64, s.text[i..i + l as usize].to_vec()));
            }
            Ok(Flow::Continue)
        })
        .unwrap();
        assert_eq!(got, want);
    }
}
