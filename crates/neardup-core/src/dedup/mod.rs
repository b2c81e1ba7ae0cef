//! A deduplication run over files: read, analyse, decide, write.
//!
//! A run makes two passes over its inputs.
//!
//! 1. **Analyse** ([`read`]): a reader thread cuts the inputs into batches
//!    of raw records; each batch is parsed and analysed in parallel
//!    ([`crate::Analyzer`]) and the results are pushed in input order into a
//!    [`crate::Deduper`], one small table entry per record (a record whose
//!    text an earlier one had takes that one's analysis). Memory grows
//!    with the number of records (about 100 bytes each, plus ids, plus up
//!    to a sixteenth of the budget for the texts seen), not with their
//!    text.
//! 2. **Decide** ([`crate::Deduper::decide`]): exact, near, then repeated
//!    substrings.
//! 3. **Write** ([`write`]): the inputs are read again with the same reader
//!    (so record `k` is the same bytes), each record's outcome is computed
//!    ([`crate::Decisions::outcome`]) and emitted to the sinks: outputs
//!    (copied through unchanged, or with spans cut), ledger, and any the
//!    face adds.
//!
//! Two passes let every keep policy work (the longest copy may come last)
//! and keep the text of the corpus out of memory. When every decision is
//! known as soon as a record is read (first copy kept, no near duplicates,
//! no substrings), records are decided and written inside pass 1 and the
//! inputs are read once. Every decision is made in input order, so outputs
//! do not depend on thread count or batch size.

pub(crate) mod read;
pub(crate) mod write;

use std::path::Path;
use std::time::Instant;

use neardup_io::{Outputs, Source};
use serde::Serialize;

use crate::analysis::Analyzer;
use crate::config::Config;
use crate::decide::{Deduper, NearReport, SubstringReport};
use crate::error::{Error, Result};
use crate::ledger::{Entry, Reason, Status};
use crate::progress::Progress;
use crate::sink::{LedgerSink, OutputSink, Sink};

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
    /// Removed as near duplicates (and their exact copies).
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
    /// Where the time went.
    pub stages: Stages,
    /// Things a person should know that did not stop the run (temp files
    /// left by a killed run, removed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Up to [`Summary::EXAMPLES`] ledger entries of records that were
    /// modified, removed or rejected, for people to look at.
    #[serde(skip)]
    pub examples: Vec<Entry>,
}

/// Seconds per stage of a run: wall time of each pass and deciding stage,
/// and the CPU time of each step of analysis (summed over threads, so it
/// can exceed the wall time of pass 1); and the records analysis skipped.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stages {
    /// Pass 1, wall: read, parse, analyse (and, in a one-pass run, write).
    pub read: f64,
    /// Analysis steps, CPU.
    pub analysis: crate::analysis::AnalysisTimes,
    /// Deciding stages, wall.
    pub decide: crate::decide::DecideTimes,
    /// Pass 2, wall: read again and write.
    pub write: f64,
    /// Records not analysed because an earlier record had the same text,
    /// byte for byte (they take its analysis). Like the times, it depends
    /// on timing: a copy read while its first copy is still being analysed
    /// is analysed too.
    pub text_copies: u64,
}

impl Summary {
    /// How many examples a summary keeps.
    pub const EXAMPLES: usize = 10;

    /// Counts one record's ledger entry.
    pub fn add(&mut self, e: &Entry) {
        self.read += 1;
        match e.status {
            Status::Kept => self.kept += 1,
            Status::Rejected => self.rejected += 1,
            Status::Modified => {
                self.modified += 1;
                self.spans_cut += e.spans.len() as u64;
                self.bytes_cut += e.spans.iter().map(|s| s[1]).sum::<u64>();
            }
            Status::Removed => {
                self.removed += 1;
                match e.reason {
                    Some(Reason::Exact) => self.removed_exact += 1,
                    Some(Reason::Near) => self.removed_near += 1,
                    Some(Reason::Repetition) => self.removed_repetition += 1,
                    Some(Reason::Substring) => self.removed_substring += 1,
                    _ => {}
                }
            }
        }
        if e.status != Status::Kept && self.examples.len() < Summary::EXAMPLES {
            self.examples.push(e.clone());
        }
    }

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

/// Runs deduplication of `sources` into `outputs`, writing the ledger to
/// `ledger` if given.
pub fn run(
    sources: &[Source],
    cfg: &Config,
    outputs: Outputs,
    ledger: Option<&Path>,
    progress: &dyn Progress,
) -> Result<Summary> {
    run_with(sources, cfg, outputs, ledger, Vec::new(), progress)
}

/// [`run`], emitting every record's outcome to `extra` sinks too (a
/// report, say).
pub fn run_with<'a>(
    sources: &'a [Source],
    cfg: &Config,
    outputs: Outputs,
    ledger: Option<&Path>,
    extra: Vec<Box<dyn Sink + 'a>>,
    progress: &dyn Progress,
) -> Result<Summary> {
    run_inner(sources, cfg, outputs, ledger, extra, None, progress)
}

/// What a run against an index does after its outputs are in place:
/// typically, add [`crate::Decisions::additions`] to the index. An error
/// here fails the run (its outputs are already written; rerunning the batch
/// finishes the job).
pub type AfterWrite<'b> = &'b mut dyn FnMut(&crate::Decisions) -> Result<()>;

