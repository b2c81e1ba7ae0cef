//! The value of a JSON string whose syntax serde_json has already checked.
//!
//! Why not serde_json again: a record's text is found as a raw value (so
//! that a modified record can splice its new text in place), which has
//! scanned the string once. Asking serde_json for the value then scans it a
//! second time a byte at a time, and a text with any escape — every text
//! with a line break — took that path. Here the runs between backslashes are
//! found with `memchr` and copied whole, and only the escapes are decoded.
//!
//! A `\u` escape of half a surrogate pair with no other half has no UTF-8
//! form, so such a string has no value: the error says which escape, where.

use std::borrow::Cow;

/// What is wrong with a string's escapes: the byte offset of the escape
/// within the string's JSON text (its opening quote is offset 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BadEscape {
    pub(crate) offset: usize,
    pub(crate) what: String,
}

/// The value of the JSON string `raw` (quotes included), borrowed when it
/// has no escapes; `None` when `raw` is not a string.
pub(crate) fn value(raw: &str) -> Option<Result<Cow<'_, str>, BadEscape>> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    let Some(first) = memchr::memchr(b'\\', inner.as_bytes()) else {
        return Some(Ok(Cow::Borrowed(inner)));
    };
    Some(unescape(inner, first).map(Cow::Owned))
}

/// Decodes `inner` (a string's text between its quotes), whose first
/// backslash is at `first`.
fn unescape(inner: &str, first: usize) -> Result<String, BadEscape> {
    let b = inner.as_bytes();
    let mut out = String::with_capacity(inner.len());
    let mut i = 0;
    let mut next = Some(first);
    while let Some(at) = next {
        out.push_str(&inner[i..at]);
        // `at` is a backslash, an ASCII byte: a char boundary, and so is
        // every end below (escapes are ASCII).
        let (c, len) = escape(b, at).map_err(|what| BadEscape { offset: at + 1, what })?;
        out.push(c);
        i = at + len;
        next = memchr::memchr(b'\\', &b[i..]).map(|k| i + k);
    }
    out.push_str(&inner[i..]);
    Ok(out)
}

/// The character of the escape whose backslash is at `at` in `b`, and the
/// escape's length in bytes; what is wrong with it otherwise. Also the
/// one-pass walk's decoder ([`crate::json_scan`]).
pub(crate) fn escape(b: &[u8], at: usize) -> Result<(char, usize), String> {
    Ok(match b.get(at + 1) {
        Some(b'"') => ('"', 2),
        Some(b'\\') => ('\\', 2),
        Some(b'/') => ('/', 2),
        Some(b'b') => ('\u{8}', 2),
        Some(b'f') => ('\u{c}', 2),
        Some(b'n') => ('\n', 2),
        Some(b'r') => ('\r', 2),
        Some(b't') => ('\t', 2),
        Some(b'u') => {
            let unit = hex4(b, at + 2)
                .ok_or_else(|| "a `\\u` escape without four hex digits".to_string())?;
            match unit {
                0xD800..=0xDBFF => {
                    let low = (b.get(at + 6..at + 8) == Some(b"\\u"))
                        .then(|| hex4(b, at + 8))
                        .flatten()
                        .filter(|l| (0xDC00..=0xDFFF).contains(l))
                        .ok_or_else(|| {
                            let half = "first half of a surrogate pair without its second half";
                            format!("`\\u{unit:04x}` is the {half}")
                        })?;
                    let cp = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                    (char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER), 12)
                }
                0xDC00..=0xDFFF => {
                    let half = "second half of a surrogate pair without its first half";
                    return Err(format!("`\\u{unit:04x}` is the {half}"));
                }
                // Not a surrogate: a scalar value.
                _ => (char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER), 6),
            }
        }
        _ => return Err("an unknown escape".to_string()),
    })
}

/// The four hex digits at `at` as a number.
pub(crate) fn hex4(b: &[u8], at: usize) -> Option<u32> {
    let digits = b.get(at..at + 4)?;
    digits.iter().try_fold(0u32, |n, &d| Some(n << 4 | char::from(d).to_digit(16)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// serde_json's answer: the value, or whether it refused.
    fn serde(raw: &str) -> Option<String> {
        serde_json::from_str::<String>(raw).ok()
    }

    #[test]
    fn escapes_decode() {
        let raw = r#""a\nb \u00e9 \ud83d\ude00 \"q\" \\ \/ \t\r\b\f end""#;
        assert_eq!(value(raw).unwrap().unwrap(), serde(raw).unwrap());
        assert!(matches!(value(r#""plain""#), Some(Ok(Cow::Borrowed("plain")))));
        assert_eq!(value("3"), None);
    }

    #[test]
    fn lone_surrogates_are_named() {
        let e = value(r#""bad \ud800 x""#).unwrap().unwrap_err();
        assert_eq!(e.offset, 5);
        assert!(e.what.contains("`\\ud800` is the first half"), "{}", e.what);
        let e = value(r#""\udc00""#).unwrap().unwrap_err();
        assert_eq!(e.offset, 1);
        assert!(e.what.contains("second half"));
        // A first half followed by another first half.
        assert!(value(r#""\ud800\ud800""#).unwrap().is_err());
    }

    proptest! {
        /// Any string serde_json writes reads back as itself.
        #[test]
        fn round_trips(s in "\\PC*|[\"\\\\\u{0}-\u{1f}\u{7f}-\u{10ffff}a ]*") {
            let raw = serde_json::to_string(&s).unwrap();
            prop_assert_eq!(value(&raw).unwrap().unwrap(), s);
        }

        /// On strings of escapes (surrogates, halves and all), the same
        /// value as serde_json, and an error exactly when it refuses.
        #[test]
        fn agrees_with_serde_json(parts in proptest::collection::vec(prop_oneof![
            "[a-z é]{0,3}",
            Just("\\n".to_owned()),
            Just("\\\"".to_owned()),
            Just("\\\\".to_owned()),
            (0xD7F0u32..0xE010).prop_map(|u| format!("\\u{u:04x}")),
            (0u32..0x10000).prop_map(|u| format!("\\u{u:04X}")),
        ], 0..8)) {
            let raw = format!("\"{}\"", parts.concat());
            let ours = value(&raw).unwrap().ok().map(Cow::into_owned);
            prop_assert_eq!(ours, serde(&raw));
        }
    }
}
