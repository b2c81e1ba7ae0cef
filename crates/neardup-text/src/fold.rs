//! Character tables: what each character folds to.
//!
//! Kept apart from the normalizer's control flow so that the list of
//! characters is easy to read and extend. Every entry here is documented in
//! the crate's README table; tests in `normalize.rs` exercise each class.

/// Characters that carry no visible content: zero-width spaces and joiners,
/// the soft hyphen, the byte-order mark, bidirectional controls, variation
/// selectors, the combining grapheme joiner and word joiners. Scrapers leave
/// them behind at random, so they are dropped before anything else.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
    )
}

/// Line and paragraph separators other than `\n` (which is itself).
pub(crate) fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{000B}' | '\u{000C}' | '\u{0085}' | '\u{2028}' | '\u{2029}')
}

/// Horizontal white space: ASCII space and tab and every Unicode space
/// separator (NBSP, en/em spaces, thin and hair spaces, narrow NBSP,
/// ideographic space, …).
pub(crate) fn is_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\u{00A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

/// Typographic folding: quotes, apostrophes and primes to ASCII quotes,
/// dashes to `-`, the ellipsis to `...`. Returns `None` for characters
/// that stay as they are.
pub(crate) fn typographic(c: char) -> Option<&'static str> {
    Some(match c {
        // Double quotes, guillemets, double primes.
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{00AB}' | '\u{00BB}'
        | '\u{2033}' | '\u{2036}' | '\u{301D}' | '\u{301E}' | '\u{301F}' | '\u{FF02}' => "\"",
        // Single quotes, apostrophes, primes, grave and acute accents used as
        // quotes, single guillemets.
        '`' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{2035}'
        | '\u{00B4}' | '\u{02B9}' | '\u{02BC}' | '\u{02C8}' | '\u{2039}' | '\u{203A}'
        | '\u{FF07}' => "'",
        // Hyphens, dashes and the minus sign.
        '\u{2010}'..='\u{2015}'
        | '\u{2212}'
        | '\u{2E3A}'
        | '\u{2E3B}'
        | '\u{FE58}'
        | '\u{FE63}'
        | '\u{FF0D}' => "-",
        '\u{2026}' => "...",
        _ => return None,
    })
}

/// "Punctuation" for `strip_punctuation`: anything that is not a letter, a
/// digit, a combining mark or white space (so symbols go too).
pub(crate) fn is_punctuation(c: char) -> bool {
    !(c.is_alphanumeric() || c.is_whitespace() || unicode_normalization::char::is_combining_mark(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_do_not_overlap() {
        for cp in 0..0x3_0000u32 {
            let Some(c) = char::from_u32(cp) else { continue };
            let n = [is_invisible(c), is_line_break(c), is_space(c), typographic(c).is_some()]
                .iter()
                .filter(|&&b| b)
                .count();
            assert!(n <= 1, "U+{cp:04X} is in {n} classes");
        }
    }

    #[test]
    fn every_unicode_white_space_is_a_space_or_a_break() {
        for cp in 0..0x11_0000u32 {
            let Some(c) = char::from_u32(cp) else { continue };
            if c.is_whitespace() {
                assert!(is_space(c) || is_line_break(c), "U+{cp:04X}");
            }
        }
    }
}
