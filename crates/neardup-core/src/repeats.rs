//! Passages a record says twice.
//!
//! A scraped page often holds its own body twice (a print view appended to
//! the article, a syndicated copy below the original), sometimes with other
//! quotes and dashes. On canonical text the two copies are byte-equal, so
//! the job is: find every span of at least `min_len` characters that already
//! occurred, in full, earlier in the same text, and cut it from the later
//! place.
//!
//! # Method
//! Winnowing (Schleimer et al., SIGMOD 2003): hash every `k`-byte window and
//! keep, from each run of `w = min_len − k + 1` consecutive windows, the one
//! with the smallest hash. Two equal passages of at least `min_len` bytes
//! select the same windows at the same relative places, so each repeat
//! shares at least one selected window with its earlier copy. Only
//! selected windows (about `2/(w+1)` of positions) enter a hash table; a hit
//! is verified byte for byte and extended both ways to the longest match.
//! Linear time in the text, a small table, and no false positives.
//!
//! # Speed
//! This runs on every record, and most records hold no repeat, so a cheap
//! sieve (`Sieve`) looks first: anchors at about one position in twelve, chosen
//! by content (a space, line break or multi-byte character whose 8 bytes
//! hash low), keyed by the 32 bytes there; two equal passages hold anchors
//! with equal keys at the same places. Only a record where two such
//! anchors `min_len` apart sit in equal runs of `min_len` bytes (or that
//! the sieve cannot settle cheaply) is winnowed. Short records then cost
//! about 16 instructions per byte instead of 105; long ones, which hold a
//! repeat more often than not, about half of what they did.
//!
//! Winnowing itself computes the keys of about 1024 windows first, by two
//! rolling hashes side by side (one per half, so that one's multiply hides
//! the other's latency; the byte leaving a window is a table read, not a
//! multiply), then reads their run minima off them: the smallest key of
//! the run is kept, a new key beats it about once in `w`, and the run is
//! scanned again only when its smallest key leaves it, so a window costs a
//! compare and no dependent chain. Keys that rise window after window would
//! make every window rescan, so past a budget a record falls back to block
//! minima (van Herk and Gil-Werman), whose cost does not depend on the
//! keys. The selected
//! windows then go through a table stamped per record (no clearing), and a
//! match is extended eight bytes at a time. Buffers are per thread and
//! reused. The result is exactly that of the straightforward version, which
//! the tests keep as an oracle (`repeats/reference.rs`), and the sieve is
//! tested never to pass over a repeat, against a brute-force search.
//!
//! # What is cut
//! - The two copies must be at least `min_len` bytes apart (a passage said
//!   twice, not a run of `=====`), and the repeat must reach `min_len`
//!   characters. A passage said three times in a row loses its second and
//!   third copies at once.
//! - Cuts are snapped to whole words, and take their separator with them:
//!   the line break when they are whole lines, otherwise the space after
//!   (or before, at a line's end), so no word is split and no double space
//!   or empty line is left. A repeat shorter than `min_len` once snapped
//!   stays.

use std::cell::RefCell;
use std::ops::Range;

use crate::stamped::Stamped;

#[cfg(test)]
mod reference;

/// A later copy found in canonical text: cut `range`, first seen at
/// `first`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repeat {
    /// Canonical byte range to cut.
    pub range: Range<usize>,
    /// Canonical byte offset of the earlier copy.
    pub first: usize,
}

/// How many earlier positions to remember per window hash: enough to find
/// the right earlier copy of a line that occurs many times.
const MAX_CANDIDATES: usize = 8;

/// Finds later copies of passages of at least `min_len` characters in
/// canonical `text`. Spans are sorted and disjoint.
pub fn find(text: &str, min_len: usize) -> Vec<Repeat> {
    let min_len = min_len.max(1);
    // Too short to hold two copies.
    if text.len() < 2 * min_len {
        return Vec::new();
    }
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => s.find(text, min_len),
        // Not reentrant, so never taken; a fresh scratch would do.
        Err(_) => Scratch::default().find(text, min_len),
    })
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Buffers reused across the records a thread analyses.
#[derive(Default)]
struct Scratch {
    /// Keys of the windows of the current chunk, and suffix minima of the
    /// previous block's keys (see [`winnow`]).
    keys: Vec<u64>,
    suffix: Vec<u64>,
    /// Selected windows `(position, hash)`, in text order.
    anchors: Vec<(usize, u64)>,
    /// Earlier anchors by hash, as chains through `prev` (most recent
    /// first): no allocation per anchor.
    head: Heads,
    prev: Vec<usize>,
    candidates: Vec<usize>,
    sieve: Sieve,
}

/// Tables larger than this many entries are dropped after a record, so
/// that one huge record does not make every later `clear` slow.
const KEEP_ENTRIES: usize = 1 << 16;

impl Scratch {
    fn find(&mut self, text: &str, min_len: usize) -> Vec<Repeat> {
        let b = text.as_bytes();
        if !self.sieve.may_repeat(b, min_len) {
            return Vec::new();
        }
        let k = min_len.min(32);
        let w = min_len - k + 1;
        winnow(b, k, w, &mut self.keys, &mut self.suffix, &mut self.anchors);
        let out = self.matches(text, min_len);
        if self.head.capacity() > 2 * KEEP_ENTRIES {
            self.head = Heads::default();
        }
        if self.anchors.capacity() > KEEP_ENTRIES {
            self.anchors = Vec::new();
            self.prev = Vec::new();
        }
        out
    }

