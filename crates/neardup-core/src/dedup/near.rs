//! Near duplicates: MinHash LSH candidates, verified, clustered around the
//! record each cluster keeps.
//!
//! # Flow
//! 1. Pass 1 ([`Sketching::fingerprint`], in the workers): shingle the
//!    canonical text as it will be written, sketch it, cut the signature
//!    into LSH band keys. The consumer ([`Collector::add`], in input order)
//!    puts the band keys in a [`BucketTable`] (which spills to disk past its
//!    memory budget) and the shingle set and signature in on-disk stores.
//! 2. [`Collector::decide`]: every bucket of two or more live records gives
//!    candidate pairs, each record paired with the bucket's records that
//!    rank before it (the first [`MAX_PARTNERS`] of them in a large bucket).
//!    Records are then taken in *keep order* (first, last or longest first;
//!    for containment, longest first): a record is a duplicate of the
//!    best-matching record already kept among its candidates, if the
//!    verified similarity reaches the threshold; otherwise it is kept.
//!
//! # Why keep order and not union-find
//! Union-find over verified pairs chains: A~B and B~C put A and C in one
//! cluster however far apart they are, and a long chain glues unrelated
//! texts into one giant cluster. Here every removed record is within the
//! threshold of the record kept for it (its cluster's representative),
//! checked, which is what a user asking for "0.8" means. The price: a
//! record that matches only a removed record is kept; such a record is not
//! within the threshold of anything kept, so keeping it is right.
//!
//! # Determinism
//! Buckets come out of the table sorted; candidate lists are sorted by
//! rank; ties go to the record ranked first. Nothing depends on threads.

use std::path::Path;

use neardup_sketch::{
    estimate_jaccard, jaccard, lsh, minhash, shingle, BucketTable, LshParams, Shingling, Sketcher,
};
use serde::Serialize;

use super::store::SliceStore;
use super::table::{Decision, Info};
use crate::config::{Keep, NearOptions, Similarity, Verify};
use crate::error::Result;
use crate::hashing::PrehashedSet;
use crate::ledger::Reason;

/// In a bucket, each record is paired only with the first this-many records
/// (by keep order): enough to meet the record its cluster keeps, which ranks
/// first, without the quadratic cost of a bucket of thousands of
/// near-identical pages. Measured on the labelled set (bench/README.md):
/// the records removed stop changing at 4 partners; 8 leaves a margin.
/// A similarity join (`clusters --pairs`) pairs everything.
pub(crate) const MAX_PARTNERS: usize = 8;

/// With verification on, the banding makes a pair at exactly the threshold
/// a candidate at least this often (pairs above it, more often).
const RECALL_AT_THRESHOLD: f64 = 0.995;

/// What the workers need to fingerprint a record: read-only, shared.
pub(crate) struct Sketching {
    shingling: Shingling,
    seed: u64,
    sketcher: Sketcher,
    params: LshParams,
}

/// One record's fingerprint, from a worker to the collector.
#[derive(Debug, Default)]
pub(crate) struct Fingerprint {
    set: Vec<u64>,
    sig: Vec<u32>,
    keys: Vec<u64>,
}

impl Fingerprint {
    /// The sorted, distinct shingle hashes.
    pub(crate) fn set(&self) -> &[u64] {
        &self.set
    }

    /// The signature.
    pub(crate) fn signature(&self) -> &[u32] {
        &self.sig
    }

    /// The LSH band keys (none for an empty text).
    pub(crate) fn keys(&self) -> &[u64] {
        &self.keys
    }
}

/// Per-worker scratch.
#[derive(Default)]
pub(crate) struct Scratch {
    hashes: Vec<u64>,
    /// The text with line breaks as spaces.
    flat: String,
}

