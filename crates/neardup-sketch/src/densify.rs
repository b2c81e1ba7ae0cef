//! Optimal densification of one-permutation hashing (Shrivastava, ICML
//! 2017): filling the bins that no shingle fell into.
//!
//! Each empty bin `i` walks a fixed pseudo-random sequence of bins
//! `p(i, 1), p(i, 2), ...` ([`Densifier::probe`]; it depends on `i` and the
//! seed only) and copies the value of the first bin that was filled
//! *before* densification. Both texts of a pair walk the same sequences,
//! which keeps `P[slot equal] = J` exactly (the argument is in `DESIGN.md`).
//!
//! # Why two strategies
//! With `m` of `k` bins filled a probe hits with probability `m/k`, so
//! walking the sequences ("forward") costs `(k − m)·k/m` probes: nothing for
//! long texts, ~1000 for a 20-word text at `k = 128`, each with a
//! hard-to-predict loop exit. The first [`CACHED`] probes of every bin are
//! tabulated when the sketcher is built, twice:
//!
//! - **forward**, bin-major: `p(i, 1..=32)` for each `i`, so a probe is a
//!   table read instead of a 64-bit mix;
//! - **inverse**, grouped by target: for each bin `j`, every `(i, t)` with
//!   `p(i, t) = j`. For a sparse text we visit only the `m` filled bins'
//!   groups (`~32·m` entries) and keep, per empty bin, the smallest `t`
//!   that reached a filled bin — the same answer as walking forward, found
//!   with `32·m` branch-free `min`s instead of `(k − m)·k/m` probes.
//!
//! [`Densifier::densify`] takes whichever expected cost is lower; bins the
//! tabulated probes don't settle continue with computed probes from
//! `t = 33`. All strategies give the same signature (tested).
//!
//! Memory: `6·32·k` bytes of tables, built for `k ≤ 1024` (192 KiB);
//! larger `k` compute every probe.

use crate::hash::{fast_range, mix64};
use crate::minhash::EMPTY;

/// Probes tabulated per bin.
pub(crate) const CACHED: usize = 32;

/// Largest `k` whose probes are tabulated.
const MAX_CACHED_K: usize = 1024;

/// The densification probe sequences of one sketcher.
#[derive(Clone, Debug)]
pub(crate) struct Densifier {
    k: usize,
    key: u64,
    /// `forward[i * CACHED + t - 1] = p(i, t)`.
    forward: Vec<u16>,
    /// Entries `t << 16 | i` grouped by `p(i, t)`: group `j` is
    /// `inverse[offsets[j]..offsets[j + 1]]`, in increasing `i`.
    inverse: Vec<u32>,
    offsets: Vec<u32>,
}

/// How [`Densifier::densify_with`] finds the source bins. Only tests force
/// a strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) enum Strategy {
    /// The cheaper of the two by expected cost.
    Auto,
    /// Walk each empty bin's sequence.
    Forward,
    /// Scan the filled bins' inverse groups.
    Inverse,
}

impl Densifier {
    /// Probe sequences for `k` bins (`1..=65536`) under `key`.
    pub(crate) fn new(k: usize, key: u64) -> Densifier {
        let mut d =
            Densifier { k, key, forward: Vec::new(), inverse: Vec::new(), offsets: Vec::new() };
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
        d
    }

    /// Bytes of tables held.
    pub(crate) fn memory_usage(&self) -> usize {
        self.forward.len() * 2 + (self.inverse.len() + self.offsets.len()) * 4
    }

    /// The `t`-th bin (`t ≥ 1`) that empty bin `i` copies from if it is
    /// filled: SplitMix64 of `(i, t)` under the key, mapped onto `0..k`.
    #[inline]
    pub(crate) fn probe(&self, i: usize, t: u64) -> usize {
        let z = mix64(self.key ^ ((i as u64) << 32 | t));
        fast_range((z >> 32) as u32, self.k as u32) as usize
    }

    /// Fills the empty bins of the `k`-value OPH signature in `out` (which
    /// must have at least one filled bin). Uses `out` past `k` as scratch.
    pub(crate) fn densify(&self, out: &mut Vec<u32>) {
        self.densify_with(out, Strategy::Auto);
    }

