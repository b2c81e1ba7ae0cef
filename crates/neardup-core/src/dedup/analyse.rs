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
use super::table::{apply_cuts, Cut, Info, State};
use crate::config::{Config, OnError};
use crate::error::{Error, Result};
use crate::ledger::Reason;
use crate::progress::Progress;
use crate::repeats;
use crate::repetition::Stats;

/// Per-task scratch buffers, reused across the records of a batch.
#[derive(Default)]
struct Scratch {
    /// After [`analyse_one`]: the canonical form of the text as it will be
    /// written, which near-duplicate fingerprints are taken from.
    canon: String,
    map: OffsetMap,
    cut: String,
    near: near::Scratch,
}

pub(super) fn run(
    sources: &[Source],
    cfg: &Config,
    norm: &Normalizer,
    mut near: Option<(&Sketching, &mut Collector)>,
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
            let infos: Vec<Info> = batch
                .records
                .iter()
                .zip(at..)
                .map(|(r, i)| {
                    let info = analyse_one(i, sources, cfg, norm, r, &batch.data, &mut s);
                    if let Some(sk) = sketching.filter(|_| matches!(info.state, State::Ok)) {
                        fingerprints.push((i, sk.fingerprint(&s.canon, &mut s.near)));
                    }
                    info
                })
                .collect();
            let bytes: u64 = batch.records.iter().map(|r| (r.end - r.start + r.tail) as u64).sum();
            (infos, fingerprints, bytes)
        };
        crate::ordered::map_ordered(numbered, work, |(batch_infos, fingerprints, bytes)| {
            let n = batch_infos.len() as u64;
            if let Some((_, collector)) = near.as_mut() {
                for (i, fp) in &fingerprints {
                    collector.add(*i, fp)?;
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
            bytes_in += bytes;
            progress.advance(n, bytes);
            Ok(())
        })
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
    let with_map = cfg.min_repeat.is_some();
    norm.normalize_into(text, &mut s.canon, with_map.then_some(&mut s.map));

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
