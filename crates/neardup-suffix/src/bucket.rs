//! Solves one bucket in memory: every window of the bucket is given its
//! *class* (the set of positions holding the same `L` bytes) with a suffix
//! array, and the marked windows become spans.
//!
//! Steps, for a bucket whose text (its segments back to back) has `n` bytes:
//!
//! 1. **Load, collapsing copies.** A segment whose text equals an earlier
//!    one (xxh3 hash, then a byte comparison) is not stored: it becomes an
//!    *alias* of the earlier *keeper*. Its windows are the keeper's, shifted.
//!    Exact duplicate documents (a third of the small corpus) cost nothing
//!    more than a hash.
//! 2. **Suffix array** of the text with libsais (`4n` bytes, `8n` past 2 GiB),
//!    then compacted in place to *valid* suffixes, those starting a window of
//!    a segment (the last `L - 1` bytes of a segment only complete windows).
//! 3. **Classes.** Equal windows are adjacent in suffix order, so one scan
//!    comparing each valid suffix's first `L` bytes with its class's first
//!    finds every class. For a class with members `K` (kept positions):
//!    `m1 = min K`; in [`Mode::Later`] every member but `m1` is marked, in
//!    [`Mode::All`] every member is, if the class has two or more
//!    occurrences counting aliases. Aliases have larger positions than their
//!    keepers, which makes them all marked in either mode.
//! 4. **Spans.** Per segment, marked window starts `s` give the union of
//!    `[s, s + L)`; each span needs a *source*, the earliest other occurrence
//!    of its first window: `m1`, or for `m1` itself (only in `All`) the
//!    second occurrence `m2 = min(second smallest of K, first alias of m1)`
//!    (an alias of any other member is larger than that member, so it cannot
//!    be second). A second scan of the classes that hold a span start fills
//!    those in.
//!
//! Memory: `n` (text) + `4n` (suffix array) + `3n/8` (valid, marked and
//! need-source bitmaps) + `n/8` (class starts) ≈ `5.5n` bytes, plus 64 bytes
//! per segment. Time: libsais's linear construction, plus the class scan,
//! which compares at most `L` bytes per suffix. Both scans run on `threads`
//! threads over slices of the suffix array cut at class boundaries; bits are
//! set atomically and results sorted, so the output does not depend on it.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use libsais::{SuffixArrayConstruction, ThreadCount};
use rayon::prelude::*;

use crate::bits::{AtomicBits, Bits};
use crate::config::{Mode, Phase, Progress};
use crate::corpus::{usize_of, Flow, SegmentSource};
use crate::error::{Error, Result};

/// A span of marked window starts, in corpus positions: bytes
/// `[start, end)` are cut, and `source` is the earliest other occurrence of
/// the window at `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RawSpan {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) source: u64,
}

/// A segment stored in the bucket text.
#[derive(Clone, Copy, Debug)]
struct Kept {
    /// Offset of its text in the bucket text.
    local: u64,
    /// Corpus position of its first window.
    global: u64,
    windows: u64,
    /// Corpus position of its first alias, or `NONE`.
    first_alias: u64,
}

/// A segment equal to a kept one.
#[derive(Clone, Copy, Debug)]
struct Alias {
    global: u64,
    keeper: u32,
}

const NONE: u64 = u64::MAX;
/// Bookkeeping bytes per segment (the `Kept` entry, the hash map slot).
const PER_SEGMENT: u64 = 64;

/// A bucket in memory.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    text: Vec<u8>,
    kept: Vec<Kept>,
    aliases: Vec<Alias>,
    /// Window starts, aliases included.
    pub(crate) windows: u64,
}

impl Loaded {
    /// Segments dropped as copies of earlier ones.
    pub(crate) fn aliases(&self) -> u64 {
        self.aliases.len() as u64
    }
}

/// Estimated peak memory to solve a bucket of `text` bytes and `segments`
/// segments.
pub(crate) fn cost(text: u64, segments: u64) -> u64 {
    // text + suffix array + 4 bitmaps (valid, marked, need, class starts)
    let per_byte_x2 = if text <= i32::MAX as u64 { 11 } else { 19 };
    text * per_byte_x2 / 2 + segments * PER_SEGMENT
}

