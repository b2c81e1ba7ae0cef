//! The ledger as an Arrow table, and a sink writing it as Parquet.
//!
//! One row per input record, the columns of the JSONL ledger:
//!
//! | column | type | |
//! |---|---|---|
//! | `id` | utf8 | |
//! | `source` | utf8 | the input (absent in the Python result) |
//! | `line` | int64 | 1-based line, or for Parquet and Arrow the 0-based row + 1 (absent in the Python result) |
//! | `status` | utf8 | `kept`, `modified`, `removed`, `rejected` |
//! | `reason` | utf8? | `exact`, `near`, `repeat`, `substring`, `repetition` |
//! | `duplicate_of` | utf8? | the id of the record kept in its place |
//! | `similarity` | float32? | |
//! | `spans` | list<struct<offset: int64, length: int64>> | byte ranges cut from the text |
//! | `first` | list<struct<id: utf8, offset: int64>> | where each span's earlier copy is |
//! | `error` | utf8? | what was wrong (rejected), the threshold exceeded (repetition) |
//!
//! A Parquet ledger carries the JSONL header in its key-value metadata
//! (`neardup_ledger`, `version`, `fingerprint`, `settings`).

use std::sync::Arc;

use arrow_array::builder::{
    Float32Builder, Int64Builder, ListBuilder, StringBuilder, StructBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use neardup_core::ledger::{Entry, Header};
use neardup_core::sink::{Emitted, Sink};
use neardup_core::Summary;
use neardup_io::AtomicFile;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

fn span_fields() -> Fields {
    Fields::from(vec![
        Field::new("offset", DataType::Int64, false),
        Field::new("length", DataType::Int64, false),
    ])
}

fn first_fields() -> Fields {
    Fields::from(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("offset", DataType::Int64, false),
    ])
}

/// The ledger's schema; `with_location` adds `source` and `line`.
pub fn schema(with_location: bool) -> SchemaRef {
    let mut f = vec![Field::new("id", DataType::Utf8, false)];
    if with_location {
        f.push(Field::new("source", DataType::Utf8, false));
        f.push(Field::new("line", DataType::Int64, false));
    }
    f.extend([
        Field::new("status", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, true),
        Field::new("duplicate_of", DataType::Utf8, true),
        Field::new("similarity", DataType::Float32, true),
        Field::new(
            "spans",
            DataType::List(Arc::new(Field::new("item", DataType::Struct(span_fields()), true))),
            false,
        ),
        Field::new(
            "first",
            DataType::List(Arc::new(Field::new("item", DataType::Struct(first_fields()), true))),
            false,
        ),
        Field::new("error", DataType::Utf8, true),
    ]);
    Arc::new(Schema::new(f))
}

/// Lower-case name of a serde enum value (`Status::Kept` → `kept`).
fn name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Accumulates ledger entries into Arrow columns.
pub struct LedgerBuilder {
    with_location: bool,
    id: StringBuilder,
    source: StringBuilder,
    line: Int64Builder,
    status: StringBuilder,
    reason: StringBuilder,
    duplicate_of: StringBuilder,
    similarity: Float32Builder,
    spans: ListBuilder<StructBuilder>,
    first: ListBuilder<StructBuilder>,
    error: StringBuilder,
    rows: usize,
}

impl LedgerBuilder {
    /// An empty ledger; `with_location` keeps `source` and `line`.
    pub fn new(with_location: bool) -> LedgerBuilder {
        let spans = ListBuilder::new(StructBuilder::from_fields(span_fields(), 0));
        let first = ListBuilder::new(StructBuilder::from_fields(first_fields(), 0));
        LedgerBuilder {
            with_location,
            id: StringBuilder::new(),
            source: StringBuilder::new(),
            line: Int64Builder::new(),
            status: StringBuilder::new(),
            reason: StringBuilder::new(),
            duplicate_of: StringBuilder::new(),
            similarity: Float32Builder::new(),
            spans,
            first,
            error: StringBuilder::new(),
            rows: 0,
        }
    }

