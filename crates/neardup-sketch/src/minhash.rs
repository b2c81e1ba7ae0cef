//! MinHash signatures: classic `k`-hash MinHash and one-permutation hashing
//! with optimal densification.
//!
//! A signature is `k` 32-bit values computed from a document's shingle
//! hashes such that, for two documents with shingle sets `A` and `B`, each
//! slot is equal with probability `J(A, B) = |A ∩ B| / |A ∪ B|`. So the
//! fraction of equal slots ([`estimate_jaccard`]) estimates Jaccard
//! similarity with standard error `sqrt(J(1-J)/k)`, and LSH bands of slots
//! ([`crate::lsh`]) find similar pairs without comparing all pairs.
//!
//! # Two kinds
//! - [`SketchKind::MinHash`] (Broder 1997): `k` hash functions, slot `i` is
//!   the minimum of `h_i` over the set. `O(k)` work per shingle, which the
//!   vectorized kernel (`src/kernel.rs`) brings to ~0.12 ns per slot.
//! - [`SketchKind::Oph`], one-permutation hashing (Li, Owen, Zhang, NIPS
//!   2012): one hash per shingle splits the hash range into `k` bins and
//!   keeps each bin's minimum, `O(1)` work per shingle. Bins no shingle fell
//!   into are filled by *optimal densification* (Shrivastava, ICML 2017),
//!   which keeps `P[slot equal] = J` exactly and the variance close to
//!   classic MinHash's (`src/densify.rs`); it costs up to `O(k²/m)` for a
//!   text with `m < k` non-empty bins, paid only by short texts. This is
//!   the fast mode.
//!
//! The hash families, their independence and the densification probe
//! sequence are derived in the crate's `DESIGN.md`.
//!
//! # Values and the empty sentinel
//! Real signature values are in `0..=u32::MAX - 1` (a minimum that would be
//! `u32::MAX` is stored as `u32::MAX - 1`, a bias of `2^-32`). A text with
//! no shingles gets the **empty signature**: every slot [`EMPTY`]. It has
//! no slot in common with any real signature, so it never estimates as
//! similar to a non-empty text, while two empty texts estimate as `1.0`.
//!
//! # Memory
//! A classic [`Sketcher`] holds `16·k` bytes of permutation parameters
//! (rounded up to 16 permutations), an OPH one `384·k` bytes of
//! densification tables (for `k ≤ 1024`, plus `2k²` for `k ≤ 256`), built once
//! ([`Sketcher::memory_usage`]). [`Sketcher::sketch`] allocates nothing
//! once the caller's output buffer has grown to its high-water mark (`k`
//! values; OPH densifies in place with stack scratch for `k ≤ 1024`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::densify::Densifier;
use crate::error::{Error, Result};
use crate::hash::{fast_range, mix64, SplitMix64};
use crate::kernel::{self, Block, Level, LANES};

/// Every slot of the signature of a text without shingles.
pub const EMPTY: u32 = u32::MAX;

/// The largest value a slot of a real (non-empty) signature can hold.
pub const MAX_VALUE: u32 = u32::MAX - 1;

/// The largest supported number of permutations (bins).
pub const MAX_PERM: usize = 1 << 16;

/// A MinHash signature: `k` slot values.
pub type Signature = Vec<u32>;

/// Stream names for [`SplitMix64`], so that one user seed gives unrelated
/// parameters to each use. Part of the stable output ([`crate::hash::HASH_VERSION`]).
const DOMAIN_CLASSIC: u64 = 0x6d69_6e68_6173_6801; // "minhash\x01"
const DOMAIN_OPH: u64 = 0x6f70_6800_0000_0001; // "oph\0...\x01"

/// Which sketch to compute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SketchKind {
    /// Classic MinHash: `k` independent hash functions.
    #[default]
    MinHash,
    /// One-permutation hashing with optimal densification.
    Oph,
}

impl fmt::Display for SketchKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SketchKind::MinHash => "minhash",
            SketchKind::Oph => "oph",
        })
    }
}

impl FromStr for SketchKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<SketchKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "minhash" | "classic" => Ok(SketchKind::MinHash),
            "oph" | "one-permutation" => Ok(SketchKind::Oph),
            _ => Err(Error::SketchKind { input: s.to_owned() }),
        }
    }
}