/// Reads a bucket, collapsing repeated segments; `None` if it would exceed
/// `budget` bytes (checked as it grows, so a failed attempt stays within it).
pub(crate) fn load(
    source: &dyn SegmentSource,
    min_len: u64,
    budget: Option<u64>,
) -> Result<Option<Loaded>> {
    let mut b = Loaded::default();
    let cap = budget.map_or(source.bytes(), |m| source.bytes().min(m * 2 / 11));
    b.text.reserve(usize_of(cap));
    let mut seen: HashMap<u64, u32, BuildHasherDefault<Prehashed>> = HashMap::default();
    let mut over = false;
    source.for_each(&mut |seg| {
        b.windows += seg.windows;
        let h = xxhash_rust::xxh3::xxh3_64(seg.text);
        if let Some(&k) = seen.get(&h) {
            let keeper = &mut b.kept[k as usize];
            let a = usize_of(keeper.local);
            if b.text.get(a..a + seg.text.len()) == Some(seg.text) && keeper.windows == seg.windows
            {
                if keeper.first_alias == NONE {
                    keeper.first_alias = seg.start;
                }
                b.aliases.push(Alias { global: seg.start, keeper: k });
                return Ok(Flow::Continue);
            }
        }
        let k = u32::try_from(b.kept.len()).expect("fewer than 4 billion segments in one bucket");
        seen.entry(h).or_insert(k);
        b.kept.push(Kept {
            local: b.text.len() as u64,
            global: seg.start,
            windows: seg.windows,
            first_alias: NONE,
        });
        b.text.extend_from_slice(seg.text);
        debug_assert_eq!(seg.text.len() as u64, seg.windows + min_len - 1);
        if let Some(m) = budget {
            let used = cost(b.text.len() as u64, b.kept.len() as u64) + b.aliases.len() as u64 * 16;
            over = used > m;
        }
        Ok(if over { Flow::Stop } else { Flow::Continue })
    })?;
    Ok(if over { None } else { Some(b) })
}

/// The keys are already xxh3 hashes: use them as they are (and keep the map
/// free of a random seed).
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// A suffix array entry, `i32` or `i64` as libsais gives them.
trait Idx: Copy + Send + Sync {
    fn at(self) -> usize;
}

impl Idx for i32 {
    fn at(self) -> usize {
        usize::try_from(self).expect("suffix array entries are non-negative")
    }
}

impl Idx for i64 {
    fn at(self) -> usize {
        usize::try_from(self).expect("suffix array entries are non-negative")
    }
}

/// Finds the marked spans of a loaded bucket. The suffix array is built on
/// `sa_threads` OpenMP threads, the scans run on the current rayon pool cut
/// in `scan_threads` slices.
pub(crate) fn solve(
    b: &Loaded,
    min_len: u64,
    mode: Mode,
    threads: Threads,
    progress: &dyn Progress,
) -> Result<Vec<RawSpan>> {
    let spans = if b.text.is_empty() {
        Vec::new()
    } else if b.text.len() <= i32::MAX as usize {
        solve_text::<i32>(b, min_len, mode, threads, progress)?
    } else {
        solve_text::<i64>(b, min_len, mode, threads, progress)?
    };
    progress.advance(Phase::Find, b.windows);
    Ok(spans)
}

/// Threads for one bucket.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Threads {
    /// OpenMP threads for libsais (1: none).
    pub(crate) sa: usize,
    /// Slices of the class scans, run on the rayon pool.
    pub(crate) scan: usize,
}

fn solve_text<O: Idx + libsais::OutputElement + libsais::IsValidOutputFor<u8>>(
    b: &Loaded,
    min_len: u64,
    mode: Mode,
    threads: Threads,
    progress: &dyn Progress,
) -> Result<Vec<RawSpan>> {
    let mut valid = Bits::new(b.text.len());
    for k in &b.kept {
        valid.set_range(usize_of(k.local), usize_of(k.local + k.windows));
    }
    let mut sa = vec![O::zero(); b.text.len()];
    let c = SuffixArrayConstruction::for_text(b.text.as_slice()).in_borrowed_buffer(&mut sa);
    let r = if threads.sa > 1 {
        let t = ThreadCount::fixed(u16::try_from(threads.sa).unwrap_or(u16::MAX));
        c.multi_threaded(t).run().map(drop)
    } else {
        c.single_threaded().run().map(drop)
    };
    r.map_err(|source| Error::SuffixArray { bytes: b.text.len() as u64, source })?;
    progress.advance(Phase::Build, b.windows);
    // Keep the valid suffixes, in order. Branch-free: about two thirds of a
    // partitioned bucket's suffixes are invalid, in no predictable pattern.
    let mut kept = 0;
    for i in 0..sa.len() {
        let x = sa[i];
        sa[kept] = x;
        kept += usize::from(valid.get(x.at()));
    }
    sa.truncate(kept);
    drop(valid);
    Ok(Scan { b, sa: &sa, l: usize_of(min_len), mode, threads: threads.scan }.spans())
}

/// The class scans over a compacted suffix array.
struct Scan<'a, S> {
    b: &'a Loaded,
    sa: &'a [S],
    l: usize,
    mode: Mode,
    threads: usize,
}

