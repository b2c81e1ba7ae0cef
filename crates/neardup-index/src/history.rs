//! neardup-core's decisions against an index: the [`History`] a batch is
//! decided against ([`IndexHistory`]), what a decided batch adds
//! ([`add_decisions`]), the matching settings an index keeps
//! ([`settings_json`], [`settings_of`]), and a check of records held in
//! memory, for a service or a binding ([`Checker`], [`check`]).
//!
//! # What an index holds for a batch
//! One run over batches 1..k must decide each record as one run over their
//! concatenation would. For that, history needs two things:
//! - every **kept** record, with its band keys, signature and shingle set,
//!   so that a later record can be matched with it, exactly or near;
//! - for a record **removed as a near duplicate** that was the first with
//!   its canonical text, an **alias**: its exact hash and the kept record
//!   its text lives in (with the reason and similarity), so that a later
//!   exact copy of it is a duplicate of that kept record, as in one run.
//!
//! Exact copies of a text already in history add nothing. This is what
//! [`Decisions::additions`] lists, and [`add_decisions`] turns it into one
//! atomic batch.
//!
//! # Deciding and adding under one writer
//! A batch is decided against a view of history and then added after it;
//! another batch coming in between would be history the decision did not
//! see. The CLI runs one batch per process; a service holds the index's
//! [`Writer`] from deciding to adding ([`Checker::check`] with `add`), so
//! adds are serialized while checks, which add nothing, run beside them on
//! views that see whole batches only.

use neardup_core::ledger::{Reason, Status};
use neardup_core::{
    Analysis, Analyzer, Decisions, Deduper, Earlier, EarlierMatch, History, NoProgress, OnError,
    Resources, Settings,
};
use serde_json::Value;
use xxhash_rust::xxh3::Xxh3;

use crate::codec::{NewAlias, NewEntry, NewRecord, Target};
use crate::error::{Error, Result};
use crate::index::{Index, Receipt, View, Writer};

/// Key of the analysis version in an index's settings (see
/// [`settings_json`]).
const ANALYSIS: &str = "analysis";

/// The settings an index keeps: `settings` as JSON (banding resolved) and
/// the version of the analysis that makes fingerprints (`analysis`), since
/// records analysed by another version cannot be matched with these.
pub fn settings_json(settings: &Settings) -> Value {
    let mut v = settings.to_json();
    if let Value::Object(m) = &mut v {
        m.insert(ANALYSIS.to_owned(), Value::from(neardup_core::settings::ANALYSIS_VERSION));
    }
    v
}

/// The matching settings `index` was created with.
///
/// # Errors
/// They were made by another analysis version (naming both), or do not
/// parse as this build's settings.
pub fn settings_of(index: &Index) -> Result<Settings> {
    let mut v = index.settings().clone();
    let unreadable = |what: String| Error::UnreadableSettings { path: index.path().into(), what };
    let Value::Object(m) = &mut v else {
        return Err(unreadable("not a JSON object".to_owned()));
    };
    let version = m.remove(ANALYSIS);
    let ours = Value::from(neardup_core::settings::ANALYSIS_VERSION);
    if version.as_ref() != Some(&ours) {
        return Err(Error::Settings {
            path: index.path().into(),
            mismatch: Box::new(crate::Mismatch {
                setting: ANALYSIS.to_owned(),
                index: version,
                given: Some(ours),
            }),
        });
    }
    let s: Settings = serde_json::from_value(v).map_err(|e| unreadable(e.to_string()))?;
    s.validate().map_err(|e| unreadable(e.to_string()))?;
    Ok(s)
}

/// The records of a [`View`] as neardup-core's [`History`]: what a batch is
/// decided against ([`Deduper::decide_with_history`]).
#[derive(Clone, Copy)]
pub struct IndexHistory<'a> {
    view: View<'a>,
}

impl<'a> IndexHistory<'a> {
    /// History as `view` sees it.
    pub fn new(view: View<'a>) -> IndexHistory<'a> {
        IndexHistory { view }
    }

    /// The view.
    pub fn view(&self) -> View<'a> {
        self.view
    }
}

fn core(e: Error) -> neardup_core::Error {
    neardup_core::Error::History(Box::new(e))
}

