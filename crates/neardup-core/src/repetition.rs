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

use neardup_text::mask;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use crate::stamped::Stamped;

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
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut s) => {
                let stats = s.stats(text);
                s.trim();
                stats
            }
            // Only a re-entrant call (none today) finds it taken.
            Err(_) => Scratch::default().stats(text),
        })
    }
}

thread_local! {
    /// Each thread's tables, kept from record to record.
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// The buffers of [`Stats::of`], reused from record to record so that a
/// record costs no allocation and no clearing (the table is stamped).
#[derive(Default)]
struct Scratch {
    /// Hash of each word.
    word_hash: Vec<u64>,
    /// `chars[i]`: characters of words `..i`; one more entry than words.
    chars: Vec<u32>,
    /// (hash of the n-gram starting at `pos`, `pos`, its slot in `table`
    /// or, when the list was counted in partitions, its count), in
    /// increasing `pos`.
    cand: Vec<(u64, u32, u32)>,
    /// Lines, paragraphs, and the n-gram tables of even n.
    table: Counter,
    /// The n-gram tables of odd n.
    next: Counter,
    /// A long list's (hash, index in `cand`) grouped by partition, and
    /// where each partition ends (see [`count`]).
    part: Vec<(u64, u32)>,
    part_end: Vec<usize>,
    /// Drops the n-grams that surely occur once before a list is counted.
    seen: SingletonSieve,
}

/// Words beyond which a thread does not keep its buffers after a record
/// (about 70 bytes a word): a rare huge record must not pin its tables.
const KEEP_WORDS: usize = 1 << 18;

impl Scratch {
    fn trim(&mut self) {
        if self.word_hash.capacity() > KEEP_WORDS
            || self.table.capacity().max(self.next.capacity()) > 4 * KEEP_WORDS
            || self.seen.capacity() > KEEP_WORDS / 4
        {
            *self = Scratch::default();
        }
    }

    fn stats(&mut self, text: &str) -> Stats {
        let text = measured_prefix(text);
        let (word_bytes, breaks) = self.words(text);
        // Lines and paragraphs are at most the line breaks plus one.
        let ((dl, dlc, nl), (dp, dpc, np)) =
            lines_and_paragraphs(&mut self.table, &mut self.next, breaks + 1, text);
        let frac = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f32 / b as f32 };

        let word_chars = *self.chars.last().unwrap_or(&0) as usize;
        // White space is ASCII: every byte outside a word is a character.
        let chars = (word_chars + text.len() - word_bytes).max(1) as f32;
        let grams = self.ngram_chars();
        let word_chars = word_chars.max(1) as f32;
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

    /// Splits `text` into words as [`neardup_text::segment::words`] does (runs of bytes
    /// other than ASCII white space), filling `word_hash` and `chars`;
    /// returns the bytes in words and the line breaks, counted off the same
    /// blocks (which sizes the line table without a pass of its own).
    ///
    /// Bytes are classified 64 at a time into bit masks
    /// ([`neardup_text::mask`]), and the words are read off the mask's edges,
    /// so the per-byte cost is a few instructions per 64 bytes rather than
    /// a compare and a branch per byte; characters come from a mask of
    /// UTF-8 continuation bytes counted with `count_ones`.
    #[inline(never)] // Out of line so that profiles name it, as the two below.
    fn words(&mut self, text: &str) -> (usize, usize) {
        let b = text.as_bytes();
        let ascii = text.is_ascii();
        self.word_hash.clear();
        self.chars.clear();
        self.chars.push(0);
        // Before the text is white space. A word's characters are its
        // bytes less its continuation bytes; white space holds none, so the
        // characters of the words up to one ending at `at` are the bytes in
        // words less the continuation bytes before `at`.
        let (mut prev_white, mut cont_before, mut in_words, mut start) = (1u64, 0usize, 0usize, 0);
        let mut breaks = 0;
        let mut block = |base: usize, block: &[u8; 64]| {
            let white = white_mask(block);
            breaks += mask::eq_mask(block, [b'\n']).count_ones() as usize;
            let cont = if ascii { 0 } else { continuation_mask(block) };
            // Bit k: byte k is white and byte k − 1 was not (a word ends),
            // or the reverse (a word starts).
            let mut edges = white ^ ((white << 1) | prev_white);
            prev_white = white >> 63;
            while edges != 0 {
                let k = edges.trailing_zeros();
                edges &= edges - 1;
                let at = base + k as usize;
                if white >> k & 1 == 0 {
                    start = at;
                    continue;
                }
                in_words += at - start;
                let cont_at = if cont == 0 {
                    cont_before
                } else {
                    cont_before + (cont & ((1u64 << k) - 1)).count_ones() as usize
                };
                self.word_hash.push(word_hash(b, start, at));
                self.chars.push((in_words - cont_at) as u32);
            }
            cont_before += cont.count_ones() as usize;
        };
        let mut blocks = b.chunks_exact(64);
        for (i, chunk) in blocks.by_ref().enumerate() {
            block(64 * i, chunk.try_into().expect("chunks of 64"));
        }
        // The last block is padded with white space: a word running to the
        // end of the text ends at its length.
        let rest = blocks.remainder();
        let mut last = [b' '; 64];
        last[..rest.len()].copy_from_slice(rest);
        block(b.len() - rest.len(), &last);
        (in_words, breaks)
    }

    /// The n-gram measures, n = 2..=10, in one chain of shrinking tables.
    ///
    /// An (n+1)-gram that occurs twice starts with an n-gram that occurs
    /// twice, so after the full table of 2-grams each n is counted among
    /// the previous n's repeated positions only, and each position's n-gram
    /// hash extends its (n−1)-gram hash by one word. Counts of repeated
    /// n-grams are exact (all their occurrences stay in the chain); an
    /// n-gram left out occurs once. On a typical page the later tables hold
    /// a small share of the text. Positions stay in increasing order, so
    /// the words covered by repeated n-grams are a sweep over intervals.
    /// A list of [`SIEVE_FROM`] n-grams or more first loses those that
    /// surely occur once ([`SingletonSieve`]: on debdocs that cut the statistics'
    /// time by a fifth), then is counted; a long one in partitions that
    /// each fit the L1 cache ([`count`]). A shorter list is not worth a
    /// sieve, and two tables take turns: the pass that reads the n-gram
    /// counts also fills the (n+1)-gram table, one walk per n.
    #[inline(never)]
    fn ngram_chars(&mut self) -> NgramChars {
        self.ngram_chars_partitioned_from(PARTITION_FROM)
    }

    /// [`Scratch::ngram_chars`], lists of `partition_from` n-grams or more
    /// counted in partitions (tests compare the two ways).
    #[inline(always)]
    fn ngram_chars_partitioned_from(&mut self, partition_from: usize) -> NgramChars {
        let mut out = NgramChars { top: [0; 3], dup: [0; 6] };
        let Scratch { word_hash: wh, chars, cand, table, next, part, part_end, seen } = self;
        let len = wh.len();
        let (mut this, mut next) = (table, next);
        cand.clear();
        if len < 2 {
            return out;
        }
        cand.extend(wh.windows(2).enumerate().map(|(i, w)| (extend(w[0], w[1]), i as u32, 0)));
        seen.drop_singles(cand);
        // Whether `cand` holds slots of `this` (else counts).
        let mut slots = count(cand, this, part, part_end, partition_from);
        for n in 2..=10usize {
            if cand.is_empty() {
                break;
            }
            // Keep the repeated ones, in order, and (while the list is
            // short) count their (n+1)-grams.
            let fuse = slots && n < 10 && cand.len() < SIEVE_FROM;
            if fuse {
                next.begin(cand.len());
            }
            let mut top = (0usize, 0usize); // (count, count × characters)
            let (mut kept, mut covered, mut end) = (0, 0u64, 0usize);
            for j in 0..cand.len() {
                let (h, pos, c) = cand[j];
                let count = if slots { this.count_at(c) } else { c } as usize;
                if count < 2 {
                    continue;
                }
                let i = pos as usize;
                if n <= 4 {
                    top = top.max((count, count * (chars[i + n] - chars[i]) as usize));
                } else {
                    covered += u64::from(chars[i + n] - chars[i.max(end)]);
                    end = i + n;
                }
                if n < 10 && i + n < len {
                    let h = extend(h, wh[i + n]);
                    cand[kept] = (h, pos, if fuse { next.add(h).0 } else { 0 });
                    kept += 1;
                }
            }
            cand.truncate(kept);
            if n <= 4 {
                out.top[n - 2] = top.1;
            } else {
                out.dup[n - 5] = covered as usize;
            }
            if !fuse && n < 10 {
                seen.drop_singles(cand);
                slots = count(cand, next, part, part_end, partition_from);
            }
            std::mem::swap(&mut this, &mut next);
        }
        out
    }
}

/// The hash of the word `b[start..end]`. Only equality matters here (n-gram
/// counts), so any well-mixed 64-bit hash will do: a word of up to 16 bytes
/// (nearly every one) is read as two little-endian words, zero beyond its
/// end, and folded by two 64×64→128-bit multiplies, with no branch on its
/// length; a longer one goes to xxh3.
#[inline(always)]
fn word_hash(b: &[u8], start: usize, end: usize) -> u64 {
    let len = end - start;
    if len > 16 {
        return xxh3_64(&b[start..end]);
    }
    let mut pad = [0u8; 16];
    let bytes: &[u8; 16] = match b.get(start..start + 16) {
        Some(s) => s.try_into().unwrap_or(&pad),
        None => {
            pad[..len].copy_from_slice(&b[start..end]);
            &pad
        }
    };
    let (lo, hi) = bytes.split_at(8);
    // The first `keep` (0 to 8) bytes of a half.
    let word = |half: &[u8], keep: usize| {
        let w = u64::from_le_bytes(half.try_into().unwrap_or([0; 8]));
        w & u64::MAX.checked_shr(64 - 8 * keep as u32).unwrap_or(0)
    };
    let lo = word(lo, len.min(8));
    let hi = word(hi, len.saturating_sub(8));
    // Two rounds of wyhash's folded multiply.
    let fold = |a: u64, b: u64| {
        let m = u128::from(a) * u128::from(b);
        (m as u64) ^ ((m >> 64) as u64)
    };
    let h = fold(lo ^ 0x243f_6a88_85a3_08d3, hi ^ 0x1319_8a2e_0370_7344);
    fold(h ^ len as u64 ^ 0xa409_3822_299f_31d0, 0x082e_fa98_ec4e_6c89)
}

/// The (n+1)-gram hash of an n-gram hash `h` and the next word's hash `w`.
#[inline]
fn extend(h: u64, w: u64) -> u64 {
    (h.rotate_left(5) ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Lists from this many n-grams on are counted in partitions: below, the
/// one table (up to 256 KB) mostly stays in the L2 cache, and the scatter's
/// instructions cost more than the misses it saves (measured: 2048 was no
/// faster than 8192 on the full corpus).
const PARTITION_FROM: usize = 8192;

/// N-grams per partition aimed at: a table of twice as many 16-byte slots
/// (16 KB) stays in the L1 cache.
const PART_NGRAMS: usize = 512;

/// At most 2^this partitions: each is a stream the scatter writes to.
const MAX_PART_BITS: u32 = 8;

/// Counts each n-gram's hash among `cand`: leaves in the third field its
/// slot in `table` and returns true or, for a list of `partition_from`
/// n-grams or more, its count and returns false.
///
/// A table of a long list outgrows the caches and each n-gram's count
/// would cost a cache miss, twice (counting, then reading the count). So a
/// long list is first scattered by the top bits of its hashes into
/// partitions (a streaming pass), and each partition is counted in a table
/// that stays in the L1 cache; equal hashes fall in the same partition, so
/// a partition's count is the list's count, exactly. The top bits are not
/// those that place a hash in its table, which stays evenly filled.
fn count(
    cand: &mut [(u64, u32, u32)],
    table: &mut Counter,
    part: &mut Vec<(u64, u32)>,
    part_end: &mut Vec<usize>,
    partition_from: usize,
) -> bool {
    if cand.len() < partition_from {
        table.begin(cand.len());
        for c in cand.iter_mut() {
            c.2 = table.add(c.0).0;
        }
        return true;
    }
    let bits =
        (cand.len() / PART_NGRAMS).next_power_of_two().trailing_zeros().clamp(1, MAX_PART_BITS);
    let shift = 64 - bits;
    // Partition k fills `part[part_end[k − 1]..part_end[k]]`: count, sum,
    // then scatter with `part_end[k]` as its write position, which leaves
    // it at the partition's end.
    part_end.clear();
    part_end.resize((1 << bits) + 1, 0);
    for c in cand.iter() {
        part_end[(c.0 >> shift) as usize + 1] += 1;
    }
    for k in 1..part_end.len() {
        part_end[k] += part_end[k - 1];
    }
    // Every entry below `cand.len()` is written by the scatter: grown,
    // never cleared.
    if part.len() < cand.len() {
        part.resize(cand.len(), (0, 0));
    }
    for (j, c) in cand.iter().enumerate() {
        let at = &mut part_end[(c.0 >> shift) as usize];
        part[*at] = (c.0, j as u32);
        *at += 1;
    }
    let mut from = 0;
    for &to in &part_end[..1 << bits] {
        let group = &mut part[from..to];
        table.begin(group.len());
        for e in group.iter_mut() {
            e.0 = u64::from(table.add(e.0).0);
        }
        for e in group.iter() {
            cand[e.1 as usize].2 = table.count_at(e.0 as u32);
        }
        from = to;
    }
    false
}

/// A filter that drops from a list of n-grams those that surely occur
/// once, in two passes with no data-dependent branch.
///
/// Counting an n-gram in the hash table costs a mispredicted branch for
/// about every n-gram seen for the first time, and in a page most 2-grams
/// are seen only once. Here each hash sets a bit in a bitmap of eight bits
/// or more per n-gram, and the bit it finds already set goes into a second
/// bitmap: an n-gram whose bit is not in the second occurs once (no false
/// negatives; a false positive only costs the count it would have cost
/// anyway). Only the rest go on to the table. Singletons never count, so
/// the statistics are unchanged.
#[derive(Default)]
struct SingletonSieve {
    once: Vec<u64>,
    twice: Vec<u64>,
}

/// Lists shorter than this go straight to the table.
const SIEVE_FROM: usize = 64;

impl SingletonSieve {
    fn drop_singles(&mut self, cand: &mut Vec<(u64, u32, u32)>) {
        if cand.len() < SIEVE_FROM {
            return;
        }
        let bits = (8 * cand.len()).next_power_of_two();
        let shift = 64 - bits.trailing_zeros();
        let words = bits / 64;
        for m in [&mut self.once, &mut self.twice] {
            m.clear();
            m.resize(words, 0);
        }
        let (once, twice) = (&mut self.once[..words], &mut self.twice[..words]);
        for c in cand.iter() {
            // The top bits: those the tables index by are the middle ones.
            let at = (c.0 >> shift) as usize;
            let (w, bit) = (at / 64, 1u64 << (at % 64));
            twice[w] |= once[w] & bit;
            once[w] |= bit;
        }
        let mut kept = 0;
        for j in 0..cand.len() {
            let c = cand[j];
            let at = (c.0 >> shift) as usize;
            cand[kept] = c;
            kept += (twice[at / 64] >> (at % 64) & 1) as usize;
        }
        cand.truncate(kept);
    }

    fn capacity(&self) -> usize {
        self.once.capacity()
    }
}

/// Bit k set when `block[k]` is ASCII white space.
#[inline]
fn white_mask(block: &[u8; 64]) -> u64 {
    mask::eq_mask(block, [b' ', b'\n', b'\t', b'\r', b'\x0C'])
}

/// Bit k set when `block[k]` continues a UTF-8 sequence (`0b10xx_xxxx`):
/// `0x80..=0xBF` are the signed bytes `-128..=-65`, the ones not above -65.
#[inline]
fn continuation_mask(block: &[u8; 64]) -> u64 {
    !mask::gt_mask(block, -65, [])
}

/// (duplicate elements, their characters, all elements) of the lines of
/// `text`, then of its paragraphs (as [`neardup_text::segment::lines`]
/// and [`neardup_text::segment::paragraphs`] cut them), in one walk over the lines.
///
/// A paragraph is a run of non-empty lines, so its hash comes from theirs:
/// a one-line paragraph (most of them) is its line, with the line's hash;
/// a longer one folds its lines' hashes, so its bytes are not hashed a
/// second time. The one paragraph that holds more than its lines, the last
/// when the text ends in a single line break (which it then keeps), is
/// hashed on its bytes: no other paragraph ends in a line break, so it
/// equals none.
#[inline(never)]
fn lines_and_paragraphs(
    lines: &mut Counter,
    paras: &mut Counter,
    most: usize,
    text: &str,
) -> ((usize, usize, usize), (usize, usize, usize)) {
    lines.begin(most);
    paras.begin(most);
    let b = text.as_bytes();
    let (mut line_dups, mut para_dups) = ((0, 0, 0), (0, 0, 0));
    let count = |table: &mut Counter,
                 dups: &mut (usize, usize, usize),
                 h: u64,
                 r: std::ops::Range<usize>| {
        dups.2 += 1;
        if table.add(h).1 > 0 {
            dups.0 += 1;
            dups.1 += text[r].chars().count();
        }
    };
    // The open paragraph: its start, the folded hash of its lines, and
    // whether it has more than one.
    let mut para: Option<(usize, u64, bool)> = None;
    let mut start = 0;
    let ends = mask::Positions::new(b, b'\n').chain(std::iter::once(b.len()));
    for end in ends {
        if end > start {
            let h = xxh3_64(&b[start..end]);
            count(lines, &mut line_dups, h, start..end);
            para = Some(match para {
                None => (start, h, false),
                Some((from, p, _)) => (from, fold(p, h), true),
            });
        } else if let Some((from, h, long)) = para.take() {
            if end == b.len() {
                // The text ends in one line break, which its last
                // paragraph keeps.
                count(paras, &mut para_dups, xxh3_64(&b[from..]), from..end);
            } else {
                let h = if long { fold_end(h) } else { h };
                count(paras, &mut para_dups, h, from..start - 1);
            }
        }
        start = end + 1;
    }
    if let Some((from, h, long)) = para {
        let h = if long { fold_end(h) } else { h };
        count(paras, &mut para_dups, h, from..b.len());
    }
    (line_dups, para_dups)
}

/// A paragraph's hash so far, `p`, and its next line's, `h`.
#[inline]
fn fold(p: u64, h: u64) -> u64 {
    (p ^ h.rotate_left(17)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// A paragraph of several lines' hash from the fold of theirs, mixed so
/// that it is not a line's hash.
#[inline]
fn fold_end(p: u64) -> u64 {
    let h = (p ^ (p >> 32)).wrapping_mul(0xd6e8_feb8_6659_fd93);
    h ^ (h >> 32)
}

/// Counts of `u64` hashes, one table per thread reused from list to list.
type Counter = Stamped<u32>;

impl Counter {
    /// Counts `h`; returns its slot and its count before.
    #[inline]
    fn add(&mut self, h: u64) -> (u32, u32) {
        // The hashes are well mixed: their high bits index the table.
        let (at, count, _) = self.entry(h, (h >> 32) as usize);
        *count += 1;
        (at, *count - 1)
    }

    /// The count in a slot [`Counter::add`] returned.
    #[inline]
    fn count_at(&self, slot: u32) -> u32 {
        self.at(slot)
    }
}

/// What the word n-gram tables give: for n = 2..=4, the characters of the
/// most frequent n-gram times its count (0 if none repeats); for n =
/// 5..=10, the characters of the words covered by repeated n-grams.
struct NgramChars {
    top: [usize; 3],
    dup: [usize; 6],
}

#[cfg(test)]
mod tests {
    use neardup_text::segment;

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

    /// [`Scratch::ngram_chars`] over words given as (hash, characters).
    fn ngram_chars(words: &[(u64, usize)]) -> NgramChars {
        let chars = std::iter::once(0)
            .chain(words.iter().scan(0u32, |t, w| {
                *t += w.1 as u32;
                Some(*t)
            }))
            .collect();
        let word_hash = words.iter().map(|w| w.0).collect();
        Scratch { word_hash, chars, ..Scratch::default() }.ngram_chars()
    }

    /// The statistics from their definitions: strings compared as strings,
    /// every n-gram of every n counted over every position, no hashing.
    fn stats_by_definition(text: &str) -> Stats {
        use std::collections::{HashMap, HashSet};
        let text = measured_prefix(text);
        let chars = text.chars().count().max(1) as f32;
        let dups = |parts: Vec<&str>| {
            let mut seen = HashSet::new();
            let d: Vec<&str> = parts.iter().copied().filter(|p| !seen.insert(*p)).collect();
            (d.len(), d.iter().map(|p| p.chars().count()).sum::<usize>(), parts.len())
        };
        let (dl, dlc, nl) = dups(segment::lines(text).map(|r| &text[r]).collect());
        let (dp, dpc, np) = dups(segment::paragraphs(text).map(|r| &text[r]).collect());
        let frac = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f32 / b as f32 };
        let words: Vec<&str> =
            text.split(|c: char| c.is_ascii_whitespace()).filter(|w| !w.is_empty()).collect();
        let wc = |ws: &[&str]| ws.iter().map(|w| w.chars().count()).sum::<usize>();
        let word_chars = wc(&words).max(1) as f32;
        let counts = |n: usize| {
            let mut m: HashMap<&[&str], usize> = HashMap::new();
            for g in words.windows(n) {
                *m.entry(g).or_default() += 1;
            }
            m
        };
        let top = |n: usize| {
            #[allow(clippy::iter_over_hash_type)]
            let best =
                counts(n).into_iter().filter(|&(_, c)| c > 1).map(|(g, c)| (c, c * wc(g))).max();
            best.map_or(0, |b| b.1) as f32 / word_chars
        };
        let dup = |n: usize| {
            let m = counts(n);
            let mut covered = vec![false; words.len()];
            for (i, g) in words.windows(n).enumerate() {
                if m[g] > 1 {
                    covered[i..i + n].iter_mut().for_each(|c| *c = true);
                }
            }
            let c: usize = words
                .iter()
                .zip(&covered)
                .filter(|(_, &c)| c)
                .map(|(w, _)| w.chars().count())
                .sum();
            c as f32 / word_chars
        };
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

    /// Bits of every field, so that -0.0, NaN and rounding all count.
    fn bits(s: &Stats) -> Vec<u32> {
        s.fields().iter().map(|v| v.to_bits()).collect()
    }

    /// Texts made of a few lines drawn again and again, of a few words
    /// (unicode ones among them), between every kind of separator.
    fn repetitive_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        // Words of every length class of `word_hash`: to 8 bytes, to 16,
        // longer.
        const WORDS: [&str; 14] = [
            "a",
            "the",
            "naïve",
            "日本語",
            "x",
            "éé",
            "word",
            "ß",
            "-",
            "z9",
            "ninechars",
            "sixteen-letters!",
            "seventeen-letters",
            "a-word-of-thirty-two-characters!",
        ];
        const SEPS: [&str; 7] = ["\n", "\n", "\n\n", " ", "\n\n\n", "\t", "\r\n"];
        let pool = prop::collection::vec(prop::collection::vec(0..WORDS.len(), 0..14), 1..6);
        let seq = prop::collection::vec((0..6usize, 0..SEPS.len(), any::<bool>()), 0..40);
        (pool, seq).prop_map(|(pool, seq)| {
            let mut t = String::new();
            for (line, sep, wide) in seq {
                let words = pool[line % pool.len()].iter().map(|&w| WORDS[w]);
                t.push_str(&words.collect::<Vec<_>>().join(if wide { "  " } else { " " }));
                t.push_str(SEPS[sep]);
            }
            t
        })
    }

    #[test]
    fn the_sieve_lets_few_singletons_through() {
        let cand: Vec<(u64, u32, u32)> =
            (0..10_000u32).map(|i| (xxh3_64(&i.to_le_bytes()), i, 0)).collect();
        let mut kept = cand.clone();
        SingletonSieve::default().drop_singles(&mut kept);
        // Eight bits or more per n-gram: about one in eight collides.
        assert!(kept.len() < cand.len() / 5, "{} of {} kept", kept.len(), cand.len());
    }

    #[test]
    fn stamped_tables_survive_the_generation_wrapping() {
        let mut t = Counter::with_generation(u32::MAX - 2);
        for round in 0..5u64 {
            t.begin(4);
            for h in [1u64 << 40, 2 << 40, 1 << 40, round << 40] {
                t.add(h);
            }
            let (slot, before) = t.add(1 << 40);
            assert_eq!((before, t.count_at(slot)), (if round == 1 { 3 } else { 2 }, before + 1));
        }
    }

    /// Long word lists with many repeats: phrases of a small vocabulary
    /// said again and again, between runs of words of a large one (most
    /// occurring once), so that the lists of every n are long and hold
    /// both repeated and single n-grams.
    fn long_repetitive_words() -> impl proptest::strategy::Strategy<Value = Vec<(u64, usize)>> {
        use proptest::prelude::*;
        let phrases = prop::collection::vec(prop::collection::vec(0u64..40, 1..14), 1..30);
        let seq = prop::collection::vec((0usize..30, 0usize..12), 100..600);
        (phrases, seq, any::<u64>()).prop_map(|(phrases, seq, seed)| {
            let mut words = Vec::new();
            let mut fresh = seed;
            for (phrase, singles) in seq {
                words.extend(phrases[phrase % phrases.len()].iter().copied());
                for _ in 0..singles {
                    fresh = fresh.wrapping_add(1);
                    words.push(1000 + fresh % 1_000_000);
                }
            }
            words.iter().map(|&w| (xxh3_64(&w.to_le_bytes()), (w % 7) as usize + 1)).collect()
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(16))]
        #[test]
        fn partitioned_counts_give_what_one_table_gives(words in long_repetitive_words()) {
            let mut s = Scratch::default();
            let one = |s: &mut Scratch, from| {
                s.word_hash = words.iter().map(|w| w.0).collect();
                s.chars = std::iter::once(0)
                    .chain(words.iter().scan(0u32, |t, w| {
                        *t += w.1 as u32;
                        Some(*t)
                    }))
                    .collect();
                let g = s.ngram_chars_partitioned_from(from);
                (g.top, g.dup)
            };
            let plain = one(&mut s, usize::MAX);
            // Every list partitioned, then the default (long lists only), on
            // the same scratch: tables left by one way must not leak into
            // the other.
            proptest::prop_assert_eq!(one(&mut s, 0), plain);
            proptest::prop_assert_eq!(one(&mut s, PARTITION_FROM), plain);
            proptest::prop_assert_eq!(one(&mut s, 64), plain);
            for n in 2..=4 {
                proptest::prop_assert_eq!(plain.0[n - 2], top_ngram_chars_naive(&words, n), "n = {}", n);
            }
            for n in 5..=10 {
                proptest::prop_assert_eq!(plain.1[n - 5], dup_ngram_chars_naive(&words, n), "n = {}", n);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn a_word_hash_depends_on_the_word_alone(
            word in "[a\u{0}é]{0,24}",
            other in "[a\u{0}é]{0,24}",
            before in "\\PC{0,20}",
            after in "\\PC{0,40}",
        ) {
            let alone = word_hash(word.as_bytes(), 0, word.len());
            let text = format!("{before}{word}{after}");
            let at = before.len();
            // Whatever surrounds it (the hash reads past the word's end).
            proptest::prop_assert_eq!(word_hash(text.as_bytes(), at, at + word.len()), alone);
            // Words that differ in a byte or in length (trailing NULs
            // included) differ in hash.
            let longer = format!("{word}\u{0}");
            for other in [other.as_str(), longer.as_str()].into_iter().filter(|o| *o != word) {
                proptest::prop_assert_ne!(word_hash(other.as_bytes(), 0, other.len()), alone);
            }
        }

        #[test]
        fn statistics_match_their_definitions(text in repetitive_text()) {
            proptest::prop_assert_eq!(bits(&Stats::of(&text)), bits(&stats_by_definition(&text)), "{:?}", text);
        }

        #[test]
        fn the_word_scan_counts_the_line_breaks(text in "[a \n\t]{0,200}") {
            // The line table is sized by this count: too low a count would
            // overfill it.
            let (_, breaks) = Scratch::default().words(&text);
            proptest::prop_assert_eq!(breaks, text.matches('\n').count());
        }

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

        #[test]
        fn the_sieve_drops_only_ngrams_seen_once(
            ids in proptest::collection::vec(0u64..400, 0..600),
        ) {
            // Hashes that share their top bits, so the bitmap collides too.
            let cand: Vec<(u64, u32, u32)> = ids.iter().enumerate()
                .map(|(i, &id)| ((id % 37) << 58 | xxh3_64(&id.to_le_bytes()) >> 6, i as u32, 0))
                .collect();
            let mut kept = cand.clone();
            SingletonSieve::default().drop_singles(&mut kept);
            let repeated: Vec<_> = cand.iter()
                .filter(|c| cand.iter().filter(|d| d.0 == c.0).count() > 1)
                .copied()
                .collect();
            // In order, a sub-list of the input, holding every repeated one.
            let mut rest = kept.iter();
            for r in &repeated {
                proptest::prop_assert!(rest.any(|k| k == r), "{:?} dropped or out of order", r);
            }
            proptest::prop_assert!(kept.windows(2).all(|w| w[0].1 < w[1].1));
        }
    }
}
