//! Pass 1: read every record and analyse it.
//!
//! A reader thread cuts the inputs into batches of raw records; each batch
//! is parsed and analysed by one rayon task ([`crate::ordered`]), and the
//! analyses are pushed into the [`Deduper`] strictly in input order. A
//! record whose text an earlier record had is not analysed again
//! ([`Copies`]). In a one-pass run ([`Stream`]), each record is also
//! decided and written right there.

use neardup_io::{record, Batch, RawRecord, RecordError, Source};
use xxhash_rust::xxh3::xxh3_128;

use super::write::Writer;
use super::Summary;
use crate::analysis::{Analysis, Analyzer};
use crate::config::Config;
use crate::decide::{exact::FirstSeen, Deduper};
use crate::error::Result;
use crate::hashing::PrehashedMap;
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
/// with the bytes read and the records taken as copies of an earlier
/// record's text ([`Copies`]).
pub(crate) fn run(
    sources: &[Source],
    cfg: &Config,
    analyzer: &Analyzer,
    mut deduper: Deduper,
    mut stream: Option<&mut Stream<'_>>,
    progress: &dyn Progress,
) -> Result<(Deduper, u64, u64)> {
    let total = sources.iter().all(|s| s.compression == neardup_io::Compression::None);
    progress.phase("analyse", total.then(|| sources.iter().map(|s| s.size).sum()));
    let (mut bytes_in, mut copied) = (0u64, 0u64);
    // Substrings keep each record's canonical text: no copies there.
    let copies = cfg.settings.substrings.is_none().then(|| Copies::new(cfg.resources.memory));
    let copies = copies.as_ref();
    let work = |(_, batch): (usize, Batch)| {
        let parsed: Vec<Parsed> = batch
            .records
            .iter()
            .map(|r| parse_and_analyse(sources, cfg, analyzer, copies, r, &batch.data))
            .collect();
        let bytes: u64 = batch.records.iter().map(|r| r.raw_range().len() as u64).sum();
        (batch, parsed, bytes)
    };
    let result = super::over_batches(sources, cfg.input.layout, work, |(batch, parsed, bytes)| {
        let first = deduper.len();
        let n = parsed.len() as u64;
        for (rec, (id, analysed)) in batch.records.iter().zip(parsed) {
            let at = (rec.source, rec.line);
            match analysed {
                Ok(Analysed::Copy(of)) => {
                    deduper.push_copy(at, id, of)?;
                    copied += 1;
                }
                Ok(Analysed::Fresh(analysis, text)) => {
                    let index = deduper.push(at, id, Ok(analysis))?;
                    if let (Some(c), Some(text)) = (copies, text) {
                        c.note(text, index);
                    }
                }
                Err(e) => {
                    deduper.push(at, id, Err(e))?;
                }
            }
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
    result.map(|()| (deduper, bytes_in, copied))
}

/// A record's id and analysis, or why it could not be read.
type Parsed = (Option<Box<str>>, std::result::Result<Analysed, RecordError>);

/// What pass 1 learned of a record's text.
// Most records are fresh: boxing their analysis would allocate for each.
#[allow(clippy::large_enum_variant)]
enum Analysed {
    /// Its analysis, and the hash of its text when copies are looked for.
    Fresh(Analysis, Option<u128>),
    /// The same text as this record, pushed before.
    Copy(u32),
}

/// The texts of pass 1 so far, by their xxh3-128 hash, each with the first
/// record that had it.
///
/// Analysis is a function of the text alone, and a corpus often holds the
/// same text many times (one page saved twice, a document shipped in two
/// versions of a package: a fifth of debdocs' records, a ninth of its
/// bytes), so a record whose text was seen is not analysed again: it takes
/// the earlier record's analysis ([`Deduper::push_copy`]). Workers look a
/// text up before analysing it; the records pushed so far are there, so a
/// copy analysed before its first copy was pushed (in the same batch, or
/// one still in flight) is analysed, which gives the same result. The map
/// holds at most a sixteenth of the memory budget; past that, new texts
/// are not noted.
struct Copies {
    /// By the xxh3-128 of the text: a hash already, so not hashed again.
    first: std::sync::Mutex<PrehashedMap<u128, u32>>,
    /// Texts noted at most.
    room: usize,
}

impl Copies {
    /// Bytes an entry of the map takes at most: a 32-byte slot and its
    /// control byte, at the lowest load a power-of-two table has (7/16).
    const ENTRY_BYTES: usize = 80;

    fn new(memory: usize) -> Copies {
        Copies { first: Default::default(), room: memory / 16 / Copies::ENTRY_BYTES }
    }

    fn find(&self, text: u128) -> Option<u32> {
        self.first.lock().ok()?.get(&text).copied()
    }

    fn note(&self, text: u128, index: u32) {
        if let Ok(mut first) = self.first.lock() {
            if first.len() < self.room {
                first.entry(text).or_insert(index);
            }
        }
    }
}

fn parse_and_analyse(
    sources: &[Source],
    cfg: &Config,
    analyzer: &Analyzer,
    copies: Option<&Copies>,
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
            Ok(p) => {
                let id = p.id.map(String::into_boxed_str);
                let text = copies.map(|_| xxh3_128(p.text.as_bytes()));
                match copies.zip(text).and_then(|(c, h)| c.find(h)) {
                    Some(of) => (id, Ok(Analysed::Copy(of))),
                    None => (id, Ok(Analysed::Fresh(analyzer.analyse(&p.text), text))),
                }
            }
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
