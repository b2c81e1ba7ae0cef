//! Why two texts are (or are not) duplicates, and what `dedup` does with
//! them.
//!
//! `neardup explain A B` answers the question a user asks when a result
//! surprises them. It runs the very analysis and decisions of a `dedup` run
//! over the two records, A read first ([`crate::Analyzer`],
//! [`crate::Deduper`]), and reports what that run decides for each; then each
//! step behind it: the passages cut from either text before matching (a
//! record that says its body twice is matched as said once), whether the
//! canonical forms of the texts as written are equal (an exact duplicate),
//! and, on those same texts, exact Jaccard and containment of their shingle
//! sets, the MinHash estimate, which LSH bands collided (so whether the pair
//! is even compared), the verdict at the threshold; then the shingles they
//! share and the ones they do not, and a side-by-side diff of the originals
//! aligned on their canonical form ([`neardup_text::diff`]): lines that
//! differ only in typography are marked as equal after folding, and changed
//! words are marked.

use std::collections::BTreeSet;

use neardup_sketch::{estimate_jaccard, jaccard, minhash, Shingling};
use neardup_text::diff::{self, Tag};
use serde::Serialize;

use crate::analysis::{cut_into, Analyzer};
use crate::decide::Deduper;
use crate::error::{Error, Result};
use crate::ledger::Entry;
use crate::progress::NoProgress;
use crate::settings::{OnError, Resources, Settings, Similarity, Verify};

/// One side of the comparison.
#[derive(Clone, Debug, Serialize)]
pub struct Side {
    /// Its name (file or id).
    pub name: String,
    /// Bytes of original text.
    pub bytes: usize,
    /// Passages it repeats, cut before matching: `[offset, length]` in its
    /// original bytes.
    pub repeats: Vec<[u64; 2]>,
    /// The canonical form of its text as written (repeats cut): what is
    /// matched.
    pub canonical: String,
    /// Distinct shingles.
    pub shingles: usize,
    /// What `dedup` does with it, A read first: its ledger entry (id =
    /// its name).
    pub decision: Entry,
}

/// A row of the side-by-side diff of the originals: a line of A beside
/// the line of B it aligns with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    /// `equal`, `typography` (other bytes, equal after folding) or
    /// `changed`.
    pub tag: Tag,
    /// The line of A (line end excluded), if the row has one.
    pub a: Option<String>,
    /// The line of B, if the row has one.
    pub b: Option<String>,
    /// Changed words in `a`: byte ranges `[start, end)` of the line.
    pub a_changed: Vec<[usize; 2]>,
    /// Changed words in `b`.
    pub b_changed: Vec<[usize; 2]>,
}

/// Everything `explain` found.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// First text.
    pub a: Side,
    /// Second text.
    pub b: Side,
    /// Whether the canonical forms of the texts as written are equal (an
    /// exact duplicate, whatever the near-duplicate settings).
    pub exact: bool,
    /// Shingling used.
    pub shingling: String,
    /// Exact Jaccard of the shingle sets.
    pub jaccard: f64,
    /// Exact containment |A∩B| / min(|A|, |B|).
    pub containment: f64,
    /// MinHash estimate of the Jaccard from the signatures.
    pub estimate: f64,
    /// Sketch kind and permutations.
    pub sketch: String,
    /// LSH bands and rows.
    pub bands: usize,
    /// Rows per band.
    pub rows: usize,
    /// Bands whose keys are equal (0-based).
    pub collided_bands: Vec<usize>,
    /// The similarity the threshold applies to, as verified.
    pub similarity: f64,
    /// The threshold.
    pub threshold: f64,
    /// Whether they are near duplicates: a candidate, and the verified
    /// similarity at or above the threshold.
    pub duplicates: bool,
    /// Shingles in both (as text), up to `limit`.
    pub shared: Vec<String>,
    /// Shingles only in A, up to `limit`.
    pub only_a: Vec<String>,
    /// Shingles only in B, up to `limit`.
    pub only_b: Vec<String>,
    /// Counts before the limit: shared, only in A, only in B.
    pub counts: [usize; 3],
    /// Side-by-side diff of the original texts, aligned on their
    /// canonical form.
    pub diff: Vec<DiffLine>,
}

