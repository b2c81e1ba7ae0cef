//! The decisions: which records are duplicates of which, what is cut, and
//! what becomes of each record — as plain functions and one small engine,
//! with no file I/O.
//!
//! - [`exact`]: records whose canonical texts hash alike; the keep policy
//!   picks each group's survivor.
//! - [`near`]: LSH candidates, verified, the greedy in keep order
//!   ([`near::greedy`]) and the pieces the distributed drivers run per
//!   bucket and per component.
//! - [`substrings`]: spans repeated across the records still kept.
//! - [`resolve_chains`]: every duplicate points at the record finally kept.
//! - [`Decisions::outcome`]: what becomes of record `k` (its ledger entry).
//!
//! [`Deduper`] strings them together on one machine: push each record's
//! [`Analysis`] in input order (the CLI's first pass does, and so does the
//! Python package, a batch at a time), then [`Deduper::decide`]. Memory per
//! record is a small table entry (~100 bytes and the id); shingle sets,
//! signatures, candidate pairs and canonical texts live in temp files.
//!
//! ```
//! use neardup_core::{Analyzer, Deduper, NoProgress, OnError, Resources, Settings};
//! use neardup_core::ledger::{Reason, Status};
//!
//! let analyzer = Analyzer::new(&Settings::default(), false)?;
//! let mut d = Deduper::new(&analyzer, &Resources::default(), OnError::Fail, vec!["mem".into()])?;
//! let texts = ["he said \"yes\" -- today", "He said \u{201C}yes\u{201D} \u{2014} today", "a dog"];
//! d.push_texts(&analyzer, &texts, None)?;
//! let decisions = d.decide(false, &NoProgress)?;
//! let o = decisions.outcome(1, None);
//! assert_eq!((o.status, o.reason, o.duplicate_of), (Status::Removed, Some(Reason::Exact), Some(0)));
//! assert_eq!(decisions.outcome(2, None).status, Status::Kept);
//! # Ok::<(), neardup_core::Error>(())
//! ```

pub mod exact;
pub mod near;
pub(crate) mod store;
pub mod substrings;

use std::sync::{Arc, Mutex};

use neardup_io::{Located, RecordError};

use crate::analysis::{Analysis, Analyzer, Fingerprint, Spares, SPARE_BUNDLE};
use crate::error::{Error, Result};
use crate::ledger::{Entry, Reason, Status};
use crate::progress::Progress;
use crate::repetition::Stats;
use crate::settings::{Keep, OnError, Resources, Settings};
use store::{RowStore, StringStore};

pub use near::NearReport;
pub use substrings::SubstringReport;

/// The most records one run can hold: record indices are 32-bit (they are
/// packed into LSH bucket entries and candidate pairs). Past it a run stops
/// with [`Error::TooManyRecords`] rather than wrap.
pub const MAX_RECORDS: u64 = u32::MAX as u64;

/// A span cut from a record's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cut {
    /// Byte offset in the text.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// The record holding the earlier copy (this one, for repeats).
    pub first_record: u32,
    /// Offset of the earlier copy in that record's text.
    pub first_offset: u64,
    /// Why it is cut.
    pub reason: Reason,
}

/// What the stages learned about one record.
pub(crate) struct Info {
    pub(crate) source: u32,
    pub(crate) line: u64,
    /// Hash of the canonical form of the text as it will be written.
    pub(crate) hash: u128,
    /// Length in bytes of the text as it will be written.
    pub(crate) len: u64,
    /// Spans to cut, sorted and disjoint.
    pub(crate) cuts: Vec<Cut>,
    pub(crate) state: State,
    pub(crate) decision: Decision,
}

/// Whether a record takes part in matching at all.
pub(crate) enum State {
    Ok,
    /// Could not be read or parsed.
    Rejected(Box<RecordError>),
    /// Above a repetition threshold (the message says which).
    Filtered(Box<str>),
}

/// What becomes of a record that takes part.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Decision {
    Keep,
    Duplicate { of: u32, reason: Reason, similarity: f32 },
}

impl Info {
    /// The entry of record `index` at `source:line`, from its analysis.
    fn new(index: u32, (source, line): (u32, u64), a: Analysis) -> Info {
        let cuts = a
            .repeats
            .iter()
            .map(|r| Cut {
                start: r.start,
                len: r.len,
                first_record: index,
                first_offset: r.first,
                reason: Reason::Repeat,
            })
            .collect();
        Info {
            source,
            line,
            hash: a.hash,
            len: a.len,
            cuts,
            state: match a.filtered {
                Some(why) => State::Filtered(why.into_boxed_str()),
                None => State::Ok,
            },
            decision: Decision::Keep,
        }
    }

