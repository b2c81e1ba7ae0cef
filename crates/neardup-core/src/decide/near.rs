//! Near duplicates: LSH candidates, verified, clustered around the record
//! each cluster keeps.
//!
//! # The decision
//! Records are taken in *keep order* (first, last or longest first; for
//! containment, longest first), each identified by its place in that order,
//! its *rank*. A record is a duplicate of the best-matching record already
//! kept among its candidates (records ranked before it that share an LSH
//! bucket with it) if the verified similarity reaches the threshold;
//! otherwise it is kept. [`greedy`] is that rule over a sorted stream of
//! candidate pairs, as a plain function: the CLI, `explain`, the index and
//! the Spark and Ray drivers all call it.
//!
//! # Why keep order and not union-find
//! Union-find over verified pairs chains: A~B and B~C put A and C in one
//! cluster however far apart they are, and a long chain glues unrelated
//! texts into one giant cluster. Here every removed record is within the
//! threshold of the record kept for it, checked. The price: a record that
//! matches only a removed record is kept; it is not within the threshold of
//! anything kept, so keeping it is right.
//!
//! # Components
//! A record's decision depends only on pairs whose similarity reaches the
//! threshold, so the greedy gives the same decisions run over each
//! connected component of the verified-candidate graph as over the whole
//! (a property test checks it): what the distributed drivers do.
//!
//! # Large buckets, exactly
//! A bucket of `n` records holds `n²/2` pairs; a family of ten thousand near
//! copies of one page would cost fifty million verifications. So each
//! record is first paired with the first [`MAX_PARTNERS`] records of each
//! bucket only ([`bucket_pairs`]), which nearly always holds the record
//! its cluster keeps. Then, over the buckets larger than that, every pair
//! (later record, kept earlier record) that was not a candidate is found
//! ([`missed_pairs`]), added, and the greedy run again, until none is
//! missing. The result is exactly the greedy over every pair (by induction
//! on rank: each record then sees every kept record before it in its
//! buckets), so the cap buys speed and never changes a decision; a
//! similarity join (`clusters --pairs`) pairs everything and gets the same
//! clusters.
//!
//! # Memory
//! Candidate pairs are sorted on disk ([`ExternalSorter`]) within the run's
//! memory budget and streamed into the greedy, which keeps one flag per
//! record; shingle sets and signatures are read from temp files.
//!
//! # Threads
//! Verification is most of the decision and each pair's similarity depends
//! on the pair alone, so on more than one thread the pairs are verified on
//! the rayon pool a chunk at a time, those whose earlier record is already
//! decided and kept, and the rule then runs serially over the chunk in
//! stream order (`greedy_in_chunks`): the decisions cannot tell.
//!
//! # Determinism
//! Buckets come out of the table sorted; pairs are sorted by rank; ties go
//! to the record ranked first. Nothing depends on threads.

use std::path::Path;

use neardup_sketch::extsort::ExternalSorter;
use neardup_sketch::{estimate_jaccard, jaccard, BucketTable, LshParams};
use serde::Serialize;

use super::store::{SliceStore, SpillFile};
use super::{keep_key, Decision, Externals, History, Info};
use crate::analysis::Fingerprint;
use crate::error::{Error, Result};
use crate::ledger::Reason;
use crate::settings::{Keep, NearSettings, Resources, Similarity, Verify};

/// In a bucket, each record is first paired with this many records ranked
/// before it (the first by rank): enough, nearly always, to meet the record
/// its cluster keeps, which ranks first. Pairs the cap left out are found
/// and verified afterwards when they matter (see the module docs), so the
/// cap never changes a decision, only the work.
pub const MAX_PARTNERS: usize = 8;

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
    /// Records removed as near duplicates: those the near stage removed,
    /// and their exact copies (which the ledger points at the same kept
    /// record, reason `near`); equal to the summary's `removed_near`.
    pub removed: u64,
    /// Bytes of shingle sets and signatures stored in temp files, a record
    /// that repeats an earlier one's text counted with the set and
    /// signature it shares: the same whatever the threads or the budget.
    pub disk_bytes: u64,
    /// Bucket-table runs spilled to disk.
    pub spilled_runs: usize,
    /// Rounds of the greedy: 1, plus one per pass that found pairs the
    /// per-bucket cap had left out (shown only when above 1).
    #[serde(skip_serializing_if = "one_round")]
    pub rounds: u32,
}

fn one_round(r: &u32) -> bool {
    *r <= 1
}

impl NearReport {
    /// The banding and its S-curve for `opts`, before any counts.
    pub fn new(opts: &NearSettings, params: LshParams) -> NearReport {
        let t = opts.threshold;
        let s_curve = [-0.1, 0.0, 0.1].map(|d| {
            // Rounded so that reports read 0.7, not 0.7000000000000001.
            let s = ((t + d).clamp(0.0, 1.0) * 1e6).round() / 1e6;
            (s, (params.probability(opts.jaccard_target(s)) * 1e4).round() / 1e4)
        });
        NearReport { bands: params.bands, rows: params.rows, s_curve, ..NearReport::default() }
    }
}

/// Candidate pairs of one bucket, as `(later, earlier)` ranks: each record
/// with the first `cap` records before it. `ranks` ascending, distinct.
pub fn bucket_pairs(ranks: &[u32], cap: usize, mut emit: impl FnMut(u32, u32)) {
    for (j, &later) in ranks.iter().enumerate().skip(1) {
        for &earlier in &ranks[..j.min(cap)] {
            emit(later, earlier);
        }
    }
}

/// The pairs `(later, kept earlier)` of one bucket that [`bucket_pairs`]
/// with `cap` left out: what the greedy must still see. `ranks` ascending,
/// distinct; `kept[r]` is rank `r`'s state (a caller that found some pairs
/// already passes only the records whose pairs it has not found).
pub fn missed_pairs(ranks: &[u32], cap: usize, kept: &[bool], mut emit: impl FnMut(u32, u32)) {
    // The kept records past the cap, as the walk passes them: a bucket of
    // thousands of copies, nearly all removed, costs one pass.
    let mut kept_before: Vec<u32> = Vec::new();
    for &r in ranks.iter().skip(cap) {
        for &earlier in &kept_before {
            emit(r, earlier);
        }
        if kept[r as usize] {
            kept_before.push(r);
        }
    }
}

/// The greedy in keep order over candidate pairs `(later, earlier)` (ranks,
/// sorted, possibly repeated), among `n` ranked records.
///
/// `similarity(later, earlier)` verifies a pair; a pair counts when it
/// reaches `threshold` (any candidate counts with `trust`, unverified
/// LSH). Returns, per rank, `Some((earlier, similarity))` for a duplicate
/// of the best-matching kept earlier record (ties to the earlier), `None`
/// for a kept one. With `all_pairs`, every candidate is verified, not only
/// those against kept records, and each that counts is passed to it.
///
/// ```
/// use neardup_core::decide::near::greedy;
///
/// // 0 ~ 1 ~ 2 (0.9 each), 0 and 2 apart (0.5): 1 joins 0; 2 matches only
/// // the removed 1, so it is kept (no chaining).
/// let sim = |a: u32, b: u32| Ok::<_, ()>(if a.abs_diff(b) == 1 { 0.9 } else { 0.5 });
/// let pairs = [(1, 0), (2, 0), (2, 1)];
/// let mut it = pairs.into_iter();
/// let d = greedy(3, || Ok(it.next()), sim, 0.8, false, None).unwrap();
/// assert_eq!(d, [None, Some((0, 0.9)), None]);
/// ```
pub fn greedy<E>(
    n: usize,
    pairs: impl FnMut() -> std::result::Result<Option<(u32, u32)>, E>,
    similarity: impl FnMut(u32, u32) -> std::result::Result<f64, E>,
    threshold: f64,
    trust: bool,
    all_pairs: Option<&mut dyn FnMut(u32, u32, f64)>,
) -> std::result::Result<Vec<Option<(u32, f32)>>, E> {
    let none = vec![None; n];
    greedy_from(&none, 0, &[], pairs, similarity, threshold, trust, all_pairs)
}

