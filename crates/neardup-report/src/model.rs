//! The report's data, laid out for the page: what it shows and nothing
//! more, compactly.
//!
//! Records are *columns* (one array per field, indexed by the record's
//! place `r` in the report), so a field name is written once, not once per
//! record; ids that are the default `source:line` are left out (the page
//! rebuilds them), and sources and error messages are tables referred to by
//! index. A removed record that has a kept record beside it ships no text
//! of its own: its diff against the kept record ([`neardup_text::diff`]),
//! as a flat list of lengths, and only the bytes of its non-equal pieces
//! (for an exact copy, nothing). Kept records appear only in the counts and
//! histograms, unless a listed record names them.
//!
//! All offsets and lengths into texts are in UTF-16 code units, what
//! JavaScript strings index; the ledger's byte offsets ride along where the
//! page prints them.
//!
//! Layout of a diff: for each op `tag, len_a, len_b, n`, then `n` word
//! pieces `tag, len_a, len_b`; tags `0` equal, `1` typography, `2`
//! changed. The removed record's text is rebuilt by taking equal ops from
//! the kept record's text and everything else, in order, from the literal.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::Path;

use neardup_core::ledger::{Reason, Status};
use neardup_core::{NearReport, Summary};
use neardup_io::Source;
use neardup_text::diff::{self, Tag};
use neardup_text::{Canonical, Normalizer, Round};
use rayon::prelude::*;
use serde::Serialize;

use crate::collect::{Collected, Listed, Tally};
use crate::Options;

/// A diff as the page reads it: ops and the literal (see the module docs).
pub(crate) type Encoded = (Vec<u32>, String);

/// Version of the data layout the page reads.
pub(crate) const FORMAT: u32 = 1;

/// Most groups in the per-source chart; the rest are summed as one.
pub(crate) const MAX_SOURCE_GROUPS: usize = 40;

/// Everything the page shows.
#[derive(Debug, Serialize)]
pub(crate) struct Data {
    pub(crate) format: u32,
    /// neardup's version, from the ledger.
    pub(crate) version: String,
    /// The ledger, as named.
    pub(crate) ledger: String,
    pub(crate) summary: SummaryData,
    /// Every setting, from the ledger's header.
    pub(crate) settings: serde_json::Value,
    pub(crate) banding: Option<Banding>,
    pub(crate) charts: Charts,
    /// Names of the inputs that listed records come from.
    pub(crate) sources: Vec<String>,
    pub(crate) records: Records,
    /// `[kept record, [removed records]]`, largest first.
    pub(crate) clusters: Vec<(u32, Vec<u32>)>,
    /// Records with cuts, and records removed without a kept record beside
    /// them (repetition), most bytes cut first.
    pub(crate) cuts: Vec<u32>,
    /// Rejected records, in input order.
    pub(crate) rejected: Vec<u32>,
    /// Error messages, referred to by index.
    pub(crate) errors: Vec<String>,
    pub(crate) budget: Budget,
}

/// The run's totals.
#[derive(Debug, Serialize)]
pub(crate) struct SummaryData {
    pub(crate) read: u64,
    pub(crate) kept: u64,
    pub(crate) modified: u64,
    pub(crate) removed: u64,
    pub(crate) rejected: u64,
    pub(crate) removed_exact: u64,
    pub(crate) removed_near: u64,
    pub(crate) removed_repetition: u64,
    pub(crate) removed_substring: u64,
    pub(crate) spans_cut: u64,
    pub(crate) bytes_cut: u64,
    pub(crate) bytes_in: u64,
    /// Known when the report is made by the run itself.
    pub(crate) bytes_out: Option<u64>,
    pub(crate) seconds: Option<f64>,
    /// Input files.
    pub(crate) inputs: usize,
    pub(crate) near: Option<NearReport>,
    pub(crate) substrings: Option<neardup_core::SubstringReport>,
}

