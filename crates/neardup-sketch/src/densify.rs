//! Optimal densification of one-permutation hashing (Shrivastava, ICML
//! 2017): filling the bins that no shingle fell into.
//!
//! Each empty bin `i` walks a fixed pseudo-random sequence of bins
//! `p(i, 1), p(i, 2), ...` ([`Densifier::probe`]; it depends on `i` and the
//! seed only) and copies the value of the first bin that was filled
//! *before* densification. Both texts of a pair walk the same sequences,
//! which keeps `P[slot equal] = J` exactly (the argument is in `DESIGN.md`).
//!
//! # Why three strategies
//! With `m` of `k` bins filled a probe hits with probability `m/k`, so
//! walking the sequences ("forward") costs `(k − m)·k/m` probes: nothing for
//! long texts, ~1000 for a 20-word text at `k = 128`, each with a
//! hard-to-predict loop exit. Probes are tabulated when the sketcher is
//! built, three ways:
//!
//! - **forward**, bin-major: `p(i, 1..=64)` for each `i`, so a probe is a
//!   table read instead of a 64-bit mix, the first 8 tested without a
//!   branch;
//! - **first**, for `k ≤ 256`: a `k × k` table of `u16` whose row `j`
//!   holds, for every bin `i`, `t << 8 | j` for the first `t ≤ 254` with
//!   `p(i, t) = j` (or none). The element-wise minimum of the filled bins'
//!   rows is then, for every bin at once, the first probe that reaches a
//!   filled bin *and* that bin in its low byte: `m` vector `min`s over `k`
//!   entries (16 a `vpminuw`), then one branch-free pass copying
//!   `sig[i] = sig[low byte]` (a filled bin starts as its own source). No
//!   per-bin branch, no second table read. This is what short texts take;
//!   254 probes (not 64) because a text of 2–4 shingles leaves a bin whose
//!   64 first probes all miss one time in 3–8, and each such bin then
//!   computed ~50 more probes;
//! - **inverse**, grouped by target, for `256 < k ≤ 1024`: for each bin
//!   `j`, every `(i, t ≤ 64)` with `p(i, t) = j`; visiting the `m` filled
//!   bins' groups (`~64·m` entries) keeps, per empty bin, the smallest `t`
//!   that reached a filled bin.
//!
//! [`Densifier::densify`] takes whichever expected cost is lower; bins the
//! tabulated probes don't settle continue with computed probes. All
//! strategies give the same signature (tested). Scratch (the filled-bin
//! bitmap, the per-bin minima) lives on the stack for `k ≤ 1024`: the
//! caller's signature never grows past `k`, so nothing is allocated per
//! text.
//!
//! Memory: `6·64·k` bytes of tables, built for `k ≤ 1024` (384 KiB), plus
//! `2k²` bytes for `k ≤ 256` (32 KiB at `k = 128`); larger `k` compute every
//! probe.

use crate::hash::{fast_range, mix64};
use crate::kernel::{self, for_each_bit, Level};
use crate::minhash::EMPTY;

/// Probes tabulated per bin in the forward and inverse tables (a power of
/// two): at `k = 128` a bin of a 20-word text misses a filled bin in all of
/// them once in 3000.
pub(crate) const CACHED: usize = 64;

/// Probes the first-probe table covers (`t` fits the high byte of an
/// entry; 255 is [`NEVER`]'s).
const FIRST_PROBES: u64 = 254;

/// Largest `k` whose probes are tabulated.
const MAX_CACHED_K: usize = 1024;

/// Largest `k` with a first-probe table (`k²` entries; bins fit a byte).
const MAX_FIRST_K: usize = 256;

/// A first-probe entry for a bin no tabulated probe reaches: above every
/// `t << 8 | j` with `t ≤ 254`.
const NEVER: u16 = u16::MAX;

/// Bitmap words for [`MAX_CACHED_K`] bins: the stack scratch's size.
const SMALL_WORDS: usize = MAX_CACHED_K / 32;

/// The densification probe sequences of one sketcher.
#[derive(Clone, Debug)]
pub(crate) struct Densifier {
    k: usize,
    key: u64,
    level: Level,
    /// `forward[i * CACHED + t - 1] = p(i, t)`.
    forward: Vec<u16>,
    /// Entries `t << 16 | i` grouped by `p(i, t)`: group `j` is
    /// `inverse[offsets[j]..offsets[j + 1]]`, in increasing `i`.
    inverse: Vec<u32>,
    offsets: Vec<u32>,
    /// `first[j * k + i] = t << 8 | j` for the first `t ≤ first_probes`
    /// with `p(i, t) = j`, or [`NEVER`] (`k ≤ MAX_FIRST_K`).
    first: Vec<u16>,
    /// Probes `first` covers: [`FIRST_PROBES`], or fewer for `k ≤ 3`, where
    /// [`Densifier::beyond_cached`] gives up earlier.
    first_probes: u64,
}

