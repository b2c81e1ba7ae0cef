//! The normalizer: original text in, canonical text and offset map out.
//!
//! Two texts that a reader would call "the same words" should have the same
//! canonical form: one with straight quotes and `--`, the other with curly
//! quotes, em-dashes, NFD accents and no-break spaces. The canonical form is
//! only ever used for matching; what neardup writes out is the original.
//!
//! # Steps (each can be turned off in [`Options`])
//! 1. Invisible characters (zero-width spaces and joiners, soft hyphen, BOM,
//!    bidi controls, variation selectors) are dropped.
//! 2. Typographic folding: quotes, apostrophes, primes and guillemets to `"`
//!    or `'`, every dash and the minus sign to `-`, a run of dashes (`--`,
//!    `---`, `—-`) to one `-`, the ellipsis to `...`.
//! 3. NFKC: compatibility forms (ligatures, full-width letters, superscripts,
//!    NBSP) and canonical composition (NFD accents).
//! 4. Optional ASCII transliteration ([`deunicode`]).
//! 5. Case folding (lowercase, plus `ß`→`ss` and final sigma).
//! 6. Optional stripping of punctuation and of digits.
//! 7. White space: every Unicode space becomes ` `, every line separator
//!    `\n`; with [`Whitespace::Lines`] (the default) runs of spaces collapse
//!    to one, lines are trimmed, runs of blank lines become one blank line,
//!    and the text is trimmed, so line and paragraph structure survives for
//!    the repeat finders.
//!
//! # Speed
//! ASCII takes a table-driven fast path, and what costs is the number of
//! *events* (a run, a white-space run, a dash, a non-ASCII character), not
//! of bytes. Runs of ordinary bytes, with what the rules would keep as it
//! is between them (a single space; in [`Whitespace::Lines`] a line break
//! or a paragraph break), are found off a 64-byte block mask: each block of
//! the text is classified once (on x86-64 by SSE2 compares and `pmovmskb`,
//! see [`crate::mask`]) and every run starting in it costs a shift and a
//! bit count. Each run is copied in bulk (the input is a `&str`, so the
//! output is built from `&str` pieces and never checked for UTF-8 again)
//! and extends one offset-map piece. A run of white space (indentation,
//! blank lines, `\r\n`; its spaces counted eight at a time) and a run of
//! dashes are each handed to the emitter once. One pass over the output
//! lowercases the copied runs at the end (everything else written is
//! lowercase already). Only non-ASCII characters go through Unicode
//! tables: those that stand alone go through a table built once (a run of
//! them in one call, and those that stay as they are copied together),
//! the others one *normalization segment* at a time (a starter and the
//! characters that may combine with it), with scratch buffers kept per
//! thread: no allocation per character or per record. The byte-at-a-time
//! loop behind these scans is kept, and property tests check that the
//! scans give the same bytes and offsets under every option set.
//!
//! # Idempotence
//! `normalize(normalize(x)) == normalize(x)` for every `x` (property-tested).
//! Each segment is transformed to a fixed point, and segment boundaries are
//! placed only before characters that can never combine with what precedes
//! them (canonical combining class 0 and NFKC quick-check Yes), so doing it
//! again finds nothing left to do.

use std::cell::RefCell;
use std::iter;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

use crate::fold;
use crate::mask;
use crate::offsets::OffsetMap;

/// What happens to white space.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Whitespace {
    /// Collapse runs of spaces, trim lines, keep single line breaks and fold
    /// runs of blank lines into one paragraph break; trim the text.
    #[default]
    Lines,
    /// Every run of white space, line breaks included, becomes one space;
    /// trim the text.
    All,
    /// Leave white space as it is (Unicode spaces still become ` `).
    Keep,
}

/// Which steps the normalizer applies. The default is what `neardup`
/// matches on; every file that stores fingerprints records these options.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    /// No canonical form at all: the text is matched as its own bytes and
    /// every other option is ignored (what byte-level tools, such as Lee et
    /// al.'s suffix-array tool, see).
    pub raw: bool,
    /// Apply Unicode NFKC.
    pub nfkc: bool,
    /// Fold quotes, apostrophes, primes, dashes and ellipses.
    pub typography: bool,
    /// Drop zero-width and other invisible characters.
    pub invisible: bool,
    /// Fold case.
    pub case_fold: bool,
    /// What to do with white space.
    pub whitespace: Whitespace,
    /// Transliterate to ASCII.
    pub ascii: bool,
    /// Drop punctuation and symbols.
    pub strip_punctuation: bool,
    /// Drop digits.
    pub strip_digits: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            raw: false,
            nfkc: true,
            typography: true,
            invisible: true,
            case_fold: true,
            whitespace: Whitespace::Lines,
            ascii: false,
            strip_punctuation: false,
            strip_digits: false,
        }
    }
}

/// Canonical text with its map back to the original.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Canonical {
    /// The canonical text.
    pub text: String,
    /// Canonical byte offsets to original byte offsets.
    pub map: OffsetMap,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// Copied (lowercased).
    Plain,
    /// `` ` ``, folded to `'` (typography).
    Tick,
    Space,
    Newline,
    /// `\r`: a line break, or half of `\r\n`.
    Cr,
    Dash,
    Drop,
}

