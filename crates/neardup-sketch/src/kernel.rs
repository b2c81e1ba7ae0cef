//! The classic-MinHash inner loop, and the one place this crate picks CPU
//! features at run time.
//!
//! # Why this module exists
//! Classic MinHash evaluates `k` hash functions per shingle, which makes it
//! the hottest loop of the whole near-duplicate pipeline (`k = 128` is
//! 128 multiply-add-shift-min steps per shingle). The loop is written so
//! that LLVM vectorizes it: shingles outer (four at a time, so each
//! signature lane is loaded and stored once per four shingles), permutations
//! inner over fixed `[u64; 16]` blocks, no branches. How well it vectorizes
//! depends on the instruction set the function is compiled for, and a
//! default `x86_64` build may only assume SSE2. Measured on the development
//! machine (Xeon with AVX-512, `k = 128`, 1000 random shingles):
//!
//! | compiled for        | ns / shingle |
//! |---------------------|-------------:|
//! | SSE2 (the default)  | 60           |
//! | AVX2                | 28           |
//! | AVX-512F            | 21           |
//!
//! So the same safe loop is compiled three times, with
//! `#[target_feature(enable = ...)]`, and [`Level::detect`] picks the best
//! one the running CPU supports, once, when a [`crate::Sketcher`] is built.
//! Calling a `#[target_feature]` function is `unsafe` (executing AVX-512 on
//! a CPU without it is undefined behaviour), which is why this crate allows
//! `unsafe_code` at `deny` instead of the workspace's `forbid`, and only
//! here: two `unsafe` blocks, each after a run-time feature check. All three
//! builds compute the same values (tested below); the portable one is the
//! fallback on every other CPU and architecture.

/// Lanes per parameter block: 16 `u32` outputs, a whole AVX-512 register.
pub(crate) const LANES: usize = 16;

/// One block of 16 permutation parameters.
pub(crate) type Block = [u64; LANES];

/// The instruction set the classic kernel runs with.
///
/// `Avx2` and `Avx512` are only ever produced by [`Level::detect`] (and by
/// `Level::available`, which filters by the same check); that is the
/// safety argument of [`min_hash`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    /// Whatever the crate is compiled for (SSE2 on a default x86-64 build).
    Portable,
    /// x86-64 with AVX2.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// x86-64 with AVX-512F.
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Level {
    /// The best level the running CPU supports.
    pub(crate) fn detect() -> Level {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Level::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Level::Avx2;
            }
        }
        Level::Portable
    }

    /// Every level the running CPU supports (for tests and benchmarks).
    #[cfg(test)]
    pub(crate) fn available() -> Vec<Level> {
        let mut v = vec![Level::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                v.push(Level::Avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                v.push(Level::Avx512);
            }
        }
        v
    }
}

/// Lowers each `mins[i]` to `min(mins[i], h_i(x))` over all `hashes`, where
/// `h_i(x) = ((a_i * x + b_i) mod 2^64) >> 32` and `x` is the shingle hash
/// folded to 32 bits (see [`fold`]). `mins.len()` must be
/// `a.len() * LANES` (callers pad `k` up to a multiple of [`LANES`]).
pub(crate) fn min_hash(level: Level, a: &[Block], b: &[Block], hashes: &[u64], mins: &mut [u32]) {
    debug_assert_eq!(a.len(), b.len());
    debug_assert_eq!(mins.len(), a.len() * LANES);
    match level {
        Level::Portable => min_hash_loop(a, b, hashes, mins),
        #[cfg(target_arch = "x86_64")]
        #[allow(unsafe_code)]
        // SAFETY: `Level::Avx2` is only constructed after
        // `is_x86_feature_detected!("avx2")` returned true on this CPU.
        Level::Avx2 => unsafe { x86::min_hash_avx2(a, b, hashes, mins) },
        #[cfg(target_arch = "x86_64")]
        #[allow(unsafe_code)]
        // SAFETY: `Level::Avx512` is only constructed after
        // `is_x86_feature_detected!("avx512f")` returned true on this CPU.
        Level::Avx512 => unsafe { x86::min_hash_avx512(a, b, hashes, mins) },
    }
}

