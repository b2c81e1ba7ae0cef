//! From raw record bytes to text, id and the place of the text in the
//! record.
//!
//! A JSONL record is walked once ([`crate::json_scan`]): its structure is
//! checked, nothing but the text (and the id) is decoded, the text straight
//! into a buffer the caller may keep ([`parse_with`]), and the byte range of
//! the text's JSON value is kept. Writing a modified record then splices the
//! new text into that range, so every other field passes through byte for
//! byte, in its original order, with its original number formatting and
//! escapes. A record the walk declines (any error, and a few rare valid
//! shapes) is parsed by serde_json into top-level keys and *raw* values, as
//! before the walk existed: its answer and its errors are the reference,
//! and tests check that both paths agree on any record.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::RecordError;
use crate::json_scan;
use crate::json_string;
use crate::source::Format;

/// Which JSON fields hold the text and the id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fields {
    /// The text field (default `text`).
    pub text: String,
    /// The id field (default `id`); records without it are named by
    /// `source:line` or their path.
    pub id: String,
}

impl Default for Fields {
    fn default() -> Fields {
        Fields { text: "text".to_string(), id: "id".to_string() }
    }
}

/// A parsed record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed<'a> {
    /// Its text (the whole content for text records).
    pub text: Cow<'a, str>,
    /// Its id field, if it has one: a string as is, anything else as JSON.
    pub id: Option<String>,
    /// For JSONL, the byte range of the text's JSON value in the content.
    pub text_value: Option<Range<usize>>,
}

/// Parses one record's content.
pub fn parse<'a>(
    format: Format,
    content: &'a [u8],
    fields: &Fields,
) -> Result<Parsed<'a>, RecordError> {
    let mut buf = String::new();
    let (mut p, in_buf) = parse_inner(format, content, fields, &mut buf)?;
    if in_buf {
        p.text = Cow::Owned(buf);
    }
    Ok(p)
}

/// [`parse`], with an escaped text decoded into `scratch` rather than a
/// new `String`: a reader that keeps `scratch` across records allocates
/// nothing per record for its text. Same results, same errors.
pub fn parse_with<'a>(
    format: Format,
    content: &'a [u8],
    fields: &Fields,
    scratch: &'a mut String,
) -> Result<Parsed<'a>, RecordError> {
    let (mut p, in_buf) = parse_inner(format, content, fields, scratch)?;
    if in_buf {
        let s: &'a String = scratch;
        p.text = Cow::Borrowed(s.as_str());
    }
    Ok(p)
}

/// The record, and whether its text is in `buf` (then `text` is empty).
fn parse_inner<'a>(
    format: Format,
    content: &'a [u8],
    fields: &Fields,
    buf: &mut String,
) -> Result<(Parsed<'a>, bool), RecordError> {
    let s = utf8(content)?;
    match format {
        Format::Text => {
            if let Some(offset) = memchr::memchr(0, content) {
                return Err(RecordError::Binary { offset });
            }
            Ok((Parsed { text: Cow::Borrowed(s), id: None, text_value: None }, false))
        }
        Format::Jsonl => {
            // The one-pass walk takes well-formed records; whatever it
            // declines, serde_json reads, and its answer or error stands.
            if let Some(found) = json_scan::scan(s, fields, buf) {
                let v = found.text_value.clone();
                let text = if found.unescaped { "" } else { &s[v.start + 1..v.end - 1] };
                let p = Parsed {
                    text: Cow::Borrowed(text),
                    id: found.id_value.map(|r| id_of(&s[r])),
                    text_value: Some(v),
                };
                return Ok((p, found.unescaped));
            }
            parse_json(s, fields).map(|p| (p, false))
        }
    }
}

/// `content` as text. simdutf8 checks it a vector at a time (several times
/// faster than the standard library on mostly-ASCII text); when it is not
/// UTF-8, the standard library says where, as it always has.
fn utf8(content: &[u8]) -> Result<&str, RecordError> {
    match simdutf8::basic::from_utf8(content) {
        Ok(s) => Ok(s),
        Err(_) => {
            std::str::from_utf8(content).map_err(|e| RecordError::Utf8 { offset: e.valid_up_to() })
        }
    }
}

/// An id names a record: anything but a string with a value is named by
/// its JSON text.
fn id_of(raw: &str) -> String {
    match json_string::value(raw) {
        Some(Ok(s)) => s.into_owned(),
        _ => raw.to_string(),
    }
}

