//! The text and id columns of a record batch.
//!
//! Text may be `Utf8`, `LargeUtf8` or `Utf8View` (Spark sends `Utf8`,
//! polars `Utf8View`, pandas through pyarrow `Utf8` or `LargeUtf8`). A
//! missing column, a column of another type or a null is a bad record,
//! with the same words as a JSONL record with the same problem.

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use neardup_io::RecordError;

/// A string column of any of Arrow's three layouts.
#[derive(Clone, Debug)]
pub enum TextColumn {
    /// 32-bit offsets.
    Utf8(arrow_array::StringArray),
    /// 64-bit offsets.
    Large(arrow_array::LargeStringArray),
    /// Views.
    View(arrow_array::StringViewArray),
}

impl TextColumn {
    /// The column named `name` of `batch`, or why it cannot hold text
    /// (the error every row of the batch gets).
    pub fn of(batch: &RecordBatch, name: &str) -> Result<TextColumn, RecordError> {
        let Some(col) = batch.column_by_name(name) else {
            return Err(RecordError::MissingField { field: name.to_string() });
        };
        TextColumn::from_array(col).ok_or_else(|| RecordError::WrongType {
            field: name.to_string(),
            found: kind(col.data_type()),
            expected: "a string",
        })
    }

    /// A string array as a text column; `None` for other types.
    pub fn from_array(col: &ArrayRef) -> Option<TextColumn> {
        Some(match col.data_type() {
            DataType::Utf8 => TextColumn::Utf8(col.as_string::<i32>().clone()),
            DataType::LargeUtf8 => TextColumn::Large(col.as_string::<i64>().clone()),
            DataType::Utf8View => TextColumn::View(col.as_string_view().clone()),
            _ => return None,
        })
    }

    /// Rows.
    pub fn len(&self) -> usize {
        match self {
            TextColumn::Utf8(a) => a.len(),
            TextColumn::Large(a) => a.len(),
            TextColumn::View(a) => a.len(),
        }
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i`'s text; `None` for a null.
    pub fn get(&self, i: usize) -> Option<&str> {
        match self {
            TextColumn::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            TextColumn::Large(a) => a.is_valid(i).then(|| a.value(i)),
            TextColumn::View(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }

    /// Row `i`'s text, or the error of a null.
    pub fn text(&self, i: usize, name: &str) -> Result<&str, RecordError> {
        self.get(i).ok_or_else(|| RecordError::WrongType {
            field: name.to_string(),
            found: "null",
            expected: "a string",
        })
    }

    /// A column of the same type holding `texts`.
    pub fn build<'a>(&self, texts: impl Iterator<Item = &'a str>) -> ArrayRef {
        match self {
            TextColumn::Utf8(_) => {
                std::sync::Arc::new(texts.map(Some).collect::<arrow_array::StringArray>())
            }
            TextColumn::Large(_) => {
                std::sync::Arc::new(texts.map(Some).collect::<arrow_array::LargeStringArray>())
            }
            TextColumn::View(_) => {
                std::sync::Arc::new(texts.map(Some).collect::<arrow_array::StringViewArray>())
            }
        }
    }
}

/// The id column, if the batch has one: strings as they are, numbers as
/// their decimal text; a null id falls back to the default.
#[derive(Clone, Debug)]
pub struct IdColumn {
    col: ArrayRef,
}

impl IdColumn {
    /// The column named `name`, if present.
    pub fn of(batch: &RecordBatch, name: &str) -> Option<IdColumn> {
        batch.column_by_name(name).map(|col| IdColumn { col: col.clone() })
    }

    /// Row `i`'s id, if it has one.
    pub fn get(&self, i: usize) -> Option<String> {
        if self.col.is_null(i) {
            return None;
        }
        if let Some(t) = TextColumn::from_array(&self.col) {
            return t.get(i).map(str::to_string);
        }
        number(&self.col, i)
    }
}

/// Row `i` of a number or boolean column, as decimal text.
fn number(a: &ArrayRef, i: usize) -> Option<String> {
    use arrow_array::types::*;
    Some(match a.data_type() {
        DataType::Int8 => a.as_primitive::<Int8Type>().value(i).to_string(),
        DataType::Int16 => a.as_primitive::<Int16Type>().value(i).to_string(),
        DataType::Int32 => a.as_primitive::<Int32Type>().value(i).to_string(),
        DataType::Int64 => a.as_primitive::<Int64Type>().value(i).to_string(),
        DataType::UInt8 => a.as_primitive::<UInt8Type>().value(i).to_string(),
        DataType::UInt16 => a.as_primitive::<UInt16Type>().value(i).to_string(),
        DataType::UInt32 => a.as_primitive::<UInt32Type>().value(i).to_string(),
        DataType::UInt64 => a.as_primitive::<UInt64Type>().value(i).to_string(),
        DataType::Float32 => a.as_primitive::<Float32Type>().value(i).to_string(),
        DataType::Float64 => a.as_primitive::<Float64Type>().value(i).to_string(),
        DataType::Boolean => a.as_boolean().value(i).to_string(),
        _ => return None,
    })
}

/// How a column's type reads in a message ("field `text` is a number").
pub fn kind(t: &DataType) -> &'static str {
    match t {
        DataType::Null => "null",
        DataType::Boolean => "a boolean",
        t if t.is_numeric() => "a number",
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => "binary",
        DataType::List(_)
        | DataType::LargeList(_)
        | DataType::FixedSizeList(..)
        | DataType::ListView(_)
        | DataType::LargeListView(_) => "a list",
        DataType::Struct(_) => "a struct",
        DataType::Map(..) => "a map",
        DataType::Dictionary(..) => "dictionary-encoded (cast it to a string column)",
        t if t.is_temporal() => "a date or time",
        _ => "not a string",
    }
}
