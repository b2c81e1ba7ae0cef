//! Errors that stop a run.

use neardup_io::Located;

/// Why a run could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A bad record, with [`crate::OnError::Fail`] (the default).
    #[error("{0}")]
    BadRecord(Box<Located>),
    /// Reading inputs or writing outputs failed.
    #[error(transparent)]
    Io(#[from] neardup_io::Error),
    /// Settings that cannot work together, or a bad value.
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingError),
    /// More records than one run can index.
    #[error("more than {limit} records in one run: split the input into batches")]
    TooManyRecords {
        /// The most records a run holds.
        limit: u64,
    },
    /// Near-duplicate settings that cannot work, or a failure of its
    /// temporary files.
    #[error("near duplicates: {0}")]
    Near(String),
    /// The repeated-substring stage failed (its temporary files, mostly).
    #[error("repeated substrings: {0}")]
    Substrings(Box<neardup_suffix::Error>),
    /// The index of earlier batches ([`crate::History`]) failed: its
    /// error, which names the index.
    #[error("{0}")]
    History(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// A broken invariant: a bug, reported rather than hidden.
    #[error("internal error: {0}")]
    Internal(String),
    /// An input changed between the two passes over it.
    #[error("{source_name}: input changed while neardup was reading it (record {record})")]
    Changed {
        /// The input.
        source_name: String,
        /// The record index where it differed.
        record: u64,
    },
    /// The accounting did not balance: a bug, reported rather than hidden.
    #[error("ledger does not balance: read {read} != kept {kept} + modified {modified} + removed {removed} + rejected {rejected}")]
    Unbalanced {
        /// Records read.
        read: u64,
        /// Kept.
        kept: u64,
        /// Modified.
        modified: u64,
        /// Removed.
        removed: u64,
        /// Rejected.
        rejected: u64,
    },
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Io(neardup_io::Error::Io(e))
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
