//! Exact Jaccard similarity and containment of shingle sets, for verifying
//! LSH candidates.
//!
//! LSH only proposes pairs; whether a pair is really above the threshold is
//! decided here, on the exact shingle sets. Sets are sorted, deduplicated
//! `&[u64]` slices (see [`crate::shingle::into_set`]), so the intersection is
//! a linear merge — `O(|A| + |B|)`, no hashing, no allocation — written
//! without data-dependent branches (each step advances one or both cursors
//! by a comparison result), which avoids the ~50 % mispredictions a
//! branchy merge suffers on random hashes. When one set is much smaller
//! (`16×`), each of its elements is galloped for in the larger one instead
//! (`O(|A| log |B|)`), which matters for containment of a short text in a
//! long one.
//!
//! Conventions for empty sets: `J(∅, ∅) = 1` and `C(∅, ∅) = 1` (two empty
//! texts are the same text), and `0` when exactly one is empty — matching
//! [`crate::estimate_jaccard`] on the empty sentinel signature.

use crate::kernel::Level;

/// `|A ∩ B|` for sorted, deduplicated slices.
#[must_use]
pub fn intersection_size(a: &[u64], b: &[u64]) -> usize {
    // No bound to reach: the count always completes.
    count_reaching(a, b, f64::NEG_INFINITY).unwrap_or(0)
}

/// `|A ∩ B|`, or `None` when a merge finds it below `need`, often long
/// before the merge ends. The merge is linear (whole blocks on a vector
/// unit first, [`crate::kernel::merge_blocks`], then branch-free a step at
/// a time), checked every `STRIDE` steps: the intersection can grow by at
/// most what is left of the side with fewer elements left. A much smaller
/// set is galloped for instead, and always counted whole.
///
/// Nearly every pair LSH proposes is below the threshold, and a merge can
/// prove it once about a fifth of it is done; the check costs a few
/// instructions, so it comes often (it came every 512 steps, past the end
/// of most sets of a few hundred shingles).
fn count_reaching(a: &[u64], b: &[u64], need: f64) -> Option<usize> {
    count_reaching_at(crate::kernel::level(), a, b, need)
}

/// [`count_reaching`] with the blocks merged at `level` (tests try each).
fn count_reaching_at(level: Level, a: &[u64], b: &[u64], need: f64) -> Option<usize> {
    const STRIDE: usize = 32;
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if small.is_empty() {
        return Some(0);
    }
    if small.len() * 16 < large.len() {
        return Some(gallop_count(small, large));
    }
    // Whole blocks on a vector unit, the rest one element a step.
    let (mut i, mut j, mut n) = crate::kernel::merge_blocks(level, a, b, need)?;
    while i < a.len() && j < b.len() {
        let (ea, eb) = ((i + STRIDE).min(a.len()), (j + STRIDE).min(b.len()));
        while i < ea && j < eb {
            let (x, y) = (a[i], b[j]);
            n += usize::from(x == y);
            i += usize::from(x <= y);
            j += usize::from(y <= x);
        }
        if ((n + (a.len() - i).min(b.len() - j)) as f64) < need {
            return None;
        }
    }
    // The blocks may have merged everything.
    ((n as f64) >= need).then_some(n)
}

/// For each element of `small`, exponential then binary search in the rest
/// of `large` (both sorted, so the search start only moves right).
fn gallop_count(small: &[u64], large: &[u64]) -> usize {
    let mut rest = large;
    let mut n = 0;
    for &x in small {
        // Find a bound `hi` with rest[hi] >= x by doubling steps.
        let mut hi = 1;
        while hi < rest.len() && rest[hi] < x {
            hi *= 2;
        }
        let lo = hi / 2;
        let hi = (hi + 1).min(rest.len());
        match rest[lo..hi].binary_search(&x) {
            Ok(p) => {
                n += 1;
                rest = &rest[lo + p + 1..];
            }
            Err(p) => rest = &rest[lo + p..],
        }
        if rest.is_empty() {
            break;
        }
    }
    n
}