    /// Whether the record takes part in matching and is still kept.
    pub(crate) fn alive(&self) -> bool {
        matches!(self.state, State::Ok) && self.decision == Decision::Keep
    }

    /// Its id when it has none of its own: `source:line`, or the source's
    /// name.
    pub(crate) fn default_id(&self, names: &[String]) -> String {
        let name = names.get(self.source as usize).map_or("", String::as_str);
        if self.line == 0 {
            name.to_string()
        } else {
            format!("{name}:{}", self.line)
        }
    }
}

/// A record's place in keep order: sort records by this, ascending, and the
/// first of each group is the one kept — for exact groups and near
/// clusters alike. Record `index` holds `len` bytes (as written); with
/// `longest_first` (containment removes the shorter record) the longest
/// comes first whatever the policy. Ties cannot happen: the index breaks
/// them, so the earlier record wins.
pub fn keep_key(keep: Keep, longest_first: bool, index: u64, len: u64) -> (u64, u64) {
    match (keep, longest_first) {
        (_, true) | (Keep::Longest, _) => (u64::MAX - len, index),
        (Keep::Last, _) => (u64::MAX - index, index),
        (Keep::First, _) => (index, index),
    }
}

/// Points every duplicate at the record finally kept for it: an exact
/// duplicate of a record later removed as a near duplicate of `k` becomes a
/// near duplicate of `k`, with that similarity (their texts are the same).
pub(crate) fn resolve_chains(infos: &mut [Info]) {
    for i in 0..infos.len() {
        let Decision::Duplicate { mut of, mut reason, mut similarity } = infos[i].decision else {
            continue;
        };
        // Chains are short (exact, then near); the bound guards against a
        // cycle that no stage should make.
        for _ in 0..infos.len() {
            // An earlier record of history is where a chain ends.
            let Some(target) = infos.get(of as usize) else { break };
            match target.decision {
                Decision::Duplicate { of: next, reason: r, similarity: s } if next != of => {
                    of = next;
                    reason = r;
                    similarity = similarity.min(s);
                }
                _ => break,
            }
        }
        infos[i].decision = Decision::Duplicate { of, reason, similarity };
    }
}

/// What an index of earlier batches answers, for deciding a new batch
/// against everything kept before it (`neardup-index` implements it over its
/// store). Earlier records are named by their sequence number, their place
/// in history; every one of them ranks before the batch.
pub trait History: Sync {
    /// The first earlier record whose canonical text hashes to `hash`, if
    /// any, as where its text now lives: itself (reason exact) if it was
    /// kept, else the record kept in its place, with that reason and
    /// similarity.
    ///
    /// # Errors
    /// The index could not be read.
    fn exact(&self, hash: u128) -> Result<Option<EarlierMatch>>;

    /// The kept earlier records whose band `band` has key `key`, ascending:
    /// `out`'s contents are replaced.
    ///
    /// # Errors
    /// The index could not be read.
    fn band(&self, band: usize, key: u64, out: &mut Vec<u64>) -> Result<()>;

    /// A kept earlier record's shingle set: `out`'s contents are replaced.
    ///
    /// # Errors
    /// The index could not be read.
    fn set(&self, seq: u64, out: &mut Vec<u64>) -> Result<()>;

    /// A kept earlier record's signature: `out`'s contents are replaced.
    ///
    /// # Errors
    /// The index could not be read.
    fn signature(&self, seq: u64, out: &mut Vec<u32>) -> Result<()>;

    /// An earlier record's id.
    ///
    /// # Errors
    /// The index could not be read.
    fn id(&self, seq: u64) -> Result<String>;
}

/// Where the text of an earlier record with the same canonical hash lives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlierMatch {
    /// The kept earlier record.
    pub seq: u64,
    /// `exact` when the record with the hash was kept itself; else the
    /// reason it was removed in favour of `seq`.
    pub reason: Reason,
    /// Similarity to `seq`.
    pub similarity: f32,
}

/// Earlier records a decision names, as indices past the batch's own.
pub(crate) struct Externals {
    base: u32,
    seqs: Vec<u64>,
    ids: Vec<String>,
    by_seq: std::collections::BTreeMap<u64, u32>,
}

impl Externals {
    fn new(base: u32) -> Externals {
        Externals { base, seqs: Vec::new(), ids: Vec::new(), by_seq: Default::default() }
    }

    /// The index that stands for earlier record `seq`.
    pub(crate) fn index_of(&mut self, seq: u64, history: &dyn History) -> Result<u32> {
        if let Some(&i) = self.by_seq.get(&seq) {
            return Ok(i);
        }
        let i = self.base + self.ids.len() as u32;
        self.ids.push(history.id(seq)?);
        self.seqs.push(seq);
        self.by_seq.insert(seq, i);
        Ok(i)
    }
}

