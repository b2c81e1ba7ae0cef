//! Gopher-style repetition statistics.
//!
//! Rae et al. 2021 ("Scaling Language Models: Methods, Analysis & Insights
//! from Training Gopher", appendix A, table A1) drop documents whose lines,
//! paragraphs or word n-grams repeat too much. neardup computes the same
//! measures on the canonical text of each record, writes them in the ledger,
//! and, when asked, removes records above the thresholds.
//!
//! Definitions used here (all on canonical text, so typographic variants of
//! a line are the same line):
//! - `dup_line_frac`: share of non-empty lines equal to an earlier line;
//!   `dup_line_char_frac`: their characters over all characters.
//!   Likewise `dup_para_*` for paragraphs (blocks between blank lines).
//! - `top_{2,3,4}gram_char_frac`: characters (of its words, spaces not
//!   counted) of the most frequent word n-gram times its count, over the
//!   characters of all words.
//! - `dup_{5..10}gram_char_frac`: characters of the words covered by word
//!   n-grams that occur more than once (each word counted once), over the
//!   characters of all words.
//!
//! Gopher's thresholds are [`Thresholds::gopher`].
//!
//! A record longer than [`MAX_STATS_BYTES`] of canonical text is measured on
//! its first [`MAX_STATS_BYTES`] (cut at a line break when there is one):
//! the n-gram tables cost memory in proportion to the words measured (about
//! 50 bytes each), and Gopher's measures were made for web pages, not for
//! book-sized texts, whose opening megabytes show their repetitiveness as
//! well as the rest would.

use neardup_text::segment;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use crate::hashing::PrehashedSet;

/// The most canonical bytes of one record that are measured.
pub const MAX_STATS_BYTES: usize = 8 << 20;

/// `text`, or its first [`MAX_STATS_BYTES`] ending at a line break (at a
/// character boundary if there is none).
fn measured_prefix(text: &str) -> &str {
    if text.len() <= MAX_STATS_BYTES {
        return text;
    }
    let mut end = MAX_STATS_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    match memchr::memrchr(b'\n', &text.as_bytes()[..end]) {
        Some(nl) if nl > 0 => &text[..nl],
        _ => &text[..end],
    }
}

/// Repetition statistics of one record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // Each field is defined in the module docs.
pub struct Stats {
    pub dup_line_frac: f32,
    pub dup_para_frac: f32,
    pub dup_line_char_frac: f32,
    pub dup_para_char_frac: f32,
    pub top_2gram_char_frac: f32,
    pub top_3gram_char_frac: f32,
    pub top_4gram_char_frac: f32,
    pub dup_5gram_char_frac: f32,
    pub dup_6gram_char_frac: f32,
    pub dup_7gram_char_frac: f32,
    pub dup_8gram_char_frac: f32,
    pub dup_9gram_char_frac: f32,
    pub dup_10gram_char_frac: f32,
}

/// Upper bounds; a record above any is removed with reason `repetition`.
/// In JSON, the list of `[name, bound]` pairs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Thresholds {
    /// `(name, bound)` pairs, names as in [`Stats`].
    pub bounds: Vec<(String, f32)>,
}

impl Thresholds {
    /// Gopher's published thresholds.
    pub fn gopher() -> Thresholds {
        let b = [
            ("dup_line_frac", 0.30),
            ("dup_para_frac", 0.30),
            ("dup_line_char_frac", 0.20),
            ("dup_para_char_frac", 0.20),
            ("top_2gram_char_frac", 0.20),
            ("top_3gram_char_frac", 0.18),
            ("top_4gram_char_frac", 0.16),
            ("dup_5gram_char_frac", 0.15),
            ("dup_6gram_char_frac", 0.14),
            ("dup_7gram_char_frac", 0.13),
            ("dup_8gram_char_frac", 0.12),
            ("dup_9gram_char_frac", 0.11),
            ("dup_10gram_char_frac", 0.10),
        ];
        Thresholds { bounds: b.iter().map(|&(n, v)| (n.to_string(), v)).collect() }
    }