/// Explains the comparison of texts `a` and `b` (with display names)
/// under `settings`, as a `dedup` run over the two records (A first) sees
/// them; lists at most `limit` shingles per group.
///
/// # Errors
/// Near duplicates off (there is nothing to compare fingerprints of),
/// settings that cannot work, or temp files failing.
pub fn explain(
    settings: &Settings,
    resources: &Resources,
    (name_a, a): (&str, &str),
    (name_b, b): (&str, &str),
    limit: usize,
) -> Result<Explanation> {
    let Some(opts) = settings.near.as_ref() else {
        return Err(Error::Near(
            "explaining compares fingerprints: near duplicates must be on".into(),
        ));
    };
    let analyzer = Analyzer::new(settings, false)?;
    let (aa, ab) = (analyzer.analyse(a), analyzer.analyse(b));

    // What dedup decides: the same decisions over the two records.
    let mut d = Deduper::new(&analyzer, resources, OnError::Fail, vec![String::new()])?;
    d.push((0, 1), Some(name_a.into()), Ok(aa.clone()))?;
    d.push((0, 2), Some(name_b.into()), Ok(ab.clone()))?;
    let decisions = d.decide(false, &NoProgress)?;
    let mut cut = String::new();
    let decide = |k: usize, text: &str, cut: &mut String| {
        let needs = decisions.needs_cut_text(k);
        if needs {
            cut_into(text, decisions.cuts(k).iter().map(|c| (c.start, c.len)), cut);
        }
        let o = decisions.outcome(k, needs.then_some(cut.as_str()));
        decisions.entry(k, &o)
    };
    let (da, db) = (decide(0, a, &mut cut)?, decide(1, b, &mut cut)?);

    // Each step, on the texts as written.
    let written = |text: &str, a: &crate::Analysis| {
        let mut out = String::new();
        cut_into(text, a.repeats.iter().map(|r| (r.start, r.len)), &mut out);
        analyzer.normalizer().canonical(&out)
    };
    let (ca, cb) = (written(a, &aa), written(b, &ab));
    let (fa, fb) =
        (aa.fingerprint.clone().unwrap_or_default(), ab.fingerprint.clone().unwrap_or_default());
    let params = analyzer.banding().unwrap_or(neardup_sketch::LshParams { bands: 0, rows: 0 });

    let jac = jaccard::jaccard(&fa.set, &fb.set);
    let cont = jaccard::containment(&fa.set, &fb.set);
    let estimate = estimate_jaccard(&fa.signature, &fb.signature);
    let collided: Vec<usize> = if minhash::is_empty_signature(&fa.signature) {
        Vec::new()
    } else {
        fa.band_keys
            .iter()
            .zip(&fb.band_keys)
            .enumerate()
            .filter(|(_, (x, y))| x == y)
            .map(|(i, _)| i)
            .collect()
    };
    let similarity = match (opts.verify, opts.similarity) {
        (Verify::Jaccard, Similarity::Jaccard) => jac,
        (Verify::Jaccard, Similarity::Containment) => cont,
        (Verify::Signature | Verify::None, _) => estimate,
    };
    let candidate = !collided.is_empty();
    let duplicates = candidate && (opts.verify == Verify::None || similarity >= opts.threshold);

    // Shingles as text, for people: the same n-grams the hashes stand for.
    let sa = shingle_texts(&ca, opts.shingling);
    let sb = shingle_texts(&cb, opts.shingling);
    let shared: Vec<String> = sa.intersection(&sb).cloned().collect();
    let only_a: Vec<String> = sa.difference(&sb).cloned().collect();
    let only_b: Vec<String> = sb.difference(&sa).cloned().collect();
    let counts = [shared.len(), only_a.len(), only_b.len()];
    let take = |v: Vec<String>| v.into_iter().take(limit).collect::<Vec<_>>();

    let diff = diff::diff(analyzer.normalizer(), a, b)
        .rows(a, b)
        .into_iter()
        .map(|row| {
            let side = |text: &str, line: Option<std::ops::Range<usize>>, changed: Vec<_>| {
                let at = line.as_ref().map_or(0, |l| l.start);
                let words = changed
                    .into_iter()
                    .map(|r: std::ops::Range<usize>| [r.start - at, r.end - at])
                    .collect();
                (line.map(|l| text[l].to_string()), words)
            };
            let (la, a_changed) = side(a, row.a, row.a_changed);
            let (lb, b_changed) = side(b, row.b, row.b_changed);
            DiffLine { tag: row.tag, a: la, b: lb, a_changed, b_changed }
        })
        .collect();

    let repeats = |x: &crate::Analysis| x.repeats.iter().map(|r| [r.start, r.len]).collect();
    Ok(Explanation {
        a: Side {
            name: name_a.to_string(),
            bytes: a.len(),
            repeats: repeats(&aa),
            shingles: fa.set.len(),
            canonical: ca,
            decision: da,
        },
        b: Side {
            name: name_b.to_string(),
            bytes: b.len(),
            repeats: repeats(&ab),
            shingles: fb.set.len(),
            canonical: cb,
            decision: db,
        },
        exact: aa.hash == ab.hash,
        shingling: opts.shingling.to_string(),
        jaccard: jac,
        containment: cont,
        estimate,
        sketch: format!("{} × {}", opts.sketch, opts.num_perm),
        bands: params.bands,
        rows: params.rows,
        collided_bands: collided,
        similarity,
        threshold: opts.threshold,
        duplicates,
        shared: take(shared),
        only_a: take(only_a),
        only_b: take(only_b),
        counts,
        diff,
    })
}