/// What a batch adds to an index once it is written: each record that
/// first had its canonical hash in the batch (and not before it), in input
/// order.
#[derive(Clone, Debug, PartialEq)]
pub struct Addition {
    /// The record's index in the batch.
    pub index: u32,
    /// Its id.
    pub id: String,
    /// Its canonical hash.
    pub hash: u128,
    /// Bytes of its text as written.
    pub len: u64,
    /// Kept: its fingerprint (empty without near duplicates), for later
    /// batches to match against. Removed: `None`.
    pub fingerprint: Option<Fingerprint>,
    /// Removed as a near duplicate: the record kept in its place, the
    /// reason and the similarity (later exact copies of it point there).
    pub duplicate_of: Option<(Earlier, Reason, f32)>,
}

/// A record a batch record was matched with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Earlier {
    /// A record of the same batch, by index.
    Batch(u32),
    /// A record of history, by sequence number.
    History(u64),
}

/// Collects record analyses in input order and decides (see the module
/// docs).
pub struct Deduper {
    settings: Settings,
    on_error: OnError,
    names: Vec<String>,
    infos: Vec<Info>,
    collector: Option<near::Collector>,
    texts: Option<substrings::Texts>,
    /// Gopher statistics, parked on disk by record (52 bytes each would
    /// otherwise stay in the table until the ledger is written).
    stats: Option<Mutex<RowStore>>,
    /// The records' own ids, on disk.
    ids: StringStore,
    /// The run's memory budget.
    memory: usize,
    /// Fingerprints pushed, handed back to the analyzer a bundle at a time.
    spent: Vec<Fingerprint>,
    spares: Option<Arc<Spares>>,
}

impl Deduper {
    /// A deduper for `analyzer`'s settings; records name their source by an
    /// index into `names` (used in ids and errors).
    ///
    /// # Errors
    /// Temp files cannot be created in `resources.tmp_dir`.
    pub fn new(
        analyzer: &Analyzer,
        resources: &Resources,
        on_error: OnError,
        names: Vec<String>,
    ) -> Result<Deduper> {
        let settings = analyzer.settings().clone();
        let collector = match (&settings.near, analyzer.banding()) {
            (Some(opts), Some(params)) => Some(near::Collector::new(opts, params, resources)?),
            _ => None,
        };
        let texts = settings
            .substrings
            .as_ref()
            .map(|s| substrings::Texts::new(s, resources))
            .transpose()?;
        let stats = if analyzer.computes_stats() {
            Some(Mutex::new(RowStore::new(&resources.tmp_dir, Stats::WORDS)?))
        } else {
            None
        };
        let ids = StringStore::new(&resources.tmp_dir)?;
        Ok(Deduper {
            settings,
            on_error,
            names,
            infos: Vec::new(),
            collector,
            texts,
            stats,
            ids,
            memory: resources.memory,
            spent: Vec::new(),
            spares: analyzer.spares(),
        })
    }

    /// Memory the record table holds or will hold while deciding: the
    /// entries, and what each record costs the stages besides what spills.
    fn table_bytes(&self) -> usize {
        let per_record = StringStore::RECORD_BYTES
            + if self.collector.is_some() { near::Collector::RECORD_BYTES } else { 0 };
        self.infos.capacity() * std::mem::size_of::<Info>() + self.infos.len() * per_record
    }

    /// Records read so far.
    pub fn len(&self) -> usize {
        self.infos.len()
    }

    /// Whether no record was pushed.
    pub fn is_empty(&self) -> bool {
        self.infos.is_empty()
    }

    /// Adds the next record: where it was read (`source` index, 1-based
    /// line or 0), its id if it has one, and its analysis or why it could
    /// not be read. Returns its index.
    ///
    /// # Errors
    /// A bad record with [`OnError::Fail`] ([`Error::BadRecord`], naming
    /// source and line); past [`MAX_RECORDS`]; temp files failing.
    pub fn push(
        &mut self,
        at: (u32, u64),
        id: Option<Box<str>>,
        analysis: std::result::Result<Analysis, RecordError>,
    ) -> Result<u32> {
        let index = check_index(self.infos.len() as u64)?;
        let info = match analysis {
            Ok(mut a) => {
                if let (Some(store), Some(st)) = (self.stats.as_mut(), a.stats.take()) {
                    store
                        .get_mut()
                        .map_err(|_| Error::Internal("statistics store poisoned".into()))?
                        .put(u64::from(index), &st.to_words())?;
                }
                if let (Some(c), Some(fp)) = (self.collector.as_mut(), a.fingerprint.take()) {
                    c.add(index, &fp)?;
                    if let Some(spares) = &self.spares {
                        self.spent.push(fp);
                        if self.spent.len() == SPARE_BUNDLE {
                            spares.give(std::mem::take(&mut self.spent));
                        }
                    }
                }
                if let (Some(t), Some((canon, map))) = (self.texts.as_mut(), a.canonical.take()) {
                    t.push(index, &canon, &map)?;
                }
                Info::new(index, at, a)
            }
            Err(e) => {
                if self.on_error == OnError::Fail {
                    return Err(Error::BadRecord(Box::new(Located {
                        source_name: self.names.get(at.0 as usize).cloned().unwrap_or_default(),
                        line: at.1,
                        error: e,
                    })));
                }
                let mut info = Info::new(index, at, Analysis::default());
                info.state = State::Rejected(Box::new(e));
                info
            }
        };
        self.append(id, info)?;
        Ok(index)
    }

