//! Where record outcomes go: one [`Sink`] per consumer.
//!
//! A run emits one [`Emitted`] per record read, in input order, to every
//! sink it was given: the ledger writer ([`LedgerSink`]), the outputs
//! ([`OutputSink`]), and whatever a face adds (the report collects what was
//! removed; the Python package fills Arrow builders). The run decides;
//! sinks only record.

use std::io::Write;

use neardup_io::{AtomicFile, Outputs, Source};

use crate::error::Result;
use crate::ledger::{self, Entry};
use crate::Summary;

/// One record's outcome, as a sink sees it.
#[derive(Clone, Copy, Debug)]
pub struct Emitted<'a> {
    /// Its index in input order.
    pub index: u64,
    /// Its ledger entry.
    pub entry: &'a Entry,
    /// The input it came from (an index into the run's sources).
    pub source: u32,
    /// What is written for it, in the input's own format (kept: as read;
    /// modified: its cut text spliced in); `None` when it is not written.
    pub written: Option<Written<'a>>,
    /// Its original text, for sinks that asked for texts
    /// ([`Sink::wants_text`]) and records that could be read.
    pub text: Option<&'a str>,
    /// Its ledger entry as one line of JSON, ending in `\n`, for sinks
    /// that asked for it ([`Sink::wants_ledger_line`]): serialized on the
    /// run's worker threads rather than in the sink.
    pub ledger_line: Option<&'a [u8]>,
}

/// A record as written: its bytes, then a line break when the input's last
/// line had none (so that outputs stay one record per line).
#[derive(Clone, Copy, Debug)]
pub struct Written<'a> {
    /// The bytes.
    pub bytes: &'a [u8],
    /// Whether a `\n` follows.
    pub newline: bool,
}

/// Receives every record's outcome, in input order.
pub trait Sink {
    /// Whether [`Emitted::text`] should be filled (it costs a parse of
    /// records that are not written).
    fn wants_text(&self) -> bool {
        false
    }

    /// Whether [`Emitted::ledger_line`] should be filled.
    fn wants_ledger_line(&self) -> bool {
        false
    }

    /// One record.
    ///
    /// # Errors
    /// Writing failed; the run stops.
    fn record(&mut self, r: &Emitted<'_>) -> Result<()>;

    /// The run succeeded and balanced: make the results final.
    ///
    /// # Errors
    /// Writing or renaming failed.
    fn commit(self: Box<Self>, summary: &mut Summary) -> Result<()>;
}

/// Writes the ledger: a header, then one JSON line per record.
pub struct LedgerSink {
    file: AtomicFile,
}

impl LedgerSink {
    /// Starts the ledger with its header.
    ///
    /// # Errors
    /// Writing failed.
    pub fn new(mut file: AtomicFile, header: &ledger::Header) -> Result<LedgerSink> {
        serde_json::to_writer(&mut file, header).map_err(std::io::Error::from)?;
        file.write_all(b"\n")?;
        Ok(LedgerSink { file })
    }
}

impl Sink for LedgerSink {
    fn wants_ledger_line(&self) -> bool {
        true
    }

    fn record(&mut self, r: &Emitted<'_>) -> Result<()> {
        match r.ledger_line {
            Some(line) => self.file.write_all(line)?,
            None => write_ledger_line(r.entry, &mut self.file)?,
        }
        Ok(())
    }

    fn commit(self: Box<Self>, _: &mut Summary) -> Result<()> {
        Ok(self.file.commit()?)
    }
}

/// Writes `entry` as one ledger line: JSON, then `\n`. Every ledger line
/// goes through here, whether the sink or the writer's workers make it.
pub(crate) fn write_ledger_line(entry: &Entry, out: &mut impl Write) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, entry).map_err(std::io::Error::from)?;
    out.write_all(b"\n")
}

/// Writes kept and modified records to the run's outputs.
pub struct OutputSink<'a> {
    outputs: Outputs,
    sources: &'a [Source],
}

impl<'a> OutputSink<'a> {
    /// Records of `sources` into `outputs`.
    pub fn new(outputs: Outputs, sources: &'a [Source]) -> OutputSink<'a> {
        OutputSink { outputs, sources }
    }
}

impl Sink for OutputSink<'_> {
    fn record(&mut self, r: &Emitted<'_>) -> Result<()> {
        if let (Some(w), Some(src)) = (r.written, self.sources.get(r.source as usize)) {
            self.outputs.write(src, r.source, w.bytes)?;
            if w.newline {
                self.outputs.write(src, r.source, b"\n")?;
            }
        }
        Ok(())
    }

    fn commit(self: Box<Self>, summary: &mut Summary) -> Result<()> {
        summary.bytes_out = self.outputs.bytes_written();
        summary.warnings.extend(crate::dedup::stale_warnings(self.outputs.stale_removed()));
        Ok(self.outputs.commit()?)
    }
}