/// The banding chosen and what it does around the threshold.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NearReport {
    /// LSH bands.
    pub bands: usize,
    /// Rows per band.
    pub rows: usize,
    /// Probability (to 4 decimals) that a pair at the threshold −0.1, the
    /// threshold and +0.1 becomes a candidate (for containment, at the largest size
    /// ratio the banding is tuned for).
    pub s_curve: [(f64, f64); 3],
    /// Distinct candidate pairs.
    pub candidates: u64,
    /// Pairs whose similarity was computed.
    pub verified: u64,
    /// Records removed as near duplicates.
    pub removed: u64,
    /// Bytes of shingle sets and signatures written to temp files.
    pub disk_bytes: u64,
    /// Bucket-table runs spilled to disk.
    pub spilled_runs: usize,
}

impl Sketching {
    /// Builds the sketcher and picks the banding for `opts`.
    pub(crate) fn new(opts: &NearOptions) -> Result<Sketching> {
        let sketcher =
            Sketcher::new(opts.sketch, opts.num_perm, opts.seed).map_err(sketch_error)?;
        let params = match (opts.bands, opts.rows) {
            (Some(b), Some(r)) => LshParams::new(b, r),
            (b, r) => {
                // A missed pair is lost for good, a false candidate costs one
                // verification: with verification on, the banding that keeps
                // P(candidate) ≥ 0.995 at the threshold with the fewest
                // candidates (21 × 6 at 0.8 and 128 permutations).
                // Unverified, the equal false-positive and false-negative
                // weights datasketch uses (9 × 13).
                let verified = opts.verify != Verify::None;
                let target = match opts.similarity {
                    Similarity::Jaccard => opts.threshold,
                    // The Jaccard of a pair at the containment threshold and
                    // the largest size ratio tuned for (LSH Ensemble).
                    Similarity::Containment => {
                        lsh::jaccard_from_containment(opts.threshold, opts.max_size_ratio)
                    }
                };
                let best = if verified {
                    lsh::recall_params(target, opts.num_perm, RECALL_AT_THRESHOLD)
                } else {
                    lsh::optimal_params(target, opts.num_perm, 0.5, 0.5)
                }
                .map_err(sketch_error)?;
                // One given: fill the other from the permutations.
                match (b, r) {
                    (Some(b), None) => LshParams::new(b, (opts.num_perm / b.max(1)).max(1)),
                    (None, Some(r)) => LshParams::new((opts.num_perm / r.max(1)).max(1), r),
                    _ => Ok(best),
                }
            }
        }
        .map_err(sketch_error)?;
        if params.bands * params.rows > opts.num_perm {
            return Err(crate::error::Error::Near(format!(
                "`--bands {}` × `--rows {}` needs {} permutations, more than `--num-perm {}`",
                params.bands,
                params.rows,
                params.bands * params.rows,
                opts.num_perm
            )));
        }
        Ok(Sketching { shingling: opts.shingling, seed: opts.seed, sketcher, params })
    }

    /// The banding in use.
    pub(crate) fn params(&self) -> LshParams {
        self.params
    }

    /// Fingerprints canonical `text`. Line and paragraph breaks count as
    /// spaces here: the same words wrapped differently are the same text.
    pub(crate) fn fingerprint(&self, text: &str, s: &mut Scratch) -> Fingerprint {
        let mut fp = Fingerprint::default();
        let text = if text.contains('\n') {
            s.flat.clear();
            for (i, part) in text.split('\n').filter(|p| !p.is_empty()).enumerate() {
                if i > 0 {
                    s.flat.push(' ');
                }
                s.flat.push_str(part);
            }
            s.flat.as_str()
        } else {
            text
        };
        self.shingling.shingle_hashes(text, self.seed, &mut s.hashes);
        // A sketch is a function of the set, so the set is sketched: each
        // shingle a text repeats (boilerplate, lists) is hashed once.
        shingle::into_set(&mut s.hashes);
        self.sketcher.sketch(&s.hashes, &mut fp.sig);
        if !minhash::is_empty_signature(&fp.sig) {
            // The signature has `num_perm ≥ bands·rows` slots: cannot fail.
            let _ = self.params.band_keys(&fp.sig, &mut fp.keys);
        }
        fp.set = s.hashes.clone();
        fp
    }
}