fn parse_json<'a>(line: &'a str, fields: &Fields) -> Result<Parsed<'a>, RecordError> {
    let mut de = serde_json::Deserializer::from_str(line);
    let top = TopLevel { fields }.deserialize(&mut de).map_err(json_error)?;
    de.end().map_err(json_error)?;
    let (text, id) = match top {
        Top::Object { text, id } => (text, id),
        Top::Other(found) => return Err(RecordError::NotObject { found }),
    };
    let Some(raw) = text else {
        return Err(RecordError::MissingField { field: fields.text.clone() });
    };
    let value = raw.get();
    let at = value.as_ptr() as usize - line.as_ptr() as usize;
    let text = match json_string::value(value) {
        Some(Ok(text)) => text,
        Some(Err(e)) => {
            return Err(RecordError::BadEscape {
                field: fields.text.clone(),
                column: at + e.offset + 1,
                what: e.what,
            })
        }
        None => {
            return Err(RecordError::WrongType {
                field: fields.text.clone(),
                found: json_kind(value),
                expected: "a string",
            })
        }
    };
    let id = id.map(|raw| id_of(raw.get()));
    Ok(Parsed { text, id, text_value: Some(at..at + value.len()) })
}

/// Replaces the text's JSON value in `content` with `new_text`, encoded.
pub fn splice_json(content: &[u8], text_value: Range<usize>, new_text: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&content[..text_value.start]);
    write_json_string(new_text, out);
    out.extend_from_slice(&content[text_value.end..]);
}

/// Appends `s` as a JSON string, quotes included, escaped byte for byte as
/// serde_json escapes it (`\"`, `\\`, the short forms of `\b \t \n \f \r`,
/// other control characters as `\u00xx`, everything else as is), so that
/// outputs stay what they were; but the runs between bytes to escape are
/// found 64 bytes at a time by the JSON walk's scanner
/// (`json_scan::find_special`: the same three kinds of byte): the texts
/// of modified records are long, and serde_json's byte-at-a-time walk was
/// the largest cost of writing them.
pub fn write_json_string(s: &str, out: &mut Vec<u8>) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let mut run = 0;
    while let Some(i) = json_scan::find_special(b, run) {
        let c = b[i];
        let short = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            b'\t' => b't',
            b'\n' => b'n',
            0x0c => b'f',
            b'\r' => b'r',
            _ => b'u',
        };
        out.extend_from_slice(&b[run..i]);
        out.extend_from_slice(&[b'\\', short]);
        if short == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'0',
                b'0',
                HEX[usize::from(c >> 4)],
                HEX[usize::from(c & 15)],
            ]);
        }
        run = i + 1;
    }
    out.extend_from_slice(&b[run..]);
    out.push(b'"');
}

fn json_error(e: serde_json::Error) -> RecordError {
    // serde_json appends " at line L column C"; we report the column only
    // (a JSONL record is one line).
    let message = e.to_string();
    let message = match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    RecordError::Json { column: e.column(), message }
}

fn json_kind(raw: &str) -> &'static str {
    match raw.as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

enum Top<'a> {
    Object { text: Option<&'a RawValue>, id: Option<&'a RawValue> },
    Other(&'static str),
}

struct TopLevel<'f> {
    fields: &'f Fields,
}