/// How [`Densifier::densify_with`] finds the source bins. Only tests force
/// a strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) enum Strategy {
    /// The cheapest by expected cost.
    Auto,
    /// Walk each empty bin's sequence.
    Forward,
    /// Scan the filled bins' inverse groups.
    Inverse,
    /// Element-wise minimum of the filled bins' first-probe rows.
    First,
}

impl Densifier {
    /// Probe sequences for `k` bins (`1..=65536`) under `key`.
    pub(crate) fn new(k: usize, key: u64) -> Densifier {
        let mut d = Densifier {
            k,
            key,
            level: Level::detect(),
            forward: Vec::new(),
            inverse: Vec::new(),
            offsets: Vec::new(),
            first: Vec::new(),
            first_probes: 0,
        };
        if k <= MAX_CACHED_K {
            d.forward = (0..k)
                .flat_map(|i| (1..=CACHED as u64).map(move |t| (i, t)))
                .map(|(i, t)| d.probe(i, t) as u16) // < k <= 1024
                .collect();
            // Counting sort of (i, t) by target bin.
            let mut counts = vec![0u32; k + 1];
            for &j in &d.forward {
                counts[usize::from(j) + 1] += 1;
            }
            for j in 0..k {
                counts[j + 1] += counts[j];
            }
            d.offsets = counts.clone();
            d.inverse = vec![0; d.forward.len()];
            for (n, &j) in d.forward.iter().enumerate() {
                let (i, t) = (n / CACHED, n % CACHED + 1);
                let slot = &mut counts[usize::from(j)];
                d.inverse[*slot as usize] = (t as u32) << 16 | i as u32;
                *slot += 1;
            }
        }
        if k <= MAX_FIRST_K {
            // Never past the 64·k probes `beyond_cached` walks, so that the
            // table cannot find a probe the walk would have given up on.
            d.first_probes = FIRST_PROBES.min(64 * k as u64);
            d.first = vec![NEVER; k * k];
            for i in 0..k {
                for t in 1..=d.first_probes {
                    let j = d.probe(i, t);
                    let e = &mut d.first[j * k + i];
                    *e = (*e).min((t as u16) << 8 | j as u16); // t <= 254, j < 256
                }
            }
        }
        d
    }

    /// Forces a CPU level (tests compare every level's signatures).
    #[cfg(test)]
    pub(crate) fn set_level(&mut self, level: Level) {
        self.level = level;
    }

    /// Bytes of tables held.
    pub(crate) fn memory_usage(&self) -> usize {
        self.forward.len() * 2
            + (self.inverse.len() + self.offsets.len()) * 4
            + self.first.len() * 2
    }

    /// The `t`-th bin (`t ≥ 1`) that empty bin `i` copies from if it is
    /// filled: SplitMix64 of `(i, t)` under the key, mapped onto `0..k`.
    #[inline]
    pub(crate) fn probe(&self, i: usize, t: u64) -> usize {
        let z = mix64(self.key ^ ((i as u64) << 32 | t));
        fast_range((z >> 32) as u32, self.k as u32) as usize
    }

    /// Fills the empty bins of the `k`-value OPH signature `sig` (which
    /// must have at least one filled bin).
    pub(crate) fn densify(&self, sig: &mut [u32]) {
        self.densify_with(sig, Strategy::Auto);
    }

