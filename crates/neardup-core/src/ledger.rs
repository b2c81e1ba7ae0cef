//! The ledger: one entry per input record, saying what became of it.
//!
//! The ledger is JSONL. Its first line is a header naming the format
//! version, the neardup version and every setting that changes results;
//! then exactly one entry per record read, in input order. Every entry has
//! every key (null when it does not apply), so the schema is stable:
//!
//! ```json
//! {"id":"a.jsonl:3","source":"a.jsonl","line":3,"status":"removed",
//!  "reason":"exact","duplicate_of":"a.jsonl:1","similarity":1.0,
//!  "spans":[],"first":[],"error":null,"repetition":null}
//! ```
//!
//! `spans` are `[offset, length]` byte ranges cut from the record's text
//! (for JSONL, the decoded text field), and `first[i]` is `[id, offset]`:
//! the record holding the earlier copy of span `i` (itself, for a repeat
//! inside the record) and the copy's byte offset in that record's text.
//! With `--remove all` a repeated substring goes from every place, and
//! `first` names the earliest *other* place (possibly later). A record that
//! repeated substrings leave (nearly) empty is `removed` with reason
//! `substring`, its `spans` and `first` still listed, and `duplicate_of`
//! the record holding the copy of its longest span.

use serde::{Deserialize, Serialize};

use crate::repetition::Stats;

/// Ledger format version.
pub const LEDGER_VERSION: u32 = 1;

/// What became of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Written out unchanged.
    Kept,
    /// Written out with spans cut.
    Modified,
    /// Not written: a duplicate, or filtered.
    Removed,
    /// Not written: it could not be read or parsed.
    Rejected,
}

/// Why a record was removed or modified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// Its canonical text equals another record's.
    Exact,
    /// Its shingles are within the threshold of another record's.
    Near,
    /// A passage repeated inside the record.
    Repeat,
    /// A substring that occurs earlier in the corpus (or, with
    /// `--remove all`, anywhere else); also the reason of a modified record
    /// whose cuts have several reasons.
    Substring,
    /// Its repetition statistics exceed a threshold.
    Repetition,
}

/// One ledger line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The record's id.
    pub id: String,
    /// The input it came from.
    pub source: String,
    /// 1-based line where it starts; 0 for whole files.
    pub line: u64,
    /// What became of it.
    pub status: Status,
    /// Why, for removed and modified records.
    pub reason: Option<Reason>,
    /// For duplicates, the id of the record kept in its place.
    pub duplicate_of: Option<String>,
    /// Similarity to that record (1.0 for exact and repeat).
    pub similarity: Option<f32>,
    /// Byte ranges `[offset, length]` cut from the text.
    pub spans: Vec<[u64; 2]>,
    /// For each span, where its earlier copy is: the record's id and the
    /// offset in that record's text.
    pub first: Vec<(String, u64)>,
    /// What was wrong, for rejected records; the threshold exceeded, for
    /// repetition removals.
    pub error: Option<String>,
    /// Repetition statistics, when computed.
    pub repetition: Option<Stats>,
}

/// The header line.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Header {
    /// Always [`LEDGER_VERSION`].
    pub neardup_ledger: u32,
    /// neardup's version.
    pub version: String,
    /// [`crate::Settings::fingerprint`] of the settings below: runs, indexes
    /// and Python results with the same fingerprint decide alike.
    #[serde(default)]
    pub fingerprint: String,
    /// The settings that decide results.
    pub settings: serde_json::Value,
}