impl History for IndexHistory<'_> {
    fn exact(&self, hash: u128) -> neardup_core::Result<Option<EarlierMatch>> {
        Ok(self.view.lookup_exact(hash).map_err(core)?.map(|r| match r.alias {
            Some(a) => EarlierMatch { seq: a.of, reason: a.reason, similarity: a.similarity },
            None => EarlierMatch { seq: r.seq, reason: Reason::Exact, similarity: 1.0 },
        }))
    }

    fn band(&self, band: usize, key: u64, out: &mut Vec<u64>) -> neardup_core::Result<()> {
        out.clear();
        self.view.find_band(band, key, out).map_err(core)
    }

    fn set(&self, seq: u64, out: &mut Vec<u64>) -> neardup_core::Result<()> {
        *out = self.view.record(seq).map_err(core)?.set;
        Ok(())
    }

    fn signature(&self, seq: u64, out: &mut Vec<u32>) -> neardup_core::Result<()> {
        *out = self.view.record(seq).map_err(core)?.signature;
        Ok(())
    }

    fn id(&self, seq: u64) -> neardup_core::Result<String> {
        Ok(self.view.record(seq).map_err(core)?.id)
    }
}

/// Adds what a batch decided against `writer`'s view of history adds
/// ([`Decisions::additions`]: its kept records and its aliases) as one
/// atomic batch under `batch_key`. Memory stays bounded whatever the
/// batch's size: the additions are gathered on this thread while they fit
/// in half of the index's [`chunk_bytes`](crate::OpenOptions::chunk_bytes)
/// (a service's request: no thread, no hand-offs), and past that stream
/// from the decisions' temp files into the index through an adder thread.
///
/// # Errors
/// The batch is already in the index ([`Error::BatchCommitted`]), the
/// index failed, or reading the decisions back failed ([`Error::Dedup`]);
/// nothing is added then.
pub fn add_decisions(
    writer: &Writer<'_>,
    batch_key: [u8; 16],
    decisions: &Decisions,
) -> Result<Receipt> {
    let path = writer.index().path().to_owned();
    let budget = writer.chunk_bytes() / 2;
    std::thread::scope(|scope| {
        let mut gathered: Vec<NewEntry> = Vec::new();
        let mut bytes = 0usize;
        // Once the batch outgrows the budget: the channel to the adder.
        type Sent = std::result::Result<NewEntry, String>;
        let mut stream: Option<(
            std::sync::mpsc::SyncSender<Sent>,
            std::thread::ScopedJoinHandle<'_, Result<Receipt>>,
        )> = None;
        let produced = each_entry(decisions, |entry| {
            if let Some((tx, _)) = &stream {
                // A closed channel means the adder stopped; its error says why.
                let _ = tx.send(Ok(entry));
                return;
            }
            bytes += entry_bytes(&entry);
            gathered.push(entry);
            if bytes > budget {
                let (tx, rx) = std::sync::mpsc::sync_channel(256);
                let adder = scope.spawn(move || writer.try_add_batch(batch_key, rx));
                for e in gathered.drain(..) {
                    let _ = tx.send(Ok(e));
                }
                stream = Some((tx, adder));
            }
        });
        let Some((tx, adder)) = stream else {
            produced.map_err(|source| Error::Dedup { path, source })?;
            return writer.add_batch(batch_key, gathered);
        };
        if produced.is_err() {
            let _ = tx.send(Err("reading the batch's decisions failed".to_owned()));
        }
        drop(tx);
        let added = adder.join().unwrap_or_else(|_| {
            Err(Error::Dedup {
                path: path.clone(),
                source: neardup_core::Error::Internal("the index's adder panicked".into()),
            })
        });
        produced.map_err(|source| Error::Dedup { path, source })?;
        added
    })
}

/// About what an entry holds in memory.
fn entry_bytes(e: &NewEntry) -> usize {
    64 + match e {
        NewEntry::Record(r) => {
            r.id.len() + 8 * r.bands.len() + 4 * r.signature.len() + 8 * r.set.len()
        }
        NewEntry::Alias(a) => a.id.len(),
    }
}

