//! The JSONL record parser on arbitrary bytes: never panics; a parsed
//! record's text splices back into a line that parses to the same text and
//! id, and splicing another string gives that string.
#![no_main]

use libfuzzer_sys::fuzz_target;
use neardup_io::record::{parse, splice_json};
use neardup_io::{Fields, Format};

fuzz_target!(|data: &[u8]| {
    let fields = Fields::default();
    let Ok(p) = parse(Format::Jsonl, data, &fields) else { return };
    let range = p.text_value.clone().expect("JSONL records know where their text is");
    let mut out = Vec::new();
    splice_json(data, range.clone(), &p.text, &mut out);
    let again = parse(Format::Jsonl, &out, &fields).expect("splicing the same text keeps the record valid");
    assert_eq!(again.text, p.text);
    assert_eq!(again.id, p.id);
    let other = "spliced \"text\"\n\u{2014} é";
    out.clear();
    splice_json(data, range, other, &mut out);
    let spliced = parse(Format::Jsonl, &out, &fields).expect("splicing another string keeps the record valid");
    assert_eq!(spliced.text, other);
    assert_eq!(spliced.id, p.id);
});
