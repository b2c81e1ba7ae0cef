//! Writing what is kept, and every record's outcome.
//!
//! [`Writer`] takes one record at a time, in input order: it asks the
//! record table for the record's outcome ([`crate::Decisions::outcome`]),
//! builds what is written (unchanged records are copied through without
//! parsing; modified ones are parsed again and their cut text spliced in),
//! counts it in the summary and emits it to every sink. It runs in pass 2
//! ([`run`]: the same reader cuts the same records, so record `k` is entry
//! `k` of the table, checked: a file that changed between the passes stops
//! the run), or, in a one-pass run, inside pass 1.

use neardup_io::{record, Format, RawRecord, RecordReader, Source, Unit};

use super::Summary;
use crate::analysis::cut_into;
use crate::config::Config;
use crate::decide::{Decisions, Table};
use crate::error::{Error, Result};
use crate::ledger::Status;
use crate::progress::Progress;
use crate::sink::{Emitted, Sink, Written};

/// Emits records to sinks, in input order.
pub(crate) struct Writer<'a> {
    sources: &'a [Source],
    cfg: &'a Config,
    sinks: Vec<Box<dyn Sink + 'a>>,
    wants_text: bool,
    buf: Vec<u8>,
    cut: String,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(
        sources: &'a [Source],
        cfg: &'a Config,
        sinks: Vec<Box<dyn Sink + 'a>>,
    ) -> Writer<'a> {
        let wants_text = sinks.iter().any(|s| s.wants_text());
        Writer { sources, cfg, sinks, wants_text, buf: Vec::new(), cut: String::new() }
    }

    pub(crate) fn config(&self) -> &'a Config {
        self.cfg
    }

    /// Emits record `k` (raw `rec` in `data`) as `table` decides.
    pub(crate) fn record(
        &mut self,
        k: usize,
        rec: &RawRecord,
        data: &[u8],
        table: &Table<'_>,
        summary: &mut Summary,
    ) -> Result<()> {
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
                cut_into(&p.text, cuts.iter().map(|c| (c.start, c.len)), &mut self.cut);
                Some(self.cut.as_str())
            }
            _ => None,
        };
        let outcome = table.outcome(k, cut_text.filter(|_| table.needs_cut_text(k)));
        let entry = table.entry(k, &outcome)?;
        summary.add(&entry);
        let newline = rec.tail == 0 && line_based;
        let written = match outcome.status {
            Status::Kept => Some(Written { bytes: rec.raw(data), newline }),
            Status::Modified => {
                let (Some(p), Some(cut)) = (&parsed, cut_text) else {
                    return Err(changed(sources, rec, k));
                };
                let buf = &mut self.buf;
                buf.clear();
                match (src.format, &p.text_value) {
                    (Format::Jsonl, Some(v)) => record::splice_json(content, v.clone(), cut, buf),
                    _ => buf.extend_from_slice(cut.as_bytes()),
                }
                buf.extend_from_slice(&data[rec.end..rec.end + rec.tail]);
                Some(Written { bytes: buf, newline })
            }
            Status::Removed | Status::Rejected => None,
        };
        let emitted = Emitted {
            index: k as u64,
            entry: &entry,
            source: rec.source,
            written,
            text: parsed.as_ref().map(|p| p.text.as_ref()),
        };
        for s in &mut self.sinks {
            s.record(&emitted)?;
        }
        Ok(())
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

/// Pass 2: reads the inputs again and writes them through a [`Writer`].
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
    let mut reader = RecordReader::new(sources, cfg.input.layout);
    let mut k = 0usize;
    while let Some(batch) = reader.next_batch() {
        for rec in &batch.records {
            writer.record(k, rec, &batch.data, &table, summary)?;
            k += 1;
        }
        progress.advance(batch.records.len() as u64, batch.data.len() as u64);
    }
    writer.finish(decisions.len(), summary)?;
    progress.finish();
    Ok(())
}

fn changed(sources: &[Source], rec: &RawRecord, k: usize) -> Error {
    Error::Changed { source_name: sources[rec.source as usize].name.clone(), record: k as u64 }
}
