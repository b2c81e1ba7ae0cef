//! Bit masks of 64-byte blocks, for the block scans over text (the
//! normalizer's runs of ordinary bytes, the repetition statistics' words).
//!
//! A scan asks, for each byte of a block, a question (is it this byte? is
//! it above that one?) and gets the answers as the bits of a word, then
//! walks the bits. Portable Rust gets the compares vectorized but not the
//! packing of their results into a word, which then costs a multiply per
//! eight bytes and more than the compares themselves; on x86-64, SSE2
//! (part of the baseline, so there is nothing to detect at run time) packs
//! sixteen bytes with one `pmovmskb`. That is the only `unsafe` in the
//! crate; the portable build of each mask is kept, and a test checks that
//! both give the same bits.

/// 64 flags of 0 or 1 as the bits of a word, flag `k` at bit `k`: each 8
/// flags are gathered into one byte by a multiply (the shifted copies land
/// on distinct bits, so no carry disturbs the top byte).
///
/// ```
/// let mut flags = [0u8; 64];
/// flags[0] = 1;
/// flags[9] = 1;
/// flags[63] = 1;
/// assert_eq!(neardup_text::mask::pack_flags(&flags), 1 | 1 << 9 | 1 << 63);
/// ```
#[inline]
pub fn pack_flags(flags: &[u8; 64]) -> u64 {
    let mut m = 0u64;
    for (i, eight) in flags.chunks_exact(8).enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(eight);
        m |= (u64::from_le_bytes(w).wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * i);
    }
    m
}

/// Bit `k` set when `block[k]` is one of `bytes` (the compares are
/// combined before they are packed: one packing for all).
///
/// ```
/// let mut block = [b'a'; 64];
/// block[3] = b' ';
/// block[5] = b'\n';
/// block[63] = b' ';
/// assert_eq!(neardup_text::mask::eq_mask(&block, [b' ']), 1 << 3 | 1 << 63);
/// assert_eq!(neardup_text::mask::eq_mask(&block, [b' ', b'\n']), 1 << 3 | 1 << 5 | 1 << 63);
/// ```
#[inline]
pub fn eq_mask<const N: usize>(block: &[u8; 64], bytes: [u8; N]) -> u64 {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // SAFETY: `sse2::eq_mask` needs SSE2 and nothing else; this code
        // is only compiled when the build enables SSE2 (every x86-64 CPU
        // has it), so the CPU running it has it.
        #[allow(unsafe_code)]
        unsafe {
            sse2::eq_mask(block, bytes)
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        portable::eq_mask(block, bytes)
    }
}

/// Bit `k` set when `block[k]`, read as a signed byte, is above `byte`
/// (so bytes from `0x80` up, negative, are never above an ASCII byte) and
/// is none of `but`.
///
/// ```
/// let mut block = [b' '; 64];
/// block[0] = b'a';
/// block[1] = 0xC3;
/// block[2] = b'-';
/// assert_eq!(neardup_text::mask::gt_mask(&block, 0x20, []), 1 | 1 << 2);
/// assert_eq!(neardup_text::mask::gt_mask(&block, 0x20, [b'-']), 1);
/// ```
#[inline]
pub fn gt_mask<const N: usize>(block: &[u8; 64], byte: i8, but: [u8; N]) -> u64 {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // SAFETY: as in `eq_mask`: SSE2 is enabled in this build.
        #[allow(unsafe_code)]
        unsafe {
            sse2::gt_mask(block, byte, but)
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        portable::gt_mask(block, byte, but)
    }
}

/// The positions of `byte` in a slice, in order: `memchr_iter`, for
/// bytes that occur every few dozen (line breaks in the line scans).
///
/// `memchr` pays a call and a vector setup per hit, about 13 ns per line
/// of debdocs; here a 64-byte block is classified once and each hit costs
/// a `trailing_zeros` (measured over every record's canonical text: 0.05 s
/// against `memchr_iter`'s 0.10 s).
///
/// ```
/// let at: Vec<usize> = neardup_text::mask::Positions::new(b"ab\ncd\n\ne", b'\n').collect();
/// assert_eq!(at, [2, 5, 6]);
/// ```
pub struct Positions<'a> {
    bytes: &'a [u8],
    byte: u8,
    /// Where the current block starts.
    base: usize,
    /// The current block's hits not yet returned, one bit each.
    mask: u64,
}

impl<'a> Positions<'a> {
    /// The positions of `byte` in `bytes`.
    pub fn new(bytes: &'a [u8], byte: u8) -> Positions<'a> {
        let mut p = Positions { bytes, byte, base: 0, mask: 0 };
        p.mask = p.block_mask();
        p
    }

    /// The mask of the block at `base`; a last, partial block is padded
    /// with a byte other than `byte`.
    #[inline]
    fn block_mask(&self) -> u64 {
        let rest = self.bytes.get(self.base..).unwrap_or_default();
        match rest.first_chunk::<64>() {
            Some(block) => eq_mask(block, [self.byte]),
            None => {
                let mut last = [!self.byte; 64];
                last[..rest.len()].copy_from_slice(rest);
                eq_mask(&last, [self.byte])
            }
        }
    }
}

impl Iterator for Positions<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.base += 64;
            if self.base >= self.bytes.len() {
                return None;
            }
            self.mask = self.block_mask();
        }
        let k = self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(self.base + k)
    }
}

