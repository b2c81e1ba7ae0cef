//! Seeded, stable 64-bit hashing of byte slices, and the small mixers the
//! sketches derive everything else from.
//!
//! # Why xxh3
//! Every shingle of every document is hashed once, so this is the hottest
//! function in near-duplicate detection after the sketch loop itself. XXH3
//! (Yann Collet, xxHash 0.8) hashes the 5–40 byte slices that shingles are
//! in a few nanoseconds, has a seeded variant, passes SMHasher, and — what
//! matters for files that store signatures — its output is **frozen**: the
//! XXH3 algorithm was declared stable in xxHash v0.8.0 (2020), and
//! `xxhash-rust` is tested against the reference vectors. The values
//! returned by [`hash_bytes`] are therefore the same on every run, machine,
//! endianness, thread count and version of this crate; if we ever change
//! them we bump [`HASH_VERSION`], which [`crate::Settings`] records so that
//! old files are refused rather than silently mixed.
//!
//! # Mixers
//! [`mix64`] is the SplitMix64 finalizer (Steele, Lea, Flood, *Fast
//! splittable pseudorandom number generators*, OOPSLA 2014): a bijection on
//! `u64` with full avalanche, two multiplies and three xor-shifts. The
//! sketches use it to re-key an already random 64-bit hash with a seed
//! (one-permutation hashing) and to draw densification probes, and
//! `SplitMix64` uses it to derive the permutation parameters of classic
//! MinHash from the user's seed. Both are part of the stable output too.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Name of the shingle hash, as recorded in [`crate::Settings::hash`].
pub const HASH_NAME: &str = "xxh3-64";

/// Version of everything that turns text into signature values and band
/// keys (shingle hash, permutation family, densification probes, band-key
/// combiner). Bumped whenever any of them changes output.
pub const HASH_VERSION: u32 = 1;

/// Hashes `bytes` with XXH3-64 under `seed`.
///
/// Stable: the same bytes and seed give the same value on every run,
/// machine and version of this crate (see the module docs).
///
/// ```
/// use neardup_sketch::hash::hash_bytes;
/// assert_eq!(hash_bytes(b"the cat sat", 7), hash_bytes(b"the cat sat", 7));
/// assert_ne!(hash_bytes(b"the cat sat", 7), hash_bytes(b"the cat sat", 8));
/// ```
#[inline]
#[must_use]
pub fn hash_bytes(bytes: &[u8], seed: u64) -> u64 {
    xxh3_64_with_seed(bytes, seed)
}

/// The SplitMix64 finalizer: a fast bijective 64-bit mixer with full
/// avalanche (every input bit flips each output bit with probability ~1/2).
#[inline]
#[must_use]
pub const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Maps a uniform 32-bit value onto `0..n` without division (Lemire, *Fast
/// random integer generation in an interval*, TOMACS 2019): the bias is at
/// most `n / 2^32`, far below anything a sketch can measure.
#[inline]
#[must_use]
pub(crate) const fn fast_range(x: u32, n: u32) -> u32 {
    ((x as u64 * n as u64) >> 32) as u32
}

/// SplitMix64 pseudo-random generator: a seeded, stable stream used to
/// derive sketch parameters, so that a seed fully determines them.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator for `seed` in the stream named by `domain`, so that the
    /// parameters of different uses of one seed are unrelated.
    pub(crate) const fn new(seed: u64, domain: u64) -> SplitMix64 {
        SplitMix64 { state: seed ^ mix64(domain) }
    }

    /// The next value of the stream.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frozen values: if this test fails, stored signatures would change,
    /// so either undo the change or bump `HASH_VERSION` and update these.
    #[test]
    fn values_are_frozen() {
        assert_eq!(hash_bytes(b"", 0), 0x2d06_8005_38d3_94c2);
        assert_eq!(hash_bytes(b"the quick brown fox jumps", 0), hash_bytes_ref());
        assert_eq!(mix64(0), 0);
        assert_eq!(mix64(1), 0x5692_161d_100b_05e5);
        let mut g = SplitMix64::new(0, 0);
        // SplitMix64 from state 0 (domain 0 mixes to 0), first output.
        assert_eq!(g.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(HASH_VERSION, 1);
    }

    fn hash_bytes_ref() -> u64 {
        // XXH3-64 of `the quick brown fox jumps`, seed 0, as the reference
        // implementation (Python `xxhash.xxh3_64_intdigest`) computes it.
        10_403_364_002_775_130_632
    }

    #[test]
    fn seed_changes_value() {
        assert_ne!(hash_bytes(b"abc", 1), hash_bytes(b"abc", 2));
    }

    #[test]
    fn fast_range_stays_in_range() {
        for n in [1u32, 2, 3, 128, 1000, u32::MAX] {
            for x in [0u32, 1, 12345, u32::MAX / 2, u32::MAX] {
                assert!(fast_range(x, n) < n);
            }
        }
    }
}
