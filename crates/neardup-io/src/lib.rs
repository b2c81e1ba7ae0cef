//! Reading records and writing them back, in the user's own format.
//!
//! neardup reads plain text (a record per file, line or paragraph) and
//! JSONL, each optionally gzip- or zstd-compressed, from files, directories
//! and standard input; it writes kept records back in the same format, with
//! every byte it did not cut unchanged.
//!
//! - [`source`] finds the inputs and detects format and compression;
//! - [`split`] cuts them into raw records, in batches, catching what only a
//!   reader can see (oversized records, empty or truncated files);
//! - [`record`] parses a record's text and id, and splices new text into a
//!   JSON record without touching its other fields;
//! - [`output`] writes outputs atomically, and [`clash`] refuses outputs that
//!   would replace an input or one another.
//!
//! This crate knows nothing of deduplication.
#![deny(missing_docs)]

pub mod clash;
pub mod error;
mod json_scan;
mod json_string;
pub mod output;
pub mod record;
pub mod source;
pub mod split;

pub use clash::Clash;
pub use error::{Error, Located, RecordError, Result};
pub use output::{AtomicFile, Outputs, Target};
pub use record::{Fields, Parsed};
pub use source::{Compression, Discover, Format, Source, Unit};
pub use split::{Batch, Layout, RawRecord, RecordReader};