/// [`run_with`] for a batch decided against `history` (everything kept
/// before it: [`crate::Deduper::decide_with_history`]); once the outputs
/// and ledger are written, `after` is called with the decisions (to add
/// what the batch kept to the index).
///
/// # Errors
/// Settings an index cannot honour, and whatever a run or `after` meets.
#[allow(clippy::too_many_arguments)]
pub fn run_against<'a>(
    sources: &'a [Source],
    cfg: &Config,
    outputs: Outputs,
    ledger: Option<&Path>,
    extra: Vec<Box<dyn Sink + 'a>>,
    history: &dyn crate::History,
    after: AfterWrite<'_>,
    progress: &dyn Progress,
) -> Result<Summary> {
    crate::decide::incremental_settings(&cfg.settings)?;
    run_inner(sources, cfg, outputs, ledger, extra, Some((history, after)), progress)
}

fn run_inner<'a>(
    sources: &'a [Source],
    cfg: &Config,
    outputs: Outputs,
    ledger: Option<&Path>,
    extra: Vec<Box<dyn Sink + 'a>>,
    history: Option<(&dyn crate::History, AfterWrite<'_>)>,
    progress: &dyn Progress,
) -> Result<Summary> {
    let started = Instant::now();
    let analyzer = Analyzer::new(&cfg.settings, cfg.stats)?;
    if let Some(l) = ledger {
        // The ledger must replace neither an input nor an output.
        neardup_io::Clash::new()
            .target("-o", outputs.target(), sources)
            .write("--ledger", l)
            .inputs(sources)
            .check()?;
    }
    let ledger_file = ledger.map(neardup_io::AtomicFile::create).transpose()?;
    let mut summary = Summary::default();
    if let Some(l) = &ledger_file {
        summary.warnings.extend(stale_warnings(l.stale_removed()));
    }
    let header = crate::ledger::Header {
        neardup_ledger: crate::ledger::LEDGER_VERSION,
        version: env!("CARGO_PKG_VERSION").to_string(),
        fingerprint: cfg.settings.fingerprint(),
        settings: cfg.header_settings(),
    };
    let mut sinks: Vec<Box<dyn Sink + 'a>> = vec![Box::new(OutputSink::new(outputs, sources))];
    if let Some(l) = ledger_file {
        sinks.push(Box::new(LedgerSink::new(l, &header)?));
    }
    sinks.extend(extra);
    let names: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
    let deduper = Deduper::new(&analyzer, &cfg.resources, cfg.input.on_error, names)?;
    let writer = write::Writer::new(sources, cfg, sinks);
    let clock = Instant::now();
    if cfg.single_pass() && history.is_none() {
        let mut stream = read::Stream::new(writer);
        let (deduper, bytes_in, copies) =
            read::run(sources, cfg, &analyzer, deduper, Some(&mut stream), progress)?;
        summary.bytes_in = bytes_in;
        stream.finish(deduper.len(), &mut summary)?;
        summary.stages.text_copies = copies;
        summary.stages.read = clock.elapsed().as_secs_f64();
    } else {
        let (deduper, bytes_in, copies) =
            read::run(sources, cfg, &analyzer, deduper, None, progress)?;
        summary.bytes_in = bytes_in;
        summary.stages.text_copies = copies;
        summary.stages.read = clock.elapsed().as_secs_f64();
        let decisions = match &history {
            Some((h, _)) => deduper.decide_with_history(*h, progress)?,
            None => deduper.decide(false, progress)?,
        };
        summary.near = decisions.near.clone();
        summary.substrings = decisions.substrings.clone();
        summary.stages.decide = decisions.times;
        let clock = Instant::now();
        write::run(sources, cfg, &decisions, writer, &mut summary, progress)?;
        summary.stages.write = clock.elapsed().as_secs_f64();
        if let Some((_, after)) = history {
            after(&decisions)?;
        }
    }
    summary.stages.analysis = analyzer.times();
    summary.seconds = started.elapsed().as_secs_f64();
    summary.check_balance()?;
    Ok(summary)
}

/// Pass 1 and the decisions, without writing: what `clusters` and other
/// reports need. With `all_pairs`, every verified near pair is kept too.
pub fn decide(
    sources: &[Source],
    cfg: &Config,
    all_pairs: bool,
    progress: &dyn Progress,
) -> Result<crate::Decisions> {
    let analyzer = Analyzer::new(&cfg.settings, cfg.stats)?;
    let names: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
    let deduper = Deduper::new(&analyzer, &cfg.resources, cfg.input.on_error, names)?;
    let (deduper, _, _) = read::run(sources, cfg, &analyzer, deduper, None, progress)?;
    deduper.decide(all_pairs, progress)
}

/// Both passes' loop: a reader thread cuts `sources` into batches; each
/// batch, with the index of its first record, goes to `work` whole on the
/// rayon pool ([`crate::ordered::map_ordered`]), and the results to
/// `consume` in input order. Stops at `consume`'s first error (the reader
/// then stops too).
pub(crate) fn over_batches<R: Send>(
    sources: &[Source],
    layout: neardup_io::Layout,
    work: impl Fn((usize, neardup_io::Batch)) -> R + Sync,
    consume: impl FnMut(R) -> Result<()>,
) -> Result<()> {
    let (tx, rx) = crossbeam_channel::bounded::<(usize, neardup_io::Batch)>(2);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut reader = neardup_io::RecordReader::new(sources, layout);
            let mut first = 0;
            while let Some(b) = reader.next_batch() {
                let n = b.records.len();
                if tx.send((first, b)).is_err() {
                    break; // The consumer stopped (an error).
                }
                first += n;
            }
        });
        crate::ordered::map_ordered(rx, work, consume)
    })
}

/// Says which temp files left by killed runs were removed.
pub(crate) fn stale_warnings(paths: &[std::path::PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| format!("removed `{}`, a temp file left by a run that was killed", p.display()))
        .collect()
}
