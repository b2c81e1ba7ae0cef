//! One pass over a JSONL record: find the text and the id, check the rest,
//! and unescape the text on the way.
//!
//! Why not serde_json alone: its path over a record ([`crate::record`]'s
//! fallback) reads each byte three times: serde's scan of the raw values,
//! then the text's own scan for escapes and its copy into a new `String`.
//! Texts with line breaks, nearly all, are escaped, so nearly every record
//! paid all three. Here the record's structure is checked in one walk,
//! strings are scanned 64 bytes at a time for the three bytes that end a
//! plain run (`"`, `\`, a control character), and the text's runs are copied
//! as they are found into a buffer the caller keeps across records.
//!
//! The walk accepts exactly what serde_json accepts on that path or gives
//! up: anything unusual (an error of any kind, a key with an escape, deep
//! nesting, a text that is not a string or has half a surrogate pair) makes
//! [`scan`] return `None`, and the caller asks serde_json, whose answer
//! (the value or the error, with its column) then stands. So errors never
//! come from here and cannot differ; the tests check that every record
//! this walk accepts, serde_json reads the same.

use std::ops::Range;

use crate::json_string::{escape, hex4};
use crate::record::Fields;

/// What the walk found in a well-formed record.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Found {
    /// The text's JSON value (quotes included) in the line.
    pub(crate) text_value: Range<usize>,
    /// Whether the text had escapes: its value is then in the caller's
    /// buffer, otherwise it is the line between the quotes.
    pub(crate) unescaped: bool,
    /// The id's JSON value in the line, if the record has one.
    pub(crate) id_value: Option<Range<usize>>,
}

/// Nesting deeper than this is left to serde_json (which has no limit on
/// this path: raw values are skipped with a stack of its own).
const MAX_DEPTH: u32 = 64;

/// Walks `line` (valid UTF-8) as one JSON object holding the text field as
/// a string with a value, and no field twice; writes the text's value to
/// `out` when it has escapes. `None` for anything else.
pub(crate) fn scan(line: &str, fields: &Fields, out: &mut String) -> Option<Found> {
    let b = line.as_bytes();
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = ws(b, i + 1);
    let (mut text, mut id) = (None, None);
    let mut unescaped = false;
    if b.get(i) == Some(&b'}') {
        // An empty object: no text, serde_json says so.
        return None;
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = find_special(b, i + 1)?;
        if b[key_end] != b'"' {
            // An escape in a key (compared by its value) or a control
            // character: serde_json's call.
            return None;
        }
        let key = &line[i + 1..key_end];
        i = ws(b, key_end + 1);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let start = ws(b, i + 1);
        let slot = if key == fields.text {
            if b.get(start) != Some(&b'"') {
                return None;
            }
            i = text_string(line, start + 1, out, &mut unescaped)?;
            Some(&mut text)
        } else {
            i = value(b, start, 0)?;
            (key == fields.id).then_some(&mut id)
        };
        if let Some(slot) = slot {
            if slot.replace(start..i).is_some() {
                return None;
            }
        }
        i = ws(b, i);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b'}') => break,
            _ => return None,
        }
    }
    // After the closing brace: white space only.
    if ws(b, i + 1) != b.len() {
        return None;
    }
    Some(Found { text_value: text?, unescaped, id_value: id })
}

