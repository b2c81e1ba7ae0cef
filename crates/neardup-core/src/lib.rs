//! neardup's library: every decision about repeated text, for every face.
//!
//! The faces — the `neardup` CLI, the Python package, the Spark and Ray
//! drivers, the index and its HTTP service, the report — parse their inputs,
//! build [`Settings`], call this library and present what it returns; none
//! of them decides anything. Layers, bottom up:
//!
//! - [`settings`]: [`Settings`] (what changes results; serializable, with a
//!   [fingerprint](Settings::fingerprint)) and [`Resources`] (what changes
//!   speed); set by the CLI's option names ([`Settings::set`]).
//! - [`analysis`]: [`Analyzer::analyse`] turns one text into everything the
//!   decisions need ([`Analysis`]); a batch form fills Arrow-friendly
//!   [`Columns`].
//! - [`decide`]: the decisions as plain functions (exact groups, near
//!   candidates and the greedy in keep order, chains, substrings, each
//!   record's [`Outcome`]), and [`Deduper`], which runs them on one machine.
//! - [`sink`]: where outcomes go ([`Sink`]: ledger, outputs, report, …).
//! - [`dedup`]: the run over files ([`run`]): pass 1 reads and analyses,
//!   [`Deduper`] decides, pass 2 writes through sinks. Also [`clusters`] and
//!   [`explain`], and the [`ledger`] format.
//!
//! Text-level pieces: [`repeats`] (passages a record says twice) and
//! [`repetition`] (Gopher statistics).
#![deny(missing_docs)]

pub mod analysis;
pub mod clusters;
pub mod config;
pub mod decide;
pub mod dedup;
pub mod error;
pub mod explain;
mod hashing;
pub mod ledger;
mod ordered;
pub mod progress;
pub mod repeats;
pub mod repetition;
pub mod settings;
pub mod sink;
mod stamped;

pub use analysis::{Analysis, AnalysisTimes, Analyzer, Columns, Fingerprint};
pub use config::{Config, Input};
pub use decide::{
    Addition, Cut, DecideTimes, Decisions, Deduper, Earlier, EarlierMatch, History, NearReport,
    Outcome, SubstringReport,
};
pub use dedup::{run, run_against, run_with, Stages, Summary};
pub use error::{Error, Result};
pub use progress::{NoProgress, Progress};
pub use settings::{
    Keep, NearSettings, OnError, Remove, Resources, SettingError, Settings, Similarity,
    SubstringSettings, Verify, DEFAULT_MIN_LEN, DEFAULT_MIN_REPEAT,
};
pub use sink::{Emitted, Sink};
