//! Exact duplicates: records whose canonical texts hash alike.

use super::{keep_key, Decision, Info};
use crate::hashing::PrehashedMap;
use crate::ledger::Reason;
use crate::settings::Keep;

/// Forms groups of equal hashes among live records and marks all but the
/// keep policy's survivor ([`keep_key`]) as duplicates of it.
pub(crate) fn decide(infos: &mut [Info], keep: Keep) {
    let key = |i: usize, info: &Info| keep_key(keep, false, i as u64, info.len);
    let mut best: PrehashedMap<u128, u32> = PrehashedMap::default();
    for (i, info) in infos.iter().enumerate() {
        if !info.alive() {
            continue;
        }
        best.entry(info.hash)
            .and_modify(|b| {
                if key(i, info) < key(*b as usize, &infos[*b as usize]) {
                    *b = i as u32;
                }
            })
            .or_insert(i as u32);
    }
    for (i, info) in infos.iter_mut().enumerate() {
        if !info.alive() {
            continue;
        }
        let b = best[&info.hash];
        if b as usize != i {
            info.decision = Decision::Duplicate { of: b, reason: Reason::Exact, similarity: 1.0 };
        }
    }
}

/// The first record of each canonical hash, as records arrive: exact
/// duplicates decided at once, when the first copy is the one kept (and
/// what an index holds for the records it has seen).
#[derive(Default)]
pub struct FirstSeen {
    first: PrehashedMap<u128, u32>,
}

impl FirstSeen {
    /// Record `index` with canonical `hash`: `None` if it is the first of
    /// its hash (and now remembered), else the first record's index.
    pub fn check(&mut self, hash: u128, index: u32) -> Option<u32> {
        match self.first.entry(hash) {
            std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(index);
                None
            }
        }
    }
}
