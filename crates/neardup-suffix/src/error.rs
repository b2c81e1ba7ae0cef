//! The one error type of this crate.
//!
//! Errors name what went wrong and where: the document and byte offset of bad
//! input, the setting and its value for a bad configuration, the directory of
//! a temporary file that could not be written (temporary files here have no
//! name of their own: see [`crate::store`]).

use std::io;
use std::path::PathBuf;

/// What can go wrong while writing a corpus or finding its repeats.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A document is not valid UTF-8. It was not added; the corpus is
    /// unchanged and the next [`crate::CorpusWriter::add`] may go on.
    #[error(
        "document {doc}: invalid UTF-8 at byte {offset}, expected canonical text \
         (valid UTF-8); the document was not added"
    )]
    InvalidUtf8 {
        /// The index the document would have had.
        doc: u64,
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// More documents than a `u32` index can name.
    #[error("too many documents: at most {max} fit a u32 document index")]
    TooManyDocuments {
        /// The largest number of documents.
        max: u64,
    },
    /// A setting in [`crate::Config`] is out of range.
    #[error("invalid setting `{name}` = `{value}`: {expected}")]
    Config {
        /// The field of [`crate::Config`].
        name: &'static str,
        /// Its value, as given.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
    /// Reading or writing a temporary file failed (disk full, directory
    /// removed, ...). Temporary files are anonymous, so the directory given as
    /// `tmp_dir` is named instead.
    #[error("{op} a temporary file in `{}`: {source}", dir.display())]
    Temp {
        /// What was being done: "create", "write", "read".
        op: &'static str,
        /// The `tmp_dir` of the [`crate::Config`].
        dir: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// File I/O on a named path failed; the message names the path.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// libsais refused to build a suffix array (out of memory, usually).
    #[error("suffix array construction failed on {bytes} bytes: {source:?}")]
    SuffixArray {
        /// Size of the text given to libsais.
        bytes: u64,
        /// libsais's error code.
        source: libsais::LibsaisError,
    },
    /// The worker thread pool could not be built.
    #[error("could not start {threads} worker threads: {source}")]
    ThreadPool {
        /// The number of threads asked for.
        threads: usize,
        /// The underlying error.
        source: rayon::ThreadPoolBuildError,
    },
    /// A temporary file did not hold what this crate wrote into it.
    #[error("temporary data in `{}` is corrupt: {what}", dir.display())]
    Corrupt {
        /// The `tmp_dir` of the [`crate::Config`].
        dir: PathBuf,
        /// What was wrong.
        what: String,
    },
    /// [`crate::Progress::cancelled`] returned `true`.
    #[error("cancelled")]
    Cancelled,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