    /// Sets one bound; errors on an unknown name.
    pub fn set(&mut self, name: &str, bound: f32) -> Result<(), String> {
        if Stats::default().get(name).is_none() {
            return Err(format!("unknown repetition statistic `{name}`"));
        }
        match self.bounds.iter_mut().find(|(n, _)| n == name) {
            Some(b) => b.1 = bound,
            None => self.bounds.push((name.to_string(), bound)),
        }
        Ok(())
    }

    /// The first bound `stats` exceeds, as `"name value > bound"`.
    pub fn exceeded(&self, stats: &Stats) -> Option<String> {
        self.bounds.iter().find_map(|(name, bound)| {
            let v = stats.get(name)?;
            (v > *bound).then(|| format!("{name} {v:.3} > {bound}"))
        })
    }

    /// Whether any bound is set.
    pub fn is_empty(&self) -> bool {
        self.bounds.is_empty()
    }
}

impl Stats {
    /// Words of [`Stats::to_words`].
    pub(crate) const WORDS: usize = 7;

    /// The statistics as 7 words (two `f32` bits a word), the first word
    /// never 0 (a marker bit), for storage.
    pub(crate) fn to_words(&self) -> [u64; Stats::WORDS] {
        let f = self.fields();
        let mut w = [0u64; Stats::WORDS];
        for (i, v) in f.iter().enumerate() {
            w[i / 2] |= u64::from(v.to_bits()) << (32 * (i % 2));
        }
        w[Stats::WORDS - 1] |= 1 << 63; // 13 fields: the 14th slot marks presence.
        w
    }

    /// The statistics back from [`Stats::to_words`].
    pub(crate) fn from_words(w: &[u64]) -> Stats {
        let mut f = [0f32; 13];
        for (i, v) in f.iter_mut().enumerate() {
            *v = f32::from_bits((w.get(i / 2).copied().unwrap_or(0) >> (32 * (i % 2))) as u32);
        }
        Stats {
            dup_line_frac: f[0],
            dup_para_frac: f[1],
            dup_line_char_frac: f[2],
            dup_para_char_frac: f[3],
            top_2gram_char_frac: f[4],
            top_3gram_char_frac: f[5],
            top_4gram_char_frac: f[6],
            dup_5gram_char_frac: f[7],
            dup_6gram_char_frac: f[8],
            dup_7gram_char_frac: f[9],
            dup_8gram_char_frac: f[10],
            dup_9gram_char_frac: f[11],
            dup_10gram_char_frac: f[12],
        }
    }

    fn fields(&self) -> [f32; 13] {
        [
            self.dup_line_frac,
            self.dup_para_frac,
            self.dup_line_char_frac,
            self.dup_para_char_frac,
            self.top_2gram_char_frac,
            self.top_3gram_char_frac,
            self.top_4gram_char_frac,
            self.dup_5gram_char_frac,
            self.dup_6gram_char_frac,
            self.dup_7gram_char_frac,
            self.dup_8gram_char_frac,
            self.dup_9gram_char_frac,
            self.dup_10gram_char_frac,
        ]
    }

    /// A statistic by name.
    pub fn get(&self, name: &str) -> Option<f32> {
        Some(match name {
            "dup_line_frac" => self.dup_line_frac,
            "dup_para_frac" => self.dup_para_frac,
            "dup_line_char_frac" => self.dup_line_char_frac,
            "dup_para_char_frac" => self.dup_para_char_frac,
            "top_2gram_char_frac" => self.top_2gram_char_frac,
            "top_3gram_char_frac" => self.top_3gram_char_frac,
            "top_4gram_char_frac" => self.top_4gram_char_frac,
            "dup_5gram_char_frac" => self.dup_5gram_char_frac,
            "dup_6gram_char_frac" => self.dup_6gram_char_frac,
            "dup_7gram_char_frac" => self.dup_7gram_char_frac,
            "dup_8gram_char_frac" => self.dup_8gram_char_frac,
            "dup_9gram_char_frac" => self.dup_9gram_char_frac,
            "dup_10gram_char_frac" => self.dup_10gram_char_frac,
            _ => return None,
        })
    }