    /// Rows added since the last [`LedgerBuilder::finish`].
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row is pending.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Adds one entry.
    pub fn push(&mut self, e: &Entry) {
        self.rows += 1;
        self.id.append_value(&e.id);
        if self.with_location {
            self.source.append_value(&e.source);
            self.line.append_value(i64::try_from(e.line).unwrap_or(i64::MAX));
        }
        self.status.append_value(name(&e.status));
        self.reason.append_option(e.reason.as_ref().map(name));
        self.duplicate_of.append_option(e.duplicate_of.as_deref());
        self.similarity.append_option(e.similarity);
        let s = self.spans.values();
        for [offset, len] in &e.spans {
            int(s, 0).append_value(*offset as i64);
            int(s, 1).append_value(*len as i64);
            s.append(true);
        }
        self.spans.append(true);
        let f = self.first.values();
        for (id, offset) in &e.first {
            f.field_builder::<StringBuilder>(0).expect("field 0 is utf8").append_value(id);
            int(f, 1).append_value(*offset as i64);
            f.append(true);
        }
        self.first.append(true);
        self.error.append_option(e.error.as_deref());
    }

    /// The rows added so far, as a batch; the builder starts afresh.
    pub fn finish(&mut self) -> RecordBatch {
        self.rows = 0;
        let mut cols: Vec<ArrayRef> = vec![Arc::new(self.id.finish())];
        if self.with_location {
            cols.push(Arc::new(self.source.finish()));
            cols.push(Arc::new(self.line.finish()));
        }
        cols.extend([
            Arc::new(self.status.finish()) as ArrayRef,
            Arc::new(self.reason.finish()),
            Arc::new(self.duplicate_of.finish()),
            Arc::new(self.similarity.finish()),
            Arc::new(self.spans.finish()),
            Arc::new(self.first.finish()),
            Arc::new(self.error.finish()),
        ]);
        RecordBatch::try_new(schema(self.with_location), cols)
            .expect("the builders follow the ledger schema")
    }
}

fn int(s: &mut StructBuilder, i: usize) -> &mut Int64Builder {
    s.field_builder::<Int64Builder>(i).expect("span fields are int64")
}

/// Rows buffered before a batch is written.
const FLUSH_ROWS: usize = 64 * 1024;

/// Writes the ledger as Parquet (zstd), atomically, with the header in the
/// key-value metadata.
pub struct ParquetLedgerSink {
    builder: LedgerBuilder,
    writer: ArrowWriter<AtomicFile>,
    path: String,
}

impl ParquetLedgerSink {
    /// Starts the ledger.
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn new(file: AtomicFile, path: &str, header: &Header) -> crate::Result<ParquetLedgerSink> {
        let kv = vec![
            KeyValue::new("neardup_ledger".to_string(), header.neardup_ledger.to_string()),
            KeyValue::new("version".to_string(), header.version.clone()),
            KeyValue::new("fingerprint".to_string(), header.fingerprint.clone()),
            KeyValue::new("settings".to_string(), header.settings.to_string()),
        ];
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_key_value_metadata(Some(kv))
            .build();
        let writer = ArrowWriter::try_new(file, schema(true), Some(props))
            .map_err(|e| parquet_error(path, e))?;
        Ok(ParquetLedgerSink { builder: LedgerBuilder::new(true), writer, path: path.to_string() })
    }

    fn flush(&mut self) -> neardup_core::Result<()> {
        let batch = self.builder.finish();
        self.writer.write(&batch).map_err(|e| io_error(&self.path, e))
    }
}

impl Sink for ParquetLedgerSink {
    fn record(&mut self, r: &Emitted<'_>) -> neardup_core::Result<()> {
        self.builder.push(r.entry);
        if self.builder.len() >= FLUSH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn commit(mut self: Box<Self>, _: &mut Summary) -> neardup_core::Result<()> {
        self.flush()?;
        let path = self.path.clone();
        let file = self.writer.into_inner().map_err(|e| io_error(&path, e))?;
        Ok(file.commit()?)
    }
}

pub(crate) fn parquet_error(path: &str, e: parquet::errors::ParquetError) -> crate::Error {
    crate::Error::Parquet { path: path.to_string(), message: e.to_string() }
}

fn io_error(path: &str, e: parquet::errors::ParquetError) -> neardup_core::Error {
    std::io::Error::other(format!("{path}: {e}")).into()
}
