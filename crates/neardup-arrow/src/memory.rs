//! Deduplication of record batches held in memory: what the Python
//! package's `neardup.dedup` runs (the GIL released around it).

use std::time::Instant;

use arrow_array::RecordBatch;
use neardup_core::{Analyzer, Deduper, OnError, Progress, Resources, Settings, Summary};
use neardup_io::Fields;

use crate::engine::{Reader, Writer};
use crate::error::Result;
use crate::ledger::LedgerBuilder;

/// What [`dedup`] returns.
pub struct Deduplicated {
    /// The kept and modified rows of each batch (text cut), schema
    /// unchanged; batches with no row left are dropped.
    pub kept: Vec<RecordBatch>,
    /// One ledger row per input row, in input order (columns as
    /// [`crate::ledger::schema`] without location).
    pub ledger: Vec<RecordBatch>,
    /// The totals, as `--json` prints them.
    pub summary: Summary,
    /// The settings' fingerprint.
    pub fingerprint: String,
}

/// Deduplicates `batches` (one table, in order) by `settings`; text and id
/// in the columns `fields` names; rows without an id are named by their
/// 0-based row number.
///
/// # Errors
/// Bad settings, a bad row with [`OnError::Fail`], temp files failing.
pub fn dedup(
    batches: &[RecordBatch],
    settings: &Settings,
    fields: &Fields,
    on_error: OnError,
    resources: &Resources,
    progress: &dyn Progress,
) -> Result<Deduplicated> {
    let started = Instant::now();
    let analyzer = Analyzer::new(settings, false)?;
    let names = vec![String::new()];
    let deduper = Deduper::new(&analyzer, resources, OnError::Skip, names.clone())?;
    let mut reader = Reader::new(&analyzer, deduper, fields, on_error, names);
    let mut row = 0u64;
    progress.phase("analyse", None);
    for b in batches {
        reader.push(0, b, row)?;
        row += b.num_rows() as u64;
        progress.advance(b.num_rows() as u64, 0);
    }
    progress.finish();
    let mut summary = Summary { bytes_in: reader.bytes_in(), ..Summary::default() };
    let decisions = reader.finish().decide(false, progress)?;
    summary.near = decisions.near.clone();
    summary.substrings = decisions.substrings.clone();
    let mut writer = Writer::new(&decisions, fields);
    let mut ledger = LedgerBuilder::new(false);
    let mut out = Deduplicated {
        kept: Vec::new(),
        ledger: Vec::new(),
        summary: Summary::default(),
        fingerprint: settings.fingerprint(),
    };
    for b in batches {
        let kept = writer.batch(b, &mut summary, |_, e| {
            ledger.push(e);
            Ok(())
        })?;
        if kept.num_rows() > 0 {
            out.kept.push(kept);
        }
        if ledger.len() >= 64 * 1024 {
            out.ledger.push(ledger.finish());
        }
    }
    writer.finish()?;
    if !ledger.is_empty() || out.ledger.is_empty() {
        out.ledger.push(ledger.finish());
    }
    summary.seconds = started.elapsed().as_secs_f64();
    summary.check_balance()?;
    out.summary = summary;
    Ok(out)
}