    /// Pushes the record at `at` whose text is byte for byte that of record
    /// `of`, pushed before, without its analysis: everything analysis
    /// gives is a function of the text, so record `of`'s is taken (its
    /// entry, statistics and fingerprint). What a dedup run does for the
    /// copies it recognizes; the decisions are those of pushing the
    /// analysis.
    ///
    /// # Errors
    /// `of` not pushed before, or a store failing.
    pub(crate) fn push_copy(
        &mut self,
        at: (u32, u64),
        id: Option<Box<str>>,
        of: u32,
    ) -> Result<u32> {
        let index = check_index(self.infos.len() as u64)?;
        if self.texts.is_some() {
            return Err(Error::Internal("copies are not pushed with substrings on".into()));
        }
        let Some(first) = self.infos.get(of as usize) else {
            return Err(Error::Internal(format!("record {index} copies {of}, not pushed")));
        };
        let state = match &first.state {
            State::Ok => State::Ok,
            State::Filtered(why) => State::Filtered(why.clone()),
            State::Rejected(_) => {
                return Err(Error::Internal(format!("record {index} copies a rejected one")))
            }
        };
        let info = Info {
            source: at.0,
            line: at.1,
            hash: first.hash,
            len: first.len,
            // Repeats are cut against the record's own earlier copy.
            cuts: first.cuts.iter().map(|c| Cut { first_record: index, ..*c }).collect(),
            state,
            decision: Decision::Keep,
        };
        if let Some(store) = self.stats.as_mut() {
            let store =
                store.get_mut().map_err(|_| Error::Internal("statistics store poisoned".into()))?;
            let mut words = Vec::new();
            if store.get(u64::from(of), &mut words)? {
                store.put(u64::from(index), &words)?;
            }
        }
        // A fingerprint was added for `of` exactly when it was not filtered.
        if let Some(c) = self.collector.as_mut().filter(|_| matches!(info.state, State::Ok)) {
            c.add_copy(index, of)?;
        }
        self.append(id, info)?;
        Ok(index)
    }

    /// Adds a record's id and entry to the table.
    fn append(&mut self, id: Option<Box<str>>, info: Info) -> Result<()> {
        self.ids.push(id.as_deref())?;
        if self.infos.len() == self.infos.capacity() {
            // Grow by a quarter, not double: at millions of records the
            // slack of doubling is gigabytes.
            self.infos.reserve_exact((self.infos.len() / 4).max(1024));
            // The budget covers the table too: what spills gets the rest.
            let left = self.memory.saturating_sub(self.table_bytes()).max(self.memory / 8);
            if let Some(c) = self.collector.as_mut() {
                c.set_budget(left);
            }
        }
        self.infos.push(info);
        Ok(())
    }

    /// Decides record `k` at once as an exact duplicate of the first record
    /// with its hash, if any (one-pass runs, where the first copy is kept).
    pub(crate) fn decide_exact_now(&mut self, k: usize, first: &mut exact::FirstSeen) {
        let info = &mut self.infos[k];
        if info.alive() {
            if let Some(of) = first.check(info.hash, k as u32) {
                info.decision = Decision::Duplicate { of, reason: Reason::Exact, similarity: 1.0 };
            }
        }
    }