/// Builds canonical forms. Build one per run and share it across threads.
///
/// ```
/// use neardup_text::Normalizer;
///
/// let n = Normalizer::default();
/// let a = n.normalize("He said -- \u{201C}it\u{2019}s  done\u{201D}.");
/// let b = n.normalize("he said \u{2014} \"it's done\".");
/// assert_eq!(a.text, b.text);
/// assert_eq!(a.text, "he said - \"it's done\".");
/// // Offsets map back to the original: "done" in the first text.
/// let at = a.text.find("done").unwrap();
/// let r = a.map.original_range_inner(at, at + 4);
/// assert_eq!(&"He said -- \u{201C}it\u{2019}s  done\u{201D}."[r], "done");
/// ```
#[derive(Clone, Debug)]
pub struct Normalizer {
    opts: Options,
    class: [Class; 128],
    /// What each character below [`FAST_LEN`] becomes on its own, computed
    /// once by the slow path: most non-ASCII text (accented Latin, Greek,
    /// Cyrillic, quotes and dashes, kana) then costs a table lookup.
    fast: Arc<[Fast]>,
    /// Whether runs of ordinary bytes are scanned a block at a time and
    /// runs of white space taken whole (the block test knows the default
    /// byte classes only).
    block_scan: bool,
    /// Whether a run of characters from the fast table is taken in one
    /// call (off only in tests, which check it against one at a time).
    fast_runs: bool,
}

/// Whether the block scan may copy `x` as it is: printable ASCII, but for
/// the dash and the backtick when typography folds them.
#[inline(always)]
fn ordinary<const TYPOGRAPHY: bool>(x: u8) -> bool {
    // 0x21..=0x7F as a signed byte compare (one vector instruction).
    (x as i8 > 0x20) & !(TYPOGRAPHY & ((x == b'-') | (x == b'`')))
}

/// Bytes the block scan looks at in one step.
const BLOCK: usize = 64;

/// The classes a run cares about in one block, as masks: ordinary bytes,
/// the white space a run may take between them (spaces, and with `LINES`
/// line feeds), and the line feeds alone (with `LINES`).
#[inline]
fn block_classes<const TYPOGRAPHY: bool, const LINES: bool>(
    block: &[u8; BLOCK],
) -> (u64, u64, u64) {
    // 0x21..=0x7F: above 0x20 as signed bytes.
    let plain = if TYPOGRAPHY {
        mask::gt_mask(block, 0x20, [b'-', b'`'])
    } else {
        mask::gt_mask(block, 0x20, [])
    };
    if LINES {
        (plain, mask::eq_mask(block, [b' ', b'\n']), mask::eq_mask(block, [b'\n']))
    } else {
        (plain, mask::eq_mask(block, [b' ']), 0)
    }
}

/// The block at `i..i + 64`: the mask of bytes that a run may take; past
/// the end of `input`, none. A run takes what the byte loop would copy byte
/// for byte into one exact offset piece:
/// - ordinary bytes;
/// - a space followed by an ordinary byte (a single space is kept as is);
/// - with `LINES` ([`Whitespace::Lines`]), a line feed followed by an
///   ordinary byte, or two followed by one (a line break and a paragraph
///   break are kept as they are; three or more collapse to two, so they
///   are left to the white-space rules).
///
/// A run starts on an ordinary byte and takes bits while they are set, so
/// what precedes a taken space or line feed is always taken text: nothing
/// is pending, no line is trimmed there. The conditions on the next bytes
/// are shifts of the masks; the two bytes after the block are looked at
/// one by one.
#[inline(never)]
fn ok_mask<const TYPOGRAPHY: bool, const LINES: bool>(input: &[u8], i: usize) -> Block {
    let rest = input.get(i..).unwrap_or_default();
    let (plain, white, newline) = match rest.first_chunk::<BLOCK>() {
        Some(b) => block_classes::<TYPOGRAPHY, LINES>(b),
        None => {
            // The tail, padded with zeros (never ordinary, never white).
            let mut b = [0u8; BLOCK];
            b[..rest.len()].copy_from_slice(rest);
            block_classes::<TYPOGRAPHY, LINES>(&b)
        }
    };
    let at = |k: usize| rest.get(k).copied().unwrap_or(0);
    let ord = |k: usize| u64::from(ordinary::<TYPOGRAPHY>(at(k)));
    // Bit `k` of `plain1`: whether byte `k + 1` is ordinary; and so on.
    let plain1 = (plain >> 1) | ord(BLOCK) << (BLOCK - 1);
    let mut ok = plain | (white & plain1);
    if LINES {
        let newline1 = (newline >> 1) | u64::from(at(BLOCK) == b'\n') << (BLOCK - 1);
        let plain2 = (plain >> 2) | ord(BLOCK) << (BLOCK - 2) | ord(BLOCK + 1) << (BLOCK - 1);
        ok |= newline & newline1 & plain2;
    }
    Block { start: i, ok }
}

/// How many spaces `input` has from `i` on, eight bytes at a time.
#[inline]
fn spaces(input: &[u8], mut i: usize) -> usize {
    let start = i;
    while let Some(w) = input.get(i..).and_then(|r| r.first_chunk::<8>()) {
        // Zero bytes where `w` has spaces; the lowest `k` are zero.
        let k = (u64::from_le_bytes(*w) ^ 0x2020_2020_2020_2020).trailing_zeros() / 8;
        i += k as usize;
        if k < 8 {
            return i - start;
        }
    }
    i + input.get(i..).unwrap_or_default().iter().take_while(|&&b| b == b' ').count() - start
}