/// Folds a 64-bit shingle hash to the 32-bit key of the hash family, so
/// that one multiply per lane suffices (see `DESIGN.md`, "Classic MinHash").
#[inline(always)]
pub(crate) fn fold(h: u64) -> u64 {
    (h ^ (h >> 32)) & 0xffff_ffff
}

#[inline(always)]
fn perm(a: u64, b: u64, x: u64) -> u32 {
    // `x < 2^32`, so LLVM multiplies with 32x32->64-bit lane multiplies
    // (`pmuludq`), two per lane instead of the three a full 64x64 needs.
    (a.wrapping_mul(x).wrapping_add(b) >> 32) as u32
}

/// The loop itself, safe and feature-agnostic; `inline(always)` so that each
/// `#[target_feature]` wrapper gets its own copy compiled for its features.
#[inline(always)]
fn min_hash_loop(a: &[Block], b: &[Block], hashes: &[u64], mins: &mut [u32]) {
    let mut quads = hashes.chunks_exact(4);
    for q in &mut quads {
        let (x0, x1, x2, x3) = (fold(q[0]), fold(q[1]), fold(q[2]), fold(q[3]));
        for ((m, a), b) in mins.chunks_exact_mut(LANES).zip(a).zip(b) {
            for j in 0..LANES {
                let v01 = perm(a[j], b[j], x0).min(perm(a[j], b[j], x1));
                let v23 = perm(a[j], b[j], x2).min(perm(a[j], b[j], x3));
                m[j] = m[j].min(v01.min(v23));
            }
        }
    }
    for &h in quads.remainder() {
        let x = fold(h);
        for ((m, a), b) in mins.chunks_exact_mut(LANES).zip(a).zip(b) {
            for j in 0..LANES {
                m[j] = m[j].min(perm(a[j], b[j], x));
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{min_hash_loop, Block};

    /// [`min_hash_loop`] compiled for AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) fn min_hash_avx2(a: &[Block], b: &[Block], hashes: &[u64], mins: &mut [u32]) {
        min_hash_loop(a, b, hashes, mins);
    }

    /// [`min_hash_loop`] compiled for AVX-512F.
    #[target_feature(enable = "avx512f,avx2")]
    pub(super) fn min_hash_avx512(a: &[Block], b: &[Block], hashes: &[u64], mins: &mut [u32]) {
        min_hash_loop(a, b, hashes, mins);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::SplitMix64;

    fn naive(a: &[Block], b: &[Block], hashes: &[u64]) -> Vec<u32> {
        let a: Vec<u64> = a.iter().flatten().copied().collect();
        let b: Vec<u64> = b.iter().flatten().copied().collect();
        a.iter()
            .zip(&b)
            .map(|(&a, &b)| {
                hashes
                    .iter()
                    .map(|&h| {
                        // Wide-integer oracle: (a*x + b) mod 2^64, high word.
                        let x = u128::from((h as u32) ^ ((h >> 32) as u32));
                        let y = (u128::from(a) * x + u128::from(b)) % (1u128 << 64);
                        (y >> 32) as u32
                    })
                    .fold(u32::MAX, u32::min)
            })
            .collect()
    }

    #[test]
    fn every_level_matches_the_oracle() {
        let mut rng = SplitMix64::new(3, 4);
        for blocks in [1, 3, 8] {
            let a: Vec<Block> =
                (0..blocks).map(|_| std::array::from_fn(|_| rng.next_u64())).collect();
            let mut b: Vec<Block> =
                (0..blocks).map(|_| std::array::from_fn(|_| rng.next_u64())).collect();
            // Edge parameters: carries out of the low word, all-ones.
            b[0][0] = u64::MAX;
            b[0][1] = 0;
            for n in [0usize, 1, 3, 4, 5, 17, 100] {
                let mut hashes: Vec<u64> = (0..n).map(|_| rng.next_u64()).collect();
                if n > 2 {
                    hashes[0] = u64::MAX;
                    hashes[1] = 0;
                }
                let want = naive(&a, &b, &hashes);
                for level in Level::available() {
                    let mut mins = vec![u32::MAX; blocks * LANES];
                    min_hash(level, &a, &b, &hashes, &mut mins);
                    assert_eq!(mins, want, "{level:?}, {n} hashes");
                }
            }
        }
    }

    #[test]
    fn detect_is_available() {
        assert!(Level::available().contains(&Level::detect()));
    }
}
