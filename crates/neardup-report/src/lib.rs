//! neardup's HTML report: what a run removed, beside what it kept.
//!
//! A report is one self-contained HTML file, made from a run's ledger and
//! its inputs (the ledger says what became of each record, the inputs give
//! the texts). It works offline — style, script and data inline, nothing
//! fetched — and shows:
//!
//! - **Summary**: read / kept / modified / removed / rejected, bytes, time,
//!   every setting from the ledger header, the LSH banding and its S-curve;
//! - **Charts** (inline SVG, every value also written as text):
//!   cluster sizes, similarity of near duplicates with the threshold
//!   marked, share removed per input file or directory, bytes cut per
//!   record, Gopher repetition statistics where the ledger has them;
//! - **Clusters**, largest first, searchable by id or text: each removed
//!   record side by side with the record kept for it, aligned on the
//!   canonical form ([`neardup_text::diff`]) so that a typographic copy
//!   reads as "same text, other typography" and changed words are marked;
//! - **Cuts and filters**: records with spans cut, shown in place, each
//!   with a link to where its first copy lives; records removed for their
//!   repetition statistics;
//! - **Rejected** records, grouped by file, with their errors.
//!
//! Views are URL fragments (`#summary`, `#charts`, `#clusters`,
//! `#cluster=R`, `#cuts`, `#record=R`, `#rejected`), so each can be opened
//! directly; lists are paged and drawn only when shown.
//!
//! # Size
//! The file grows with what was removed, modified or rejected (and the
//! kept records they point to), not with the corpus: a kept record adds to
//! counts and histograms only. A removed record ships its diff against its
//! kept record and only the bytes that differ (an exact copy ships none).
//! Each text is cut to [`Options::max_text_bytes`], and text stops being
//! added past [`Options::max_total_text`] (those records are listed without
//! it).
//!
//! The budget, tested in `tests/budget.rs`: a 200,000-record run (104 MB
//! of JSONL) that removes 40,000 records (30,000 clusters), modifies 10,000
//! and rejects 100 — a quarter of the corpus touched — makes a report of
//! 31 MB, under a budget of 36 MiB, which Chromium draws 1.3 s after
//! opening it. Two thirds of it is the texts of the 30,000 kept records
//! and 10,000 modified ones; each listed record adds about 100 bytes of
//! columns.
//!
//! # Memory
//! The ledger is streamed twice and the inputs once; what stays in memory
//! is what the report will show (the entries and texts of listed records)
//! plus a few counters per input file.
//!
//! ```no_run
//! use neardup_report::{Inputs, Options, Report};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sources = neardup_io::Discover::default().sources(&["corpus.jsonl".into()])?;
//! let inputs = Inputs {
//!     sources: &sources,
//!     layout: neardup_io::Layout::default(),
//!     fields: &neardup_io::Fields::default(),
//! };
//! let report = Report::build("ledger.jsonl".as_ref(), &inputs, None, &Options::default(), &neardup_core::NoProgress)?;
//! report.write_to("report.html".as_ref())?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod collect;
pub mod error;
mod html;
mod ledger;
mod model;

use std::io::Write;
use std::path::Path;

use neardup_core::{Progress, Summary};
use neardup_io::{AtomicFile, Fields, Layout, Source};

pub use error::{Error, Result};

/// Limits on the text a report holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Bytes of one record's text the report holds, at most; a longer text
    /// is shown as its first bytes (cut at a character boundary), marked as
    /// an excerpt. Default 32 KiB.
    pub max_text_bytes: usize,
    /// Bytes of text the report holds in all, at most; records past it (in
    /// input order) are listed without text. Default 64 MiB.
    pub max_total_text: usize,
    /// How the page names the ledger; its path if `None`.
    pub ledger_name: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options { max_text_bytes: 32 << 10, max_total_text: 64 << 20, ledger_name: None }
    }
}

/// The inputs of the run, read as the run read them.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    /// The inputs, in the run's order.
    pub sources: &'a [Source],
    /// How they were cut into records (`--records`, `--max-record-bytes`).
    pub layout: Layout,
    /// The text and id fields (checked against the ledger header).
    pub fields: &'a Fields,
}

/// What a report holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Records listed: not kept, or named by one that was not.
    pub records: usize,
    /// Kept records with removed copies.
    pub clusters: usize,
    /// Bytes of text held.
    pub text_bytes: u64,
    /// Listed records whose text was left out (the budget ran out).
    pub texts_omitted: u64,
}

/// A report, built and ready to write.
#[derive(Debug)]
pub struct Report {
    data: model::Data,
}

impl Report {
    /// Builds the report of the run whose ledger is `ledger`, reading the
    /// texts from `inputs`. `run` is the run's summary when the report is
    /// made by the run itself (it adds bytes out, time and the near and
    /// substring counts, which the ledger does not hold).
    ///
    /// Fails if the ledger cannot be read, was written with other text or id
    /// fields, or does not list the inputs' records in order (the inputs
    /// changed since the run, or are read otherwise).
    pub fn build(
        ledger: &Path,
        inputs: &Inputs<'_>,
        run: Option<&Summary>,
        opts: &Options,
        progress: &dyn Progress,
    ) -> Result<Report> {
        let c =
            collect::collect(ledger, inputs.sources, inputs.layout, inputs.fields, opts, progress)?;
        Ok(Report { data: model::build(c, ledger, inputs.sources, run, opts) })
    }

    /// What the report holds.
    pub fn stats(&self) -> Stats {
        Stats {
            records: self.data.records.k.len(),
            clusters: self.data.clusters.len(),
            text_bytes: self.data.budget.text_bytes,
            texts_omitted: self.data.budget.texts_omitted,
        }
    }

    /// Writes the HTML page to `out`.
    pub fn write_html(&self, out: &mut dyn Write) -> std::io::Result<()> {
        html::write(&self.data, out)
    }

    /// Writes the HTML page to `dest` atomically (a temp file beside it,
    /// renamed into place); returns its size in bytes.
    pub fn write_to(&self, dest: &Path) -> Result<u64> {
        let mut file = Counting { inner: AtomicFile::create(dest)?, bytes: 0 };
        self.write_html(&mut file)?;
        let Counting { inner, bytes } = file;
        inner.commit()?;
        Ok(bytes)
    }
}

/// A writer that counts what passes through it.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