/// The last block computed for a record: bit `k` of `ok` says whether a
/// run may take byte `start + k`.
struct Block {
    start: usize,
    ok: u64,
}

impl Block {
    /// No block yet: `i.wrapping_sub(start)` is `i + BLOCK + 1`, out of
    /// reach for every offset `i` a text can have.
    const NONE: Block = Block { start: usize::MAX - BLOCK, ok: 0 };
}

/// Code points covered by the fast table (through CJK symbols and kana).
const FAST_LEN: usize = 0x3100;

/// What a character becomes when it stands alone in its segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fast {
    /// Needs the general path (it may combine, or expands to several
    /// characters).
    Slow,
    /// Becomes this one character, and is a segment boundary.
    Text(char),
    /// Becomes a space, a line break or a dash (boundaries).
    Space,
    Newline,
    Dash,
    /// Becomes nothing (stripped), and is a boundary.
    Drop,
}

impl Default for Normalizer {
    fn default() -> Normalizer {
        Normalizer::new(Options::default())
    }
}

impl Normalizer {
    /// Builds the tables for `opts`.
    pub fn new(opts: Options) -> Normalizer {
        let mut class = [Class::Plain; 128];
        for b in 0..128u8 {
            let i = b as usize;
            class[i] = match b {
                b' ' | b'\t' if opts.whitespace != Whitespace::Keep => Class::Space,
                b'\n' | 0x0B | 0x0C if opts.whitespace != Whitespace::Keep => Class::Newline,
                b'\r' if opts.whitespace != Whitespace::Keep => Class::Cr,
                b'0'..=b'9' if opts.strip_digits => Class::Drop,
                _ if opts.strip_punctuation && b.is_ascii_punctuation() => Class::Drop,
                b'-' if opts.typography => Class::Dash,
                b'`' if opts.typography => Class::Tick,
                _ => Class::Plain,
            };
        }
        let block_scan =
            opts.whitespace != Whitespace::Keep && !opts.strip_digits && !opts.strip_punctuation;
        let mut n = Normalizer { opts, class, fast: Arc::new([]), block_scan, fast_runs: true };
        n.fast = n.fast_table();
        n
    }

