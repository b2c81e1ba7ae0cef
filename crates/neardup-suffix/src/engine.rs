//! Puts the stages together within the memory budget.
//!
//! ```text
//! corpus ──► tiny? ──yes──► one bucket, scans on all threads ─────────┐
//!              │no                                                    ├─► spans ─► sort ─► cuts
//!              └─► partition (minimizers) ─► buckets, in parallel ────┘
//!                    each bucket: fits its share? else partition again
//! ```
//!
//! The budget `memory` is split: 1/8 for collecting spans
//! ([`crate::spans`]), the rest for buckets, `threads` at a time, each with
//! `1/threads` of it. Buckets aim at [`TARGET_BUCKET`] of working memory even
//! when the budget is larger: small suffix arrays scan in cache (see
//! `DESIGN.md` for the measurements). A corpus that would fit in one such
//! bucket is solved whole: libsais builds its suffix array (on
//! [`Config::sa_threads`] OpenMP threads) and the scans use every thread.
//! A bucket too big for its share is partitioned again with another seed, up
//! to [`MAX_DEPTH`] levels, after which it is solved anyway (counted in
//! [`Stats::over_budget`]; it takes a pathological input, such as a lot of
//! distinct text whose windows share a minimizer under every seed). Whether
//! a bucket fits is decided while loading it with copies collapsed, so a
//! bucket of many copies of one text is never split for nothing.

use std::sync::Mutex;

use rayon::prelude::*;

use crate::bucket::{self, Loaded, Threads};
use crate::config::{check_cancel, Config, Phase, Progress};
use crate::corpus::{Corpus, SegmentSource};
use crate::error::Result;
use crate::partition::{Partitioner, HEADER};
use crate::repeats::{emit, Repeats, Stats};
use crate::spans::SpanSink;
use crate::store::Scratch;

/// Partition levels before a bucket is solved over budget.
pub const MAX_DEPTH: u32 = 4;
/// Widest partition.
const MAX_FANOUT: u64 = 4096;
/// Peak memory a bucket is aimed at, whatever the budget: small buckets
/// keep the suffix array scans in cache (on the full debdocs corpus, 2
/// threads: 13 s at about 3 MB of text per bucket, 22 s at 60 MB, 33 s as one
/// 190 MB bucket), collapse repeated runs, and spread over threads.
const TARGET_BUCKET: u64 = 16 << 20;
/// Write buffers of one partition, in all.
const SPILL_BUFFERS: u64 = 32 << 20;

/// Shared state of one run.
struct Run<'a> {
    cfg: &'a Config,
    scratch: &'a Scratch,
    progress: &'a dyn Progress,
    sink: Mutex<SpanSink>,
    stats: Mutex<Stats>,
}

/// Finds the repeats of `corpus`; called inside the run's thread pool.
pub(crate) fn run(
    corpus: &Corpus,
    cfg: &Config,
    scratch: &Scratch,
    progress: &dyn Progress,
) -> Result<Repeats> {
    let memory = cfg.memory as u64;
    let sink_memory = memory / 8;
    let work = memory - sink_memory;
    let run = Run {
        cfg,
        scratch,
        progress,
        sink: Mutex::new(SpanSink::new(
            scratch,
            usize::try_from(sink_memory).unwrap_or(usize::MAX),
        )),
        stats: Mutex::new(Stats {
            docs: corpus.docs,
            bytes: corpus.bytes(),
            windows: corpus.windows,
            ..Stats::default()
        }),
    };
    let l = cfg.min_len as u64;
    progress.start(Phase::Build, corpus.windows);
    progress.start(Phase::Find, corpus.windows);
    // Documents longer than this are cut into overlapping pieces, so that
    // no single piece outgrows a bucket's share of the budget.
    let piece = (work / cfg.threads as u64 / 16).max(1);
    let top = corpus.segments(piece);
    let each = work / cfg.threads as u64;
    let target = each.min(TARGET_BUCKET);
    let single = bucket::cost(corpus.bytes(), corpus.docs) <= target;
    match if single { bucket::load(&top, l, Some(work))? } else { None } {
        Some(b) => run.solve_loaded(&b, Threads { sa: cfg.sa_threads, scan: cfg.threads })?,
        None => {
            let fanout = fanout(&top, l, target);
            progress.start(Phase::Partition, corpus.bytes());
            let buckets = Partitioner::new(cfg.min_len, 0, fanout).split(
                &top,
                scratch,
                buffer(each, fanout),
                batch(each),
                Some(progress),
            )?;
            progress.finish(Phase::Partition);
            run.note_partition(&buckets, 1);
            buckets.par_iter().try_for_each(|b| run.solve(b, 1, each))?;
        }
    }
    progress.finish(Phase::Build);
    check_cancel(progress)?;
    let Run { sink, stats, .. } = run;
    let sink = sink.into_inner().unwrap_or_else(|e| e.into_inner());
    let stats = stats.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut sorted = sink.sorted()?;
    let repeats = emit(corpus, &mut sorted, cfg, scratch, stats)?;
    progress.finish(Phase::Find);
    Ok(repeats)
}

