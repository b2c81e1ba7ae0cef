//! Shingles: the overlapping n-grams whose sets MinHash compares.
//!
//! Two texts are near duplicates when their *shingle sets* overlap a lot
//! (Broder, *On the resemblance and containment of documents*, 1997). A
//! shingle is `n` consecutive words ([`Shingling::Word`], the default with
//! `n = 5`) or `n` consecutive characters ([`Shingling::Char`], for text
//! without spaces between words or for short strings).
//!
//! # Why hashes of slices
//! We never build a shingle as a `String`: the input is *canonical* text
//! (normalized, case-folded, white space collapsed by `neardup-text`), in
//! which the bytes between two words are always the same separator, so the
//! byte slice from the first word's start to the n-th word's end *is* the
//! shingle. [`Shingling::shingle_hashes`] hashes those slices in place with
//! [`crate::hash::hash_bytes`] and appends the 64-bit values to a buffer the
//! caller owns and reuses: no allocation per shingle. Word boundaries are
//! found 64 bytes at a time from white-space bitmasks (see
//! `word_shingles`), which avoids a mispredicted branch per word.
//!
//! A consequence worth knowing: the separator is part of the shingle, so
//! `"a b"` and `"a\nb"` differ. Canonical text makes separators
//! deterministic; normalize with `Whitespace::All` to make line breaks
//! irrelevant.
//!
//! # Edge cases
//! - Words are maximal runs of bytes other than ASCII white space (space,
//!   `\t`, `\n`, `\x0C`, `\r`), as in `neardup_text::segment::words`;
//!   canonical text has turned every Unicode space into `' '` already.
//! - A text with fewer than `n` words (or chars) yields exactly **one**
//!   shingle, the whole text without leading/trailing white space, so a
//!   short text still has a signature and still matches its copies.
//! - An empty or all-white-space text yields **no** shingles; its signature
//!   is the empty sentinel (see [`crate::minhash`]).
//!
//! Complexity: `O(len)` time, `8` bytes of output per shingle.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::hash::hash_bytes;

/// How a text is cut into shingles.
///
/// Parses from and displays as `word:N` or `char:N`; serializes as that
/// string. `Word(0)`/`Char(0)` are refused by the parser and behave like
/// `n = 1` if built directly.
///
/// ```
/// use neardup_sketch::Shingling;
///
/// let s: Shingling = "word:3".parse()?;
/// assert_eq!(s, Shingling::Word(3));
/// assert_eq!(s.to_string(), "word:3");
/// assert_eq!(Shingling::default(), Shingling::Word(5));
///
/// let mut hashes = Vec::new();
/// s.shingle_hashes("a rose is a rose", 0, &mut hashes);
/// assert_eq!(hashes.len(), 3); // "a rose is", "rose is a", "is a rose"
/// # Ok::<(), neardup_sketch::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Shingling {
    /// `n` consecutive words.
    Word(usize),
    /// `n` consecutive Unicode scalar values (not bytes).
    Char(usize),
}

impl Default for Shingling {
    fn default() -> Shingling {
        Shingling::Word(5)
    }
}

impl Shingling {
    /// The `n` of the n-gram (at least 1).
    #[must_use]
    pub fn n(self) -> usize {
        match self {
            Shingling::Word(n) | Shingling::Char(n) => n.max(1),
        }
    }

    /// Clears `out` and fills it with the hash of every shingle of `text`,
    /// in text order (duplicates kept; see [`into_set`]).
    ///
    /// `seed` seeds [`hash_bytes`]. `text` should be canonical (see the
    /// module docs); any `&str` is accepted.
    pub fn shingle_hashes(self, text: &str, seed: u64, out: &mut Vec<u64>) {
        out.clear();
        match self {
            Shingling::Word(n) => word_shingles(text.as_bytes(), n.max(1), seed, out),
            Shingling::Char(n) => char_shingles(text.as_bytes(), n.max(1), seed, out),
        }
    }
}

impl fmt::Display for Shingling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shingling::Word(n) => write!(f, "word:{n}"),
            Shingling::Char(n) => write!(f, "char:{n}"),
        }
    }
}

impl FromStr for Shingling {
    type Err = Error;

    fn from_str(s: &str) -> Result<Shingling, Error> {
        let err = |reason| Error::Shingling { input: s.to_owned(), reason };
        let (unit, n) = s.split_once(':').ok_or_else(|| err("missing `:`"))?;
        let n: usize = n.trim().parse().map_err(|_| err("N is not a whole number"))?;
        if n == 0 {
            return Err(err("N must be at least 1"));
        }
        match unit.trim().to_ascii_lowercase().as_str() {
            "word" | "words" => Ok(Shingling::Word(n)),
            "char" | "chars" => Ok(Shingling::Char(n)),
            _ => Err(err("unit must be `word` or `char`")),
        }
    }
}

