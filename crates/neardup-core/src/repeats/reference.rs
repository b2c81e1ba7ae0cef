//! Today's repeat finder, kept verbatim as the oracle of the fast one
//! (`super::find` must return exactly what this returns, on every text and
//! `min_len`): winnowing with a block minimum at every position, all
//! anchors collected, then matched. Only the tests build it.

use crate::hashing::PrehashedMap;
use std::ops::Range;

use super::Repeat;

/// How many earlier positions to remember per window hash: enough to find
/// the right earlier copy of a line that occurs many times.
const MAX_CANDIDATES: usize = 8;

/// Finds later copies of passages of at least `min_len` characters in
/// canonical `text`. Spans are sorted and disjoint.
pub(super) fn find(text: &str, min_len: usize) -> Vec<Repeat> {
    let b = text.as_bytes();
    let min_len = min_len.max(1);
    // Too short to hold two copies.
    if b.len() < 2 * min_len {
        return Vec::new();
    }
    let k = min_len.min(32);
    let w = min_len - k + 1;
    let anchors = winnow(b, k, w);

    // Earlier anchors by hash, as chains through `prev` (most recent
    // first): no allocation per anchor.
    let mut head: PrehashedMap<u64, usize> = PrehashedMap::default();
    head.reserve(anchors.len());
    let mut prev: Vec<usize> = Vec::with_capacity(anchors.len());
    let mut candidates: Vec<usize> = Vec::with_capacity(MAX_CANDIDATES);
    let mut out: Vec<Repeat> = Vec::new();
    let mut covered = 0; // Bytes before this are already inside a cut.
    for (idx, &(p, h)) in anchors.iter().enumerate() {
        let last = head.insert(h, idx);
        prev.push(last.unwrap_or(usize::MAX));
        if p < covered {
            continue;
        }
        candidates.clear();
        let mut j = last.unwrap_or(usize::MAX);
        while j != usize::MAX && candidates.len() < MAX_CANDIDATES {
            candidates.push(anchors[j].0);
            j = prev[j];
        }
        let Some((range, first)) = longest_match(b, &candidates, p, covered, min_len) else {
            continue;
        };
        // Snap at once, so that the next match may start where these
        // words end (a raw match can overshoot into the next word).
        let Some((words, mut cut)) = snap(text, range.clone()) else { continue };
        if char_len(text, words.clone()) < min_len {
            continue;
        }
        covered = words.end;
        // Separators taken by snapping may touch the previous cut: keep
        // the cuts disjoint.
        if let Some(prev) = out.last() {
            cut.start = cut.start.max(prev.range.end);
        }
        if cut.start < cut.end {
            out.push(Repeat { range: cut, first: first + words.start - range.start });
        }
    }
    out
}

/// Low bits of a window key that hold its position (inverted, so that the
/// smaller key is the later window on equal hashes).
const POS_BITS: u32 = 26;
const POS_MASK: u64 = (1 << POS_BITS) - 1;

/// A window's sort key: its hash's high bits, then the rightmost position.
#[inline]
fn window_key(hash: u64, pos: usize) -> u64 {
    (hash & !POS_MASK) | (POS_MASK - (pos as u64 & POS_MASK))
}

/// The position of the window whose key is `key`, knowing it lies in
/// `[from, from + w)` with `w` far below 2^POS_BITS.
#[inline]
fn key_pos(key: u64, from: usize) -> usize {
    let low = POS_MASK - (key & POS_MASK);
    from + (low.wrapping_sub(from as u64 & POS_MASK) & POS_MASK) as usize
}

/// Polynomial rolling hash of `k`-byte windows, spread by a finalizer so
/// that minima are not biased.
struct Roller {
    top: u64,
    roll: u64,
}

impl Roller {
    const BASE: u64 = 0x100_0000_01b3; // Odd, so rolling stays invertible.

    fn new(first: &[u8]) -> Roller {
        let top = (1..first.len()).fold(1u64, |acc, _| acc.wrapping_mul(Self::BASE)); // BASE^(k-1)
        let roll =
            first.iter().fold(0u64, |h, &c| h.wrapping_mul(Self::BASE).wrapping_add(c as u64 + 1));
        Roller { top, roll }
    }

    /// Slides one byte: `out` leaves, `inn` enters.
    #[inline]
    fn slide(&mut self, out: u8, inn: u8) {
        self.roll = self
            .roll
            .wrapping_sub((out as u64 + 1).wrapping_mul(self.top))
            .wrapping_mul(Self::BASE)
            .wrapping_add(inn as u64 + 1);
    }

