//! Gathering what the report shows: two streams over the ledger, one of
//! them beside the inputs.
//!
//! 1. **Tally** ([`tally`]): the ledger alone. Every entry adds to the
//!    counts and histograms (that is all a kept record contributes); the
//!    entries of records that were not kept are held, and the ids they name
//!    (`duplicate_of`, `first`) are noted.
//! 2. **Texts** ([`texts`]): the inputs are read with the run's own reader
//!    and layout, so record `k` is ledger entry `k`; each record's source,
//!    line and id are checked against its entry (a different record there
//!    means the inputs changed, and the report stops rather than pair texts
//!    wrongly). Only the texts of held records and of the records their ids
//!    name are kept, each cut to [`crate::Options::max_text_bytes`], until
//!    [`crate::Options::max_total_text`] is reached.
//!
//! Memory is what the report will show: the held entries and texts, plus a
//! few counters per input file.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use neardup_core::ledger::{Entry, Header, Reason, Status};
use neardup_core::Progress;
use neardup_io::{record, Fields, Layout, RecordReader, Source};

use crate::error::{Error, Result};
use crate::ledger::LedgerReader;
use crate::Options;

/// Bins of the similarity histogram over `[0, 1]`.
pub(crate) const SIMILARITY_BINS: usize = 50;
/// Bins of each repetition statistic's histogram over `[0, 1]`.
pub(crate) const REPETITION_BINS: usize = 20;

/// Counts and histograms over every entry.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) read: u64,
    pub(crate) kept: u64,
    pub(crate) modified: u64,
    pub(crate) removed: u64,
    pub(crate) rejected: u64,
    pub(crate) removed_exact: u64,
    pub(crate) removed_near: u64,
    pub(crate) removed_repetition: u64,
    pub(crate) removed_substring: u64,
    /// Spans and bytes cut from modified records.
    pub(crate) spans_cut: u64,
    pub(crate) bytes_cut: u64,
    /// Per input, by index: read, removed, modified, rejected.
    pub(crate) per_source: Vec<[u64; 4]>,
    /// Similarities of near duplicates to the record kept for them.
    pub(crate) similarity: Vec<u64>,
    /// Bytes cut per record (modified, or removed once cut), by
    /// `floor(log2(bytes))`.
    pub(crate) cut_bytes: BTreeMap<u32, u64>,
    /// Repetition statistics, when the ledger has them.
    pub(crate) repetition: Option<Repetition>,
}

/// Histograms of the repetition statistics, in the ledger's field order.
#[derive(Debug, Default)]
pub(crate) struct Repetition {
    /// Records with statistics.
    pub(crate) records: u64,
    pub(crate) names: Vec<String>,
    pub(crate) bins: Vec<[u64; REPETITION_BINS]>,
}

/// A record the report lists: not kept, or named by one that is not.
#[derive(Debug)]
pub(crate) struct Listed {
    /// Position in input order (ledger entry `k`).
    pub(crate) k: u64,
    pub(crate) entry: Entry,
    /// Its text (possibly cut short), unless the report's text budget ran
    /// out or it has none (rejected).
    pub(crate) text: Option<String>,
    /// Its text's full length in bytes.
    pub(crate) len: u64,
}

/// What the two streams found.
pub(crate) struct Collected {
    pub(crate) header: Header,
    pub(crate) tally: Tally,
    /// Sorted by `k`.
    pub(crate) listed: Vec<Listed>,
    /// Each id named by a listed record, and the record `k` it names.
    pub(crate) named: HashMap<String, u64>,
    /// Bytes of the records read, as the run counts them.
    pub(crate) bytes_in: u64,
    /// Bytes of text kept for the report.
    pub(crate) text_bytes: u64,
    /// Listed records whose text was left out (the budget ran out).
    pub(crate) texts_omitted: u64,
}

