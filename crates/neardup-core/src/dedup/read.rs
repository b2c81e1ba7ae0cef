//! Pass 1: read every record and analyse it.
//!
//! A reader thread cuts the inputs into batches of raw records; each batch
//! is parsed and analysed by one rayon task ([`crate::ordered`]), and the
//! analyses are pushed into the [`Deduper`] strictly in input order. In a
//! one-pass run ([`Stream`]), each record is also decided and written right
//! there.

use neardup_io::{record, Batch, RawRecord, RecordError, Source};

use super::write::Writer;
use super::Summary;
use crate::analysis::{Analysis, Analyzer};
use crate::config::Config;
use crate::decide::{exact::FirstSeen, Deduper};
use crate::error::Result;
use crate::progress::Progress;

/// One-pass mode: when the keep policy keeps the first copy and no stage
/// needs the whole corpus (near duplicates, substrings), every decision is
/// known as soon as a record is read, so records are decided and written
/// in pass 1, in input order, and the inputs are read once.
pub(crate) struct Stream<'a> {
    writer: Writer<'a>,
    first: Option<FirstSeen>,
    summary: Summary,
}

impl<'a> Stream<'a> {
    pub(crate) fn new(writer: Writer<'a>) -> Stream<'a> {
        let first = writer.config().settings.exact.then(FirstSeen::default);
        Stream { writer, first, summary: Summary::default() }
    }

    fn decide_and_write(
        &mut self,
        k: usize,
        rec: &RawRecord,
        data: &[u8],
        deduper: &mut Deduper,
    ) -> Result<()> {
        if let Some(first) = self.first.as_mut() {
            deduper.decide_exact_now(k, first);
        }
        self.writer.record(k, rec, data, &deduper.table(), &mut self.summary)
    }

    /// Checks the accounting and makes every output final.
    pub(crate) fn finish(self, records: usize, summary: &mut Summary) -> Result<()> {
        let Stream { writer, summary: counted, .. } = self;
        let bytes_in = summary.bytes_in;
        let warnings = std::mem::take(&mut summary.warnings);
        *summary = counted;
        summary.bytes_in = bytes_in;
        summary.warnings.splice(0..0, warnings);
        writer.finish(records, summary)
    }
}

/// Reads and analyses every record of `sources` into `deduper`; returns it
/// with the bytes read.
pub(crate) fn run(
    sources: &[Source],
    cfg: &Config,
    analyzer: &Analyzer,
    mut deduper: Deduper,
    mut stream: Option<&mut Stream<'_>>,
    progress: &dyn Progress,
) -> Result<(Deduper, u64)> {
    let total = sources.iter().all(|s| s.compression == neardup_io::Compression::None);
    progress.phase("analyse", total.then(|| sources.iter().map(|s| s.size).sum()));
    let mut bytes_in = 0u64;
    let work = |(_, batch): (usize, Batch)| {
        let parsed: Vec<Parsed> = batch
            .records
            .iter()
            .map(|r| parse_and_analyse(sources, cfg, analyzer, r, &batch.data))
            .collect();
        let bytes: u64 = batch.records.iter().map(|r| r.raw_range().len() as u64).sum();
        (batch, parsed, bytes)
    };
    let result = super::over_batches(sources, cfg.input.layout, work, |(batch, parsed, bytes)| {
        let first = deduper.len();
        let n = parsed.len() as u64;
        for (rec, (id, analysis)) in batch.records.iter().zip(parsed) {
            deduper.push((rec.source, rec.line), id, analysis)?;
        }
        if let Some(st) = stream.as_mut() {
            for (k, rec) in (first..).zip(&batch.records) {
                st.decide_and_write(k, rec, &batch.data, &mut deduper)?;
            }
        }
        bytes_in += bytes;
        progress.advance(n, bytes);
        Ok(())
    });
    progress.finish();
    result.map(|()| (deduper, bytes_in))
}

/// A record's id and analysis, or why it could not be read.
type Parsed = (Option<Box<str>>, std::result::Result<Analysis, RecordError>);

fn parse_and_analyse(
    sources: &[Source],
    cfg: &Config,
    analyzer: &Analyzer,
    rec: &RawRecord,
    data: &[u8],
) -> Parsed {
    if let Some(e) = &rec.error {
        return (None, Err(e.clone()));
    }
    let src = &sources[rec.source as usize];
    TEXT.with(|t| {
        let mut t = t.borrow_mut();
        let out = match record::parse_with(src.format, rec.content(data), &cfg.input.fields, &mut t)
        {
            Ok(p) => (p.id.map(String::into_boxed_str), Ok(analyzer.analyse(&p.text))),
            Err(e) => (None, Err(e)),
        };
        // One huge record should not hold its size per thread for the run.
        if t.capacity() > TEXT_KEEP {
            *t = String::new();
        }
        out
    })
}

/// A text larger than this is not kept as the thread's buffer.
const TEXT_KEEP: usize = 4 << 20;

thread_local! {
    /// Each worker's buffer for escaped texts, decoded once per record.
    static TEXT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}