/// The `earlier` of a decision whose match lies outside the ranked records
/// (in an index of earlier batches): see [`greedy_with_history`].
pub const EXTERNAL: u32 = u32::MAX;

/// [`greedy`] when every ranked record may also match a record kept before
/// all of them (history, in an index): `external[r]` is rank `r`'s best
/// such match that counts, by similarity. Such records rank first, so a
/// match among the ranked ones replaces it only when strictly more similar;
/// a decision for an external match names [`EXTERNAL`].
pub fn greedy_with_history<E>(
    external: &[Option<f64>],
    pairs: impl FnMut() -> std::result::Result<Option<(u32, u32)>, E>,
    similarity: impl FnMut(u32, u32) -> std::result::Result<f64, E>,
    threshold: f64,
    trust: bool,
) -> std::result::Result<Vec<Option<(u32, f32)>>, E> {
    let none = vec![None; external.len()];
    greedy_from(&none, 0, external, pairs, similarity, threshold, trust, None)
}

/// [`greedy`] again after pairs were added whose later rank is at least
/// `start`: the decisions of ranks before it cannot change (they depend on
/// pairs of smaller ranks only), so they are taken from `prior` and their
/// pairs are not verified again. `external`: as [`greedy_with_history`]
/// (empty for none).
#[allow(clippy::too_many_arguments)]
fn greedy_from<E>(
    prior: &[Option<(u32, f32)>],
    start: u32,
    external: &[Option<f64>],
    pairs: impl FnMut() -> std::result::Result<Option<(u32, u32)>, E>,
    mut similarity: impl FnMut(u32, u32) -> std::result::Result<f64, E>,
    threshold: f64,
    trust: bool,
    all_pairs: Option<&mut dyn FnMut(u32, u32, f64)>,
) -> std::result::Result<Vec<Option<(u32, f32)>>, E> {
    // Chunks of one pair: each is verified only when the rule needs it.
    let one_by_one = |batch: &[(u32, u32)], wanted: &[bool], sims: &mut [f64]| {
        for ((&(l, e), &w), s) in batch.iter().zip(wanted).zip(sims) {
            if w {
                *s = similarity(l, e)?;
            }
        }
        Ok(())
    };
    let (decisions, _) = greedy_in_chunks(
        prior, start, external, pairs, 1, one_by_one, threshold, trust, all_pairs,
    )?;
    Ok(decisions)
}

/// Per rank, a duplicate's `(earlier, similarity)` or `None` (kept).
type Decisions = Vec<Option<(u32, f32)>>;

/// The greedy of [`greedy_from`], its pairs taken `chunk` at a time; also
/// returns how many pairs the rule verified.
///
/// Why chunks: each pair's similarity depends on nothing but the pair,
/// so a chunk's can be computed at once (in parallel, by the caller's
/// `similarities`) while the rule itself still runs serially over them, in
/// stream order: the same decisions at any chunk size. Computed ahead
/// (`wanted`) are the pairs whose earlier record was decided, and kept,
/// before the chunk: the rule reads every one of them. A pair whose
/// earlier record is decided inside the chunk is verified when the rule
/// reaches it, if that record was kept, alone: verifying such pairs ahead
/// in case cost more than it saved (the rule skips many of them: copies
/// of one family ranked close together). `similarities(batch, wanted,
/// sims)` fills `sims[i]` for each `wanted[i]`.
#[allow(clippy::too_many_arguments)]
fn greedy_in_chunks<E>(
    prior: &[Option<(u32, f32)>],
    start: u32,
    external: &[Option<f64>],
    mut pairs: impl FnMut() -> std::result::Result<Option<(u32, u32)>, E>,
    chunk: usize,
    mut similarities: impl FnMut(&[(u32, u32)], &[bool], &mut [f64]) -> std::result::Result<(), E>,
    threshold: f64,
    trust: bool,
    mut all_pairs: Option<&mut dyn FnMut(u32, u32, f64)>,
) -> std::result::Result<(Decisions, u64), E> {
    let n = prior.len();
    let mut out: Vec<Option<(u32, f32)>> = vec![None; n];
    out[..start as usize].copy_from_slice(&prior[..start as usize]);
    let mut kept: Vec<bool> = out.iter().map(Option::is_none).collect();
    let external_best = |r: u32| external.get(r as usize).copied().flatten().map(|s| (s, EXTERNAL));
    // The rank being decided, and its best match so far.
    let mut later = start;
    let mut best: Option<(f64, u32)> = external_best(later);
    let settle = |out: &mut [Option<(u32, f32)>], kept: &mut [bool], r: u32, b| {
        if let Some((sim, earlier)) = b {
            kept[r as usize] = false;
            out[r as usize] = Some((earlier, sim as f32));
        }
    };
    let mut verified = 0u64;
    let (mut batch, mut wanted, mut sims) = (Vec::new(), Vec::new(), Vec::new());
    let mut last: Option<(u32, u32)> = None;
    let mut ended = false;
    while !ended {
        batch.clear();
        while batch.len() < chunk.max(1) {
            match pairs()? {
                // Decided before `start`, or the same pair from another band.
                Some(p) if p.0 < start || last == Some(p) => {}
                Some(p) if (p.0 as usize) < n => {
                    last = Some(p);
                    batch.push(p);
                }
                _ => {
                    ended = true;
                    break;
                }
            }
        }
        // Ranks before `later` (the one being decided) are decided.
        wanted.clear();
        wanted.extend(
            batch.iter().map(|&(_, e)| all_pairs.is_some() || (e < later && kept[e as usize])),
        );
        sims.clear();
        sims.resize(batch.len(), 0.0);
        similarities(&batch, &wanted, &mut sims)?;
        for (i, &(l, earlier)) in batch.iter().enumerate() {
            while later < l {
                settle(&mut out, &mut kept, later, best);
                later += 1;
                best = external_best(later);
            }
            let earlier_kept = kept[earlier as usize];
            if !earlier_kept && all_pairs.is_none() {
                continue;
            }
            if !wanted[i] {
                // Decided inside the chunk, and kept.
                similarities(&batch[i..=i], &[true], &mut sims[i..=i])?;
            }
            let sim = sims[i];
            verified += 1;
            let pass = trust || sim >= threshold;
            if let Some(f) = all_pairs.as_mut().filter(|_| pass) {
                f(later, earlier, sim);
            }
            if pass && earlier_kept && best.is_none_or(|(s, _)| sim > s) {
                best = Some((sim, earlier));
            }
        }
    }
    while (later as usize) < n {
        settle(&mut out, &mut kept, later, best);
        later += 1;
        best = external_best(later);
    }
    Ok((out, verified))
}

