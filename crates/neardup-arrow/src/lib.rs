//! Arrow and Parquet records for neardup: the same analysis and decisions
//! as every other face, over columns.
//!
//! - [`column`]: the text column (`Utf8`, `LargeUtf8` or `Utf8View`) and
//!   the id column of a batch; a missing column, another type or a null
//!   is a bad record, in the words a JSONL record gets.
//! - [`engine`]: the two passes over batches — [`engine::Reader`] analyses
//!   and pushes rows into a [`neardup_core::Deduper`], [`engine::Writer`]
//!   returns each batch's kept rows (every other column untouched, text cut
//!   where spans were cut) and each row's ledger entry.
//! - [`parquet`]: the CLI's run over `.parquet` files (row group by row
//!   group, outputs written atomically, compressed as the input).
//! - [`memory`]: a run over batches in memory (the Python package).
//! - [`ledger`]: the ledger as an Arrow table, and as a Parquet file.
//! - [`stages`]: the stages as batch functions, for the Spark and Ray
//!   drivers, which run them inside their own shuffles.
//!
//! The heavy dependencies (arrow, parquet) live here so that the core and
//! the other faces do not pay for them.
#![deny(missing_docs)]

pub mod column;
pub mod engine;
pub mod error;
pub mod ledger;
pub mod memory;
pub mod parquet;
pub mod stages;

pub use error::{Error, Result};