/// Runs both streams.
pub(crate) fn collect(
    ledger: &Path,
    sources: &[Source],
    layout: Layout,
    fields: &Fields,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Collected> {
    let (mut reader, header) = LedgerReader::open(ledger)?;
    check_fields(&header, fields)?;
    let (tally, held, names) = tally(&mut reader, sources)?;
    let (reader, _) = LedgerReader::open(ledger)?;
    texts(reader, header, tally, held, names, sources, layout, fields, opts, progress)
}

/// The text and id fields the ledger was written with must be the ones
/// the inputs are read with.
fn check_fields(header: &Header, fields: &Fields) -> Result<()> {
    for (key, flag, given) in
        [("text_field", "--text-field", &fields.text), ("id_field", "--id-field", &fields.id)]
    {
        if let Some(v) = header.settings.get(key).and_then(|v| v.as_str()) {
            if v != given {
                return Err(Error::Settings { flag, ledger: v.to_string(), given: given.clone() });
            }
        }
    }
    Ok(())
}

/// Stream 1: counts, histograms, the entries of records not kept, and the
/// ids they name.
#[allow(clippy::type_complexity)]
fn tally(
    reader: &mut LedgerReader,
    sources: &[Source],
) -> Result<(Tally, Vec<(u64, Entry)>, HashMap<String, Option<u64>>)> {
    let by_name: HashMap<&str, usize> =
        sources.iter().enumerate().map(|(i, s)| (s.name.as_str(), i)).collect();
    let mut t = Tally {
        per_source: vec![[0; 4]; sources.len()],
        similarity: vec![0; SIMILARITY_BINS],
        ..Tally::default()
    };
    let mut held = Vec::new();
    let mut names: HashMap<String, Option<u64>> = HashMap::new();
    let mut k = 0u64;
    while let Some(mut e) = reader.next_entry()? {
        let Some(&src) = by_name.get(e.source.as_str()) else {
            return Err(Error::Ledger {
                path: reader.path().to_path_buf(),
                line: reader.entries() + 1,
                message: format!(
                    "names input `{}`, which is not among the inputs given; give the run's inputs",
                    e.source
                ),
            });
        };
        t.read += 1;
        let counts = &mut t.per_source[src];
        counts[0] += 1;
        match e.status {
            Status::Kept => t.kept += 1,
            Status::Modified => {
                t.modified += 1;
                counts[2] += 1;
                t.spans_cut += e.spans.len() as u64;
                t.bytes_cut += e.spans.iter().map(|s| s[1]).sum::<u64>();
            }
            Status::Removed => {
                t.removed += 1;
                counts[1] += 1;
                match e.reason {
                    Some(Reason::Exact) => t.removed_exact += 1,
                    Some(Reason::Near) => t.removed_near += 1,
                    Some(Reason::Repetition) => t.removed_repetition += 1,
                    Some(Reason::Substring) => t.removed_substring += 1,
                    Some(Reason::Repeat) | None => {}
                }
            }
            Status::Rejected => {
                t.rejected += 1;
                counts[3] += 1;
            }
        }
        if let (Some(Reason::Near), Some(s), Status::Removed) = (e.reason, e.similarity, e.status) {
            let bin =
                ((s.clamp(0.0, 1.0) * SIMILARITY_BINS as f32) as usize).min(SIMILARITY_BINS - 1);
            t.similarity[bin] += 1;
        }
        let cut: u64 = e.spans.iter().map(|s| s[1]).sum();
        if cut > 0 {
            *t.cut_bytes.entry(cut.ilog2()).or_default() += 1;
        }
        if let Some(stats) = &e.repetition {
            tally_repetition(t.repetition.get_or_insert_with(Repetition::default), stats);
        }
        if e.status != Status::Kept {
            for id in e.duplicate_of.iter().chain(e.first.iter().map(|(id, _)| id)) {
                if !names.contains_key(id) {
                    names.insert(id.clone(), None);
                }
            }
            // Statistics are shown for the records they removed only.
            if e.reason != Some(Reason::Repetition) {
                e.repetition = None;
            }
            held.push((k, e));
        }
        k += 1;
    }
    Ok((t, held, names))
}

fn tally_repetition(r: &mut Repetition, stats: &neardup_core::repetition::Stats) {
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(stats) else { return };
    if r.names.is_empty() {
        r.names = fields.keys().cloned().collect();
        r.bins = vec![[0; REPETITION_BINS]; r.names.len()];
    }
    r.records += 1;
    for (bins, v) in r.bins.iter_mut().zip(fields.values()) {
        let v = v.as_f64().unwrap_or(0.0).clamp(0.0, 1.0);
        bins[((v * REPETITION_BINS as f64) as usize).min(REPETITION_BINS - 1)] += 1;
    }
}

/// Stream 2: the inputs beside the ledger; the texts of the held records
/// and of the records they name.
#[allow(clippy::too_many_arguments)]
fn texts(
    mut reader: LedgerReader,
    header: Header,
    tally: Tally,
    held: Vec<(u64, Entry)>,
    mut names: HashMap<String, Option<u64>>,
    sources: &[Source],
    layout: Layout,
    fields: &Fields,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Collected> {
    let compressed = sources.iter().any(|s| s.compression != neardup_io::Compression::None);
    progress.phase("report", (!compressed).then(|| sources.iter().map(|s| s.size).sum()));
    let mut held = held.into_iter().peekable();
    let mut listed: Vec<Listed> = Vec::new();
    // An id names the first record with it that was kept or modified (a
    // duplicate points at a record that stays), else the first with it.
    let mut fallback: HashMap<String, u64> = HashMap::new();
    let mut bytes_in = 0u64;
    let mut text_bytes = 0u64;
    let mut texts_omitted = 0u64;
    let mut rr = RecordReader::new(sources, layout);
    let mut k = 0u64;
    while let Some(batch) = rr.next_batch() {
        for rec in &batch.records {
            let src = &sources[rec.source as usize];
            let at = format!("{}:{}", src.name, rec.line);
            let Some(entry) = reader.next_entry()? else {
                return Err(Error::Mismatch {
                    record: k,
                    at,
                    expected: format!("{k} records"),
                    found: "more".to_string(),
                });
            };
            bytes_in += rec.raw_range().len() as u64;
            if entry.source != src.name || entry.line != rec.line {
                return Err(mismatch(k, at, &entry, format!("`{}` line {}", src.name, rec.line)));
            }
            let parsed = match &rec.error {
                Some(e) => Err(e.clone()),
                None => record::parse(src.format, rec.content(&batch.data), fields),
            };
            let parsed = match (parsed, entry.status) {
                (Err(_), Status::Rejected) => None,
                (Ok(p), Status::Rejected) => {
                    let id = p.id.unwrap_or_else(|| default_id(&src.name, rec.line));
                    return Err(mismatch(k, at, &entry, format!("a readable record `{id}`")));
                }
                (Err(e), _) => {
                    return Err(mismatch(k, at, &entry, format!("an unreadable record ({e})")))
                }
                (Ok(p), _) => Some(p),
            };
            let Some(p) = parsed else {
                // Rejected, as the ledger says: listed without text.
                if held.peek().is_some_and(|(h, _)| *h == k) {
                    if let Some((_, e)) = held.next() {
                        listed.push(Listed { k, entry: e, text: None, len: 0 });
                    }
                }
                k += 1;
                continue;
            };
            let id = p.id.clone().unwrap_or_else(|| default_id(&src.name, rec.line));
            if id != entry.id {
                return Err(mismatch(k, at, &entry, format!("`{id}`")));
            }
            let stays = matches!(entry.status, Status::Kept | Status::Modified);
            let mut wanted = false;
            if let Some(slot) = names.get_mut(&id) {
                if slot.is_none() && stays {
                    *slot = Some(k);
                    wanted = true;
                } else if slot.is_none() && !fallback.contains_key(&id) {
                    fallback.insert(id.clone(), k);
                    wanted = true;
                }
            }
            let held_here = held.peek().is_some_and(|(h, _)| *h == k);
            if held_here || wanted {
                let entry = match held_here {
                    true => held.next().map_or(entry, |(_, e)| e),
                    false => Entry { repetition: None, ..entry },
                };
                let full = p.text.len() as u64;
                let mut cut = p.text.len().min(opts.max_text_bytes);
                while !p.text.is_char_boundary(cut) {
                    cut -= 1;
                }
                let text = if text_bytes + cut as u64 <= opts.max_total_text as u64 {
                    text_bytes += cut as u64;
                    Some(p.text[..cut].to_string())
                } else {
                    texts_omitted += 1;
                    None
                };
                listed.push(Listed { k, entry, text, len: full });
            }
            k += 1;
        }
        progress.advance(batch.records.len() as u64, batch.data.len() as u64);
    }
    progress.finish();
    if let Some(e) = reader.next_entry()? {
        return Err(Error::Mismatch {
            record: k,
            at: format!("{}:{}", e.source, e.line),
            expected: format!("`{}`", e.id),
            found: format!("no more records (they hold {k})"),
        });
    }
    let mut named: HashMap<String, u64> = fallback;
    named.extend(names.into_iter().filter_map(|(id, k)| Some((id, k?))));
    // A fallback record found before a better one is listed but unnamed:
    // it is still a record not kept, or a harmless extra text.
    Ok(Collected { header, tally, listed, named, bytes_in, text_bytes, texts_omitted })
}

/// The id a record without an id field gets (as the run names it).
fn default_id(source: &str, line: u64) -> String {
    if line == 0 {
        source.to_string()
    } else {
        format!("{source}:{line}")
    }
}

fn mismatch(k: u64, at: String, entry: &Entry, found: String) -> Error {
    let status = match entry.status {
        Status::Kept => "kept",
        Status::Modified => "modified",
        Status::Removed => "removed",
        Status::Rejected => "rejected",
    };
    Error::Mismatch {
        record: k,
        at,
        expected: format!("`{}` at `{}` line {} ({status})", entry.id, entry.source, entry.line),
        found,
    }
}
