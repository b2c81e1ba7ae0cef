//! A diff of two original texts that knows the canonical form.
//!
//! A plain diff of a text and its typographic copy marks every line that
//! has a curly quote where the other has a straight one, and a reader sees
//! a wall of changes where neardup sees one text. [`diff`] aligns the texts
//! on their canonical form instead and says, for each piece, whether the
//! original bytes are the same ([`Tag::Equal`]), differ only in what the
//! canonical form folds away — quotes, dashes, spaces, case, invisible
//! characters, blank lines ([`Tag::Typography`]) — or differ in words
//! ([`Tag::Changed`]), in which case the words that changed are marked.
//!
//! # How
//! 1. Each text is cut into *line units*: an original line with its line
//!    end, with the blank lines after it (lines whose canonical form is
//!    empty or white space) attached, so a collapsed run of blank lines
//!    aligns. Each unit's key is the canonical form of its line.
//! 2. The key sequences are diffed (patience, from the `similar` crate).
//!    Aligned units whose bytes are equal form [`Tag::Equal`] ops (runs of
//!    them merged); aligned units whose bytes differ are one
//!    [`Tag::Typography`] op each.
//! 3. A run of units that did not align is one op: [`Tag::Typography`] if
//!    the canonical forms of the two runs are equal (a paragraph wrapped
//!    otherwise, when white space is folded whole), else [`Tag::Changed`].
//! 4. The [`Op::words`] of a typography or changed op come from a second
//!    diff (Myers) on *word units* (a word with the white space after it),
//!    keyed the same way: a word is `Equal` when its bytes are (white space
//!    around it aside), `Typography` when its canonical forms are, and
//!    `Changed` otherwise.
//!
//! Ops and word spans are byte ranges of the original texts; in order they
//! cover each text exactly, so a consumer can render both texts from them,
//! or ship one text and only the non-equal parts of the other.
//!
//! # Cost
//! Each line and word is normalized once. The line diff is patience
//! (near-linear on prose); a word diff is Myers, O((N+M)·D), and is skipped
//! (the whole run marked changed) when a run holds more than
//! [`MAX_WORD_PAIRS`] word pairs, so that two long unrelated blocks cannot
//! stall a caller.
//!
//! ```
//! use neardup_text::{diff, Normalizer};
//!
//! let n = Normalizer::default();
//! let a = "He said \"no\" -- twice.\nThe end.\n";
//! let b = "He said \u{201C}no\u{201D} \u{2014} twice.\nThe end.\n";
//! let d = diff::diff(&n, a, b);
//! let tags: Vec<_> = d.ops.iter().map(|op| op.tag).collect();
//! assert_eq!(tags, [diff::Tag::Typography, diff::Tag::Equal]);
//! assert!(d.same_canonical_text());
//! ```

use std::collections::HashMap;
use std::ops::Range;

use serde::Serialize;
use similar::{capture_diff_slices, Algorithm, DiffOp};

use crate::Normalizer;

/// A word diff is skipped when the two runs hold more word pairs than this
/// (words of A × words of B): 2,000 words on each side.
pub const MAX_WORD_PAIRS: usize = 4_000_000;

/// How two aligned pieces of original text compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tag {
    /// The same bytes.
    Equal,
    /// Other bytes, the same canonical form: the same text in other
    /// typography (quotes, dashes, spaces, case, invisible characters,
    /// blank lines).
    Typography,
    /// Other words.
    Changed,
}

/// A word-level piece of a [`Tag::Changed`] op: byte ranges of A and B.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// How the pieces compare.
    pub tag: Tag,
    /// Bytes of A.
    pub a: Range<usize>,
    /// Bytes of B.
    pub b: Range<usize>,
}

/// A line-level piece of the diff: whole lines of A against whole lines of
/// B.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op {
    /// How the lines compare.
    pub tag: Tag,
    /// Bytes of A (whole lines, line ends included).
    pub a: Range<usize>,
    /// Bytes of B.
    pub b: Range<usize>,
    /// For [`Tag::Changed`] and [`Tag::Typography`]: word-level pieces
    /// covering `a` and `b` in order (adjacent pieces with the same tag
    /// merged), which say which words changed, or differ in typography
    /// only; empty for [`Tag::Equal`].
    pub words: Vec<Span>,
}

