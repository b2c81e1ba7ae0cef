//! [`Backend`]: what the service asks of the library. The HTTP layer
//! parses, authenticates, limits and counts; every answer — new or
//! duplicate, of what, how similar, added or not — comes from here.
//!
//! The trait is small so that the service can be tested against an
//! in-memory fake and run against the persistent index alike.

use std::fmt;

/// One record of a request, in request order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rec {
    /// The caller's id.
    pub id: String,
    /// The text to match.
    pub text: String,
}

/// What [`Backend::prepare`] made of some records, for the add that
/// takes them.
#[derive(Default)]
pub struct Prepared(pub(crate) Option<neardup_index::Prepared>);

/// Whether a record was seen before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing in history (or earlier in the request) matches it.
    New,
    /// It repeats a record of history or an earlier record of the request.
    Duplicate,
}

/// Why a record is a duplicate: `exact` or `near` (or `repetition`, when
/// the index's settings drop repetitive records); neardup-core's reasons.
pub use neardup_core::ledger::Reason;

/// The library's answer for one record.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// New or duplicate.
    pub status: Status,
    /// Why it is a duplicate (`None` when new).
    pub reason: Option<Reason>,
    /// The id of the record it duplicates (`None` when new).
    pub duplicate_of: Option<String>,
    /// Similarity to that record (`None` when new).
    pub similarity: Option<f64>,
    /// Whether the record is now in the index (only `add` adds).
    pub added: bool,
}

/// Why a backend could not answer.
#[derive(Debug)]
pub enum BackendError {
    /// Record `index` of the request cannot be analysed (the caller's
    /// fault: answered 400).
    Record {
        /// Its place in the request.
        index: usize,
        /// What is wrong with it.
        message: String,
    },
    /// The index failed (answered 500, and logged).
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendError::Record { index, message } => write!(f, "records[{index}]: {message}"),
            BackendError::Internal(e) => {
                write!(f, "{e}")?;
                let mut source = e.source();
                while let Some(s) = source {
                    write!(f, ": {s}")?;
                    source = s.source();
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for BackendError {}

/// What the service runs on: checking and adding batches of records, and
/// the index's size.
///
/// Calls block (CPU and disk); the service makes them on tokio's blocking
/// pool. It makes many `check`s at once, and one `add` at a time.
pub trait Backend: Send + Sync + 'static {
    /// Decides each record against history and the records before it in
    /// `records`; changes nothing. One outcome per record, in order, each
    /// with `added: false`.
    ///
    /// A check made while an add runs sees history before that add or
    /// after it, never part of it.
    ///
    /// # Errors
    /// A record cannot be analysed, or the index cannot be read.
    fn check(&self, records: &[Rec]) -> Result<Vec<Outcome>, BackendError>;

    /// As [`Backend::check`], then adds the records that are new, all of
    /// them or none (`added: true` on those). Never called concurrently
    /// with itself.
    ///
    /// # Errors
    /// A record cannot be analysed, or the index cannot be read or
    /// written; then nothing was added.
    fn add(&self, records: &[Rec]) -> Result<Vec<Outcome>, BackendError>;

    /// The part of an add that needs no index (the records' analysis),
    /// done before the add waits for its turn, beside the running one.
    /// By default nothing: [`Backend::add_prepared`] then does it all.
    fn prepare(&self, _records: &[Rec]) -> Prepared {
        Prepared::default()
    }

    /// [`Backend::add`] of `records`, which are the records of `parts`
    /// (each from [`Backend::prepare`]) one after another.
    ///
    /// # Errors
    /// As [`Backend::add`].
    fn add_prepared(
        &self,
        records: &[Rec],
        _parts: Vec<Prepared>,
    ) -> Result<Vec<Outcome>, BackendError> {
        self.add(records)
    }

    /// The index's size and settings, as `neardup index stats --json`
    /// prints them (an object with at least `records`).
    ///
    /// # Errors
    /// The index cannot be read.
    fn stats(&self) -> Result<serde_json::Value, BackendError>;

    /// Makes everything added durable; called once at shutdown.
    ///
    /// # Errors
    /// The index cannot be written.
    fn flush(&self) -> Result<(), BackendError>;
}