    /// The fast table for these options, built once per process and
    /// option set (it takes a few milliseconds).
    fn fast_table(&self) -> Arc<[Fast]> {
        static TABLES: Mutex<Vec<(Options, Arc<[Fast]>)>> = Mutex::new(Vec::new());
        let mut tables = TABLES.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, t)) = tables.iter().find(|(o, _)| *o == self.opts) {
            return Arc::clone(t);
        }
        let t: Arc<[Fast]> = (0..FAST_LEN as u32).map(|cp| self.fast_entry(cp)).collect();
        tables.push((self.opts.clone(), Arc::clone(&t)));
        t
    }

    /// Runs the general path on one character to fill its table entry.
    fn fast_entry(&self, cp: u32) -> Fast {
        let Some(c) = char::from_u32(cp) else { return Fast::Slow };
        if c.is_ascii()
            || (self.opts.invisible && fold::is_invisible(c))
            || !self.is_boundary_slow(c)
        {
            return Fast::Slow;
        }
        let (mut a, mut b, mut tmp) = (String::new(), String::new(), String::new());
        self.transform(c.encode_utf8(&mut [0; 4]), &mut a, &mut tmp);
        for _ in 0..4 {
            self.transform(&a, &mut b, &mut tmp);
            if a == b {
                break;
            }
            std::mem::swap(&mut a, &mut b);
        }
        let mut chars = a.chars();
        match (chars.next(), chars.next()) {
            (None, _) => Fast::Drop,
            (Some(' '), None) if self.opts.whitespace != Whitespace::Keep => Fast::Space,
            (Some('\n'), None) if self.opts.whitespace != Whitespace::Keep => Fast::Newline,
            (Some('-'), None) => Fast::Dash,
            (Some(t), None) if self.is_boundary_slow(t) => Fast::Text(t),
            _ => Fast::Slow,
        }
    }

    /// The table entry of `c`, also for the big caseless, stable blocks
    /// (CJK ideographs, Hangul syllables) that the table does not hold.
    #[inline]
    fn fast(&self, c: char) -> Fast {
        let cp = c as usize;
        if cp < FAST_LEN {
            self.fast[cp]
        } else if !self.opts.ascii
            && (matches!(cp, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7A3))
        {
            Fast::Text(c)
        } else {
            Fast::Slow
        }
    }

    /// Where the run that continues at `i` stops, 64 bytes at a time: a
    /// byte is taken if [`ok_mask`] says so (ordinary bytes and the white
    /// space kept as it is between them: what the byte loop would copy into
    /// one exact piece). The
    /// scan is conservative (it stops at controls); the byte loop goes on
    /// from where it stops. A block's mask serves every run that starts
    /// inside it (runs of prose are a few dozen bytes), so most runs cost a
    /// shift and a bit count.
    #[inline]
    fn plain_run(&self, input: &[u8], mut i: usize, block: &mut Block) -> usize {
        loop {
            self.load(input, i, block);
            let off = i - block.start;
            // Bits past the block shift in as zeros: at most the rest.
            let taken = (block.ok >> off).trailing_ones() as usize;
            i += taken;
            if off + taken < BLOCK {
                return i;
            }
        }
    }

    /// Makes `block` the one holding byte `i`. Blocks are aligned on the
    /// text, so each byte is classified once whichever run needs it.
    #[inline(always)]
    fn load(&self, input: &[u8], i: usize, block: &mut Block) {
        if i.wrapping_sub(block.start) >= BLOCK {
            let start = i & !(BLOCK - 1);
            let lines = self.opts.whitespace == Whitespace::Lines;
            *block = match (self.opts.typography, lines) {
                (true, true) => ok_mask::<true, true>(input, start),
                (true, false) => ok_mask::<true, false>(input, start),
                (false, true) => ok_mask::<false, true>(input, start),
                (false, false) => ok_mask::<false, false>(input, start),
            };
        }
    }

    /// Where the run of ASCII white space at `i` stops, and how many line
    /// breaks it holds (at most 2: what [`Emitter::white`] keeps). Takes
    /// exactly what the byte loop takes one byte at a time (`\r\n` as one
    /// break; a byte before a non-ASCII character that may combine with it
    /// is left to the segment path), so one `white` call does the same.
    /// The byte at `start` is white space and taken (the caller checked
    /// what follows it), so the run is never empty.
    #[inline(always)]
    fn white_run(&self, text: &str, start: usize) -> (usize, u8) {
        let input = text.as_bytes();
        let mut i = start;
        let n = input.len();
        let per_break = u8::from(self.opts.whitespace != Whitespace::All);
        let mut breaks = 0u8;
        while i < n {
            if input[i] == b' ' {
                // A run of spaces (indentation): all but the last are
                // followed by a space, so they pass the checks below.
                i += spaces(input, i) - 1;
            }
            // Non-ASCII bytes have no class: they end the run.
            let class = match self.class.get(input[i] as usize) {
                Some(&c @ (Class::Space | Class::Newline | Class::Cr)) => c,
                _ => break,
            };
            // The first byte's check was the caller's.
            if i > start && i + 1 < n && input[i + 1] >= 0x80 && self.attaches(text, i + 1) {
                break;
            }
            i += 1;
            if class != Class::Space {
                breaks = (breaks + per_break).min(2);
                if class == Class::Cr && input.get(i) == Some(&b'\n') {
                    i += 1;
                }
            }
        }
        (i, breaks)
    }

    /// The same normalizer without the block scans (runs of ordinary bytes
    /// and of white space) and one character of the fast table per call:
    /// for tests that check the fast paths against the byte loop.
    #[doc(hidden)]
    pub fn without_word_scan(mut self) -> Normalizer {
        self.block_scan = false;
        self.fast_runs = false;
        self
    }

    /// The options this normalizer applies.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// The canonical form of `text` with its offset map.
    pub fn normalize(&self, text: &str) -> Canonical {
        let mut c = Canonical::default();
        self.normalize_into(text, &mut c.text, Some(&mut c.map));
        c
    }

    /// The canonical form of `text` alone, when no offsets are needed.
    pub fn canonical(&self, text: &str) -> String {
        let mut s = String::new();
        self.normalize_into(text, &mut s, None);
        s
    }

    /// The canonical form's bytes, into `out` (cleared first), for callers
    /// that only hash them: what [`Normalizer::normalize_into`] writes.
    pub fn normalize_bytes_into(&self, text: &str, out: &mut Vec<u8>) {
        let mut buf = std::mem::take(out);
        buf.clear();
        // An empty buffer: nothing to check, the allocation is kept.
        let mut s = String::from_utf8(buf).unwrap_or_default();
        self.run(text, &mut s, &mut NoMap);
        *out = s.into_bytes();
    }

    /// Writes the canonical form of `text` into `out` (cleared first) and,
    /// if given, its offset map into `map`. Reuse `out` and `map` across
    /// records to avoid allocating.
    pub fn normalize_into(&self, text: &str, out: &mut String, map: Option<&mut OffsetMap>) {
        out.clear();
        match map {
            Some(m) => {
                m.clear();
                self.run(text, out, m);
                m.finish(out.len(), text.len());
            }
            None => self.run(text, out, &mut NoMap),
        }
    }

    fn run<M: MapSink>(&self, text: &str, buf: &mut String, map: &mut M) {
        let input = text.as_bytes();
        let n = input.len();
        if self.opts.raw {
            buf.push_str(text);
            if n > 0 {
                map.exact(0, 0, n);
            }
            return;
        }
        let mut e = Emitter {
            input,
            out: buf,
            map,
            pending: None,
            last_dash: false,
            mode: self.opts.whitespace,
        };
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => self.run_text(text, &mut e, &mut scratch),
            Err(_) => self.run_text(text, &mut e, &mut Scratch::default()),
        });
        if self.opts.case_fold {
            // Runs of ASCII were copied as they are; everything else
            // written is lowercase already (the general path folds case),
            // so one vectorized pass lowercases exactly those runs.
            buf.make_ascii_lowercase();
        }
    }

    /// The loop of [`Normalizer::run`], with the segment buffers.
    fn run_text<M: MapSink>(&self, text: &str, e: &mut Emitter<'_, M>, scratch: &mut Scratch) {
        let input = text.as_bytes();
        let n = input.len();
        let mut i = 0;
        let mut block = Block::NONE;
        while i < n {
            let b = input[i];
            if b >= 0x80 || (i + 1 < n && input[i + 1] >= 0x80 && self.attaches(text, i + 1)) {
                i = self.segment(text, i, e, scratch);
                continue;
            }
            match self.class[b as usize] {
                Class::Plain => {
                    let start = i;
                    i += 1;
                    // A block at a time while they are ordinary bytes and
                    // single spaces, then byte by byte.
                    if self.block_scan {
                        i = self.plain_run(input, i, &mut block);
                    }
                    while i < n {
                        let c = input[i];
                        if c < 0x80 && self.class[c as usize] == Class::Plain {
                            i += 1;
                        } else if c == b' '
                            && i + 1 < n
                            && input[i + 1] < 0x80
                            && self.class[input[i + 1] as usize] == Class::Plain
                        {
                            i += 2;
                        } else {
                            break;
                        }
                    }
                    // The last byte may start a segment with what follows.
                    if i < n && input[i] >= 0x80 && i - start > 1 && self.attaches(text, i) {
                        i -= 1;
                        // Leave a space before it to the white-space rules.
                        // (Line feeds that the block scan took may stay:
                        // written now or when the segment flushes them,
                        // they are the same bytes and exact pieces.)
                        if i - 1 > start && input[i - 1] == b' ' {
                            i -= 1;
                        }
                    }
                    let canon = e.flush();
                    // Copied as is: lowercased with the rest at the end.
                    e.out.push_str(text.get(start..i).unwrap_or_default());
                    e.map.exact(canon, start, i - start);
                    e.last_dash = false;
                }
                Class::Space | Class::Newline | Class::Cr if self.block_scan => {
                    // The whole run of white space, then one call.
                    let (end, breaks) = self.white_run(text, i);
                    e.white(breaks, i, end);
                    i = end;
                }
                Class::Space => {
                    e.space(i, i + 1);
                    i += 1;
                }
                Class::Newline => {
                    e.newline(i, i + 1);
                    i += 1;
                }
                Class::Cr => {
                    let end = if input.get(i + 1) == Some(&b'\n') { i + 2 } else { i + 1 };
                    e.newline(i, end);
                    i = end;
                }
                Class::Dash => {
                    e.dash(i, i + 1);
                    i += 1;
                    if self.block_scan {
                        // The rest of a run of dashes (an underline, `--`)
                        // widens the same one, as dash by dash would; but
                        // a last dash that a combining mark follows is the
                        // segment path's.
                        let mut end = i + input[i..].iter().take_while(|&&b| b == b'-').count();
                        if end > i && end < n && input[end] >= 0x80 && self.attaches(text, end) {
                            end -= 1;
                        }
                        if end > i {
                            e.dash(i, end);
                            i = end;
                        }
                    }
                }
                Class::Tick => {
                    e.char('\'', i, i + 1, true);
                    i += 1;
                }
                Class::Drop => i += 1,
            }
        }
    }

    /// Whether the character at `at` (non-ASCII) may combine with the
    /// character before it, looking past invisible characters.
    #[inline]
    fn attaches(&self, text: &str, at: usize) -> bool {
        let rest = text.get(at..).unwrap_or_default();
        // Most characters have a table entry, and those are boundaries
        // (and not invisible): one lookup, inline.
        match rest.chars().next() {
            Some(c) if self.fast(c) != Fast::Slow => false,
            Some(_) => self.attaches_slow(rest),
            None => false,
        }
    }

    #[inline(never)]
    fn attaches_slow(&self, rest: &str) -> bool {
        for c in rest.chars() {
            if self.opts.invisible && fold::is_invisible(c) {
                continue;
            }
            return !self.is_boundary(c);
        }
        false
    }

    /// A character before which a normalization segment may start: it never
    /// combines with what precedes it.
    #[inline]
    fn is_boundary(&self, c: char) -> bool {
        c.is_ascii() || self.fast(c) != Fast::Slow || self.is_boundary_slow(c)
    }

    fn is_boundary_slow(&self, c: char) -> bool {
        c.is_ascii()
            || fold::is_space(c)
            || fold::is_line_break(c)
            || (self.opts.typography && fold::typographic(c).is_some())
            || (canonical_combining_class(c) == 0 && starts_stable(c))
    }

    /// Normalizes the segment starting at `start` and returns where it ends.
    fn segment<M: MapSink>(
        &self,
        text: &str,
        start: usize,
        e: &mut Emitter<'_, M>,
        s: &mut Scratch,
    ) -> usize {
        // Fast path: characters that stand alone (the next one is a
        // boundary) and have a table entry, one after another (a word of
        // Greek or Arabic takes one call, each character decoded once).
        // Those that stay as they are (most: Arabic, CJK, lowercase
        // accented letters) are copied together at the end, one exact
        // piece, as one at a time would have merged into.
        let mut at = start;
        let mut same = start;
        let mut it = text[start..].chars();
        let mut next = it.next();
        while let Some(c) = next {
            let f = if c.is_ascii() { Fast::Slow } else { self.fast(c) };
            if f == Fast::Slow {
                break;
            }
            next = it.next();
            // With `invisible`, the table holds no invisible character.
            let alone = match next {
                None => true,
                Some(n) => {
                    n.is_ascii()
                        || (self.fast(n) != Fast::Slow
                            && (self.opts.invisible || !fold::is_invisible(n)))
                }
            };
            if !alone {
                break;
            }
            let end = at + c.len_utf8();
            if f != Fast::Text(c) {
                if same < at {
                    e.text(&text[same..at], same, at, true);
                }
                match f {
                    Fast::Text(t) => e.char(t, at, end, t.len_utf8() == end - at),
                    Fast::Space => e.space(at, end),
                    Fast::Newline => e.newline(at, end),
                    Fast::Dash => e.dash(at, end),
                    Fast::Drop | Fast::Slow => {}
                }
                same = end;
            }
            at = end;
            if !self.fast_runs {
                break;
            }
        }
        if same < at {
            e.text(&text[same..at], same, at, true);
        }
        if at > start {
            return at;
        }
        s.seg.clear();
        let mut end = start;
        let mut count = 0;
        let mut invisible = false;
        for (off, c) in text[start..].char_indices() {
            let at = start + off;
            if self.opts.invisible && fold::is_invisible(c) {
                invisible = true;
                end = at + c.len_utf8();
                continue;
            }
            if count > 0 && self.is_boundary(c) {
                break;
            }
            // Invisibles, then ASCII: the byte loop takes it from here (a
            // `\r\n` after a zero-width space is one line break, not two).
            if count == 0 && at > start && c.is_ascii() {
                break;
            }
            s.seg.push(c);
            count += 1;
            end = at + c.len_utf8();
        }
        if s.seg.is_empty() {
            return end;
        }
        // Transform to a fixed point: at most a few rounds in practice.
        self.transform(&s.seg, &mut s.a, &mut s.tmp);
        if s.a != s.seg {
            for _ in 0..4 {
                self.transform(&s.a, &mut s.b, &mut s.tmp);
                if s.a == s.b {
                    break;
                }
                std::mem::swap(&mut s.a, &mut s.b);
            }
        }
        let exact =
            count == 1 && !invisible && s.a.len() == end - start && s.a.chars().count() == 1;
        e.emit_chars(&s.a, start, end, exact);
        end
    }

    /// One round of steps 2–6 on `input`, into `out`.
    fn transform(&self, input: &str, out: &mut String, tmp: &mut String) {
        let o = &self.opts;
        tmp.clear();
        for c in input.chars() {
            match o.typography.then(|| fold::typographic(c)).flatten() {
                Some(r) => tmp.push_str(r),
                None if fold::is_space(c) => tmp.push(' '),
                None => tmp.push(c),
            }
        }
        out.clear();
        if o.nfkc {
            for c in tmp.chars().nfkc() {
                self.fold_char(c, out);
            }
        } else {
            for c in tmp.chars() {
                self.fold_char(c, out);
            }
        }
    }

    fn fold_char(&self, c: char, out: &mut String) {
        let o = &self.opts;
        if o.invisible && fold::is_invisible(c) {
            return;
        }
        if fold::is_space(c) {
            out.push(' ');
            return;
        }
        if fold::is_line_break(c) {
            out.push('\n');
            return;
        }
        if let Some(r) = o.typography.then(|| fold::typographic(c)).flatten() {
            out.push_str(r);
            return;
        }
        if o.ascii && !c.is_ascii() {
            if let Some(r) = deunicode::deunicode_char(c) {
                for a in r.chars() {
                    self.fold_ascii(a, out);
                }
                return;
            }
        }
        if o.strip_digits && c.is_numeric() {
            return;
        }
        if o.strip_punctuation && fold::is_punctuation(c) {
            return;
        }
        if o.case_fold {
            match c {
                'ß' | 'ẞ' => out.push_str("ss"),
                'ς' => out.push('σ'),
                _ => out.extend(c.to_lowercase()),
            }
        } else {
            out.push(c);
        }
    }

    fn fold_ascii(&self, a: char, out: &mut String) {
        let o = &self.opts;
        if (o.strip_digits && a.is_ascii_digit())
            || (o.strip_punctuation && a.is_ascii_punctuation())
        {
            return;
        }
        out.push(if o.case_fold { a.to_ascii_lowercase() } else { a });
    }
}