impl TryFrom<String> for Shingling {
    type Error = Error;

    fn try_from(s: String) -> Result<Shingling, Error> {
        s.parse()
    }
}

impl From<Shingling> for String {
    fn from(s: Shingling) -> String {
        s.to_string()
    }
}

/// Sorts and deduplicates shingle hashes in place, turning the bag that
/// [`Shingling::shingle_hashes`] returns into the set that
/// [`crate::jaccard`] compares. Sketches do not need it (a minimum ignores
/// repeats).
pub fn into_set(hashes: &mut Vec<u64>) {
    hashes.sort_unstable();
    hashes.dedup();
}

/// ASCII white space, as `u8::is_ascii_whitespace` (`' '`, `\t`, `\n`,
/// `\x0C`, `\r`). Bytes of multi-byte UTF-8 characters are all `>= 0x80`,
/// so scanning bytes never splits a character.
#[inline(always)]
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0C' | b'\r')
}

/// Bytes per block of the word scanner.
const BLOCK: usize = 64;

/// Ring of recent word starts; must hold `n` plus the starts one block can
/// get ahead of their ends (at most 32), hence the limit on `n`.
const RING: usize = 256;

/// Largest `n` the block scanner handles; larger `n` (unusual) take the
/// byte-at-a-time scanner.
const MAX_BLOCK_N: usize = RING - BLOCK;

/// Bit `j` set iff `block[j]` is white space.
///
/// Written so that LLVM vectorizes it even for baseline SSE2: a byte-wise
/// compare into a `0/1` array (`pcmpeqb`, `por`), then each 8 bytes of it
/// packed into 8 bits with one multiply (`0x0102040810204080` moves byte
/// `i`'s low bit to bit `56 + i`, with no overlapping partial products).
#[inline(always)]
fn space_mask(block: &[u8; BLOCK]) -> u64 {
    let mut flags = [0u8; BLOCK];
    for (f, &b) in flags.iter_mut().zip(block) {
        *f = u8::from(is_space(b));
    }
    let mut mask = 0u64;
    for (k, eight) in flags.chunks_exact(8).enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(eight);
        let packed = u64::from_le_bytes(w).wrapping_mul(0x0102_0408_1020_4080) >> 56;
        mask |= packed << (8 * k);
    }
    mask
}

/// Word n-grams from white-space bitmasks, 64 bytes at a time.
///
/// A byte-at-a-time scanner mispredicts a branch at every word boundary
/// (two cursors, four loop exits per word: 57 ns per shingle on English
/// text); here each block yields a mask of word *starts* (`!ws & ws << 1`)
/// and word *ends* (`ws & !(ws << 1)`), walked with `trailing_zeros`, so
/// branches mispredict about once per block instead of per word (~10 ns
/// per shingle including the hash). Starts go into a ring; the k-th end
/// closes the shingle that began at start `k - n`.
fn word_shingles(b: &[u8], n: usize, seed: u64, out: &mut Vec<u64>) {
    if n > MAX_BLOCK_N {
        return word_shingles_bytewise(b, n, seed, out);
    }
    let len = b.len();
    out.reserve(len / 6 + 1); // ~ one shingle per 6 bytes of English
    let mut ring = [0usize; RING];
    let (mut starts_seen, mut ends_seen) = (0usize, 0usize);
    let mut last_end = 0;
    // The byte before the text counts as white space.
    let mut prev_space = 1u64;
    let mut tail = [b' '; BLOCK];
    let mut base = 0;
    while base < len {
        let block: &[u8; BLOCK] = match b.get(base..base + BLOCK) {
            Some(full) => full.try_into().unwrap_or(&tail),
            None => {
                // Pad the last partial block with spaces, which also ends
                // a word that runs to the end of the text.
                tail[..len - base].copy_from_slice(&b[base..]);
                &tail
            }
        };
        let ws = space_mask(block);
        let after_space = (ws << 1) | prev_space;
        let mut starts = !ws & after_space;
        let mut ends = ws & !after_space;
        prev_space = ws >> 63;
        while starts != 0 {
            ring[starts_seen % RING] = base + starts.trailing_zeros() as usize;
            starts &= starts - 1;
            starts_seen += 1;
        }
        while ends != 0 {
            let end = base + ends.trailing_zeros() as usize;
            ends &= ends - 1;
            ends_seen += 1;
            if ends_seen >= n {
                let start = ring[(ends_seen - n) % RING];
                out.push(hash_bytes(&b[start..end], seed));
            }
            last_end = end;
        }
        base += BLOCK;
    }
    if len.is_multiple_of(BLOCK) && prev_space == 0 && len > 0 {
        // The text ends inside a word on a block boundary: no padding
        // closed it.
        ends_seen += 1;
        if ends_seen >= n {
            out.push(hash_bytes(&b[ring[(ends_seen - n) % RING]..len], seed));
        }
        last_end = len;
    }
    if ends_seen > 0 && ends_seen < n {
        // Shorter than one shingle: the whole (trimmed) text is the shingle.
        out.push(hash_bytes(&b[ring[0]..last_end], seed));
    }
}