    /// Looks each anchor up among the earlier ones with its hash, in text
    /// order; a verified match long enough becomes a cut.
    fn matches(&mut self, text: &str, min_len: usize) -> Vec<Repeat> {
        let b = text.as_bytes();
        let anchors = &self.anchors;
        let (head, prev, candidates) = (&mut self.head, &mut self.prev, &mut self.candidates);
        head.begin(anchors.len());
        prev.clear();
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
            let Some((range, first)) = longest_match(b, candidates, p, covered, min_len) else {
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
}

/// The most recent anchor of each hash, one table reused from record to
/// record (sized for the record's anchors).
type Heads = Stamped<usize>;

impl Heads {
    /// Makes `anchor` the most recent with `hash`; returns the one before.
    #[inline]
    fn insert(&mut self, hash: u64, anchor: usize) -> Option<usize> {
        // Anchor hashes keep their high 38 bits (the rest is zero).
        let (_, last, new) = self.entry(hash, (hash >> POS_BITS) as usize);
        let before = std::mem::replace(last, anchor);
        (!new).then_some(before)
    }
}

/// A cheap test that proves most records hold no repeat, so that only the
/// others pay for winnowing.
///
/// A repeat needs two equal runs of at least `L = min_len` bytes, at least
/// `L` apart. Anchors here are chosen by content alone: every other space,
/// line break or first byte of a multi-byte character (found 64 bytes at a
/// time with vector compares; "every other" by a hash of the 8 bytes
/// there), about one position in twelve of prose. Each anchor
/// is keyed by the [`GRAM`] bytes starting there, so two equal runs of `L`
/// bytes hold anchors at the same offsets with the same keys, provided an
/// anchor falls in the first `Z = L − GRAM + 1` positions of the run (its
/// *zone*). So the sieve answers "no repeat" only when
///
/// 1. no two anchors at least `L` apart with equal keys lie in equal runs
///    of `L` bytes (checked byte for byte), and
/// 2. no two positions at least `L` apart whose zones hold no anchor (both
///    inside stretches of `Z` or more anchor-free positions, which are rare:
///    lines of `=====`, long tokens) start equal runs of `L` bytes (their
///    keys are compared after the scan);
///
/// anything it cannot settle cheaply (a key seen more than
/// [`Sieve::CHAIN`] times at least `L` back, too much verifying) counts as
/// "maybe". A record without a repeat costs about a third of winnowing it;
/// `L` below `GRAM + 63` (a zone under 64) is not sieved.
#[derive(Default)]
struct Sieve {
    /// Open addressing by key (`key | 1`; 0 is an empty slot): the most
    /// recent anchor with that key, and its earlier ones as a chain
    /// through `older`.
    table: Vec<Slot>,
    /// `(position, next older)`, [`NONE`]-terminated.
    older: Vec<(u32, u32)>,
    /// Stretches `first..=last` of at least `Z` anchor-free positions.
    gaps: Vec<(usize, usize)>,
    /// `(key, position)` of the zones inside gaps.
    gap_keys: Vec<(u64, usize)>,
}

#[derive(Clone, Copy, Default)]
struct Slot {
    key: u64,
    pos: u32,
    older: u32,
}

/// The end of a chain.
const NONE: u32 = u32::MAX;

impl Sieve {
    /// Earlier anchors with the same key looked at before giving up.
    const CHAIN: usize = 16;
    /// A candidate is an anchor when the hash of its 8 bytes is at most
    /// this: one in two, so about one position in twelve of prose.
    const PICK: u64 = u64::MAX / 2;

    /// Whether `b` may hold a repeat of `min_len` bytes: `false` only if
    /// it holds none (see the type's docs).
    fn may_repeat(&mut self, b: &[u8], min_len: usize) -> bool {
        let n = b.len();
        if n < 2 * min_len {
            return false;
        }
        // Below this the zone is too short to be sure of an anchor in it.
        if min_len < GRAM + 63 || n >= NONE as usize {
            return true;
        }
        let zone = min_len - GRAM + 1;
        let last = n - GRAM; // the last position a key fits at
        self.table.clear();
        // About one anchor per 12 bytes of prose: a table a sixth full, so
        // that denser text (code, lists, short lines) seldom makes it grow.
        // Sized for a third, prose filled it to the point of growing, and
        // `grown` took 0.5 % of a default run on debdocs.
        self.table.resize((last + 1).div_ceil(2).next_power_of_two().max(16), Slot::default());
        self.older.clear();
        self.gaps.clear();
        // Work spent following chains and comparing bytes, past which the
        // sieve gives up (long runs of one byte make long chains).
        let mut budget = 8 * n;
        let maybe = self.scan(b, min_len, zone, last, &mut budget)
            || self.gaps_may_repeat(b, min_len, zone, &mut budget);
        // Half a slot per byte: records up to 256 KB keep the table.
        if self.table.len() > 2 * KEEP_ENTRIES || self.gap_keys.capacity() > KEEP_ENTRIES {
            *self = Sieve::default();
        }
        maybe
    }

    /// The anchors, in text order: `true` as soon as two of them prove a
    /// repeat may exist.
    #[inline(never)]
    fn scan(
        &mut self,
        b: &[u8],
        min_len: usize,
        zone: usize,
        last: usize,
        budget: &mut usize,
    ) -> bool {
        let mut table = std::mem::take(&mut self.table);
        let mut mask = table.len() - 1;
        let mut shift = 64 - table.len().trailing_zeros();
        let mut keys = 0; // distinct keys in the table
        let mut next_free = 0; // positions before this are covered by an anchor
        let mut start = 0;
        let mut pad = [0u8; 64];
        let mut maybe = false;
        'scan: while start <= last {
            let end = (start + 64).min(last + 1);
            let bytes: &[u8; 64] = match b.get(start..start + 64) {
                Some(full) => full.try_into().unwrap_or(&pad),
                None => {
                    pad[..b.len() - start].copy_from_slice(&b[start..]);
                    &pad
                }
            };
            // Bit t: position start + t is an anchor.
            let mut anchors = candidates(bytes);
            if end - start < 64 {
                anchors &= (1u64 << (end - start)) - 1;
            }
            while anchors != 0 {
                let x = start + anchors.trailing_zeros() as usize;
                anchors &= anchors - 1;
                let v = u64::from_le_bytes(b[x..x + 8].try_into().unwrap_or_default());
                if v.wrapping_mul(0x9e37_79b9_7f4a_7c15) > Self::PICK {
                    continue;
                }
                if x - next_free >= zone {
                    self.gaps.push((next_free, x - 1));
                }
                next_free = x + 1;
                let key = gram_key(b, x) | 1;
                let mut i = (key >> shift) as usize & mask;
                while table[i].key != 0 && table[i].key != key {
                    i = (i + 1) & mask;
                }
                let slot = &mut table[i];
                if slot.key == 0 {
                    *slot = Slot { key, pos: x as u32, older: NONE };
                    keys += 1;
                    if 3 * keys > table.len() {
                        table = grown(table);
                        (mask, shift) = (table.len() - 1, 64 - table.len().trailing_zeros());
                    }
                    continue;
                }
                // Earlier anchors with this key, most recent first.
                let (y, c) = (slot.pos, slot.older);
                slot.older = self.older.len() as u32;
                slot.pos = x as u32;
                self.older.push((y, c));
                if self.earlier_copy(b, min_len, x, (y, c), budget) {
                    maybe = true;
                    break 'scan;
                }
            }
            start = end;
        }
        if !maybe && last + 1 - next_free >= zone {
            self.gaps.push((next_free, last));
        }
        self.table = table;
        maybe
    }

    /// Whether an anchor at `x`, whose earlier anchors with the same key
    /// are `y` then the chain from `c`, proves a repeat may exist.
    fn earlier_copy(
        &self,
        b: &[u8],
        min_len: usize,
        x: usize,
        (mut y, mut c): (u32, u32),
        budget: &mut usize,
    ) -> bool {
        let mut looked = 0;
        loop {
            let y_ = y as usize;
            if x - y_ >= min_len {
                if looked == Self::CHAIN {
                    return true; // more earlier copies than we look at
                }
                looked += 1;
                let (run, cost) = run_at_least(b, y_, x, min_len);
                if run {
                    return true;
                }
                *budget = budget.saturating_sub(cost);
            }
            *budget = budget.saturating_sub(1);
            if *budget == 0 {
                return true;
            }
            match self.older.get(c as usize) {
                Some(&(p, next)) => (y, c) = (p, next),
                None => return false,
            }
        }
    }

    /// Whether two zones without an anchor may start equal runs of
    /// `min_len` bytes at least `min_len` apart: each zone inside a gap is
    /// keyed, and equal keys are checked byte for byte.
    fn gaps_may_repeat(
        &mut self,
        b: &[u8],
        min_len: usize,
        zone: usize,
        budget: &mut usize,
    ) -> bool {
        self.gap_keys.clear();
        for &(first, last) in &self.gaps {
            for j in first..=last + 1 - zone {
                self.gap_keys.push((gram_key(b, j), j));
            }
        }
        if self.gap_keys.len() < 2 {
            return false;
        }
        self.gap_keys.sort_unstable();
        for group in self.gap_keys.chunk_by(|a, b| a.0 == b.0) {
            for (k, &(_, x)) in group.iter().enumerate() {
                for &(_, y) in &group[..k] {
                    if x - y >= min_len {
                        let (run, cost) = run_at_least(b, y, x, min_len);
                        if run {
                            return true;
                        }
                        *budget = budget.saturating_sub(cost);
                    }
                    *budget = budget.saturating_sub(1);
                    if *budget == 0 {
                        return true;
                    }
                }
            }
        }
        false
    }
}

/// `table` at twice the size, its entries placed again.
#[cold]
fn grown(table: Vec<Slot>) -> Vec<Slot> {
    let mut out = vec![Slot::default(); 2 * table.len()];
    let (mask, shift) = (out.len() - 1, 64 - out.len().trailing_zeros());
    for e in table.into_iter().filter(|e| e.key != 0) {
        let mut i = (e.key >> shift) as usize & mask;
        while out[i].key != 0 {
            i = (i + 1) & mask;
        }
        out[i] = e;
    }
    out
}

/// Bit `t` set iff `block[t]` may start an anchor: a space, a line break
/// or the first byte of a multi-byte character, so that text in any script
/// has candidates every few bytes. Written so that LLVM vectorizes it (a
/// byte-wise compare into a `0/1` array, each 8 bytes of which one multiply
/// packs into 8 bits, as in `neardup-sketch`'s word scanner).
#[inline(always)]
fn candidates(block: &[u8; 64]) -> u64 {
    let mut flags = [0u8; 64];
    for (f, &c) in flags.iter_mut().zip(block) {
        *f = u8::from(c == b' ' || c == b'\n' || c >= 0xC0);
    }
    let mut mask = 0u64;
    for (k, eight) in flags.chunks_exact(8).enumerate() {
        let w = u64::from_le_bytes(eight.try_into().unwrap_or_default());
        mask |= (w.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k);
    }
    mask
}

/// Bytes of text that key an anchor.
const GRAM: usize = 32;

/// A hash of the [`GRAM`] bytes at `x`: collisions only cost a check.
#[inline(always)]
fn gram_key(b: &[u8], x: usize) -> u64 {
    let Some(g) = b.get(x..).and_then(|r| r.first_chunk::<GRAM>()) else {
        return 0;
    };
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&g[8 * i..8 * i + 8]);
        u64::from_le_bytes(w)
    };
    let h = word(0).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ word(1).wrapping_mul(0xc2b2_ae3d_27d4_eb4f)
        ^ word(2).wrapping_mul(0x1656_67b1_9e37_79f9)
        ^ word(3).wrapping_mul(0x85eb_ca77_c2b2_ae63);
    h ^ (h >> 29)
}