/// The diff of A and B: ops covering both texts, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diff {
    /// The ops; their `a` ranges tile `0..a.len()`, their `b` ranges tile
    /// `0..b.len()`.
    pub ops: Vec<Op>,
}

/// One line of a side-by-side view: a line of A beside a line of B.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The tag of the op the lines belong to.
    pub tag: Tag,
    /// The line of A (line end excluded), if this row has one.
    pub a: Option<Range<usize>>,
    /// The line of B, if this row has one.
    pub b: Option<Range<usize>>,
    /// Changed words within the line of A (white space around them left
    /// out).
    pub a_changed: Vec<Range<usize>>,
    /// Changed words within the line of B.
    pub b_changed: Vec<Range<usize>>,
}

impl Diff {
    /// Whether A and B are the same bytes.
    pub fn identical(&self) -> bool {
        self.ops.iter().all(|op| op.tag == Tag::Equal)
    }

    /// Whether A and B are the same text up to typography: no op changed.
    pub fn same_canonical_text(&self) -> bool {
        self.ops.iter().all(|op| op.tag != Tag::Changed)
    }

    /// The diff as aligned line pairs for a side-by-side view: within an
    /// op, the i-th line of A beside the i-th line of B (a side runs out
    /// first when the op holds fewer lines there).
    pub fn rows(&self, a: &str, b: &str) -> Vec<Row> {
        let mut rows = Vec::new();
        for op in &self.ops {
            let la = lines(a, op.a.clone());
            let lb = lines(b, op.b.clone());
            let changed = |text: &str,
                           words: &[Span],
                           side: fn(&Span) -> &Range<usize>,
                           line: &Range<usize>| {
                words
                    .iter()
                    .filter(|s| s.tag == Tag::Changed)
                    .map(side)
                    .filter_map(|r| trim(text, r.start.max(line.start)..r.end.min(line.end)))
                    .collect::<Vec<_>>()
            };
            for i in 0..la.len().max(lb.len()) {
                let (ra, rb) = (la.get(i).cloned(), lb.get(i).cloned());
                rows.push(Row {
                    tag: op.tag,
                    a_changed: ra
                        .as_ref()
                        .map_or_else(Vec::new, |l| changed(a, &op.words, |s| &s.a, l)),
                    b_changed: rb
                        .as_ref()
                        .map_or_else(Vec::new, |l| changed(b, &op.words, |s| &s.b, l)),
                    a: ra,
                    b: rb,
                });
            }
        }
        rows
    }
}

/// `range` of `text` without the white space at its ends, if anything is
/// left.
fn trim(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    if range.start >= range.end {
        return None;
    }
    let piece = &text[range.clone()];
    let start = range.start + (piece.len() - piece.trim_start().len());
    let end = range.start + piece.trim_end().len();
    (start < end).then_some(start..end)
}

/// The lines within `range` of `text`, line ends (`\n`, `\r\n`) excluded.
fn lines(text: &str, range: Range<usize>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut at = range.start;
    while at < range.end {
        let nl = memchr::memchr(b'\n', &bytes[at..range.end]).map(|i| at + i);
        let end = nl.unwrap_or(range.end);
        let content =
            if nl.is_some() && end > at && bytes[end - 1] == b'\r' { end - 1 } else { end };
        out.push(at..content);
        at = nl.map_or(range.end, |i| i + 1);
    }
    out
}