/// Word n-grams by two cursors: `i` walks ahead finding word ends; `first`
/// trails at the start of the window's first word and steps one word each
/// time a shingle is emitted. Any `n`, no buffer; the fallback for very
/// large `n` and the test oracle of [`word_shingles`].
fn word_shingles_bytewise(b: &[u8], n: usize, seed: u64, out: &mut Vec<u64>) {
    let len = b.len();
    let mut i = 0;
    while i < len && is_space(b[i]) {
        i += 1;
    }
    if i == len {
        return;
    }
    let mut first = i;
    let mut words = 0usize;
    let mut end;
    loop {
        while i < len && !is_space(b[i]) {
            i += 1;
        }
        end = i;
        words += 1;
        if words >= n {
            out.push(hash_bytes(&b[first..end], seed));
            // Step `first` over its word and the separator after it.
            while first < end && !is_space(b[first]) {
                first += 1;
            }
            while first < len && is_space(b[first]) {
                first += 1;
            }
        }
        while i < len && is_space(b[i]) {
            i += 1;
        }
        if i == len {
            break;
        }
    }
    if words < n {
        out.push(hash_bytes(&b[first..end], seed));
    }
}

/// Width in bytes of the UTF-8 character whose first byte is `lead`.
#[inline(always)]
fn utf8_width(lead: u8) -> usize {
    match lead {
        0x00..=0xBF => 1, // ASCII (continuation bytes never lead in a &str)
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// Char n-grams: a window of `n` characters slides one character at a
/// time; both ends step by the UTF-8 width of their lead byte.
fn char_shingles(b: &[u8], n: usize, seed: u64, out: &mut Vec<u64>) {
    let len = b.len();
    if len == 0 {
        return;
    }
    out.reserve(len);
    // `min(len)` only guards against a broken lead byte; a `&str` has none.
    let mut end = 0;
    let mut chars = 0;
    while end < len && chars < n {
        end = (end + utf8_width(b[end])).min(len);
        chars += 1;
    }
    let mut start = 0;
    out.push(hash_bytes(&b[start..end], seed));
    while end < len {
        start += utf8_width(b[start]);
        end = (end + utf8_width(b[end])).min(len);
        out.push(hash_bytes(&b[start..end], seed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hashes(s: Shingling, text: &str) -> Vec<u64> {
        let mut out = vec![42]; // must be cleared
        s.shingle_hashes(text, 9, &mut out);
        out
    }

    fn naive_words(text: &str, n: usize) -> Vec<u64> {
        let words: Vec<&str> = text.split_ascii_whitespace().collect();
        if words.is_empty() {
            return vec![];
        }
        if words.len() < n {
            return vec![hash_bytes(words.join(" ").as_bytes(), 9)];
        }
        words.windows(n).map(|w| hash_bytes(w.join(" ").as_bytes(), 9)).collect()
    }

    fn naive_chars(text: &str, n: usize) -> Vec<u64> {
        let chars: Vec<char> = text.chars().collect();
        if chars.is_empty() {
            return vec![];
        }
        if chars.len() < n {
            return vec![hash_bytes(text.as_bytes(), 9)];
        }
        chars.windows(n).map(|w| hash_bytes(w.iter().collect::<String>().as_bytes(), 9)).collect()
    }

    #[test]
    fn parse_and_display_round_trip() {
        for s in ["word:5", "char:3", "word:1", "char:12"] {
            let parsed: Shingling = s.parse().unwrap();
            assert_eq!(parsed.to_string(), s);
        }
        assert_eq!("WORD: 4".parse::<Shingling>().unwrap(), Shingling::Word(4));
        for bad in ["word", "word:0", "word:x", "line:3", "", ":5", "char:-1"] {
            assert!(bad.parse::<Shingling>().is_err(), "{bad}");
        }
    }

    #[test]
    fn serde_as_string() {
        let json = serde_json::to_string(&Shingling::Char(7)).unwrap();
        assert_eq!(json, "\"char:7\"");
        let back: Shingling = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Shingling::Char(7));
        assert!(serde_json::from_str::<Shingling>("\"word:0\"").is_err());
    }

    #[test]
    fn empty_text_has_no_shingles() {
        for s in [Shingling::Word(5), Shingling::Char(5)] {
            assert!(hashes(s, "").is_empty());
        }
        assert!(hashes(Shingling::Word(2), " \n ").is_empty());
    }

    #[test]
    fn short_text_is_one_shingle() {
        let w = Shingling::Word(5);
        assert_eq!(hashes(w, "two words"), vec![hash_bytes(b"two words", 9)]);
        assert_eq!(hashes(w, "  two words \n"), vec![hash_bytes(b"two words", 9)]);
        let c = Shingling::Char(5);
        assert_eq!(hashes(c, "abc"), vec![hash_bytes(b"abc", 9)]);
    }

    #[test]
    fn word_shingles_are_slices() {
        let got = hashes(Shingling::Word(2), "a bb\nccc d");
        let want: Vec<u64> =
            ["a bb", "bb\nccc", "ccc d"].iter().map(|s| hash_bytes(s.as_bytes(), 9)).collect();
        assert_eq!(got, want);
        assert_eq!(hashes(Shingling::Word(1), "x y x").len(), 3);
    }

    #[test]
    fn char_shingles_count_chars_not_bytes() {
        let got = hashes(Shingling::Char(2), "héé");
        let want: Vec<u64> = ["hé", "éé"].iter().map(|s| hash_bytes(s.as_bytes(), 9)).collect();
        assert_eq!(got, want);
        assert_eq!(hashes(Shingling::Char(1), "日本語").len(), 3);
    }

    #[test]
    fn zero_behaves_as_one() {
        assert_eq!(hashes(Shingling::Word(0), "a b"), hashes(Shingling::Word(1), "a b"));
        assert_eq!(hashes(Shingling::Char(0), "ab"), hashes(Shingling::Char(1), "ab"));
    }

    #[test]
    fn space_mask_is_exact() {
        let mut block = [b'a'; BLOCK];
        for (j, b) in block.iter_mut().enumerate() {
            *b = [b' ', b'\n', b'\t', b'\r', 0x0C, 0x0B, 0x00, 0x21, 0x80, b'x'][j % 10];
        }
        let want = (0..BLOCK).fold(0u64, |m, j| m | u64::from(is_space(block[j])) << j);
        assert_eq!(space_mask(&block), want);
    }

    #[test]
    fn block_boundaries() {
        // Texts of exactly 64 and 128 bytes ending inside a word, and a
        // word running across the boundary.
        for len in [63usize, 64, 65, 127, 128, 129] {
            let text: String = (0..len).map(|i| if i % 7 == 6 { ' ' } else { 'w' }).collect();
            for n in [1, 2, 5, 20] {
                let mut want = Vec::new();
                word_shingles_bytewise(text.as_bytes(), n, 9, &mut want);
                assert_eq!(hashes(Shingling::Word(n), &text), want, "len {len} n {n}");
            }
        }
        let long = "x ".repeat(300);
        let mut want = Vec::new();
        word_shingles_bytewise(long.as_bytes(), MAX_BLOCK_N + 1, 9, &mut want);
        assert_eq!(hashes(Shingling::Word(MAX_BLOCK_N + 1), &long), want);
        assert_eq!(want.len(), 300 - MAX_BLOCK_N);
    }

    #[test]
    fn into_set_sorts_and_dedups() {
        let mut v = vec![3, 1, 3, 2, 1];
        into_set(&mut v);
        assert_eq!(v, [1, 2, 3]);
    }

    proptest! {
        /// On canonical text (single spaces and newlines) the slice hashes
        /// equal hashes of the joined words.
        #[test]
        fn words_match_naive(
            words in prop::collection::vec("[a-zé]{1,6}", 0..30),
            n in 1usize..7,
        ) {
            let text = words.join(" ");
            prop_assert_eq!(hashes(Shingling::Word(n), &text), naive_words(&text, n));
        }

        /// The block scanner agrees with the byte-at-a-time one on any
        /// text, including texts that straddle 64-byte blocks, start or
        /// end with white space, or end exactly on a block boundary.
        #[test]
        fn block_scanner_matches_bytewise(
            text in "([a-c]{1,9}|[ \\n\\t\\r\\x0b\\x0c]{1,3}|é){0,80}",
            n in 1usize..9,
        ) {
            let mut a = Vec::new();
            let mut b = Vec::new();
            word_shingles(text.as_bytes(), n, 3, &mut a);
            word_shingles_bytewise(text.as_bytes(), n, 3, &mut b);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn chars_match_naive(text in "\\PC{0,40}", n in 1usize..7) {
            prop_assert_eq!(hashes(Shingling::Char(n), &text), naive_chars(&text, n));
        }

        /// Any text, canonical or not, is accepted without panicking, and
        /// the count of word shingles is what the word count predicts.
        #[test]
        fn any_text_word_count(text in "[ a-c\\n\\t\\r]{0,60}", n in 1usize..5) {
            let words = text.split_ascii_whitespace().count();
            let expect = if words == 0 { 0 } else if words < n { 1 } else { words - n + 1 };
            prop_assert_eq!(hashes(Shingling::Word(n), &text).len(), expect);
        }
    }
}