    /// Computes the statistics of canonical `text` (of its first
    /// [`MAX_STATS_BYTES`]).
    pub fn of(text: &str) -> Stats {
        let text = measured_prefix(text);
        let chars = text.chars().count().max(1) as f32;
        let (dl, dlc, nl) = duplicates(text, segment::lines(text));
        let (dp, dpc, np) = duplicates(text, segment::paragraphs(text));
        let frac = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f32 / b as f32 };

        // Words as (hash, characters).
        let words: Vec<(u64, usize)> = segment::words(text)
            .map(|r| (xxh3_64(&text.as_bytes()[r.clone()]), char_count(&text[r])))
            .collect();
        let word_chars = words.iter().map(|w| w.1).sum::<usize>().max(1) as f32;
        let grams = ngram_chars(&words);
        let top = |n: usize| grams.top[n - 2] as f32 / word_chars;
        let dup = |n: usize| grams.dup[n - 5] as f32 / word_chars;
        Stats {
            dup_line_frac: frac(dl, nl),
            dup_para_frac: frac(dp, np),
            dup_line_char_frac: dlc as f32 / chars,
            dup_para_char_frac: dpc as f32 / chars,
            top_2gram_char_frac: top(2),
            top_3gram_char_frac: top(3),
            top_4gram_char_frac: top(4),
            dup_5gram_char_frac: dup(5),
            dup_6gram_char_frac: dup(6),
            dup_7gram_char_frac: dup(7),
            dup_8gram_char_frac: dup(8),
            dup_9gram_char_frac: dup(9),
            dup_10gram_char_frac: dup(10),
        }
    }
}

/// (duplicate elements, their characters, all elements).
fn duplicates(
    text: &str,
    parts: impl Iterator<Item = std::ops::Range<usize>>,
) -> (usize, usize, usize) {
    let mut seen = PrehashedSet::default();
    let (mut dups, mut dup_chars, mut all) = (0, 0, 0);
    for r in parts {
        all += 1;
        let s = &text[r];
        if !seen.insert(xxh3_64(s.as_bytes())) {
            dups += 1;
            dup_chars += s.chars().count();
        }
    }
    (dups, dup_chars, all)
}

