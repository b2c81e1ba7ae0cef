//! The classic-MinHash inner loop, OPH densification's row minimum and
//! copies, and verification's block merge: the one place this crate picks
//! CPU features at run time.
//!
//! # Why this module exists
//! Classic MinHash evaluates `k` hash functions per shingle, which makes it
//! the hottest loop of the whole near-duplicate pipeline (`k = 128` is
//! 128 multiply-add-shift-min steps per shingle). Three builds of it:
//!
//! - **portable**: safe scalar code written so that LLVM vectorizes it
//!   (shingles outer, four at a time so each signature lane is loaded and
//!   stored once per four shingles; permutations inner over fixed
//!   `[u64; 16]` blocks; no branches). It computes in 64-bit lanes and packs
//!   down to 32, and a default `x86_64` build only assumes SSE2;
//! - **AVX2** and **AVX-512F**: hand-vectorized with `std::arch` intrinsics
//!   (module `x86`), which compute directly in 32-bit lanes by splitting
//!   the multiplier, and keep the minima of a block in registers while all
//!   shingles stream past.
//!
//! Measured on the development machine (Xeon, AVX-512, `k = 128`, 400
//! shingles, best of 20 runs):
//!
//! | build                          | ns / shingle |
//! |--------------------------------|-------------:|
//! | portable, SSE2 (the default)   | 58           |
//! | portable, compiled for AVX2    | 32           |
//! | portable, compiled for AVX-512 | 23           |
//! | intrinsics, AVX2               | 21           |
//! | intrinsics, AVX-512F           | 15           |
//!
//! [`Level::detect`] picks the best build the running CPU supports, once,
//! when a [`crate::Sketcher`] is built. Calling a `#[target_feature]`
//! function is `unsafe` (executing AVX-512 on a CPU without it is undefined
//! behaviour), which is why this crate allows `unsafe_code` at `deny`
//! instead of the workspace's `forbid`, and only here: six `unsafe` blocks
//! (MinHash's two builds, OPH's row minimum and copies, the two builds of
//! the merge that exact Jaccard verification counts with), each on a [`Level`]
//! made only after a run-time feature check. Inside, every intrinsic used
//! is safe (no pointer loads or stores). All builds compute the same values,
//! tested against a 128-bit oracle; the portable one is the fallback on
//! every other CPU and architecture.

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

/// The portable loop, safe and feature-agnostic.
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

/// Lowers `acc[i]` to `table[j * k + i]` where that is smaller, for every
/// set bit `j` of `mask` (OPH densification's first-probe rows of the
/// filled bins, `src/densify.rs`). `acc.len()` is `k`.
///
/// The loop is plain Rust either way; the AVX2 build of it takes 16 `u16`
/// a `vpminuw`, where SSE2 has no unsigned 16-bit `min` and emulates it
/// with two instructions per 8.
pub(crate) fn min_rows(level: Level, table: &[u16], k: usize, mask: &[u32], acc: &mut [u16]) {
    match level {
        Level::Portable => min_rows_loop(table, k, mask, acc),
        #[cfg(target_arch = "x86_64")]
        #[allow(unsafe_code)]
        // SAFETY: `Level::Avx2` is only constructed after
        // `is_x86_feature_detected!("avx2")` returned true, `Level::Avx512`
        // after `avx512f`, which implies AVX2 (every AVX-512F CPU has it,
        // and Rust's `avx512f` target feature enables `avx2`).
        Level::Avx2 | Level::Avx512 => unsafe { x86::min_rows_avx2(table, k, mask, acc) },
    }
}

/// `sig[i] = sig[src[i] & 0xff]` for every `i` (`sig.len() ≤ 256`, every
/// source an index of `sig` whose own source is itself): OPH
/// densification's copies (`src/densify.rs`). Reading from a copy indexed
/// by a masked byte needs no bounds check; the AVX2 build is the same loop
/// compiled for AVX2 (LLVM does not turn it into gathers).
pub(crate) fn copy_sources(level: Level, sig: &mut [u32], src: &[u16]) {
    debug_assert!(sig.len() <= 256 && src.len() == sig.len());
    match level {
        Level::Portable => copy_sources_loop(sig, src),
        #[cfg(target_arch = "x86_64")]
        #[allow(unsafe_code)]
        // SAFETY: as for `min_rows`.
        Level::Avx2 | Level::Avx512 => unsafe { x86::copy_sources_avx2(sig, src) },
    }
}

