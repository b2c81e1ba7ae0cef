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
//!    the keep policy picks each cluster's survivor.
//! 3. **Write**: the inputs are read again with the same reader (so record
//!    `k` is the same bytes), and each kept record is copied through
//!    unchanged, or with its spans cut, to temp files that are renamed into
//!    place at the end. The ledger is written the same way.
//!
//! Two passes let every keep policy work (the longest copy may come last)
//! and keep the text of the corpus out of memory. Every decision is made in
//! input order from per-record results, so outputs do not depend on thread
//! count or batch size.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use neardup_io::{
    record, Batch, Format, Located, Outputs, RawRecord, RecordError, RecordReader, Source, Unit,
};
use neardup_text::{Normalizer, OffsetMap};
use serde::Serialize;
use xxhash_rust::xxh3::xxh3_128;

use crate::config::{Config, Keep, OnError};
use crate::error::{Error, Result};
use crate::ledger::{self, Entry, Reason, Status};
use crate::progress::Progress;
use crate::repeats;
use crate::repetition::Stats;

/// A span cut from a record's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cut {
    /// Byte offset in the text.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// Offset of the earlier copy in the same text.
    pub first: u64,
}

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
    /// Removed by repetition thresholds.
    pub removed_repetition: u64,
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

/// What pass 1 learned about one record.
struct Info {
    source: u32,
    line: u64,
    id: Option<Box<str>>,
    hash: u128,
    len: u64,
    cuts: Box<[Cut]>,
    stats: Option<Box<Stats>>,
    /// Rejected (error) or filtered (reason) before any matching.
    state: State,
}

enum State {
    Ok,
    Rejected(Box<RecordError>),
    Filtered(Box<str>),
}

/// What becomes of a record.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Decision {
    Keep,
    Duplicate { of: u32, reason: Reason, similarity: f32 },
}

/// Per-worker scratch buffers, reused across records.
#[derive(Default)]
struct Scratch {
    canon: String,
    map: OffsetMap,
    cut: String,
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

    let (infos, bytes_in) = analyse(sources, cfg, &norm, progress)?;
    let decisions = decide(&infos, cfg);
    let mut summary = Summary { bytes_in, ..Summary::default() };

    let ledger_file = ledger.map(neardup_io::AtomicFile::create).transpose()?;
    write(sources, cfg, &infos, &decisions, outputs, ledger_file, &mut summary, progress)?;
    summary.seconds = started.elapsed().as_secs_f64();
    summary.check_balance()?;
    Ok(summary)
}

fn analyse(
    sources: &[Source],
    cfg: &Config,
    norm: &Normalizer,
    progress: &dyn Progress,
) -> Result<(Vec<Info>, u64)> {
    let total = sources.iter().all(|s| s.compression == neardup_io::Compression::None);
    progress.phase("analyse", total.then(|| sources.iter().map(|s| s.size).sum()));
    let (tx, rx) = crossbeam_channel::bounded::<Batch>(2);
    let mut infos: Vec<Info> = Vec::new();
    let mut bytes_in = 0u64;
    let result = std::thread::scope(|scope| {
        let layout = cfg.layout;
        scope.spawn(move || {
            let mut reader = RecordReader::new(sources, layout);
            while let Some(b) = reader.next_batch() {
                if tx.send(b).is_err() {
                    break; // The consumer stopped (an error).
                }
            }
        });
        let work = |batch: Batch| {
            let mut s = Scratch::default();
            let infos: Vec<Info> = batch
                .records
                .iter()
                .map(|r| analyse_one(sources, cfg, norm, r, &batch.data, &mut s))
                .collect();
            let bytes: u64 = batch.records.iter().map(|r| (r.end - r.start + r.tail) as u64).sum();
            (infos, bytes)
        };
        crate::ordered::map_ordered(rx, work, |(batch_infos, bytes)| {
            let n = batch_infos.len() as u64;
            for info in batch_infos {
                if let (State::Rejected(e), OnError::Fail) = (&info.state, cfg.on_error) {
                    return Err(Error::BadRecord(Box::new(Located {
                        source_name: sources[info.source as usize].name.clone(),
                        line: info.line,
                        error: (**e).clone(),
                    })));
                }
                infos.push(info);
            }
            bytes_in += bytes;
            progress.advance(n, bytes);
            Ok(())
        })
    });
    progress.finish();
    result.map(|()| (infos, bytes_in))
}