/// Each of [`Decisions::additions`] as the index's entry, in order.
fn each_entry(decisions: &Decisions, mut emit: impl FnMut(NewEntry)) -> neardup_core::Result<()> {
    // Batch index of each addition, ascending: an addition's position in
    // the index's batch is its place here.
    let mut indices: Vec<u32> = Vec::new();
    decisions.additions(|a| {
        let entry = match (a.fingerprint, a.duplicate_of) {
            (Some(fp), _) => NewEntry::Record(NewRecord {
                id: a.id,
                hash: a.hash,
                len: a.len,
                bands: fp.band_keys,
                signature: fp.signature,
                set: fp.set,
            }),
            (None, Some((to, reason, similarity))) => {
                let of = match to {
                    Earlier::History(seq) => Target::Seq(seq),
                    Earlier::Batch(i) => match indices.binary_search(&i) {
                        Ok(p) => Target::InBatch(p as u64),
                        Err(_) => {
                            return Err(neardup_core::Error::Internal(format!(
                                "record {} is removed in favour of record {i}, \
                                 which the batch does not add",
                                a.index
                            )))
                        }
                    },
                };
                NewEntry::Alias(NewAlias {
                    id: a.id,
                    hash: a.hash,
                    len: a.len,
                    of,
                    reason,
                    similarity,
                })
            }
            (None, None) => {
                return Err(neardup_core::Error::Internal(format!(
                    "record {} is added neither kept nor as a duplicate",
                    a.index
                )))
            }
        };
        indices.push(a.index);
        emit(entry);
        Ok(())
    })
}

/// What became of one record of a [`check`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CheckOutcome {
    /// The record's id, as given.
    pub id: String,
    /// New, or a duplicate of a record of history or of the request.
    pub status: CheckStatus,
    /// For a duplicate: `exact` or `near` (or `repetition`, when the
    /// index's settings drop repetitive records).
    pub reason: Option<Reason>,
    /// For a duplicate: the id of the record kept in its place.
    pub duplicate_of: Option<String>,
    /// For a duplicate: its similarity to that record.
    pub similarity: Option<f32>,
    /// Whether the record was added to the index.
    pub added: bool,
}

/// Whether a checked record is new.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// Neither history nor an earlier record of the request holds it.
    New,
    /// It is a duplicate (see [`CheckOutcome::reason`]).
    Duplicate,
}

/// Checks records held in memory against an index, and adds them: what
/// `neardup serve` does per request. Build it once per index (it holds the
/// analyzer for the index's settings); it is `Sync`.
pub struct Checker {
    analyzer: Analyzer,
    resources: Resources,
    /// The index's settings fingerprint: what [`Prepared`] records are
    /// checked against.
    fingerprint: String,
}

impl Checker {
    /// A checker for `index`'s settings; `resources` bound each check's
    /// memory and say where its temp files go.
    ///
    /// # Errors
    /// The index's settings cannot be read ([`settings_of`]) or refused
    /// for an index ([`neardup_core::decide::incremental_settings`]).
    pub fn new(index: &Index, resources: Resources) -> Result<Checker> {
        let dedup =
            |source: neardup_core::Error| Error::Dedup { path: index.path().to_owned(), source };
        let settings = settings_of(index)?;
        neardup_core::decide::incremental_settings(&settings).map_err(dedup)?;
        let analyzer = Analyzer::new(&settings, false).map_err(|e| dedup(e.into()))?;
        Ok(Checker { analyzer, resources, fingerprint: index.fingerprint().to_owned() })
    }

    /// The settings checked with.
    pub fn settings(&self) -> &Settings {
        self.analyzer.settings()
    }

    /// Checks `records` (id, text), in order, against `index` and against
    /// the earlier records of the same call, as `dedup --index` would
    /// decide them in one batch. With `add`, the new records (and the
    /// aliases of their removed near duplicates) are added in one atomic
    /// batch, under the index's writer from deciding to adding, so that
    /// no other add comes in between. Without it, nothing changes and
    /// adds in progress are not waited for (the check sees whole batches).
    ///
    /// [`Checker::prepare`] then [`Checker::check_prepared`].
    ///
    /// # Errors
    /// The index failed; nothing is added then.
    pub fn check<I, T>(
        &self,
        index: &Index,
        records: &[(I, T)],
        add: bool,
    ) -> Result<Vec<CheckOutcome>>
    where
        I: AsRef<str>,
        T: AsRef<str>,
    {
        self.check_prepared(index, vec![self.prepare(records)], add)
    }

    /// The part of a check that needs no index: each record's analysis
    /// (in parallel). A service prepares an add while another add holds
    /// the writer, so that the writer's turn is spent on the index only.
    pub fn prepare<I, T>(&self, records: &[(I, T)]) -> Prepared
    where
        I: AsRef<str>,
        T: AsRef<str>,
    {
        let texts: Vec<&str> = records.iter().map(|(_, t)| t.as_ref()).collect();
        let mut h = Xxh3::new();
        for (id, text) in records {
            let (id, text) = (id.as_ref(), text.as_ref());
            h.update(&(id.len() as u64).to_le_bytes());
            h.update(id.as_bytes());
            h.update(&(text.len() as u64).to_le_bytes());
            h.update(text.as_bytes());
        }
        Prepared {
            ids: records.iter().map(|(i, _)| i.as_ref().to_owned()).collect(),
            analyses: self.analyzer.analyse_batch(&texts),
            digest: h.digest128(),
            fingerprint: self.fingerprint.clone(),
        }
    }