    /// The record table as it stands.
    pub(crate) fn table(&self) -> Table<'_> {
        Table {
            settings: &self.settings,
            names: &self.names,
            infos: &self.infos,
            stats: self.stats.as_ref(),
            ids: &self.ids,
            externals: &[],
        }
    }

    /// Analyses in-memory texts in parallel (with `ids`, or named
    /// `source:row` from 1) and pushes them in order, as source 0.
    ///
    /// # Errors
    /// As [`Deduper::push`].
    pub fn push_texts<S: AsRef<str> + Sync>(
        &mut self,
        analyzer: &Analyzer,
        texts: &[S],
        ids: Option<&[S]>,
    ) -> Result<()> {
        let analyses = analyzer.analyse_batch(texts);
        for (i, a) in analyses.into_iter().enumerate() {
            let id = ids.and_then(|ids| ids.get(i)).map(|s| s.as_ref().into());
            let row = self.infos.len() as u64 + 1;
            self.push((0, row), id, Ok(a))?;
        }
        Ok(())
    }

    /// Decides every record: exact duplicates, then near duplicates, then
    /// repeated substrings among the records still kept. With `all_pairs`,
    /// also returns every verified near pair (a similarity join).
    ///
    /// # Errors
    /// Temp files failing.
    pub fn decide(self, all_pairs: bool, progress: &dyn Progress) -> Result<Decisions> {
        self.decide_inner(all_pairs, None, progress)
    }

    /// Decides every record against `history` (everything kept before the
    /// batch, ranked before it) and within the batch: what one run over
    /// history and the batch together decides for the batch's records, so
    /// that batches deduplicated one after another against an index equal
    /// one run over their concatenation. [`Decisions::additions`] then says
    /// what to add to the index.
    ///
    /// An index can honour only what a later batch cannot overturn: the
    /// first copy kept, Jaccard similarity, no repeated substrings.
    ///
    /// # Errors
    /// Other settings ([`Error::Settings`]); the index or temp files failing.
    pub fn decide_with_history(
        self,
        history: &dyn History,
        progress: &dyn Progress,
    ) -> Result<Decisions> {
        incremental_settings(&self.settings)?;
        self.decide_inner(false, Some(history), progress)
    }

    fn decide_inner(
        self,
        all_pairs: bool,
        history: Option<&dyn History>,
        progress: &dyn Progress,
    ) -> Result<Decisions> {
        let Deduper { settings, names, mut infos, collector, texts, stats, ids, .. } = self;
        let mut times = DecideTimes::default();
        let clock = std::time::Instant::now();
        let mut externals = Externals::new(infos.len() as u32);
        if let Some(h) = history.filter(|_| settings.exact) {
            // A record whose text history holds: where that text lives
            // (looked up in parallel, applied in order).
            use rayon::prelude::*;
            let hits: Vec<Option<EarlierMatch>> = infos
                .par_iter()
                .map(|i| if i.alive() { h.exact(i.hash) } else { Ok(None) })
                .collect::<Result<_>>()?;
            for (info, hit) in infos.iter_mut().zip(hits) {
                if let Some(m) = hit {
                    let of = externals.index_of(m.seq, h)?;
                    info.decision =
                        Decision::Duplicate { of, reason: m.reason, similarity: m.similarity };
                }
            }
        }
        if settings.exact {
            exact::decide(&mut infos, settings.keep);
        }
        // Records still alive now are the first with their hash, in the
        // batch and in history: what an index adds.
        let fresh: Vec<bool> =
            if history.is_some() { infos.iter().map(Info::alive).collect() } else { Vec::new() };
        times.exact = clock.elapsed().as_secs_f64();
        let clock = std::time::Instant::now();
        let mut pairs = Vec::new();
        let mut fingerprints = None;
        let mut near = match collector {
            Some(c) => {
                progress.phase("near", None);
                let h = history.map(|h| (h, &mut externals));
                let (report, fp) =
                    c.decide(&mut infos, settings.keep, all_pairs.then_some(&mut pairs), h)?;
                // Only an index reads them again ([`Decisions::additions`]).
                // Otherwise their temp files go now, before pass 2 writes
                // about as many bytes: the page cache they free is what its
                // writes land in, and their disk space is free meanwhile. (A
                // VM may hand memory left free for a while back to its host;
                // touching such a page again then costs ~15 µs, touching one
                // freed just now nothing.)
                fingerprints = history.is_some().then_some(fp);
                progress.finish();
                Some(report)
            }
            None => None,
        };
        resolve_chains(&mut infos);
        if let Some(n) = near.as_mut() {
            // What the ledger says: near removals and their exact copies.
            n.removed = infos
                .iter()
                .filter(|i| {
                    matches!(i.decision, Decision::Duplicate { reason: Reason::Near, .. })
                        && matches!(i.state, State::Ok)
                })
                .count() as u64;
        }
        times.near = clock.elapsed().as_secs_f64();
        let clock = std::time::Instant::now();
        let substrings = texts.map(|t| substrings::decide(t, &mut infos, progress)).transpose()?;
        times.substrings = clock.elapsed().as_secs_f64();
        Ok(Decisions {
            settings,
            names,
            ids,
            infos,
            near,
            substrings,
            pairs,
            times,
            stats,
            externals,
            fresh,
            fingerprints,
        })
    }
}