/// Characters in `s` (bytes, for ASCII).
fn char_count(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// Counts of `u64` hashes: open addressing with linear probing, slots
/// stamped with a generation so that a new table costs no clearing. One
/// table serves every n of a record; it is sized for the largest (2-grams).
struct Counter {
    /// (hash, count, generation).
    slots: Vec<(u64, u32, u32)>,
    mask: usize,
    generation: u32,
}

impl Counter {
    fn new(n: usize) -> Counter {
        let cap = (2 * n).next_power_of_two().max(16);
        Counter { slots: vec![(0, 0, 0); cap], mask: cap - 1, generation: 0 }
    }

    fn next_generation(&mut self) {
        self.generation += 1;
    }

    /// The slot of `h`: its own, or the empty one where it goes.
    #[inline]
    fn slot(&self, h: u64) -> usize {
        // The hashes are well mixed: their high bits index the table.
        let mut at = (h >> 32) as usize & self.mask;
        loop {
            let (k, _, g) = self.slots[at];
            if g != self.generation || k == h {
                return at;
            }
            at = (at + 1) & self.mask;
        }
    }

    #[inline]
    fn add(&mut self, h: u64) {
        let at = self.slot(h);
        let s = &mut self.slots[at];
        if s.2 == self.generation {
            s.1 += 1;
        } else {
            *s = (h, 1, self.generation);
        }
    }

    #[inline]
    fn count(&self, h: u64) -> u32 {
        let s = self.slots[self.slot(h)];
        if s.2 == self.generation {
            s.1
        } else {
            0
        }
    }
}

/// What the word n-gram tables give: for n = 2..=4, the characters of the
/// most frequent n-gram times its count (0 if none repeats); for n =
/// 5..=10, the characters of the words covered by repeated n-grams.
struct NgramChars {
    top: [usize; 3],
    dup: [usize; 6],
}

/// The n-gram measures, n = 2..=10, in one chain of shrinking tables.
///
/// An (n+1)-gram that occurs twice starts with an n-gram that occurs twice,
/// so after the full table of 2-grams each n is counted among the previous
/// n's repeated positions only, and each position's n-gram hash extends its
/// (n−1)-gram hash by one word. Counts of repeated n-grams are exact (all
/// their occurrences stay in the chain); an n-gram left out occurs once.
/// On a typical page the later tables hold a small share of the text.
fn ngram_chars(words: &[(u64, usize)]) -> NgramChars {
    let mut out = NgramChars { top: [0; 3], dup: [0; 6] };
    // chars[i] = characters of words[..i].
    let mut chars = Vec::with_capacity(words.len() + 1);
    chars.push(0usize);
    for w in words {
        chars.push(chars.last().copied().unwrap_or(0) + w.1);
    }
    // (position, hash of the n-gram starting there), in any order.
    let mut cand: Vec<(usize, u64)> = words.iter().enumerate().map(|(i, w)| (i, w.0)).collect();
    let mut table = Counter::new(cand.len());
    let mut covered = vec![false; words.len()];
    for n in 2..=10usize {
        cand.retain(|&(i, _)| i + n <= words.len());
        if cand.is_empty() {
            break;
        }
        table.next_generation();
        for (i, h) in cand.iter_mut() {
            *h = (h.rotate_left(5) ^ words[*i + n - 1].0).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            table.add(*h);
        }
        let mut top = (0usize, 0usize); // (count, count × characters)
        cand.retain(|&(i, h)| {
            let c = table.count(h) as usize;
            if c > 1 {
                top = top.max((c, c * (chars[i + n] - chars[i])));
            }
            c > 1
        });
        if n <= 4 {
            out.top[n - 2] = top.1;
        } else {
            covered.iter_mut().for_each(|c| *c = false);
            for &(i, _) in &cand {
                covered[i..i + n].iter_mut().for_each(|c| *c = true);
            }
            out.dup[n - 5] = words.iter().zip(&covered).filter(|(_, &c)| c).map(|(w, _)| w.1).sum();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_without_repeats_scores_zero() {
        let s = Stats::of("one two three four five six seven eight nine ten eleven twelve");
        assert_eq!(s.dup_line_frac, 0.0);
        assert_eq!(s.top_2gram_char_frac, 0.0);
        assert_eq!(s.dup_5gram_char_frac, 0.0);
    }

    #[test]
    fn repeated_lines_and_ngrams_are_counted() {
        let s = Stats::of("same line here\nother line\nsame line here\nsame line here");
        assert_eq!(s.dup_line_frac, 0.5);
        let chars =
            "same line here\nother line\nsame line here\nsame line here".chars().count() as f32;
        assert!((s.dup_line_char_frac - 28.0 / chars).abs() < 1e-6);
        // "same line" occurs 3 times: 3 * 8 chars of 45 word chars.
        assert!((s.top_2gram_char_frac - 24.0 / 45.0).abs() < 1e-6, "{}", s.top_2gram_char_frac);
        let words = "a b c d e f g h a b c d e";
        let s = Stats::of(words);
        // "a b c d e" occurs twice: 10 of 13 words covered.
        assert!((s.dup_5gram_char_frac - 10.0 / 13.0).abs() < 1e-6);
    }

    #[test]
    fn thresholds_name_what_was_exceeded() {
        let s = Stats::of("x y\nx y\nx y\nx y");
        let t = Thresholds::gopher();
        assert_eq!(t.exceeded(&s).as_deref(), Some("dup_line_frac 0.750 > 0.3"));
        let mut t = Thresholds::default();
        assert!(t.set("no_such", 0.1).is_err());
        t.set("dup_10gram_char_frac", 0.5).unwrap();
        assert_eq!(t.exceeded(&s), None);
    }

    #[test]
    fn statistics_round_trip_through_words() {
        let s = Stats::of("same line here\nother line\nsame line here\na b c d e f a b c d e f");
        let w = s.to_words();
        assert_ne!(w[0] | w[Stats::WORDS - 1], 0);
        assert_eq!(Stats::from_words(&w), s);
        assert_eq!(Stats::from_words(&Stats::default().to_words()), Stats::default());
    }

    #[test]
    fn huge_records_are_measured_on_their_opening() {
        let line = "a line that is said once and then again and again\n";
        let text = line.repeat(MAX_STATS_BYTES / line.len() * 3);
        let prefix = measured_prefix(&text);
        assert!(prefix.len() <= MAX_STATS_BYTES && prefix.len() > MAX_STATS_BYTES - line.len());
        assert!(text[prefix.len()..].starts_with('\n'), "cut at a line break");
        let wide = "é".repeat(MAX_STATS_BYTES);
        assert!(measured_prefix(&wide).len() <= MAX_STATS_BYTES);
    }

    /// Hash of the word n-gram starting at `i`, from scratch.
    fn ngram_hash(words: &[(u64, usize)], i: usize, n: usize) -> u64 {
        words[i..i + n]
            .iter()
            .fold(n as u64, |h, w| (h.rotate_left(5) ^ w.0).wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    /// The most frequent n-gram's characters times its count, from a full
    /// table of every position.
    fn top_ngram_chars_naive(words: &[(u64, usize)], n: usize) -> usize {
        if words.len() < n {
            return 0;
        }
        let mut counts = std::collections::HashMap::new();
        for i in 0..=words.len() - n {
            let chars: usize = words[i..i + n].iter().map(|w| w.1).sum();
            counts.entry(ngram_hash(words, i, n)).or_insert((0, chars)).0 += 1;
        }
        #[allow(clippy::iter_over_hash_type)]
        let best = counts.values().map(|&(c, chars)| (c, c * chars)).max();
        best.map_or(0, |(c, total)| if c > 1 { total } else { 0 })
    }

    /// The n-gram tables of every n over every position: what
    /// [`ngram_chars`] computes with smaller tables.
    fn dup_ngram_chars_naive(words: &[(u64, usize)], n: usize) -> usize {
        if words.len() < n {
            return 0;
        }
        let hashes: Vec<u64> = (0..=words.len() - n).map(|i| ngram_hash(words, i, n)).collect();
        let mut counts = std::collections::HashMap::new();
        for h in &hashes {
            *counts.entry(h).or_insert(0) += 1;
        }
        let mut covered = vec![false; words.len()];
        for (i, h) in hashes.iter().enumerate() {
            if counts[h] > 1 {
                covered[i..i + n].iter_mut().for_each(|c| *c = true);
            }
        }
        words.iter().zip(&covered).filter(|(_, &c)| c).map(|(w, _)| w.1).sum()
    }

    proptest::proptest! {
        #[test]
        fn pruned_ngram_tables_agree_with_full_ones(
            ids in proptest::collection::vec(0u64..4, 0..120),
        ) {
            let words: Vec<(u64, usize)> = ids.iter().map(|&w| (xxh3_64(&w.to_le_bytes()), w as usize + 1)).collect();
            let fast = ngram_chars(&words);
            for n in 2..=4 {
                proptest::prop_assert_eq!(fast.top[n - 2], top_ngram_chars_naive(&words, n), "n = {}", n);
            }
            for n in 5..=10 {
                proptest::prop_assert_eq!(fast.dup[n - 5], dup_ngram_chars_naive(&words, n), "n = {}", n);
            }
        }
    }
}
