//! Writing what is kept, and every record's outcome.
//!
//! Each record goes through two steps. [`Prep::prepare`] asks the record
//! table for its outcome ([`crate::Decisions::outcome`]) and builds what is
//! written (unchanged records are copied through without parsing; modified
//! ones are parsed again and their cut text spliced in) and, when a sink
//! asks for it, its ledger line. [`Writer::emit`] then counts it in the
//! summary and hands it to every sink, strictly in input order.
//!
//! Preparing is most of the work (parsing, splicing, JSON escaping), and
//! it depends on nothing but the record and the table, so pass 2 ([`run`])
//! prepares whole batches on the rayon pool ([`crate::ordered`]) while one
//! thread emits them in order: the bytes written are the same at any
//! thread count. The same reader cuts the same records, so record `k` is
//! entry `k` of the table, checked: a file that changed between the passes
//! stops the run. In a one-pass run, [`Writer::record`] does both steps
//! inside pass 1.

use std::ops::Range;

use neardup_io::{record, Batch, Format, RawRecord, Source, Unit};

use super::Summary;
use crate::analysis::cut_into;
use crate::config::Config;
use crate::decide::{Decisions, Table};
use crate::error::{Error, Result};
use crate::ledger::{Entry, Status};
use crate::progress::Progress;
use crate::sink::{write_ledger_line, Emitted, Sink, Written};

/// What preparing a record needs: shared, read-only, by every worker.
pub(crate) struct Prep<'a> {
    sources: &'a [Source],
    cfg: &'a Config,
    /// Some sink wants records' texts ([`Sink::wants_text`]).
    wants_text: bool,
    /// Some sink wants ledger lines ([`Sink::wants_ledger_line`]).
    wants_line: bool,
}

/// One record, ready to emit. Its bytes live in the batch's data (kept
/// records) or in a [`Made`] buffer (everything built for it).
pub(crate) struct Prepared {
    entry: Entry,
    /// What is written, and whether a `\n` follows.
    written: Option<(Place, bool)>,
    /// Its text, in [`Made::texts`].
    text: Option<Range<usize>>,
    /// Its ledger line, in [`Made::bytes`].
    line: Option<Range<usize>>,
}

/// Where a record's written bytes are.
enum Place {
    /// In the batch's data, as read.
    Input(Range<usize>),
    /// In [`Made::bytes`].
    Made(Range<usize>),
}

/// The bytes and texts built while preparing records.
#[derive(Default)]
pub(crate) struct Made {
    bytes: Vec<u8>,
    texts: String,
    /// Scratch for cut texts.
    cut: String,
}

impl Made {
    fn clear(&mut self) {
        self.bytes.clear();
        self.texts.clear();
    }
}

impl Prep<'_> {
    /// Prepares record `k` (raw `rec` in `data`) as `table` decides,
    /// building its bytes into `made`.
    fn prepare(
        &self,
        k: usize,
        rec: &RawRecord,
        data: &[u8],
        table: &Table<'_>,
        made: &mut Made,
    ) -> Result<Prepared> {
        let sources = self.sources;
        let Some(info) = table.infos.get(k) else {
            return Err(changed(sources, rec, k));
        };
        if info.source != rec.source || info.line != rec.line {
            return Err(changed(sources, rec, k));
        }
        let src = &sources[rec.source as usize];
        let line_based = self.cfg.input.layout.unit_of(src) != Unit::File;
        let content = rec.content(data);
        // Parsed only when the text is needed: a cut to make, or a sink
        // that wants texts.
        let need_parse =
            (info.alive() && !info.cuts.is_empty()) || (self.wants_text && rec.error.is_none());
        let parsed = if need_parse {
            match record::parse(src.format, content, &self.cfg.input.fields) {
                Ok(p) => Some(p),
                Err(_) if rec.error.is_none() && info.alive() => {
                    return Err(changed(sources, rec, k))
                }
                Err(_) => None,
            }
        } else {
            None
        };
        let cuts = &info.cuts;
        let cut_text = match &parsed {
            Some(p) if info.alive() && !cuts.is_empty() => {
                cut_into(&p.text, cuts.iter().map(|c| (c.start, c.len)), &mut made.cut);
                Some(made.cut.as_str())
            }
            _ => None,
        };
        let outcome = table.outcome(k, cut_text.filter(|_| table.needs_cut_text(k)));
        let entry = table.entry(k, &outcome)?;
        let newline = rec.tail == 0 && line_based;
        let written = match outcome.status {
            Status::Kept => Some((Place::Input(rec.raw_range()), newline)),
            Status::Modified => {
                let (Some(p), Some(cut)) = (&parsed, cut_text) else {
                    return Err(changed(sources, rec, k));
                };
                let buf = &mut made.bytes;
                let from = buf.len();
                match (src.format, &p.text_value) {
                    (Format::Jsonl, Some(v)) => record::splice_json(content, v.clone(), cut, buf),
                    _ => buf.extend_from_slice(cut.as_bytes()),
                }
                buf.extend_from_slice(&data[rec.end..rec.end + rec.tail]);
                Some((Place::Made(from..buf.len()), newline))
            }
            Status::Removed | Status::Rejected => None,
        };
        // Copied only for sinks that asked (a cut alone parses it too).
        let text = parsed.as_ref().filter(|_| self.wants_text).map(|p| {
            let from = made.texts.len();
            made.texts.push_str(&p.text);
            from..made.texts.len()
        });
        let line = if self.wants_line {
            let from = made.bytes.len();
            write_ledger_line(&entry, &mut made.bytes)?;
            Some(from..made.bytes.len())
        } else {
            None
        };
        Ok(Prepared { entry, written, text, line })
    }
}

