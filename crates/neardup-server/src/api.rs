//! The wire format: a request body into [`Rec`]s, outcomes into the
//! response body, and the JSON error every refusal carries.
//!
//! Parsing is by hand over serde_json's borrowed [`RawValue`]s rather than
//! one derived struct, so that an error names the record and the field
//! (`records[3].text is a number, expected a string`) and the record limit
//! is checked before any record is copied.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::backend::{Outcome, Reason, Rec, Status};

/// A request the service refuses, with the status it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// 400: the body is not what the API takes.
    BadRequest(String),
    /// 413: the body or its record count is over a limit.
    TooLarge(String),
}

#[derive(Deserialize)]
struct Top<'a> {
    #[serde(borrow, default)]
    records: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    text: Option<&'a RawValue>,
}

/// A field that is there, even as `null` (which `Option` would read as
/// absent): `null` is then named as the wrong type, not a missing field.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// The records of a `{"records": [{"id": .., "text": ..}, ..]}` body, in
/// order; at most `max_records` of them. Other fields are ignored.
pub(crate) fn parse_records(body: &[u8], max_records: usize) -> Result<Vec<Rec>, Refusal> {
    let text = std::str::from_utf8(body).map_err(|e| {
        Refusal::BadRequest(format!(
            "the body is not valid UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    if text.trim().is_empty() {
        return Err(Refusal::BadRequest(
            "the body is empty; expected {\"records\": [{\"id\": ..., \"text\": ...}]}".into(),
        ));
    }
    let whole: &RawValue = serde_json::from_str(text).map_err(|e| json_error("the body", &e))?;
    if !whole.get().starts_with('{') {
        return Err(Refusal::BadRequest(format!(
            "the body is {}, expected a JSON object {{\"records\": [...]}}",
            kind(whole)
        )));
    }
    let top: Top<'_> = serde_json::from_str(whole.get()).map_err(|e| json_error("the body", &e))?;
    let records = top.records.ok_or_else(|| {
        Refusal::BadRequest("missing field `records` (an array of {\"id\", \"text\"})".into())
    })?;
    let items: Vec<&RawValue> = serde_json::from_str(records.get()).map_err(|_| {
        Refusal::BadRequest(format!("`records` is {}, expected an array", kind(records)))
    })?;
    if items.len() > max_records {
        return Err(Refusal::TooLarge(format!(
            "{} records in one request, over the limit of {max_records} (--max-records)",
            items.len()
        )));
    }
    items.iter().enumerate().map(|(i, item)| record(i, item)).collect()
}

fn record(i: usize, item: &RawValue) -> Result<Rec, Refusal> {
    let bad = |what: String| Refusal::BadRequest(format!("records[{i}]{what}"));
    if !item.get().starts_with('{') {
        return Err(bad(format!(" is {}, expected an object with `id` and `text`", kind(item))));
    }
    let fields: Fields<'_> = serde_json::from_str(item.get()).map_err(|e| bad(format!(": {e}")))?;
    let string = |name: &str, v: Option<&RawValue>| -> Result<String, Refusal> {
        let v = v.ok_or_else(|| bad(format!(": missing field `{name}`")))?;
        if !v.get().starts_with('"') {
            return Err(bad(format!(".{name} is {}, expected a string", kind(v))));
        }
        serde_json::from_str(v.get()).map_err(|e| bad(format!(".{name}: {e}")))
    };
    Ok(Rec { id: string("id", fields.id)?, text: string("text", fields.text)? })
}

/// What a JSON value is, for messages.
fn kind(v: &RawValue) -> &'static str {
    match v.get().as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

fn json_error(what: &str, e: &serde_json::Error) -> Refusal {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            Refusal::BadRequest(format!("{what} is not valid JSON: {e}"))
        }
        Category::Data => {
            Refusal::BadRequest(format!("{what} must be a JSON object {{\"records\": [...]}}: {e}"))
        }
    }
}

/// One result of the response, in the issue's shape.
#[derive(serde::Serialize)]
pub(crate) struct Answer<'a> {
    id: &'a str,
    status: Status,
    reason: Option<Reason>,
    duplicate_of: Option<&'a str>,
    similarity: Option<f64>,
    added: bool,
}

