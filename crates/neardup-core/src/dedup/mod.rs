//! The deduplication run: read, analyse, decide, write.
//!
//! A run makes two passes over its inputs.
//!
//! 1. **Analyse**: a reader thread cuts the inputs into batches of raw
//!    records; each batch is analysed in parallel (parse, normalize, find
//!    in-record repeats, hash, statistics) and the results are folded in
//!    input order into a compact table, one small entry per record. Memory
//!    grows with the number of records (about 80 bytes each, plus ids), not
//!    with their text.
//! 2. **Decide**: exact-duplicate clusters are formed from the hashes, and
//!    the keep policy picks each cluster's survivor ([`exact`]); near
//!    duplicates are clustered from their fingerprints ([`near`]); repeated
//!    substrings are found among the records still kept ([`substrings`]).
//! 3. **Write**: the inputs are read again with the same reader (so record
//!    `k` is the same bytes), and each kept record is copied through
//!    unchanged, or with its spans cut, to temp files that are renamed into
//!    place at the end. The ledger is written the same way.
//!
//! Two passes let every keep policy work (the longest copy may come last)
//! and keep the text of the corpus out of memory. Every decision is made in
//! input order from per-record results, so outputs do not depend on thread
//! count or batch size.

//! Each stage has its file: [`analyse`] (pass 1), [`exact`], [`near`],
//! [`substrings`], [`write`] (pass 2); [`table`] holds what they share, the
//! per-record [`table::Info`].

mod analyse;
pub mod clusters;
mod exact;
pub(crate) mod near;
mod store;
pub(crate) mod substrings;
mod table;
mod write;

use std::path::Path;
use std::time::Instant;

use neardup_io::{Outputs, Source};
use neardup_text::Normalizer;
use serde::Serialize;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ledger::Entry;
use crate::progress::Progress;

pub use near::NearReport;
pub use substrings::SubstringReport;
pub use table::Cut;

/// Totals of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Records read (every record, good or bad).
    pub read: u64,
    /// Written unchanged.
    pub kept: u64,
    /// Written with spans cut.
    pub modified: u64,
    /// Not written: duplicates and filtered records.
    pub removed: u64,
    /// Not written: bad records.
    pub rejected: u64,
    /// Removed as exact duplicates.
    pub removed_exact: u64,
    /// Removed as near duplicates.
    pub removed_near: u64,
    /// Removed by repetition thresholds.
    pub removed_repetition: u64,
    /// Removed as (nearly) empty once repeated substrings were cut.
    pub removed_substring: u64,
    /// Spans cut from modified records.
    pub spans_cut: u64,
    /// Bytes of text cut from modified records.
    pub bytes_cut: u64,
    /// Bytes read (decompressed).
    pub bytes_in: u64,
    /// Bytes written (before compression).
    pub bytes_out: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Near-duplicate banding and counts, when near duplicates were on.
    pub near: Option<NearReport>,
    /// Repeated-substring counts, when that stage was on.
    pub substrings: Option<SubstringReport>,
    /// Things a person should know that did not stop the run (temp files
    /// left by a killed run, removed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Up to [`Summary::EXAMPLES`] ledger entries of records that were
    /// modified, removed or rejected, for people to look at.
    #[serde(skip)]
    pub examples: Vec<Entry>,
}

impl Summary {
    /// How many examples a summary keeps.
    pub const EXAMPLES: usize = 10;

    /// Checks `read == kept + modified + removed + rejected`.
    pub fn check_balance(&self) -> Result<()> {
        if self.read == self.kept + self.modified + self.removed + self.rejected {
            Ok(())
        } else {
            Err(Error::Unbalanced {
                read: self.read,
                kept: self.kept,
                modified: self.modified,
                removed: self.removed,
                rejected: self.rejected,
            })
        }
    }
}

/// What the deciding stages concluded, before anything is written.
pub(crate) struct Plan {
    pub(crate) infos: Vec<table::Info>,
    pub(crate) bytes_in: u64,
    pub(crate) near: Option<NearReport>,
    pub(crate) substrings: Option<SubstringReport>,
    /// With `all_pairs`: every candidate pair at or above the threshold.
    pub(crate) pairs: Vec<(u32, u32, f32)>,
}

/// Pass 1 and the decisions: exact, then near duplicates, then repeated
/// substrings.
pub(crate) fn plan(
    sources: &[Source],
    cfg: &Config,
    norm: &Normalizer,
    all_pairs: bool,
    progress: &dyn Progress,
) -> Result<Plan> {
    let sketching = cfg.near.as_ref().map(near::Sketching::new).transpose()?;
    let mut collector = match (&cfg.near, &sketching) {
        (Some(opts), Some(sk)) => Some(near::Collector::new(opts, sk.params())?),
        _ => None,
    };
    let near_io = sketching.as_ref().zip(collector.as_mut());
    let mut texts = cfg.substrings.as_ref().map(substrings::Texts::new).transpose()?;
    let (mut infos, bytes_in) =
        analyse::run(sources, cfg, norm, near_io, None, texts.as_mut(), progress)?;
    if cfg.exact {
        exact::decide(&mut infos, cfg.keep);
    }
    let mut pairs = Vec::new();
    let near = match collector {
        Some(c) => {
            progress.phase("near", None);
            let report = c.decide(&mut infos, cfg.keep, all_pairs.then_some(&mut pairs))?;
            progress.finish();
            Some(report)
        }
        None => None,
    };
    table::resolve_chains(&mut infos);
    let substrings = texts.map(|t| substrings::decide(t, &mut infos, progress)).transpose()?;
    Ok(Plan { infos, bytes_in, near, substrings, pairs })
}

/// Runs deduplication of `sources` into `outputs`, writing the ledger to
/// `ledger` if given.
pub fn run(
    sources: &[Source],
    cfg: &Config,
    outputs: Outputs,
    ledger: Option<&Path>,
    progress: &dyn Progress,
) -> Result<Summary> {
    let started = Instant::now();
    let norm = Normalizer::new(cfg.normalize.clone());
    let ledger_file = ledger.map(neardup_io::AtomicFile::create).transpose()?;
    let stale: Vec<String> =
        ledger_file.iter().flat_map(|l| stale_warnings(l.stale_removed())).collect();
    let mut summary = if cfg.single_pass() {
        let writer = write::Writer::new(sources, cfg, outputs, ledger_file, None)?;
        let exact = cfg.exact.then(Default::default);
        let mut stream = analyse::Stream { writer, exact, summary: Summary::default() };
        let (infos, bytes_in) =
            analyse::run(sources, cfg, &norm, None, Some(&mut stream), None, progress)?;
        let analyse::Stream { writer, mut summary, .. } = stream;
        summary.bytes_in = bytes_in;
        writer.finish(infos.len(), &mut summary)?;
        summary
    } else {
        let Plan { infos, bytes_in, near, substrings, .. } =
            plan(sources, cfg, &norm, false, progress)?;
        let mut summary = Summary { bytes_in, near, substrings, ..Summary::default() };
        write::run(sources, cfg, &infos, outputs, ledger_file, &mut summary, progress)?;
        summary
    };
    summary.warnings.splice(0..0, stale);
    summary.seconds = started.elapsed().as_secs_f64();
    summary.check_balance()?;
    Ok(summary)
}

/// Says which temp files left by killed runs were removed.
pub(crate) fn stale_warnings(paths: &[std::path::PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| format!("removed `{}`, a temp file left by a run that was killed", p.display()))
        .collect()
}
