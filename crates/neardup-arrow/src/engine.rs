//! Deduplication over Arrow record batches: the two passes of a file run,
//! with batches in place of lines.
//!
//! [`Reader`] is pass 1: each batch's text column is analysed in parallel
//! ([`neardup_core::Analyzer::analyse_batch`]) and pushed, row by row in
//! input order, into a [`Deduper`]. [`Deduper::decide`] decides. [`Writer`]
//! is pass 2: given the same batches again, in the same order, it returns
//! each batch's kept and modified rows, every other column untouched and
//! the text cut where spans were cut, and every row's ledger entry.
//!
//! Rows are named by the id column when it has a value, else
//! `source#row` (0-based row within the source), or just `row` for an
//! unnamed source (the Python package's in-memory tables).

use arrow_array::{BooleanArray, RecordBatch};
use neardup_core::decide::Decisions;
use neardup_core::ledger::{Entry, Status};
use neardup_core::{Analyzer, Deduper, OnError, Summary};
use neardup_io::{Fields, RecordError};

use crate::column::{IdColumn, TextColumn};
use crate::error::{Error, Result};

/// Pass 1: analyses batches into a [`Deduper`].
pub struct Reader<'a> {
    analyzer: &'a Analyzer,
    deduper: Deduper,
    fields: &'a Fields,
    on_error: OnError,
    names: Vec<String>,
    bytes_in: u64,
}

impl<'a> Reader<'a> {
    /// Reads into `deduper` (made with [`OnError::Skip`]: `on_error` is
    /// applied here, with the row in the message); `names` are the
    /// sources' names, as given to the deduper.
    pub fn new(
        analyzer: &'a Analyzer,
        deduper: Deduper,
        fields: &'a Fields,
        on_error: OnError,
        names: Vec<String>,
    ) -> Reader<'a> {
        Reader { analyzer, deduper, fields, on_error, names, bytes_in: 0 }
    }

    /// Bytes of text read so far.
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in
    }

    /// Records read so far.
    pub fn len(&self) -> usize {
        self.deduper.len()
    }

    /// Whether no record was read.
    pub fn is_empty(&self) -> bool {
        self.deduper.is_empty()
    }

    /// Analyses the rows of `batch`, rows `first_row..` of source
    /// `source`, and pushes them in order.
    ///
    /// # Errors
    /// A bad row with [`OnError::Fail`] ([`Error::BadRow`]); the deduper's
    /// errors (too many records, temp files).
    pub fn push(&mut self, source: u32, batch: &RecordBatch, first_row: u64) -> Result<()> {
        let n = batch.num_rows();
        let text = TextColumn::of(batch, &self.fields.text);
        let ids = IdColumn::of(batch, &self.fields.id);
        let rows: Vec<std::result::Result<&str, RecordError>> = match &text {
            Ok(col) => (0..n).map(|i| col.text(i, &self.fields.text)).collect(),
            Err(e) => vec![Err(e.clone()); n],
        };
        let name = self.names.get(source as usize).cloned().unwrap_or_default();
        if self.on_error == OnError::Fail {
            if let Some((i, Err(e))) = rows.iter().enumerate().find(|(_, r)| r.is_err()) {
                return Err(Error::BadRow {
                    source_name: name,
                    row: first_row + i as u64,
                    error: e.clone(),
                });
            }
        }
        let good: Vec<&str> = rows.iter().filter_map(|r| r.as_ref().ok().copied()).collect();
        self.bytes_in += good.iter().map(|t| t.len() as u64).sum::<u64>();
        let mut analyses = self.analyzer.analyse_batch(&good).into_iter();
        for (i, r) in rows.into_iter().enumerate() {
            let row = first_row + i as u64;
            let id = ids.as_ref().and_then(|c| c.get(i)).unwrap_or_else(|| default_id(&name, row));
            let analysis = match r {
                Ok(_) => Ok(analyses.next().expect("one analysis per good row")),
                Err(e) => Err(e),
            };
            self.deduper.push((source, row + 1), Some(id.into_boxed_str()), analysis)?;
        }
        Ok(())
    }

    /// The deduper, with every record read.
    pub fn finish(self) -> Deduper {
        self.deduper
    }
}

