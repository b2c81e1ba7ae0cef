//! Settings, and the progress hook.
//!
//! Every setting that changes the *answer* is here ([`Config::min_len`],
//! [`Config::mode`], [`Config::min_tokens`]); the others ([`Config::memory`],
//! [`Config::threads`], [`Config::tmp_dir`]) change only time and space, and
//! the crate's tests hold it to that: any budget and thread count give the
//! same cuts.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// Which occurrences of a repeated span are cut.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Keep the first occurrence (smallest `(doc, offset)`), cut the others:
    /// byte `p` is cut iff some window of `min_len` bytes containing `p`
    /// also occurs at an earlier position of the corpus.
    #[default]
    Later,
    /// Cut every occurrence, as Lee et al.'s tool does: byte `p` is cut iff
    /// some window of `min_len` bytes containing `p` occurs at any other
    /// position of the corpus.
    All,
}

/// Settings for [`crate::CorpusWriter`].
#[derive(Clone, Debug)]
pub struct Config {
    /// Shortest repeat that is cut, in bytes of canonical text (`L`). At
    /// least 1. Lee et al. use 50 tokens, about 100 bytes.
    pub min_len: usize,
    /// Which occurrences to cut.
    pub mode: Mode,
    /// Memory budget in bytes for everything this crate holds at once
    /// (suffix arrays, text, buffers), whatever the corpus size. Corpora of
    /// more than a few MB are partitioned on disk into buckets of at most
    /// 16 MiB of working memory each (less if `memory / threads` is less),
    /// so most runs use far less than the budget; see the crate's
    /// `DESIGN.md`. Budgets under a few MiB are honoured only roughly
    /// (fixed buffers), and correctness never depends on it.
    pub memory: usize,
    /// Directory for temporary files; created if missing. Files in it are
    /// anonymous (unlinked at once), so it is never left dirty.
    pub tmp_dir: PathBuf,
    /// Worker threads; 0 means one per available core.
    pub threads: usize,
    /// OpenMP threads libsais may use when the corpus is a single bucket;
    /// 0 means `threads`. Default 1: libsais's parallel construction is
    /// barrier-heavy, and on a busy machine it slowed down 40x (2 threads on
    /// 2 shared cores: 28 s instead of 0.7 s); give it threads only on
    /// dedicated cores. Partitioned corpora use `threads` buckets at once
    /// instead.
    pub sa_threads: usize,
    /// If above 0, a cut is kept only if it holds at least this many tokens
    /// (maximal runs of non-whitespace characters, counting those cut in
    /// half at its edges). A filter on top of the byte rule: it never adds
    /// a cut.
    pub min_tokens: usize,
}

impl Config {
    /// Settings with `min_len` and `tmp_dir`, mode [`Mode::Later`], 1 GiB of
    /// memory, all cores (one for libsais), no token filter.
    pub fn new(min_len: usize, tmp_dir: impl Into<PathBuf>) -> Config {
        Config {
            min_len,
            mode: Mode::Later,
            memory: 1 << 30,
            tmp_dir: tmp_dir.into(),
            threads: 0,
            sa_threads: 1,
            min_tokens: 0,
        }
    }

    /// Checks the settings; resolves `threads = 0`.
    pub(crate) fn validated(mut self) -> Result<Config> {
        if self.min_len == 0 {
            return Err(Error::Config {
                name: "min_len",
                value: "0".into(),
                expected: "at least 1 byte",
            });
        }
        if self.memory == 0 {
            return Err(Error::Config {
                name: "memory",
                value: "0".into(),
                expected: "a budget of at least 1 byte (a few MiB or more in practice)",
            });
        }
        if self.threads == 0 {
            self.threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        }
        if self.sa_threads == 0 {
            self.sa_threads = self.threads;
        }
        Ok(self)
    }
}

/// A stage of [`crate::CorpusWriter::finish`], for progress bars.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Splitting a corpus larger than the budget into buckets on disk.
    /// Unit: bytes of canonical text read. Skipped when the corpus fits.
    Partition,
    /// Building suffix arrays. Unit: window positions (bytes at which a
    /// window of `min_len` bytes starts).
    Build,
    /// Scanning suffix arrays for repeats and collecting cuts. Unit: window
    /// positions.
    Find,
}

/// Receives progress from [`crate::CorpusWriter::finish`]; all methods do
/// nothing by default. Called from worker threads, hence `Sync`.
pub trait Progress: Sync {
    /// `phase` begins; `total` units are expected.
    fn start(&self, phase: Phase, total: u64) {
        let _ = (phase, total);
    }
    /// `delta` more units of `phase` are done.
    fn advance(&self, phase: Phase, delta: u64) {
        let _ = (phase, delta);
    }
    /// `phase` is over.
    fn finish(&self, phase: Phase) {
        let _ = phase;
    }
    /// Polled between units of work; returning `true` stops the job with
    /// [`Error::Cancelled`] (temporary files are removed as usual).
    fn cancelled(&self) -> bool {
        false
    }
}

/// A [`Progress`] that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// Returns [`Error::Cancelled`] if the caller asked to stop.
pub(crate) fn check_cancel(progress: &dyn Progress) -> Result<()> {
    if progress.cancelled() {
        Err(Error::Cancelled)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_min_len_is_refused() {
        let err = Config::new(0, "/tmp").validated().unwrap_err();
        assert!(err.to_string().contains("min_len"), "{err}");
    }

    #[test]
    fn zero_threads_means_all_cores() {
        let c = Config::new(10, "/tmp").validated().unwrap();
        assert!(c.threads >= 1);
    }
}