    pub(crate) fn densify_with(&self, sig: &mut [u32], strategy: Strategy) {
        let k = self.k;
        let Some(sig) = sig.get_mut(..k) else {
            return;
        };
        // A bitmap of the bins filled before densification. Bins are
        // visited through bitmap words, not `if filled` per bin: at middling
        // fill that branch mispredicts on every other bin, which cost more
        // than all the probes.
        let words = k.div_ceil(32);
        let (mut small, mut large) = ([0u32; SMALL_WORDS], Vec::new());
        let mask: &mut [u32] = if words <= SMALL_WORDS {
            &mut small[..words]
        } else {
            large.resize(words, 0);
            &mut large
        };
        for (m, chunk) in mask.iter_mut().zip(sig.chunks(32)) {
            // Compare into a 0/1 array (vectorized), then pack each 8
            // bytes into 8 bits with one multiply.
            let mut flags = [0u8; 32];
            for (f, &v) in flags.iter_mut().zip(chunk) {
                *f = u8::from(v != EMPTY);
            }
            *m = flags.chunks_exact(8).enumerate().fold(0, |m, (q, eight)| {
                let w = u64::from_le_bytes(eight.try_into().unwrap_or_default());
                m | ((w.wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32) << (8 * q)
            });
        }
        let mask: &[u32] = mask;
        let filled: usize = mask.iter().map(|m| m.count_ones() as usize).sum();
        if filled == k || filled == 0 {
            return;
        }
        if filled == 1 {
            // Every probe sequence ends at the only filled bin.
            let v = sig.iter().copied().find(|&v| v != EMPTY).unwrap_or(EMPTY);
            sig.fill(v);
            return;
        }
        let is_filled = |j: usize| (mask[j / 32] >> (j % 32)) & 1 == 1;
        // Expected work, in instructions: forward tests 8 probes at a time
        // (more past k / m > 8); first takes a vector `min` per 16 entries
        // of each filled bin's row and a copy per bin; inverse updates 64
        // entries per filled bin through a scatter.
        let (m, empty) = (filled, k - filled);
        let forward = empty * (3 * (k / m).max(8) + 8);
        let first = m * k / 8 + 5 * k;
        let inverse = 12 * CACHED * m;
        let strategy = match strategy {
            Strategy::Auto if !self.first.is_empty() && first < forward => Strategy::First,
            Strategy::Auto if !self.inverse.is_empty() && inverse < forward => Strategy::Inverse,
            Strategy::Auto => Strategy::Forward,
            Strategy::First if self.first.is_empty() => Strategy::Forward,
            Strategy::Inverse if self.inverse.is_empty() => Strategy::Forward,
            s => s,
        };
        match strategy {
            Strategy::First => self.densify_first(sig, mask, is_filled),
            Strategy::Inverse => {
                // Per bin, `t << 16 | j` of its first tabulated probe that
                // reached a filled bin `j`.
                let mut best = [u32::MAX; MAX_CACHED_K];
                let best = &mut best[..k];
                for_each_bit(mask, |j| {
                    let group = self.offsets[j] as usize..self.offsets[j + 1] as usize;
                    for &e in &self.inverse[group] {
                        // Key `t << 16 | j`: the smallest key is the first
                        // probe of bin `i` that reached a filled bin.
                        let i = (e & 0xffff) as usize;
                        best[i] = best[i].min((e & 0xffff_0000) | j as u32);
                    }
                });
                for_each_bit_inverted(mask, k, |i| {
                    let j = if best[i] == u32::MAX {
                        self.beyond_cached(i, CACHED as u64 + 1, is_filled)
                    } else {
                        (best[i] & 0xffff) as usize
                    };
                    sig[i] = sig[j];
                });
            }
            _ => {
                let start = if self.forward.is_empty() { 1 } else { CACHED as u64 + 1 };
                for_each_bit_inverted(mask, k, |i| {
                    let cached = self.forward.get(i * CACHED..(i + 1) * CACHED).unwrap_or(&[]);
                    let j = first_filled(cached, is_filled)
                        .unwrap_or_else(|| self.beyond_cached(i, start, is_filled));
                    sig[i] = sig[j];
                });
            }
        }
    }

    /// The first-probe strategy (`k ≤ 256`, so bins fit a byte).
    fn densify_first(&self, sig: &mut [u32], mask: &[u32], is_filled: impl Fn(usize) -> bool) {
        let k = self.k;
        // Per bin, `t << 8 | j`: the first probe `t` that reaches a filled
        // bin `j`. A filled bin is its own source (`t = 0`).
        let mut src = [NEVER; MAX_FIRST_K];
        let src = &mut src[..k];
        for (i, (s, &v)) in src.iter_mut().zip(sig.iter()).enumerate() {
            *s = if v == EMPTY { NEVER } else { i as u16 }; // i < k <= 256
        }
        kernel::min_rows(self.level, &self.first, k, mask, src);
        if src.contains(&NEVER) {
            // No tabulated probe reached a filled bin (rare: a text of two
            // or three shingles); walk on from the first untabulated one.
            for (i, s) in src.iter_mut().enumerate().filter(|(_, s)| **s == NEVER) {
                *s = self.beyond_cached(i, self.first_probes + 1, &is_filled) as u16;
                // < k <= 256
            }
        }
        kernel::copy_sources(self.level, sig, src);
    }

    /// The first filled bin of empty bin `i`'s probes from `t = start` on
    /// (the ones before missed). Past `64k` probes (expected: `k / m`) it
    /// falls back to the next filled bin to the right, so the loop is
    /// bounded on any input.
    #[cold]
    fn beyond_cached(&self, i: usize, start: u64, is_filled: impl Fn(usize) -> bool) -> usize {
        (start..=(64 * self.k) as u64)
            .map(|t| self.probe(i, t))
            .find(|&j| is_filled(j))
            .or_else(|| (1..self.k).map(|d| (i + d) % self.k).find(|&j| is_filled(j)))
            .unwrap_or(i)
    }
}

/// The first of `probes` that `is_filled`. The first 8 are tested without
/// a branch and the first hit taken from a bitmask: walking them one by
/// one, the loop exit mispredicts on about every other empty bin at half
/// fill (a short text), which cost more than the probes themselves.
#[inline]
fn first_filled(probes: &[u16], is_filled: impl Fn(usize) -> bool) -> Option<usize> {
    let Some(first) = probes.first_chunk::<8>() else {
        return probes.iter().map(|&j| usize::from(j)).find(|&j| is_filled(j));
    };
    let mut hits = 0u32;
    for (t, &j) in first.iter().enumerate() {
        hits |= u32::from(is_filled(usize::from(j))) << t;
    }
    match first.get(hits.trailing_zeros() as usize) {
        Some(&j) => Some(usize::from(j)),
        None => probes[8..].iter().map(|&j| usize::from(j)).find(|&j| is_filled(j)),
    }
}

/// Calls `f(i)` for every clear bit `i < k` of `mask`, in increasing order.
#[inline]
fn for_each_bit_inverted(mask: &[u32], k: usize, mut f: impl FnMut(usize)) {
    for (w, &bits) in mask.iter().enumerate() {
        let valid = if (w + 1) * 32 <= k { u32::MAX } else { (1u32 << (k % 32)) - 1 };
        let mut clear = !bits & valid;
        while clear != 0 {
            f(w * 32 + clear.trailing_zeros() as usize);
            clear &= clear - 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::SplitMix64;

    /// Walks the sequences one computed probe at a time: the definition.
    fn reference(d: &Densifier, sig: &[u32]) -> Vec<u32> {
        let filled: Vec<bool> = sig.iter().map(|&v| v != EMPTY).collect();
        (0..sig.len())
            .map(|i| {
                if filled[i] {
                    return sig[i];
                }
                let j = (1..).map(|t| d.probe(i, t)).find(|&j| filled[j]).unwrap();
                sig[j]
            })
            .collect()
    }

    #[test]
    fn every_strategy_matches_the_definition() {
        let mut rng = SplitMix64::new(11, 12);
        for k in [2usize, 5, 64, 128, 256, 257, 300, 2000] {
            let mut d = Densifier::new(k, rng.next_u64());
            assert_eq!(d.forward.is_empty(), k > MAX_CACHED_K);
            assert_eq!(d.first.is_empty(), k > MAX_FIRST_K);
            for filled in
                [1usize, 2, 3, 16, k / 10, k / 4, k / 2, 3 * k / 4, k.saturating_sub(5), k - 1]
            {
                let filled = filled.clamp(1, k);
                let mut sig = vec![EMPTY; k];
                for _ in 0..filled {
                    let b = rng.next_u64();
                    sig[(b % k as u64) as usize] = (b >> 40) as u32;
                }
                let want = reference(&d, &sig);
                for level in Level::available() {
                    d.level = level;
                    for s in [Strategy::Auto, Strategy::Forward, Strategy::Inverse, Strategy::First]
                    {
                        let mut out = sig.clone();
                        d.densify_with(&mut out, s);
                        assert_eq!(out, want, "k={k} filled~{filled} {s:?} {level:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn inverse_table_is_the_forward_table_transposed() {
        let d = Densifier::new(40, 3);
        assert_eq!(d.inverse.len(), 40 * CACHED);
        for j in 0..40 {
            for &e in &d.inverse[d.offsets[j] as usize..d.offsets[j + 1] as usize] {
                let (i, t) = ((e & 0xffff) as usize, (e >> 16) as u64);
                assert_eq!(d.probe(i, t), j);
                assert_eq!(usize::from(d.forward[i * CACHED + t as usize - 1]), j);
            }
        }
    }

    #[test]
    fn first_table_holds_the_first_probe_to_each_bin() {
        for k in [2usize, 3, 48] {
            let d = Densifier::new(k, 9);
            assert_eq!(d.first_probes, FIRST_PROBES.min(64 * k as u64));
            for i in 0..k {
                for j in 0..k {
                    let e = d.first[j * k + i];
                    let want = (1..=d.first_probes).find(|&t| d.probe(i, t) == j);
                    let got = (e != NEVER).then(|| {
                        assert_eq!(usize::from(e & 0xff), j, "i={i} j={j}");
                        u64::from(e >> 8)
                    });
                    assert_eq!(got, want, "k={k} i={i} j={j}");
                }
            }
        }
    }

    #[test]
    fn nothing_to_do_when_full_or_empty() {
        let d = Densifier::new(8, 1);
        let mut full = vec![1; 8];
        d.densify(&mut full);
        assert_eq!(full, vec![1; 8]);
        let mut empty = vec![EMPTY; 8];
        d.densify(&mut empty);
        assert_eq!(empty, vec![EMPTY; 8]);
    }
}
