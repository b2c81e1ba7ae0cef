//! A hash table reused for one record (or one list) after another without
//! clearing: open addressing with linear probing, every slot stamped with
//! the use that wrote it, so that a new use is one increment. One table
//! serves every use of a thread, sized at [`Stamped::begin`] for what the
//! use will hold (at most half full) and grown, never shrunk, when that is
//! more than ever. The Gopher statistics count n-grams in it; the repeat
//! finder keeps each anchor hash's most recent anchor in it.

/// Values `V` by well-mixed `u64` hash, for one use at a time.
#[derive(Default)]
pub(crate) struct Stamped<V> {
    slots: Vec<Slot<V>>,
    mask: usize,
    generation: u32,
}

#[derive(Clone, Copy, Default)]
struct Slot<V> {
    hash: u64,
    value: V,
    generation: u32,
}

impl<V: Copy + Default> Stamped<V> {
    /// Starts an empty use for up to `n` distinct hashes.
    pub(crate) fn begin(&mut self, n: usize) {
        let cap = (2 * n).next_power_of_two().max(16);
        if cap > self.slots.len() {
            self.slots.resize(cap, Slot::default());
        }
        self.mask = cap - 1;
        if self.generation == u32::MAX {
            // Stamps would repeat: clear once every four billion uses.
            self.slots.iter_mut().for_each(|s| s.generation = 0);
            self.generation = 0;
        }
        self.generation += 1;
    }

    /// The slot of `hash`, probing from `home` (bits of the hash the
    /// caller knows to be mixed): its index, its value, and whether this
    /// use had not seen `hash` before (the value is then `V::default()`).
    #[inline]
    pub(crate) fn entry(&mut self, hash: u64, home: usize) -> (u32, &mut V, bool) {
        let mut at = home & self.mask;
        loop {
            let generation = self.generation;
            let s = &mut self.slots[at];
            if s.generation != generation {
                *s = Slot { hash, value: V::default(), generation };
                return (at as u32, &mut self.slots[at].value, true);
            }
            if s.hash == hash {
                return (at as u32, &mut self.slots[at].value, false);
            }
            at = (at + 1) & self.mask;
        }
    }

    /// The value in a slot [`Stamped::entry`] returned.
    #[inline]
    pub(crate) fn at(&self, slot: u32) -> V {
        self.slots[slot as usize].value
    }

    /// Slots held (what a table that grew for one huge use still costs).
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// A table whose stamps are about to wrap.
    #[cfg(test)]
    pub(crate) fn with_generation(generation: u32) -> Stamped<V> {
        Stamped { slots: Vec::new(), mask: 0, generation }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_use_after_the_stamps_wrap_sees_nothing_of_the_first_uses() {
        let mut t = Stamped::<u32>::default();
        t.begin(4);
        *t.entry(7 << 40, 7).1 = 5;
        // Four billion uses later the stamps start again at the first's.
        t.generation = u32::MAX;
        t.begin(4);
        let (_, value, new) = t.entry(7 << 40, 7);
        assert_eq!((new, *value), (true, 0), "a stale slot was taken for this use's");
    }
}
