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
use serde::Serialize;

use crate::config::Config;
use crate::decide::NearReport;
use crate::error::Result;
use crate::ledger::{Reason, Status};
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
    reason: Option<Reason>,
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
    let d = crate::dedup::decide(sources, cfg, pairs, progress)?;
    let n = d.len();
    let ids: Vec<String> = (0..n).map(|k| d.id(k)).collect::<Result<_>>()?;
    let mut s =
        ClusterSummary { read: n as u64, near: d.near.clone(), ..ClusterSummary::default() };

    let mut size: BTreeMap<u32, u64> = BTreeMap::new();
    for k in 0..n {
        if let Some(c) = d.cluster(k) {
            *size.entry(c).or_insert(0) += 1;
        }
    }
    for n in size.values() {
        *s.histogram.entry(*n).or_insert(0) += 1;
    }
    s.clusters = size.len() as u64;

    if pairs {
        for &(a, b, similarity) in &d.pairs {
            let line = PairLine { a: &ids[a as usize], b: &ids[b as usize], similarity };
            serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
        }
        s.pairs = Some(d.pairs.len() as u64);
    }
    for (k, id) in ids.iter().enumerate() {
        let o = d.outcome(k, None);
        let line = match (o.status, o.reason) {
            (Status::Rejected, _) => {
                s.rejected += 1;
                Line { id, cluster: None, similarity: None, reason: None, error: o.error }
            }
            (Status::Removed, Some(Reason::Repetition)) => {
                s.filtered += 1;
                Line { id, cluster: None, similarity: None, reason: o.reason, error: o.error }
            }
            (Status::Removed, _) => {
                s.duplicates += 1;
                let cluster = o.duplicate_of.map(|c| ids[c as usize].as_str());
                Line { id, cluster, similarity: o.similarity, reason: o.reason, error: None }
            }
            (Status::Kept | Status::Modified, _) => {
                Line { id, cluster: Some(id), similarity: Some(1.0), reason: None, error: None }
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