/// The best [`Level`] of the running CPU, detected once (for callers that
/// have no [`crate::Sketcher`] to carry one, such as verification).
pub(crate) fn level() -> Level {
    static LEVEL: std::sync::OnceLock<Level> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(Level::detect)
}

/// Merges whole blocks (of 8 on AVX-512F, 4 on AVX2) from the fronts of
/// sorted, deduplicated `a` and `b` for [`crate::jaccard`]: `Some((i, j,
/// n))` when `a[..i]` and `b[..j]` are merged and hold `n` common elements
/// (the caller finishes the rest), or `None` once the intersection is
/// proven below `need` (what is left of the shorter side cannot make it
/// up). With no vector unit for it, merges nothing: `Some((0, 0, 0))`.
///
/// Each step compares a block of `a` with a block of `b` all against all
/// (one compare per rotation of the second: a block's width of them) and
/// steps past the block with the smaller last element, or both when equal:
/// two equal elements are always in the two current blocks at some step (a
/// block is left only when the other side's current block ends at or above
/// it), and only once. A scalar merge of random hashes does one element per
/// step, each a dependent compare; here a step covers one or two blocks.
pub(crate) fn merge_blocks(
    level: Level,
    a: &[u64],
    b: &[u64],
    need: f64,
) -> Option<(usize, usize, usize)> {
    match level {
        #[cfg(target_arch = "x86_64")]
        #[allow(unsafe_code)]
        // SAFETY: `Level::Avx512` is only constructed after
        // `is_x86_feature_detected!("avx512f")` returned true on this CPU.
        Level::Avx512 => unsafe { x86::merge_blocks_avx512(a, b, need) },
        #[cfg(target_arch = "x86_64")]
        #[allow(unsafe_code)]
        // SAFETY: `Level::Avx2` is only constructed after
        // `is_x86_feature_detected!("avx2")` returned true on this CPU.
        Level::Avx2 => unsafe { x86::merge_blocks_avx2(a, b, need) },
        Level::Portable => Some((0, 0, 0)),
    }
}

#[inline(always)]
fn copy_sources_loop(sig: &mut [u32], src: &[u16]) {
    match sig.len() {
        // A power-of-two `k`: the copy is the signature itself and the
        // mask of an index is its bound.
        64 => copy_sources_fixed::<64>(sig, src),
        128 => copy_sources_fixed::<128>(sig, src),
        n => {
            let mut vals = [0u32; 256];
            let n = n.min(256);
            vals[..n].copy_from_slice(&sig[..n]);
            for (v, &s) in sig.iter_mut().zip(src) {
                *v = vals[usize::from(s & 0xff)];
            }
        }
    }
}

/// `copy_sources` for `k = N`, a power of two (every source is below it).
#[inline(always)]
fn copy_sources_fixed<const N: usize>(sig: &mut [u32], src: &[u16]) {
    let (Some(sig), Some(src)) = (sig.first_chunk_mut::<N>(), src.first_chunk::<N>()) else {
        return;
    };
    let vals = *sig;
    for (v, &s) in sig.iter_mut().zip(src) {
        *v = vals[usize::from(s) & (N - 1)];
    }
}

/// `min_rows` for any `k`: LLVM vectorizes the inner loop, but loads and
/// stores `acc` for every row.
#[inline(always)]
fn min_rows_loop(table: &[u16], k: usize, mask: &[u32], acc: &mut [u16]) {
    match k {
        // The usual sizes: `acc` stays in registers across rows (8 AVX2
        // registers at k = 128), a row costs `k / 16` `vpminuw`s with a
        // memory operand and nothing else (a quarter of the general loop's
        // instructions).
        64 => min_rows_fixed::<64>(table, mask, acc),
        128 => min_rows_fixed::<128>(table, mask, acc),
        _ => for_each_bit(mask, |j| {
            if let Some(row) = table.get(j * k..(j + 1) * k) {
                for (a, &r) in acc.iter_mut().zip(row) {
                    *a = (*a).min(r);
                }
            }
        }),
    }
}

