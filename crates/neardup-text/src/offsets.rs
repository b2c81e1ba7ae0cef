//! Offset maps: from a byte offset in the canonical text back to the
//! original.
//!
//! Matching happens on canonical text, but cuts are made in the user's own
//! bytes, so every canonical span must map back to an exact original span
//! that starts and ends on character boundaries.
//!
//! The map is a list of *pieces*, each a run of canonical bytes produced by a
//! run of original bytes. An *exact* piece maps byte for byte (the common
//! case: ASCII, or a character replaced by one of the same UTF-8 length), so
//! a piece can cover a whole paragraph. A *group* piece (a ligature, a run of
//! whitespace collapsed to one space, `--` folded to `-`, an NFKC
//! recomposition) maps as a whole: an offset strictly inside it has no exact
//! counterpart and is rounded to one of the group's ends. Original bytes that
//! produced nothing (zero-width characters, trimmed whitespace) sit between
//! pieces.
//!
//! Memory is 16 bytes per piece; clean ASCII prose needs one piece per
//! collapsed whitespace run, not one per byte.

/// Which way to round an offset that falls strictly inside a group piece.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// Towards the start of the original text.
    Down,
    /// Towards the end of the original text.
    Up,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Piece {
    canon: u32,
    orig: u32,
    orig_end: u32,
    exact: bool,
}

/// A monotone map from canonical byte offsets to original byte offsets.
///
/// Built by [`crate::Normalizer::normalize`]; see the module docs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OffsetMap {
    pieces: Vec<Piece>,
    canon_len: u32,
    orig_len: u32,
}

impl OffsetMap {
    /// An empty map, ready to be filled by the normalizer.
    pub fn new() -> OffsetMap {
        OffsetMap::default()
    }

    /// Forgets everything, keeping the allocation.
    pub fn clear(&mut self) {
        self.pieces.clear();
        self.canon_len = 0;
        self.orig_len = 0;
    }

    /// Length of the canonical text this map was built for.
    pub fn canonical_len(&self) -> usize {
        self.canon_len as usize
    }

    /// Length of the original text this map was built for.
    pub fn original_len(&self) -> usize {
        self.orig_len as usize
    }

    /// Number of pieces (a measure of how far the canonical text strays from
    /// the original).
    pub fn pieces(&self) -> usize {
        self.pieces.len()
    }

    /// Maps canonical offset `c` (`0..=canonical_len`) to an original offset.
    ///
    /// An offset at the start of a piece maps to the start of its original
    /// bytes; inside an exact piece, byte for byte; strictly inside a group,
    /// to the group's start or end as `round` says. `canonical_len` maps to
    /// `original_len`, so a span running to the end of the canonical text
    /// also takes whatever trailing bytes produced nothing.
    pub fn to_original(&self, c: usize, round: Round) -> usize {
        if c >= self.canon_len as usize {
            return self.orig_len as usize;
        }
        let c = c as u32;
        // The last piece starting at or before `c`; pieces start at 0 when
        // the canonical text is not empty.
        let i = self.pieces.partition_point(|p| p.canon <= c).saturating_sub(1);
        let Some(p) = self.pieces.get(i) else { return 0 };
        if c == p.canon {
            p.orig as usize
        } else if p.exact {
            (p.orig + (c - p.canon)) as usize
        } else {
            match round {
                Round::Down => p.orig as usize,
                Round::Up => p.orig_end as usize,
            }
        }
    }

    /// The original byte range of canonical `start..end`, shrunk inward where
    /// an end falls inside a group: no original character is cut unless all
    /// of it lies inside the canonical span. Both ends fall on original
    /// character boundaries when `start` and `end` fall on canonical ones.
    pub fn original_range_inner(&self, start: usize, end: usize) -> std::ops::Range<usize> {
        let s = self.to_original(start, Round::Up);
        let e = self.to_original(end, Round::Down).max(s);
        s..e
    }

    /// The original byte range of canonical `start..end`, widened outward
    /// where an end falls inside a group.
    pub fn original_range_outer(&self, start: usize, end: usize) -> std::ops::Range<usize> {
        let s = self.to_original(start, Round::Down);
        let e = self.to_original(end, Round::Up).max(s);
        s..e
    }

    /// Appends the map to `out` as `u64` words (two per piece, one header),
    /// for callers that park maps on disk; [`OffsetMap::decode`] reads it back.
    pub fn encode(&self, out: &mut Vec<u64>) {
        out.push(u64::from(self.canon_len) | u64::from(self.orig_len) << 32);
        for p in &self.pieces {
            out.push(u64::from(p.canon) | u64::from(p.orig) << 32);
            out.push(u64::from(p.orig_end) | u64::from(p.exact) << 32);
        }
    }

    /// Reads a map written by [`OffsetMap::encode`] into `self`; `None` if
    /// `words` is not such an encoding (then `self` is left empty).
    pub fn decode(&mut self, words: &[u64]) -> Option<()> {
        self.clear();
        let (&head, rest) = words.split_first()?;
        if rest.len() % 2 != 0 {
            return None;
        }
        let lo = |w: u64| w as u32;
        let hi = |w: u64| (w >> 32) as u32;
        for pair in rest.chunks_exact(2) {
            let piece = Piece {
                canon: lo(pair[0]),
                orig: hi(pair[0]),
                orig_end: lo(pair[1]),
                exact: hi(pair[1]) == 1,
            };
            let ordered =
                self.pieces.last().is_none_or(|l| l.canon < piece.canon && l.orig <= piece.orig);
            if !ordered || piece.orig > piece.orig_end || hi(pair[1]) > 1 {
                self.clear();
                return None;
            }
            self.pieces.push(piece);
        }
        self.canon_len = lo(head);
        self.orig_len = hi(head);
        Some(())
    }