/// Record index `n` as a 32-bit index, or the error that says why not.
pub(crate) fn check_index(n: u64) -> Result<u32> {
    u32::try_from(n)
        .ok()
        .filter(|&i| u64::from(i) < MAX_RECORDS)
        .ok_or(Error::TooManyRecords { limit: MAX_RECORDS })
}

/// What becomes of one record.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Kept, modified, removed or rejected.
    pub status: Status,
    /// Why, for removed and modified records.
    pub reason: Option<Reason>,
    /// For duplicates, the index of the record kept in its place.
    pub duplicate_of: Option<u32>,
    /// Similarity to that record (1.0 for exact duplicates and cuts).
    pub similarity: Option<f32>,
    /// What was wrong (rejected), or the threshold exceeded (repetition).
    pub error: Option<String>,
}

/// Every record's decision, in input order.
pub struct Decisions {
    settings: Settings,
    names: Vec<String>,
    infos: Vec<Info>,
    /// Near-duplicate banding and counts, when that stage was on.
    pub near: Option<NearReport>,
    /// Repeated-substring counts, when that stage was on.
    pub substrings: Option<SubstringReport>,
    /// With `all_pairs`: every verified near pair `(a, b, similarity)`,
    /// `a < b`, sorted.
    pub pairs: Vec<(u32, u32, f32)>,
    /// Wall seconds of each stage.
    pub times: DecideTimes,
    stats: Option<Mutex<RowStore>>,
    ids: StringStore,
    externals: Externals,
    /// With history: whether record `k` first had its hash in the batch.
    fresh: Vec<bool>,
    fingerprints: Option<near::Fingerprints>,
}

/// A setting an index cannot honour (see [`Deduper::decide_with_history`]):
/// which, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unhonourable {
    /// The setting, as the CLI spells it: `keep`, `similarity` or
    /// `substrings`.
    pub setting: &'static str,
    /// Why an index cannot honour it, and what to do instead.
    pub why: &'static str,
}

impl std::fmt::Display for Unhonourable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.why)
    }
}

impl std::error::Error for Unhonourable {}

/// The first setting of `s` an index cannot honour, if any: one that ranks
/// or cuts by what a later batch can overturn.
pub fn unhonourable(s: &Settings) -> Option<Unhonourable> {
    let (setting, why) = if s.keep != Keep::First {
        ("keep", "`--keep last` and `--keep longest` rank a record by what a later batch can overturn; an index keeps the first copy")
    } else if s
        .near
        .as_ref()
        .is_some_and(|n| n.similarity == crate::settings::Similarity::Containment)
    {
        ("similarity", "`--similarity containment` removes the shorter record, which may come in a later batch; an index matches by Jaccard")
    } else if s.substrings.is_some() {
        ("substrings", "`--substrings` cuts spans whose first copy a later batch cannot move; run `substrings` over the whole corpus instead")
    } else {
        return None;
    };
    Some(Unhonourable { setting, why })
}

/// Settings an index can honour (see [`Deduper::decide_with_history`]).
///
/// # Errors
/// [`SettingError::Conflict`](crate::settings::SettingError::Conflict)
/// naming the first that cannot be honoured, and why ([`unhonourable`]).
pub fn incremental_settings(s: &Settings) -> Result<()> {
    match unhonourable(s) {
        Some(u) => Err(crate::settings::SettingError::Conflict(u.why.to_owned()).into()),
        None => Ok(()),
    }
}

/// Wall seconds of each deciding stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct DecideTimes {
    /// Exact groups.
    pub exact: f64,
    /// Near duplicates: buckets, candidates, verification, the greedy.
    pub near: f64,
    /// Repeated substrings.
    pub substrings: f64,
}

impl Decisions {
    /// Records decided.
    pub fn len(&self) -> usize {
        self.infos.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.infos.is_empty()
    }

    /// The settings decided with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Record `k`'s id.
    ///
    /// # Errors
    /// Reading it back from its temp file failed.
    pub fn id(&self, k: usize) -> Result<String> {
        self.table().id_of(k)
    }

    /// Record `k`'s source index and line.
    pub fn location(&self, k: usize) -> (u32, u64) {
        (self.infos[k].source, self.infos[k].line)
    }

    /// The spans to cut from record `k`'s text (sorted, disjoint), for a
    /// record that stays.
    pub fn cuts(&self, k: usize) -> &[Cut] {
        &self.infos[k].cuts
    }

    /// Whether [`Decisions::outcome`] needs record `k`'s text after its
    /// cuts: with repeated substrings, a record left (nearly) empty is
    /// removed.
    pub fn needs_cut_text(&self, k: usize) -> bool {
        self.table().needs_cut_text(k)
    }

    /// Record `k`'s Gopher statistics, when computed.
    ///
    /// # Errors
    /// Reading them back from their temp file failed.
    pub fn stats(&self, k: usize) -> Result<Option<Stats>> {
        self.table().stats(k)
    }

