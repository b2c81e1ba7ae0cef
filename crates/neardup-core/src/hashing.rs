//! Hash maps keyed by values that are already hashes.
//!
//! Exact-duplicate keys and the texts seen before (xxh3-128), anchor hashes
//! and packed candidate pairs are (nearly) uniformly distributed already;
//! running them through SipHash again costs more than the map operation
//! itself. [`Prehashed`] folds the key to 64 bits and spreads it with one
//! multiply (so packed pairs of small integers fill the table's high
//! control bits too), which is safe here because the keys come from our own
//! hash functions or counters, not from input an attacker picks to collide.

use std::hash::{BuildHasherDefault, Hasher};

/// A `Hasher` for keys that are hashes already.
#[derive(Default, Clone, Copy)]
pub(crate) struct Prehashed(u64);

impl Hasher for Prehashed {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // Not used by the integer keys below; fold anything else.
        for chunk in bytes.chunks(8) {
            let mut a = [0u8; 8];
            a[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0 ^ u64::from_le_bytes(a)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n ^ (n >> 32)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    #[inline]
    fn write_u128(&mut self, n: u128) {
        self.write_u64((n as u64) ^ ((n >> 64) as u64));
    }
}

/// `HashMap` with [`Prehashed`] keys.
pub(crate) type PrehashedMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<Prehashed>>;