    /// [`Checker::check`] of prepared records: `parts` in order, as one
    /// batch (their records as if given in one call).
    ///
    /// # Errors
    /// A part was prepared by a checker of other settings; the index
    /// failed. Nothing is added then.
    pub fn check_prepared(
        &self,
        index: &Index,
        parts: Vec<Prepared>,
        add: bool,
    ) -> Result<Vec<CheckOutcome>> {
        let dedup =
            |source: neardup_core::Error| Error::Dedup { path: index.path().to_owned(), source };
        let mut d = Deduper::new(
            &self.analyzer,
            &self.resources,
            OnError::Fail,
            vec!["request".to_owned()],
        )
        .map_err(dedup)?;
        let mut ids: Vec<String> = Vec::with_capacity(parts.iter().map(Prepared::len).sum());
        let mut digests = Vec::with_capacity(parts.len());
        for part in parts {
            if part.fingerprint != self.fingerprint {
                return Err(dedup(neardup_core::Error::Internal(
                    "records prepared by a checker of other settings".to_owned(),
                )));
            }
            digests.push(part.digest);
            for (id, a) in part.ids.into_iter().zip(part.analyses) {
                let row = ids.len() as u64 + 1;
                d.push((0, row), Some(id.as_str().into()), Ok(a)).map_err(dedup)?;
                ids.push(id);
            }
        }
        let writer = if add { Some(index.writer()?) } else { None };
        let view = match &writer {
            Some(w) => w.view(),
            None => index.view(),
        };
        let decisions =
            d.decide_with_history(&IndexHistory::new(view), &NoProgress).map_err(dedup)?;
        let mut out = Vec::with_capacity(ids.len());
        for (k, id) in ids.into_iter().enumerate() {
            let o = decisions.outcome(k, None);
            let status = match o.status {
                Status::Kept | Status::Modified => CheckStatus::New,
                Status::Removed => CheckStatus::Duplicate,
                Status::Rejected => {
                    return Err(dedup(neardup_core::Error::Internal(format!(
                        "record `{id}` rejected: {}",
                        o.error.unwrap_or_default()
                    ))))
                }
            };
            let new = status == CheckStatus::New;
            out.push(CheckOutcome {
                id,
                status,
                reason: if new { None } else { o.reason },
                duplicate_of: o
                    .duplicate_of
                    .map(|i| decisions.id_of(i as usize))
                    .transpose()
                    .map_err(dedup)?,
                similarity: if new { None } else { o.similarity },
                added: add && new,
            });
        }
        if let Some(w) = &writer {
            if decisions.has_additions() {
                add_decisions(w, request_key(view.records(), &digests), &decisions)?;
            }
        }
        Ok(out)
    }
}

/// Records analysed for a check ([`Checker::prepare`]): what a check
/// or an add decides on, made before it takes its turn.
pub struct Prepared {
    ids: Vec<String>,
    analyses: Vec<Analysis>,
    /// xxh3-128 of the ids and texts: what makes the add's batch key.
    digest: u128,
    /// The settings fingerprint of the preparing checker's index.
    fingerprint: String,
}

impl Prepared {
    /// How many records.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// The batch key of an add after `records` records: its place and its
/// content (unique: an add at a given place is committed once).
fn request_key(records: u64, digests: &[u128]) -> [u8; 16] {
    let mut h = Xxh3::new();
    h.update(b"neardup check");
    h.update(&records.to_le_bytes());
    for d in digests {
        h.update(&d.to_le_bytes());
    }
    h.digest128().to_le_bytes()
}

/// [`Checker::check`] with a checker made for this call (default
/// resources). A service checks many requests: build a [`Checker`] once.
///
/// # Errors
/// As [`Checker::new`] and [`Checker::check`].
pub fn check<I, T>(index: &Index, records: &[(I, T)], add: bool) -> Result<Vec<CheckOutcome>>
where
    I: AsRef<str>,
    T: AsRef<str>,
{
    Checker::new(index, Resources::default())?.check(index, records, add)
}
