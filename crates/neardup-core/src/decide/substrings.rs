//! Repeated substrings across the corpus: the last deciding stage.
//!
//! Pass 1 streams every record's canonical form to `neardup-suffix`'s corpus
//! and parks its offset map ([`Texts`]), both on disk. Once exact and near
//! duplicates are decided, the records still kept are searched (the others
//! are masked out, never copied), and `neardup-suffix` finds every span
//! of at least `min_len` canonical bytes that occurs elsewhere (earlier, with
//! [`Remove::Later`]). Each span is mapped back to the record's own bytes
//! through its offset map (shrunk inward to whole original characters, so a
//! typographic variant is cut exactly and the output stays valid UTF-8), and
//! so is the offset of the copy it repeats. The cuts join the record's
//! in-record ones; the writer then removes records left (nearly) empty.
//!
//! Removed records are left out on purpose: a passage whose only other copy
//! sits in a removed duplicate is not repeated in the output, so it stays.

use neardup_suffix::{Config as SuffixConfig, CorpusWriter, Mode, Phase};
use neardup_text::{OffsetMap, Round};
use serde::Serialize;

use super::store::SliceStore;
use super::{Cut, Info};
use crate::error::{Error, Result};
use crate::ledger::Reason;
use crate::progress::Progress;
use crate::settings::{Remove, Resources, SubstringSettings};

/// What pass 1 collects: each readable record's canonical text, streamed
/// to the suffix-array corpus (on disk), and its offset map, parked on disk.
pub(crate) struct Texts {
    corpus: CorpusWriter,
    maps: SliceStore,
    /// Corpus document `d` is record `records[d]`.
    records: Vec<u32>,
    min_len: usize,
}

impl Texts {
    pub(crate) fn new(opts: &SubstringSettings, res: &Resources) -> Result<Texts> {
        let mut config = SuffixConfig::new(opts.min_len.max(1), &res.tmp_dir);
        config.mode = match opts.remove {
            Remove::Later => Mode::Later,
            Remove::All => Mode::All,
        };
        config.min_tokens = opts.min_tokens;
        config.memory = res.memory.max(1);
        config.threads = rayon::current_num_threads();
        Ok(Texts {
            corpus: CorpusWriter::new(config).map_err(suffix_error)?,
            maps: SliceStore::new(&res.tmp_dir).map_err(|e| tmp_error(&res.tmp_dir, e))?,
            records: Vec::new(),
            min_len: opts.min_len,
        })
    }

    /// Adds record `index`'s canonical text and encoded offset map.
    pub(crate) fn push(&mut self, index: u32, canon: &str, map: &[u64]) -> Result<()> {
        self.corpus.add_str(canon).map_err(suffix_error)?;
        self.records.push(index);
        self.maps.push(index as usize, map)?;
        Ok(())
    }
}

/// What the stage found, for the summary.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SubstringReport {
    /// Shortest repeat cut, in canonical bytes.
    pub min_len: usize,
    /// Records searched (those still kept after exact and near dedup).
    pub records: u64,
    /// Canonical bytes searched.
    pub canonical_bytes: u64,
    /// Spans cut, including those of records then removed as emptied
    /// (the summary's top-level `spans_cut` counts modified records only).
    pub cuts: u64,
    /// Original bytes in those spans (likewise).
    pub bytes_cut: u64,
    /// Records with at least one cut.
    pub records_cut: u64,
}

/// Finds repeated substrings among the records still kept and adds their
/// cuts to `infos`.
pub(crate) fn decide(
    texts: Texts,
    infos: &mut [Info],
    progress: &dyn Progress,
) -> Result<SubstringReport> {
    let Texts { corpus, mut maps, records, min_len } = texts;
    maps.seal()?;
    // Only the records still kept are searched: a passage whose other copy
    // was in a removed duplicate is not repeated in the output.
    let alive = |d: u32| infos[records[d as usize] as usize].alive();
    let mut report = SubstringReport {
        min_len,
        records: (0..records.len() as u32).filter(|&d| alive(d)).count() as u64,
        ..SubstringReport::default()
    };
    let repeats = corpus.finish_only(&alive, &Bars::new(progress)).map_err(suffix_error)?;
    report.canonical_bytes = repeats.stats().bytes;

    progress.phase("cut", None);
    let (mut own, mut copy) = (Map::default(), Map::default());
    for doc in repeats.iter() {
        let doc = doc.map_err(suffix_error)?;
        let record = records[doc.doc as usize];
        own.load(&maps, record)?;
        let mut cuts = Vec::with_capacity(doc.cuts.len());
        for c in &doc.cuts {
            let range = own.map.original_range_inner(c.start, c.end());
            if range.is_empty() {
                continue;
            }
            let first_record = records[c.first_doc as usize];
            let first = if first_record == record {
                &own.map
            } else {
                copy.load(&maps, first_record)?;
                &copy.map
            };
            cuts.push(Cut {
                start: range.start as u64,
                len: range.len() as u64,
                first_record,
                first_offset: first.to_original(c.first_offset, Round::Up) as u64,
                reason: Reason::Substring,
            });
        }
        if cuts.is_empty() {
            continue;
        }
        report.cuts += cuts.len() as u64;
        report.bytes_cut += cuts.iter().map(|c| c.len).sum::<u64>();
        report.records_cut += 1;
        let info = &mut infos[record as usize];
        info.cuts = merge(std::mem::take(&mut info.cuts), cuts);
        progress.advance(1, 0);
    }
    progress.finish();
    Ok(report)
}

