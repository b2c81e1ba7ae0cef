//! Exact duplicates: records whose canonical texts hash alike.

use super::table::{Decision, Info};
use crate::config::Keep;
use crate::hashing::PrehashedMap;
use crate::ledger::Reason;

/// Forms clusters of equal hashes among live records and marks all but the
/// keep policy's survivor as duplicates of it; ties go to the first.
pub(super) fn decide(infos: &mut [Info], keep: Keep) {
    let mut best: PrehashedMap<u128, u32> = PrehashedMap::default();
    for (i, info) in infos.iter().enumerate() {
        if !info.alive() {
            continue;
        }
        let i = i as u32;
        best.entry(info.hash)
            .and_modify(|b| {
                let replace = match keep {
                    Keep::First => false,
                    Keep::Last => true,
                    Keep::Longest => info.len > infos[*b as usize].len,
                };
                if replace {
                    *b = i;
                }
            })
            .or_insert(i);
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
