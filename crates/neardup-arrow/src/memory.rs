//! Deduplication of record batches: what the Python package's
//! `neardup.dedup` runs (the GIL released around it).
//!
//! [`dedup`] takes batches held in memory. [`dedup_stream`] takes a stream
//! that can be read once (a `RecordBatchReader`, a Parquet scan, a
//! generator): pass 1 analyses each batch as it arrives and spools it to an
//! anonymous Arrow IPC temp file, pass 2 reads the spool back, so the input
//! is never held whole: memory is a batch or two plus the deduper's state
//! per record.

use std::time::Instant;

use std::io::{BufReader, BufWriter, Seek};

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{ArrowError, SchemaRef};
use neardup_core::{Analyzer, Deduper, OnError, Progress, Resources, Settings, Summary};
use neardup_io::Fields;

use crate::engine::{Reader, Writer};
use crate::error::{Error, Result};
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
    let each = |feed: &mut dyn FnMut(&RecordBatch) -> Result<()>| batches.iter().try_for_each(feed);
    let mut kept = Vec::new();
    let s = two_passes(settings, fields, on_error, resources, progress, each, each, |k| {
        kept.push(k);
        Ok(())
    })?;
    Ok(Deduplicated { kept, ledger: s.ledger, summary: s.summary, fingerprint: s.fingerprint })
}

/// What [`dedup_stream`] returns (the kept rows went to its sink).
pub struct Streamed {
    /// One ledger row per input row, in input order.
    pub ledger: Vec<RecordBatch>,
    /// The totals, as `--json` prints them.
    pub summary: Summary,
    /// The settings' fingerprint.
    pub fingerprint: String,
}

/// Deduplicates the batches `next` yields (one table of schema `schema`,
/// in order, read once) as [`dedup`] does; each batch's kept and modified
/// rows go to `kept` (batches with no row left are not sent). The input is
/// spooled to an anonymous temp file in `resources.tmp_dir` between the
/// passes.
///
/// # Errors
/// As [`dedup`]; a batch the stream fails to give, or of another schema.
#[allow(clippy::too_many_arguments)]
pub fn dedup_stream(
    schema: &SchemaRef,
    mut next: impl FnMut() -> Option<std::result::Result<RecordBatch, ArrowError>>,
    settings: &Settings,
    fields: &Fields,
    on_error: OnError,
    resources: &Resources,
    progress: &dyn Progress,
    kept: impl FnMut(RecordBatch) -> Result<()>,
) -> Result<Streamed> {
    let spool = tempfile::tempfile_in(&resources.tmp_dir)?;
    let read_and_spool = |feed: &mut dyn FnMut(&RecordBatch) -> Result<()>| -> Result<()> {
        let mut spool_writer = StreamWriter::try_new(BufWriter::new(&spool), schema)?;
        let mut row = 0u64;
        while let Some(b) = next() {
            let b = b.map_err(|e| Error::Usage(format!("reading the input: {e}")))?;
            // The spool holds one schema: each batch is taken as the stream's.
            let b = RecordBatch::try_new(schema.clone(), b.columns().to_vec()).map_err(|e| {
                Error::Usage(format!(
                    "reading the input: the batch at row {row} does not fit the stream's schema: {e}"
                ))
            })?;
            feed(&b)?;
            spool_writer.write(&b)?;
            row += b.num_rows() as u64;
        }
        spool_writer.finish()?;
        Ok(())
    };
    let read_back = |feed: &mut dyn FnMut(&RecordBatch) -> Result<()>| -> Result<()> {
        (&spool).rewind()?;
        for b in StreamReader::try_new(BufReader::new(&spool), None)? {
            feed(&b?)?;
        }
        Ok(())
    };
    two_passes(settings, fields, on_error, resources, progress, read_and_spool, read_back, kept)
}

