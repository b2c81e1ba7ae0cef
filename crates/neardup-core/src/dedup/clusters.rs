//! `neardup clusters`: which kept record each record belongs to.
//!
//! The same analysis and decisions as a deduplication run, without the
//! second pass: one JSON line per record, in input order, naming its
//! cluster (the id of the record kept for it) and its similarity to that
//! record. With `pairs`, instead, every candidate pair whose similarity
//! reaches the threshold (a similarity join, for evaluation and analysis).

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use neardup_io::Source;
use neardup_text::Normalizer;
use serde::Serialize;

use super::table::{Decision, State};
use super::{plan, NearReport, Plan};
use crate::config::Config;
use crate::error::Result;
use crate::progress::Progress;

/// Totals of a `clusters` run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ClusterSummary {
    /// Records read.
    pub read: u64,
    /// Clusters (records kept).
    pub clusters: u64,
    /// Records in a cluster of another record.
    pub duplicates: u64,
    /// Records above a repetition threshold (in no cluster).
    pub filtered: u64,
    /// Records that could not be read.
    pub rejected: u64,
    /// Cluster size → number of clusters of that size.
    pub histogram: BTreeMap<u64, u64>,
    /// Pairs written, with `pairs`.
    pub pairs: Option<u64>,
    /// Near-duplicate banding and counts.
    pub near: Option<NearReport>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

#[derive(Serialize)]
struct Line<'a> {
    id: &'a str,
    cluster: Option<&'a str>,
    similarity: Option<f32>,
    reason: Option<crate::ledger::Reason>,
    error: Option<String>,
}

#[derive(Serialize)]
struct PairLine<'a> {
    a: &'a str,
    b: &'a str,
    similarity: f32,
}

/// Writes cluster assignments (or, with `pairs`, similar pairs) of
/// `sources` to `out`.
pub fn run(
    sources: &[Source],
    cfg: &Config,
    out: &mut dyn Write,
    pairs: bool,
    progress: &dyn Progress,
) -> Result<ClusterSummary> {
    let started = Instant::now();
    let norm = Normalizer::new(cfg.normalize.clone());
    let Plan { infos, near, pairs: found, .. } = plan(sources, cfg, &norm, pairs, progress)?;
    let ids: Vec<String> = infos.iter().map(|i| i.id(sources)).collect();
    let mut s = ClusterSummary { read: infos.len() as u64, near, ..ClusterSummary::default() };

    let mut size: BTreeMap<u32, u64> = BTreeMap::new();
    for (i, info) in infos.iter().enumerate() {
        match (&info.state, info.decision) {
            (State::Ok, Decision::Keep) => *size.entry(i as u32).or_insert(0) += 1,
            (State::Ok, Decision::Duplicate { of, .. }) => *size.entry(of).or_insert(0) += 1,
            _ => {}
        }
    }
    for n in size.values() {
        *s.histogram.entry(*n).or_insert(0) += 1;
    }
    s.clusters = size.len() as u64;

    if pairs {
        for &(a, b, similarity) in &found {
            let line = PairLine { a: &ids[a as usize], b: &ids[b as usize], similarity };
            serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
        }
        s.pairs = Some(found.len() as u64);
    }
    for (i, info) in infos.iter().enumerate() {
        let line = match (&info.state, info.decision) {
            (State::Rejected(e), _) => {
                s.rejected += 1;
                Line {
                    id: &ids[i],
                    cluster: None,
                    similarity: None,
                    reason: None,
                    error: Some(e.to_string()),
                }
            }
            (State::Filtered(why), _) => {
                s.filtered += 1;
                let reason = Some(crate::ledger::Reason::Repetition);
                Line {
                    id: &ids[i],
                    cluster: None,
                    similarity: None,
                    reason,
                    error: Some(why.to_string()),
                }
            }
            (State::Ok, Decision::Keep) => Line {
                id: &ids[i],
                cluster: Some(&ids[i]),
                similarity: Some(1.0),
                reason: None,
                error: None,
            },
            (State::Ok, Decision::Duplicate { of, reason, similarity }) => {
                s.duplicates += 1;
                Line {
                    id: &ids[i],
                    cluster: Some(&ids[of as usize]),
                    similarity: Some(similarity),
                    reason: Some(reason),
                    error: None,
                }
            }
        };
        if !pairs {
            serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    s.seconds = started.elapsed().as_secs_f64();
    Ok(s)
}