    // ---- building (used by the normalizer) ----

    /// Canonical bytes `canon..canon+len` copy original bytes `orig..orig+len`
    /// one to one.
    pub(crate) fn push_exact(&mut self, canon: usize, orig: usize, len: usize) {
        if let Some(last) = self.pieces.last_mut() {
            let last_len = canon as u32 - last.canon;
            if last.exact
                && last.orig_end == orig as u32
                && last.orig + last_len == orig as u32
                && last.orig_end - last.orig == last_len
            {
                last.orig_end += len as u32;
                return;
            }
        }
        self.pieces.push(Piece {
            canon: canon as u32,
            orig: orig as u32,
            orig_end: (orig + len) as u32,
            exact: true,
        });
    }

    /// Canonical bytes starting at `canon` came, as a whole, from original
    /// bytes `orig..orig_end`. Consecutive pushes with the same original
    /// range extend one group.
    pub(crate) fn push_group(&mut self, canon: usize, orig: usize, orig_end: usize) {
        if let Some(last) = self.pieces.last_mut() {
            if last.orig == orig as u32 && last.orig_end == orig_end as u32 {
                // Same source: one group, even if it was exact so far.
                last.exact = false;
                return;
            }
        }
        self.pieces.push(Piece {
            canon: canon as u32,
            orig: orig as u32,
            orig_end: orig_end as u32,
            exact: false,
        });
    }

    /// The last canonical byte (at `canon`, which the normalizer emitted
    /// last) now also stands for original bytes up to `orig_end`: used when
    /// `--` or a run of dashes folds into the `-` already emitted.
    pub(crate) fn extend_last(&mut self, canon: usize, orig_end: usize) {
        let Some(last) = self.pieces.last_mut() else { return };
        if !last.exact || last.canon == canon as u32 {
            // Already a group, or a piece of just this byte: widen it.
            last.exact = false;
            last.orig_end = orig_end as u32;
            return;
        }
        // Split the exact piece: its last byte becomes a group of its own.
        let byte_orig = last.orig + (canon as u32 - last.canon);
        last.orig_end = byte_orig;
        self.pieces.push(Piece {
            canon: canon as u32,
            orig: byte_orig,
            orig_end: orig_end as u32,
            exact: false,
        });
    }

    pub(crate) fn finish(&mut self, canon_len: usize, orig_len: usize) {
        self.canon_len = canon_len as u32;
        self.orig_len = orig_len as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_pieces_merge_and_map_byte_for_byte() {
        let mut m = OffsetMap::new();
        m.push_exact(0, 0, 3);
        m.push_exact(3, 3, 4);
        m.finish(7, 7);
        assert_eq!(m.pieces(), 1);
        for c in 0..=7 {
            assert_eq!(m.to_original(c, Round::Down), c);
        }
    }

    #[test]
    fn groups_round_both_ways() {
        // "a  b" -> "a b": the space group covers original 1..3.
        let mut m = OffsetMap::new();
        m.push_exact(0, 0, 1);
        m.push_group(1, 1, 3);
        m.push_exact(2, 3, 1);
        m.finish(3, 4);
        assert_eq!(m.to_original(1, Round::Down), 1);
        assert_eq!(m.to_original(2, Round::Down), 3);
        assert_eq!(m.to_original(3, Round::Down), 4);
        assert_eq!(m.original_range_inner(1, 2), 1..3);
    }

    #[test]
    fn inside_a_group_rounds() {
        // "ﬁx" -> "fix": group 0..2 <- 0..3.
        let mut m = OffsetMap::new();
        m.push_group(0, 0, 3);
        m.push_group(1, 0, 3);
        m.push_exact(2, 3, 1);
        m.finish(3, 4);
        assert_eq!(m.to_original(1, Round::Down), 0);
        assert_eq!(m.to_original(1, Round::Up), 3);
        assert_eq!(m.original_range_inner(1, 3), 3..4);
        assert_eq!(m.original_range_outer(1, 3), 0..4);
    }

    #[test]
    fn extend_last_splits_an_exact_piece() {
        // "ab--c" -> "ab-c"
        let mut m = OffsetMap::new();
        m.push_exact(0, 0, 3);
        m.extend_last(2, 4);
        m.push_exact(3, 4, 1);
        m.finish(4, 5);
        assert_eq!(m.to_original(2, Round::Down), 2);
        assert_eq!(m.to_original(3, Round::Down), 4);
        assert_eq!(m.original_range_inner(0, 3), 0..4);
    }

    #[test]
    fn encode_decode_round_trips() {
        let mut m = OffsetMap::new();
        m.push_exact(0, 0, 3);
        m.extend_last(2, 4);
        m.push_group(3, 4, 7);
        m.push_exact(4, 7, 2);
        m.finish(6, 9);
        let mut words = Vec::new();
        m.encode(&mut words);
        let mut back = OffsetMap::new();
        assert_eq!(back.decode(&words), Some(()));
        assert_eq!(back, m);
        assert_eq!(back.decode(&words[..2]), None);
        assert_eq!(back.pieces(), 0);
        assert_eq!(back.decode(&[]), None);
    }
}