/// Whether `c` (a starter) never composes with what precedes it: it is
/// NFKC-stable, or its compatibility decomposition begins with a stable
/// starter (full-width letters, ligatures, NBSP). Compatibility jamo, whose
/// decompositions may compose backwards, are not.
fn starts_stable(c: char) -> bool {
    let stable = |d: char| {
        canonical_combining_class(d) == 0 && is_nfkc_quick(iter::once(d)) == IsNormalized::Yes
    };
    if stable(c) {
        return true;
    }
    let mut first = None;
    unicode_normalization::char::decompose_compatible(c, |d| {
        first.get_or_insert(d);
    });
    first.is_some_and(|d| d != c && stable(d))
}

thread_local! {
    /// Buffers of the general path, kept per thread so that a record with
    /// non-ASCII text allocates nothing.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

#[derive(Default)]
struct Scratch {
    seg: String,
    a: String,
    b: String,
    tmp: String,
}

/// Where the emitter records offsets; `NoMap` compiles to nothing.
trait MapSink {
    fn exact(&mut self, canon: usize, orig: usize, len: usize);
    fn group(&mut self, canon: usize, orig: usize, orig_end: usize);
    fn extend_last(&mut self, canon: usize, orig_end: usize);
}

impl MapSink for OffsetMap {
    #[inline]
    fn exact(&mut self, canon: usize, orig: usize, len: usize) {
        self.push_exact(canon, orig, len);
    }
    #[inline]
    fn group(&mut self, canon: usize, orig: usize, orig_end: usize) {
        self.push_group(canon, orig, orig_end);
    }
    #[inline]
    fn extend_last(&mut self, canon: usize, orig_end: usize) {
        OffsetMap::extend_last(self, canon, orig_end);
    }
}

struct NoMap;

impl MapSink for NoMap {
    #[inline]
    fn exact(&mut self, _: usize, _: usize, _: usize) {}
    #[inline]
    fn group(&mut self, _: usize, _: usize, _: usize) {}
    #[inline]
    fn extend_last(&mut self, _: usize, _: usize) {}
}

/// White space seen but not yet written: it is written only when more text
/// follows, which trims lines and the text's end for free.
#[derive(Clone, Copy)]
struct Pending {
    newlines: u8,
    orig: usize,
    orig_end: usize,
}

/// Writes canonical bytes and their offsets, collapsing white space and
/// runs of dashes.
struct Emitter<'a, M> {
    input: &'a [u8],
    out: &'a mut String,
    map: &'a mut M,
    pending: Option<Pending>,
    last_dash: bool,
    mode: Whitespace,
}