/// Emits records to sinks, in input order.
pub(crate) struct Writer<'a> {
    prep: Prep<'a>,
    sinks: Vec<Box<dyn Sink + 'a>>,
    /// A one-pass run's buffers, reused record after record.
    made: Made,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(
        sources: &'a [Source],
        cfg: &'a Config,
        sinks: Vec<Box<dyn Sink + 'a>>,
    ) -> Writer<'a> {
        let wants_text = sinks.iter().any(|s| s.wants_text());
        let wants_line = sinks.iter().any(|s| s.wants_ledger_line());
        Writer { prep: Prep { sources, cfg, wants_text, wants_line }, sinks, made: Made::default() }
    }

    pub(crate) fn config(&self) -> &'a Config {
        self.prep.cfg
    }

    /// Prepares and emits record `k` (raw `rec` in `data`) as `table`
    /// decides.
    pub(crate) fn record(
        &mut self,
        k: usize,
        rec: &RawRecord,
        data: &[u8],
        table: &Table<'_>,
        summary: &mut Summary,
    ) -> Result<()> {
        let mut made = std::mem::take(&mut self.made);
        made.clear();
        let r = self
            .prep
            .prepare(k, rec, data, table, &mut made)
            .and_then(|p| emit(&mut self.sinks, k, rec.source, &p, data, &made, summary));
        self.made = made;
        r
    }

    /// Checks the accounting and makes every sink's results final.
    pub(crate) fn finish(self, records: usize, summary: &mut Summary) -> Result<()> {
        if summary.read != records as u64 {
            return Err(Error::Changed { source_name: "inputs".to_string(), record: summary.read });
        }
        summary.check_balance()?;
        for s in self.sinks {
            s.commit(summary)?;
        }
        Ok(())
    }
}

