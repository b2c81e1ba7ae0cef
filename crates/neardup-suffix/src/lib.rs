//! Exact repeated substrings across a corpus, with suffix arrays, in bounded
//! memory: the "ExactSubstr" deduplication of Lee et al. 2022,
//! *Deduplicating Training Data Makes Language Models Better* (ACL 2022).
//!
//! Give [`CorpusWriter`] the canonical bytes of each document in corpus order;
//! [`CorpusWriter::finish`] returns [`Repeats`]: for each document, the spans
//! to cut ([`Cut`]), sorted, merged, on UTF-8 character boundaries, each with
//! where an earlier copy lives.
//!
//! # What is cut
//!
//! Let `L` be [`Config::min_len`]. A *window* is `L` consecutive bytes of one
//! document (windows never cross documents). Positions are ordered by
//! `(doc, offset)`.
//!
//! - [`Mode::Later`]: byte `p` is cut iff some window containing `p` also
//!   occurs at an *earlier* position. Equivalently, the cut set is the union of
//!   all occurrences but the first of every repeated span of `L` bytes or more.
//! - [`Mode::All`]: byte `p` is cut iff some window containing `p` occurs at
//!   *another* position (every occurrence goes, as in Lee et al.'s tool).
//!
//! The cut set is then merged into maximal spans per document and each span is
//! shrunk inward to character boundaries (at most 3 bytes at each end; a span
//! that vanishes is dropped; one left shorter than `L` is kept, as all its
//! bytes are in repeated windows: see [`Cut`] and
//! `DESIGN.md`). [`Config::min_tokens`] optionally drops cuts with too few
//! words. Nothing else is cut, and the answer is the same for every memory
//! budget and thread count.
//!
//! # How
//!
//! Only classes of equal windows matter, not a global suffix order. So the
//! windows are split on disk into buckets by their *minimizer* (a function
//! of their bytes: equal windows share a bucket), each bucket gets its own
//! suffix array (libsais) in memory, in parallel, and no merge is ever
//! needed. Buckets are small (about 3 MB of text) whatever the budget, which
//! keeps the scans in cache; copies of whole runs of text are collapsed
//! before sorting. A tiny corpus is a single bucket. `DESIGN.md` next to
//! this crate has the maths, the costs, measurements, and why this beats
//! merging shard suffix arrays as the paper's tool does (its cuts are
//! reproduced exactly; on the debdocs corpus about ten times faster, in 4 to
//! 25 times less memory).
//!
//! # Reading the answer
//!
//! Cuts stay on disk (an anonymous temporary file) so that memory stays flat:
//! [`Repeats::iter`] yields [`DocCuts`] in document order, [`Repeats::cursor`]
//! answers "cuts of document `d`" for increasing `d` (a writer walking the
//! corpus), and [`Repeats::doc_cuts`] looks one document up by binary search.
//! Offsets are in canonical bytes; mapping them back to the original text is
//! the caller's (neardup-text's offset maps).
//!
//! ```
//! use neardup_suffix::{Config, CorpusWriter, Mode, NoProgress};
//!
//! let tmp = tempfile::tempdir()?;
//! let mut config = Config::new(10, tmp.path());
//! config.mode = Mode::All;
//! let mut corpus = CorpusWriter::new(config)?;
//! corpus.add_str("one two three four five")?;
//! corpus.add_str("zero two three four six")?;
//! let repeats = corpus.finish(&NoProgress)?;
//! let cut: Vec<(u32, usize, usize)> = repeats
//!     .iter()
//!     .map(|d| d.map(|d| (d.doc, d.cuts[0].start, d.cuts[0].end())))
//!     .collect::<Result<_, _>>()?;
//! // " two three four " is in both, and both lose it.
//! assert_eq!(cut, vec![(0, 3, 19), (1, 4, 20)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod bits;
mod bucket;
mod config;
mod corpus;
mod engine;
mod error;
mod partition;
mod repeats;
mod spans;
mod store;
mod writer;

pub use config::{Config, Mode, NoProgress, Phase, Progress};
pub use engine::MAX_DEPTH;
pub use error::{Error, Result};
pub use repeats::{Cursor, Cut, DocCuts, Iter, Repeats, Stats};
pub use writer::CorpusWriter;