fn analyse_one(
    sources: &[Source],
    cfg: &Config,
    norm: &Normalizer,
    rec: &RawRecord,
    data: &[u8],
    s: &mut Scratch,
) -> Info {
    let mut info = Info {
        source: rec.source,
        line: rec.line,
        id: None,
        hash: 0,
        len: 0,
        cuts: Box::default(),
        stats: None,
        state: State::Ok,
    };
    if let Some(e) = &rec.error {
        info.state = State::Rejected(Box::new(e.clone()));
        return info;
    }
    let src = &sources[rec.source as usize];
    let parsed = match record::parse(src.format, rec.content(data), &cfg.fields) {
        Ok(p) => p,
        Err(e) => {
            info.state = State::Rejected(Box::new(e));
            return info;
        }
    };
    info.id = parsed.id.map(String::into_boxed_str);
    let text = parsed.text.as_ref();
    let with_map = cfg.min_repeat.is_some();
    norm.normalize_into(text, &mut s.canon, with_map.then_some(&mut s.map));

    if let Some(min) = cfg.min_repeat {
        let cuts: Vec<Cut> = repeats::find(&s.canon, min)
            .into_iter()
            .filter_map(|r| {
                let o = s.map.original_range_inner(r.range.start, r.range.end);
                let first = s.map.to_original(r.first, neardup_text::Round::Up);
                (!o.is_empty()).then_some(Cut {
                    start: o.start as u64,
                    len: o.len() as u64,
                    first: first as u64,
                })
            })
            .collect();
        info.cuts = cuts.into_boxed_slice();
    }
    if cfg.stats || !cfg.thresholds.is_empty() {
        let stats = Stats::of(&s.canon);
        if let Some(why) = cfg.thresholds.exceeded(&stats) {
            info.state = State::Filtered(why.into_boxed_str());
        }
        info.stats = Some(Box::new(stats));
    }
    if info.cuts.is_empty() {
        info.hash = xxh3_128(s.canon.as_bytes());
        info.len = text.len() as u64;
    } else {
        // Hash what will be written: the cut text, normalized afresh.
        apply_cuts(text, &info.cuts, &mut s.cut);
        norm.normalize_into(&s.cut, &mut s.canon, None);
        info.hash = xxh3_128(s.canon.as_bytes());
        info.len = s.cut.len() as u64;
    }
    info
}

/// `text` without the `cuts` (sorted, disjoint), into `out`.
fn apply_cuts(text: &str, cuts: &[Cut], out: &mut String) {
    out.clear();
    let mut at = 0;
    for c in cuts {
        out.push_str(&text[at..c.start as usize]);
        at = (c.start + c.len) as usize;
    }
    out.push_str(&text[at..]);
}

fn decide(infos: &[Info], cfg: &Config) -> Vec<Decision> {
    let mut decisions = vec![Decision::Keep; infos.len()];
    if !cfg.exact {
        return decisions;
    }
    // Survivor of each hash, by the keep policy; ties go to the first.
    let mut best: HashMap<u128, u32> = HashMap::new();
    for (i, info) in infos.iter().enumerate() {
        if !matches!(info.state, State::Ok) {
            continue;
        }
        let i = i as u32;
        best.entry(info.hash)
            .and_modify(|b| {
                let replace = match cfg.keep {
                    Keep::First => false,
                    Keep::Last => true,
                    Keep::Longest => info.len > infos[*b as usize].len,
                };
                if replace {
                    *b = i;
                }
            })
            .or_insert(i);
    }
    for (i, info) in infos.iter().enumerate() {
        if !matches!(info.state, State::Ok) {
            continue;
        }
        let b = best[&info.hash];
        if b as usize != i {
            decisions[i] = Decision::Duplicate { of: b, reason: Reason::Exact, similarity: 1.0 };
        }
    }
    decisions
}

#[allow(clippy::too_many_arguments)]
fn write(
    sources: &[Source],
    cfg: &Config,
    infos: &[Info],
    decisions: &[Decision],
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
            settings: cfg.settings(),
        };
        serde_json::to_writer(&mut *l, &header).map_err(std::io::Error::from)?;
        l.write_all(b"\n")?;
    }
    let id_of = |i: usize| -> String {
        let info = &infos[i];
        match &info.id {
            Some(id) => id.to_string(),
            None => {
                let src = &sources[info.source as usize];
                if info.line == 0 {
                    src.name.clone()
                } else {
                    format!("{}:{}", src.name, info.line)
                }
            }
        }
    };

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
            match (&info.state, decisions[k]) {
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
                    if reason == Reason::Exact {
                        summary.removed_exact += 1;
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
                    entry.reason = Some(Reason::Repeat);
                    entry.similarity = Some(1.0);
                    entry.spans = info.cuts.iter().map(|c| [c.start, c.len]).collect();
                    entry.first = info.cuts.iter().map(|c| c.first).collect();
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