/// Collects fingerprints in input order, then decides (single machine,
/// bounded memory).
pub(crate) struct Collector {
    opts: NearSettings,
    params: LshParams,
    table: BucketTable,
    sets: SliceStore,
    sigs: SliceStore,
    memory: usize,
    tmp_dir: std::path::PathBuf,
    /// Pairs verified together ([`VERIFY_CHUNK`]; tests vary it).
    verify_chunk: usize,
}

impl Collector {
    pub(crate) fn new(
        opts: &NearSettings,
        params: LshParams,
        res: &Resources,
    ) -> Result<Collector> {
        let tmp: &Path = &res.tmp_dir;
        Ok(Collector {
            opts: opts.clone(),
            params,
            table: BucketTable::new(params.bands, res.memory, tmp).map_err(sketch_error)?,
            sets: SliceStore::new(tmp)?,
            sigs: SliceStore::new(tmp)?,
            memory: res.memory,
            tmp_dir: res.tmp_dir.clone(),
            verify_chunk: VERIFY_CHUNK,
        })
    }

    /// The memory the bucket table may hold: the run's budget less what the
    /// record table takes, which grows as records arrive.
    pub(crate) fn set_budget(&mut self, bytes: usize) {
        self.memory = bytes;
        self.table.set_budget(bytes);
    }

    /// Memory per record of what [`Collector::decide`] holds besides the
    /// candidate pairs (ranks, decisions, flags, store offsets).
    pub(crate) const RECORD_BYTES: usize = 4 + 4 + 12 + 2 + 24;

    /// Records the fingerprint of record `index`.
    pub(crate) fn add(&mut self, index: u32, fp: &Fingerprint) -> Result<()> {
        if !fp.band_keys.is_empty() {
            self.table.insert(index, &fp.band_keys).map_err(sketch_error)?;
        }
        self.sets.push(index as usize, &fp.set)?;
        let packed: Vec<u64> = fp
            .signature
            .chunks(2)
            .map(|c| c[0] as u64 | (c.get(1).copied().unwrap_or(0) as u64) << 32)
            .collect();
        self.sigs.push(index as usize, &packed)?;
        Ok(())
    }

    /// Adds record `index` with the fingerprint of record `of`, added
    /// before: the same text has the same fingerprint.
    ///
    /// The copy shares `of`'s set and signature in the stores (nothing is
    /// read back or written again); its band keys go into the table, from
    /// the signature.
    pub(crate) fn add_copy(&mut self, index: u32, of: u32) -> Result<()> {
        let (mut signature, mut band_keys) = (Vec::new(), Vec::new());
        let (sigs, params, num_perm) = (&self.sigs, self.params, self.opts.num_perm);
        read_signature(sigs, params, num_perm, of, &mut signature, &mut band_keys)?;
        if !band_keys.is_empty() {
            self.table.insert(index, &band_keys).map_err(sketch_error)?;
        }
        self.sets.alias(index as usize, of as usize)?;
        self.sigs.alias(index as usize, of as usize)?;
        Ok(())
    }