/// What the second scan learns about a window that starts a span.
#[derive(Clone, Copy, Debug)]
struct Need {
    local: u64,
    /// Smallest occurrence of its class (corpus position).
    m1: u64,
    /// Second smallest, or `NONE`.
    m2: u64,
}

impl<S: Idx> Scan<'_, S> {
    fn window(&self, i: usize) -> &[u8] {
        let p = self.sa[i].at();
        &self.b.text[p..p + self.l]
    }

    /// Whether the windows at `i` and `j` are equal. Most neighbours differ
    /// in their first 8 bytes: compare those inline before calling `memcmp`.
    #[inline]
    fn same(&self, i: usize, j: usize) -> bool {
        let (a, b) = (self.window(i), self.window(j));
        if let (Some(x), Some(y)) = (a.first_chunk::<8>(), b.first_chunk::<8>()) {
            if x != y {
                return false;
            }
        }
        a == b
    }

    /// Loads a byte of the window at `i` ahead of use, so that the cache
    /// miss overlaps the comparisons in between (a prefetch without `unsafe`).
    #[inline]
    fn touch(&self, i: usize) {
        if let Some(x) = self.sa.get(i) {
            std::hint::black_box(self.b.text[x.at()]);
        }
    }

    /// Slices of the suffix array, cut at class boundaries, one per thread.
    fn slices(&self) -> Vec<(usize, usize)> {
        let v = self.sa.len();
        let parts = self.threads.clamp(1, 64 * 1024).min(v.max(1));
        let mut cuts = vec![0];
        for k in 1..parts {
            let mut i = (v * k / parts).max(cuts.last().copied().unwrap_or(0));
            while i > 0 && i < v && self.same(i, i - 1) {
                i += 1;
            }
            if i < v && i > cuts.last().copied().unwrap_or(0) {
                cuts.push(i);
            }
        }
        cuts.push(v);
        cuts.windows(2).map(|w| (w[0], w[1])).collect()
    }

    fn global(&self, local: u64) -> u64 {
        let k = self.b.kept.partition_point(|k| k.local <= local) - 1;
        let seg = &self.b.kept[k];
        seg.global + (local - seg.local)
    }

    fn alias_of(&self, local: u64) -> u64 {
        let k = self.b.kept.partition_point(|k| k.local <= local) - 1;
        let seg = &self.b.kept[k];
        if seg.first_alias == NONE {
            NONE
        } else {
            seg.first_alias + (local - seg.local)
        }
    }

    fn spans(&self) -> Vec<RawSpan> {
        let n = self.b.text.len();
        let marked = AtomicBits::new(n);
        let class_start = AtomicBits::new(self.sa.len());
        let slices = self.slices();

        // Pass 1: classes and marks.
        slices.par_iter().for_each(|&(lo, hi)| {
            let mut i = lo;
            while i < hi {
                let mut j = i + 1;
                while j < hi && {
                    self.touch(j + 16);
                    self.same(i, j)
                } {
                    j += 1;
                }
                class_start.set(i);
                if j - i >= 2 {
                    let members = &self.sa[i..j];
                    match self.mode {
                        Mode::All => members.iter().for_each(|x| marked.set(x.at())),
                        Mode::Later => {
                            let m1 = members.iter().map(|x| x.at()).min().unwrap_or(0);
                            members
                                .iter()
                                .filter(|x| x.at() != m1)
                                .for_each(|x| marked.set(x.at()));
                        }
                    }
                }
                i = j;
            }
        });
        if self.mode == Mode::All {
            // Every window of a segment with a copy occurs twice.
            for k in self.b.kept.iter().filter(|k| k.first_alias != NONE) {
                marked.set_range(usize_of(k.local), usize_of(k.local + k.windows));
            }
        }

        // Spans of marked starts, per kept segment; `need` marks the
        // windows whose class must be looked up.
        let need = AtomicBits::new(n);
        let l = self.l as u64;
        let local_spans: Vec<Vec<(u32, u64, u64)>> = self
            .b
            .kept
            .par_iter()
            .enumerate()
            .map(|(k, seg)| {
                let mut out = Vec::new();
                let mut cur: Option<(u64, u64)> = None;
                marked.for_each_one(usize_of(seg.local), usize_of(seg.local + seg.windows), |s| {
                    let s = s as u64;
                    cur = match cur {
                        Some((a, e)) if s <= e => Some((a, s + l)),
                        other => {
                            out.extend(other.map(|(a, e)| (k as u32, a, e)));
                            Some((s, s + l))
                        }
                    };
                });
                out.extend(cur.map(|(a, e)| (k as u32, a, e)));
                for &(_, a, _) in &out {
                    need.set(usize_of(a));
                }
                if seg.first_alias != NONE {
                    need.set(usize_of(seg.local));
                }
                out
            })
            .collect();

        // Pass 2: sources for the windows in `need`.
        let mut needs: Vec<Need> = slices
            .par_iter()
            .flat_map_iter(|&(lo, hi)| {
                let mut out = Vec::new();
                let mut i = lo;
                while i < hi {
                    let mut j = i + 1;
                    while j < hi && !class_start.get(j) {
                        j += 1;
                    }
                    let members = &self.sa[i..j];
                    if members.iter().any(|x| need.get(x.at())) {
                        let (mut k1, mut k2) = (usize::MAX, usize::MAX);
                        for x in members {
                            let p = x.at();
                            if p < k1 {
                                k2 = k1;
                                k1 = p;
                            } else if p < k2 {
                                k2 = p;
                            }
                        }
                        let m1 = self.global(k1 as u64);
                        let second = if k2 == usize::MAX { NONE } else { self.global(k2 as u64) };
                        let m2 = second.min(self.alias_of(k1 as u64));
                        for x in members.iter().filter(|x| need.get(x.at())) {
                            out.push(Need { local: x.at() as u64, m1, m2 });
                        }
                    }
                    i = j;
                }
                out
            })
            .collect();
        needs.sort_unstable_by_key(|n| n.local);
        let find = |local: u64| -> Need {
            let i = needs.partition_point(|n| n.local < local);
            debug_assert!(needs.get(i).is_some_and(|n| n.local == local));
            needs[i]
        };

        let mut spans = Vec::new();
        for (k, a, e) in local_spans.into_iter().flatten() {
            let seg = &self.b.kept[k as usize];
            let start = seg.global + (a - seg.local);
            let nd = find(a);
            let source = if nd.m1 == start { nd.m2 } else { nd.m1 };
            debug_assert_ne!(source, NONE, "a marked window occurs elsewhere");
            spans.push(RawSpan { start, end: seg.global + (e - seg.local), source });
        }
        for al in &self.b.aliases {
            let seg = &self.b.kept[al.keeper as usize];
            let nd = find(seg.local);
            spans.push(RawSpan {
                start: al.global,
                end: al.global + seg.windows + l - 1,
                source: nd.m1,
            });
        }
        spans
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{Flow, Segment, Visit};

    struct Segs(Vec<(u64, Vec<u8>)>, u64);

    impl SegmentSource for Segs {
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

    fn run(segs: &Segs, mode: Mode, threads: usize) -> Vec<RawSpan> {
        let b = load(segs, segs.1, None).unwrap().unwrap();
        let threads = Threads { sa: 1, scan: threads };
        let mut s = solve(&b, segs.1, mode, threads, &crate::NoProgress).unwrap();
        s.sort();
        s
    }

    #[test]
    fn later_mode_marks_all_but_the_first() {
        // "abcd" at 0, 10 and 20 (three documents); L = 3.
        let segs =
            Segs(vec![(0, b"abcdx".to_vec()), (10, b"yabcd".to_vec()), (20, b"abcd".to_vec())], 3);
        let later = run(&segs, Mode::Later, 1);
        assert_eq!(
            later,
            vec![
                RawSpan { start: 11, end: 15, source: 0 },
                RawSpan { start: 20, end: 24, source: 0 }
            ]
        );
        let all = run(&segs, Mode::All, 2);
        assert_eq!(
            all,
            vec![
                RawSpan { start: 0, end: 4, source: 11 },
                RawSpan { start: 11, end: 15, source: 0 },
                RawSpan { start: 20, end: 24, source: 0 },
            ]
        );
    }

    #[test]
    fn copies_collapse_and_keep_their_sources() {
        let t = b"hello world".to_vec();
        let segs =
            Segs(vec![(5, t.clone()), (50, b"zzzz".to_vec()), (100, t.clone()), (200, t)], 4);
        let b = load(&segs, 4, None).unwrap().unwrap();
        assert_eq!(b.aliases(), 2);
        let later = run(&segs, Mode::Later, 1);
        assert_eq!(
            later,
            vec![
                RawSpan { start: 100, end: 111, source: 5 },
                RawSpan { start: 200, end: 211, source: 5 }
            ]
        );
        let all = run(&segs, Mode::All, 1);
        assert_eq!(all[0], RawSpan { start: 5, end: 16, source: 100 });
        assert_eq!(all.len(), 3);
    }

    #[test]
    fn budget_is_checked_while_loading() {
        let segs = Segs(vec![(0, vec![b'a'; 1000])], 4);
        assert!(load(&segs, 4, Some(100)).unwrap().is_none());
        assert!(load(&segs, 4, Some(100_000)).unwrap().is_some());
    }
}
