//! neardup's pipeline: read, normalize, fingerprint, match, decide, write.
//!
//! The faces (CLI, server, Python) only fill a [`Config`] and call
//! [`dedup::run`]; everything that decides what happens to a record lives
//! here.
//!
//! - [`dedup`]: the two-pass run and its [`Summary`];
//! - [`repeats`]: passages a record says twice;
//! - [`repetition`]: Gopher-style repetition statistics and thresholds;
//! - [`ledger`]: one entry per input record.
#![deny(missing_docs)]

pub mod config;
pub mod dedup;
pub mod error;
pub mod explain;
mod hashing;
pub mod ledger;
mod ordered;
pub mod progress;
pub mod repeats;
pub mod repetition;

pub use config::{Config, Keep, OnError, DEFAULT_MIN_REPEAT};
pub use dedup::{clusters, run, Cut, NearReport, Summary};
pub use error::{Error, Result};
pub use progress::{NoProgress, Progress};