    #[inline]
    fn hash(&self) -> u64 {
        let h = (self.roll ^ (self.roll >> 31)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h ^ (h >> 29)
    }
}

/// The selected windows `(position, hash)` in increasing position: the
/// smallest key of every `w` consecutive `k`-byte windows (smallest hash,
/// the rightmost on ties).
///
/// Minima of sliding windows by van Herk and Gil-Werman's method: cut the
/// keys into blocks of `w`; a window spans the end of one block and the
/// start of the next, so its minimum is `min(suffix_min[i],
/// prefix_min[i + w − 1])`. Three `min`s per byte and no data-dependent
/// branch, where a monotone deque mispredicts about once per byte (3× the
/// time on real text). Keys are computed a chunk at a time, so memory
/// stays small whatever the record's size.
pub(super) fn winnow(b: &[u8], k: usize, w: usize) -> Vec<(usize, u64)> {
    const CHUNK: usize = 1 << 15;
    let n = b.len();
    if n < k || k == 0 {
        return Vec::new();
    }
    let count = n - k + 1; // k-gram windows
    let w = w.clamp(1, count);
    let starts = count - w + 1; // windows of w k-grams
    let mut out: Vec<(usize, u64)> = Vec::with_capacity(2 * count / (w + 1) + 2);
    let mut roller = Roller::new(&b[..k]);
    let mut next = 0usize; // next k-gram to key
    let mut keys: Vec<u64> = Vec::with_capacity(CHUNK + w);
    let (mut pre, mut suf) = (Vec::new(), Vec::new());
    let mut base = 0usize; // k-gram index of keys[0]
    let mut last = usize::MAX;
    let mut c0 = 0;
    while c0 < starts {
        let c1 = (c0 + CHUNK).min(starts);
        keys.drain(..c0 - base);
        base = c0;
        while base + keys.len() < c1 + w - 1 {
            if next > 0 {
                roller.slide(b[next - 1], b[next + k - 1]);
            }
            keys.push(window_key(roller.hash(), next));
            next += 1;
        }
        let len = keys.len();
        pre.resize(len, 0);
        suf.resize(len, 0);
        // Block by block (no division per byte).
        for (kb, (pb, sb)) in keys.chunks(w).zip(pre.chunks_mut(w).zip(suf.chunks_mut(w))) {
            let mut m = u64::MAX;
            for (x, p) in kb.iter().zip(pb.iter_mut()) {
                m = m.min(*x);
                *p = m;
            }
            m = u64::MAX;
            for (x, s) in kb.iter().zip(sb.iter_mut()).rev() {
                m = m.min(*x);
                *s = m;
            }
        }
        for i in 0..c1 - c0 {
            let m = suf[i].min(pre[i + w - 1]);
            let p = key_pos(m, c0 + i);
            if p != last {
                out.push((p, m & !POS_MASK));
                last = p;
            }
        }
        c0 = c1;
    }
    out
}

/// The longest match of the text at `p` with an earlier copy starting at
/// one of `qs`, as (later range, earlier start). Copies are at least
/// `min_len` bytes apart, and the later one does not reach back before
/// `floor`.
fn longest_match(
    b: &[u8],
    qs: &[usize],
    p: usize,
    floor: usize,
    min_len: usize,
) -> Option<(Range<usize>, usize)> {
    let mut best: Option<(Range<usize>, usize)> = None;
    for &q in qs {
        if q >= p {
            continue;
        }
        // The equal run around the anchor, at shift d = p - q. A passage of
        // `min_len` characters said twice has copies at least `min_len`
        // bytes apart; closer matches are runs like `=====`, not repeats.
        let d = p - q;
        if d < min_len {
            continue;
        }
        let mut back = 0;
        while q > back && p - back > floor && b[q - back - 1] == b[p - back - 1] {
            back += 1;
        }
        let mut fwd = 0;
        while p + fwd < b.len() && b[q + fwd] == b[p + fwd] {
            fwd += 1;
        }
        if fwd == 0 {
            continue; // The anchor itself did not match (hash collision).
        }
        // The whole run is text seen `d` bytes earlier. If it is longer
        // than `d`, the text repeats with period `d` (a passage said three
        // times): all but the first period goes.
        let (ps0, len) = (p - back, back + fwd);
        let qs0 = ps0 - d;
        if best.as_ref().is_none_or(|(r, _)| len > r.len()) {
            best = Some((ps0..ps0 + len, qs0));
        }
    }
    best
}

/// Shrinks `r` to whole words, then takes the separator after them: the
/// line break(s) when the cut is whole lines, else the following space, or,
/// when the cut runs to a line's end, the space before it. So cutting never
/// splits a word, leaves a double space or an empty line. Returns the words
/// alone (for the length check) and the range to cut; `None` if no whole
/// word is left.
fn snap(text: &str, r: Range<usize>) -> Option<(Range<usize>, Range<usize>)> {
    let b = text.as_bytes();
    let ws = |i: usize| b[i].is_ascii_whitespace();
    let mut s = r.start;
    while s < r.end && (ws(s) || (s > 0 && !ws(s - 1))) {
        s += 1;
    }
    let mut e = r.end;
    while e > s && (ws(e - 1) || (e < b.len() && !ws(e))) {
        e -= 1;
    }
    if e <= s {
        return None;
    }
    let words = s..e;
    let line_start = s == 0 || b[s - 1] == b'\n';
    if e < b.len() && b[e] == b'\n' && line_start {
        // Whole lines: take the line break, and a paragraph break with it.
        e += 1;
        if e < b.len() && b[e] == b'\n' {
            e += 1;
        }
    } else if e < b.len() && b[e] == b' ' {
        e += 1;
    } else if s > 0 && b[s - 1] == b' ' {
        // Runs to the end of a line or the text: take the space before.
        s -= 1;
    }
    Some((words, s..e))
}

fn char_len(text: &str, r: Range<usize>) -> usize {
    // Ranges come from byte matches; count only whole characters inside.
    let b = &text.as_bytes()[r];
    b.iter().filter(|&&c| (c as i8) >= -0x40).count()
}