/// LSH banding and its S-curve.
#[derive(Debug, Serialize)]
pub(crate) struct Banding {
    pub(crate) bands: usize,
    pub(crate) rows: usize,
    pub(crate) threshold: f64,
    /// `jaccard` or `containment`.
    pub(crate) similarity: String,
    /// `[similarity, P(candidate)]` from 0 to 1.
    pub(crate) curve: Vec<(f64, f64)>,
    /// The three points the run's summary prints.
    pub(crate) points: Vec<(f64, f64)>,
}

/// The charts' numbers.
#[derive(Debug, Serialize)]
pub(crate) struct Charts {
    /// `[cluster size, clusters]`, sizes counting the kept record.
    pub(crate) sizes: Vec<(u64, u64)>,
    pub(crate) similarity: SimilarityChart,
    pub(crate) sources: SourcesChart,
    /// `[floor(log2(bytes cut)), records]`.
    pub(crate) cut: Vec<(u32, u64)>,
    pub(crate) repetition: Option<RepetitionChart>,
}

/// Similarities of removed near duplicates.
#[derive(Debug, Serialize)]
pub(crate) struct SimilarityChart {
    /// Equal-width bins over `[0, 1]`.
    pub(crate) bins: Vec<u64>,
    pub(crate) threshold: Option<f64>,
    /// Exact duplicates (similarity 1, not binned).
    pub(crate) exact: u64,
}

/// What became of the records of each input (or directory).
#[derive(Debug, Serialize)]
pub(crate) struct SourcesChart {
    /// `file` or `directory`.
    pub(crate) by: &'static str,
    /// `[name, [read, removed, modified, rejected]]`.
    pub(crate) rows: Vec<(String, [u64; 4])>,
    /// The groups not shown, summed: `[groups, [read, …]]`.
    pub(crate) other: Option<(usize, [u64; 4])>,
}

/// Histograms of the repetition statistics.
#[derive(Debug, Serialize)]
pub(crate) struct RepetitionChart {
    pub(crate) records: u64,
    pub(crate) names: Vec<String>,
    pub(crate) bins: Vec<Vec<u64>>,
    /// The thresholds the run removed records above.
    pub(crate) thresholds: BTreeMap<String, f64>,
}

/// The listed records, as columns.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Records {
    /// Position in input order (0-based ledger entry).
    pub(crate) k: Vec<u64>,
    /// The id, or `null` when it is the default `source:line` (or the
    /// source's name, for line 0).
    pub(crate) id: Vec<Option<String>>,
    /// Index into `sources`.
    pub(crate) src: Vec<u32>,
    pub(crate) line: Vec<u64>,
    /// 0 kept, 1 modified, 2 removed, 3 rejected.
    pub(crate) status: Vec<u8>,
    /// -1 none, 0 exact, 1 near, 2 repeat, 3 substring, 4 repetition.
    pub(crate) reason: Vec<i8>,
    /// The record kept in its place (`r`), or -1.
    pub(crate) of: Vec<i64>,
    pub(crate) sim: Vec<Option<f32>>,
    /// Bytes of its full text.
    pub(crate) len: Vec<u64>,
    /// Its text (possibly an excerpt: compare `len`), unless it is shipped
    /// as `diff` or left out.
    pub(crate) text: Vec<Option<String>>,
    /// `[ops, literal]` against the text of `of`.
    pub(crate) diff: Vec<Option<Encoded>>,
    /// Cut spans: `[start, len, byte start, byte len, first r, first start,
    /// first len, first byte offset]`, UTF-16 fields -1 where the excerpt
    /// does not reach, first fields -1 where unknown.
    pub(crate) spans: Vec<Option<Vec<[i64; 8]>>>,
    /// Index into `errors`, or -1.
    pub(crate) err: Vec<i64>,
    /// Repetition statistics of records removed for them (names as in the
    /// chart).
    pub(crate) rep: Vec<Option<Vec<f32>>>,
}