#[inline(always)]
fn min_rows_fixed<const N: usize>(table: &[u16], mask: &[u32], acc: &mut [u16]) {
    let Some(acc) = acc.first_chunk_mut::<N>() else {
        return;
    };
    let mut a = *acc;
    for_each_bit(mask, |j| {
        if let Some(row) = table.get(j * N..).and_then(<[u16]>::first_chunk::<N>) {
            for (a, &r) in a.iter_mut().zip(row) {
                *a = (*a).min(r);
            }
        }
    });
    *acc = a;
}

/// Calls `f(j)` for every set bit `j` of `mask`, in increasing order
/// (also densify's walk over its filled-bin bitmap). Always inlined, so
/// that the AVX2 builds above compile it with their features.
#[inline(always)]
pub(crate) fn for_each_bit(mask: &[u32], mut f: impl FnMut(usize)) {
    for (w, &bits) in mask.iter().enumerate() {
        let mut bits = bits;
        while bits != 0 {
            f(w * 32 + bits.trailing_zeros() as usize);
            bits &= bits - 1;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! Hand-vectorized loops. Auto-vectorized, the portable loop computes
    //! each value in a 64-bit lane and then packs lanes down to 32 bits. Here
    //! we split `a = a_hi·2³² + a_lo` and use
    //! `hi32(a·x + b) = hi32(a_lo·x + b) + lo32(a_hi·x)  (mod 2³²)`:
    //! `pmuludq` forms `a_lo·x + b` for the even permutations of a vector
    //! in place and for the odd ones from `a_lo` shifted down 32 bits; one
    //! blend interleaves the two high halves into 32-bit lanes, and one
    //! 32-bit multiply adds `a_hi·x`. Ten instructions per 8 permutations
    //! (AVX2) or 16 (AVX-512), no packing. All intrinsics used are safe
    //! inside these `#[target_feature]` functions: vectors are built from
    //! and read back into plain arrays, no pointers.

    use std::arch::x86_64::{
        __m256i, __m512i, _mm256_add_epi32, _mm256_add_epi64, _mm256_blend_epi32,
        _mm256_castsi256_si128, _mm256_extracti128_si256, _mm256_min_epu32, _mm256_mul_epu32,
        _mm256_mullo_epi32, _mm256_set1_epi32, _mm256_setr_epi32, _mm256_setr_epi64x,
        _mm256_srli_epi64, _mm512_add_epi32, _mm512_add_epi64, _mm512_extracti32x4_epi32,
        _mm512_mask_blend_epi32, _mm512_min_epu32, _mm512_mul_epu32, _mm512_mullo_epi32,
        _mm512_set1_epi32, _mm512_setr_epi32, _mm512_setr_epi64, _mm512_srli_epi64,
        _mm_cvtsi128_si32, _mm_extract_epi32,
    };
    use std::arch::x86_64::{
        _mm256_castsi256_pd, _mm256_cmpeq_epi64, _mm256_movemask_pd, _mm256_or_si256,
        _mm256_permute4x64_epi64, _mm512_alignr_epi64, _mm512_cmpeq_epi64_mask,
    };

    use super::{copy_sources_loop, fold, min_rows_loop, walk_blocks, Block, LANES};

    /// [`super::copy_sources`], compiled for AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) fn copy_sources_avx2(sig: &mut [u32], src: &[u16]) {
        copy_sources_loop(sig, src);
    }

    /// [`super::min_rows`], compiled for AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) fn min_rows_avx2(table: &[u16], k: usize, mask: &[u32], acc: &mut [u16]) {
        min_rows_loop(table, k, mask, acc);
    }

    /// Low and high 32 bits of a parameter, as the `i32` intrinsics take.
    #[inline(always)]
    fn lo(a: u64) -> i32 {
        a as u32 as i32
    }

    #[inline(always)]
    fn hi(a: u64) -> i32 {
        (a >> 32) as u32 as i32
    }

    /// The five vectors of 8 permutations `a[0..8]`, `b[0..8]`.
    #[derive(Clone, Copy)]
    struct Params8 {
        a_lo: __m256i,
        a_lo_odd: __m256i,
        a_hi: __m256i,
        b_even: __m256i,
        b_odd: __m256i,
    }

    #[target_feature(enable = "avx2")]
    fn params8(a: &[u64], b: &[u64]) -> Params8 {
        let a_lo = _mm256_setr_epi32(
            lo(a[0]),
            lo(a[1]),
            lo(a[2]),
            lo(a[3]),
            lo(a[4]),
            lo(a[5]),
            lo(a[6]),
            lo(a[7]),
        );
        Params8 {
            a_lo,
            a_lo_odd: _mm256_srli_epi64::<32>(a_lo),
            a_hi: _mm256_setr_epi32(
                hi(a[0]),
                hi(a[1]),
                hi(a[2]),
                hi(a[3]),
                hi(a[4]),
                hi(a[5]),
                hi(a[6]),
                hi(a[7]),
            ),
            b_even: _mm256_setr_epi64x(b[0] as i64, b[2] as i64, b[4] as i64, b[6] as i64),
            b_odd: _mm256_setr_epi64x(b[1] as i64, b[3] as i64, b[5] as i64, b[7] as i64),
        }
    }

    /// `h_i(x)` for the 8 permutations of `p`, as 32-bit lanes.
    #[target_feature(enable = "avx2")]
    fn perm8(p: &Params8, x: __m256i) -> __m256i {
        let even = _mm256_add_epi64(_mm256_mul_epu32(p.a_lo, x), p.b_even);
        let odd = _mm256_add_epi64(_mm256_mul_epu32(p.a_lo_odd, x), p.b_odd);
        let high = _mm256_blend_epi32::<0b1010_1010>(_mm256_srli_epi64::<32>(even), odd);
        _mm256_add_epi32(high, _mm256_mullo_epi32(p.a_hi, x))
    }

    #[target_feature(enable = "avx2")]
    fn load8(m: &[u32]) -> __m256i {
        let v = |i: usize| m[i] as i32;
        _mm256_setr_epi32(v(0), v(1), v(2), v(3), v(4), v(5), v(6), v(7))
    }

    #[target_feature(enable = "avx2")]
    fn store8(v: __m256i, m: &mut [u32]) {
        let l = _mm256_castsi256_si128(v);
        let h = _mm256_extracti128_si256::<1>(v);
        let lanes = [
            _mm_cvtsi128_si32(l),
            _mm_extract_epi32::<1>(l),
            _mm_extract_epi32::<2>(l),
            _mm_extract_epi32::<3>(l),
            _mm_cvtsi128_si32(h),
            _mm_extract_epi32::<1>(h),
            _mm_extract_epi32::<2>(h),
            _mm_extract_epi32::<3>(h),
        ];
        for (m, v) in m.iter_mut().zip(lanes) {
            *m = v as u32;
        }
    }

    /// AVX2: one 16-permutation block (two 8-lane halves) at a time, all
    /// shingles inner, minima kept in registers.
    #[target_feature(enable = "avx2")]
    pub(super) fn min_hash_avx2(a: &[Block], b: &[Block], hashes: &[u64], mins: &mut [u32]) {
        for ((a, b), m) in a.iter().zip(b).zip(mins.chunks_exact_mut(LANES)) {
            let p0 = params8(&a[..8], &b[..8]);
            let p1 = params8(&a[8..], &b[8..]);
            let (mut m0, mut m1) = (load8(&m[..8]), load8(&m[8..]));
            for &h in hashes {
                let x = _mm256_set1_epi32(fold(h) as u32 as i32);
                m0 = _mm256_min_epu32(m0, perm8(&p0, x));
                m1 = _mm256_min_epu32(m1, perm8(&p1, x));
            }
            store8(m0, &mut m[..8]);
            store8(m1, &mut m[8..]);
        }
    }

    /// The five vectors of the 16 permutations of a block.
    #[derive(Clone, Copy)]
    struct Params16 {
        a_lo: __m512i,
        a_lo_odd: __m512i,
        a_hi: __m512i,
        b_even: __m512i,
        b_odd: __m512i,
    }

    #[target_feature(enable = "avx512f")]
    fn params16(a: &Block, b: &Block) -> Params16 {
        let a_lo = _mm512_setr_epi32(
            lo(a[0]),
            lo(a[1]),
            lo(a[2]),
            lo(a[3]),
            lo(a[4]),
            lo(a[5]),
            lo(a[6]),
            lo(a[7]),
            lo(a[8]),
            lo(a[9]),
            lo(a[10]),
            lo(a[11]),
            lo(a[12]),
            lo(a[13]),
            lo(a[14]),
            lo(a[15]),
        );
        let b = b.map(|v| v as i64);
        Params16 {
            a_lo,
            a_lo_odd: _mm512_srli_epi64::<32>(a_lo),
            a_hi: _mm512_setr_epi32(
                hi(a[0]),
                hi(a[1]),
                hi(a[2]),
                hi(a[3]),
                hi(a[4]),
                hi(a[5]),
                hi(a[6]),
                hi(a[7]),
                hi(a[8]),
                hi(a[9]),
                hi(a[10]),
                hi(a[11]),
                hi(a[12]),
                hi(a[13]),
                hi(a[14]),
                hi(a[15]),
            ),
            b_even: _mm512_setr_epi64(b[0], b[2], b[4], b[6], b[8], b[10], b[12], b[14]),
            b_odd: _mm512_setr_epi64(b[1], b[3], b[5], b[7], b[9], b[11], b[13], b[15]),
        }
    }

    #[target_feature(enable = "avx512f")]
    fn perm16(p: &Params16, x: __m512i) -> __m512i {
        let even = _mm512_add_epi64(_mm512_mul_epu32(p.a_lo, x), p.b_even);
        let odd = _mm512_add_epi64(_mm512_mul_epu32(p.a_lo_odd, x), p.b_odd);
        let high =
            _mm512_mask_blend_epi32(0b1010_1010_1010_1010, _mm512_srli_epi64::<32>(even), odd);
        _mm512_add_epi32(high, _mm512_mullo_epi32(p.a_hi, x))
    }

    #[target_feature(enable = "avx512f")]
    fn load16(m: &[u32]) -> __m512i {
        let v = |i: usize| m[i] as i32;
        _mm512_setr_epi32(
            v(0),
            v(1),
            v(2),
            v(3),
            v(4),
            v(5),
            v(6),
            v(7),
            v(8),
            v(9),
            v(10),
            v(11),
            v(12),
            v(13),
            v(14),
            v(15),
        )
    }

    #[target_feature(enable = "avx512f")]
    fn store16(v: __m512i, m: &mut [u32]) {
        let quarters = [
            _mm512_extracti32x4_epi32::<0>(v),
            _mm512_extracti32x4_epi32::<1>(v),
            _mm512_extracti32x4_epi32::<2>(v),
            _mm512_extracti32x4_epi32::<3>(v),
        ];
        for (m, q) in m.chunks_exact_mut(4).zip(quarters) {
            let lanes = [
                _mm_cvtsi128_si32(q),
                _mm_extract_epi32::<1>(q),
                _mm_extract_epi32::<2>(q),
                _mm_extract_epi32::<3>(q),
            ];
            for (m, v) in m.iter_mut().zip(lanes) {
                *m = v as u32;
            }
        }
    }

    /// AVX-512: two 16-permutation blocks per pass over the shingles (two
    /// independent dependency chains), then a single block for an odd count.
    #[target_feature(enable = "avx512f")]
    pub(super) fn min_hash_avx512(a: &[Block], b: &[Block], hashes: &[u64], mins: &mut [u32]) {
        let mut pairs = mins.chunks_exact_mut(2 * LANES);
        let mut blocks = a.chunks_exact(2).zip(b.chunks_exact(2));
        for (m, (a, b)) in (&mut pairs).zip(&mut blocks) {
            let p0 = params16(&a[0], &b[0]);
            let p1 = params16(&a[1], &b[1]);
            let (mut m0, mut m1) = (load16(&m[..LANES]), load16(&m[LANES..]));
            for &h in hashes {
                let x = _mm512_set1_epi32(fold(h) as u32 as i32);
                m0 = _mm512_min_epu32(m0, perm16(&p0, x));
                m1 = _mm512_min_epu32(m1, perm16(&p1, x));
            }
            store16(m0, &mut m[..LANES]);
            store16(m1, &mut m[LANES..]);
        }
        let m = pairs.into_remainder();
        if let (Some(a), Some(b)) = (a.get(a.len() / 2 * 2), b.get(b.len() / 2 * 2)) {
            if m.len() == LANES {
                let p = params16(a, b);
                let mut m0 = load16(m);
                for &h in hashes {
                    m0 = _mm512_min_epu32(m0, perm16(&p, _mm512_set1_epi32(fold(h) as u32 as i32)));
                }
                store16(m0, m);
            }
        }
    }

    /// [`super::merge_blocks`] on AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) fn merge_blocks_avx512(
        a: &[u64],
        b: &[u64],
        need: f64,
    ) -> Option<(usize, usize, usize)> {
        let block8 = |x: &[u64; 8]| {
            let v = |k: usize| x[k] as i64;
            _mm512_setr_epi64(v(0), v(1), v(2), v(3), v(4), v(5), v(6), v(7))
        };
        walk_blocks::<8>(a, b, need, |x, y| {
            let (x, y) = (block8(x), block8(y));
            let m = _mm512_cmpeq_epi64_mask(x, y)
                | _mm512_cmpeq_epi64_mask(x, _mm512_alignr_epi64::<1>(y, y))
                | _mm512_cmpeq_epi64_mask(x, _mm512_alignr_epi64::<2>(y, y))
                | _mm512_cmpeq_epi64_mask(x, _mm512_alignr_epi64::<3>(y, y))
                | _mm512_cmpeq_epi64_mask(x, _mm512_alignr_epi64::<4>(y, y))
                | _mm512_cmpeq_epi64_mask(x, _mm512_alignr_epi64::<5>(y, y))
                | _mm512_cmpeq_epi64_mask(x, _mm512_alignr_epi64::<6>(y, y))
                | _mm512_cmpeq_epi64_mask(x, _mm512_alignr_epi64::<7>(y, y));
            m.count_ones()
        })
    }

    /// [`super::merge_blocks`] on AVX2, blocks of 4.
    #[target_feature(enable = "avx2")]
    pub(super) fn merge_blocks_avx2(
        a: &[u64],
        b: &[u64],
        need: f64,
    ) -> Option<(usize, usize, usize)> {
        let block4 = |x: &[u64; 4]| {
            let v = |k: usize| x[k] as i64;
            _mm256_setr_epi64x(v(0), v(1), v(2), v(3))
        };
        walk_blocks::<4>(a, b, need, |x, y| {
            let (x, y) = (block4(x), block4(y));
            let m = _mm256_or_si256(
                _mm256_or_si256(
                    _mm256_cmpeq_epi64(x, y),
                    _mm256_cmpeq_epi64(x, _mm256_permute4x64_epi64::<0b00_11_10_01>(y)),
                ),
                _mm256_or_si256(
                    _mm256_cmpeq_epi64(x, _mm256_permute4x64_epi64::<0b01_00_11_10>(y)),
                    _mm256_cmpeq_epi64(x, _mm256_permute4x64_epi64::<0b10_01_00_11>(y)),
                ),
            );
            _mm256_movemask_pd(_mm256_castsi256_pd(m)).count_ones()
        })
    }
}

