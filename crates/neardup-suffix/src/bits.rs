//! Bitmaps over text offsets: one bit per byte is the cheapest way to carry
//! a yes/no per position next to a suffix array that costs 32 bits per byte.
//! [`AtomicBits`] lets the parallel scans set bits without locks (a relaxed
//! `fetch_or`; the rayon join at the end of a scan orders them before any
//! read).

use std::sync::atomic::{AtomicU64, Ordering};

/// A plain bitmap.
#[derive(Debug, Default)]
pub(crate) struct Bits {
    words: Vec<u64>,
}

impl Bits {
    pub(crate) fn new(len: usize) -> Bits {
        Bits { words: vec![0; len.div_ceil(64)] }
    }

    pub(crate) fn get(&self, i: usize) -> bool {
        self.words[i / 64] >> (i % 64) & 1 == 1
    }

    /// Sets bits `a..b`.
    pub(crate) fn set_range(&mut self, a: usize, b: usize) {
        let mut i = a;
        while i < b {
            let (w, bit) = (i / 64, i % 64);
            let n = (64 - bit).min(b - i);
            let mask = if n == 64 { u64::MAX } else { ((1u64 << n) - 1) << bit };
            self.words[w] |= mask;
            i += n;
        }
    }
}

/// A bitmap that threads can set concurrently.
#[derive(Debug, Default)]
pub(crate) struct AtomicBits {
    words: Vec<AtomicU64>,
}

impl AtomicBits {
    pub(crate) fn new(len: usize) -> AtomicBits {
        AtomicBits { words: (0..len.div_ceil(64)).map(|_| AtomicU64::new(0)).collect() }
    }

    pub(crate) fn set(&self, i: usize) {
        self.words[i / 64].fetch_or(1 << (i % 64), Ordering::Relaxed);
    }

    pub(crate) fn get(&self, i: usize) -> bool {
        self.words[i / 64].load(Ordering::Relaxed) >> (i % 64) & 1 == 1
    }

    /// Sets bits `a..b`.
    pub(crate) fn set_range(&self, a: usize, b: usize) {
        let mut i = a;
        while i < b {
            let (w, bit) = (i / 64, i % 64);
            let n = (64 - bit).min(b - i);
            let mask = if n == 64 { u64::MAX } else { ((1u64 << n) - 1) << bit };
            self.words[w].fetch_or(mask, Ordering::Relaxed);
            i += n;
        }
    }

    /// Calls `f` on every set bit in `a..b`, in increasing order.
    pub(crate) fn for_each_one(&self, a: usize, b: usize, mut f: impl FnMut(usize)) {
        if a >= b {
            return;
        }
        let (first, last) = (a / 64, (b - 1) / 64);
        for w in first..=last {
            let mut word = self.words[w].load(Ordering::Relaxed);
            if w == first {
                word &= u64::MAX << (a % 64);
            }
            if w == last && !b.is_multiple_of(64) {
                word &= (1u64 << (b % 64)) - 1;
            }
            while word != 0 {
                let t = word.trailing_zeros() as usize;
                f(w * 64 + t);
                word &= word - 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_iteration_agree_with_a_vec_of_bools() {
        let n = 300;
        let mut plain = Bits::new(n);
        let atomic = AtomicBits::new(n);
        let mut model = vec![false; n];
        for &(a, b) in &[(0, 1), (3, 70), (64, 128), (130, 131), (200, 300), (250, 260)] {
            plain.set_range(a, b);
            atomic.set_range(a, b);
            model[a..b].fill(true);
        }
        atomic.set(140);
        model[140] = true;
        plain.set_range(140, 141);
        for (i, &want) in model.iter().enumerate() {
            assert_eq!(plain.get(i), want, "{i}");
            assert_eq!(atomic.get(i), want, "{i}");
        }
        for &(a, b) in &[(0, n), (1, 64), (63, 65), (64, 64), (100, 299), (5, 6)] {
            let mut got = Vec::new();
            atomic.for_each_one(a, b, |i| got.push(i));
            let want: Vec<usize> = (a..b).filter(|&i| model[i]).collect();
            assert_eq!(got, want, "{a}..{b}");
        }
    }
}
