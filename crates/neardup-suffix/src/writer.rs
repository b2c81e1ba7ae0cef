//! [`CorpusWriter`]: the entry point. Documents stream to disk as they are
//! added (memory stays flat however many there are), and
//! [`CorpusWriter::finish`] finds the repeats.

use crate::config::{Config, Progress};
use crate::corpus::{windows_in, Corpus};
use crate::engine;
use crate::error::{Error, Result};
use crate::repeats::Repeats;
use crate::store::{Scratch, TempWriter};

/// Collects a corpus, then finds its repeated spans.
///
/// Cost: adding streams to disk (memory stays flat). `finish` reads the
/// corpus, writes about `3.7 N` bytes of buckets to `tmp_dir` for `N` bytes of
/// text (with `min_len = 100`), and runs in time linear in that; memory stays
/// within [`Config::memory`] (plus a fixed 15-20 MiB), typically 35-150 MiB
/// for a 300 MB corpus. On two cores it does about 20 MB/s.
///
/// ```
/// use neardup_suffix::{Config, CorpusWriter, Mode, NoProgress};
///
/// let tmp = tempfile::tempdir()?;
/// let mut config = Config::new(12, tmp.path());
/// config.mode = Mode::Later;
/// let mut corpus = CorpusWriter::new(config)?;
/// let a = corpus.add(b"the quick brown fox jumps over the lazy dog")?;
/// let b = corpus.add(b"a fox jumps over the lazy dog, twice")?;
/// let repeats = corpus.finish(&NoProgress)?;
///
/// let docs: Vec<_> = repeats.iter().collect::<Result<_, _>>()?;
/// assert_eq!(docs.len(), 1);
/// assert_eq!(docs[0].doc, b);
/// let cut = docs[0].cuts[0];
/// assert_eq!(&b"a fox jumps over the lazy dog, twice"[cut.start..cut.end()], b" fox jumps over the lazy dog");
/// assert_eq!((cut.first_doc, cut.first_offset), (a, 15));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct CorpusWriter {
    cfg: Config,
    scratch: Scratch,
    text: TempWriter,
    ends: TempWriter,
    docs: u64,
    windows: u64,
}

impl CorpusWriter {
    /// Checks `config` and opens the temporary files (in
    /// [`Config::tmp_dir`], created if missing).
    pub fn new(config: Config) -> Result<CorpusWriter> {
        let cfg = config.validated()?;
        let scratch = Scratch::new(&cfg.tmp_dir)?;
        let text = scratch.file()?.writer(1 << 20);
        let ends = scratch.file()?.writer(1 << 16);
        Ok(CorpusWriter { cfg, scratch, text, ends, docs: 0, windows: 0 })
    }

    /// Adds the next document's canonical bytes and returns its index
    /// (0, 1, 2, ...). Invalid UTF-8 is refused with
    /// [`Error::InvalidUtf8`] and takes no index.
    pub fn add(&mut self, doc: &[u8]) -> Result<u32> {
        if let Err(e) = std::str::from_utf8(doc) {
            return Err(Error::InvalidUtf8 { doc: self.docs, offset: e.valid_up_to() });
        }
        self.push(doc)
    }

    /// [`CorpusWriter::add`] for text already known to be UTF-8.
    pub fn add_str(&mut self, doc: &str) -> Result<u32> {
        self.push(doc.as_bytes())
    }

    fn push(&mut self, doc: &[u8]) -> Result<u32> {
        let Ok(index) = u32::try_from(self.docs) else {
            return Err(Error::TooManyDocuments { max: u64::from(u32::MAX) + 1 });
        };
        self.text.write_all(doc)?;
        self.ends.write_u64(self.text.len())?;
        self.docs += 1;
        self.windows += windows_in(doc.len() as u64, self.cfg.min_len as u64);
        Ok(index)
    }

    /// Documents added so far.
    pub fn docs(&self) -> u64 {
        self.docs
    }

    /// Bytes added so far.
    pub fn bytes(&self) -> u64 {
        self.text.len()
    }

    /// Finds every repeat, reporting to `progress`. Uses `threads` threads
    /// and about `memory` bytes; temporary files are gone when this returns
    /// (they never had names), whether it succeeds or not.
    pub fn finish(self, progress: &dyn Progress) -> Result<Repeats> {
        self.finish_only(&|_| true, progress)
    }

    /// [`CorpusWriter::finish`] over the documents `keep` accepts: the
    /// others are as if never added (no cut in them, no copy of anything
    /// in them), but keep their index. For a caller that learns which
    /// documents matter only after adding them all (neardup adds every
    /// record, then drops duplicates), without writing the corpus twice.
    pub fn finish_only(
        self,
        keep: &dyn Fn(u32) -> bool,
        progress: &dyn Progress,
    ) -> Result<Repeats> {
        let CorpusWriter { cfg, scratch, text, ends, docs, windows } = self;
        let text = text.finish()?;
        let live_bytes = text.len();
        let mut corpus = Corpus {
            text,
            ends: ends.finish()?,
            docs,
            min_len: cfg.min_len as u64,
            windows,
            skip: None,
            live_bytes,
        };
        corpus.retain(keep)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(cfg.threads)
            .build()
            .map_err(|source| Error::ThreadPool { threads: cfg.threads, source })?;
        pool.install(|| engine::run(&corpus, &cfg, &scratch, progress))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoProgress;

    #[test]
    fn invalid_utf8_is_refused_without_taking_an_index() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = CorpusWriter::new(Config::new(4, dir.path())).unwrap();
        assert_eq!(w.add(b"ok").unwrap(), 0);
        let err = w.add(b"ab\xffcd").unwrap_err();
        assert!(matches!(err, Error::InvalidUtf8 { doc: 1, offset: 2 }), "{err}");
        assert_eq!(w.add_str("next").unwrap(), 1);
        let r = w.finish(&NoProgress).unwrap();
        assert_eq!(r.stats().docs, 2);
        assert_eq!(r.iter().count(), 0);
    }

    #[test]
    fn left_out_documents_neither_lose_nor_give_text() {
        let dir = tempfile::tempdir().unwrap();
        let run = |keep: &dyn Fn(u32) -> bool| {
            let mut w = CorpusWriter::new(Config::new(8, dir.path())).unwrap();
            for d in ["one two three four", "one two three four", "zero one two three four"] {
                w.add_str(d).unwrap();
            }
            let r = w.finish_only(keep, &NoProgress).unwrap();
            r.iter().map(|d| d.unwrap()).map(|d| (d.doc, d.cuts[0].first_doc)).collect::<Vec<_>>()
        };
        assert_eq!(run(&|_| true), [(1, 0), (2, 0)]);
        // Without document 0, document 1 holds the first copy.
        assert_eq!(run(&|d| d != 0), [(2, 1)]);
        // Without document 1, nothing changes for document 2.
        assert_eq!(run(&|d| d != 1), [(2, 0)]);
    }

    #[test]
    fn empty_corpus_has_no_cuts() {
        let dir = tempfile::tempdir().unwrap();
        let r = CorpusWriter::new(Config::new(4, dir.path())).unwrap().finish(&NoProgress).unwrap();
        assert_eq!(r.iter().count(), 0);
        assert_eq!(r.stats().windows, 0);
    }
}