/// Buckets to split `source` into so that each fits `budget`.
fn fanout(source: &dyn SegmentSource, min_len: u64, budget: u64) -> u32 {
    let written =
        source.bytes() as f64 * Partitioner::blowup(usize::try_from(min_len).unwrap_or(usize::MAX));
    let need = bucket::cost(written as u64, 0) as f64 / budget.max(1) as f64 * 1.25;
    (need.ceil() as u64).clamp(2, MAX_FANOUT) as u32
}

/// Per-bucket write buffer of a partition: buffers take half the budget, at
/// most [`SPILL_BUFFERS`] in all (beyond that, bigger writes buy nothing).
fn buffer(budget: u64, fanout: u32) -> usize {
    ((budget / 2).min(SPILL_BUFFERS) / u64::from(fanout)).clamp(256, 1 << 20) as usize
}

/// Bytes of segments hashed in parallel at once.
fn batch(budget: u64) -> usize {
    (budget / 4).clamp(4096, 8 << 20) as usize
}

impl Run<'_> {
    fn solve_loaded(&self, b: &Loaded, threads: Threads) -> Result<()> {
        check_cancel(self.progress)?;
        let spans =
            bucket::solve(b, self.cfg.min_len as u64, self.cfg.mode, threads, self.progress)?;
        {
            let mut st = self.stats.lock().unwrap_or_else(|e| e.into_inner());
            st.buckets += 1;
            st.collapsed += b.aliases();
        }
        self.sink.lock().unwrap_or_else(|e| e.into_inner()).extend(spans)
    }

    fn note_partition(&self, buckets: &[crate::partition::BucketFile], depth: u32) {
        let mut st = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        st.depth = st.depth.max(depth);
        st.partitioned_bytes +=
            buckets.iter().map(|b| b.bytes() + b.segments() * HEADER).sum::<u64>();
    }

    /// Solves a bucket within `budget`, partitioning it again if needed.
    fn solve(&self, source: &dyn SegmentSource, depth: u32, budget: u64) -> Result<()> {
        check_cancel(self.progress)?;
        let l = self.cfg.min_len as u64;
        if let Some(b) = bucket::load(source, l, Some(budget))? {
            return self.solve_loaded(&b, Threads { sa: 1, scan: 1 });
        }
        if depth >= MAX_DEPTH {
            let b = bucket::load(source, l, None)?.unwrap_or_default();
            self.stats.lock().unwrap_or_else(|e| e.into_inner()).over_budget += 1;
            return self.solve_loaded(&b, Threads { sa: 1, scan: 1 });
        }
        let fanout = fanout(source, l, budget.min(TARGET_BUCKET));
        let subs = Partitioner::new(self.cfg.min_len, depth, fanout).split(
            source,
            self.scratch,
            buffer(budget, fanout),
            batch(budget),
            None,
        )?;
        self.note_partition(&subs, depth + 1);
        for sub in &subs {
            self.solve(sub, depth + 1, budget)?;
        }
        Ok(())
    }
}
