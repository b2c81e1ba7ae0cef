//! Pass 1: read every record and learn what the later stages need.
//!
//! Per record, in parallel: parse, normalize (with the offset map when
//! repeats are cut), find in-record repeats, compute repetition statistics,
//! and hash the canonical form of the text *as it will be written* (so a
//! record that said its body twice equals a record that says it once);
//! with near duplicates on, fingerprint that same canonical form.

use neardup_io::{record, Batch, Located, RawRecord, RecordReader, Source};
use neardup_text::{Normalizer, OffsetMap};
use xxhash_rust::xxh3::xxh3_128;

use super::near::{self, Collector, Sketching};
use super::substrings::Texts;
use super::table::{apply_cuts, Cut, Decision, Info, State};
use super::write::Writer;
use super::Summary;
use crate::config::{Config, OnError};
use crate::error::{Error, Result};
use crate::hashing::PrehashedMap;
use crate::ledger::Reason;
use crate::progress::Progress;
use crate::repeats;
use crate::repetition::Stats;
use std::collections::hash_map::Entry;

/// Single-pass mode: when the keep policy keeps the first copy and no stage
/// needs the whole corpus (near duplicates, substrings), every decision is
/// known as soon as a record is read, so records are decided and written
/// right here, in input order, and the inputs are read once.
pub(super) struct Stream<'a> {
    pub(super) writer: Writer<'a>,
    /// First record of each canonical hash, when exact dedup is on.
    pub(super) exact: Option<PrehashedMap<u128, u32>>,
    pub(super) summary: Summary,
}

impl Stream<'_> {
    fn decide_and_write(
        &mut self,
        i: usize,
        rec: &RawRecord,
        data: &[u8],
        infos: &mut [Info],
    ) -> Result<()> {
        if let Some(first) = self.exact.as_mut().filter(|_| infos[i].alive()) {
            match first.entry(infos[i].hash) {
                Entry::Occupied(e) => {
                    infos[i].decision = Decision::Duplicate {
                        of: *e.get(),
                        reason: Reason::Exact,
                        similarity: 1.0,
                    };
                }
                Entry::Vacant(v) => {
                    v.insert(i as u32);
                }
            }
        }
        self.writer.record(i, rec, data, infos, &mut self.summary)
    }
}

/// Per-task scratch buffers, reused across the records of a batch.
#[derive(Default)]
struct Scratch {
    /// After [`analyse_one`]: the canonical form of the text as it will be
    /// written, which near-duplicate fingerprints are taken from.
    canon: String,
    map: OffsetMap,
    cut: String,
    /// The canonical bytes, when only their hash is needed.
    bytes: Vec<u8>,
    near: near::Scratch,
    /// The record's full canonical form, before in-record cuts, and its
    /// offset map (encoded), when repeated substrings are on.
    text: Option<(String, Vec<u64>)>,
}

pub(super) fn run(
    sources: &[Source],
    cfg: &Config,
    norm: &Normalizer,
    mut near: Option<(&Sketching, &mut Collector)>,
    mut stream: Option<&mut Stream<'_>>,
    mut texts: Option<&mut Texts>,
    progress: &dyn Progress,
) -> Result<(Vec<Info>, u64)> {
    let sketching = near.as_ref().map(|(s, _)| *s);
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
        // Batches are numbered as they leave the reader, so that each task
        // knows the table index of its first record.
        let mut first = 0u32;
        let numbered = rx.into_iter().map(move |b: Batch| {
            let at = first;
            first += b.records.len() as u32;
            (at, b)
        });
        let work = |(at, batch): (u32, Batch)| {
            let mut s = Scratch::default();
            let mut fingerprints = Vec::new();
            let mut canon_texts = Vec::new();
            let infos: Vec<Info> = batch
                .records
                .iter()
                .zip(at..)
                .map(|(r, i)| {
                    let info = analyse_one(i, sources, cfg, norm, r, &batch.data, &mut s);
                    if let Some(sk) = sketching.filter(|_| matches!(info.state, State::Ok)) {
                        fingerprints.push((i, sk.fingerprint(&s.canon, &mut s.near)));
                    }
                    if let Some(t) = s.text.take() {
                        canon_texts.push((i, t));
                    }
                    info
                })
                .collect();
            let bytes: u64 = batch.records.iter().map(|r| (r.end - r.start + r.tail) as u64).sum();
            (batch, infos, fingerprints, canon_texts, bytes)
        };
        crate::ordered::map_ordered(
            numbered,
            work,
            |(batch, batch_infos, fingerprints, canon_texts, bytes)| {
                let first = infos.len();
                let n = batch_infos.len() as u64;
                if let Some((_, collector)) = near.as_mut() {
                    for (i, fp) in &fingerprints {
                        collector.add(*i, fp)?;
                    }
                }
                if let Some(texts) = texts.as_mut() {
                    for (i, (canon, map)) in &canon_texts {
                        texts.push(*i, canon, map)?;
                    }
                }
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
                if let Some(st) = stream.as_mut() {
                    for (i, rec) in (first..).zip(&batch.records) {
                        st.decide_and_write(i, rec, &batch.data, &mut infos)?;
                    }
                }
                bytes_in += bytes;
                progress.advance(n, bytes);
                Ok(())
            },
        )
    });
    progress.finish();
    result.map(|()| (infos, bytes_in))
}

fn analyse_one(
    index: u32,
    sources: &[Source],
    cfg: &Config,
    norm: &Normalizer,
    rec: &RawRecord,
    data: &[u8],
    s: &mut Scratch,
) -> Info {
    let mut info = Info::new(rec.source, rec.line);
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
    let with_map = cfg.min_repeat.is_some() || cfg.substrings.is_some();
    let stats = cfg.stats || !cfg.thresholds.is_empty();
    if !with_map && !stats && cfg.near.is_none() {
        // Only the hash is needed: skip the canonical text as a `String`.
        norm.normalize_bytes_into(text, &mut s.bytes);
        info.hash = xxh3_128(&s.bytes);
        info.len = text.len() as u64;
        return info;
    }
    norm.normalize_into(text, &mut s.canon, with_map.then_some(&mut s.map));
    if cfg.substrings.is_some() {
        let mut map = Vec::with_capacity(1 + 2 * s.map.pieces());
        s.map.encode(&mut map);
        s.text = Some((s.canon.clone(), map));
    }

    if let Some(min) = cfg.min_repeat {
        info.cuts = repeats::find(&s.canon, min)
            .into_iter()
            .filter_map(|r| {
                let o = s.map.original_range_inner(r.range.start, r.range.end);
                let first = s.map.to_original(r.first, neardup_text::Round::Up);
                (!o.is_empty()).then_some(Cut {
                    start: o.start as u64,
                    len: o.len() as u64,
                    first_record: index,
                    first_offset: first as u64,
                    reason: Reason::Repeat,
                })
            })
            .collect();
    }
    if stats {
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