/// Jaccard similarity `|A ∩ B| / |A ∪ B|` of sorted, deduplicated slices.
#[must_use]
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let i = intersection_size(a, b);
    i as f64 / (a.len() + b.len() - i) as f64
}

/// [`jaccard`] when it can reach `threshold`; `None` when the set sizes, or
/// the merge so far, prove that it cannot (`J < threshold`, exactly: the
/// bound keeps a whole element of margin over any rounding).
///
/// Verification wants only the pairs that count. Most LSH candidates fall
/// well short, and `|A ∩ B|` must reach `t (|A| + |B|) / (1 + t)` for
/// `J ≥ t`: a pair of sizes too far apart is refused without a merge, and a
/// merge stops once what is left of the shorter side cannot make up the
/// difference.
#[must_use]
pub fn jaccard_at_least(a: &[u64], b: &[u64], threshold: f64) -> Option<f64> {
    if a.is_empty() || b.is_empty() {
        let j = jaccard(a, b);
        return (j >= threshold).then_some(j);
    }
    if !sizes_can_reach(a.len(), b.len(), threshold) {
        return None;
    }
    let i = count_reaching(a, b, need(a.len(), b.len(), threshold))?;
    let j = i as f64 / (a.len() + b.len() - i) as f64;
    (j >= threshold).then_some(j)
}

/// Whether two non-empty sets of these sizes may have a Jaccard
/// similarity of `threshold` or more: `false` exactly when
/// [`jaccard_at_least`] refuses them on their sizes alone, so a caller that
/// keeps its sets elsewhere can skip reading them.
#[must_use]
pub fn sizes_can_reach(a_len: usize, b_len: usize, threshold: f64) -> bool {
    a_len.min(b_len) as f64 >= need(a_len, b_len, threshold)
}

/// The intersection `J ≥ t` needs, `t (|A| + |B|) / (1 + t)`, less a whole
/// element of margin over any rounding.
fn need(a_len: usize, b_len: usize, threshold: f64) -> f64 {
    (threshold * (a_len + b_len) as f64 / (1.0 + threshold)).floor() - 1.0
}

