//! Bit masks of 64-byte blocks, for the block scans over text (the
//! normalizer's runs of ordinary bytes, the repetition statistics' words).
//!
//! A scan writes one flag byte per text byte in a loop LLVM turns into
//! vector compares, then packs the 64 flags into a word and walks its bits;
//! the crates forbid `unsafe`, so no intrinsics. The packing is here once.

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