    /// What becomes of record `k`. `cut_text` is its text with
    /// [`Decisions::cuts`] applied, needed when
    /// [`Decisions::needs_cut_text`] says so (`None` counts as enough text).
    pub fn outcome(&self, k: usize, cut_text: Option<&str>) -> Outcome {
        self.table().outcome(k, cut_text)
    }

    /// Record `k`'s ledger entry for `outcome`.
    ///
    /// # Errors
    /// Reading its statistics back from their temp file failed.
    pub fn entry(&self, k: usize, outcome: &Outcome) -> Result<Entry> {
        self.table().entry(k, outcome)
    }

    pub(crate) fn table(&self) -> Table<'_> {
        Table {
            settings: &self.settings,
            names: &self.names,
            infos: &self.infos,
            stats: self.stats.as_ref(),
            ids: &self.ids,
            externals: &self.externals.ids,
        }
    }

    /// Record `k`'s id, or an earlier record's (an index past the batch, as
    /// [`Outcome::duplicate_of`] may name with history).
    ///
    /// # Errors
    /// Reading it back from its temp file failed.
    pub fn id_of(&self, k: usize) -> Result<String> {
        self.table().id_of(k)
    }

    /// The earlier record an index past the batch stands for.
    pub fn earlier(&self, k: u32) -> Earlier {
        match k.checked_sub(self.externals.base) {
            Some(j) => Earlier::History(self.externals.seqs[j as usize]),
            None => Earlier::Batch(k),
        }
    }

    /// Whether [`Decisions::additions`] has anything to pass on (read off
    /// the decisions, without reading fingerprints or ids back).
    pub fn has_additions(&self) -> bool {
        self.fresh.contains(&true)
    }

    /// What the batch adds to an index (after a run with history; nothing
    /// otherwise): each record that first had its canonical hash in the
    /// batch, in input order, passed to `f`.
    ///
    /// # Errors
    /// Reading fingerprints back failed, or what `f` returns.
    pub fn additions(&self, mut f: impl FnMut(Addition) -> Result<()>) -> Result<()> {
        for (k, info) in self.infos.iter().enumerate() {
            if !self.fresh.get(k).copied().unwrap_or(false) {
                continue;
            }
            let (fingerprint, duplicate_of) = match info.decision {
                Decision::Keep => {
                    let fp = match &self.fingerprints {
                        Some(f) => f.get(k)?,
                        None => Fingerprint::default(),
                    };
                    (Some(fp), None)
                }
                Decision::Duplicate { of, reason, similarity } => {
                    (None, Some((self.earlier(of), reason, similarity)))
                }
            };
            f(Addition {
                index: k as u32,
                id: self.id(k)?,
                hash: info.hash,
                len: info.len,
                fingerprint,
                duplicate_of,
            })?;
        }
        Ok(())
    }

    /// The record kept for record `k` (itself when kept or modified), if it
    /// takes part in matching.
    pub fn cluster(&self, k: usize) -> Option<u32> {
        match (&self.infos[k].state, self.infos[k].decision) {
            (State::Ok, Decision::Keep) => Some(k as u32),
            (State::Ok, Decision::Duplicate { of, .. }) => Some(of),
            _ => None,
        }
    }
}

/// A read-only view of the record table: what outcomes and ledger entries
/// are made from, during a run (one pass) or after it ([`Decisions`]).
pub(crate) struct Table<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) names: &'a [String],
    pub(crate) infos: &'a [Info],
    stats: Option<&'a Mutex<RowStore>>,
    ids: &'a StringStore,
    externals: &'a [String],
}