/// How much text the report holds, and its limits.
#[derive(Debug, Serialize)]
pub(crate) struct Budget {
    pub(crate) text_bytes: u64,
    pub(crate) texts_omitted: u64,
    pub(crate) max_text_bytes: usize,
    pub(crate) max_total_text: usize,
}

/// Lays out what [`crate::collect`] found.
pub(crate) fn build(
    c: Collected,
    ledger: &Path,
    sources: &[Source],
    run: Option<&Summary>,
    opts: &Options,
) -> Data {
    let Collected { header, tally, mut listed, named, bytes_in, text_bytes, texts_omitted } = c;
    let norm = Normalizer::new(
        header
            .settings
            .get("normalize")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default(),
    );
    let r_of: HashMap<u64, u32> = listed.iter().enumerate().map(|(r, l)| (l.k, r as u32)).collect();
    let named_r = |id: &str| named.get(id).and_then(|k| r_of.get(k)).copied();

    // Clusters: each removed record with the record kept in its place.
    let mut of: Vec<i64> = vec![-1; listed.len()];
    let mut clusters: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (r, l) in listed.iter().enumerate() {
        let target = l.entry.duplicate_of.as_deref().and_then(named_r);
        if let Some(t) = target.filter(|&t| t as usize != r) {
            of[r] = i64::from(t);
            if l.entry.status == Status::Removed {
                clusters.entry(t).or_default().push(r as u32);
            }
        }
    }
    let mut clusters: Vec<(u32, Vec<u32>)> = clusters.into_iter().collect();
    clusters.sort_by_key(|(kept, members)| (std::cmp::Reverse(members.len()), *kept));

    // Diffs of each removed record against its kept record.
    let pairs: Vec<(u32, u32)> =
        clusters.iter().flat_map(|(kept, ms)| ms.iter().map(move |&m| (m, *kept))).collect();
    let diffs: Vec<(u32, Option<Encoded>)> = pairs
        .par_iter()
        .map(|&(m, kept)| {
            let (a, b) = (&listed[kept as usize].text, &listed[m as usize].text);
            let d = match (a, b) {
                (Some(a), Some(b)) => Some(encode_diff(&diff::diff(&norm, a, b), a, b)),
                _ => None,
            };
            (m, d)
        })
        .collect();

    let mut rec = Records::default();
    let mut source_table: Vec<String> = Vec::new();
    let mut source_index: HashMap<&str, u32> = HashMap::new();
    let mut errors: Vec<String> = Vec::new();
    let mut error_index: HashMap<String, i64> = HashMap::new();
    let mut canon_cache: HashMap<u32, Canonical> = HashMap::new();
    for (r, l) in listed.iter().enumerate() {
        let e = &l.entry;
        rec.k.push(l.k);
        let default =
            if e.line == 0 { e.source.clone() } else { format!("{}:{}", e.source, e.line) };
        rec.id.push((e.id != default).then(|| e.id.clone()));
        let src = *source_index.entry(e.source.as_str()).or_insert_with(|| {
            source_table.push(e.source.clone());
            (source_table.len() - 1) as u32
        });
        rec.src.push(src);
        rec.line.push(e.line);
        rec.status.push(status_code(e.status));
        rec.reason.push(e.reason.map_or(-1, reason_code));
        rec.of.push(of[r]);
        rec.sim.push(e.similarity.map(|s| (s * 1e4).round() / 1e4));
        rec.len.push(l.len);
        rec.diff.push(None);
        rec.err.push(match &e.error {
            Some(msg) => *error_index.entry(msg.clone()).or_insert_with(|| {
                errors.push(msg.clone());
                (errors.len() - 1) as i64
            }),
            None => -1,
        });
        rec.rep.push(e.repetition.as_ref().and_then(|s| match serde_json::to_value(s) {
            Ok(serde_json::Value::Object(m)) => {
                Some(m.values().map(|v| v.as_f64().unwrap_or(0.0) as f32).collect())
            }
            _ => None,
        }));
        let spans =
            (!e.spans.is_empty()).then(|| spans_of(l, &listed, &named_r, &norm, &mut canon_cache));
        rec.spans.push(spans);
    }
    // The texts move into the page (a removed record with a diff ships
    // none of its own).
    rec.text = listed.iter_mut().map(|l| l.text.take()).collect();
    for (m, d) in diffs {
        if d.is_some() {
            rec.text[m as usize] = None;
        }
        rec.diff[m as usize] = d;
    }

    let in_cluster: std::collections::HashSet<u32> =
        clusters.iter().flat_map(|(_, ms)| ms.iter().copied()).collect();
    let mut cuts: Vec<u32> = (0..listed.len() as u32)
        .filter(|&r| {
            let e = &listed[r as usize].entry;
            !e.spans.is_empty() || (e.status == Status::Removed && !in_cluster.contains(&r))
        })
        .collect();
    let cut_of = |r: u32| listed[r as usize].entry.spans.iter().map(|s| s[1]).sum::<u64>();
    cuts.sort_by_key(|&r| (std::cmp::Reverse(cut_of(r)), r));
    let rejected: Vec<u32> = (0..listed.len() as u32)
        .filter(|&r| listed[r as usize].entry.status == Status::Rejected)
        .collect();

    let mut sizes: BTreeMap<u64, u64> = BTreeMap::new();
    for (_, ms) in &clusters {
        *sizes.entry(ms.len() as u64 + 1).or_default() += 1;
    }
    let near = header.settings.get("near").filter(|v| v.is_object());
    let threshold = near.and_then(|n| n.get("threshold")).and_then(|v| v.as_f64());
    let charts = Charts {
        sizes: sizes.into_iter().collect(),
        similarity: SimilarityChart {
            bins: tally.similarity.clone(),
            threshold,
            exact: tally.removed_exact,
        },
        sources: source_groups(sources, &tally.per_source),
        cut: tally.cut_bytes.iter().map(|(&b, &n)| (b, n)).collect(),
        repetition: tally.repetition.as_ref().map(|r| RepetitionChart {
            records: r.records,
            names: r.names.clone(),
            bins: r.bins.iter().map(|b| b.to_vec()).collect(),
            thresholds: thresholds(&header.settings),
        }),
    };
    Data {
        format: FORMAT,
        version: header.version.clone(),
        ledger: opts.ledger_name.clone().unwrap_or_else(|| ledger.display().to_string()),
        summary: summary(&tally, bytes_in, sources.len(), run),
        banding: near.and_then(|n| banding(n, run)),
        settings: header.settings,
        charts,
        sources: source_table,
        records: rec,
        clusters,
        cuts,
        rejected,
        errors,
        budget: Budget {
            text_bytes,
            texts_omitted,
            max_text_bytes: opts.max_text_bytes,
            max_total_text: opts.max_total_text,
        },
    }
}

