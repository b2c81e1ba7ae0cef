//! LSH banding: which `(bands, rows)` to use for a threshold, and the band
//! keys that put similar signatures in the same bucket.
//!
//! A signature of `k` slots is cut into `b` bands of `r` rows (`b·r ≤ k`).
//! Two documents become a *candidate pair* when all `r` slots of at least
//! one band agree. Since each slot agrees with probability `s` (their
//! Jaccard similarity), the candidate probability is
//!
//! ```text
//! P(s) = 1 − (1 − s^r)^b
//! ```
//!
//! an S-curve that rises steeply around `(1/b)^(1/r)`. Choosing `(b, r)` is
//! a trade: pairs below the threshold `t` that still become candidates cost
//! verification time (false positives), pairs above it that don't are
//! missed duplicates (false negatives). [`optimal_params`] minimises
//!
//! ```text
//! w_fp · ∫₀ᵗ P(s) ds  +  w_fn · ∫ₜ¹ (1 − P(s)) ds
//! ```
//!
//! over all `b·r ≤ k`, as datasketch's `MinHashLSH` does (Leskovec,
//! Rajaraman, Ullman, *Mining of Massive Datasets*, ch. 3), by composite
//! Simpson integration. [`optimal_params_containment`] does the same for
//! containment, after LSH Ensemble (Zhu et al., VLDB 2016); see its docs
//! and the crate's `DESIGN.md`.
//!
//! Band keys are 64-bit hashes of each band's values mixed with the band
//! index ([`LshParams::band_keys`]), so a bucket is identified by
//! `(band, key)` and two different bands never share one by accident.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::hash::mix64;

/// Number of bands and rows per band.
///
/// ```
/// use neardup_sketch::lsh::{optimal_params, LshParams};
///
/// let p = optimal_params(0.8, 128, 0.5, 0.5)?;
/// assert!(p.bands * p.rows <= 128);
/// assert!(p.probability(0.95) > 0.99 && p.probability(0.3) < 0.05);
///
/// let mut keys = Vec::new();
/// p.band_keys(&vec![7u32; 128], &mut keys)?;
/// assert_eq!(keys.len(), p.bands);
/// # Ok::<(), neardup_sketch::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LshParams {
    /// Bands `b` (at least 1).
    pub bands: usize,
    /// Rows `r` per band (at least 1).
    pub rows: usize,
}

/// Stream name of the band-key combiner (part of the stable output).
const DOMAIN_BAND: u64 = 0x6261_6e64_6b65_7901; // "bandkey\x01"

impl LshParams {
    /// `(bands, rows)`, both at least 1.
    ///
    /// # Errors
    /// [`Error::Parameter`] if either is 0.
    pub fn new(bands: usize, rows: usize) -> Result<LshParams> {
        let p = LshParams { bands, rows };
        p.validate()?;
        Ok(p)
    }

    fn validate(self) -> Result<()> {
        for (name, v) in [("bands", self.bands), ("rows", self.rows)] {
            if v == 0 {
                return Err(Error::Parameter { name, value: "0".into(), expected: "at least 1" });
            }
        }
        Ok(())
    }

    /// Signature slots the bands use (`bands * rows`).
    #[must_use]
    pub fn slots(self) -> usize {
        self.bands * self.rows
    }

    /// The probability that two documents of Jaccard similarity `s` share at
    /// least one band: `1 − (1 − s^r)^b`.
    #[must_use]
    pub fn probability(self, s: f64) -> f64 {
        candidate_probability(s, self.bands, self.rows)
    }

    /// The similarity at which the S-curve is steepest, `(1/b)^(1/r)`: a
    /// rough "effective threshold" for messages.
    #[must_use]
    pub fn effective_threshold(self) -> f64 {
        (1.0 / self.bands as f64).powf(1.0 / self.rows as f64)
    }