    /// Decides which live records are near duplicates of which kept ones.
    ///
    /// With `all_pairs`, also collects every candidate pair at or above the
    /// threshold as `(record, record, similarity)`, the smaller index
    /// first, sorted.
    pub(crate) fn decide(
        mut self,
        infos: &mut [Info],
        keep: Keep,
        mut all_pairs: Option<&mut Vec<(u32, u32, f32)>>,
        history: Option<(&dyn History, &mut Externals)>,
    ) -> Result<(NearReport, Fingerprints)> {
        use rayon::prelude::*;
        self.sets.seal()?;
        self.sigs.seal()?;
        let mut report = NearReport::new(&self.opts, self.params);
        report.disk_bytes = self.sets.disk_bytes() + self.sigs.disk_bytes();
        report.spilled_runs = self.table.spilled_runs();

        // Keep order: rank[i] is record i's place; order[r] the record at r.
        let sim_kind = self.opts.similarity;
        let mut order: Vec<u32> =
            (0..infos.len() as u32).filter(|&i| infos[i as usize].alive()).collect();
        order.sort_by_key(|&i| {
            keep_key(keep, sim_kind == Similarity::Containment, i as u64, infos[i as usize].len)
        });
        let mut rank = vec![u32::MAX; infos.len()];
        for (r, &i) in order.iter().enumerate() {
            rank[i as usize] = r as u32;
        }
        // Each record's best match among the kept records of history.
        let (external, hist_best) = match &history {
            Some((h, _)) => self.against_history(*h, &order)?,
            None => (Vec::new(), Vec::new()),
        };

        // Candidate pairs (later, earlier) as `later << 32 | earlier`,
        // sorted and deduplicated on disk; buckets larger than the cap
        // are kept (as ranks) for the search for missed pairs.
        let cap = if all_pairs.is_some() { usize::MAX } else { MAX_PARTNERS };
        // What the bucket table holds while its buckets are read (nothing,
        // if it spilled: the rest goes to disk too) is not the pairs' to use.
        let held = if self.table.spilled_runs() > 0 { 0 } else { self.table.memory_usage() };
        let room = self.memory.saturating_sub(held).max(self.memory / 8);
        let mut sorter = ExternalSorter::<u64>::new(room, &self.tmp_dir, true);
        let mut large = SliceStore::new(&self.tmp_dir)?;
        let mut n_large = 0usize;
        let mut ranks: Vec<u32> = Vec::new();
        let mut failed: Option<std::io::Error> = None;
        let mut buckets = self.table.finish().map_err(sketch_error)?;
        while let Some(b) = buckets.next_bucket().map_err(sketch_error)? {
            ranks.clear();
            ranks.extend(b.docs.iter().map(|&d| rank[d as usize]).filter(|&r| r != u32::MAX));
            ranks.sort_unstable();
            bucket_pairs(&ranks, cap, |l, e| {
                if failed.is_none() {
                    failed = sorter.push((l as u64) << 32 | e as u64).err();
                }
            });
            if ranks.len() > cap.saturating_add(1) {
                let packed: Vec<u64> = ranks.iter().map(|&r| r as u64).collect();
                large.push(n_large, &packed)?;
                n_large += 1;
            }
        }
        drop(buckets);
        if let Some(e) = failed {
            return Err(spill_error(&self.tmp_dir, e));
        }
        large.seal()?;
        // The capped candidates, once sorted, in a temp file to read in
        // every round.
        let mut candidates = SortedFile::new(&self.tmp_dir)?;
        {
            let mut sorted = sorter.finish().map_err(|e| spill_error(&self.tmp_dir, e))?;
            while let Some(p) = sorted.next().map_err(|e| spill_error(&self.tmp_dir, e))? {
                candidates.push(p)?;
            }
        }
        report.candidates = candidates.len();

        let verify = self.opts.verify;
        let threshold = self.opts.threshold;
        // Every pair that counts is passed on with `all_pairs`, so none
        // may be left below its exact value.
        let prune = all_pairs.is_none();
        let verifier = Verifier::new(&self.sets, &self.sigs, &order, &self.opts, prune);
        // On one thread nothing is gained by verifying ahead: pair by pair,
        // as the rule reads them.
        let chunk = if rayon::current_num_threads() > 1 { self.verify_chunk } else { 1 };
        let mut added: Vec<u64> = Vec::new();
        let mut ever_kept: Vec<bool> = vec![false; order.len()];
        let mut found: Vec<(u32, u32, f32)> = Vec::new();
        let mut decisions: Vec<Option<(u32, f32)>> = vec![None; order.len()];
        let mut start = 0u32;
        loop {
            report.rounds += 1;
            found.clear();
            let mut stream = candidates.read()?;
            let mut extra = added.iter().copied().peekable();
            let mut head = stream.next()?;
            let next = || -> Result<Option<(u32, u32)>> {
                // Merge the sorted candidates with the sorted additions.
                let take_extra = match (head, extra.peek()) {
                    (Some(h), Some(&x)) => x < h,
                    (None, Some(_)) => true,
                    _ => false,
                };
                let p = if take_extra {
                    extra.next()
                } else {
                    let h = head;
                    head = stream.next()?;
                    h
                };
                Ok(p.map(|p| ((p >> 32) as u32, p as u32)))
            };
            let mut collect = |l: u32, e: u32, s: f64| found.push((l, e, s as f32));
            let sink: Option<&mut dyn FnMut(u32, u32, f64)> =
                if all_pairs.is_some() { Some(&mut collect) } else { None };
            let verified;
            (decisions, verified) = greedy_in_chunks(
                &decisions,
                start,
                &external,
                next,
                chunk,
                |batch, wanted, sims| verifier.fill(batch, wanted, sims),
                threshold,
                verify == Verify::None,
                sink,
            )?;
            report.verified += verified;

            // Pairs the cap left out, against records kept this round for
            // the first time: those with a record kept in an earlier round
            // were found then (kept is a record's state, the same in every
            // bucket), so no pair is found twice and none needs looking up.
            // The large buckets go on every core, in bucket order.
            let fresh: Vec<bool> =
                decisions.iter().zip(&ever_kept).map(|(d, &k)| d.is_none() && !k).collect();
            for (k, &f) in ever_kept.iter_mut().zip(&fresh) {
                *k |= f;
            }
            let per_bucket = |k: usize| -> Result<Vec<u64>> {
                let mut members = Vec::new();
                large.get(k, &mut members)?;
                let ranks: Vec<u32> = members.iter().map(|&r| r as u32).collect();
                let mut missed = Vec::new();
                missed_pairs(&ranks, cap, &fresh, |l, e| missed.push((l as u64) << 32 | e as u64));
                Ok(missed)
            };
            let by_bucket: Vec<Vec<u64>> = (0..n_large)
                .into_par_iter()
                .with_min_len(16)
                .map(per_bucket)
                .collect::<Result<_>>()?;
            let mut missed = by_bucket.concat();
            if missed.is_empty() {
                break;
            }
            missed.par_sort_unstable();
            missed.dedup();
            // Sorted by later rank: decisions before the first are final.
            start = (missed[0] >> 32) as u32;
            added.extend(missed);
            added.sort_unstable();
        }
        report.candidates += added.len() as u64;

        let mut history = history;
        for (later, d) in decisions.iter().enumerate() {
            if let Some((earlier, sim)) = *d {
                let i = order[later] as usize;
                let of = if earlier == EXTERNAL {
                    let (Some((h, ext)), Some(Some((_, seq)))) =
                        (history.as_mut(), hist_best.get(later))
                    else {
                        return Err(Error::Internal("a history match without history".into()));
                    };
                    ext.index_of(*seq, *h)?
                } else {
                    order[earlier as usize]
                };
                infos[i].decision =
                    Decision::Duplicate { of, reason: Reason::Near, similarity: sim };
            }
        }
        if let Some(pairs) = all_pairs.as_mut() {
            pairs.extend(found.iter().map(|&(l, e, s)| {
                let (x, y) = (order[l as usize], order[e as usize]);
                (x.min(y), x.max(y), s)
            }));
            pairs.sort_unstable_by_key(|&(a, b, _)| (a, b));
        }
        let fingerprints = Fingerprints {
            sets: self.sets,
            sigs: self.sigs,
            params: self.params,
            num_perm: self.opts.num_perm,
        };
        Ok((report, fingerprints))
    }

    /// For each rank, the best match among history's kept records (its
    /// similarity, and the record's sequence number), if one counts; ties go
    /// to the earlier record.
    ///
    /// History is asked for each distinct band key once, in key order: the
    /// index keeps its keys sorted, so each lookup finds the path of the one
    /// before it (memtable nodes, index and data blocks) in cache; looked up
    /// record by record, every key is a cache miss from the top. Ranks go
    /// [`HISTORY_RANKS`] at a time, which bounds the keys held.
    #[allow(clippy::type_complexity)]
    fn against_history(
        &self,
        history: &dyn History,
        order: &[u32],
    ) -> Result<(Vec<Option<f64>>, Vec<Option<(f64, u64)>>)> {
        let best = self.against_history_in_chunks(history, order, HISTORY_RANKS, LOOKUP_RUN)?;
        Ok((best.iter().map(|b| b.map(|(s, _)| s)).collect(), best))
    }

    /// [`Collector::against_history`]'s answers, `chunk` ranks at a time,
    /// each thread looking up runs of at least `min_run` keys: the same
    /// whatever both (tests use small ones to cross the chunk and run
    /// boundaries that a real batch crosses every 32k ranks and 1,024 keys).
    fn against_history_in_chunks(
        &self,
        history: &dyn History,
        order: &[u32],
        chunk: usize,
        min_run: usize,
    ) -> Result<Vec<Option<(f64, u64)>>> {
        let mut best = Vec::with_capacity(order.len());
        for ranks in order.chunks(chunk.max(1)) {
            best.extend(self.against_history_chunk(history, ranks, min_run)?);
        }
        Ok(best)
    }