/// Diffs original texts `a` and `b` on their canonical forms under `norm`;
/// see the module docs.
pub fn diff(norm: &Normalizer, a: &str, b: &str) -> Diff {
    let mut keys = Keys::new(norm);
    let ua = units(&mut keys, a, 0..a.len(), Level::Line);
    let ub = units(&mut keys, b, 0..b.len(), Level::Line);
    let ka: Vec<u32> = ua.iter().map(|u| u.key).collect();
    let kb: Vec<u32> = ub.iter().map(|u| u.key).collect();
    let mut out = Builder::default();
    for d in capture_diff_slices(Algorithm::Patience, &ka, &kb) {
        match d {
            DiffOp::Equal { old_index, new_index, len } => {
                for i in 0..len {
                    let (ra, rb) =
                        (ua[old_index + i].range.clone(), ub[new_index + i].range.clone());
                    if a[ra.clone()] == b[rb.clone()] {
                        out.push(Tag::Equal, ra, rb, Vec::new());
                    } else {
                        let words = word_diff(&mut keys, a, b, ra.clone(), rb.clone());
                        out.push(Tag::Typography, ra, rb, words);
                    }
                }
            }
            d => {
                let (ra, rb) = (d.old_range(), d.new_range());
                let ra = span_of(&ua, ra, out.a);
                let rb = span_of(&ub, rb, out.b);
                let same = keys.canonical(&a[ra.clone()]) == keys.canonical(&b[rb.clone()]);
                let words = word_diff(&mut keys, a, b, ra.clone(), rb.clone());
                out.push(if same { Tag::Typography } else { Tag::Changed }, ra, rb, words);
            }
        }
    }
    Diff { ops: out.ops }
}

/// The byte range of units `idx` (empty, at `cursor`, when there are none).
fn span_of(units: &[Unit], idx: Range<usize>, cursor: usize) -> Range<usize> {
    match (units.get(idx.start), idx.end.checked_sub(1).and_then(|l| units.get(l))) {
        (Some(first), Some(last)) if !idx.is_empty() => first.range.start..last.range.end,
        _ => cursor..cursor,
    }
}

/// Word-level spans of the changed run `ra` of A against `rb` of B.
fn word_diff(
    keys: &mut Keys<'_>,
    a: &str,
    b: &str,
    ra: Range<usize>,
    rb: Range<usize>,
) -> Vec<Span> {
    let wa = units(keys, a, ra.clone(), Level::Word);
    let wb = units(keys, b, rb.clone(), Level::Word);
    if wa.len().saturating_mul(wb.len()) > MAX_WORD_PAIRS {
        return vec![Span { tag: Tag::Changed, a: ra, b: rb }];
    }
    let ka: Vec<u32> = wa.iter().map(|u| u.key).collect();
    let kb: Vec<u32> = wb.iter().map(|u| u.key).collect();
    let mut out = Builder { a: ra.start, b: rb.start, words: true, ops: Vec::new() };
    for d in capture_diff_slices(Algorithm::Myers, &ka, &kb) {
        match d {
            DiffOp::Equal { old_index, new_index, len } => {
                for i in 0..len {
                    let (ua, ub) = (&wa[old_index + i].range, &wb[new_index + i].range);
                    let same = a[ua.clone()].trim_end() == b[ub.clone()].trim_end();
                    let tag = if same { Tag::Equal } else { Tag::Typography };
                    out.push(tag, ua.clone(), ub.clone(), Vec::new());
                }
            }
            d => {
                let sa = span_of(&wa, d.old_range(), out.a);
                let sb = span_of(&wb, d.new_range(), out.b);
                out.push(Tag::Changed, sa, sb, Vec::new());
            }
        }
    }
    out.ops.into_iter().map(|op| Span { tag: op.tag, a: op.a, b: op.b }).collect()
}

/// Collects ops in order, merging neighbours where that loses nothing.
#[derive(Default)]
struct Builder {
    /// Where the next op starts in A and in B.
    a: usize,
    b: usize,
    /// Word level: neighbours with the same tag always merge.
    words: bool,
    ops: Vec<Op>,
}

impl Builder {
    fn push(&mut self, tag: Tag, a: Range<usize>, b: Range<usize>, words: Vec<Span>) {
        debug_assert!(a.start == self.a && b.start == self.b, "ops tile the texts");
        self.a = a.end;
        self.b = b.end;
        // Equal lines merge (they pair one to one whatever the count); a
        // typography op stays one aligned unit, so that its lines pair up.
        if let Some(last) = self.ops.last_mut() {
            if last.tag == tag && (tag == Tag::Equal || self.words) {
                last.a.end = a.end;
                last.b.end = b.end;
                return;
            }
        }
        self.ops.push(Op { tag, a, b, words });
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Line,
    Word,
}

/// A line or a word with what follows it, and its canonical key.
struct Unit {
    range: Range<usize>,
    key: u32,
}

/// Canonical forms, interned so that the diffs compare integers.
struct Keys<'n> {
    norm: &'n Normalizer,
    ids: HashMap<String, u32>,
    scratch: String,
}