impl Table<'_> {
    fn id_of(&self, k: usize) -> Result<String> {
        Ok(match self.infos.get(k) {
            Some(info) => match self.ids.get(k)? {
                Some(id) => id,
                None => info.default_id(self.names),
            },
            None => self.externals.get(k - self.infos.len()).cloned().unwrap_or_default(),
        })
    }

    /// See [`Decisions::needs_cut_text`].
    pub(crate) fn needs_cut_text(&self, k: usize) -> bool {
        let i = &self.infos[k];
        self.settings.substrings.is_some() && i.alive() && !i.cuts.is_empty()
    }

    /// See [`Decisions::outcome`].
    pub(crate) fn outcome(&self, k: usize, cut_text: Option<&str>) -> Outcome {
        let info = &self.infos[k];
        let mut o = Outcome {
            status: Status::Kept,
            reason: None,
            duplicate_of: None,
            similarity: None,
            error: None,
        };
        match (&info.state, info.decision) {
            (State::Rejected(e), _) => {
                o.status = Status::Rejected;
                o.error = Some(e.to_string());
            }
            (State::Filtered(why), _) => {
                o.status = Status::Removed;
                o.reason = Some(Reason::Repetition);
                o.error = Some(why.to_string());
            }
            (State::Ok, Decision::Duplicate { of, reason, similarity }) => {
                o.status = Status::Removed;
                o.reason = Some(reason);
                o.duplicate_of = Some(of);
                o.similarity = Some(similarity);
            }
            (State::Ok, Decision::Keep) if info.cuts.is_empty() => {}
            (State::Ok, Decision::Keep) => {
                let uniform = info.cuts.iter().all(|c| c.reason == info.cuts[0].reason);
                o.reason = Some(if uniform { info.cuts[0].reason } else { Reason::Substring });
                let min_keep = self.settings.substrings.as_ref().map(|s| s.min_keep.max(1));
                let left = cut_text.map(|t| t.trim().len());
                if min_keep.zip(left).is_some_and(|(m, l)| l < m) {
                    // Nothing (or too little) of its own is left: every
                    // passage lives on elsewhere, in the record named by
                    // its longest cut.
                    o.status = Status::Removed;
                    o.reason = Some(Reason::Substring);
                    let longest = info.cuts.iter().max_by_key(|c| c.len).map(|c| c.first_record);
                    o.duplicate_of = longest.filter(|&r| r as usize != k);
                } else {
                    o.status = Status::Modified;
                    o.similarity = Some(1.0);
                }
            }
        }
        o
    }

    /// See [`Decisions::stats`].
    pub(crate) fn stats(&self, k: usize) -> Result<Option<Stats>> {
        let Some(store) = self.stats else { return Ok(None) };
        let store =
            store.lock().map_err(|_| Error::Internal("statistics store poisoned".into()))?;
        let mut words = Vec::with_capacity(Stats::WORDS);
        Ok(store.get(k as u64, &mut words)?.then(|| Stats::from_words(&words)))
    }

    /// See [`Decisions::entry`].
    pub(crate) fn entry(&self, k: usize, outcome: &Outcome) -> Result<Entry> {
        let info = &self.infos[k];
        let cut = matches!(outcome.status, Status::Modified)
            || (outcome.status == Status::Removed && outcome.reason == Some(Reason::Substring));
        Ok(Entry {
            id: self.id_of(k)?,
            source: self.names.get(info.source as usize).cloned().unwrap_or_default(),
            line: info.line,
            status: outcome.status,
            reason: outcome.reason,
            duplicate_of: outcome.duplicate_of.map(|d| self.id_of(d as usize)).transpose()?,
            similarity: outcome.similarity,
            spans: if cut { info.cuts.iter().map(|c| [c.start, c.len]).collect() } else { vec![] },
            first: if cut {
                info.cuts
                    .iter()
                    .map(|c| Ok((self.id_of(c.first_record as usize)?, c.first_offset)))
                    .collect::<Result<_>>()?
            } else {
                vec![]
            },
            error: outcome.error.clone(),
            repetition: self.stats(k)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Analyzer, NearSettings, NoProgress, OnError};

    /// Without an index nothing reads the fingerprints after the decision,
    /// so their temp files are gone before pass 2 writes; an index keeps
    /// them for what the batch adds (`tests/history.rs` reads them).
    #[test]
    fn fingerprints_outlive_the_decision_only_for_an_index() {
        let settings = Settings { near: Some(NearSettings::default()), ..Settings::default() };
        let analyzer = Analyzer::new(&settings, false).unwrap();
        let texts: Vec<String> = (0..20)
            .map(|i| format!("record {} says the same few words again and again {i}", i % 3))
            .collect();
        let deduper = || {
            let mut d =
                Deduper::new(&analyzer, &Resources::default(), OnError::Fail, vec!["t".into()])
                    .unwrap();
            d.push_texts(&analyzer, &texts, None).unwrap();
            d
        };
        let plain = deduper().decide(false, &NoProgress).unwrap();
        assert!(plain.near.is_some());
        assert!(plain.fingerprints.is_none());
        let indexed = deduper()
            .decide_with_history(&near::tests::MemHistory::default(), &NoProgress)
            .unwrap();
        assert!(indexed.fingerprints.is_some());
    }

    #[test]
    fn indices_past_the_limit_are_refused_not_wrapped() {
        assert_eq!(check_index(0).unwrap(), 0);
        assert_eq!(check_index(MAX_RECORDS - 1).unwrap(), u32::MAX - 1);
        for n in [MAX_RECORDS, MAX_RECORDS + 1, 1 << 40] {
            let e = check_index(n).unwrap_err();
            assert!(matches!(e, Error::TooManyRecords { .. }), "{n}");
            assert!(e.to_string().contains("4294967295"), "{e}");
        }
    }
}