/// Counts a prepared record and hands it to every sink.
#[allow(clippy::too_many_arguments)]
fn emit(
    sinks: &mut [Box<dyn Sink + '_>],
    k: usize,
    source: u32,
    p: &Prepared,
    data: &[u8],
    made: &Made,
    summary: &mut Summary,
) -> Result<()> {
    summary.add(&p.entry);
    let written = p.written.as_ref().map(|(place, newline)| Written {
        bytes: match place {
            Place::Input(r) => &data[r.clone()],
            Place::Made(r) => &made.bytes[r.clone()],
        },
        newline: *newline,
    });
    let emitted = Emitted {
        index: k as u64,
        entry: &p.entry,
        source,
        written,
        text: p.text.clone().map(|r| &made.texts[r]),
        ledger_line: p.line.clone().map(|r| &made.bytes[r]),
    };
    for s in sinks.iter_mut() {
        s.record(&emitted)?;
    }
    Ok(())
}

/// A batch of pass 2, prepared: its records up to the first that failed,
/// and that failure.
struct Ready {
    batch: Batch,
    /// Index of its first record.
    first: usize,
    prepared: Vec<Prepared>,
    made: Made,
    error: Option<Error>,
}

/// Pass 2: reads the inputs again and writes them through a [`Writer`].
///
/// A reader thread cuts the batches; each is prepared whole by one rayon
/// task, and the writer emits them in input order (the first error, in
/// input order, stops the run as it would one record at a time). In
/// flight: the reader's queue and [`crate::ordered`]'s bound, a few
/// batches and what was built for them.
pub(crate) fn run(
    sources: &[Source],
    cfg: &Config,
    decisions: &Decisions,
    mut writer: Writer<'_>,
    summary: &mut Summary,
    progress: &dyn Progress,
) -> Result<()> {
    progress.phase("write", None);
    let table = decisions.table();
    let Writer { prep, sinks, .. } = &mut writer;
    let (prep, table) = (&*prep, &table);
    // Buffers come back once their batch is written (as many as are in
    // flight), rather than each batch growing new ones.
    let spare = std::sync::Mutex::new(Vec::<Made>::new());
    let work = |(first, batch): (usize, Batch)| {
        let mut made = spare.lock().ok().and_then(|mut s| s.pop()).unwrap_or_default();
        made.clear();
        let mut prepared = Vec::with_capacity(batch.records.len());
        let mut error = None;
        for (k, rec) in (first..).zip(&batch.records) {
            match prep.prepare(k, rec, &batch.data, table, &mut made) {
                Ok(p) => prepared.push(p),
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        Ready { batch, first, prepared, made, error }
    };
    super::over_batches(sources, cfg.input.layout, work, |ready: Ready| {
        let Ready { batch, first, prepared, made, error } = ready;
        for ((k, rec), p) in (first..).zip(&batch.records).zip(&prepared) {
            emit(sinks, k, rec.source, p, &batch.data, &made, summary)?;
        }
        if let Some(e) = error {
            return Err(e);
        }
        // One huge record's buffers are not kept for the rest of the run.
        let size = made.bytes.capacity() + made.texts.capacity() + made.cut.capacity();
        if let (true, Ok(mut s)) = (size <= MADE_KEEP, spare.lock()) {
            s.push(made);
        }
        progress.advance(batch.records.len() as u64, batch.data.len() as u64);
        Ok(())
    })?;
    writer.finish(decisions.len(), summary)?;
    progress.finish();
    Ok(())
}

/// Buffers larger than this are not reused.
const MADE_KEEP: usize = 8 << 20;

fn changed(sources: &[Source], rec: &RawRecord, k: usize) -> Error {
    Error::Changed { source_name: sources[rec.source as usize].name.clone(), record: k as u64 }
}

#[cfg(test)]
mod tests {
    use neardup_io::{Discover, Outputs, Target};

    use super::*;
    use crate::progress::NoProgress;
    use crate::sink::OutputSink;

    /// Decides `n` records, rewrites the input with `m`, and runs pass 2
    /// over it at 1 and 3 threads and batches of 1 and 4096 records.
    fn pass_two_over_changed_input(n: usize, m: usize) -> Vec<Error> {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.jsonl");
        let body = |count: usize| -> String {
            (0..count)
                .map(|i| format!("{{\"id\": \"r{i}\", \"text\": \"record number {i} is here\"}}\n"))
                .collect()
        };
        fs_err::write(&input, body(n)).unwrap();
        let sources = Discover::default().sources(std::slice::from_ref(&input)).unwrap();
        let mut errors = Vec::new();
        for (threads, batch_records) in [(1, 4096), (3, 1), (3, 4096)] {
            let mut cfg = Config::default();
            cfg.input.layout.batch_records = batch_records;
            fs_err::write(&input, body(n)).unwrap();
            let decisions = crate::dedup::decide(&sources, &cfg, false, &NoProgress).unwrap();
            fs_err::write(&input, body(m)).unwrap();
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let out = dir.path().join("out.jsonl");
            let r = pool.install(|| {
                let outputs = Outputs::new(Target::File(out.clone()), &sources).unwrap();
                let sinks: Vec<Box<dyn Sink>> = vec![Box::new(OutputSink::new(outputs, &sources))];
                let writer = Writer::new(&sources, &cfg, sinks);
                let mut summary = Summary::default();
                run(&sources, &cfg, &decisions, writer, &mut summary, &NoProgress)
            });
            errors.push(r.unwrap_err());
            assert!(!out.exists(), "an output was left by a failed run");
        }
        errors
    }

    #[test]
    fn an_input_that_grew_between_the_passes_stops_at_its_first_new_record() {
        for e in pass_two_over_changed_input(10, 12) {
            assert!(
                matches!(&e, Error::Changed { record: 10, source_name } if source_name.ends_with("in.jsonl")),
                "{e}"
            );
        }
    }

    #[test]
    fn an_input_that_shrank_between_the_passes_is_found_at_the_end() {
        for e in pass_two_over_changed_input(10, 7) {
            assert!(
                matches!(&e, Error::Changed { record: 7, source_name } if source_name == "inputs"),
                "{e}"
            );
        }
    }
}