/// Computes signatures of one kind, size and seed. Build once per run (it
/// derives its parameters from the seed), share across threads (`Sync`),
/// and give each thread its own output buffer.
///
/// ```
/// use neardup_sketch::{estimate_jaccard, Shingling, SketchKind, Sketcher};
///
/// let sketcher = Sketcher::new(SketchKind::Oph, 128, 1)?;
/// let (mut shingles, mut a, mut b) = (Vec::new(), Vec::new(), Vec::new());
/// let w = Shingling::Word(3);
/// w.shingle_hashes("the quick brown fox jumps over the lazy dog", 1, &mut shingles);
/// sketcher.sketch(&shingles, &mut a);
/// w.shingle_hashes("the quick brown fox jumped over the lazy dog", 1, &mut shingles);
/// sketcher.sketch(&shingles, &mut b);
/// // True Jaccard: 4 shared of 10 distinct shingles = 0.4.
/// assert!((estimate_jaccard(&a, &b) - 0.4).abs() < 0.2);
/// # Ok::<(), neardup_sketch::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Sketcher {
    kind: SketchKind,
    num_perm: usize,
    seed: u64,
    level: Level,
    /// Classic: `a_i`, `b_i` of `h_i`, padded to whole blocks.
    a: Vec<Block>,
    b: Vec<Block>,
    /// OPH: re-keys shingle hashes with the seed.
    oph_key: u64,
    /// OPH: the densification probe sequences.
    densifier: Option<Densifier>,
}