/// Whether the bytes at `x` and `y < x` agree over a run of at least
/// `len` bytes around them, and how many bytes that took to find out.
#[inline]
fn run_at_least(b: &[u8], y: usize, x: usize, len: usize) -> (bool, usize) {
    let fwd = common_prefix(&b[x..], &b[y..], len);
    if fwd >= len {
        return (true, fwd);
    }
    let back = common_suffix(&b[..x], &b[..y], len - fwd);
    (fwd + back >= len, fwd + back + 1)
}

/// Length of the common prefix of `a` and `b`, counted up to `max`.
#[inline]
fn common_prefix(a: &[u8], b: &[u8], max: usize) -> usize {
    let n = a.len().min(b.len()).min(max);
    let (a, b) = (&a[..n], &b[..n]);
    let mut i = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let d = u64::from_le_bytes(x.try_into().unwrap_or_default())
            ^ u64::from_le_bytes(y.try_into().unwrap_or_default());
        if d != 0 {
            return i + (d.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + a[i..].iter().zip(&b[i..]).take_while(|(x, y)| x == y).count()
}

/// Length of the common suffix of `a` and `b`, counted up to `max`.
#[inline]
fn common_suffix(a: &[u8], b: &[u8], max: usize) -> usize {
    let n = a.len().min(b.len()).min(max);
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let mut i = 0;
    for (x, y) in a.rchunks_exact(8).zip(b.rchunks_exact(8)) {
        let d = u64::from_le_bytes(x.try_into().unwrap_or_default())
            ^ u64::from_le_bytes(y.try_into().unwrap_or_default());
        if d != 0 {
            return i + (d.leading_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + a[..n - i].iter().rev().zip(b[..n - i].iter().rev()).take_while(|(x, y)| x == y).count()
}

/// Low bits of a window key that hold its position (inverted, so that the
/// smaller key is the later window on equal hashes).
const POS_BITS: u32 = 26;
const POS_MASK: u64 = (1 << POS_BITS) - 1;

/// A window's sort key: its hash's high bits, then the rightmost position.
#[inline]
fn window_key(hash: u64, pos: usize) -> u64 {
    // `POS_MASK − x == POS_MASK ^ x` for `x <= POS_MASK`.
    (hash | POS_MASK) ^ (pos as u64 & POS_MASK)
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
    roll: u64,
}

impl Roller {
    const BASE: u64 = 0x100_0000_01b3; // Odd, so rolling stays invertible.

    fn new(first: &[u8]) -> Roller {
        let roll =
            first.iter().fold(0u64, |h, &c| h.wrapping_mul(Self::BASE).wrapping_add(c as u64 + 1));
        Roller { roll }
    }

    /// Slides one byte: `out` leaves, `inn` enters.
    #[inline(always)]
    fn slide(&mut self, leaving: &Leaving, out: u8, inn: u8) {
        let leave = leaving.0[out as usize];
        self.roll = self.roll.wrapping_mul(Self::BASE).wrapping_sub(leave).wrapping_add(inn as u64);
    }

    #[inline(always)]
    fn hash(&self) -> u64 {
        let h = (self.roll ^ (self.roll >> 31)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h ^ (h >> 29)
    }
}

/// What a byte leaving a window of `k` takes from [`Roller`]'s hash: sliding
/// is `(roll − (out + 1)·BASE^(k−1))·BASE + in + 1`, which is
/// `roll·BASE − leave[out] + in` with `leave[c] = (c + 1)·BASE^k − 1`. A
/// table read per byte instead of a multiply: the multiplier is what
/// computing keys waits on.
struct Leaving([u64; 256]);

impl Leaving {
    fn new(k: usize) -> Leaving {
        let base_k = (0..k).fold(1u64, |acc, _| acc.wrapping_mul(Roller::BASE));
        Leaving(std::array::from_fn(|c| (c as u64 + 1).wrapping_mul(base_k).wrapping_sub(1)))
    }
}

/// Windows whose keys are computed in one go before their minima are
/// taken (rounded up to whole blocks of `w`): 8 KB of keys, in L1 (32 KB
/// chunks missed it a third more often, in a cache simulation).
const CHUNK: usize = 1024;

/// The selected windows `(position, hash)`, into `out` in increasing
/// position: the smallest key of every `w` consecutive `k`-byte windows
/// (smallest hash, the rightmost on ties), each position once.
///
/// The keys of a chunk of windows are computed first ([`fill_keys`]: two
/// independent rolling hashes, one per half of the chunk, so that the
/// multiply of one hides the other's latency), then the run minima are
/// read off them ([`winnow_rescan`]): the smallest key of the run is kept,
/// and each new key either beats it (a branch taken about once in `w`) or
/// not; only when the smallest key leaves the run is the run scanned again
/// for the next. On hashes that is about once per `w` windows, so each
/// window costs a load, a compare and about one key of rescanning, with no
/// dependency from one window to the next (block minima cost two dependent
/// `min`s a window; on debdocs, winnowing and matching took 28 % less time
/// with rescanning and the table of leaving bytes together). A text whose keys rise window after window would rescan every time, so
/// past a budget of rescanning the record is winnowed again by blocks
/// ([`winnow_blocks`]), whose cost does not depend on the keys.
fn winnow(
    b: &[u8],
    k: usize,
    w: usize,
    keys: &mut Vec<u64>,
    suffix: &mut Vec<u64>,
    out: &mut Vec<(usize, u64)>,
) {
    winnow_within(b, k, w, CHUNK, RESCAN_BUDGET * b.len(), keys, suffix, out);
}

/// [`winnow`] in chunks of `chunk` windows, rescanning at most `budget`
/// keys (tests take small ones to reach every edge).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn winnow_within(
    b: &[u8],
    k: usize,
    w: usize,
    chunk: usize,
    budget: usize,
    keys: &mut Vec<u64>,
    suffix: &mut Vec<u64>,
    out: &mut Vec<(usize, u64)>,
) {
    if !winnow_rescan(b, k, w, chunk, keys, out, budget) {
        winnow_blocks(b, k, w, chunk, keys, suffix, out);
    }
}

/// What both ways of winnowing start from.
struct Plan {
    leaving: Leaving,
    /// Windows of `k` bytes in the text.
    count: usize,
    /// Windows per run, at most `count`.
    w: usize,
    /// Windows whose keys are computed at a time: whole runs.
    chunk: usize,
}

impl Plan {
    /// The plan for `b`, with `out` cleared and room made in it for the
    /// selected windows; `None` when `b` holds no window of `k` bytes.
    fn new(
        b: &[u8],
        k: usize,
        w: usize,
        chunk: usize,
        out: &mut Vec<(usize, u64)>,
    ) -> Option<Plan> {
        out.clear();
        if b.len() < k || k == 0 {
            return None;
        }
        let count = b.len() - k + 1;
        let w = w.clamp(1, count);
        out.reserve(2 * count / (w + 1) + 2);
        let chunk = chunk.max(1).div_ceil(w) * w;
        Some(Plan { leaving: Leaving::new(k), count, w, chunk })
    }
}

/// Keys rescanned per byte of text, past which [`winnow`] gives up on
/// rescanning (random keys need about one).
const RESCAN_BUDGET: usize = 4;

/// [`winnow`] by rescanning, keys computed `chunk` windows at a time
/// (rounded up to whole runs of `w`): `false`, with `out` unspecified,
/// once rescanning would pass `budget` keys.
#[inline(always)]
fn winnow_rescan(
    b: &[u8],
    k: usize,
    w: usize,
    chunk: usize,
    keys: &mut Vec<u64>,
    out: &mut Vec<(usize, u64)>,
    mut budget: usize,
) -> bool {
    let Some(Plan { leaving, count, w, chunk }) = Plan::new(b, k, w, chunk, out) else {
        return true;
    };
    // `keys[lead + t]` is the key of window `start + t`; the `lead` before
    // it, of the windows before the chunk (a run reaches that far back).
    let lead = w - 1;
    if keys.len() < lead + chunk {
        keys.resize(lead + chunk, 0);
    }
    // The smallest key of the current run, and its window.
    let (mut min, mut at) = (u64::MAX, 0);
    let mut start = 0;
    while start < count {
        let len = chunk.min(count - start);
        fill_keys(b, k, &leaving, start, &mut keys[lead..lead + len]);
        // `ks[t..t + w]` is the run ending at window `start + t`.
        let ks = &keys[..lead + len];
        let mut first = 0;
        if start == 0 {
            // The first run (`w <= len`).
            (min, at) = smallest(&ks[lead..lead + w], 0);
            out.push((at, min & !POS_MASK));
            first = w;
        }
        for (t, &x) in ks[lead..].iter().enumerate().skip(first) {
            let j = start + t;
            if x < min {
                (min, at) = (x, j);
                out.push((j, x & !POS_MASK));
            } else if at + w <= j {
                // The smallest key left the run.
                if budget < w {
                    return false;
                }
                budget -= w;
                (min, at) = smallest(&ks[t..t + w], j + 1 - w);
                out.push((at, min & !POS_MASK));
            }
        }
        // Only a chunk that is not the last is followed, and it is longer
        // than the lead.
        if start + len < count {
            keys.copy_within(len..len + lead, 0);
        }
        start += len;
    }
    true
}

/// The smallest of `keys`, keys of the windows from `from` on, and its
/// window. Four running minima, so that the compares do not wait on each
/// other.
#[inline]
fn smallest(keys: &[u64], from: usize) -> (u64, usize) {
    let mut m = [u64::MAX; 4];
    let mut quads = keys.chunks_exact(4);
    for q in quads.by_ref() {
        for (m, &x) in m.iter_mut().zip(q) {
            *m = (*m).min(x);
        }
    }
    let rest = quads.remainder().iter().copied();
    let min = rest.fold(m[0].min(m[1]).min(m[2].min(m[3])), u64::min);
    (min, key_pos(min, from))
}

/// [`winnow`] by blocks (van Herk and Gil-Werman): windows are cut into
/// blocks of `w`; the run of `w` windows ending in the current block
/// starts in the previous one, so its minimum is
/// `min(suffix_min(previous block)[start], min(current block so far))`.
/// Suffix minima are computed once per block, when it is full; so each
/// window costs two `min`s and no data-dependent branch, whatever the
/// keys. Keys are computed `chunk` windows at a time (rounded up to whole
/// blocks). Memory: a chunk of keys and `w + 1` suffix minima.
fn winnow_blocks(
    b: &[u8],
    k: usize,
    w: usize,
    chunk: usize,
    keys: &mut Vec<u64>,
    suffix: &mut Vec<u64>,
    out: &mut Vec<(usize, u64)>,
) {
    let Some(Plan { leaving, count, w, chunk }) = Plan::new(b, k, w, chunk, out) else {
        return;
    };
    if keys.len() < chunk {
        keys.resize(chunk, 0);
    }
    suffix.clear();
    // suffix[w] stays u64::MAX: the run that is exactly the current block.
    suffix.resize(w + 1, u64::MAX);
    let mut last = 0;
    let mut start = 0; // first window of the current chunk
    while start < count {
        let len = chunk.min(count - start);
        let keys = &mut keys[..len];
        fill_keys(b, k, &leaving, start, keys);
        for (i, block) in keys.chunks(w).enumerate() {
            let from = start + i * w; // first window of this block
            if from == 0 {
                // The first run is the first block (`w <= count`).
                suffix_minima(block, &mut suffix[..w]);
                last = suffix[0];
                out.push((key_pos(last, 0), last & !POS_MASK));
                continue;
            }
            // Window j = from + t closes the run of windows j + 1 − w ..= j,
            // which starts at t + 1 in the previous block's suffix minima.
            let prev = &suffix[1..=block.len()];
            let mut tail = u64::MAX;
            for (t, (&x, &p)) in block.iter().zip(prev).enumerate() {
                tail = tail.min(x);
                let m = p.min(tail);
                if m != last {
                    last = m;
                    out.push((key_pos(m, from + t + 1 - w), m & !POS_MASK));
                }
            }
            if block.len() == w {
                suffix_minima(block, &mut suffix[..w]);
            }
        }
        start += len;
    }
}

/// The keys of windows `start..start + keys.len()` of `b` (windows of `k`
/// bytes). Two rollers run side by side, over the first and the second
/// half: each starts from its first window's bytes, so the keys are those
/// of rolling from the text's start (the hash of a window is its bytes'
/// polynomial, however it was reached).
#[inline]
fn fill_keys(b: &[u8], k: usize, leaving: &Leaving, start: usize, keys: &mut [u64]) {
    let len = keys.len();
    let half = len / 2; // windows of the first roller; the second has the rest
    let (ka, kb) = keys.split_at_mut(half);
    let mid = start + half;
    let mut rb = Roller::new(&b[mid..mid + k]);
    let Some((kb0, kb)) = kb.split_first_mut() else { return };
    *kb0 = window_key(rb.hash(), mid);
    // Window j holds b[j..j + k]: sliding to it, b[j − 1] leaves and
    // b[j + k − 1] enters.
    let rest_b = &b[mid..mid + len - half - 1 + k];
    let (b_out, b_in) = (&rest_b[..len - half - 1], &rest_b[k..]);
    if let Some((ka0, ka)) = ka.split_first_mut() {
        let mut ra = Roller::new(&b[start..start + k]);
        *ka0 = window_key(ra.hash(), start);
        let rest_a = &b[start..start + half - 1 + k];
        let (a_out, a_in) = (&rest_a[..half - 1], &rest_a[k..]);
        // The second half is as long as the first or one longer.
        let pairs = ka
            .iter_mut()
            .zip(a_out.iter().zip(a_in))
            .zip(kb.iter_mut().zip(b_out.iter().zip(b_in)));
        for (t, ((xa, (&oa, &ia)), (xb, (&ob, &ib)))) in pairs.enumerate() {
            ra.slide(leaving, oa, ia);
            rb.slide(leaving, ob, ib);
            *xa = window_key(ra.hash(), start + 1 + t);
            *xb = window_key(rb.hash(), mid + 1 + t);
        }
    }
    if len - half > half.max(1) {
        // The second half's last window.
        let t = len - half - 1;
        rb.slide(leaving, b_out[t - 1], b_in[t - 1]);
        kb[t - 1] = window_key(rb.hash(), mid + t);
    }
}

/// `suffix[i] = min(block[i..])` for every `i < block.len()`.
#[inline]
fn suffix_minima(block: &[u64], suffix: &mut [u64]) {
    let mut m = u64::MAX;
    for (s, &x) in suffix.iter_mut().zip(block).rev() {
        m = m.min(x);
        *s = m;
    }
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
        // Eight bytes at a time; back at most to the text's start or to
        // `floor` (`p >= floor`: anchors before it are skipped).
        let back = common_suffix(&b[..q], &b[..p], q.min(p - floor));
        let fwd = common_prefix(&b[p..], &b[q..], usize::MAX);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(text: &str, min: usize) -> String {
        let mut out = String::new();
        let mut at = 0;
        for r in find(text, min) {
            out.push_str(&text[at..r.range.start]);
            at = r.range.end;
        }
        out.push_str(&text[at..]);
        out
    }

    const ARTICLE: &str = "the first line of an article that is long enough.\n\
        a second line with other words in it, also long.\n\
        the third and last line of this short article.";

    #[test]
    fn a_text_said_twice_keeps_the_first_copy() {
        let twice = format!("{ARTICLE}\n{ARTICLE}");
        assert_eq!(cut(&twice, 100), format!("{ARTICLE}\n"));
        let r = &find(&twice, 100)[0];
        assert_eq!(r.first, 0);
        assert_eq!(r.range, ARTICLE.len() + 1..twice.len());
    }

    #[test]
    fn a_repeated_paragraph_in_the_middle_is_cut_whole() {
        let p = "this paragraph is boilerplate that a site puts under every article, twice here.";
        let text = format!("intro line.\n\n{p}\n\nbody text in between.\n\n{p}\n\nclosing words.");
        let out = cut(&text, 60);
        assert_eq!(out, format!("intro line.\n\n{p}\n\nbody text in between.\n\nclosing words."));
    }

    #[test]
    fn short_repeats_stay() {
        let refrain = "la la la, sing along";
        let text = format!("verse one goes here.\n{refrain}\nverse two goes here.\n{refrain}");
        assert_eq!(cut(&text, 100), text);
        assert!(find(&text, 100).is_empty());
    }

    #[test]
    fn boundary_of_the_minimum() {
        // A repeated passage of exactly `min` characters is cut; one less is not.
        let min = 40;
        for (len, expect_cut) in [(min - 1, false), (min, true), (min + 1, true)] {
            let passage: String =
                "abcdefghij".chars().cycle().take(len - 1).collect::<String>() + "z";
            let text = format!("x {passage}\ny {passage}");
            let cuts = find(&text, min);
            assert_eq!(!cuts.is_empty(), expect_cut, "len {len}");
            for c in cuts {
                assert!(char_len(&text, c.range) >= min);
            }
        }
    }

    /// Winnowing by brute force: the smallest key of each window.
    fn winnow_naive(b: &[u8], k: usize, w: usize) -> Vec<(usize, u64)> {
        if b.len() < k || k == 0 {
            return Vec::new();
        }
        let count = b.len() - k + 1;
        let w = w.clamp(1, count);
        let keys: Vec<u64> = (0..count)
            .map(|p| {
                let r = Roller::new(&b[p..p + k]);
                window_key(r.hash(), p)
            })
            .collect();
        let mut out: Vec<(usize, u64)> = Vec::new();
        for i in 0..=count - w {
            let m = *keys[i..i + w].iter().min().unwrap();
            let p = key_pos(m, i);
            if out.last().is_none_or(|&(q, _)| q != p) {
                out.push((p, m & !POS_MASK));
            }
        }
        out
    }

    /// The selected windows, collected.
    fn winnow_all(b: &[u8], k: usize, w: usize) -> Vec<(usize, u64)> {
        let (mut block, mut suffix, mut out) = (Vec::new(), Vec::new(), Vec::new());
        winnow(b, k, w, &mut block, &mut suffix, &mut out);
        out
    }

    proptest::proptest! {
        #[test]
        fn winnowing_matches_brute_force(
            text in proptest::collection::vec(proptest::sample::select(b"ab =\n".to_vec()), 0..400),
            k in 1usize..12,
            w in 1usize..40,
        ) {
            let want = winnow_naive(&text, k, w);
            proptest::prop_assert_eq!(&winnow_all(&text, k, w), &want);
            proptest::prop_assert_eq!(&reference::winnow(&text, k, w), &want);
        }
    }

    proptest::proptest! {
        /// Keys computed a few blocks at a time, by two rollers each, give
        /// the windows of brute force: every edge of a chunk, of its two
        /// halves and of a block falls somewhere in these texts.
        #[test]
        fn winnowing_in_small_chunks_matches_brute_force(
            text in proptest::collection::vec(proptest::sample::select(b"ab =\n".to_vec()), 0..700),
            k in 1usize..40,
            w in 1usize..40,
            chunk in 1usize..160,
        ) {
            let (mut keys, mut suffix, mut out) = (Vec::new(), Vec::new(), Vec::new());
            let want = winnow_naive(&text, k, w);
            winnow_blocks(&text, k, w, chunk, &mut keys, &mut suffix, &mut out);
            proptest::prop_assert_eq!(&out, &want);
            proptest::prop_assert!(winnow_rescan(&text, k, w, chunk, &mut keys, &mut out, usize::MAX));
            proptest::prop_assert_eq!(&out, &want);
        }

        /// Rescanning that runs out of budget anywhere (the keys reused
        /// from it, `out` half full) hands over to the blocks, which give
        /// brute force's windows.
        #[test]
        fn winnowing_past_the_rescan_budget_matches_brute_force(
            text in proptest::collection::vec(proptest::sample::select(b"ab =\n".to_vec()), 0..700),
            k in 1usize..40,
            w in 1usize..40,
            chunk in 1usize..160,
            budget in 0usize..400,
        ) {
            let (mut keys, mut suffix, mut out) = (Vec::new(), Vec::new(), Vec::new());
            winnow_within(&text, k, w, chunk, budget, &mut keys, &mut suffix, &mut out);
            proptest::prop_assert_eq!(out, winnow_naive(&text, k, w));
        }
    }

    #[test]
    fn rising_keys_exhaust_the_rescan_budget() {
        // One-byte windows whose hashes rise byte after byte: each run's
        // smallest key is its first, which leaves at the next window.
        let mut bytes: Vec<u8> = (0..=255).collect();
        bytes.sort_by_key(|&c| Roller::new(&[c]).hash());
        let text = bytes.repeat(20);
        let (mut keys, mut suffix, mut out) = (Vec::new(), Vec::new(), Vec::new());
        let budget = RESCAN_BUDGET * text.len();
        assert!(!winnow_rescan(&text, 1, 8, CHUNK, &mut keys, &mut out, budget));
        winnow(&text, 1, 8, &mut keys, &mut suffix, &mut out);
        assert_eq!(out, winnow_naive(&text, 1, 8));
        assert!(out.len() > text.len() * 9 / 10);
    }

    #[test]
    fn winnowing_a_long_text() {
        let text: Vec<u8> = (0..100_000u64).map(|i| b"abcdefgh "[(i * i % 9) as usize]).collect();
        let want = winnow_naive(&text, 32, 69);
        assert_eq!(winnow_all(&text, 32, 69), want);
        assert_eq!(reference::winnow(&text, 32, 69), want);
    }

    #[test]
    fn a_passage_said_three_times_is_kept_once() {
        let thrice = format!("{ARTICLE}\n{ARTICLE}\n{ARTICLE}");
        assert_eq!(cut(&thrice, 100), format!("{ARTICLE}\n"));
        let spaced = format!("{ARTICLE} {ARTICLE} {ARTICLE}");
        assert_eq!(cut(&spaced, 100), ARTICLE);
    }

    #[test]
    fn runs_are_not_repeats_of_themselves() {
        let text = "=".repeat(150);
        // Two halves of a run do count as a passage said twice; but nothing
        // overlapping its own earlier copy is cut.
        for r in find(&text, 100) {
            assert!(r.first + r.range.len() <= r.range.start);
        }
    }

    #[test]
    fn cuts_fall_on_words() {
        let s = "one two three four five six seven eight nine ten eleven twelve";
        let text = format!("alpha {s} beta gamma {s} delta");
        let out = cut(&text, 50);
        assert_eq!(out, format!("alpha {s} beta gamma delta"));
    }

    #[test]
    fn multibyte_text_counts_characters() {
        let s = "日本語のテキストが二回繰り返される場合も同じように扱う。これは十分に長い文です。";
        let text = format!("{s}\n{s}");
        assert_eq!(cut(&text, 30), format!("{s}\n"));
        assert!(find(&text, 50).is_empty(), "{} chars is under 50", s.chars().count());
    }

    // ---- the fast finder returns exactly what today's finder returns ----

    /// `find` against the oracle, with a message naming the input.
    fn same_as_reference(text: &str, min: usize) {
        let want = reference::find(text, min);
        let got = find(text, min);
        assert_eq!(
            got,
            want,
            "min_len {min}, text {:?}",
            text.chars().take(300).collect::<String>()
        );
    }

    /// The largest char boundary at or before `i`.
    fn floor(text: &str, i: usize) -> usize {
        let mut i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    }

    /// Canonical-looking text: words (some multi-byte), single spaces,
    /// line and paragraph breaks, runs of `=`.
    fn prose() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            6 => "[a-e]{1,7}",
            2 => Just(" ".to_owned()),
            1 => Just("\n".to_owned()),
            1 => Just("\n\n".to_owned()),
            1 => prop::sample::select(vec!["é", "日本語", "ß", "—", "ü", "σ"]).prop_map(str::to_owned),
            1 => "={1,40}",
        ];
        prop::collection::vec(piece, 0..120).prop_map(|v| v.concat())
    }

    /// `text` with copies of some of its own spans planted elsewhere, each
    /// `(source, length, destination)` given as fractions of the text.
    fn plant(text: &str, plants: &[(u16, usize, u16)]) -> String {
        let mut t = text.to_owned();
        for &(from, len, to) in plants {
            if t.is_empty() {
                break;
            }
            let a = floor(&t, from as usize * t.len() / 65536);
            let e = floor(&t, a + len);
            let copy = t[a..e].to_owned();
            let at = floor(&t, to as usize * t.len() / 65536);
            t.insert_str(at, &copy);
        }
        t
    }

    /// Lengths around the interesting places: `k = min_len` below 33, the
    /// default 100, and either side of each.
    fn min_lens() -> impl proptest::strategy::Strategy<Value = usize> {
        use proptest::prelude::*;
        prop_oneof![
            1usize..40,
            prop::sample::select(vec![31usize, 32, 33, 50, 64, 99, 100, 101, 150]),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 512, ..Default::default() })]

        #[test]
        fn same_cuts_as_the_reference_on_planted_repeats(
            text in prose(),
            plants in proptest::collection::vec((proptest::prelude::any::<u16>(), 0usize..260, proptest::prelude::any::<u16>()), 0..6),
            min in min_lens(),
        ) {
            same_as_reference(&plant(&text, &plants), min);
        }

        /// A passage of about `min_len` bytes said several times, with
        /// one byte changed in some copies: repeats right at the boundary.
        #[test]
        fn same_cuts_near_the_minimum(
            passage in "[a-c ]{90,110}",
            copies in proptest::collection::vec((0usize..3, proptest::prelude::any::<u8>()), 1..6),
            sep in proptest::sample::select(vec![" ", "\n", "\n\n", " x ", "é"]),
            min in proptest::sample::select(vec![90usize, 99, 100, 101, 105, 110]),
        ) {
            let mut text = String::new();
            for (mode, at) in copies {
                let mut p = passage.clone();
                if mode == 1 {
                    let i = at as usize % p.len();
                    p.replace_range(i..=i, "z");
                }
                text.push_str(&p);
                text.push_str(sep);
            }
            same_as_reference(&text, min);
        }

        #[test]
        fn same_cuts_on_any_text(text in "\\PC{0,400}", min in 1usize..120) {
            same_as_reference(&text, min);
        }
    }

    #[test]
    fn same_cuts_on_degenerate_texts() {
        for min in [1, 2, 31, 32, 33, 99, 100, 101] {
            for n in [0, 1, 2 * min - 1, 2 * min, 2 * min + 1, 3 * min, 700] {
                same_as_reference(&"=".repeat(n), min);
                same_as_reference(&"é".repeat(n), min);
            }
            // Periodic texts, short periods and periods around `min`, with
            // and without spaces (without, nothing can be cut and every
            // anchor extends to the end: keep them short).
            for period in (1..12).chain([min - 1, min, min + 1, 2 * min]) {
                let period = period.max(1);
                for space in [false, true] {
                    let unit: String = (0..period)
                        .map(|i| {
                            if space && i == period / 2 {
                                ' '
                            } else {
                                (b'a' + (i % 7) as u8) as char
                            }
                        })
                        .collect();
                    same_as_reference(&unit.repeat((4 * min + 40) / period + 2), min);
                }
            }
        }
    }

    #[test]
    fn same_cuts_when_a_line_recurs_more_often_than_the_candidates_kept() {
        // More earlier copies of each window than MAX_CANDIDATES.
        let line = "this line is boilerplate that recurs many times over the page, x";
        let mut text = String::new();
        for i in 0..60 {
            text.push_str(line);
            text.push_str(if i % 7 == 0 {
                " and a longer tail that makes this one unique\n"
            } else {
                "\n"
            });
        }
        for min in [20, 50, 64, 65, 100, 130] {
            same_as_reference(&text, min);
        }
    }

    #[test]
    fn same_cuts_on_a_long_generated_text() {
        // 300 kB of words from a small vocabulary, with planted passages of
        // every length from 50 to 400 bytes.
        let mut x = 1u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let words = ["the", "of", "a", "text", "said", "twice", "é", "日本", "line", "page"];
        let mut text = String::new();
        while text.len() < 300_000 {
            text.push_str(words[(next() % words.len() as u64) as usize]);
            text.push(if next() % 15 == 0 { '\n' } else { ' ' });
        }
        let plants: Vec<(u16, usize, u16)> =
            (0..200).map(|i| (next() as u16, 50 + i * 7 % 350, next() as u16)).collect();
        let text = plant(&text, &plants);
        for min in [32, 60, 100, 200] {
            same_as_reference(&text, min);
        }
    }

    // ---- the sieve ----

    /// The condition the sieve decides, by brute force: two equal runs of
    /// `len` bytes at least `len` apart.
    fn has_long_repeat(b: &[u8], len: usize) -> bool {
        (len..b.len()).any(|d| {
            let mut run = 0;
            (d..b.len()).any(|x| {
                run = if b[x] == b[x - d] { run + 1 } else { 0 };
                run >= len
            })
        })
    }

    fn sieve_says(text: &str, min: usize) -> bool {
        Sieve::default().may_repeat(text.as_bytes(), min)
    }

    /// Text with few anchors: long tokens, runs of one byte, no-space
    /// scripts, so that repeats hide in stretches without one.
    fn sparse() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            4 => "[a-f]{1,40}",
            1 => Just(" ".to_owned()),
            1 => Just("\n".to_owned()),
            2 => "={1,150}",
            1 => "[日本語のテキ]{1,30}",
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 512, ..Default::default() })]

        /// "No repeat" is only ever said of text without two equal runs of
        /// `min_len` bytes `min_len` apart, however few anchors it has.
        #[test]
        fn the_sieve_never_hides_a_repeat(
            text in proptest::prop_oneof![prose(), sparse()],
            plants in proptest::collection::vec((proptest::prelude::any::<u16>(), 90usize..300, proptest::prelude::any::<u16>()), 0..4),
            min in proptest::sample::select(vec![95usize, 100, 101, 130]),
        ) {
            let text = plant(&text, &plants);
            if !sieve_says(&text, min) {
                proptest::prop_assert!(!has_long_repeat(text.as_bytes(), min));
            }
            same_as_reference(&text, min);
        }
    }

    #[test]
    fn the_sieve_clears_prose_without_repeats_and_flags_one() {
        let mut x = 7u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut text = String::new();
        while text.len() < 6_000 {
            let len = 2 + next() % 8;
            text.extend((0..len).map(|_| (b'a' + (next() % 26) as u8) as char));
            text.push(if next() % 12 == 0 { '\n' } else { ' ' });
        }
        assert!(!has_long_repeat(text.as_bytes(), 100));
        assert!(!sieve_says(&text, 100), "prose without repeats goes to winnowing");
        let said_twice = format!("{text}{}", &text[2_000..2_150]);
        assert!(sieve_says(&said_twice, 100));
        assert!(!find(&said_twice, 100).is_empty());
    }

    #[test]
    fn repeats_without_anchors_are_found() {
        // Lines of `=`, a long token and Japanese without spaces: stretches
        // with no anchor, where the sieve compares zones after the scan.
        let token: String = (0..130).map(|i| (b'a' + (i * 7 % 26) as u8) as char).collect();
        let jp = "日本語のテキストが二回繰り返される場合も同じように扱う".repeat(3);
        for (piece, min) in [("=".repeat(130), 100), (token, 100), (jp, 100)] {
            let text = format!("start of the text\n{piece}\nin between, other words\n{piece}\nend");
            assert!(has_long_repeat(text.as_bytes(), min));
            assert!(sieve_says(&text, min), "{piece}");
            same_as_reference(&text, min);
        }
    }
}