    fn against_history_chunk(
        &self,
        history: &dyn History,
        ranks: &[u32],
        min_run: usize,
    ) -> Result<Vec<Option<(f64, u64)>>> {
        use rayon::prelude::*;
        let verify = self.opts.verify;
        let threshold = self.opts.threshold;
        let num_perm = self.opts.num_perm;
        // (band, key, rank in `ranks`) of every band key, gathered into one
        // list per thread (the sort below makes their order irrelevant).
        let mut keyed: Vec<(u16, u64, u32)> = ranks
            .par_iter()
            .with_min_len(64)
            .enumerate()
            .try_fold(
                || (HistoryScratch::default(), Vec::new()),
                |(mut s, mut keyed), (r, &i)| -> Result<_> {
                    get_signature(&self.sigs, i as usize, num_perm, &mut s.words, &mut s.sig)?;
                    if neardup_sketch::minhash::is_empty_signature(&s.sig) {
                        return Ok((s, keyed));
                    }
                    self.params.band_keys(&s.sig, &mut s.keys).map_err(sketch_error)?;
                    for (band, &key) in s.keys.iter().enumerate() {
                        let band = u16::try_from(band).map_err(|_| {
                            Error::Near(format!("band {band}: at most {} bands", u16::MAX))
                        })?;
                        keyed.push((band, key, r as u32));
                    }
                    Ok((s, keyed))
                },
            )
            .map(|folded| folded.map(|(_, keyed)| keyed))
            .try_reduce(Vec::new, |mut a, mut b| {
                if a.len() < b.len() {
                    std::mem::swap(&mut a, &mut b);
                }
                a.extend(b);
                Ok(a)
            })?;
        keyed.par_sort_unstable();
        let mut distinct: Vec<(u16, u64)> = keyed.iter().map(|&(b, k, _)| (b, k)).collect();
        distinct.dedup();
        // Holders of each distinct key: `holders[ends[d-1]..ends[d]]`.
        // Contiguous runs of keys per thread, each looked up in order.
        // Runs of at least `min_run` keys ([`LOOKUP_RUN`]).
        let run = distinct.len().div_ceil(rayon::current_num_threads() * 4).max(min_run.max(1));
        let found: Vec<(Vec<u64>, Vec<usize>)> = distinct
            .par_chunks(run)
            .map(|keys| -> Result<(Vec<u64>, Vec<usize>)> {
                let (mut holders, mut ends, mut out) = (Vec::new(), Vec::new(), Vec::new());
                for &(band, key) in keys {
                    out.clear();
                    history.band(usize::from(band), key, &mut out)?;
                    holders.extend_from_slice(&out);
                    ends.push(holders.len());
                }
                Ok((holders, ends))
            })
            .collect::<Result<_>>()?;
        let mut holders: Vec<u64> = Vec::new();
        let mut ends: Vec<usize> = Vec::with_capacity(distinct.len());
        for (h, e) in found {
            let base = holders.len();
            ends.extend(e.into_iter().map(|x| x + base));
            holders.extend(h);
        }
        // Each key's distinct-key number, by rank: a record's candidates are
        // gathered from the keys' holder lists when it is verified, so what
        // is held is each distinct key's holders once.
        let mut by_rank: Vec<(u32, u32)> = Vec::with_capacity(keyed.len());
        let mut d = 0u32;
        for (k, &(band, key, r)) in keyed.iter().enumerate() {
            if k > 0 && (keyed[k - 1].0, keyed[k - 1].1) != (band, key) {
                d += 1;
            }
            by_rank.push((r, d));
        }
        drop(keyed);
        by_rank.par_sort_unstable();
        let groups: Vec<&[(u32, u32)]> = by_rank.chunk_by(|a, b| a.0 == b.0).collect();
        let verified: Vec<(u32, Option<(f64, u64)>)> = groups
            .par_iter()
            .with_min_len(16)
            .map_init(HistoryScratch::default, |s, group| -> Result<(u32, Option<(f64, u64)>)> {
                let r = group[0].0;
                s.seqs.clear();
                for &(_, d) in *group {
                    let d = d as usize;
                    let start = if d == 0 { 0 } else { ends[d - 1] };
                    s.seqs.extend_from_slice(&holders[start..ends[d]]);
                }
                if s.seqs.is_empty() {
                    return Ok((r, None));
                }
                s.seqs.sort_unstable();
                s.seqs.dedup();
                let i = ranks[r as usize] as usize;
                match verify {
                    Verify::Jaccard => self.sets.get(i, &mut s.set)?,
                    Verify::Signature | Verify::None => {
                        get_signature(&self.sigs, i, num_perm, &mut s.words, &mut s.sig)?;
                    }
                }
                let mut best: Option<(f64, u64)> = None;
                for &seq in &s.seqs {
                    let sim = match verify {
                        Verify::Jaccard => {
                            history.set(seq, &mut s.other)?;
                            jaccard::jaccard_at_least(&s.set, &s.other, threshold).unwrap_or(0.0)
                        }
                        Verify::Signature | Verify::None => {
                            history.signature(seq, &mut s.other_sig)?;
                            estimate_jaccard(&s.sig, &s.other_sig)
                        }
                    };
                    let pass = verify == Verify::None || sim >= threshold;
                    if pass && best.is_none_or(|(b, _)| sim > b) {
                        best = Some((sim, seq));
                    }
                }
                Ok((r, best))
            })
            .collect::<Result<_>>()?;
        let mut best = vec![None; ranks.len()];
        for (r, b) in verified {
            best[r as usize] = b;
        }
        Ok(best)
    }
}

/// Ranks decided against history at a time: their band keys (about 40
/// bytes each while sorted and looked up, a few dozen per record) and the
/// holders of each distinct key are held for the chunk.
const HISTORY_RANKS: usize = 1 << 15;

/// Keys a thread looks up in one run at least: a small batch (a service's
/// request) is not worth a thread hand-off per few keys.
const LOOKUP_RUN: usize = 1 << 10;

fn spill_error(dir: &Path, e: std::io::Error) -> Error {
    Error::Near(format!("sorting candidate pairs in {}: {e}", dir.display()))
}

/// Recently read shingle sets, direct-mapped by record index.
struct SetCache {
    slots: Vec<(usize, Vec<u64>)>,
}

impl SetCache {
    fn new(slots: usize) -> SetCache {
        SetCache { slots: (0..slots).map(|_| (usize::MAX, Vec::new())).collect() }
    }

    /// Record `index`'s set, from the cache or `store`.
    fn get(&mut self, store: &SliceStore, index: usize) -> Result<&[u64]> {
        let n = self.slots.len();
        let slot = &mut self.slots[index % n];
        if slot.0 != index {
            slot.0 = usize::MAX;
            store.get(index, &mut slot.1)?;
            slot.0 = index;
        }
        Ok(&slot.1)
    }
}

/// Pairs verified together by [`greedy_in_chunks`] in a decision on more
/// than one thread: enough to keep every thread busy between two serial
/// passes of the rule (32 runs), few enough that few of its pairs have
/// their earlier record inside it (those are verified one by one).
const VERIFY_CHUNK: usize = 1 << 12;

/// Pairs a thread verifies at a time: those of one later record come
/// together, so its set is read once.
const VERIFY_RUN: usize = 128;

/// Verifies a decision's candidate pairs (ranks) on the rayon pool.
///
/// Each pool thread has its own scratch: the later record's set, read once
/// for its run of pairs, and a cache of recently read sets (kept records
/// are the earlier side of many pairs: a family of copies is compared
/// with the one it keeps). A run's similarities depend only on its pairs,
/// so which thread takes which run changes nothing but speed.
struct Verifier<'a> {
    sets: &'a SliceStore,
    sigs: &'a SliceStore,
    order: &'a [u32],
    verify: Verify,
    threshold: f64,
    containment: bool,
    num_perm: usize,
    /// Whether a pair below a better match of the same later record may
    /// be left uncomputed (see [`Verifier::run`]).
    prune: bool,
    scratch: Vec<std::sync::Mutex<VerifyScratch>>,
}

struct VerifyScratch {
    cache: SetCache,
    a: Vec<u64>,
    sig_a: Vec<u32>,
    sig_b: Vec<u32>,
    words: Vec<u64>,
    loaded: Option<u32>,
}