impl<'de> DeserializeSeed<'de> for TopLevel<'_> {
    type Value = Top<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Top<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_> {
    type Value = Top<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top<'de>, A::Error> {
        let mut text = None;
        let mut id = None;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let value: &'de RawValue = map.next_value()?;
            let slot = if key.0 == self.fields.text {
                &mut text
            } else if key.0 == self.fields.id {
                &mut id
            } else {
                continue;
            };
            if slot.replace(value).is_some() {
                return Err(de::Error::custom(format_args!("field `{}` appears twice", key.0)));
            }
        }
        Ok(Top::Object { text, id })
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Top<'de>, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Top::Other("an array"))
    }
    fn visit_str<E>(self, _: &str) -> Result<Top<'de>, E> {
        Ok(Top::Other("a string"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Top<'de>, E> {
        Ok(Top::Other("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Top<'de>, E> {
        Ok(Top::Other("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Top<'de>, E> {
        Ok(Top::Other("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Top<'de>, E> {
        Ok(Top::Other("a number"))
    }
    fn visit_unit<E>(self) -> Result<Top<'de>, E> {
        Ok(Top::Other("null"))
    }
}

/// An object key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Key<'de>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn json(line: &str) -> Result<Parsed<'_>, RecordError> {
        parse(Format::Jsonl, line.as_bytes(), &Fields::default())
    }

    #[test]
    fn text_and_id_are_found_and_other_fields_ignored() {
        let line = r#"{"meta":{"a":[1,2]},"id":7,"text":"a\nb \u00e9","url":"x"}"#;
        let p = json(line).unwrap();
        assert_eq!(p.text, "a\nb é");
        assert_eq!(p.id.as_deref(), Some("7"));
        assert_eq!(&line[p.text_value.unwrap()], r#""a\nb \u00e9""#);
        let p = json(r#"{"text":"plain","id":"doc-1"}"#).unwrap();
        assert!(matches!(p.text, Cow::Borrowed("plain")));
        assert_eq!(p.id.as_deref(), Some("doc-1"));
    }

    #[test]
    fn splicing_keeps_every_other_byte() {
        let line = r#"{"id":1, "text" : "old\ttext", "n":1.50e3}"#;
        let p = json(line).unwrap();
        let mut out = Vec::new();
        splice_json(line.as_bytes(), p.text_value.unwrap(), "new \"text\"", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"id":1, "text" : "new \"text\"", "n":1.50e3}"#
        );
    }

    #[test]
    fn bad_records_say_what_is_wrong() {
        let msg = |l: &str| json(l).unwrap_err().to_string();
        assert_eq!(msg(r#"{"text": 3}"#), "field `text` is a number, expected a string");
        assert_eq!(msg(r#"{"text": null}"#), "field `text` is null, expected a string");
        assert_eq!(msg(r#"{"body": "x"}"#), "missing field `text`");
        assert_eq!(msg(r#"[1, 2]"#), "expected a JSON object, found an array");
        assert_eq!(msg(r#""text""#), "expected a JSON object, found a string");
        assert!(
            msg(r#"{"text": "x""#).starts_with("invalid JSON at column 12: EOF while parsing"),
            "{}",
            msg(r#"{"text": "x""#)
        );
        assert!(msg(r#"{"text": "a", "text": "b"}"#).contains("field `text` appears twice"));
        assert_eq!(
            msg(r#"{"text": "ok \n \ud800 x"}"#),
            "field `text` has an invalid escape at column 17: `\\ud800` is the first half of \
             a surrogate pair without its second half"
        );
        assert_eq!(
            json(r#"{"text": "t", "id": "\udc00"}"#).unwrap().id.as_deref(),
            Some(r#""\udc00""#)
        );
        assert!(msg(r#"{"text": "x"} trailing"#)
            .starts_with("invalid JSON at column 15: trailing characters"));
        let bad_utf8 = parse(Format::Jsonl, b"{\"text\": \"\xff\"}", &Fields::default());
        assert_eq!(bad_utf8.unwrap_err().to_string(), "invalid UTF-8 at byte 10 of the record");
        let binary = parse(Format::Text, b"ab\0c", &Fields::default());
        assert_eq!(
            binary.unwrap_err().to_string(),
            "binary data (NUL byte at byte 2 of the record)"
        );
    }

    /// The one-pass walk on well-formed records whose text has escapes:
    /// it takes them (no detour through serde_json) and reads them as
    /// serde_json does.
    #[test]
    fn the_walk_takes_well_formed_records() {
        let f = Fields::default();
        for line in [
            r#"{"id":"a\"b","meta":{"x":[1,-2.5e+3,true,null,{}],"y":"\u00e9"},"text":"a\nb\t\ud83d\ude00 é"}"#,
            r#" { "text" : "plain" , "n" : 0 } "#,
            r#"{"text":"\\\"","id":[1,{"a":"b"}],"z":-0.0E-0}"#,
        ] {
            let mut buf = String::new();
            assert!(json_scan::scan(line, &f, &mut buf).is_some(), "{line}");
            assert_eq!(json(line), parse_json(line, &f), "{line}");
        }
    }

    /// A JSON string's text: escapes of every kind, halves of surrogate
    /// pairs, non-ASCII; now and then a mistake (an unknown or short
    /// escape, a raw control character).
    fn string_lit() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                12 => "[a-z é\u{1F600}]{0,4}",
                3 => Just("\\n".to_owned()),
                2 => Just("\\\"".to_owned()),
                2 => Just("\\\\".to_owned()),
                1 => Just("\\/".to_owned()),
                1 => Just("\\b\\f\\r\\t".to_owned()),
                2 => (0xD7F0u32..0xE010).prop_map(|u| format!("\\u{u:04x}")),
                2 => Just("\\ud83d\\ude00".to_owned()),
                2 => (0u32..0x10000).prop_map(|u| format!("\\u{u:04X}")),
                1 => prop_oneof![
                    Just("\\x".to_owned()),
                    Just("\\".to_owned()),
                    Just("\u{1}".to_owned()),
                    Just("\t".to_owned()),
                    Just("\\u12".to_owned()),
                    Just("\\uzz0z".to_owned()),
                ],
            ],
            0..5,
        )
        .prop_map(|p| format!("\"{}\"", p.concat()))
    }

    /// Any JSON value, nested a few levels; now and then a mistake.
    fn value() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            6 => string_lit(),
            4 => "-?(0|[1-9][0-9]{0,3})(\\.[0-9]{1,2})?([eE][+-]?[0-9]{1,2})?",
            2 => "true|false|null",
            1 => "-?0[0-9]|-|1\\.|1e|1e\\+|\\.5|tru|nul|nulll|True|01\\.5",
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                (proptest::collection::vec(inner.clone(), 0..4), sep())
                    .prop_map(|(v, sep)| format!("[{}]", v.join(&sep))),
                (proptest::collection::vec((key(), inner), 0..4), sep()).prop_map(|(kv, sep)| {
                    let kv: Vec<String> = kv.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                    format!("{{{}}}", kv.join(&sep))
                }),
            ]
        })
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => Just("\"text\"".to_owned()),
            2 => Just("\"id\"".to_owned()),
            6 => "\"[a-z]{0,4}\"",
            1 => Just("\"t\\u0065xt\"".to_owned()),
            1 => string_lit(),
            1 => Just("text".to_owned()),
        ]
    }

    fn sep() -> impl Strategy<Value = String> {
        prop_oneof![
            16 => Just(",".to_owned()),
            2 => "[ \t\r\n]{0,2},[ \t\r\n]{0,2}",
            1 => ",,|\\||;",
        ]
    }

    /// A record: mostly an object of a few fields, its text among them
    /// (with white space, a BOM or trailing bytes now and then), sometimes
    /// with one byte inserted or deleted anywhere, sometimes not an object.
    fn record() -> impl Strategy<Value = Vec<u8>> {
        let entry = |k: BoxedStrategy<String>, v: BoxedStrategy<String>| {
            (k, "[ \n]?:[ \r]?", v).prop_map(|(k, c, v)| format!("{k}{c}{v}"))
        };
        let other_key = prop_oneof![
            2 => Just("\"id\"".to_owned()),
            8 => "\"[a-z]{0,4}\"",
            1 => key(),
        ];
        let text_value = prop_oneof![6 => string_lit(), 1 => value()];
        let object = (
            prop_oneof![8 => Just(String::new()), 1 => "  |\u{feff}|\t|\n"],
            proptest::collection::vec(entry(other_key.boxed(), value().boxed()), 0..4),
            proptest::option::weighted(
                0.9,
                entry(Just("\"text\"".to_owned()).boxed(), text_value.boxed()),
            ),
            any::<prop::sample::Index>(),
            sep(),
            prop_oneof![8 => Just(String::new()), 1 => " |\r\n|x|,|}|\""],
        )
            .prop_map(|(pre, mut kv, text, at, sep, post)| {
                if let Some(t) = text {
                    kv.insert(at.index(kv.len() + 1), t);
                }
                format!("{pre}{{{}}}{post}", kv.join(&sep))
            });
        let top = prop_oneof![12 => object, 1 => value()];
        let edit = proptest::option::weighted(
            0.2,
            (
                any::<prop::sample::Index>(),
                proptest::option::of(prop_oneof![
                    Just(b'"'),
                    Just(b'\\'),
                    Just(b','),
                    Just(b'}'),
                    Just(b'{'),
                    Just(b' '),
                    Just(1u8),
                    Just(0xFF),
                    Just(0xC3),
                    Just(b'0'),
                ]),
            ),
        );
        (top, edit).prop_map(|(s, edit)| {
            let mut b = s.into_bytes();
            if let Some((at, byte)) = edit {
                let at = at.index(b.len() + 1);
                match byte {
                    Some(c) => b.insert(at, c),
                    None if at < b.len() => drop(b.remove(at)),
                    None => {}
                }
            }
            b
        })
    }

    /// serde_json's path alone, as records were read before the walk.
    fn serde_only<'a>(content: &'a [u8], fields: &Fields) -> Result<Parsed<'a>, RecordError> {
        let s = std::str::from_utf8(content)
            .map_err(|e| RecordError::Utf8 { offset: e.valid_up_to() })?;
        parse_json(s, fields)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Whatever the record, `parse` and `parse_with` give what
        /// serde_json's path gives: the same text, id and text range, or
        /// the same error (kind, column, message).
        #[test]
        fn the_walk_agrees_with_serde_json(line in record(), which in 0usize..3) {
            let fields = [
                Fields::default(),
                Fields { text: "id".into(), id: "text".into() },
                Fields { text: "text".into(), id: "text".into() },
            ];
            let f = &fields[which];
            let want = serde_only(&line, f);
            prop_assert_eq!(&parse(Format::Jsonl, &line, f), &want);
            let mut scratch = "left over".to_owned();
            prop_assert_eq!(&parse_with(Format::Jsonl, &line, f, &mut scratch), &want);
        }

        /// The UTF-8 check accepts what the standard library accepts and
        /// names the same first bad byte.
        #[test]
        fn utf8_agrees_with_std(b in proptest::collection::vec(prop_oneof![
            4 => proptest::char::any().prop_map(|c| c.to_string().into_bytes()),
            1 => proptest::collection::vec(0x80u8..=0xFF, 1..3),
        ], 0..80)) {
            let b = b.concat();
            let want = std::str::from_utf8(&b).map_err(|e| RecordError::Utf8 { offset: e.valid_up_to() });
            prop_assert_eq!(utf8(&b), want);
        }

        /// Records serde_json writes (any text, any nesting of other
        /// fields) are all taken by the walk, and read the same.
        #[test]
        fn the_walk_takes_what_serde_json_writes(
            text in "\\PC*|[\"\\\\\u{0}-\u{1f}\u{7f}-\u{10ffff}a ]*",
            id in proptest::option::of(any::<i64>()),
            other in proptest::collection::vec(("[a-z]{1,4}", any::<f64>(), "\\PC{0,8}"), 0..3),
        ) {
            let mut obj = serde_json::Map::new();
            for (k, n, s) in &other {
                obj.insert(k.clone(), serde_json::json!([n, s, {"k": null}]));
            }
            obj.insert("text".into(), text.clone().into());
            if let Some(id) = id {
                obj.insert("id".into(), id.into());
            }
            let line = serde_json::Value::Object(obj).to_string();
            let f = Fields::default();
            let mut buf = String::new();
            prop_assert!(json_scan::scan(&line, &f, &mut buf).is_some(), "{}", line);
            let p = parse(Format::Jsonl, line.as_bytes(), &f).unwrap();
            prop_assert_eq!(p.text.as_ref(), text.as_str());
            prop_assert_eq!(Ok(p), parse_json(&line, &f));
        }

        #[test]
        fn strings_are_escaped_as_serde_json_escapes_them(
            text in "\\PC*|[\"\\\\\u{0}-\u{1f}\u{7f}-\u{10ffff}a ]*|([a-z ]{0,12}[\"\\\\\u{0}-\u{1f}]){0,6}[a-z]{0,9}",
        ) {
            let mut ours = b"x".to_vec();
            write_json_string(&text, &mut ours);
            let theirs = [&b"x"[..], &serde_json::to_vec(&text).unwrap()].concat();
            prop_assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&theirs));
        }
    }

    #[test]
    fn custom_fields() {
        let f = Fields { text: "body".into(), id: "key".into() };
        let p = parse(Format::Jsonl, br#"{"key":"k","body":"b","text":1}"#, &f).unwrap();
        assert_eq!((p.text.as_ref(), p.id.as_deref()), ("b", Some("k")));
    }
}