impl<'n> Keys<'n> {
    fn new(norm: &'n Normalizer) -> Keys<'n> {
        Keys { norm, ids: HashMap::new(), scratch: String::new() }
    }

    fn canonical(&self, text: &str) -> String {
        self.norm.canonical(text)
    }

    /// The key of `text`, or `None` if its canonical form is blank.
    fn key(&mut self, text: &str) -> Option<u32> {
        self.norm.normalize_into(text, &mut self.scratch, None);
        if self.scratch.bytes().all(|b| b.is_ascii_whitespace()) {
            return None;
        }
        let next = self.ids.len() as u32;
        Some(match self.ids.get(self.scratch.as_str()) {
            Some(&id) => id,
            None => {
                self.ids.insert(self.scratch.clone(), next);
                next
            }
        })
    }

    /// The key of a blank unit (a text with nothing but white space).
    fn blank(&mut self) -> u32 {
        let next = self.ids.len() as u32;
        *self.ids.entry(String::new()).or_insert(next)
    }
}

/// Cuts `range` of `text` into units that tile it: lines (with their line
/// end) or words (with the white space after them). A unit whose canonical
/// form is blank joins the unit before it (the first unit starts at
/// `range.start`); a range with no other unit is one blank unit.
fn units(keys: &mut Keys<'_>, text: &str, range: Range<usize>, level: Level) -> Vec<Unit> {
    let mut out: Vec<Unit> = Vec::new();
    let mut push = |keys: &mut Keys<'_>, piece: Range<usize>, content: &str| match keys.key(content)
    {
        Some(key) => {
            let start = if out.is_empty() { range.start } else { piece.start };
            out.push(Unit { range: start..piece.end, key });
        }
        None => {
            if let Some(last) = out.last_mut() {
                last.range.end = piece.end;
            }
        }
    };
    let s = &text[range.clone()];
    match level {
        Level::Line => {
            let mut at = 0;
            while at < s.len() {
                let end =
                    memchr::memchr(b'\n', &s.as_bytes()[at..]).map_or(s.len(), |i| at + i + 1);
                let content = s[at..end].trim_end_matches(['\n', '\r']);
                push(keys, range.start + at..range.start + end, content);
                at = end;
            }
        }
        Level::Word => {
            // Words split on Unicode white space (a no-break space separates
            // words here as the canonical form's space does).
            let mut at = 0;
            while let Some(i) = s[at..].find(|c: char| !c.is_whitespace()) {
                let start = at + i;
                let end = s[start..].find(char::is_whitespace).map_or(s.len(), |j| start + j);
                let next = s[end..].find(|c: char| !c.is_whitespace()).map_or(s.len(), |j| end + j);
                push(keys, range.start + start..range.start + next, &s[start..end]);
                at = next;
            }
        }
    }
    if out.is_empty() && !range.is_empty() {
        let key = keys.blank();
        out.push(Unit { range, key });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(d: &Diff) -> Vec<Tag> {
        d.ops.iter().map(|o| o.tag).collect()
    }

    fn pieces<'t>(text: &'t str, rs: &[Range<usize>]) -> Vec<&'t str> {
        rs.iter().map(|r| &text[r.clone()]).collect()
    }

    #[test]
    fn identical_texts_are_one_equal_op() {
        let n = Normalizer::default();
        let t = "one\ntwo\n\nthree";
        let d = diff(&n, t, t);
        assert_eq!(d.ops, [Op { tag: Tag::Equal, a: 0..t.len(), b: 0..t.len(), words: vec![] }]);
        assert_eq!(d.rows(t, t).len(), 4);
        assert!(d.identical());
        assert!(diff(&n, "", "").ops.is_empty());
    }