fn status_code(s: Status) -> u8 {
    match s {
        Status::Kept => 0,
        Status::Modified => 1,
        Status::Removed => 2,
        Status::Rejected => 3,
    }
}

fn reason_code(r: Reason) -> i8 {
    match r {
        Reason::Exact => 0,
        Reason::Near => 1,
        Reason::Repeat => 2,
        Reason::Substring => 3,
        Reason::Repetition => 4,
    }
}

fn tag_code(t: Tag) -> u32 {
    match t {
        Tag::Equal => 0,
        Tag::Typography => 1,
        Tag::Changed => 2,
    }
}

/// UTF-16 length of `s`.
fn u16_len(s: &str) -> u32 {
    s.encode_utf16().count() as u32
}

/// A diff as the page reads it (see the module docs).
pub(crate) fn encode_diff(d: &diff::Diff, a: &str, b: &str) -> Encoded {
    let mut ops = Vec::with_capacity(4 * d.ops.len());
    let mut literal = String::new();
    for op in &d.ops {
        ops.extend([
            tag_code(op.tag),
            u16_len(&a[op.a.clone()]),
            u16_len(&b[op.b.clone()]),
            op.words.len() as u32,
        ]);
        for w in &op.words {
            ops.extend([tag_code(w.tag), u16_len(&a[w.a.clone()]), u16_len(&b[w.b.clone()])]);
        }
        if op.tag != Tag::Equal {
            literal.push_str(&b[op.b.clone()]);
        }
    }
    (ops, literal)
}

