//! What analysis found for the canonical texts seen last, by their hash.
//!
//! A corpus repeats whole documents: a tenth of debdocs' bytes are exact
//! copies (the same manual in two packages), most of them within a few
//! tens of megabytes of the copy before. A record's passages said twice
//! and its Gopher statistics are functions of its canonical text alone,
//! and its fingerprint a function of the canonical text it is written
//! with (cut, when it repeats itself), so a record whose canonical texts
//! hash as those of one analysed shortly before takes them from a memo
//! instead of computing them again (its own offsets are still mapped
//! through its own text). What a memo holds changes only the time a run
//! takes, never an analysis: the values are the same whichever record
//! computed them, on whichever thread, in whichever order.
//!
//! It is a window, first in first out, over the last `bytes` of entries
//! (each weighed by what it holds, shingle sets mostly): an exact copy is
//! met once or twice, soon after the first, so recency is all that tells
//! which entries pay; the window is cut into shards, each behind its own
//! lock, so that the workers seldom wait for one another.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use crate::analysis::Fingerprint;
use crate::hashing::PrehashedMap;
use crate::repeats::Repeat;
use crate::repetition::Stats;

/// What a canonical text's analysis found, before any cut.
#[derive(Debug, PartialEq)]
pub(crate) struct Facts {
    /// Its repeats, in canonical offsets.
    pub(crate) repeats: Vec<Repeat>,
    /// Its statistics, when the analyzer computes them.
    pub(crate) stats: Option<Stats>,
}

/// What an entry holds, in bytes.
pub(crate) trait Weigh {
    /// Bytes held besides the entry's own size.
    fn heap_bytes(&self) -> usize;
}

impl Weigh for Facts {
    fn heap_bytes(&self) -> usize {
        self.repeats.len() * size_of::<Repeat>()
    }
}

impl Weigh for Fingerprint {
    fn heap_bytes(&self) -> usize {
        8 * self.set.len() + 4 * self.signature.len() + 8 * self.band_keys.len()
    }
}

/// Bytes an entry holds: its value, and its place in a shard (the key
/// twice, an `Arc`'s counts, the map's slot).
fn weight<V: Weigh>(v: &V) -> usize {
    size_of::<V>() + v.heap_bytes() + 80
}

/// Shards of the window: a power of two. A lookup or an insertion takes
/// ~0.1 µs under its lock and an analysis ~100 µs, so a few shards keep
/// the workers from waiting, and few shards let an entry be large.
const SHARDS: usize = 4;

/// The window (see the module docs).
pub(crate) struct Memo<V> {
    shards: Box<[Mutex<Shard<V>>]>,
    /// Bytes each shard holds at most.
    shard_bytes: usize,
}

struct Shard<V> {
    entries: PrehashedMap<u128, Arc<V>>,
    /// Keys in the order they came, with their weights.
    order: VecDeque<(u128, usize)>,
    bytes: usize,
}

impl<V> Default for Shard<V> {
    fn default() -> Shard<V> {
        Shard { entries: PrehashedMap::default(), order: VecDeque::new(), bytes: 0 }
    }
}

impl<V: Weigh> Memo<V> {
    /// A window of about `bytes`.
    pub(crate) fn new(bytes: usize) -> Memo<V> {
        Memo {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            shard_bytes: bytes / SHARDS,
        }
    }

    fn shard(&self, key: u128) -> std::sync::MutexGuard<'_, Shard<V>> {
        // Keys are hashes: their low bits spread evenly. A worker that
        // panicked holding the lock left a consistent shard (every change
        // below is made whole before anything can panic).
        self.shards[key as usize % SHARDS].lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The entry of the canonical text that hashes to `key`, if it is in
    /// the window.
    pub(crate) fn get(&self, key: u128) -> Option<Arc<V>> {
        self.shard(key).entries.get(&key).cloned()
    }

    /// Remembers `entry` under `key`, dropping the oldest entries past the
    /// window's size. An entry larger than an eighth of a shard is not
    /// kept (one huge record would empty the window).
    pub(crate) fn put(&self, key: u128, entry: V) {
        let weight = weight(&entry);
        if weight > self.shard_bytes / 8 {
            return;
        }
        let mut shard = self.shard(key);
        if shard.entries.contains_key(&key) {
            // Another worker analysed the same text at the same time: the
            // entries are equal.
            return;
        }
        shard.entries.insert(key, Arc::new(entry));
        shard.order.push_back((key, weight));
        shard.bytes += weight;
        while shard.bytes > self.shard_bytes {
            let Some((old, w)) = shard.order.pop_front() else { break };
            shard.entries.remove(&old);
            shard.bytes -= w;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(set: usize) -> Fingerprint {
        Fingerprint { set: vec![7; set], ..Fingerprint::default() }
    }

    #[test]
    fn the_window_keeps_the_newest_entries_within_its_size() {
        let memo = Memo::<Fingerprint>::new(SHARDS * 100_000);
        // Keys of one shard: multiples of the shard count.
        let key = |i: u128| i * SHARDS as u128;
        for i in 0..200 {
            memo.put(key(i), entry(1_000)); // ~8 kB each
        }
        let held: Vec<u128> = (0..200).filter(|&i| memo.get(key(i)).is_some()).collect();
        assert_eq!(held.len(), 100_000 / weight(&entry(1_000)));
        // The newest, none older.
        assert_eq!(held, ((200 - held.len() as u128)..200).collect::<Vec<_>>());
        assert!(memo.shard(key(0)).bytes <= 100_000);
        // Other shards are untouched.
        assert!(memo.get(1).is_none());
    }

    #[test]
    fn an_entry_too_large_for_the_window_is_not_kept() {
        let memo = Memo::<Fingerprint>::new(SHARDS * 100_000);
        memo.put(0, entry(100_000 / 8 / 8));
        assert!(memo.get(0).is_none());
        memo.put(0, entry(100));
        assert_eq!(memo.get(0).as_deref(), Some(&entry(100)));
    }
}
