//! Errors that name the file, the line and what was wrong.

use std::path::PathBuf;

/// Something wrong with one record: it is rejected (or, by default, the run
/// stops) with this message. Displayed without the location, which the
/// ledger and [`crate::Located`] carry separately.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The line is not valid JSON.
    #[error("invalid JSON at column {column}: {message}")]
    Json {
        /// 1-based column within the line.
        column: usize,
        /// serde_json's description.
        message: String,
    },
    /// The line is JSON but not an object.
    #[error("expected a JSON object, found {found}")]
    NotObject {
        /// What was found instead.
        found: &'static str,
    },
    /// The text field is absent.
    #[error("missing field `{field}`")]
    MissingField {
        /// The field's name.
        field: String,
    },
    /// A field has the wrong type.
    #[error("field `{field}` is {found}, expected {expected}")]
    WrongType {
        /// The field's name.
        field: String,
        /// What it holds.
        found: &'static str,
        /// What it should hold.
        expected: &'static str,
    },
    /// A string field's escapes have no text (half a surrogate pair).
    #[error("field `{field}` has an invalid escape at column {column}: {what}")]
    BadEscape {
        /// The field's name.
        field: String,
        /// 1-based column of the escape within the line.
        column: usize,
        /// What is wrong with it.
        what: String,
    },
    /// A field appears twice in one object.
    #[error("field `{field}` appears twice")]
    DuplicateField {
        /// The field's name.
        field: String,
    },
    /// Not UTF-8.
    #[error("invalid UTF-8 at byte {offset} of the record")]
    Utf8 {
        /// Byte offset of the first invalid byte within the record.
        offset: usize,
    },
    /// A NUL byte in a text record: binary data.
    #[error("binary data (NUL byte at byte {offset} of the record)")]
    Binary {
        /// Byte offset of the NUL.
        offset: usize,
    },
    /// The record is larger than the limit.
    #[error("record is {size} bytes, over the limit of {limit} bytes (`--max-record-bytes`)")]
    TooLarge {
        /// Its size in bytes (at least; reading stopped at the next newline).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The file holds no records.
    #[error("file is empty")]
    Empty,
    /// Reading stopped: I/O or decompression failed part way.
    #[error("could not read the rest of the file: {message}")]
    Read {
        /// What the reader said (e.g. an unexpected end of a gzip stream).
        message: String,
    },
}

/// A [`RecordError`] with where it happened: `corpus.jsonl:1042: ...`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}:{line}: {error}")]
pub struct Located {
    /// The input's display name (its path, or `<stdin>`).
    pub source_name: String,
    /// 1-based line (0 for errors about a whole file).
    pub line: u64,
    /// What was wrong.
    pub error: RecordError,
}

/// Errors that stop a run: inputs that cannot be found or opened, outputs
/// that cannot be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error; fs-err's message names the path.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// An input path does not exist.
    #[error("input `{}` does not exist", path.display())]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// An output path clashes with the inputs or with itself.
    #[error("output `{}`: {message}", path.display())]
    Output {
        /// The output path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