/// The first index from `i` that is not JSON white space.
#[inline]
fn ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\t' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// Skips the JSON value at `i`; returns the index after it.
fn value(b: &[u8], i: usize, depth: u32) -> Option<usize> {
    match *b.get(i)? {
        b'"' => string(b, i + 1),
        b'{' | b'[' if depth >= MAX_DEPTH => None,
        b'{' => {
            let mut i = ws(b, i + 1);
            if b.get(i) == Some(&b'}') {
                return Some(i + 1);
            }
            loop {
                if b.get(i) != Some(&b'"') {
                    return None;
                }
                i = ws(b, string(b, i + 1)?);
                if b.get(i) != Some(&b':') {
                    return None;
                }
                i = ws(b, value(b, ws(b, i + 1), depth + 1)?);
                match b.get(i)? {
                    b',' => i = ws(b, i + 1),
                    b'}' => return Some(i + 1),
                    _ => return None,
                }
            }
        }
        b'[' => {
            let mut i = ws(b, i + 1);
            if b.get(i) == Some(&b']') {
                return Some(i + 1);
            }
            loop {
                i = ws(b, value(b, i, depth + 1)?);
                match b.get(i)? {
                    b',' => i = ws(b, i + 1),
                    b']' => return Some(i + 1),
                    _ => return None,
                }
            }
        }
        b't' => literal(b, i, b"true"),
        b'f' => literal(b, i, b"false"),
        b'n' => literal(b, i, b"null"),
        b'-' | b'0'..=b'9' => number(b, i),
        _ => None,
    }
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    (b.get(i..i + word.len())? == word).then_some(i + word.len())
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` at `i`.
fn number(b: &[u8], mut i: usize) -> Option<usize> {
    let digits = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match *b.get(i)? {
        // One leading zero, and no digit after it.
        b'0' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => return None,
        b'0' => i += 1,
        b'1'..=b'9' => i = digits(i + 1),
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        let end = digits(i + 1);
        if end == i + 1 {
            return None;
        }
        i = end;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        let end = digits(i);
        if end == i {
            return None;
        }
        i = end;
    }
    Some(i)
}

/// Skips a string whose opening quote is before `i`, checking its escapes
/// as serde_json's scan does (any `\u` with four hex digits passes);
/// returns the index after its closing quote.
fn string(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        i = find_special(b, i)?;
        match b[i] {
            b'"' => return Some(i + 1),
            b'\\' => {
                i += match *b.get(i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => 2,
                    b'u' => {
                        hex4(b, i + 2)?;
                        6
                    }
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
}

/// The text string whose opening quote is before `i`: returns the index
/// after its closing quote. From its first escape on, its value is built
/// in `out` (`unescaped` then set), with the escapes decoded as
/// [`crate::json_string`] decodes them; half a surrogate pair gives `None`.
fn text_string(line: &str, start: usize, out: &mut String, unescaped: &mut bool) -> Option<usize> {
    let b = line.as_bytes();
    let mut i = start;
    // Where the run not yet copied to `out` begins, once copying.
    let mut run = None;
    loop {
        let at = find_special(b, i)?;
        match b[at] {
            b'"' => {
                if let Some(r) = run {
                    out.push_str(&line[r..at]);
                }
                return Some(at + 1);
            }
            b'\\' => {
                match run {
                    // `at` and every end below are ASCII bytes, so char
                    // boundaries.
                    Some(r) => out.push_str(&line[r..at]),
                    None => {
                        out.clear();
                        out.push_str(&line[start..at]);
                        *unescaped = true;
                    }
                }
                // Half a surrogate pair, or an unknown escape: serde_json's call.
                let (c, len) = escape(b, at).ok()?;
                out.push(c);
                i = at + len;
                run = Some(i);
            }
            _ => return None,
        }
    }
}

/// The first index from `i` holding `"`, `\` or a control character (what
/// ends a plain run in a JSON string), or `None` at the end of `b`. Scans
/// 64 bytes at a time; the last, partial block is copied into a padded one.
#[inline]
pub(crate) fn find_special(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(block) = b.get(i..i + 64) {
        let m = special_mask(block.try_into().expect("a 64-byte slice"));
        if m != 0 {
            return Some(i + m.trailing_zeros() as usize);
        }
        i += 64;
    }
    let rest = b.get(i..)?;
    let mut block = [b'a'; 64];
    block[..rest.len()].copy_from_slice(rest);
    let m = special_mask(&block);
    // The padding holds no special byte, so a hit is within `rest`.
    (m != 0).then(|| i + m.trailing_zeros() as usize)
}

/// Bit `k` set when `block[k]` is `"`, `\` or below 0x20.
#[inline]
fn special_mask(block: &[u8; 64]) -> u64 {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // SAFETY: `sse2::special_mask` needs SSE2 and nothing else; this
        // code is only compiled when the build enables SSE2 (every x86-64
        // CPU has it), so the CPU running it has it.
        #[allow(unsafe_code)]
        unsafe {
            sse2::special_mask(block)
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        portable_special_mask(block)
    }
}

/// The portable build of [`special_mask`], kept to check the SSE2 one.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn portable_special_mask(block: &[u8; 64]) -> u64 {
    block
        .iter()
        .enumerate()
        .fold(0, |m, (k, &c)| m | u64::from(c == b'"' || c == b'\\' || c < 0x20) << k)
}

/// SSE2 is part of the x86-64 baseline: nothing to detect at run time.
/// These functions read only `block` (as `u64` halves, which LLVM turns
/// into unaligned loads: no raw pointers).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        _mm_set_epi64x,
    };

    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn special_mask(block: &[u8; 64]) -> u64 {
        let half = |k: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&block[8 * k..8 * k + 8]);
            i64::from_le_bytes(w)
        };
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        let control = _mm_set1_epi8(0x1f);
        let mut m = 0u64;
        for q in 0..4 {
            let v: __m128i = _mm_set_epi64x(half(2 * q + 1), half(2 * q));
            // Unsigned `v <= 0x1f` is `min(v, 0x1f) == v`.
            let low = _mm_cmpeq_epi8(_mm_min_epu8(v, control), v);
            let hit = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                low,
            );
            m |= u64::from(_mm_movemask_epi8(hit) as u16) << (16 * q);
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn masks_match_the_portable_build(block in proptest::array::uniform32(any::<u8>()),
                                          more in proptest::array::uniform32(any::<u8>())) {
            let mut b = [0u8; 64];
            b[..32].copy_from_slice(&block);
            b[32..].copy_from_slice(&more);
            prop_assert_eq!(special_mask(&b), portable_special_mask(&b));
        }

        #[test]
        fn find_special_finds_the_first(s in proptest::collection::vec(
            prop_oneof![Just(b'a'), Just(b'"'), Just(b'\\'), Just(b'\n'), Just(0xC3u8)], 0..300),
            from in 0usize..300) {
            let want = s.iter().skip(from).position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                .map(|k| k + from);
            prop_assert_eq!(find_special(&s, from.min(s.len())), want);
        }
    }
}