/// The two passes over one table: `first` feeds each batch, in input
/// order, to the analysis; after the decisions, `second` feeds the same
/// batches again to be written: their kept rows go to `kept`, their ledger
/// rows into the result.
#[allow(clippy::too_many_arguments)]
fn two_passes(
    settings: &Settings,
    fields: &Fields,
    on_error: OnError,
    resources: &Resources,
    progress: &dyn Progress,
    first: impl FnOnce(&mut dyn FnMut(&RecordBatch) -> Result<()>) -> Result<()>,
    second: impl FnOnce(&mut dyn FnMut(&RecordBatch) -> Result<()>) -> Result<()>,
    mut kept: impl FnMut(RecordBatch) -> Result<()>,
) -> Result<Streamed> {
    let started = Instant::now();
    let analyzer = Analyzer::new(settings, false)?;
    let names = vec![String::new()];
    let deduper = Deduper::new(&analyzer, resources, OnError::Skip, names.clone())?;
    let mut reader = Reader::new(&analyzer, deduper, fields, on_error, names);
    let mut row = 0u64;
    progress.phase("analyse", None);
    first(&mut |b| {
        reader.push(0, b, row)?;
        row += b.num_rows() as u64;
        progress.advance(b.num_rows() as u64, 0);
        Ok(())
    })?;
    progress.finish();
    let mut summary = Summary { bytes_in: reader.bytes_in(), ..Summary::default() };
    let decisions = reader.finish().decide(false, progress)?;
    summary.near = decisions.near.clone();
    summary.substrings = decisions.substrings.clone();
    let mut writer = Writer::new(&decisions, fields);
    let mut builder = LedgerBuilder::new(false);
    let mut ledger = Vec::new();
    second(&mut |b| {
        let k = writer.batch(b, &mut summary, |_, e| {
            builder.push(e);
            Ok(())
        })?;
        if k.num_rows() > 0 {
            kept(k)?;
        }
        if builder.len() >= 64 * 1024 {
            ledger.push(builder.finish());
        }
        Ok(())
    })?;
    writer.finish()?;
    if !builder.is_empty() || ledger.is_empty() {
        ledger.push(builder.finish());
    }
    summary.seconds = started.elapsed().as_secs_f64();
    summary.check_balance()?;
    Ok(Streamed { ledger, summary, fingerprint: settings.fingerprint() })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, StringArray};
    use neardup_core::NoProgress;
    use proptest::prelude::*;

    use super::*;

    fn batches(texts: &[Option<String>], cuts: &[usize]) -> Vec<RecordBatch> {
        let mut at = 0;
        let mut ends: Vec<usize> = cuts.iter().map(|&c| c % (texts.len() + 1)).collect();
        ends.push(texts.len());
        ends.sort_unstable();
        ends.into_iter()
            .map(|end| {
                let col: ArrayRef = Arc::new(StringArray::from(texts[at..end].to_vec()));
                at = end;
                RecordBatch::try_from_iter_with_nullable([("text", col, true)]).unwrap()
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// A stream read once, spooled between the passes, decides as the
        /// batches held in memory do, however the rows are cut into batches.
        #[test]
        fn a_stream_decides_as_batches_in_memory(
            picks in proptest::collection::vec((0usize..6, proptest::option::weighted(0.95, 0usize..3)), 1..40),
            cuts in proptest::collection::vec(0usize..41, 0..4),
        ) {
            let words = ["alpha beta gamma delta epsilon zeta eta theta", "one two three four five six seven eight"];
            let texts: Vec<Option<String>> = picks
                .iter()
                .map(|&(w, v)| v.map(|v| format!("{} {} {}", words[w % 2], w, ["", " nine", " Nine"][v])))
                .collect();
            let b = batches(&texts, &cuts);
            let (s, f, res) = (Settings::default(), Fields::default(), Resources::default());
            let want = dedup(&b, &s, &f, OnError::Skip, &res, &NoProgress).unwrap();
            let mut kept = Vec::new();
            let mut it = b.clone().into_iter().map(Ok);
            let got = dedup_stream(&b[0].schema(), || it.next(), &s, &f, OnError::Skip, &res, &NoProgress, |k| {
                kept.push(k);
                Ok(())
            })
            .unwrap();
            prop_assert_eq!(got.ledger, want.ledger);
            prop_assert_eq!(kept, want.kept);
            prop_assert_eq!(got.summary.read, want.summary.read);
        }
    }
}
