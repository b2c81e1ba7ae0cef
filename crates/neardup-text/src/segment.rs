//! Lines, paragraphs and words of canonical text, as byte ranges.
//!
//! Canonical text (with the default [`crate::Whitespace::Lines`]) has single
//! spaces between words, single `\n` between lines and `\n\n` between
//! paragraphs, so splitting is a `memchr` away and needs no allocation.

use std::ops::Range;

/// The non-empty lines of `text`, without their `\n`.
pub fn lines(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    let b = text.as_bytes();
    let mut start = 0;
    std::iter::from_fn(move || loop {
        if start > b.len() {
            return None;
        }
        let end = memchr::memchr(b'\n', &b[start..]).map_or(b.len(), |i| start + i);
        let r = start..end;
        start = end + 1;
        if !r.is_empty() {
            return Some(r);
        }
    })
}

/// The paragraphs of `text` (blocks separated by a blank line), without
/// the separator.
pub fn paragraphs(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    let b = text.as_bytes();
    let finder = memchr::memmem::Finder::new(b"\n\n");
    let mut start = 0;
    std::iter::from_fn(move || loop {
        if start > b.len() {
            return None;
        }
        let end = finder.find(&b[start..]).map_or(b.len(), |i| start + i);
        let mut r = start..end;
        start = end + 2;
        // Tolerate extra newlines in non-canonical input.
        while r.start < r.end && b[r.start] == b'\n' {
            r.start += 1;
        }
        if !r.is_empty() {
            return Some(r);
        }
    })
}

/// The words of `text`: maximal runs of bytes other than ASCII white space.
pub fn words(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    let b = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            return None;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        Some(start..i)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(text: &str, it: impl Iterator<Item = Range<usize>>) -> Vec<&str> {
        it.map(|r| &text[r]).collect()
    }

    #[test]
    fn splits() {
        let t = "a b\nc\n\nd e f\n\n\ng";
        assert_eq!(collect(t, lines(t)), ["a b", "c", "d e f", "g"]);
        assert_eq!(collect(t, paragraphs(t)), ["a b\nc", "d e f", "g"]);
        assert_eq!(collect(t, words(t)), ["a", "b", "c", "d", "e", "f", "g"]);
        assert_eq!(lines("").count(), 0);
        assert_eq!(paragraphs("").count(), 0);
        assert_eq!(words("  ").count(), 0);
    }
}