/// The id of a row without one.
pub fn default_id(source: &str, row: u64) -> String {
    if source.is_empty() {
        row.to_string()
    } else {
        format!("{source}#{row}")
    }
}

/// Pass 2: each batch's kept rows and each row's ledger entry.
pub struct Writer<'a> {
    decisions: &'a Decisions,
    fields: &'a Fields,
    next: usize,
    cut: String,
}

impl<'a> Writer<'a> {
    /// Writes by `decisions`, from record 0.
    pub fn new(decisions: &'a Decisions, fields: &'a Fields) -> Writer<'a> {
        Writer { decisions, fields, next: 0, cut: String::new() }
    }

    /// Records emitted so far.
    pub fn emitted(&self) -> usize {
        self.next
    }

    /// The next batch, as read in pass 1: counts each row's entry in
    /// `summary`, hands it to `entry`, and returns the batch's kept and
    /// modified rows (text cut), schema unchanged.
    ///
    /// # Errors
    /// More rows than pass 1 read, or the batch changed (an input changed
    /// between the passes); `entry`'s errors.
    pub fn batch(
        &mut self,
        batch: &RecordBatch,
        summary: &mut Summary,
        mut entry: impl FnMut(usize, &Entry) -> Result<()>,
    ) -> Result<RecordBatch> {
        let d = self.decisions;
        let n = batch.num_rows();
        if self.next + n > d.len() {
            return Err(Error::Usage(format!(
                "the input has more rows than when it was first read ({} > {})",
                self.next + n,
                d.len()
            )));
        }
        let text = TextColumn::of(batch, &self.fields.text).ok();
        let mut keep = Vec::with_capacity(n);
        let mut written: Vec<Option<String>> = Vec::with_capacity(n);
        let mut any_modified = false;
        for i in 0..n {
            let k = self.next + i;
            let original = text.as_ref().and_then(|t| t.get(i));
            let cuts = d.cuts(k);
            let cut_text = match original {
                Some(t) if !cuts.is_empty() && d.cluster(k) == Some(k as u32) => {
                    neardup_core::analysis::cut_into(
                        t,
                        cuts.iter().map(|c| (c.start, c.len)),
                        &mut self.cut,
                    );
                    Some(self.cut.as_str())
                }
                _ => None,
            };
            let outcome = d.outcome(k, cut_text.filter(|_| d.needs_cut_text(k)));
            let e = d.entry(k, &outcome)?;
            summary.add(&e);
            match outcome.status {
                Status::Kept => {
                    summary.bytes_out += original.map_or(0, |t| t.len() as u64);
                    keep.push(true);
                    written.push(None);
                }
                Status::Modified => {
                    let Some(cut) = cut_text else {
                        return Err(changed(k));
                    };
                    summary.bytes_out += cut.len() as u64;
                    any_modified = true;
                    keep.push(true);
                    written.push(Some(cut.to_string()));
                }
                Status::Removed | Status::Rejected => {
                    keep.push(false);
                    written.push(None);
                }
            }
            entry(k, &e)?;
        }
        self.next += n;
        let mask = BooleanArray::from(keep.clone());
        let mut out = arrow_select::filter::filter_record_batch(batch, &mask)?;
        if let (true, Some(col)) = (any_modified, text.as_ref()) {
            let texts = (0..n).filter(|&i| keep[i]).map(|i| match &written[i] {
                Some(t) => t.as_str(),
                None => col.get(i).unwrap_or(""),
            });
            let new = col.build(texts);
            let at = batch.schema().index_of(&self.fields.text)?;
            let mut cols = out.columns().to_vec();
            cols[at] = new;
            out = RecordBatch::try_new(out.schema(), cols)?;
        }
        Ok(out)
    }

    /// Checks that every record decided was written.
    ///
    /// # Errors
    /// Fewer rows than pass 1 read.
    pub fn finish(&self) -> Result<()> {
        if self.next == self.decisions.len() {
            Ok(())
        } else {
            Err(changed(self.next))
        }
    }
}

fn changed(k: usize) -> Error {
    Error::Usage(format!("input changed between the two passes over it (record {k})"))
}