/// The masks in portable Rust: byte flags, then [`pack_flags`].
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
mod portable {
    use super::pack_flags;

    #[inline]
    pub(super) fn eq_mask<const N: usize>(block: &[u8; 64], bytes: [u8; N]) -> u64 {
        let mut flags = [0u8; 64];
        for (f, &x) in flags.iter_mut().zip(block) {
            *f = u8::from(bytes.contains(&x));
        }
        pack_flags(&flags)
    }

    #[inline]
    pub(super) fn gt_mask<const N: usize>(block: &[u8; 64], byte: i8, but: [u8; N]) -> u64 {
        let mut flags = [0u8; 64];
        for (f, &x) in flags.iter_mut().zip(block) {
            *f = u8::from(x as i8 > byte && !but.contains(&x));
        }
        pack_flags(&flags)
    }
}

/// The masks with SSE2: a compare and a `pmovmskb` per 16 bytes. The
/// functions are safe to call on any CPU with SSE2; they read only
/// `block` (loaded as two `u64` halves per 16 bytes, which LLVM turns into
/// one unaligned load: no raw pointers).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8, _mm_set_epi64x, _mm_setzero_si128,
    };

    #[inline]
    #[target_feature(enable = "sse2")]
    fn lanes(block: &[u8; 64]) -> [__m128i; 4] {
        let half = |k: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&block[8 * k..8 * k + 8]);
            i64::from_le_bytes(w)
        };
        [
            _mm_set_epi64x(half(1), half(0)),
            _mm_set_epi64x(half(3), half(2)),
            _mm_set_epi64x(half(5), half(4)),
            _mm_set_epi64x(half(7), half(6)),
        ]
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn bits(v: [__m128i; 4]) -> u64 {
        // `pmovmskb` gives 16 bits in the low half of an `i32`.
        let m = |x: __m128i| u64::from(_mm_movemask_epi8(x) as u16);
        m(v[0]) | m(v[1]) << 16 | m(v[2]) << 32 | m(v[3]) << 48
    }

    /// All ones in the bytes of `v` equal to one of `bytes`.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn any_eq<const N: usize>(v: __m128i, bytes: [u8; N]) -> __m128i {
        let mut m = _mm_setzero_si128();
        for b in bytes {
            m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8)));
        }
        m
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn eq_mask<const N: usize>(block: &[u8; 64], bytes: [u8; N]) -> u64 {
        bits(lanes(block).map(|v| any_eq(v, bytes)))
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn gt_mask<const N: usize>(block: &[u8; 64], byte: i8, but: [u8; N]) -> u64 {
        let needle = _mm_set1_epi8(byte);
        bits(lanes(block).map(|v| _mm_andnot_si128(any_eq(v, but), _mm_cmpgt_epi8(v, needle))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Hits in any block, at block edges, and in a last partial block,
        /// whose padding (`!byte`) also occurs in the text.
        #[test]
        fn positions_are_memchr_iters(
            bytes in prop::collection::vec(prop::sample::select(vec![b'a', b'\n', !b'\n']), 0..300),
            byte in prop::sample::select(vec![b'\n', !b'\n', b'a']),
        ) {
            let want: Vec<usize> = memchr::memchr_iter(byte, &bytes).collect();
            prop_assert_eq!(Positions::new(&bytes, byte).collect::<Vec<_>>(), want);
        }
    }

    proptest! {
        #[test]
        fn masks_match_the_portable_build(
            block in prop::array::uniform32(any::<u8>()),
            more in prop::array::uniform32(prop::sample::select(vec![b' ', b'\n', b'-', 0x20, 0x21, 0x7F, 0x80, 0xFF, 0])),
            byte in any::<u8>(),
        ) {
            let mut b = [0u8; 64];
            b[..32].copy_from_slice(&block);
            b[32..].copy_from_slice(&more);
            for needle in [byte, b' ', b'\n', 0x20, 0x80] {
                prop_assert_eq!(eq_mask(&b, [needle]), portable::eq_mask(&b, [needle]));
                prop_assert_eq!(eq_mask(&b, [needle, b'-']), portable::eq_mask(&b, [needle, b'-']));
                let n = needle as i8;
                prop_assert_eq!(gt_mask(&b, n, []), portable::gt_mask(&b, n, []));
                prop_assert_eq!(gt_mask(&b, n, [b'-', byte]), portable::gt_mask(&b, n, [b'-', byte]));
            }
            // And the portable build is what it says, bit by bit.
            let eq = portable::eq_mask(&b, [byte, b'\n']);
            let gt = portable::gt_mask(&b, 0x20, [b'-']);
            for (k, &x) in b.iter().enumerate() {
                prop_assert_eq!(eq >> k & 1 == 1, x == byte || x == b'\n');
                prop_assert_eq!(gt >> k & 1 == 1, (0x21..0x80).contains(&x) && x != b'-');
            }
        }
    }
}