impl<'a> Verifier<'a> {
    fn new(
        sets: &'a SliceStore,
        sigs: &'a SliceStore,
        order: &'a [u32],
        opts: &NearSettings,
        prune: bool,
    ) -> Verifier<'a> {
        let threads = rayon::current_num_threads().max(1);
        // The cache one thread had before, split: the same memory.
        let slots = (4096 / threads).max(512);
        let scratch = (0..threads)
            .map(|_| {
                std::sync::Mutex::new(VerifyScratch {
                    cache: SetCache::new(slots),
                    a: Vec::new(),
                    sig_a: Vec::new(),
                    sig_b: Vec::new(),
                    words: Vec::new(),
                    loaded: None,
                })
            })
            .collect();
        Verifier {
            sets,
            sigs,
            order,
            verify: opts.verify,
            threshold: opts.threshold,
            containment: opts.similarity == Similarity::Containment,
            num_perm: opts.num_perm,
            prune,
            scratch,
        }
    }

    /// `sims[i]`: the similarity of `batch[i]` (later, earlier) for each
    /// `wanted[i]`, in parallel.
    fn fill(&self, batch: &[(u32, u32)], wanted: &[bool], sims: &mut [f64]) -> Result<()> {
        use rayon::prelude::*;
        if batch.len() <= 1 || self.scratch.len() == 1 {
            // Not worth a hand-off to the pool.
            return self.run(0, batch, wanted, sims);
        }
        sims.par_chunks_mut(VERIFY_RUN)
            .zip(batch.par_chunks(VERIFY_RUN).zip(wanted.par_chunks(VERIFY_RUN)))
            .try_for_each(|(sims, (batch, wanted))| {
                let t = rayon::current_thread_index().unwrap_or(0) % self.scratch.len();
                self.run(t, batch, wanted, sims)
            })
    }

    /// [`Verifier::fill`] for one run, with scratch `t`.
    fn run(&self, t: usize, batch: &[(u32, u32)], wanted: &[bool], sims: &mut [f64]) -> Result<()> {
        // A poisoned lock only means another run panicked; the scratch
        // holds no state that a half-done run breaks.
        let mut s = self.scratch[t].lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // The best similarity that counts among this run's pairs of one
        // later record so far. The rule keeps, for each record, its most
        // similar kept match (ties to the first); every wanted pair's
        // earlier record is kept, so a pair below this one cannot be it,
        // and need not be computed exactly.
        let mut best: Option<(u32, f64)> = None;
        for ((&(l, e), &w), sim) in batch.iter().zip(wanted).zip(sims) {
            if w {
                let floor = match best {
                    Some((r, b)) if r == l && self.prune => b,
                    _ => self.threshold,
                };
                *sim = self.similarity(&mut s, l, e, floor)?;
                if *sim >= self.threshold && best.is_none_or(|(r, b)| r != l || *sim > b) {
                    best = Some((l, *sim));
                }
            }
        }
        Ok(())
    }

    /// The similarity of a pair of ranks; with Jaccard verification, a
    /// pair proven below `floor` (the threshold, or more) gets 0.
    fn similarity(
        &self,
        s: &mut VerifyScratch,
        later: u32,
        earlier: u32,
        floor: f64,
    ) -> Result<f64> {
        let (d, p) = (self.order[later as usize] as usize, self.order[earlier as usize] as usize);
        match self.verify {
            Verify::Jaccard => {
                let (la, lb) = (self.sets.values(d), self.sets.values(p));
                if !self.containment && la > 0 && lb > 0 && !jaccard::sizes_can_reach(la, lb, floor)
                {
                    // What `jaccard_at_least` would refuse after reading
                    // both sets from disk.
                    return Ok(0.0);
                }
                if s.loaded != Some(later) {
                    self.sets.get(d, &mut s.a)?;
                    s.loaded = Some(later);
                }
                let b = s.cache.get(self.sets, p)?;
                Ok(if self.containment {
                    jaccard::containment(&s.a, b)
                } else {
                    // A pair proven below the floor does not count (or
                    // cannot be the best) whatever its exact value: 0
                    // stands for it.
                    jaccard::jaccard_at_least(&s.a, b, floor).unwrap_or(0.0)
                })
            }
            Verify::Signature | Verify::None => {
                if s.loaded != Some(later) {
                    get_signature(self.sigs, d, self.num_perm, &mut s.words, &mut s.sig_a)?;
                    s.loaded = Some(later);
                }
                get_signature(self.sigs, p, self.num_perm, &mut s.words, &mut s.sig_b)?;
                Ok(estimate_jaccard(&s.sig_a, &s.sig_b))
            }
        }
    }
}

#[derive(Default)]
struct HistoryScratch {
    words: Vec<u64>,
    sig: Vec<u32>,
    keys: Vec<u64>,
    seqs: Vec<u64>,
    set: Vec<u64>,
    other: Vec<u64>,
    other_sig: Vec<u32>,
}

/// The shingle sets and signatures of a run's records, on disk, after the
/// decision: what an index adds for the records kept.
pub(crate) struct Fingerprints {
    sets: SliceStore,
    sigs: SliceStore,
    params: LshParams,
    num_perm: usize,
}

impl Fingerprints {
    /// Record `index`'s fingerprint (empty if it had none).
    pub(crate) fn get(&self, index: usize) -> Result<Fingerprint> {
        read_fingerprint(&self.sets, &self.sigs, self.params, self.num_perm, index as u32)
    }
}

/// Record `index`'s fingerprint from the stores (empty if it had none),
/// its band keys computed again from its signature.
fn read_fingerprint(
    sets: &SliceStore,
    sigs: &SliceStore,
    params: LshParams,
    num_perm: usize,
    index: u32,
) -> Result<Fingerprint> {
    let mut fp = Fingerprint::default();
    sets.get(index as usize, &mut fp.set)?;
    read_signature(sigs, params, num_perm, index, &mut fp.signature, &mut fp.band_keys)?;
    Ok(fp)
}

/// Record `index`'s stored signature into `signature`, and its band keys,
/// computed again, into `band_keys` (none for an empty signature).
fn read_signature(
    sigs: &SliceStore,
    params: LshParams,
    num_perm: usize,
    index: u32,
    signature: &mut Vec<u32>,
    band_keys: &mut Vec<u64>,
) -> Result<()> {
    let mut words = Vec::new();
    get_signature(sigs, index as usize, num_perm, &mut words, signature)?;
    band_keys.clear();
    if !signature.is_empty() && !neardup_sketch::minhash::is_empty_signature(signature) {
        params.band_keys(signature, band_keys).map_err(sketch_error)?;
    }
    Ok(())
}

/// Sorted `u64`s (in an anonymous temp file once past 1 MiB), read back as
/// many times as needed.
struct SortedFile {
    log: SpillFile,
    len: u64,
}

impl SortedFile {
    fn new(dir: &Path) -> Result<SortedFile> {
        Ok(SortedFile { log: SpillFile::new(dir, 1 << 20), len: 0 })
    }

    fn push(&mut self, v: u64) -> Result<()> {
        self.log.write_all(&v.to_le_bytes())?;
        self.len += 1;
        Ok(())
    }

    fn len(&self) -> u64 {
        self.len
    }

    /// A reader from the start.
    fn read(&mut self) -> Result<SortedReader> {
        Ok(SortedReader { reader: self.log.reader()?, left: self.len })
    }
}

struct SortedReader {
    reader: Box<dyn std::io::Read + Send>,
    left: u64,
}