/// Containment `|A ∩ B| / min(|A|, |B|)` of sorted, deduplicated slices:
/// how much of the smaller set lies in the larger (`1.0` when one text is
/// a partial copy of the other).
#[must_use]
pub fn containment(a: &[u64], b: &[u64]) -> f64 {
    let min = a.len().min(b.len());
    if min == 0 {
        return if a.len() == b.len() { 1.0 } else { 0.0 };
    }
    intersection_size(a, b) as f64 / min as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn set(v: Vec<u64>) -> Vec<u64> {
        v.into_iter().collect::<BTreeSet<_>>().into_iter().collect()
    }

    #[test]
    fn small_examples() {
        let a = [1, 2, 3, 4];
        let b = [3, 4, 5];
        assert_eq!(intersection_size(&a, &b), 2);
        assert!((jaccard(&a, &b) - 2.0 / 5.0).abs() < 1e-12);
        assert!((containment(&a, &b) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(jaccard(&a, &a), 1.0);
        assert_eq!(containment(&[2, 3], &a), 1.0);
    }

    #[test]
    fn empty_sets() {
        assert_eq!(jaccard(&[], &[]), 1.0);
        assert_eq!(containment(&[], &[]), 1.0);
        assert_eq!(jaccard(&[], &[1]), 0.0);
        assert_eq!(containment(&[1], &[]), 0.0);
    }

    #[test]
    fn gallop_path_edges() {
        let large: Vec<u64> = (0..1000).map(|i| i * 3).collect();
        assert_eq!(intersection_size(&[0, 2997, 3000], &large), 2);
        assert_eq!(intersection_size(&[1, 2, 4], &large), 0);
        assert_eq!(intersection_size(&[u64::MAX], &large), 0);
    }

    proptest! {
        /// Sets refused on their sizes are refused by the merge too, and
        /// are below the threshold.
        #[test]
        fn sizes_alone_refuse_only_what_jaccard_at_least_refuses(
            a in proptest::collection::vec(0u64..300, 1..200),
            b in proptest::collection::vec(0u64..300, 1..200),
            t in 0.0f64..1.0,
        ) {
            let (a, b) = (set(a), set(b));
            if !sizes_can_reach(a.len(), b.len(), t) {
                prop_assert_eq!(jaccard_at_least(&a, &b, t), None);
                prop_assert!(jaccard(&a, &b) < t);
            }
        }

        /// The early exit never refuses a pair that reaches the threshold,
        /// and gives its exact Jaccard when it does.
        #[test]
        fn jaccard_at_least_is_jaccard_above_the_threshold(
            base in prop::collection::vec(any::<u64>(), 0..3000),
            drop_a in 0usize..1500,
            drop_b in 0usize..1500,
            extra in prop::collection::vec(any::<u64>(), 0..600),
            t in 0.05f64..1.0,
        ) {
            let base = set(base);
            let a: Vec<u64> = set(base.iter().skip(drop_a.min(base.len())).copied().collect());
            let mut b: Vec<u64> = base[..base.len() - drop_b.min(base.len())].to_vec();
            b.extend(extra);
            let b = set(b);
            let j = jaccard(&a, &b);
            let got = jaccard_at_least(&a, &b, t);
            if j >= t {
                prop_assert_eq!(got, Some(j));
            } else {
                prop_assert_eq!(got, None);
            }
            // At the threshold itself, exactly.
            prop_assert_eq!(jaccard_at_least(&a, &b, j), Some(j));
        }

        /// Every build of the block merge counts what a plain merge
        /// counts, and proves a pair below `need` exactly when it is.
        #[test]
        fn every_merge_build_counts_alike(
            a in prop::collection::vec(0u64..2000, 0..1500),
            b in prop::collection::vec(0u64..2000, 0..1500),
            t in 0.0f64..1.0,
        ) {
            let (a, b) = (set(a), set(b));
            let inter = a.iter().filter(|x| b.binary_search(x).is_ok()).count();
            let need = t * inter.max(1) as f64 * 1.5;
            let want = (inter as f64 >= need).then_some(inter);
            for level in Level::available() {
                prop_assert_eq!(count_reaching_at(level, &a, &b, f64::NEG_INFINITY), Some(inter), "{:?}", level);
                prop_assert_eq!(count_reaching_at(level, &b, &a, f64::NEG_INFINITY), Some(inter), "{:?}", level);
                if a.len() * 16 >= b.len() && b.len() * 16 >= a.len() {
                    prop_assert_eq!(count_reaching_at(level, &a, &b, need), want, "{:?} need {}", level, need);
                }
            }
        }

        /// Merge and gallop paths agree with a `HashSet` oracle.
        #[test]
        fn matches_hashset_oracle(
            a in prop::collection::vec(0u64..500, 0..300),
            b in prop::collection::vec(0u64..500, 0..40),
            wide in any::<bool>(),
        ) {
            let b = if wide { b.into_iter().map(|x| x.wrapping_mul(u64::MAX / 500)).collect() } else { b };
            let (a, b) = (set(a), set(b));
            let ha: std::collections::HashSet<u64> = a.iter().copied().collect();
            let hb: std::collections::HashSet<u64> = b.iter().copied().collect();
            let inter = ha.intersection(&hb).count();
            let union = ha.union(&hb).count();
            prop_assert_eq!(intersection_size(&a, &b), inter);
            prop_assert_eq!(intersection_size(&b, &a), inter);
            let want_j = if union == 0 { 1.0 } else { inter as f64 / union as f64 };
            prop_assert!((jaccard(&a, &b) - want_j).abs() < 1e-12);
            let min = ha.len().min(hb.len());
            let want_c = if min == 0 {
                if ha.len() == hb.len() { 1.0 } else { 0.0 }
            } else {
                inter as f64 / min as f64
            };
            prop_assert!((containment(&a, &b) - want_c).abs() < 1e-12);
        }
    }
}