    #[test]
    fn a_typographic_copy_is_typography_line_by_line() {
        let n = Normalizer::default();
        let a = "He said \"no\" -- twice.\nSame line.\nIt's  DONE.\n";
        let b = "He said \u{201C}no\u{201D} \u{2014} twice.\nSame line.\nit\u{2019}s done.\n";
        let d = diff(&n, a, b);
        assert_eq!(tags(&d), [Tag::Typography, Tag::Equal, Tag::Typography]);
        assert!(d.same_canonical_text() && !d.identical());
        // The words that differ in typography are marked.
        let typo: Vec<Range<usize>> = d.ops[0]
            .words
            .iter()
            .filter(|s| s.tag == Tag::Typography)
            .map(|s| s.a.clone())
            .collect();
        assert_eq!(pieces(a, &typo), ["\"no\" -- "]);
        let rows = d.rows(a, b);
        assert_eq!(rows.len(), 3);
        assert_eq!(&b[rows[2].b.clone().unwrap()], "it\u{2019}s done.");
    }

    #[test]
    fn blank_lines_and_line_ends_are_typography() {
        let n = Normalizer::default();
        let a = "first\n\n\nsecond\n";
        let b = "first\r\n\r\nsecond";
        let d = diff(&n, a, b);
        assert_eq!(tags(&d), [Tag::Typography, Tag::Typography]);
        assert_eq!(d.ops[0].a, 0..8);
        assert_eq!(d.ops[0].b, 0..9);
    }

    #[test]
    fn changed_words_are_marked_and_typographic_words_are_not() {
        let n = Normalizer::default();
        let a = "The \"old\" house stood on the hill.\nUnchanged.\n";
        let b = "The \u{201C}old\u{201D} barn stood on a hill.\nUnchanged.\n";
        let d = diff(&n, a, b);
        assert_eq!(tags(&d), [Tag::Changed, Tag::Equal]);
        let w = &d.ops[0].words;
        let changed: Vec<Range<usize>> =
            w.iter().filter(|s| s.tag == Tag::Changed).map(|s| s.a.clone()).collect();
        assert_eq!(pieces(a, &changed), ["house ", "the "]);
        let typo: Vec<_> = w.iter().filter(|s| s.tag == Tag::Typography).collect();
        assert_eq!(typo.len(), 1);
        assert_eq!(&a[typo[0].a.clone()], "\"old\" ");
        assert_eq!(&b[typo[0].b.clone()], "\u{201C}old\u{201D} ");
        let rows = d.rows(a, b);
        assert_eq!(pieces(b, &rows[0].b_changed), ["barn", "a"]);
    }

    #[test]
    fn lines_only_on_one_side() {
        let n = Normalizer::default();
        let a = "keep\nextra line\nend\n";
        let b = "keep\nend\n";
        let d = diff(&n, a, b);
        assert_eq!(tags(&d), [Tag::Equal, Tag::Changed, Tag::Equal]);
        assert_eq!(&a[d.ops[1].a.clone()], "extra line\n");
        assert_eq!(d.ops[1].b, 5..5);
        let rows = d.rows(a, b);
        assert_eq!(rows[1].b, None);
        assert_eq!(pieces(a, &rows[1].a_changed), ["extra line"]);
    }

    #[test]
    fn rewrapped_text_is_typography_when_line_breaks_fold() {
        let all = Normalizer::new(crate::Options {
            whitespace: crate::Whitespace::All,
            ..crate::Options::default()
        });
        let a = "one two\nthree four\n";
        let b = "one\ntwo three\nfour\n";
        assert_eq!(tags(&diff(&all, a, b)), [Tag::Typography]);
        // Line breaks matter in the default form: changed lines, no
        // changed words.
        let d = diff(&Normalizer::default(), a, b);
        assert_eq!(tags(&d), [Tag::Changed]);
        assert!(d.ops[0].words.iter().all(|s| s.tag != Tag::Changed));
    }

    #[test]
    fn long_unrelated_runs_skip_the_word_diff() {
        let n = Normalizer::default();
        let a: String = (0..2100).map(|i| format!("a{i} ")).collect();
        let b: String = (0..2100).map(|i| format!("b{i} ")).collect();
        let d = diff(&n, &a, &b);
        assert_eq!(d.ops.len(), 1);
        assert_eq!(d.ops[0].words, [Span { tag: Tag::Changed, a: 0..a.len(), b: 0..b.len() }]);
    }
}