impl SortedReader {
    fn next(&mut self) -> Result<Option<u64>> {
        if self.left == 0 {
            return Ok(None);
        }
        let mut b = [0u8; 8];
        std::io::Read::read_exact(&mut self.reader, &mut b)?;
        self.left -= 1;
        Ok(Some(u64::from_le_bytes(b)))
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

pub(crate) fn sketch_error(e: neardup_sketch::Error) -> Error {
    Error::Near(e.to_string())
}

#[cfg(test)]
pub(super) mod tests {
    use std::collections::BTreeMap;

    use neardup_testing::Families;
    use proptest::prelude::*;

    use super::*;
    use crate::analysis::Analyzer;
    use crate::decide::EarlierMatch;
    use crate::settings::Settings;

    /// Earlier records in memory, by sequence number, all kept (the
    /// default holds none).
    #[derive(Default)]
    pub(in crate::decide) struct MemHistory {
        fps: Vec<Fingerprint>,
        bands: BTreeMap<(usize, u64), Vec<u64>>,
    }

    impl History for MemHistory {
        fn exact(&self, _: u128) -> Result<Option<EarlierMatch>> {
            Ok(None)
        }
        fn band(&self, band: usize, key: u64, out: &mut Vec<u64>) -> Result<()> {
            out.clear();
            out.extend(self.bands.get(&(band, key)).into_iter().flatten());
            Ok(())
        }
        fn set(&self, seq: u64, out: &mut Vec<u64>) -> Result<()> {
            out.clone_from(&self.fps[seq as usize].set);
            Ok(())
        }
        fn signature(&self, seq: u64, out: &mut Vec<u32>) -> Result<()> {
            out.clone_from(&self.fps[seq as usize].signature);
            Ok(())
        }
        fn id(&self, seq: u64) -> Result<String> {
            Ok(format!("h{seq}"))
        }
    }

    /// Each ranked record's best match in `history`, straight from the
    /// rule: every earlier record sharing a band key with it, verified,
    /// the most similar that counts, ties to the first.
    fn reference(
        opts: &NearSettings,
        batch: &[Fingerprint],
        history: &MemHistory,
        order: &[u32],
    ) -> Vec<Option<(f64, u64)>> {
        order
            .iter()
            .map(|&i| {
                let fp = &batch[i as usize];
                let mut best: Option<(f64, u64)> = None;
                for (seq, h) in history.fps.iter().enumerate() {
                    let shared = fp.band_keys.iter().zip(&h.band_keys).any(|(a, b)| a == b);
                    if !shared {
                        continue;
                    }
                    let sim = match opts.verify {
                        Verify::Jaccard => jaccard::jaccard(&fp.set, &h.set),
                        Verify::Signature | Verify::None => {
                            estimate_jaccard(&fp.signature, &h.signature)
                        }
                    };
                    let pass = opts.verify == Verify::None || sim >= opts.threshold;
                    if pass && best.is_none_or(|(b, _)| sim > b) {
                        best = Some((sim, seq as u64));
                    }
                }
                best
            })
            .collect()
    }

    /// Texts cut in two (history, then the batch), and the batch's records
    /// ranked in some order, some left out (as exact duplicates and
    /// rejected records are).
    fn split_and_order() -> impl Strategy<Value = (Vec<String>, usize, Vec<u32>)> {
        Families { records: 2..48, short_texts: true }.texts().prop_flat_map(|texts| {
            let n = texts.len();
            (Just(texts), 1..n).prop_flat_map(move |(texts, cut)| {
                let order = prop::sample::subsequence(
                    (0..(n - cut) as u32).collect::<Vec<_>>(),
                    0..=n - cut,
                )
                .prop_shuffle();
                (Just(texts), Just(cut), order)
            })
        })
    }

    /// A greedy instance: `n` ranks, earlier decisions (`prior`, final
    /// before `start`), history matches, sorted candidate pairs (repeats
    /// included, as bands give them) and their similarities.
    #[derive(Debug, Clone)]
    struct Instance {
        prior: Vec<Option<(u32, f32)>>,
        start: u32,
        external: Vec<Option<f64>>,
        pairs: Vec<(u32, u32)>,
        sim: BTreeMap<(u32, u32), f64>,
    }

    fn instance() -> impl Strategy<Value = Instance> {
        (2usize..40).prop_flat_map(|n| {
            let pair = (1..n as u32).prop_flat_map(|l| (Just(l), 0..l));
            // Few levels: ties between earlier records are common.
            let level = prop::sample::select(vec![0.5, 0.79, 0.8, 0.85, 0.9, 1.0]);
            (
                prop::collection::vec((pair, level.clone()), 0..160),
                prop::collection::vec(prop::option::weighted(0.3, 0u32..n as u32), n),
                0..n as u32,
                prop::collection::vec(prop::option::weighted(0.2, level), n),
            )
                .prop_map(move |(edges, prior, start, external)| {
                    let sim: BTreeMap<(u32, u32), f64> = edges.iter().copied().collect();
                    let mut pairs: Vec<(u32, u32)> = edges.iter().map(|&(p, _)| p).collect();
                    pairs.sort_unstable();
                    let prior = prior.iter().map(|p| p.map(|of| (of, 0.9))).collect();
                    Instance { prior, start, external, pairs, sim }
                })
        })
    }

    /// The greedy over `inst`, `chunk` pairs at a time; a pair not wanted
    /// reads as `NaN`, so a decision that used one differs.
    fn run_chunked(
        inst: &Instance,
        chunk: usize,
        trust: bool,
        all: bool,
    ) -> (Decisions, u64, Vec<(u32, u32, f64)>) {
        let mut it = inst.pairs.iter().copied();
        let mut found = Vec::new();
        let mut collect = |l: u32, e: u32, s: f64| found.push((l, e, s));
        let sink: Option<&mut dyn FnMut(u32, u32, f64)> =
            if all { Some(&mut collect) } else { None };
        let sims = |batch: &[(u32, u32)], wanted: &[bool], out: &mut [f64]| {
            for ((p, &w), o) in batch.iter().zip(wanted).zip(out) {
                *o = if w { inst.sim[p] } else { f64::NAN };
            }
            Ok::<_, ()>(())
        };
        let (d, v) = greedy_in_chunks(
            &inst.prior,
            inst.start,
            &inst.external,
            || Ok(it.next()),
            chunk,
            sims,
            0.8,
            trust,
            sink,
        )
        .unwrap();
        (d, v, found)
    }

    /// The keep-first rule written as plainly as it reads, one rank at a
    /// time (not through `greedy_in_chunks`): for each later rank, its
    /// best passing pair with a kept earlier rank, ties to the first,
    /// history's match first; decisions, pairs verified, pairs passed on.
    fn greedy_reference(
        inst: &Instance,
        trust: bool,
        all: bool,
    ) -> (Decisions, u64, Vec<(u32, u32, f64)>) {
        let n = inst.prior.len();
        let mut out: Decisions = vec![None; n];
        out[..inst.start as usize].copy_from_slice(&inst.prior[..inst.start as usize]);
        let mut pairs = inst.pairs.clone();
        pairs.dedup();
        let (mut verified, mut found) = (0u64, Vec::new());
        for later in inst.start..n as u32 {
            let mut best = inst.external[later as usize].map(|s| (s, EXTERNAL));
            for &(l, earlier) in pairs.iter().filter(|p| p.0 == later) {
                let kept = out[earlier as usize].is_none();
                if !kept && !all {
                    continue;
                }
                let sim = inst.sim[&(l, earlier)];
                verified += 1;
                let pass = trust || sim >= 0.8;
                if pass && all {
                    found.push((l, earlier, sim));
                }
                if pass && kept && best.is_none_or(|(s, _)| sim > s) {
                    best = Some((sim, earlier));
                }
            }
            if let Some((sim, earlier)) = best {
                out[later as usize] = Some((earlier, sim as f32));
            }
        }
        (out, verified, found)
    }

    /// Decisions and counts of a collector's run over `texts`, verifying
    /// `chunk` pairs at a time on a pool of `threads`.
    fn collector_run(
        texts: &[String],
        settings: &Settings,
        keep: Keep,
        chunk: usize,
        threads: usize,
        all: bool,
    ) -> (Vec<Decision>, NearReport, Vec<(u32, u32, f32)>) {
        let analyzer = Analyzer::new(settings, false).unwrap();
        let opts = settings.near.clone().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let res = Resources { memory: 1 << 24, tmp_dir: tmp.path().to_owned() };
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut collector = Collector::new(&opts, analyzer.banding().unwrap(), &res).unwrap();
            collector.verify_chunk = chunk;
            let mut infos = Vec::new();
            for (i, a) in analyzer.analyse_batch(texts).into_iter().enumerate() {
                if let Some(fp) = &a.fingerprint {
                    collector.add(i as u32, fp).unwrap();
                }
                infos.push(Info::new(i as u32, (0, i as u64), a));
            }
            let mut pairs = Vec::new();
            let (report, _) =
                collector.decide(&mut infos, keep, all.then_some(&mut pairs), None).unwrap();
            (infos.iter().map(|i| i.decision).collect(), report, pairs)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Verifying a chunk at once, then applying the rule over it,
        /// decides as the rule does pair by pair, verifies (as counted) the
        /// same pairs and passes the same pairs on, at any chunk size; and
        /// it never reads a similarity it did not ask for.
        #[test]
        fn chunks_of_pairs_decide_as_one_pair_at_a_time(
            inst in instance(),
            trust in any::<bool>(),
            all in any::<bool>(),
        ) {
            let one = run_chunked(&inst, 1, trust, all);
            // Pair by pair, as the public greedy runs.
            let mut it = inst.pairs.iter().copied();
            let mut found = Vec::new();
            let mut collect = |l: u32, e: u32, s: f64| found.push((l, e, s));
            let sink: Option<&mut dyn FnMut(u32, u32, f64)> =
                if all { Some(&mut collect) } else { None };
            let serial = greedy_from(
                &inst.prior,
                inst.start,
                &inst.external,
                || Ok::<_, ()>(it.next()),
                |l, e| Ok(inst.sim[&(l, e)]),
                0.8,
                trust,
                sink,
            )
            .unwrap();
            prop_assert_eq!(&serial, &one.0);
            prop_assert_eq!(&found, &one.2);
            // And the rule stated on its own, one rank at a time.
            let (want, want_verified, want_found) = greedy_reference(&inst, trust, all);
            prop_assert_eq!(&want, &one.0);
            prop_assert_eq!(want_verified, one.1);
            prop_assert_eq!(&want_found, &one.2);
            for chunk in [2, 3, 5, 16, 1000] {
                prop_assert_eq!(&run_chunked(&inst, chunk, trust, all), &one, "chunks of {}", chunk);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// A collector decides the same, and reports the same counts, at 1
        /// and 3 threads and any verification chunk, on records in many
        /// near-duplicate families, whether or not it passes pairs on.
        #[test]
        fn decisions_do_not_depend_on_threads_or_verification_chunks(
            texts in Families { records: 2..64, short_texts: true }.texts(),
            threshold in prop::sample::select(vec![0.5, 0.7, 0.9]),
            verify in prop::sample::select(vec![Verify::Jaccard, Verify::Signature, Verify::None]),
            keep in prop::sample::select(vec![Keep::First, Keep::Last, Keep::Longest]),
            all in any::<bool>(),
        ) {
            let settings = Settings {
                near: Some(NearSettings { threshold, verify, ..NearSettings::default() }),
                ..Settings::default()
            };
            let one = collector_run(&texts, &settings, keep, VERIFY_CHUNK, 1, all);
            for (chunk, threads) in [(1, 1), (1, 3), (3, 3), (7, 2), (VERIFY_CHUNK, 3)] {
                let other = collector_run(&texts, &settings, keep, chunk, threads, all);
                prop_assert_eq!(&other, &one, "chunks of {} on {} threads", chunk, threads);
            }
            // Passing every pair on computes every similarity exactly; the
            // decisions are the same when pairs below a better match are
            // left uncomputed.
            let exact = collector_run(&texts, &settings, keep, VERIFY_CHUNK, 3, !all);
            prop_assert_eq!(&exact.0, &one.0);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Chunks of 1 to 7 ranks answer as one chunk does, and as the
        /// rule does: a record's match is found whichever chunk it falls
        /// in, and its answer lands at its own rank.
        #[test]
        fn history_answers_do_not_depend_on_the_chunk_size(
            (texts, cut, order) in split_and_order(),
            threshold in prop::sample::select(vec![0.5, 0.7, 0.9]),
            verify in prop::sample::select(vec![Verify::Jaccard, Verify::Signature, Verify::None]),
        ) {
            let settings = Settings {
                near: Some(NearSettings { threshold, verify, ..NearSettings::default() }),
                ..Settings::default()
            };
            let analyzer = Analyzer::new(&settings, false).unwrap();
            let opts = settings.near.clone().unwrap();
            let params = analyzer.banding().unwrap();
            let tmp = tempfile::tempdir().unwrap();
            let res = Resources { memory: 1 << 24, tmp_dir: tmp.path().to_owned() };
            let fps: Vec<Fingerprint> = analyzer
                .analyse_batch(&texts)
                .into_iter()
                .map(|a| a.fingerprint.unwrap_or_default())
                .collect();
            let (earlier, batch) = fps.split_at(cut);

            let mut history = MemHistory::default();
            for (seq, fp) in earlier.iter().enumerate() {
                for (band, &key) in fp.band_keys.iter().enumerate() {
                    history.bands.entry((band, key)).or_default().push(seq as u64);
                }
                history.fps.push(fp.clone());
            }
            let mut collector = Collector::new(&opts, params, &res).unwrap();
            for (i, fp) in batch.iter().enumerate() {
                collector.add(i as u32, fp).unwrap();
            }
            collector.sets.seal().unwrap();
            collector.sigs.seal().unwrap();

            let whole = collector
                .against_history_in_chunks(&history, &order, usize::MAX, LOOKUP_RUN)
                .unwrap();
            prop_assert_eq!(&whole, &reference(&opts, batch, &history, &order));
            for chunk in 1..=7 {
                let chunked = collector
                    .against_history_in_chunks(&history, &order, chunk, LOOKUP_RUN)
                    .unwrap();
                prop_assert_eq!(&chunked, &whole, "chunks of {}", chunk);
            }
            // Runs of a few keys: each thread's holders and ends are
            // offset into the whole lists at many run boundaries.
            for min_run in 1..=3 {
                let runs = collector
                    .against_history_in_chunks(&history, &order, usize::MAX, min_run)
                    .unwrap();
                prop_assert_eq!(&runs, &whole, "lookup runs of {}", min_run);
            }
        }
    }
}
