//! The one error type of this crate, and the settings [`Mismatch`].
//!
//! Every variant that concerns an index names it (its directory, or the
//! label an in-memory store was given), so a message alone tells the user
//! which index is wrong and what to do: a corrupt value says which table
//! and key, a mismatch names the setting with both values, a batch that is
//! already in the index says which one.

use std::fmt;
use std::path::PathBuf;

/// An error of the storage engine under a [`Store`](crate::Store): I/O, a
/// locked directory, a corrupt engine file. Engines box their own error.
#[derive(Debug)]
pub struct StoreError(Box<dyn std::error::Error + Send + Sync + 'static>);

impl StoreError {
    /// Wraps an engine's error.
    pub fn new(e: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> StoreError {
        StoreError(e.into())
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// A matching setting that differs between an index and the caller.
///
/// `setting` is the path of the setting in the settings object (`bands`,
/// or `sketch.bands` in a nested object); a side where the setting is
/// absent is `None`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Mismatch {
    /// Dotted path of the setting.
    pub setting: String,
    /// The value the index was created with.
    pub index: Option<serde_json::Value>,
    /// The value given now.
    pub given: Option<serde_json::Value>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn show(v: Option<&serde_json::Value>) -> String {
            match v {
                Some(v) => format!("`{v}`"),
                None => "nothing".to_owned(),
            }
        }
        write!(
            f,
            "setting `{}` differs: the index was created with {}, given {}",
            self.setting,
            show(self.index.as_ref()),
            show(self.given.as_ref())
        )
    }
}

impl std::error::Error for Mismatch {}

/// Everything that can go wrong with an index.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The storage engine failed.
    #[error("index {}: storage engine: {source}", path.display())]
    Store {
        /// The index.
        path: PathBuf,
        /// The engine's error.
        source: StoreError,
    },

    /// A file of the index could not be read or written.
    #[error("index {}: {source}", path.display())]
    Io {
        /// The index.
        path: PathBuf,
        /// The I/O error (it names the file).
        source: std::io::Error,
    },

    /// `create` was pointed at a directory that already holds something.
    #[error(
        "index {}: directory exists and is not empty \
         (create an index in a new or empty directory)",
        path.display()
    )]
    NotEmpty {
        /// The directory.
        path: PathBuf,
    },

    /// `open` was pointed at something that is not an index.
    #[error("index {}: not a neardup index ({reason})", path.display())]
    NotAnIndex {
        /// The directory.
        path: PathBuf,
        /// What is missing or wrong.
        reason: String,
    },

    /// The index was written by a format this version cannot read.
    #[error(
        "index {}: format version {found} is not supported \
         (this neardup reads version {supported}; use the neardup that wrote it, \
         or build a new index)",
        path.display()
    )]
    Version {
        /// The index.
        path: PathBuf,
        /// The version found.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },

    /// A stored value or key is damaged: checksum, length or encoding.
    #[error(
        "index {}: corrupt {table} entry {key}: {what} \
         (run `neardup index verify`; rebuild the index from its inputs)",
        path.display()
    )]
    Corrupt {
        /// The index.
        path: PathBuf,
        /// The table (`records`, `exact`, `bands`, `meta`…).
        table: &'static str,
        /// The key, readable (`seq 42`, `hash 0x…`).
        key: String,
        /// What is wrong.
        what: String,
    },

    /// The caller's settings differ from the index's.
    #[error("index {}: {mismatch}", path.display())]
    Settings {
        /// The index.
        path: PathBuf,
        /// The setting and both values.
        mismatch: Box<Mismatch>,
    },

    /// Settings given at creation are not a JSON object.
    #[error("index {}: settings must be a JSON object, got `{given}`", path.display())]
    SettingsNotObject {
        /// The index.
        path: PathBuf,
        /// What was given.
        given: String,
    },

    /// A batch with this key was committed before.
    #[error(
        "index {}: batch {key} is already in the index (records {first_seq}..{end}); \
         it is not added again",
        path.display(),
        end = first_seq + count
    )]
    BatchCommitted {
        /// The index.
        path: PathBuf,
        /// The batch key, hex.
        key: String,
        /// Its first record.
        first_seq: u64,
        /// Its record count.
        count: u64,
    },

    /// A record given to `add_batch` cannot be stored; nothing of its batch
    /// was added.
    #[error("index {}: record `{id}` (batch record {position}): {what}; nothing of the batch was added", path.display())]
    InvalidRecord {
        /// The index.
        path: PathBuf,
        /// The record's id.
        id: String,
        /// Its position in the batch, from 0.
        position: u64,
        /// What is wrong.
        what: String,
    },

    /// The entries of a batch failed while being read (`try_add_batch`);
    /// nothing of the batch was added.
    #[error("index {}: the batch's input failed after {position} records; nothing of the batch was added: {source}", path.display())]
    Aborted {
        /// The index.
        path: PathBuf,
        /// Records read before the failure.
        position: u64,
        /// The caller's error.
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },

    /// Writing an export failed.
    #[error("index {}: writing the export: {source}", path.display())]
    Export {
        /// The index.
        path: PathBuf,
        /// The write error.
        source: std::io::Error,
    },

    /// Deciding a batch against the index failed (see [`crate::check`]).
    #[error("index {}: {source}", path.display())]
    Dedup {
        /// The index.
        path: PathBuf,
        /// What the deciding library said.
        source: neardup_core::Error,
    },

    /// The index's settings are not neardup settings this build reads.
    #[error("index {}: its settings cannot be read by this neardup: {what}", path.display())]
    UnreadableSettings {
        /// The index.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },

    /// A lookup asked for something outside the index.
    #[error("index {}: {what}", path.display())]
    OutOfRange {
        /// The index.
        path: PathBuf,
        /// What was asked.
        what: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