/// The UTF-16 offset of byte `at` of `text`, if the text reaches it
/// (rounded down to a character boundary).
fn u16_at(text: &str, at: u64) -> Option<i64> {
    let mut at = usize::try_from(at).ok().filter(|&a| a <= text.len())?;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    Some(i64::from(u16_len(&text[..at])))
}

/// The spans of listed record `l`, with where their first copies are.
fn spans_of(
    l: &Listed,
    listed: &[Listed],
    named_r: &dyn Fn(&str) -> Option<u32>,
    norm: &Normalizer,
    cache: &mut HashMap<u32, Canonical>,
) -> Vec<[i64; 8]> {
    let text = l.text.as_deref();
    l.entry
        .spans
        .iter()
        .enumerate()
        .map(|(i, &[start, len])| {
            let s16 = text.and_then(|t| u16_at(t, start));
            let e16 = text.and_then(|t| u16_at(t, start + len));
            let (s16, l16) = match (s16, e16) {
                (Some(s), Some(e)) => (s, e - s),
                // The excerpt ends inside the span: show what it holds.
                (Some(s), None) => (s, text.map_or(0, |t| i64::from(u16_len(t))) - s),
                _ => (-1, -1),
            };
            let mut first = [-1i64, -1, -1, -1];
            if let Some((id, off)) = l.entry.first.get(i) {
                first[3] = i64::try_from(*off).unwrap_or(-1);
                if let Some(fr) = named_r(id) {
                    first[0] = i64::from(fr);
                    let f = &listed[fr as usize];
                    // The copy's length in its own bytes: as many canonical
                    // bytes as the cut holds.
                    let canon_len = text
                        .and_then(|t| t.get(start as usize..(start + len) as usize))
                        .map(|cut| norm.canonical(cut).len());
                    if let (Some(ft), Some(canon_len)) = (f.text.as_deref(), canon_len) {
                        let c = cache.entry(fr).or_insert_with(|| norm.normalize(ft));
                        if let Some(r) = copy_range(c, ft, *off, canon_len) {
                            first[1] = i64::from(u16_len(&ft[..r.start]));
                            first[2] = i64::from(u16_len(&ft[r]));
                        }
                    }
                }
            }
            [s16, l16, start as i64, len as i64, first[0], first[1], first[2], first[3]]
        })
        .collect()
}