/// The response body: `{"results": [...]}`, in request order.
#[derive(serde::Serialize)]
pub(crate) struct Results<'a> {
    results: Vec<Answer<'a>>,
}

impl<'a> Results<'a> {
    pub(crate) fn new(records: &'a [Rec], outcomes: &'a [Outcome]) -> Results<'a> {
        let results = records
            .iter()
            .zip(outcomes)
            .map(|(r, o)| Answer {
                id: &r.id,
                status: o.status,
                reason: o.reason,
                duplicate_of: o.duplicate_of.as_deref(),
                similarity: o.similarity,
                added: o.added,
            })
            .collect();
        Results { results }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bad(body: &str) -> String {
        match parse_records(body.as_bytes(), 10) {
            Err(Refusal::BadRequest(m)) => m,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn parses_records_in_order_ignoring_other_fields() {
        let body = br#"{"records": [{"id": "a", "text": "x\ny", "lang": "en"}, {"text": "z", "id": "b"}], "x": 1}"#;
        let recs = parse_records(body, 10).unwrap();
        assert_eq!(
            recs,
            [Rec { id: "a".into(), text: "x\ny".into() }, Rec { id: "b".into(), text: "z".into() }]
        );
    }

    #[test]
    fn names_what_is_wrong() {
        assert!(bad("").contains("empty"));
        assert!(bad("{\"records\": [").contains("not valid JSON"), "{}", bad("{\"records\": ["));
        assert_eq!(
            bad(" [1]"),
            "the body is an array, expected a JSON object {\"records\": [...]}"
        );
        assert!(bad("{}").contains("missing field `records`"));
        assert_eq!(bad(r#"{"records": 3}"#), "`records` is a number, expected an array");
        assert_eq!(
            bad(r#"{"records": [{"id": "a", "text": "t"}, "s"]}"#),
            "records[1] is a string, expected an object with `id` and `text`"
        );
        assert_eq!(bad(r#"{"records": [{"id": "a"}]}"#), "records[0]: missing field `text`");
        assert_eq!(bad(r#"{"records": [{"text": "a"}]}"#), "records[0]: missing field `id`");
        assert_eq!(
            bad(r#"{"records": [{"id": 7, "text": "a"}]}"#),
            "records[0].id is a number, expected a string"
        );
        assert_eq!(
            bad(r#"{"records": [{"id": "a", "text": null}]}"#),
            "records[0].text is null, expected a string"
        );
        assert!(bad(r#"{"records": [{"id": "a", "text": "\ud800"}]}"#).starts_with("records[0]"));
    }

    #[test]
    fn invalid_utf8_names_the_offset() {
        let mut body = br#"{"records": [{"id": "a", "text": ""#.to_vec();
        let at = body.len();
        body.extend_from_slice(b"\xff\"}]}");
        match parse_records(&body, 10) {
            Err(Refusal::BadRequest(m)) => assert!(m.contains(&format!("offset {at}")), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn record_limit_is_413() {
        let body = r#"{"records": [{"id": "a", "text": "t"}, {"id": "b", "text": "t"}]}"#;
        assert!(matches!(parse_records(body.as_bytes(), 1), Err(Refusal::TooLarge(_))));
        assert_eq!(parse_records(body.as_bytes(), 2).unwrap().len(), 2);
    }

    proptest! {
        /// Any records survive a round trip through the wire format.
        #[test]
        fn round_trip(recs in proptest::collection::vec((".*", ".*"), 0..8)) {
            let json = serde_json::json!({
                "records": recs.iter().map(|(id, text)| serde_json::json!({"id": id, "text": text})).collect::<Vec<_>>()
            });
            let parsed = parse_records(json.to_string().as_bytes(), 8).unwrap();
            let back: Vec<(String, String)> = parsed.into_iter().map(|r| (r.id, r.text)).collect();
            prop_assert_eq!(back, recs);
        }

        /// Arbitrary bytes are parsed or refused with 400, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..64)) {
            match parse_records(&body, 4) {
                Ok(_) | Err(Refusal::BadRequest(_)) | Err(Refusal::TooLarge(_)) => {}
            }
        }
    }
}
