//! Parquet inputs, outputs and ledgers: schema and every other column
//! pass through, the same decisions as the JSONL of the same records, bad
//! files and bad rows named.

use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{
    Array, ArrayRef, Int64Array, LargeStringArray, RecordBatch, StringArray, StringViewArray,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::{files, ledger, neardup};

const PARA: &str = "This paragraph is long enough to count as a repeated passage, well over the hundred character minimum.";

/// Records with exact, typographic, near and in-record duplicates:
/// `(id, text)`.
fn records() -> Vec<(String, Option<String>)> {
    let base = "the quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat by the door and the bird sings";
    let near = base.replace("bird sings", "bird sang");
    let v = [
        ("a", base.to_string()),
        ("b", "He said \"yes\" -- and left the room.".to_string()),
        ("c", "He said \u{201C}yes\u{201D} \u{2014} and left the room.".to_string()),
        ("d", near),
        ("e", format!("{PARA}\n{PARA}")),
        ("f", "Something else entirely, with words of its own.".to_string()),
        ("g", base.to_string()),
    ];
    v.into_iter().map(|(i, t)| (i.to_string(), Some(t))).collect()
}

fn write_parquet(path: &Path, batch: &RecordBatch, compression: Compression) {
    let props = WriterProperties::builder().set_compression(compression).build();
    let file = fs_err::File::create(path).unwrap().into_parts().0;
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

fn read_parquet(path: &Path) -> (RecordBatch, Compression) {
    let file = fs_err::File::open(path).unwrap().into_parts().0;
    let b = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let comp = b.metadata().row_groups().first().map(|rg| rg.column(0).compression());
    let schema = b.schema().clone();
    let batches: Vec<RecordBatch> = b.build().unwrap().map(|b| b.unwrap()).collect();
    let batch = arrow_select_concat(&schema, &batches);
    (batch, comp.unwrap_or(Compression::UNCOMPRESSED))
}

fn arrow_select_concat(schema: &Arc<Schema>, batches: &[RecordBatch]) -> RecordBatch {
    if batches.is_empty() {
        return RecordBatch::new_empty(schema.clone());
    }
    let cols = (0..schema.fields().len())
        .map(|c| {
            let arrays: Vec<&dyn Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
            arrow_select::concat::concat(&arrays).unwrap()
        })
        .collect();
    RecordBatch::try_new(schema.clone(), cols).unwrap()
}

/// A table of `records` with a pass-through int column `n` (null on odd
/// rows) and the text as `text_type`.
fn table(records: &[(String, Option<String>)], text_type: &DataType) -> RecordBatch {
    let texts: Vec<Option<&str>> = records.iter().map(|(_, t)| t.as_deref()).collect();
    let text: ArrayRef = match text_type {
        DataType::Utf8 => Arc::new(StringArray::from(texts)),
        DataType::LargeUtf8 => Arc::new(LargeStringArray::from(texts)),
        _ => Arc::new(StringViewArray::from(texts)),
    };
    let n: Int64Array = (0..records.len() as i64).map(|i| (i % 2 == 0).then_some(i * 10)).collect();
    let schema = Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("n", DataType::Int64, true),
        Field::new("text", text_type.clone(), true),
    ])
    .with_metadata(std::collections::HashMap::from([("origin".to_string(), "test".to_string())]));
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(StringArray::from_iter_values(records.iter().map(|(i, _)| i.as_str()))),
            Arc::new(n),
            text,
        ],
    )
    .unwrap()
}

fn jsonl(records: &[(String, Option<String>)]) -> String {
    records
        .iter()
        .map(|(i, t)| serde_json::json!({"id": i, "text": t}).to_string() + "\n")
        .collect()
}

fn text_of(b: &RecordBatch, col: &str, i: usize) -> String {
    let c = b.column_by_name(col).unwrap();
    match c.data_type() {
        DataType::Utf8 => c.as_string::<i32>().value(i).to_string(),
        DataType::LargeUtf8 => c.as_string::<i64>().value(i).to_string(),
        _ => c.as_string_view().value(i).to_string(),
    }
}

