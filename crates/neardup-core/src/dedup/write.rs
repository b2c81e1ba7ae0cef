//! Pass 2: read the inputs again and write what is kept, and the ledger.
//!
//! The same reader cuts the same records, so record `k` here is entry `k`
//! of the table (checked: a file that changed between the passes stops the
//! run). Unchanged records are copied through without parsing; modified
//! ones are parsed again and their cut text spliced in.

use std::io::Write;

use neardup_io::{record, Format, Outputs, RawRecord, RecordReader, Source, Unit};

use super::table::{apply_cuts, Decision, Info, State};
use super::Summary;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ledger::{self, Entry, Reason, Status};
use crate::progress::Progress;

pub(super) fn run(
    sources: &[Source],
    cfg: &Config,
    infos: &[Info],
    mut outputs: Outputs,
    mut ledger: Option<neardup_io::AtomicFile>,
    summary: &mut Summary,
    progress: &dyn Progress,
) -> Result<()> {
    progress.phase("write", None);
    if let Some(l) = ledger.as_mut() {
        let header = ledger::Header {
            neardup_ledger: ledger::LEDGER_VERSION,
            version: env!("CARGO_PKG_VERSION").to_string(),
            settings: {
                let mut s = cfg.settings();
                // The banding in effect (chosen for the threshold unless set).
                if let (Some(near), Some(obj)) =
                    (&summary.near, s.get_mut("near").and_then(|n| n.as_object_mut()))
                {
                    obj.insert("bands".into(), near.bands.into());
                    obj.insert("rows".into(), near.rows.into());
                    obj.insert("hash".into(), neardup_sketch::hash::HASH_NAME.into());
                    obj.insert("hash_version".into(), neardup_sketch::hash::HASH_VERSION.into());
                }
                s
            },
        };
        serde_json::to_writer(&mut *l, &header).map_err(std::io::Error::from)?;
        l.write_all(b"\n")?;
    }
    let id_of = |i: usize| infos[i].id(sources);

    let mut reader = RecordReader::new(sources, cfg.layout);
    let mut k = 0usize;
    let mut buf: Vec<u8> = Vec::new();
    let mut cut = String::new();
    while let Some(batch) = reader.next_batch() {
        for rec in &batch.records {
            let Some(info) = infos.get(k) else {
                return Err(changed(sources, rec, k));
            };
            if info.source != rec.source || info.line != rec.line {
                return Err(changed(sources, rec, k));
            }
            let src = &sources[rec.source as usize];
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
                    outputs.write(src, rec.source, rec.raw(&batch.data))?;
                    if rec.tail == 0 && reader_unit(cfg, src) != Unit::File {
                        outputs.write(src, rec.source, b"\n")?;
                    }
                }
                (State::Ok, Decision::Keep) => {
                    entry.status = Status::Modified;
                    let uniform = info.cuts.iter().all(|c| c.reason == info.cuts[0].reason);
                    entry.reason =
                        Some(if uniform { info.cuts[0].reason } else { Reason::Substring });
                    entry.similarity = Some(1.0);
                    entry.spans = info.cuts.iter().map(|c| [c.start, c.len]).collect();
                    entry.first = info
                        .cuts
                        .iter()
                        .map(|c| (id_of(c.first_record as usize), c.first_offset))
                        .collect();
                    summary.modified += 1;
                    summary.spans_cut += info.cuts.len() as u64;
                    summary.bytes_cut += info.cuts.iter().map(|c| c.len).sum::<u64>();
                    let content = rec.content(&batch.data);
                    let parsed = record::parse(src.format, content, &cfg.fields)
                        .map_err(|_| changed(sources, rec, k))?;
                    apply_cuts(&parsed.text, &info.cuts, &mut cut);
                    buf.clear();
                    match (src.format, parsed.text_value) {
                        (Format::Jsonl, Some(v)) => record::splice_json(content, v, &cut, &mut buf),
                        _ => buf.extend_from_slice(cut.as_bytes()),
                    }
                    buf.extend_from_slice(&batch.data[rec.end..rec.end + rec.tail]);
                    if rec.tail == 0 && reader_unit(cfg, src) != Unit::File {
                        buf.push(b'\n');
                    }
                    outputs.write(src, rec.source, &buf)?;
                }
            }
            if entry.status != Status::Kept && summary.examples.len() < Summary::EXAMPLES {
                summary.examples.push(entry.clone());
            }
            if let Some(l) = ledger.as_mut() {
                serde_json::to_writer(&mut *l, &entry).map_err(std::io::Error::from)?;
                l.write_all(b"\n")?;
            }
            k += 1;
        }
        progress.advance(batch.records.len() as u64, batch.data.len() as u64);
    }
    if k != infos.len() {
        return Err(Error::Changed { source_name: "inputs".to_string(), record: k as u64 });
    }
    summary.bytes_out = outputs.bytes_written();
    summary.check_balance()?;
    outputs.commit()?;
    if let Some(l) = ledger {
        l.commit()?;
    }
    progress.finish();
    Ok(())
}

fn reader_unit(cfg: &Config, src: &Source) -> Unit {
    cfg.layout.unit_of(src)
}

fn changed(sources: &[Source], rec: &RawRecord, k: usize) -> Error {
    Error::Changed { source_name: sources[rec.source as usize].name.clone(), record: k as u64 }
}
