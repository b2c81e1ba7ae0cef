//! Errors that stop an Arrow or Parquet run, naming file, row and column.

use neardup_io::RecordError;

/// Why an Arrow or Parquet run could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A bad row, with `--on-error fail` (the default): `a.parquet: row 3:
    /// …`, or `row 3: …` for an unnamed source (a table in memory).
    #[error("{}row {row}: {error}", prefix(source_name))]
    BadRow {
        /// The input's name.
        source_name: String,
        /// 0-based row.
        row: u64,
        /// What was wrong.
        error: RecordError,
    },
    /// A file that is not Parquet, truncated or corrupt.
    #[error("{path}: {message}")]
    Parquet {
        /// The file.
        path: String,
        /// What the reader or writer said.
        message: String,
    },
    /// Inputs, outputs or settings that cannot work.
    #[error("{0}")]
    Usage(String),
    /// The deduplication itself (settings, temp files).
    #[error(transparent)]
    Core(#[from] neardup_core::Error),
    /// Arrow arrays that do not fit together.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

impl From<neardup_io::Error> for Error {
    fn from(e: neardup_io::Error) -> Error {
        Error::Core(neardup_core::Error::Io(e))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Core(e.into())
    }
}

impl From<neardup_core::SettingError> for Error {
    fn from(e: neardup_core::SettingError) -> Error {
        Error::Core(e.into())
    }
}

fn prefix(name: &str) -> String {
    if name.is_empty() {
        String::new()
    } else {
        format!("{name}: ")
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