impl<M: MapSink> Emitter<'_, M> {
    fn space(&mut self, orig: usize, orig_end: usize) {
        self.white(0, orig, orig_end);
    }

    fn newline(&mut self, orig: usize, orig_end: usize) {
        let n = if self.mode == Whitespace::All { 0 } else { 1 };
        self.white(n, orig, orig_end);
    }

    fn white(&mut self, newlines: u8, orig: usize, orig_end: usize) {
        if self.out.is_empty() {
            return; // Leading white space: trimmed.
        }
        match &mut self.pending {
            Some(p) => {
                p.newlines = (p.newlines + newlines).min(2);
                p.orig_end = orig_end;
            }
            None => self.pending = Some(Pending { newlines, orig, orig_end }),
        }
    }

    /// Writes pending white space; returns the canonical offset where the
    /// next bytes go.
    #[inline]
    fn flush(&mut self) -> usize {
        if let Some(p) = self.pending.take() {
            let canon = self.out.len();
            // One or two bytes, written and compared inline (a `memcpy`
            // and a `memcmp` call cost more than the rest of a flush).
            let (c, len) = match p.newlines {
                0 => (' ', 1),
                1 => ('\n', 1),
                _ => ('\n', 2),
            };
            self.out.push(c);
            if len == 2 {
                self.out.push(c);
            }
            let orig = &self.input[p.orig..p.orig_end];
            if orig.len() == len && orig.iter().all(|&b| b == c as u8) {
                self.map.exact(canon, p.orig, len);
            } else {
                self.map.group(canon, p.orig, p.orig_end);
            }
            self.last_dash = false;
        }
        self.out.len()
    }

    fn push_map(&mut self, canon: usize, orig: usize, orig_end: usize) {
        if orig_end - orig == self.out.len() - canon
            && self.input[orig..orig_end] == self.out.as_bytes()[canon..]
        {
            self.map.exact(canon, orig, orig_end - orig);
        } else {
            self.map.group(canon, orig, orig_end);
        }
    }

    fn dash(&mut self, orig: usize, orig_end: usize) {
        if self.last_dash && self.pending.is_none() {
            // `--`, `---`, `—-`: one dash.
            self.map.extend_last(self.out.len() - 1, orig_end);
            return;
        }
        let canon = self.flush();
        self.out.push('-');
        self.push_map(canon, orig, orig_end);
        self.last_dash = true;
    }

    /// Emits the transformed characters of one segment, all mapped to
    /// original `orig..orig_end` (byte for byte when `exact`).
    fn emit_chars(&mut self, s: &str, orig: usize, orig_end: usize, exact: bool) {
        let mut run_start = None;
        for (i, c) in s.char_indices() {
            let special = match c {
                ' ' | '\n' => self.mode != Whitespace::Keep,
                '-' => true,
                _ => false,
            };
            if !special {
                run_start.get_or_insert(i);
                continue;
            }
            if let Some(r) = run_start.take() {
                self.text(&s[r..i], orig, orig_end, exact);
            }
            match c {
                ' ' => self.space(orig, orig_end),
                '\n' => self.newline(orig, orig_end),
                _ => self.dash(orig, orig_end),
            }
        }
        if let Some(r) = run_start {
            self.text(&s[r..], orig, orig_end, exact);
        }
    }

    /// [`Emitter::text`] of one character.
    #[inline]
    fn char(&mut self, c: char, orig: usize, orig_end: usize, exact: bool) {
        let canon = self.flush();
        self.out.push(c);
        self.mapped(canon, orig, orig_end, exact);
    }

    fn text(&mut self, s: &str, orig: usize, orig_end: usize, exact: bool) {
        let canon = self.flush();
        self.out.push_str(s);
        self.mapped(canon, orig, orig_end, exact);
    }

    /// Maps what was just written from `canon` on to `orig..orig_end`.
    #[inline]
    fn mapped(&mut self, canon: usize, orig: usize, orig_end: usize, exact: bool) {
        if exact {
            self.map.exact(canon, orig, orig_end - orig);
        } else {
            self.map.group(canon, orig, orig_end);
        }
        self.last_dash = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        Normalizer::default().canonical(s)
    }

    #[test]
    fn ascii_is_lowercased_and_collapsed() {
        assert_eq!(
            canon("  Hello,\t  World!  \n\n\n  Next line.  "),
            "hello, world!\n\nnext line."
        );
        assert_eq!(canon("a\r\nb\rc"), "a\nb\nc");
    }

    #[test]
    fn invisibles_before_a_crlf_leave_one_line_break() {
        for text in ["a\u{200B}\r\nb", "a\u{200B}\u{FEFF}\r\nb", "a\u{200D}\rb"] {
            assert_eq!(canon(text), "a\nb", "{text:?}");
        }
        assert_eq!(canon("a\u{200B}\r\n\r\nb"), "a\n\nb");
    }

    #[test]
    fn typographic_variants_fold_together() {
        let plain = canon("\"It's\" -- said 'x' ... done");
        for variant in [
            "\u{201C}It\u{2019}s\u{201D} \u{2014} said \u{2018}x\u{2019} \u{2026} done",
            "\u{201C}It\u{2019}s\u{201D} \u{2013} said \u{2018}x\u{2019} \u{2026} done",
            "\"It's\" --- said 'x' ... done",
            "\"It\u{00B4}s\" \u{2015} said `x' ... done",
            "\"It's\"\u{00A0}-- said\u{2009}'x' ... done",
        ] {
            assert_eq!(canon(variant), plain, "{variant:?}");
        }
    }

    #[test]
    fn unicode_forms_fold_together() {
        // NFD vs NFC, ligature, full-width, zero-width, soft hyphen, BOM.
        assert_eq!(canon("cafe\u{0301}"), canon("caf\u{00E9}"));
        assert_eq!(canon("\u{FB01}ne"), "fine");
        assert_eq!(canon("\u{FF21}\u{FF22}\u{FF23}"), "abc");
        assert_eq!(canon("\u{FEFF}zero\u{200B}width\u{00AD}"), "zerowidth");
        assert_eq!(canon("ideographic\u{3000}space"), "ideographic space");
        assert_eq!(canon("Stra\u{00DF}e \u{1E9E}"), "strasse ss");
        assert_eq!(
            canon("\u{03A3}\u{03BF}\u{03C6}\u{03BF}\u{03C2}"),
            "\u{03C3}\u{03BF}\u{03C6}\u{03BF}\u{03C3}"
        );
    }

    #[test]
    fn invisible_characters_do_not_block_composition() {
        assert_eq!(canon("e\u{200D}\u{0301}"), canon("\u{00E9}"));
        assert_eq!(canon("x e\u{200B}\u{0301}"), "x \u{00E9}");
    }

    #[test]
    fn keep_mode_spaces_before_a_combining_mark_make_progress() {
        let keep = Normalizer::new(Options { whitespace: Whitespace::Keep, ..Options::default() });
        assert_eq!(keep.canonical("  \u{0301}x"), "  \u{0301}x");
    }

    #[test]
    fn options_turn_steps_off() {
        let keep_case = Normalizer::new(Options { case_fold: false, ..Options::default() });
        assert_eq!(keep_case.canonical("Hello"), "Hello");
        let ascii = Normalizer::new(Options { ascii: true, ..Options::default() });
        assert_eq!(ascii.canonical("Æsop’s Café Ж"), "aesop's cafe zh");
        let strip = Normalizer::new(Options {
            strip_punctuation: true,
            strip_digits: true,
            ..Options::default()
        });
        assert_eq!(strip.canonical("Hello, world 42! «Ça va?»"), "hello world ça va");
        let all = Normalizer::new(Options { whitespace: Whitespace::All, ..Options::default() });
        assert_eq!(all.canonical("a\n\nb \n c"), "a b c");
        let keep = Normalizer::new(Options { whitespace: Whitespace::Keep, ..Options::default() });
        assert_eq!(keep.canonical(" a \u{00A0}\n"), " a  \n");
    }

    #[test]
    fn map_points_back_to_original_words() {
        let n = Normalizer::default();
        let orig = "Caf\u{00E9}\u{00A0}\u{00A0}--  “Ｗorld” ﬁne";
        let c = n.normalize(orig);
        assert_eq!(c.text, "café - \"world\" fine");
        for word in ["café", "world", "fine"] {
            let at = c.text.find(word).unwrap();
            let r = c.map.original_range_outer(at, at + word.len());
            assert_eq!(n.canonical(&orig[r]), word);
        }
        assert_eq!(c.map.to_original(c.text.len(), crate::Round::Down), orig.len());
    }

    #[test]
    fn the_wire_story_copies_fold_to_one_form() {
        let a = "to \"strengthen cooperation\" -- nearly al-Assad's";
        let b = "to \u{201C}strengthen cooperation\u{201D} \u{2014} nearly al-Assad\u{2019}s";
        assert_eq!(canon(a), canon(b));
    }

    #[test]
    fn raw_is_the_identity() {
        let raw = Normalizer::new(Options { raw: true, ..Options::default() });
        let text = "\u{201C}Ａ\u{A0}ﬁ\t\t\u{64F}--\r\n\n\n\u{200B}x ";
        let c = raw.normalize(text);
        assert_eq!(c.text, text);
        for i in 0..=text.len() {
            assert_eq!(c.map.to_original(i, crate::Round::Down), i);
        }
        assert_eq!(raw.canonical(""), "");
    }
}