/// The original bytes of the copy that starts at byte `off` of `text` and
/// holds `canon_len` canonical bytes.
fn copy_range(c: &Canonical, text: &str, off: u64, canon_len: usize) -> Option<Range<usize>> {
    let off = usize::try_from(off).ok().filter(|&o| o <= text.len())?;
    let n = c.text.len();
    // The first canonical offset at or after `off` in the original.
    let (mut lo, mut hi) = (0usize, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if c.map.to_original(mid, Round::Up) < off {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let mut end = c.map.to_original((lo + canon_len).min(n), Round::Down).max(off);
    end = end.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (end > off).then_some(off..end)
}

fn summary(t: &Tally, bytes_in: u64, inputs: usize, run: Option<&Summary>) -> SummaryData {
    SummaryData {
        read: t.read,
        kept: t.kept,
        modified: t.modified,
        removed: t.removed,
        rejected: t.rejected,
        removed_exact: t.removed_exact,
        removed_near: t.removed_near,
        removed_repetition: t.removed_repetition,
        removed_substring: t.removed_substring,
        spans_cut: t.spans_cut,
        bytes_cut: t.bytes_cut,
        bytes_in: run.map_or(bytes_in, |s| s.bytes_in),
        bytes_out: run.map(|s| s.bytes_out),
        seconds: run.map(|s| s.seconds),
        inputs,
        near: run.and_then(|s| s.near.clone()),
        substrings: run.and_then(|s| s.substrings.clone()),
    }
}

/// The banding in the header's near settings, its S-curve, and the
/// summary's three points (computed the same way when there is no
/// summary).
fn banding(near: &serde_json::Value, run: Option<&Summary>) -> Option<Banding> {
    let bands = near.get("bands")?.as_u64()? as usize;
    let rows = near.get("rows")?.as_u64()? as usize;
    let threshold = near.get("threshold")?.as_f64()?;
    let similarity = near.get("similarity").and_then(|v| v.as_str()).unwrap_or("jaccard");
    let ratio = near.get("max_size_ratio").and_then(|v| v.as_f64()).unwrap_or(1.0);
    let p = |s: f64| {
        let j = if similarity == "containment" {
            neardup_sketch::lsh::jaccard_from_containment(s, ratio)
        } else {
            s
        };
        (neardup_sketch::lsh::candidate_probability(j, bands, rows) * 1e4).round() / 1e4
    };
    let curve = (0..=50).map(|i| f64::from(i) / 50.0).map(|s| (s, p(s))).collect();
    let points = match run.and_then(|s| s.near.as_ref()) {
        Some(n) => n.s_curve.to_vec(),
        None => [-0.1, 0.0, 0.1]
            .iter()
            .map(|d| {
                let s = ((threshold + d).clamp(0.0, 1.0) * 1e6).round() / 1e6;
                (s, p(s))
            })
            .collect(),
    };
    Some(Banding { bands, rows, threshold, similarity: similarity.to_string(), curve, points })
}

/// Repetition thresholds from the header (`[[name, bound], …]`).
fn thresholds(settings: &serde_json::Value) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for pair in settings.get("thresholds").and_then(|t| t.as_array()).into_iter().flatten() {
        if let (Some(name), Some(v)) =
            (pair.get(0).and_then(|n| n.as_str()), pair.get(1).and_then(|v| v.as_f64()))
        {
            out.insert(name.to_string(), (v * 1e4).round() / 1e4);
        }
    }
    out
}

/// Per-input counts for the chart: by file when there are few files, else
/// by directory; at most [`MAX_SOURCE_GROUPS`] groups (those with the most
/// records removed or modified), the rest summed.
fn source_groups(sources: &[Source], per_source: &[[u64; 4]]) -> SourcesChart {
    let add = |acc: &mut [u64; 4], c: &[u64; 4]| {
        for (a, b) in acc.iter_mut().zip(c) {
            *a += b;
        }
    };
    let (by, mut groups): (&str, Vec<(String, [u64; 4])>) = if sources.len() <= MAX_SOURCE_GROUPS {
        ("file", sources.iter().zip(per_source).map(|(s, c)| (s.name.clone(), *c)).collect())
    } else {
        let mut dirs: BTreeMap<String, [u64; 4]> = BTreeMap::new();
        for (s, c) in sources.iter().zip(per_source) {
            let dir = Path::new(&s.name)
                .parent()
                .map(|p| p.display().to_string())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| ".".to_string());
            add(dirs.entry(dir).or_default(), c);
        }
        ("directory", dirs.into_iter().collect())
    };
    let mut other = None;
    if groups.len() > MAX_SOURCE_GROUPS {
        groups.sort_by(|(na, a), (nb, b)| (b[1] + b[2]).cmp(&(a[1] + a[2])).then(na.cmp(nb)));
        let rest = groups.split_off(MAX_SOURCE_GROUPS - 1);
        let mut sum = [0u64; 4];
        for (_, c) in &rest {
            add(&mut sum, c);
        }
        other = Some((rest.len(), sum));
    }
    SourcesChart { by, rows: groups, other }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rebuilds B from A and the encoded diff, as the page does (on UTF-16).
    fn rebuild(a: &str, ops: &[u32], literal: &str) -> String {
        let a: Vec<u16> = a.encode_utf16().collect();
        let lit: Vec<u16> = literal.encode_utf16().collect();
        let (mut pa, mut pl, mut out) = (0usize, 0usize, Vec::new());
        let mut i = 0;
        while i < ops.len() {
            let (tag, la, lb, n) =
                (ops[i], ops[i + 1] as usize, ops[i + 2] as usize, ops[i + 3] as usize);
            if tag == 0 {
                out.extend_from_slice(&a[pa..pa + la]);
            } else {
                out.extend_from_slice(&lit[pl..pl + lb]);
                pl += lb;
            }
            pa += la;
            i += 4 + 3 * n;
        }
        assert_eq!(pa, a.len());
        assert_eq!(pl, lit.len());
        String::from_utf16(&out).unwrap()
    }

    #[test]
    fn an_exact_copy_ships_no_text() {
        let n = Normalizer::default();
        let a = "Same text,\nbyte for byte. \u{1F600}\n";
        let (ops, lit) = encode_diff(&diff::diff(&n, a, a), a, a);
        assert_eq!(ops, [0, u16_len(a), u16_len(a), 0]);
        assert_eq!(lit, "");
    }

    #[test]
    fn copies_rebuild_from_the_kept_text_and_their_differences() {
        let n = Normalizer::default();
        let a = "Title\nThe \"old\" house — 🏠 stood\non the hill.\nLast line.\n";
        let b = "TITLE\nThe \u{201C}old\u{201D} barn — 🏠 stood\non a hill.\nLast line.\nAdded.\n";
        let (ops, lit) = encode_diff(&diff::diff(&n, a, b), a, b);
        assert_eq!(rebuild(a, &ops, &lit), b);
        assert!(lit.len() < b.len(), "equal lines are not shipped twice");
        assert!(!lit.contains("Last line"));
    }

    proptest::proptest! {
        #[test]
        fn every_copy_rebuilds(a in "[a-c\u{e9}\u{1F600} \n\"\u{201C}-]{0,40}", b in "[a-c\u{e9}\u{1F600} \n\"\u{201C}-]{0,40}") {
            let n = Normalizer::default();
            let (ops, lit) = encode_diff(&diff::diff(&n, &a, &b), &a, &b);
            proptest::prop_assert_eq!(rebuild(&a, &ops, &lit), b);
        }
    }

    #[test]
    fn a_copy_is_found_by_its_canonical_length() {
        let n = Normalizer::default();
        // The cut (straight quotes) and its first copy (curly, longer).
        let first = "Intro. He said \u{201C}no\u{201D} \u{2014} twice. Outro.";
        let cut = "He said \"no\" -- twice.";
        let c = n.normalize(first);
        let off = first.find("He").unwrap();
        let r = copy_range(&c, first, off as u64, n.canonical(cut).len()).unwrap();
        assert_eq!(&first[r], "He said \u{201C}no\u{201D} \u{2014} twice.");
    }

    #[test]
    fn many_sources_are_grouped_by_directory() {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for d in 0..50 {
            let p = dir.path().join(format!("d{d:02}")).join("x.txt");
            fs_err::create_dir_all(p.parent().unwrap()).unwrap();
            fs_err::write(&p, "x").unwrap();
            paths.push(p);
        }
        let sources = neardup_io::Discover::default().sources(&paths).unwrap();
        let counts: Vec<[u64; 4]> = (0..50).map(|i| [10, i % 7, 0, 0]).collect();
        let g = source_groups(&sources, &counts);
        assert_eq!(g.by, "directory");
        assert_eq!(g.rows.len(), MAX_SOURCE_GROUPS - 1);
        let (n, sum) = g.other.unwrap();
        assert_eq!(n, 50 - (MAX_SOURCE_GROUPS - 1));
        let shown: u64 = g.rows.iter().map(|(_, c)| c[0]).sum();
        assert_eq!(shown + sum[0], 500, "every record counted once");
        assert!(g.rows.windows(2).all(|w| w[0].1[1] >= w[1].1[1]), "most removed first");
    }
}
