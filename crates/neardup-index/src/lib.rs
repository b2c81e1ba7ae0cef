//! A persistent, incremental index of the records neardup has kept, so that
//! each new batch — or each document, online — is checked against all
//! history without reading that history again.
//!
//! For every record added, the index keeps a dense sequence number (its
//! place in history), its id, the hash of its canonical text (the exact
//! key), one LSH key per band, its MinHash signature and its shingle set
//! (exact Jaccard verification needs the set). Lookups go by exact hash
//! ([`Index::find_exact`]: the first record with it) and by band key
//! ([`Index::find_band`]: every record with it); deciding what is a
//! duplicate is the caller's business (neardup-core).
//!
//! The index is built for a history larger than memory:
//! - **Storage** is an embedded LSM tree (fjall) behind the small
//!   [`Store`] trait; [`MemStore`] replaces it in tests. The engine's
//!   memory is a budget ([`OpenOptions::memory`]), not a share of the data.
//! - **Batches are atomic** whatever their size: rows are written in
//!   bounded chunks, invisible until one small durable commit; a crash at
//!   any moment leaves the whole batch or none of it, and
//!   [`Index::committed_batch`] tells a rerun whether its batch is in.
//! - **Many readers, one writer**: a [`View`] sees whole batches only.
//! - **Settings** are stored with the data and fingerprinted;
//!   [`Index::check_settings`] names a setting that differs, with both
//!   values. [`index_settings`] is the one check of what an index can be
//!   created with, for every face.
//! - **Checked**: record values carry a checksum; [`Index::verify`] checks
//!   every invariant in a few sequential scans.
//!
//! - **Deciding against it**: [`IndexHistory`] is neardup-core's
//!   [`History`](neardup_core::History) over a [`View`]; [`add_decisions`]
//!   adds what a decided batch keeps (and [aliases](NewAlias) of its near
//!   duplicates) as one atomic batch; [`Checker`] / [`check`] decide
//!   records held in memory against the index and optionally add them in
//!   one batch, under the [`Writer`] — what a service does per request:
//!
//! ```
//! use neardup_core::Settings;
//! use neardup_index::{check, settings_json, CheckStatus, Index, MemStore, OpenOptions};
//!
//! let index = Index::create_in(
//!     Box::new(MemStore::new()),
//!     "example",
//!     settings_json(&Settings::default()),
//!     &OpenOptions::new(),
//! )?;
//! let text = "the same story, told the same way, word for word";
//! let first = check(&index, &[("a", text)], true)?;
//! assert!(first[0].status == CheckStatus::New && first[0].added);
//! let again = check(&index, &[("b", text.to_uppercase().as_str())], false)?;
//! assert_eq!(again[0].status, CheckStatus::Duplicate);
//! assert_eq!(again[0].duplicate_of.as_deref(), Some("a"));
//! # Ok::<(), neardup_index::Error>(())
//! ```
//!
//! The key layout, the batch protocol and why it is crash safe, and
//! measured costs at 10 M records are in this crate's `DESIGN.md`.
//!
//! ```
//! use neardup_index::{Index, MemStore, NewRecord, OpenOptions};
//! use serde_json::json;
//!
//! let settings = json!({"bands": 2, "rows": 2, "threshold": 0.8});
//! let opts = OpenOptions::new();
//! let index = Index::create_in(Box::new(MemStore::new()), "example", settings.clone(), &opts)?;
//! let record = |id: &str, hash, bands: [u64; 2]| NewRecord {
//!     id: id.to_owned(),
//!     hash,
//!     len: 10,
//!     bands: bands.to_vec(),
//!     signature: vec![1, 2, 3, 4],
//!     set: vec![10, 20, 30],
//! };
//! let receipt = index.add_batch([1; 16], [record("a", 7, [100, 200]), record("b", 8, [100, 300])])?;
//! assert_eq!((receipt.batch.first_seq, receipt.records), (0, 2));
//!
//! assert_eq!(index.find_exact(8)?, Some((1, "b".to_owned())));
//! let mut seqs = Vec::new();
//! index.find_band(0, 100, &mut seqs)?;
//! assert_eq!(seqs, [0, 1]);
//! assert_eq!(index.record(1)?.set, [10, 20, 30]);
//! assert!(index.check_settings(&json!({"bands": 3, "rows": 2, "threshold": 0.8})).is_err());
//! assert!(index.verify()?.is_sound());
//! # Ok::<(), neardup_index::Error>(())
//! ```

mod codec;
mod creation;
mod error;
mod history;
mod index;
mod meta;
mod settings;
mod sort;
mod store;
mod verify;

pub use codec::{Alias, NewAlias, NewEntry, NewRecord, Stored, Target};
pub use creation::{index_settings, SettingsRefused};
pub use error::{Error, Mismatch, Result, StoreError};
pub use history::{
    add_decisions, check, settings_json, settings_of, CheckOutcome, CheckStatus, Checker,
    IndexHistory, Prepared,
};
pub use index::{Index, OpenOptions, Receipt, Records, Stats, View, Writer, MARKER};
pub use meta::{BatchInfo, FORMAT_VERSION, OLDEST_READABLE};
pub use settings::fingerprint;
pub use store::{
    prefix_end, Entry, FjallStore, Ingest, MemStore, Op, Scan, Store, Table, WriteBatch,
};
pub use verify::Report;