    /// Clears `out` and writes one key per band of `sig`: a 64-bit hash of
    /// the band's `r` values, seeded with the band index. Slots past
    /// `bands * rows` are ignored. The empty signature (see
    /// [`crate::minhash::EMPTY`]) has keys of its own, shared by all empty
    /// texts and no other.
    ///
    /// # Errors
    /// [`Error::SignatureTooShort`] if `sig` has fewer than `bands * rows`
    /// values; [`Error::Parameter`] if `bands` or `rows` is 0.
    pub fn band_keys(self, sig: &[u32], out: &mut Vec<u64>) -> Result<()> {
        self.validate()?;
        out.clear();
        let needed = self.slots();
        let Some(sig) = sig.get(..needed) else {
            return Err(Error::SignatureTooShort {
                found: sig.len(),
                bands: self.bands,
                rows: self.rows,
                needed,
            });
        };
        out.extend(sig.chunks_exact(self.rows).enumerate().map(|(i, band)| band_key(i, band)));
        Ok(())
    }
}

/// Hash chain over the band's values, two per step: `h ← mix64(h ⊕ w)`
/// starting from a band-specific state. [`mix64`] is a bijection with full
/// avalanche, so each value affects every key bit.
#[inline]
fn band_key(band: usize, values: &[u32]) -> u64 {
    let mut h = mix64(DOMAIN_BAND ^ (band as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut pairs = values.chunks_exact(2);
    for p in &mut pairs {
        h = mix64(h ^ (u64::from(p[0]) | u64::from(p[1]) << 32));
    }
    for &v in pairs.remainder() {
        h = mix64(h ^ u64::from(v) ^ (1 << 63));
    }
    h
}

/// `1 − (1 − s^r)^b`, clamped to `[0, 1]`.
#[must_use]
pub fn candidate_probability(s: f64, bands: usize, rows: usize) -> f64 {
    let s = s.clamp(0.0, 1.0);
    let (b, r) = (clamp_exp(bands), clamp_exp(rows));
    (1.0 - (1.0 - s.powi(r)).powi(b)).clamp(0.0, 1.0)
}

fn clamp_exp(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Composite Simpson's rule for `f` on `[lo, hi]` with ~`256` intervals per
/// unit length (at least 16): plenty for these smooth S-curves, whose
/// steepest part is ~`1/r` wide.
fn integrate(f: impl Fn(f64) -> f64, lo: f64, hi: f64) -> f64 {
    if hi <= lo {
        return 0.0;
    }
    let n = (((hi - lo) * 256.0).ceil() as usize).max(16) & !1; // even
    let h = (hi - lo) / n as f64;
    let mut sum = f(lo) + f(hi);
    for i in 1..n {
        let w = if i % 2 == 1 { 4.0 } else { 2.0 };
        sum += w * f(lo + h * i as f64);
    }
    sum * h / 3.0
}

fn check_inputs(threshold: f64, num_perm: usize, fp_weight: f64, fn_weight: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&threshold) {
        return Err(Error::Parameter {
            name: "threshold",
            value: threshold.to_string(),
            expected: "a number from 0 to 1",
        });
    }
    if num_perm == 0 {
        return Err(Error::Parameter {
            name: "num_perm",
            value: "0".into(),
            expected: "at least 1",
        });
    }
    for (name, w) in [("fp_weight", fp_weight), ("fn_weight", fn_weight)] {
        if !(w.is_finite() && w >= 0.0) {
            return Err(Error::Parameter {
                name,
                value: w.to_string(),
                expected: "a finite number >= 0",
            });
        }
    }
    if fp_weight + fn_weight <= 0.0 {
        return Err(Error::Parameter {
            name: "fp_weight + fn_weight",
            value: "0".into(),
            expected: "a positive sum",
        });
    }
    Ok(())
}

/// Minimises `fp_weight · FP + fn_weight · FN` over every `(b, r)` with
/// `b·r ≤ num_perm`, where `FP`, `FN` are the areas of the module docs and
/// `similarity(c)` maps the x-axis to the Jaccard similarity the sketch sees.
/// Ties keep the first found (fewest bands, then fewest rows).
fn optimise(
    threshold: f64,
    num_perm: usize,
    fp_weight: f64,
    fn_weight: f64,
    similarity: impl Fn(f64) -> f64,
) -> LshParams {
    let mut best = (f64::INFINITY, LshParams { bands: 1, rows: 1 });
    for b in 1..=num_perm {
        for r in 1..=num_perm / b {
            let p = |c: f64| candidate_probability(similarity(c), b, r);
            let fp = integrate(p, 0.0, threshold);
            let fneg = integrate(|c| 1.0 - p(c), threshold, 1.0);
            let err = fp_weight * fp + fn_weight * fneg;
            if err < best.0 {
                best = (err, LshParams { bands: b, rows: r });
            }
        }
    }
    best.1
}

/// The `(bands, rows)` with `bands·rows ≤ num_perm` that minimise the
/// weighted false-positive and false-negative areas around the Jaccard
/// `threshold` (datasketch's defaults are weights `0.5, 0.5`).
///
/// Cost: `O(k log k)` integrations, ~10 ms for `k = 128`; compute once per
/// run.
///
/// # Errors
/// [`Error::Parameter`] if `threshold` is outside `[0, 1]`, `num_perm` is
/// 0, or a weight is negative, not finite, or both are 0.
pub fn optimal_params(
    threshold: f64,
    num_perm: usize,
    fp_weight: f64,
    fn_weight: f64,
) -> Result<LshParams> {
    check_inputs(threshold, num_perm, fp_weight, fn_weight)?;
    Ok(optimise(threshold, num_perm, fp_weight, fn_weight, |s| s))
}

/// The banding that generates the fewest candidates while still making a
/// pair at exactly `threshold` a candidate with probability at least
/// `recall`: the most rows per band `r` (each row cuts false positives
/// sharply) such that `b = ⌊num_perm / r⌋` bands reach the target.
///
/// This is the right objective when every candidate is verified exactly
/// (a false candidate costs one comparison, a missed pair is lost): at
/// `0.8`, `128` permutations and `recall = 0.995` it gives `21 × 6`
/// (`P = 0.998` at 0.8, `0.92` at 0.7, `0.30` at 0.5), where the equal
/// weights of [`optimal_params`] give `9 × 13` (`P = 0.40` at 0.8).
///
/// # Errors
/// [`Error::Parameter`] if `threshold` or `recall` is outside `[0, 1]` or
/// `num_perm` is 0.
pub fn recall_params(threshold: f64, num_perm: usize, recall: f64) -> Result<LshParams> {
    check_inputs(threshold, num_perm, 0.5, 0.5)?;
    if !(0.0..=1.0).contains(&recall) {
        return Err(Error::Parameter {
            name: "recall",
            value: recall.to_string(),
            expected: "a number from 0 to 1",
        });
    }
    let mut best = LshParams { bands: num_perm, rows: 1 };
    for rows in 1..=num_perm {
        let bands = num_perm / rows;
        if candidate_probability(threshold, bands, rows) >= recall {
            best = LshParams { bands, rows };
        }
    }
    Ok(best)
}

/// With verified candidates, the probability that a pair at exactly the
/// threshold becomes a candidate, at least, under [`banding_for`].
pub const RECALL_AT_THRESHOLD: f64 = 0.995;

/// The banding neardup uses for a Jaccard `threshold`: every face and file
/// that needs one calls this, so that they agree.
///
/// With `verified` candidates (each checked exactly before it counts), a
/// missed pair is lost for good and a false candidate costs one comparison:
/// [`recall_params`] at [`RECALL_AT_THRESHOLD`] (`21 × 6` at 0.8 and 128
/// permutations). Unverified, the equal false-positive and false-negative
/// weights of [`optimal_params`] (`9 × 13`).
///
/// # Errors
/// As [`recall_params`] and [`optimal_params`].
pub fn banding_for(threshold: f64, num_perm: usize, verified: bool) -> Result<LshParams> {
    if verified {
        recall_params(threshold, num_perm, RECALL_AT_THRESHOLD)
    } else {
        optimal_params(threshold, num_perm, 0.5, 0.5)
    }
}

/// The Jaccard similarity of two sets when the smaller is a fraction
/// `containment` contained in the larger and `size_ratio = |larger| /
/// |smaller| ≥ 1`: `J = c / (ratio + 1 − c)`.
///
/// Derivation: with `q = |small|`, `|A∩B| = c·q` and `|A∪B| = q + ratio·q −
/// c·q`. (LSH Ensemble, Zhu et al. VLDB 2016, eq. 4.)
#[must_use]
pub fn jaccard_from_containment(containment: f64, size_ratio: f64) -> f64 {
    let c = containment.clamp(0.0, 1.0);
    let x = if size_ratio.is_finite() { size_ratio.max(1.0) } else { f64::MAX };
    c / (x + 1.0 - c)
}

/// LSH parameters for a **containment** threshold (`|A∩B| / min(|A|,|B|)
/// ≥ threshold`, the "partial copy" test), for pairs whose size ratio
/// `|larger| / |smaller|` is at most `size_ratio`.
///
/// MinHash only sees Jaccard similarity, and for a fixed containment `c`
/// the Jaccard similarity falls as the sizes drift apart:
/// `J = c / (x + 1 − c)` ([`jaccard_from_containment`]). Following LSH
/// Ensemble (Zhu, Nargesian, Pu, Miller, VLDB 2016, §5), we take the
/// candidate probability of a pair of containment `c` to be `P(J(c, x))`
/// at the worst ratio `x = size_ratio`, and minimise the weighted areas
/// `∫₀ᵗ P(J(c,x)) dc` and `∫ₜ¹ (1 − P(J(c,x))) dc` over `(b, r)`.
///
/// The approximation errs on the safe side for pairs closer in size than
/// `size_ratio` (their `J` is higher, so they are found more often, at the
/// price of more candidates to verify); pairs further apart are missed more
/// often than the optimisation assumes. LSH Ensemble removes that gap by
/// partitioning documents by size so that each partition has a tight
/// `size_ratio`; a caller can do the same by building one bucket table per
/// size class, each with its own parameters from this function. Candidates
/// must still be verified with exact [`crate::jaccard::containment`].
///
/// # Errors
/// As [`optimal_params`], and [`Error::Parameter`] if `size_ratio < 1`
/// or is not finite.
pub fn optimal_params_containment(
    threshold: f64,
    num_perm: usize,
    size_ratio: f64,
    fp_weight: f64,
    fn_weight: f64,
) -> Result<LshParams> {
    check_inputs(threshold, num_perm, fp_weight, fn_weight)?;
    if !(size_ratio.is_finite() && size_ratio >= 1.0) {
        return Err(Error::Parameter {
            name: "size_ratio",
            value: size_ratio.to_string(),
            expected: "a finite number >= 1 (|larger| / |smaller|)",
        });
    }
    Ok(optimise(threshold, num_perm, fp_weight, fn_weight, |c| {
        jaccard_from_containment(c, size_ratio)
    }))
}

#[cfg(test)]
mod recall_tests {
    use super::*;

    #[test]
    fn recall_params_reach_the_target_with_the_most_rows() {
        let p = recall_params(0.8, 128, 0.995).unwrap();
        assert_eq!((p.bands, p.rows), (21, 6));
        assert!(p.probability(0.8) >= 0.995);
        // One more row per band would miss the target.
        assert!(candidate_probability(0.8, 128 / 7, 7) < 0.995);
        assert!(recall_params(0.8, 128, 1.5).is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::SplitMix64;
    use crate::minhash::{SketchKind, Sketcher};
    use proptest::prelude::*;

    #[test]
    fn probability_is_an_s_curve() {
        let p = LshParams { bands: 16, rows: 8 };
        assert_eq!(p.probability(0.0), 0.0);
        assert_eq!(p.probability(1.0), 1.0);
        let mut last = 0.0;
        for i in 0..=100 {
            let v = p.probability(f64::from(i) / 100.0);
            assert!(v >= last);
            last = v;
        }
        assert!((p.effective_threshold() - (1.0f64 / 16.0).powf(1.0 / 8.0)).abs() < 1e-12);
    }

    #[test]
    fn simpson_is_accurate() {
        let exact = 1.0 / 9.0; // ∫₀¹ s^8 ds
        assert!((integrate(|s| s.powi(8), 0.0, 1.0) - exact).abs() < 1e-9);
        assert_eq!(integrate(|_| 1.0, 0.5, 0.5), 0.0);
    }

    /// Values datasketch's `_optimal_param` gives (scipy quad) for these
    /// inputs; numerical integration must reproduce them.
    #[test]
    fn optimal_params_match_datasketch() {
        let cases = [
            (0.5, 128, LshParams { bands: 25, rows: 5 }),
            (0.7, 128, LshParams { bands: 14, rows: 9 }),
            (0.8, 128, LshParams { bands: 9, rows: 13 }),
            (0.9, 128, LshParams { bands: 5, rows: 25 }),
            (0.7, 256, LshParams { bands: 25, rows: 10 }),
        ];
        for (t, k, want) in cases {
            let got = optimal_params(t, k, 0.5, 0.5).unwrap();
            assert_eq!(got, want, "threshold {t}, num_perm {k}");
        }
        assert_eq!(optimal_params(0.8, 128, 0.1, 0.9).unwrap(), LshParams { bands: 14, rows: 9 });
        assert_eq!(optimal_params(0.8, 128, 0.9, 0.1).unwrap(), LshParams { bands: 6, rows: 21 });
    }

    /// Values of datasketch's `lshensemble._optimal_param(t, k, k, x, 0.5,
    /// 0.5)`, whose integrands are ours for `x >= 1`.
    #[test]
    fn containment_params_match_datasketch_ensemble() {
        let cases = [
            (0.8, 128, 2.0, LshParams { bands: 32, rows: 4 }),
            (0.8, 128, 4.0, LshParams { bands: 42, rows: 3 }),
            (0.5, 128, 1.0, LshParams { bands: 32, rows: 4 }),
            (0.9, 256, 1.5, LshParams { bands: 32, rows: 8 }),
        ];
        for (t, k, x, want) in cases {
            let got = optimal_params_containment(t, k, x, 0.5, 0.5).unwrap();
            assert_eq!(got, want, "threshold {t}, num_perm {k}, ratio {x}");
        }
    }

    #[test]
    fn weights_shift_the_curve() {
        let fewer_misses = optimal_params(0.8, 128, 0.1, 0.9).unwrap();
        let fewer_fps = optimal_params(0.8, 128, 0.9, 0.1).unwrap();
        assert!(fewer_misses.probability(0.8) > fewer_fps.probability(0.8));
    }

    #[test]
    fn bad_inputs_are_refused() {
        assert!(optimal_params(1.5, 128, 0.5, 0.5).is_err());
        assert!(optimal_params(f64::NAN, 128, 0.5, 0.5).is_err());
        assert!(optimal_params(0.5, 0, 0.5, 0.5).is_err());
        assert!(optimal_params(0.5, 128, -1.0, 0.5).is_err());
        assert!(optimal_params(0.5, 128, 0.0, 0.0).is_err());
        assert!(optimal_params_containment(0.5, 128, 0.5, 0.5, 0.5).is_err());
        assert!(LshParams::new(0, 3).is_err());
        assert!(LshParams { bands: 2, rows: 0 }.band_keys(&[1, 2], &mut Vec::new()).is_err());
    }

    #[test]
    fn containment_conversion() {
        assert!((jaccard_from_containment(1.0, 1.0) - 1.0).abs() < 1e-12);
        assert!((jaccard_from_containment(0.5, 1.0) - 0.5 / 1.5).abs() < 1e-12);
        // Small set fully inside one 4x larger: J = 1/4.
        assert!((jaccard_from_containment(1.0, 4.0) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn containment_params_catch_contained_pairs() {
        let p = optimal_params_containment(0.8, 128, 2.0, 0.5, 0.5).unwrap();
        let jaccard_params = optimal_params(0.8, 128, 0.5, 0.5).unwrap();
        let at = |p: LshParams, c| p.probability(jaccard_from_containment(c, 2.0));
        // A pair 90 % contained at size ratio 2 has J = 0.43: the Jaccard
        // banding for 0.8 never proposes it, the containment banding does.
        assert!(at(p, 0.9) > 0.5, "{p:?}: {}", at(p, 0.9));
        assert!(at(jaccard_params, 0.9) < 0.01);
        assert!(at(p, 0.3) < 0.1, "{p:?}: {}", at(p, 0.3));
        // A wider size range needs a curve further left in Jaccard terms.
        let q = optimal_params_containment(0.8, 128, 4.0, 0.5, 0.5).unwrap();
        assert!(q.probability(0.3) > p.probability(0.3));
    }

    #[test]
    fn band_keys_depend_on_band_and_values() {
        let p = LshParams { bands: 4, rows: 3 };
        let mut keys = Vec::new();
        p.band_keys(&[1; 13], &mut keys).unwrap();
        assert_eq!(keys.len(), 4);
        // Same values in every band, different band index: different keys.
        let mut distinct = keys.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), 4);
        let mut other = Vec::new();
        let mut sig = [1; 12];
        sig[4] = 2; // band 1
        p.band_keys(&sig, &mut other).unwrap();
        assert_eq!((keys[0], keys[2], keys[3]), (other[0], other[2], other[3]));
        assert_ne!(keys[1], other[1]);
        assert!(matches!(
            p.band_keys(&[1; 11], &mut other),
            Err(Error::SignatureTooShort { needed: 12, .. })
        ));
    }

    #[test]
    fn band_keys_are_frozen() {
        let mut keys = Vec::new();
        LshParams { bands: 2, rows: 3 }.band_keys(&[1, 2, 3, 4, 5, 6], &mut keys).unwrap();
        assert_eq!(keys, FROZEN_KEYS);
    }
    const FROZEN_KEYS: [u64; 2] = [15_934_659_341_661_121_334, 1_334_334_020_407_381_086];

    /// End to end: pairs of sets at Jaccard `s` become candidates at about
    /// the rate `P(s)` predicts (binomial tolerance, fixed seeds).
    #[test]
    fn candidate_rate_follows_the_s_curve() {
        let p = optimal_params(0.7, 128, 0.5, 0.5).unwrap();
        let mut rng = SplitMix64::new(99, 1);
        for kind in [SketchKind::MinHash, SketchKind::Oph] {
            let sk = Sketcher::new(kind, 128, 5).unwrap();
            for shared in [100usize, 150, 170, 190] {
                let s = shared as f64 / (400 - shared) as f64;
                let trials = 300;
                let mut hits = 0;
                let (mut sa, mut sb, mut ka, mut kb) = (vec![], vec![], vec![], vec![]);
                for _ in 0..trials {
                    let common: Vec<u64> = (0..shared).map(|_| rng.next_u64()).collect();
                    let mut a = common.clone();
                    a.extend((shared..200).map(|_| rng.next_u64()));
                    let mut b = common;
                    b.extend((shared..200).map(|_| rng.next_u64()));
                    sk.sketch(&a, &mut sa);
                    sk.sketch(&b, &mut sb);
                    p.band_keys(&sa, &mut ka).unwrap();
                    p.band_keys(&sb, &mut kb).unwrap();
                    hits += usize::from(ka.iter().zip(&kb).any(|(x, y)| x == y));
                }
                let want = p.probability(s);
                let got = hits as f64 / f64::from(trials);
                let tol = 4.0 * (want * (1.0 - want) / f64::from(trials)).sqrt() + 0.03;
                assert!((got - want).abs() <= tol, "{kind} s={s:.2}: P={want:.3} got {got:.3}");
            }
        }
    }

    proptest! {
        /// Identical signatures give identical band keys.
        #[test]
        fn identical_signatures_identical_keys(
            sig in prop::collection::vec(any::<u32>(), 1..200),
            bands in 1usize..20,
        ) {
            let rows = (sig.len() / bands).max(1);
            let p = LshParams { bands: sig.len().min(bands), rows };
            if p.slots() <= sig.len() {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                p.band_keys(&sig, &mut a).unwrap();
                p.band_keys(&sig.clone(), &mut b).unwrap();
                prop_assert_eq!(a.len(), p.bands);
                prop_assert_eq!(a, b);
            }
        }

        /// Identical shingle sets → identical signatures → all band keys
        /// equal, for both kinds.
        #[test]
        fn identical_sets_all_bands_equal(
            h in prop::collection::vec(any::<u64>(), 0..300),
            oph in any::<bool>(),
        ) {
            let kind = if oph { SketchKind::Oph } else { SketchKind::MinHash };
            let sk = Sketcher::new(kind, 128, 3).unwrap();
            let p = LshParams { bands: 16, rows: 8 };
            let mut rev = h.clone();
            rev.reverse();
            let (mut sa, mut sb, mut ka, mut kb) = (vec![], vec![], vec![], vec![]);
            sk.sketch(&h, &mut sa);
            sk.sketch(&rev, &mut sb);
            prop_assert_eq!(&sa, &sb);
            p.band_keys(&sa, &mut ka).unwrap();
            p.band_keys(&sb, &mut kb).unwrap();
            prop_assert!(ka.iter().zip(&kb).all(|(x, y)| x == y));
        }
    }
}