impl Sketcher {
    /// A sketcher of `num_perm` slots (`1..=65536`) derived from `seed`.
    ///
    /// # Errors
    /// [`Error::Parameter`] if `num_perm` is out of range.
    pub fn new(kind: SketchKind, num_perm: usize, seed: u64) -> Result<Sketcher> {
        if !(1..=MAX_PERM).contains(&num_perm) {
            return Err(Error::Parameter {
                name: "num_perm",
                value: num_perm.to_string(),
                expected: "1 to 65536",
            });
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let (mut oph_key, mut densifier) = (0, None);
        match kind {
            SketchKind::MinHash => {
                let mut rng = SplitMix64::new(seed, DOMAIN_CLASSIC);
                let blocks = num_perm.div_ceil(LANES);
                let mut next_block = || -> Block { std::array::from_fn(|_| rng.next_u64()) };
                for _ in 0..blocks {
                    a.push(next_block());
                    b.push(next_block());
                }
            }
            SketchKind::Oph => {
                let mut rng = SplitMix64::new(seed, DOMAIN_OPH);
                oph_key = rng.next_u64();
                densifier = Some(Densifier::new(num_perm, rng.next_u64()));
            }
        }
        Ok(Sketcher { kind, num_perm, seed, level: Level::detect(), a, b, oph_key, densifier })
    }

    /// The sketch kind.
    #[must_use]
    pub fn kind(&self) -> SketchKind {
        self.kind
    }

    /// Slots per signature (`k`).
    #[must_use]
    pub fn num_perm(&self) -> usize {
        self.num_perm
    }

    /// The seed the parameters were derived from.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Bytes of parameters held.
    #[must_use]
    pub fn memory_usage(&self) -> usize {
        std::mem::size_of::<Sketcher>()
            + (self.a.len() + self.b.len()) * std::mem::size_of::<Block>()
            + self.densifier.as_ref().map_or(0, Densifier::memory_usage)
    }

    /// Clears `out` and writes the signature of the shingle set whose hashes
    /// are `shingle_hashes` (repeats and order don't matter). No shingles
    /// give the empty signature (all [`EMPTY`]).
    pub fn sketch(&self, shingle_hashes: &[u64], out: &mut Vec<u32>) {
        out.clear();
        let k = self.num_perm;
        if shingle_hashes.is_empty() {
            out.resize(k, EMPTY);
            return;
        }
        match self.kind {
            SketchKind::MinHash => {
                out.resize(self.a.len() * LANES, u32::MAX);
                kernel::min_hash(self.level, &self.a, &self.b, shingle_hashes, out);
                out.truncate(k);
                // min(clamp(v)) == clamp(min(v)): clamping once here keeps
                // every real slot off the `EMPTY` value at no cost per shingle.
                for v in out.iter_mut() {
                    *v = (*v).min(MAX_VALUE);
                }
            }
            SketchKind::Oph => self.oph(shingle_hashes, out),
        }
    }

    /// One-permutation hashing: bin from the high 32 bits of the re-keyed
    /// hash, value from the low 32.
    fn oph(&self, hashes: &[u64], out: &mut Vec<u32>) {
        let k = self.num_perm;
        out.resize(k, EMPTY);
        let bins = k as u32; // k <= MAX_PERM
        for &h in hashes {
            let g = mix64(h ^ self.oph_key);
            let bin = fast_range((g >> 32) as u32, bins) as usize;
            let v = (g as u32).min(MAX_VALUE);
            // `bin < k == out.len()`, so indexing never fails; the compiler
            // keeps one bounds check, cheaper than proving it.
            if let Some(slot) = out.get_mut(bin) {
                *slot = (*slot).min(v);
            }
        }
        // Optimal densification of the bins no shingle fell into.
        if let Some(d) = &self.densifier {
            d.densify(out);
        }
    }
}

/// The fraction of slots at which `a` and `b` agree: an unbiased estimate
/// of the Jaccard similarity of the two shingle sets, with standard error
/// `sqrt(J(1-J)/k)`.
///
/// Both signatures must come from the same [`Sketcher`] settings. If their
/// lengths differ, the missing slots count as disagreements; two empty
/// slices give `0.0`.
#[must_use]
pub fn estimate_jaccard(a: &[u32], b: &[u32]) -> f64 {
    let n = a.len().max(b.len());
    if n == 0 {
        return 0.0;
    }
    let equal = a.iter().zip(b).filter(|(x, y)| x == y).count();
    equal as f64 / n as f64
}

/// Whether `sig` is the signature of a text without shingles.
#[must_use]
pub fn is_empty_signature(sig: &[u32]) -> bool {
    sig.iter().all(|&v| v == EMPTY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::SplitMix64;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngSeed};

    const KINDS: [SketchKind; 2] = [SketchKind::MinHash, SketchKind::Oph];

    fn sig(s: &Sketcher, hashes: &[u64]) -> Vec<u32> {
        let mut out = vec![7; 3]; // must be cleared
        s.sketch(hashes, &mut out);
        out
    }

    /// Two sets of shingle hashes of sizes `na`, `nb` sharing `shared`.
    fn pair(rng: &mut SplitMix64, na: usize, nb: usize, shared: usize) -> (Vec<u64>, Vec<u64>) {
        let common: Vec<u64> = (0..shared).map(|_| rng.next_u64()).collect();
        let mut a = common.clone();
        a.extend((shared..na).map(|_| rng.next_u64()));
        let mut b = common;
        b.extend((shared..nb).map(|_| rng.next_u64()));
        (a, b)
    }

    #[test]
    fn kind_parses_and_displays() {
        for k in KINDS {
            assert_eq!(k.to_string().parse::<SketchKind>().unwrap(), k);
        }
        assert!("lsh".parse::<SketchKind>().is_err());
        assert_eq!(serde_json::to_string(&SketchKind::Oph).unwrap(), "\"oph\"");
    }

    #[test]
    fn num_perm_is_checked() {
        assert!(Sketcher::new(SketchKind::MinHash, 0, 1).is_err());
        assert!(Sketcher::new(SketchKind::Oph, MAX_PERM + 1, 1).is_err());
        assert!(Sketcher::new(SketchKind::Oph, 1, 1).is_ok());
    }

    #[test]
    fn empty_input_is_the_sentinel() {
        for kind in KINDS {
            let s = Sketcher::new(kind, 100, 1).unwrap();
            let empty = sig(&s, &[]);
            assert_eq!(empty, vec![EMPTY; 100]);
            assert!(is_empty_signature(&empty));
            let one = sig(&s, &[42]);
            assert!(!is_empty_signature(&one));
            assert!(one.iter().all(|&v| v <= MAX_VALUE));
            assert_eq!(estimate_jaccard(&empty, &one), 0.0);
            assert_eq!(estimate_jaccard(&empty, &empty), 1.0);
        }
    }

    #[test]
    fn order_and_repeats_do_not_matter() {
        for kind in KINDS {
            let s = Sketcher::new(kind, 64, 9).unwrap();
            let a = [5u64, 1, 99, 1 << 40, 5];
            let b = [1 << 40, 99, 5, 1];
            assert_eq!(sig(&s, &a), sig(&s, &b));
        }
    }

    #[test]
    fn seed_changes_signature() {
        for kind in KINDS {
            let h: Vec<u64> = (0..50).collect();
            let a = sig(&Sketcher::new(kind, 64, 1).unwrap(), &h);
            let b = sig(&Sketcher::new(kind, 64, 2).unwrap(), &h);
            assert!(estimate_jaccard(&a, &b) < 0.2, "{kind}");
        }
    }

    /// Frozen outputs: signatures are stored in files, so a change here
    /// must bump `HASH_VERSION`.
    #[test]
    fn signatures_are_frozen() {
        let h: Vec<u64> = (0..20u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).collect();
        let classic = sig(&Sketcher::new(SketchKind::MinHash, 4, 1).unwrap(), &h);
        let oph = sig(&Sketcher::new(SketchKind::Oph, 4, 1).unwrap(), &h);
        assert_eq!(classic, FROZEN_CLASSIC);
        assert_eq!(oph, FROZEN_OPH);
    }
    const FROZEN_CLASSIC: [u32; 4] = [101_561_931, 292_602_174, 126_096_631, 576_694_750];
    // Bin 1 gets no shingle here, so this also pins densification.
    const FROZEN_OPH: [u32; 4] = [1_262_643_049, 1_262_643_049, 207_945_701, 76_625_020];

    /// The plain definition of an OPH signature, written apart from the
    /// sketcher's loops: each bin's minimum, then each empty bin copies the
    /// first bin of its probe sequence that holds a shingle.
    fn oph_definition(s: &Sketcher, hashes: &[u64]) -> Vec<u32> {
        let k = s.num_perm;
        if hashes.is_empty() {
            return vec![EMPTY; k];
        }
        let mut bins = vec![None::<u32>; k];
        for &h in hashes {
            let g = mix64(h ^ s.oph_key);
            let bin = (((g >> 32) * k as u64) >> 32) as usize;
            let v = (g as u32).min(MAX_VALUE);
            bins[bin] = Some(bins[bin].map_or(v, |b| b.min(v)));
        }
        let d = s.densifier.as_ref().unwrap();
        (0..k)
            .map(|i| {
                bins[i].unwrap_or_else(|| {
                    (1..).find_map(|t| bins[d.probe(i, t)]).unwrap() // some bin holds one
                })
            })
            .collect()
    }

    /// Every OPH signature at every CPU level, against the definition.
    fn check_oph(s: &mut Sketcher, hashes: &[u64]) -> std::result::Result<(), String> {
        let want = oph_definition(s, hashes);
        for level in Level::available() {
            if let Some(d) = s.densifier.as_mut() {
                d.set_level(level);
            }
            let got = sig(s, hashes);
            if got != want {
                return Err(format!("k={} n={} {level:?}", s.num_perm, hashes.len()));
            }
        }
        Ok(())
    }

    /// Edge cases: no shingle, one, two or three (whose bins' probes miss
    /// for the longest), fewer shingles than bins, more, and tiny `k`.
    #[test]
    fn oph_matches_the_definition_on_small_sets() {
        let mut rng = SplitMix64::new(5, 6);
        for k in [1usize, 2, 3, 4, 5, 31, 64, 128, 200, 256, 257, 1024, 1500] {
            let mut s = Sketcher::new(SketchKind::Oph, k, rng.next_u64()).unwrap();
            for n in (0..=12).chain([k / 2, k, 3 * k]) {
                for _ in 0..4 {
                    let h: Vec<u64> = (0..n).map(|_| rng.next_u64()).collect();
                    check_oph(&mut s, &h).unwrap();
                }
            }
        }
    }

    #[test]
    fn densification_fills_every_bin_from_a_real_one() {
        let s = Sketcher::new(SketchKind::Oph, 256, 3).unwrap();
        let mut rng = SplitMix64::new(1, 1);
        for n in [1usize, 2, 3, 10, 100] {
            let h: Vec<u64> = (0..n).map(|_| rng.next_u64()).collect();
            let out = sig(&s, &h);
            assert_eq!(out.len(), 256);
            let mut distinct = out.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert!(distinct.len() <= n, "values come from at most n bins");
            assert!(out.iter().all(|&v| v <= MAX_VALUE));
        }
    }

    #[test]
    fn memory_usage_counts_tables() {
        let classic = Sketcher::new(SketchKind::MinHash, 128, 1).unwrap();
        assert!(classic.memory_usage() >= 128 * 16);
        let oph = Sketcher::new(SketchKind::Oph, 128, 1).unwrap();
        assert!(oph.memory_usage() >= 128 * 32 * 6);
    }

    #[test]
    fn classic_matches_across_kernel_levels() {
        let mut s = Sketcher::new(SketchKind::MinHash, 100, 5).unwrap();
        let mut rng = SplitMix64::new(2, 2);
        let h: Vec<u64> = (0..333).map(|_| rng.next_u64()).collect();
        let want = {
            s.level = Level::Portable;
            sig(&s, &h)
        };
        for level in Level::available() {
            s.level = level;
            assert_eq!(sig(&s, &h), want, "{level:?}");
        }
    }

    /// Estimation error stays within 4 standard errors (+ slack for the
    /// discreteness of small sets) over many seeded pairs of controlled
    /// overlap, for both kinds. Deterministic: fixed seeds, no proptest
    /// randomness; at 4σ a correct sketch fails a given case with
    /// probability ~6e-5, so a failure here means a real bias.
    #[test]
    fn estimate_error_within_theoretical_bound() {
        let mut rng = SplitMix64::new(2024, 7);
        for kind in KINDS {
            for k in [64usize, 128, 256] {
                let s = Sketcher::new(kind, k, rng.next_u64()).unwrap();
                let mut total_err = 0.0;
                let mut cases = 0.0;
                for (na, nb, shared) in [
                    (1000, 1000, 900),
                    (1000, 1000, 500),
                    (1000, 1000, 100),
                    (1000, 1000, 0),
                    (1000, 1000, 1000),
                    (50, 80, 40),
                    (300, 3000, 300),
                    (20, 20, 10),
                    (5, 5, 3),
                ] {
                    for _ in 0..8 {
                        let (a, b) = pair(&mut rng, na, nb, shared);
                        let j = shared as f64 / (na + nb - shared) as f64;
                        let est = estimate_jaccard(&sig(&s, &a), &sig(&s, &b));
                        let bound = 4.0 * (j * (1.0 - j) / k as f64).sqrt() + 0.02;
                        assert!(
                            (est - j).abs() <= bound,
                            "{kind} k={k} |A|={na} |B|={nb} shared={shared}: J={j:.3} est={est:.3}"
                        );
                        total_err += est - j;
                        cases += 1.0;
                    }
                }
                // No systematic bias: the mean signed error is small.
                assert!(
                    (total_err / cases).abs() < 0.02,
                    "{kind} k={k} bias {}",
                    total_err / cases
                );
            }
        }
    }

    proptest! {
        #![proptest_config(Config { cases: 64, rng_seed: RngSeed::Fixed(7), ..Config::default() })]

        /// Randomised version of the bound above: any overlap, any sizes.
        #[test]
        fn estimate_error_prop(
            na in 1usize..600,
            nb in 1usize..600,
            frac in 0.0f64..=1.0,
            seed in any::<u64>(),
            oph in any::<bool>(),
        ) {
            let kind = if oph { SketchKind::Oph } else { SketchKind::MinHash };
            let k = 128;
            let shared = ((na.min(nb) as f64) * frac) as usize;
            let mut rng = SplitMix64::new(seed, 0);
            let (a, b) = pair(&mut rng, na, nb, shared);
            let s = Sketcher::new(kind, k, seed).unwrap();
            let j = shared as f64 / (na + nb - shared) as f64;
            let est = estimate_jaccard(&sig(&s, &a), &sig(&s, &b));
            let bound = 4.0 * (j * (1.0 - j) / k as f64).sqrt() + 0.03;
            prop_assert!((est - j).abs() <= bound, "J={} est={}", j, est);
        }

        /// OPH signatures are the definition's, for any set and size.
        #[test]
        fn oph_matches_the_definition(
            h in prop::collection::vec(any::<u64>(), 0..400),
            k in prop_oneof![1usize..=8, 60usize..=300, Just(128), Just(256)],
            seed in any::<u64>(),
        ) {
            let mut s = Sketcher::new(SketchKind::Oph, k, seed).unwrap();
            prop_assert_eq!(check_oph(&mut s, &h), Ok(()));
        }

        /// Identical sets give identical signatures.
        #[test]
        fn identical_sets_identical_signatures(
            mut h in prop::collection::vec(any::<u64>(), 0..300),
            k in 1usize..300,
            oph in any::<bool>(),
        ) {
            let kind = if oph { SketchKind::Oph } else { SketchKind::MinHash };
            let s = Sketcher::new(kind, k, 11).unwrap();
            let a = sig(&s, &h);
            h.reverse();
            h.extend_from_slice(&h.clone());
            prop_assert_eq!(&a, &sig(&s, &h));
            prop_assert_eq!(a.len(), k);
        }
    }
}
