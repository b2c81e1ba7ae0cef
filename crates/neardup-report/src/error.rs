//! What can stop a report.

use std::path::PathBuf;

/// Why a report could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading an input or writing the report failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// An input could not be found or opened.
    #[error(transparent)]
    Input(#[from] neardup_io::Error),
    /// A ledger line is not what a ledger holds.
    #[error("{}:{line}: {message}", path.display())]
    Ledger {
        /// The ledger.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The ledger was written with other settings than the report reads
    /// the inputs with.
    #[error("the ledger was written with `{flag} {ledger}`, the report was asked to read `{flag} {given}`")]
    Settings {
        /// The flag.
        flag: &'static str,
        /// The ledger's value.
        ledger: String,
        /// The value given.
        given: String,
    },
    /// Record `record` of the inputs is not the record the ledger lists
    /// there.
    #[error(
        "record {record} ({at}): the ledger has {expected}, the inputs {found}; the inputs changed \
         since the run, or are not read as the run read them (the same inputs in the same order, \
         `--records`, `--format`, `--text-field`, `--id-field`, `--max-record-bytes`)"
    )]
    Mismatch {
        /// 0-based position in input order.
        record: u64,
        /// Where it is: `source:line`.
        at: String,
        /// What the ledger says.
        expected: String,
        /// What the inputs hold.
        found: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