/// The shingles of canonical `text` as strings (line breaks as spaces, as
/// the fingerprint sees them), sorted.
fn shingle_texts(text: &str, shingling: Shingling) -> BTreeSet<String> {
    let flat: Vec<&str> = text.split_ascii_whitespace().collect();
    let mut out = BTreeSet::new();
    match shingling {
        Shingling::Word(n) => {
            if flat.len() <= n {
                if !flat.is_empty() {
                    out.insert(flat.join(" "));
                }
            } else {
                for w in flat.windows(n) {
                    out.insert(w.join(" "));
                }
            }
        }
        Shingling::Char(n) => {
            let joined: Vec<char> = flat.join(" ").chars().collect();
            if joined.len() <= n {
                if !joined.is_empty() {
                    out.insert(joined.iter().collect());
                }
            } else {
                for w in joined.windows(n) {
                    out.insert(w.iter().collect());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Reason, Status};

    #[test]
    fn typographic_variants_explain_as_identical() {
        let s = Settings::default();
        let r = Resources::default();
        let a = "He said \"we will not resign\" -- and left the room at once, angry.";
        let b =
            "He said \u{201C}we will not resign\u{201D} \u{2014} and left the room at once, angry.";
        let e = explain(&s, &r, ("a", a), ("b", b), 5).unwrap();
        assert_eq!(e.jaccard, 1.0);
        assert!(e.exact, "the canonical forms are equal");
        assert_eq!(e.b.decision.reason, Some(Reason::Exact));
        assert_eq!(e.collided_bands.len(), e.bands);
        assert!(e.duplicates);
        assert_eq!(e.counts[1] + e.counts[2], 0);
        assert_eq!(e.diff.len(), 1, "one row: {:?}", e.diff);
        assert_eq!(e.diff[0].tag, Tag::Typography);
        assert_eq!(e.diff[0].a.as_deref(), Some(a));
        assert_eq!(e.diff[0].b.as_deref(), Some(b));
    }

    #[test]
    fn unrelated_texts_share_nothing() {
        let e = explain(
            &Settings::default(),
            &Resources::default(),
            ("a", "the committee met on tuesday to discuss the budget"),
            ("b", "rain is expected across the north by the evening"),
            3,
        )
        .unwrap();
        assert_eq!(e.jaccard, 0.0);
        assert!(!e.duplicates);
        assert!(e.shared.is_empty());
        assert_eq!(e.only_a.len(), 3, "limited to 3");
        assert_eq!(e.counts[1], 5, "9 words, 5 word 5-grams");
        // The shingles shown are the ones hashed.
        assert_eq!(e.counts[0] + e.counts[1], e.a.shingles);
        assert_eq!(e.counts[0] + e.counts[2], e.b.shingles);
        assert_eq!(e.b.decision.status, Status::Kept);
    }

    /// B is A said twice: `dedup` cuts B's repeat and then removes B as an
    /// exact duplicate of A; `explain` must say so, not "0.67, not near
    /// duplicates" from the uncut text.
    #[test]
    fn a_record_said_twice_explains_as_dedup_decides() {
        let a = "The council approved the new budget after a long debate about schools, \
                 roads and the harbour, and the mayor thanked everyone who took part.";
        let b = format!("{a}\n{}", a.replace('"', "\u{201C}"));
        let e =
            explain(&Settings::default(), &Resources::default(), ("a", a), ("b", &b), 3).unwrap();
        assert_eq!(e.b.repeats.len(), 1, "B's second copy is cut before matching");
        assert!(e.exact);
        assert_eq!(e.jaccard, 1.0);
        assert!(e.duplicates);
        assert_eq!(e.b.decision.status, Status::Removed);
        assert_eq!(e.b.decision.reason, Some(Reason::Exact));
        assert_eq!(e.b.decision.duplicate_of.as_deref(), Some("a"));
        assert_eq!(e.a.decision.status, Status::Kept);
    }
}