/// Collects fingerprints in input order.
pub(crate) struct Collector {
    opts: NearOptions,
    params: LshParams,
    table: BucketTable,
    sets: SliceStore,
    sigs: SliceStore,
}

impl Collector {
    pub(crate) fn new(opts: &NearOptions, params: LshParams) -> Result<Collector> {
        let tmp: &Path = &opts.tmp_dir;
        Ok(Collector {
            opts: opts.clone(),
            params,
            table: BucketTable::new(params.bands, opts.memory, tmp).map_err(sketch_error)?,
            sets: SliceStore::new(tmp)?,
            sigs: SliceStore::new(tmp)?,
        })
    }

    /// Records the fingerprint of record `index`.
    pub(crate) fn add(&mut self, index: u32, fp: &Fingerprint) -> Result<()> {
        if !fp.keys.is_empty() {
            self.table.insert(index, &fp.keys).map_err(sketch_error)?;
        }
        self.sets.push(index as usize, &fp.set)?;
        let packed: Vec<u64> = fp
            .sig
            .chunks(2)
            .map(|c| c[0] as u64 | (c.get(1).copied().unwrap_or(0) as u64) << 32)
            .collect();
        self.sigs.push(index as usize, &packed)?;
        Ok(())
    }

    /// Decides which live records are near duplicates of which kept ones.
    ///
    /// With `all_pairs`, also verifies every candidate pair (not only
    /// against kept records) and collects those at or above the threshold
    /// as `(record, record, similarity)`, the smaller index first, sorted.
    pub(crate) fn decide(
        mut self,
        infos: &mut [Info],
        keep: Keep,
        mut all_pairs: Option<&mut Vec<(u32, u32, f32)>>,
    ) -> Result<NearReport> {
        self.sets.seal()?;
        self.sigs.seal()?;
        let mut report = NearReport {
            bands: self.params.bands,
            rows: self.params.rows,
            disk_bytes: self.sets.disk_bytes() + self.sigs.disk_bytes(),
            spilled_runs: self.table.spilled_runs(),
            ..NearReport::default()
        };
        let t = self.opts.threshold;
        report.s_curve = [-0.1, 0.0, 0.1].map(|d| {
            // Rounded so that reports read 0.7, not 0.7000000000000001.
            let s = ((t + d).clamp(0.0, 1.0) * 1e6).round() / 1e6;
            let j = match self.opts.similarity {
                Similarity::Jaccard => s,
                Similarity::Containment => {
                    lsh::jaccard_from_containment(s, self.opts.max_size_ratio)
                }
            };
            (s, (self.params.probability(j) * 1e4).round() / 1e4)
        });

        // Keep order: rank[i] is record i's place; order[r] the record at r.
        let containment = self.opts.similarity == Similarity::Containment;
        let mut order: Vec<u32> =
            (0..infos.len() as u32).filter(|&i| infos[i as usize].alive()).collect();
        match (keep, containment) {
            (_, true) | (Keep::Longest, _) => {
                order.sort_by_key(|&i| (std::cmp::Reverse(infos[i as usize].len), i))
            }
            (Keep::Last, false) => order.reverse(),
            (Keep::First, false) => {}
        }
        let mut rank = vec![u32::MAX; infos.len()];
        for (r, &i) in order.iter().enumerate() {
            rank[i as usize] = r as u32;
        }

        // Candidate pairs as (rank of the later, rank of the earlier).
        // A pair collides in many bands: deduplicate as pairs arrive, so
        // that memory holds distinct pairs only (a family of near copies
        // collides in every band).
        let mut seen: PrehashedSet<u64> = PrehashedSet::default();
        // A similarity join needs every pair; clustering, the first few.
        let partners = if all_pairs.is_some() { usize::MAX } else { MAX_PARTNERS };
        let mut ranks: Vec<u32> = Vec::new();
        self.table
            .finish()
            .map_err(sketch_error)?
            .for_each_bucket(|b| {
                ranks.clear();
                ranks.extend(b.docs.iter().map(|&d| rank[d as usize]).filter(|&r| r != u32::MAX));
                ranks.sort_unstable();
                for (j, &later) in ranks.iter().enumerate().skip(1) {
                    for &earlier in &ranks[..j.min(partners)] {
                        seen.insert((later as u64) << 32 | earlier as u64);
                    }
                }
            })
            .map_err(sketch_error)?;
        // Sorted right away, so nothing depends on the set's order.
        #[allow(clippy::iter_over_hash_type)]
        let mut edges: Vec<(u32, u32)> =
            seen.drain().map(|e| ((e >> 32) as u32, e as u32)).collect();
        drop(seen);
        edges.sort_unstable();
        report.candidates = edges.len() as u64;

        // Greedy, in keep order: each record against the kept records that
        // rank before it.
        let mut kept = vec![true; order.len()];
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let (mut sig_a, mut sig_b) = (Vec::new(), Vec::new());
        let mut i = 0;
        while i < edges.len() {
            let later = edges[i].0;
            let mut j = i;
            while j < edges.len() && edges[j].0 == later {
                j += 1;
            }
            let d = order[later as usize] as usize;
            let mut loaded = false;
            let mut best: Option<(f64, u32)> = None;
            for &(_, earlier) in &edges[i..j] {
                if !kept[earlier as usize] && all_pairs.is_none() {
                    continue;
                }
                let p = order[earlier as usize] as usize;
                let sim = match self.opts.verify {
                    Verify::Jaccard => {
                        if !loaded {
                            self.sets.get(d, &mut a)?;
                            loaded = true;
                        }
                        self.sets.get(p, &mut b)?;
                        if containment {
                            jaccard::containment(&a, &b)
                        } else {
                            jaccard::jaccard(&a, &b)
                        }
                    }
                    Verify::Signature | Verify::None => {
                        if !loaded {
                            get_signature(&self.sigs, d, self.opts.num_perm, &mut b, &mut sig_a)?;
                            loaded = true;
                        }
                        get_signature(&self.sigs, p, self.opts.num_perm, &mut b, &mut sig_b)?;
                        estimate_jaccard(&sig_a, &sig_b)
                    }
                };
                report.verified += 1;
                let pass = self.opts.verify == Verify::None || sim >= t;
                if let Some(pairs) = all_pairs.as_mut().filter(|_| pass) {
                    pairs.push(((d.min(p)) as u32, (d.max(p)) as u32, sim as f32));
                }
                if pass && kept[earlier as usize] && best.is_none_or(|(s, _)| sim > s) {
                    best = Some((sim, p as u32));
                }
            }
            if let Some((sim, p)) = best {
                kept[later as usize] = false;
                infos[d].decision =
                    Decision::Duplicate { of: p, reason: Reason::Near, similarity: sim as f32 };
                report.removed += 1;
            }
            i = j;
        }
        if let Some(pairs) = all_pairs {
            pairs.sort_unstable_by_key(|&(a, b, _)| (a, b));
        }
        Ok(report)
    }
}

/// Reads a signature stored two slots per word.
fn get_signature(
    store: &SliceStore,
    index: usize,
    num_perm: usize,
    words: &mut Vec<u64>,
    out: &mut Vec<u32>,
) -> Result<()> {
    store.get(index, words)?;
    out.clear();
    out.extend(words.iter().flat_map(|&w| [w as u32, (w >> 32) as u32]));
    out.truncate(num_perm);
    Ok(())
}

fn sketch_error(e: neardup_sketch::Error) -> crate::error::Error {
    crate::error::Error::Near(e.to_string())
}