#[test]
fn parquet_round_trip_keeps_schema_and_columns_and_decides_as_jsonl() {
    for text_type in [DataType::Utf8, DataType::LargeUtf8, DataType::Utf8View] {
        let dir = tempfile::tempdir().unwrap();
        let recs = records();
        let input = table(&recs, &text_type);
        write_parquet(&dir.path().join("a.parquet"), &input, Compression::SNAPPY);
        files(dir.path(), &[("a.jsonl", jsonl(&recs).as_bytes())]);
        let run = neardup(
            dir.path(),
            &["dedup", "a.parquet", "-o", "out.parquet", "--ledger", "l.jsonl", "--json"],
            None,
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let summary: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        let run = neardup(
            dir.path(),
            &["dedup", "a.jsonl", "-o", "out.jsonl", "--ledger", "j.jsonl", "--json"],
            None,
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let jsummary: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        for k in
            ["read", "kept", "modified", "removed", "removed_exact", "removed_near", "spans_cut"]
        {
            assert_eq!(summary[k], jsummary[k], "{k}");
        }

        // The same decisions, field by field.
        let (_, pq) = ledger(&dir.path().join("l.jsonl"));
        let (_, js) = ledger(&dir.path().join("j.jsonl"));
        assert_eq!(pq.len(), recs.len());
        for (p, j) in pq.iter().zip(&js) {
            for k in ["id", "status", "reason", "duplicate_of", "similarity", "spans", "first"] {
                assert_eq!(p[k], j[k], "{k} of {}", p["id"]);
            }
        }
        let status: Vec<&str> = pq.iter().map(|e| e["status"].as_str().unwrap()).collect();
        assert_eq!(status, ["kept", "kept", "removed", "removed", "modified", "kept", "removed"]);
        assert_eq!(pq[2]["reason"], "exact");
        assert_eq!(pq[3]["reason"], "near");
        assert_eq!(pq[3]["duplicate_of"], "a");
        assert_eq!(pq[6]["duplicate_of"], "a");

        // Schema (metadata too), pass-through columns, the cut text, and
        // the input's compression.
        let (out, comp) = read_parquet(&dir.path().join("out.parquet"));
        assert_eq!(out.schema().fields(), input.schema().fields(), "{text_type}");
        assert_eq!(out.schema().metadata().get("origin").map(String::as_str), Some("test"));
        assert_eq!(comp, Compression::SNAPPY);
        let ids: Vec<String> = (0..out.num_rows()).map(|i| text_of(&out, "id", i)).collect();
        assert_eq!(ids, ["a", "b", "e", "f"]);
        let n = out.column_by_name("n").unwrap().as_primitive::<Int64Type>();
        assert_eq!(n.iter().collect::<Vec<_>>(), [Some(0), None, Some(40), None]);
        assert_eq!(text_of(&out, "text", 2), format!("{PARA}\n"));
        assert_eq!(text_of(&out, "text", 0), recs[0].1.clone().unwrap());
    }
}

#[test]
fn parquet_ledger_is_a_table_with_the_header_in_its_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let recs = records();
    write_parquet(
        &dir.path().join("a.parquet"),
        &table(&recs, &DataType::Utf8),
        Compression::UNCOMPRESSED,
    );
    files(dir.path(), &[("a.jsonl", jsonl(&recs).as_bytes())]);
    for input in ["a.parquet", "a.jsonl"] {
        let run = neardup(
            dir.path(),
            &["dedup", input, "-o", "out", "--ledger", "l.parquet", "-q"],
            None,
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let file = fs_err::File::open(dir.path().join("l.parquet")).unwrap().into_parts().0;
        let b = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let kv = b.metadata().file_metadata().key_value_metadata().unwrap().clone();
        assert!(kv
            .iter()
            .any(|k| k.key == "fingerprint" && k.value.as_deref().unwrap().starts_with("v1-")));
        let (l, _) = read_parquet(&dir.path().join("l.parquet"));
        let schema = l.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            [
                "id",
                "source",
                "line",
                "status",
                "reason",
                "duplicate_of",
                "similarity",
                "spans",
                "first",
                "error"
            ]
        );
        assert_eq!(l.num_rows(), recs.len());
        assert_eq!(text_of(&l, "status", 4), "modified");
        assert_eq!(text_of(&l, "duplicate_of", 2), "b");
        let spans = l.column_by_name("spans").unwrap().as_list::<i32>().value(4);
        let offs = spans.as_struct().column(0).as_primitive::<Int64Type>().value(0);
        assert_eq!(offs as usize, PARA.len() + 1, "{input}");
    }
}

#[test]
fn default_ids_are_source_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let b = RecordBatch::try_from_iter([(
        "text",
        Arc::new(StringArray::from(vec!["one two", "three", "one two"])) as ArrayRef,
    )])
    .unwrap();
    write_parquet(&dir.path().join("a.parquet"), &b, Compression::UNCOMPRESSED);
    let run = neardup(
        dir.path(),
        &["dedup", "a.parquet", "-o", "o.parquet", "--ledger", "l.jsonl"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (_, e) = ledger(&dir.path().join("l.jsonl"));
    assert_eq!(e[2]["id"], "a.parquet#2");
    assert_eq!(e[2]["duplicate_of"], "a.parquet#0");
    let (out, comp) = read_parquet(&dir.path().join("o.parquet"));
    assert_eq!(out.num_rows(), 2);
    assert_eq!(comp, Compression::UNCOMPRESSED);
}

#[test]
fn null_texts_stop_the_run_or_are_rejected_with_skip() {
    let dir = tempfile::tempdir().unwrap();
    let mut recs = records();
    recs[3].1 = None;
    write_parquet(
        &dir.path().join("a.parquet"),
        &table(&recs, &DataType::Utf8),
        Compression::UNCOMPRESSED,
    );
    let run = neardup(dir.path(), &["dedup", "a.parquet", "-o", "o.parquet"], None);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("a.parquet: row 3: field `text` is null, expected a string"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--on-error skip"), "{}", run.stderr);
    assert!(!dir.path().join("o.parquet").exists());
    let run = neardup(
        dir.path(),
        &["dedup", "a.parquet", "-o", "o.parquet", "--on-error", "skip", "--ledger", "l.jsonl"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (_, e) = ledger(&dir.path().join("l.jsonl"));
    assert_eq!(e[3]["status"], "rejected");
    assert_eq!(e[3]["error"], "field `text` is null, expected a string");
}

#[test]
fn missing_or_non_string_text_columns_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let b = RecordBatch::try_from_iter([
        ("body", Arc::new(StringArray::from(vec!["x"])) as ArrayRef),
        ("text", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
    ])
    .unwrap();
    write_parquet(&dir.path().join("a.parquet"), &b, Compression::UNCOMPRESSED);
    let run = neardup(dir.path(), &["dedup", "a.parquet", "-o", "o.parquet"], None);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("a.parquet: row 0: field `text` is a number, expected a string"),
        "{}",
        run.stderr
    );
    let run = neardup(
        dir.path(),
        &["dedup", "a.parquet", "-o", "o.parquet", "--text-field", "nope"],
        None,
    );
    assert!(run.stderr.contains("a.parquet: row 0: missing field `nope`"), "{}", run.stderr);
    let run = neardup(
        dir.path(),
        &["dedup", "a.parquet", "-o", "o.parquet", "--text-field", "body"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn truncated_and_foreign_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    write_parquet(
        &dir.path().join("a.parquet"),
        &table(&records(), &DataType::Utf8),
        Compression::SNAPPY,
    );
    let bytes = fs_err::read(dir.path().join("a.parquet")).unwrap();
    files(
        dir.path(),
        &[
            ("cut.parquet", &bytes[..bytes.len() / 2]),
            ("text.parquet", b"{\"text\":\"not parquet\"}\n"),
        ],
    );
    for name in ["cut.parquet", "text.parquet"] {
        let run = neardup(dir.path(), &["dedup", name, "-o", "o.parquet"], None);
        assert_eq!(run.code, 2, "{name}");
        assert!(
            run.stderr.contains(&format!("{name}: not a readable Parquet file")),
            "{}",
            run.stderr
        );
        assert!(!dir.path().join("o.parquet").exists());
    }
}

#[test]
fn parquet_and_jsonl_do_not_mix() {
    let dir = tempfile::tempdir().unwrap();
    write_parquet(
        &dir.path().join("a.parquet"),
        &table(&records(), &DataType::Utf8),
        Compression::SNAPPY,
    );
    files(dir.path(), &[("b.jsonl", b"{\"text\":\"x\"}\n")]);
    let run = neardup(dir.path(), &["dedup", "a.parquet", "b.jsonl", "-o", "out"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot be mixed"), "{}", run.stderr);
}

#[test]
fn several_parquet_files_into_one_or_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let recs = records();
    write_parquet(
        &dir.path().join("in/a.parquet").tap_dir(),
        &table(&recs[..4], &DataType::Utf8),
        Compression::SNAPPY,
    );
    write_parquet(
        &dir.path().join("in/b.parquet"),
        &table(&recs[4..], &DataType::Utf8),
        Compression::SNAPPY,
    );
    let run = neardup(dir.path(), &["dedup", "in", "-o", "outdir", "--ledger", "l.jsonl"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (a, _) = read_parquet(&dir.path().join("outdir/a.parquet"));
    let (b, _) = read_parquet(&dir.path().join("outdir/b.parquet"));
    assert_eq!((a.num_rows(), b.num_rows()), (2, 2));
    let (_, e) = ledger(&dir.path().join("l.jsonl"));
    assert_eq!(e[6]["duplicate_of"], "a", "across files");
    let run =
        neardup(dir.path(), &["dedup", "in/a.parquet", "in/b.parquet", "-o", "one.parquet"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(dir.path().join("one.parquet").is_dir(), "several inputs mirror into a directory");
}

trait TapDir {
    fn tap_dir(self) -> Self;
}

impl TapDir for std::path::PathBuf {
    fn tap_dir(self) -> Self {
        fs_err::create_dir_all(self.parent().unwrap()).unwrap();
        self
    }
}
