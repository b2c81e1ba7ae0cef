//! Writing what is kept, and the ledger.
//!
//! [`Writer`] writes one record at a time, in input order: unchanged
//! records are copied through without parsing; modified ones are parsed
//! again and their cut text spliced in. It runs in pass 2 ([`run`]: the same
//! reader cuts the same records, so record `k` is entry `k` of the table,
//! checked: a file that changed between the passes stops the run), or, when
//! every decision is known as soon as a record is read, inside pass 1 (see
//! `analyse`), so the inputs are read once.

use std::io::Write;

use neardup_io::{record, Format, Outputs, RawRecord, RecordReader, Source, Unit};

use super::table::{apply_cuts, Decision, Info, State};
use super::Summary;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ledger::{self, Entry, Reason, Status};
use crate::progress::Progress;

/// Writes records and ledger entries, in input order.
pub(super) struct Writer<'a> {
    sources: &'a [Source],
    cfg: &'a Config,
    outputs: Outputs,
    ledger: Option<neardup_io::AtomicFile>,
    buf: Vec<u8>,
    cut: String,
}

impl<'a> Writer<'a> {
    /// Starts the outputs; writes the ledger's header.
    pub(super) fn new(
        sources: &'a [Source],
        cfg: &'a Config,
        outputs: Outputs,
        mut ledger: Option<neardup_io::AtomicFile>,
        near: Option<&super::NearReport>,
    ) -> Result<Writer<'a>> {
        if let Some(l) = ledger.as_mut() {
            let mut settings = cfg.settings();
            // The banding in effect (chosen for the threshold unless set).
            if let (Some(near), Some(obj)) =
                (near, settings.get_mut("near").and_then(|n| n.as_object_mut()))
            {
                obj.insert("bands".into(), near.bands.into());
                obj.insert("rows".into(), near.rows.into());
                obj.insert("hash".into(), neardup_sketch::hash::HASH_NAME.into());
                obj.insert("hash_version".into(), neardup_sketch::hash::HASH_VERSION.into());
            }
            let header = ledger::Header {
                neardup_ledger: ledger::LEDGER_VERSION,
                version: env!("CARGO_PKG_VERSION").to_string(),
                settings,
            };
            serde_json::to_writer(&mut *l, &header).map_err(std::io::Error::from)?;
            l.write_all(b"\n")?;
        }
        Ok(Writer { sources, cfg, outputs, ledger, buf: Vec::new(), cut: String::new() })
    }

    /// Writes record `k` (raw `rec` in `data`) as `infos[k]` decides, and its
    /// ledger entry.
    pub(super) fn record(
        &mut self,
        k: usize,
        rec: &RawRecord,
        data: &[u8],
        infos: &[Info],
        summary: &mut Summary,
    ) -> Result<()> {
        let sources = self.sources;
        let Some(info) = infos.get(k) else {
            return Err(changed(sources, rec, k));
        };
        if info.source != rec.source || info.line != rec.line {
            return Err(changed(sources, rec, k));
        }
        let id_of = |i: usize| infos[i].id(sources);
        let src = &sources[rec.source as usize];
        let line_based = self.cfg.layout.unit_of(src) != Unit::File;
        let mut entry = Entry {
            id: id_of(k),
            source: src.name.clone(),
            line: info.line,
            status: Status::Kept,
            reason: None,
            duplicate_of: None,
            similarity: None,
            spans: Vec::new(),
            first: Vec::new(),
            error: None,
            repetition: info.stats.as_deref().cloned(),
        };
        summary.read += 1;
        match (&info.state, info.decision) {
            (State::Rejected(e), _) => {
                entry.status = Status::Rejected;
                entry.error = Some(e.to_string());
                summary.rejected += 1;
            }
            (State::Filtered(why), _) => {
                entry.status = Status::Removed;
                entry.reason = Some(Reason::Repetition);
                entry.error = Some(why.to_string());
                summary.removed += 1;
                summary.removed_repetition += 1;
            }
            (State::Ok, Decision::Duplicate { of, reason, similarity }) => {
                entry.status = Status::Removed;
                entry.reason = Some(reason);
                entry.duplicate_of = Some(id_of(of as usize));
                entry.similarity = Some(similarity);
                summary.removed += 1;
                match reason {
                    Reason::Exact => summary.removed_exact += 1,
                    Reason::Near => summary.removed_near += 1,
                    _ => {}
                }
            }
            (State::Ok, Decision::Keep) if info.cuts.is_empty() => {
                summary.kept += 1;
                self.outputs.write(src, rec.source, rec.raw(data))?;
                if rec.tail == 0 && line_based {
                    self.outputs.write(src, rec.source, b"\n")?;
                }
            }
            (State::Ok, Decision::Keep) => {
                let uniform = info.cuts.iter().all(|c| c.reason == info.cuts[0].reason);
                entry.reason = Some(if uniform { info.cuts[0].reason } else { Reason::Substring });
                entry.spans = info.cuts.iter().map(|c| [c.start, c.len]).collect();
                entry.first = info
                    .cuts
                    .iter()
                    .map(|c| (id_of(c.first_record as usize), c.first_offset))
                    .collect();
                let content = rec.content(data);
                let parsed = record::parse(src.format, content, &self.cfg.fields)
                    .map_err(|_| changed(sources, rec, k))?;
                apply_cuts(&parsed.text, &info.cuts, &mut self.cut);
                let min_keep = self.cfg.substrings.as_ref().map(|o| o.min_keep.max(1));
                if min_keep.is_some_and(|m| self.cut.trim().len() < m) {
                    // Nothing (or too little) of its own is left: every
                    // passage lives on elsewhere, in the record named by
                    // its longest cut.
                    entry.status = Status::Removed;
                    entry.reason = Some(Reason::Substring);
                    let longest = info.cuts.iter().max_by_key(|c| c.len).map(|c| c.first_record);
                    entry.duplicate_of =
                        longest.filter(|&r| r as usize != k).map(|r| id_of(r as usize));
                    summary.removed += 1;
                    summary.removed_substring += 1;
                } else {
                    entry.status = Status::Modified;
                    entry.similarity = Some(1.0);
                    summary.modified += 1;
                    summary.spans_cut += info.cuts.len() as u64;
                    summary.bytes_cut += info.cuts.iter().map(|c| c.len).sum::<u64>();
                    let buf = &mut self.buf;
                    buf.clear();
                    match (src.format, parsed.text_value) {
                        (Format::Jsonl, Some(v)) => {
                            record::splice_json(content, v, &self.cut, buf);
                        }
                        _ => buf.extend_from_slice(self.cut.as_bytes()),
                    }
                    buf.extend_from_slice(&data[rec.end..rec.end + rec.tail]);
                    if rec.tail == 0 && line_based {
                        buf.push(b'\n');
                    }
                    self.outputs.write(src, rec.source, buf)?;
                }
            }
        }
        if entry.status != Status::Kept && summary.examples.len() < Summary::EXAMPLES {
            summary.examples.push(entry.clone());
        }
        if let Some(l) = self.ledger.as_mut() {
            serde_json::to_writer(&mut *l, &entry).map_err(std::io::Error::from)?;
            l.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Checks the accounting and renames every output into place.
    pub(super) fn finish(self, records: usize, summary: &mut Summary) -> Result<()> {
        if summary.read != records as u64 {
            return Err(Error::Changed { source_name: "inputs".to_string(), record: summary.read });
        }
        summary.bytes_out = self.outputs.bytes_written();
        summary.warnings.extend(super::stale_warnings(self.outputs.stale_removed()));
        summary.check_balance()?;
        self.outputs.commit()?;
        if let Some(l) = self.ledger {
            l.commit()?;
        }
        Ok(())
    }
}

/// Pass 2: reads the inputs again and writes them through a [`Writer`].
pub(super) fn run(
    sources: &[Source],
    cfg: &Config,
    infos: &[Info],
    outputs: Outputs,
    ledger: Option<neardup_io::AtomicFile>,
    summary: &mut Summary,
    progress: &dyn Progress,
) -> Result<()> {
    progress.phase("write", None);
    let mut writer = Writer::new(sources, cfg, outputs, ledger, summary.near.as_ref())?;
    let mut reader = RecordReader::new(sources, cfg.layout);
    let mut k = 0usize;
    while let Some(batch) = reader.next_batch() {
        for rec in &batch.records {
            writer.record(k, rec, &batch.data, infos, summary)?;
            k += 1;
        }
        progress.advance(batch.records.len() as u64, batch.data.len() as u64);
    }
    writer.finish(infos.len(), summary)?;
    progress.finish();
    Ok(())
}

fn changed(sources: &[Source], rec: &RawRecord, k: usize) -> Error {
    Error::Changed { source_name: sources[rec.source as usize].name.clone(), record: k as u64 }
}