/// The walk of [`merge_blocks`] over blocks of `W`: `matches(x, y)` counts
/// the equal elements of a block of `a` and one of `b` (as arrays, so that
/// a block is one vector load, not `W` checked reads). The bound is checked
/// every 32 elements of progress, as the scalar merge's.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn walk_blocks<const W: usize>(
    a: &[u64],
    b: &[u64],
    need: f64,
    mut matches: impl FnMut(&[u64; W], &[u64; W]) -> u32,
) -> Option<(usize, usize, usize)> {
    let (mut i, mut j, mut n) = (0, 0, 0);
    let mut steps = 0usize;
    while let (Some(x), Some(y)) = (a.get(i..i + W), b.get(j..j + W)) {
        let (Ok(x), Ok(y)) = (<&[u64; W]>::try_from(x), <&[u64; W]>::try_from(y)) else {
            break; // never: both are `W` long
        };
        n += matches(x, y) as usize;
        let (last_a, last_b) = (x[W - 1], y[W - 1]);
        i += W * usize::from(last_a <= last_b);
        j += W * usize::from(last_b <= last_a);
        steps += 1;
        if (steps * W).is_multiple_of(32) && ((n + (a.len() - i).min(b.len() - j)) as f64) < need {
            return None;
        }
    }
    Some((i, j, n))
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