    pub(crate) fn densify_with(&self, out: &mut Vec<u32>, strategy: Strategy) {
        let k = self.k;
        if out.len() < k {
            return;
        }
        // Scratch past the signature: a bitmap of the bins filled before
        // densification, then (inverse strategy) the best probe per bin.
        // Bins are visited through bitmap words, not `if filled` per bin: at
        // middling fill that branch mispredicts on every other bin, which
        // cost more than all the probes.
        let words = k.div_ceil(32);
        out.resize(k + words + k, 0);
        let (sig, rest) = out.split_at_mut(k);
        let (mask, best) = rest.split_at_mut(words);
        for (m, chunk) in mask.iter_mut().zip(sig.chunks(32)) {
            *m = chunk.iter().enumerate().fold(0, |m, (b, &v)| m | u32::from(v != EMPTY) << b);
        }
        let filled: usize = mask.iter().map(|m| m.count_ones() as usize).sum();
        if filled == k || filled == 0 {
            out.truncate(k);
            return;
        }
        if filled == 1 {
            // Every probe sequence ends at the only filled bin.
            let v = sig.iter().copied().find(|&v| v != EMPTY).unwrap_or(EMPTY);
            out.truncate(k);
            out.fill(v);
            return;
        }
        let is_filled = |j: usize| (mask[j / 32] >> (j % 32)) & 1 == 1;
        // Expected work in table reads: forward walks k/m probes per empty
        // bin and mispredicts its exit (worth ~8 reads); inverse reads 32
        // entries per filled bin, branch-free.
        let use_inverse = !self.inverse.is_empty()
            && match strategy {
                Strategy::Auto => CACHED * filled < (k - filled) * (k / filled + 8),
                Strategy::Forward => false,
                Strategy::Inverse => true,
            };
        if use_inverse {
            best.fill(u32::MAX);
            for_each_bit(mask, |j| {
                let group = self.offsets[j] as usize..self.offsets[j + 1] as usize;
                for &e in &self.inverse[group] {
                    // Key `t << 16 | j`: the smallest key is the first probe
                    // of bin `i` that reached a filled bin.
                    let i = (e & 0xffff) as usize;
                    best[i] = best[i].min((e & 0xffff_0000) | j as u32);
                }
            });
        }
        // Past this many probes (expected: k / m) fall back to the next
        // filled bin to the right, so the loop is bounded on any input.
        let max_probes = (64 * k) as u64;
        for_each_bit_inverted(mask, k, |i| {
            let cached = self.forward.get(i * CACHED..(i + 1) * CACHED).unwrap_or(&[]);
            let from = if use_inverse {
                (best[i] != u32::MAX).then_some((best[i] & 0xffff) as usize)
            } else {
                cached.iter().map(|&j| usize::from(j)).find(|&j| is_filled(j))
            };
            let from = from.or_else(|| {
                (cached.len() as u64 + 1..=max_probes)
                    .map(|t| self.probe(i, t))
                    .find(|&j| is_filled(j))
            });
            let j = from.unwrap_or_else(|| {
                (1..k).map(|d| (i + d) % k).find(|&j| is_filled(j)).unwrap_or(i)
            });
            // `j` is a filled bin, never densified, so its value is final.
            sig[i] = sig[j];
        });
        out.truncate(k);
    }
}

/// Calls `f(j)` for every set bit `j` of `mask`, in increasing order.
#[inline]
fn for_each_bit(mask: &[u32], mut f: impl FnMut(usize)) {
    for (w, &bits) in mask.iter().enumerate() {
        let mut bits = bits;
        while bits != 0 {
            f(w * 32 + bits.trailing_zeros() as usize);
            bits &= bits - 1;
        }
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
        for k in [2usize, 5, 64, 128, 300, 2000] {
            let d = Densifier::new(k, rng.next_u64());
            assert_eq!(d.forward.is_empty(), k > MAX_CACHED_K);
            for filled in [1usize, 2, 3, k / 10, k / 2, k - 1] {
                let filled = filled.clamp(1, k);
                let mut sig = vec![EMPTY; k];
                for _ in 0..filled {
                    let b = rng.next_u64();
                    sig[(b % k as u64) as usize] = (b >> 40) as u32;
                }
                let want = reference(&d, &sig);
                for s in [Strategy::Auto, Strategy::Forward, Strategy::Inverse] {
                    let mut out = sig.clone();
                    d.densify_with(&mut out, s);
                    assert_eq!(out, want, "k={k} filled~{filled} {s:?}");
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
