//! From raw record bytes to text, id and the place of the text in the
//! record.
//!
//! JSONL records are parsed once with serde_json into a list of top-level
//! keys and *raw* values: nothing but the text (and the id) is decoded, and
//! the byte range of the text's JSON value is kept. Writing a modified record
//! then splices the new text into that range, so every other field passes
//! through byte for byte, in its original order, with its original number
//! formatting and escapes.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::RecordError;
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
    let s =
        std::str::from_utf8(content).map_err(|e| RecordError::Utf8 { offset: e.valid_up_to() })?;
    match format {
        Format::Text => {
            if let Some(offset) = memchr::memchr(0, content) {
                return Err(RecordError::Binary { offset });
            }
            Ok(Parsed { text: Cow::Borrowed(s), id: None, text_value: None })
        }
        Format::Jsonl => parse_json(s, fields),
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
    // An id names a record: anything but a string with a value is named by
    // its JSON text.
    let id = id.map(|raw| {
        let v = raw.get();
        match json_string::value(v) {
            Some(Ok(s)) => s.into_owned(),
            _ => v.to_string(),
        }
    });
    Ok(Parsed { text, id, text_value: Some(at..at + value.len()) })
}

/// Replaces the text's JSON value in `content` with `new_text`, encoded.
pub fn splice_json(content: &[u8], text_value: Range<usize>, new_text: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&content[..text_value.start]);
    // Writing to a Vec cannot fail, and a &str always serializes.
    serde_json::to_writer(&mut *out, new_text).expect("a string serializes to a Vec");
    out.extend_from_slice(&content[text_value.end..]);
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

    #[test]
    fn custom_fields() {
        let f = Fields { text: "body".into(), id: "key".into() };
        let p = parse(Format::Jsonl, br#"{"key":"k","body":"b","text":1}"#, &f).unwrap();
        assert_eq!((p.text.as_ref(), p.id.as_deref()), ("b", Some("k")));
    }
}