/// One record's offset map, read from the store unless it is loaded already
/// (cuts of one record often point at the same copy: boilerplate).
#[derive(Default)]
struct Map {
    record: Option<u32>,
    map: OffsetMap,
    words: Vec<u64>,
}

impl Map {
    fn load(&mut self, store: &SliceStore, record: u32) -> Result<()> {
        if self.record == Some(record) {
            return Ok(());
        }
        store.get(record as usize, &mut self.words)?;
        if self.map.decode(&self.words).is_none() {
            self.record = None;
            return Err(Error::Internal(format!("offset map of record {record} is corrupt")));
        }
        self.record = Some(record);
        Ok(())
    }
}

/// Both cut lists as one: sorted, overlapping or touching cuts joined (the
/// earlier-starting one names the reason and the copy).
pub(crate) fn merge(a: Vec<Cut>, b: Vec<Cut>) -> Vec<Cut> {
    let mut all = a;
    all.extend(b);
    all.sort_by_key(|c| (c.start, std::cmp::Reverse(c.len)));
    let mut out: Vec<Cut> = Vec::with_capacity(all.len());
    for c in all {
        match out.last_mut() {
            Some(last) if c.start <= last.start + last.len => {
                let end = (last.start + last.len).max(c.start + c.len);
                last.len = end - last.start;
            }
            _ => out.push(c),
        }
    }
    out
}

/// `neardup-suffix`'s phases on our progress bar: `partition` (bytes, when
/// the corpus is split into buckets), then `build+find` (suffix arrays built
/// and scanned bucket by bucket, so the two advance together: one bar of
/// twice the windows).
struct Bars<'a> {
    progress: &'a dyn Progress,
    windows: std::sync::atomic::AtomicU64,
}

impl<'a> Bars<'a> {
    fn new(progress: &'a dyn Progress) -> Bars<'a> {
        Bars { progress, windows: Default::default() }
    }

    fn search(&self) {
        let total = 2 * self.windows.load(std::sync::atomic::Ordering::Relaxed);
        self.progress.phase("build+find", Some(total));
    }
}

impl neardup_suffix::Progress for Bars<'_> {
    fn start(&self, phase: Phase, total: u64) {
        match phase {
            Phase::Build => {
                self.windows.store(total, std::sync::atomic::Ordering::Relaxed);
                self.search();
            }
            Phase::Find => {}
            Phase::Partition => self.progress.phase("partition", Some(total)),
        }
    }
    fn advance(&self, _phase: Phase, delta: u64) {
        self.progress.advance(0, delta);
    }
    fn finish(&self, phase: Phase) {
        match phase {
            Phase::Partition => self.search(),
            Phase::Build => {}
            Phase::Find => self.progress.finish(),
        }
    }
}

fn suffix_error(e: neardup_suffix::Error) -> Error {
    Error::Substrings(Box::new(e))
}

fn tmp_error(dir: &std::path::Path, e: std::io::Error) -> Error {
    std::io::Error::new(e.kind(), format!("creating a temporary file in {}: {e}", dir.display()))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(start: u64, len: u64, reason: Reason) -> Cut {
        Cut { start, len, first_record: 0, first_offset: start, reason }
    }

    #[test]
    fn merge_joins_overlapping_and_touching_cuts() {
        let a = vec![cut(10, 5, Reason::Repeat), cut(40, 5, Reason::Repeat)];
        let b = vec![
            cut(12, 8, Reason::Substring),
            cut(20, 3, Reason::Substring),
            cut(60, 1, Reason::Substring),
        ];
        let m = merge(a, b);
        assert_eq!(
            m.iter().map(|c| (c.start, c.len, c.reason)).collect::<Vec<_>>(),
            [(10, 13, Reason::Repeat), (40, 5, Reason::Repeat), (60, 1, Reason::Substring)]
        );
    }

    #[test]
    fn merge_keeps_a_cut_inside_another_once() {
        let m = merge(vec![cut(0, 100, Reason::Substring)], vec![cut(10, 5, Reason::Repeat)]);
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].start, m[0].len, m[0].reason), (0, 100, Reason::Substring));
    }
}
