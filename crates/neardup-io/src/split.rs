//! Splitting inputs into raw records, in batches.
//!
//! A [`RecordReader`] walks the sources in order and cuts their bytes into
//! records: a line of JSONL, a line or a paragraph of text, or a whole file.
//! It does not parse or validate: that happens in parallel, later. What it
//! catches is what only a reader can see: a record larger than the limit
//! (skipped to the next newline without buffering it), an empty file, a file
//! that cannot be opened, a compressed stream that ends early. Each becomes
//! a record carrying its error, so it is counted and reported like any
//! other bad record.
//!
//! The same reader runs in both passes of a deduplication run, so record
//! `k` is the same bytes both times.

use std::io::{self, BufRead};

use crate::error::RecordError;
use crate::source::{Format, Source, Unit};

/// One record's bytes within a [`Batch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRecord {
    /// Index of its source in the list given to the reader.
    pub source: u32,
    /// 1-based line where it starts; 0 for whole-file records and errors
    /// about a whole file.
    pub line: u64,
    /// Start of its content in [`Batch::data`].
    pub start: usize,
    /// End of its content (line ends excluded).
    pub end: usize,
    /// Bytes after the content that belong with it in the output: its line
    /// end, and for paragraphs the blank lines that follow.
    pub tail: usize,
    /// A problem found while reading; the content is then empty.
    pub error: Option<RecordError>,
}

impl RawRecord {
    /// The record's content within `data`.
    pub fn content<'a>(&self, data: &'a [u8]) -> &'a [u8] {
        &data[self.start..self.end]
    }

    /// Content and tail: what to write to keep the record unchanged.
    pub fn raw<'a>(&self, data: &'a [u8]) -> &'a [u8] {
        &data[self.raw_range()]
    }

    /// Where [`RawRecord::raw`] is in the batch's data.
    pub fn raw_range(&self) -> std::ops::Range<usize> {
        self.start..self.end + self.tail
    }
}

/// Records cut from one or more sources, with their bytes.
#[derive(Debug, Default)]
pub struct Batch {
    /// The bytes the records point into.
    pub data: Vec<u8>,
    /// The records, in input order.
    pub records: Vec<RawRecord>,
}

/// How to cut inputs into records.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// What a record is in a text input.
    pub unit: Unit,
    /// Records larger than this are rejected without being buffered.
    pub max_record_bytes: u64,
    /// A batch is handed over once it holds this many bytes…
    pub batch_bytes: usize,
    /// …or this many records.
    pub batch_records: usize,
}

impl Default for Layout {
    fn default() -> Layout {
        Layout {
            unit: Unit::File,
            max_record_bytes: 64 << 20,
            batch_bytes: 1 << 20,
            batch_records: 1024,
        }
    }
}

impl Layout {
    /// What a record is in `source`.
    pub fn unit_of(&self, source: &Source) -> Unit {
        match source.format {
            Format::Jsonl => Unit::Lines,
            Format::Text => self.unit,
        }
    }
}

/// Reads sources in order and yields batches of raw records.
pub struct RecordReader<'a> {
    sources: &'a [Source],
    layout: Layout,
    next_source: usize,
    cur: Option<Cursor>,
    /// Bytes of a record begun in the previous batch (paragraphs).
    carry: Vec<u8>,
    /// Decompressed bytes read so far.
    bytes_read: u64,
}

/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

struct Cursor {
    source: u32,
    unit: Unit,
    reader: Box<dyn BufRead + Send>,
    /// Lines read so far.
    line: u64,
    /// Records yielded so far from this source.
    records: u64,
    /// Paragraph being assembled: its first line and its start in the
    /// carried or current batch data.
    para: Option<(u64, usize)>,
}

enum Line {
    /// A whole line of this many bytes, newline included, appended.
    Read(usize),
    /// The last line, without a newline, appended (may be empty at EOF).
    Last(usize),
    /// Longer than the limit: skipped, of at least this size.
    TooLong(u64),
}

impl<'a> RecordReader<'a> {
    /// A reader over `sources` cut as `layout` says.
    pub fn new(sources: &'a [Source], layout: Layout) -> RecordReader<'a> {
        RecordReader {
            sources,
            layout,
            next_source: 0,
            cur: None,
            carry: Vec::new(),
            bytes_read: 0,
        }
    }

    /// Decompressed bytes read so far, for progress.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The next batch, or `None` when every source is read.
    pub fn next_batch(&mut self) -> Option<Batch> {
        let mut batch = Batch { data: std::mem::take(&mut self.carry), records: Vec::new() };
        // Room for a whole batch at once: growing from empty copied each
        // batch's bytes again at every doubling, into fresh pages.
        batch.data.reserve(self.layout.batch_bytes + (self.layout.batch_bytes >> 3));
        let carried_in = batch.data.len();
        // At least one step per call, so that a paragraph larger than a
        // batch still makes progress.
        let mut stepped = false;
        loop {
            if stepped
                && (batch.data.len() >= self.layout.batch_bytes
                    || batch.records.len() >= self.layout.batch_records)
                && self.at_record_boundary()
            {
                break;
            }
            stepped = true;
            if self.cur.is_none() {
                let Some(src) = self.sources.get(self.next_source) else { break };
                let idx = self.next_source as u32;
                self.next_source += 1;
                match src.open() {
                    Ok(reader) => {
                        self.cur = Some(Cursor {
                            source: idx,
                            unit: self.layout.unit_of(src),
                            reader,
                            line: 0,
                            records: 0,
                            para: None,
                        })
                    }
                    Err(e) => {
                        let message = e.to_string();
                        push_error(&mut batch, idx, 0, RecordError::Read { message });
                        continue;
                    }
                }
            }
            let done = self.step(&mut batch);
            if done {
                self.cur = None;
            }
        }
        self.bytes_read += (batch.data.len() - carried_in) as u64;
        self.carry_paragraph(&mut batch);
        if batch.records.is_empty() && self.cur.is_none() && self.next_source >= self.sources.len()
        {
            return None;
        }
        Some(batch)
    }

    /// Reads one record (or part of a paragraph) from the current source;
    /// returns true when the source is finished.
    fn step(&mut self, batch: &mut Batch) -> bool {
        let max = self.layout.max_record_bytes;
        let Some(cur) = self.cur.as_mut() else { return true };
        match cur.unit {
            Unit::File => {
                let start = batch.data.len();
                let res = read_all_limited(&mut cur.reader, &mut batch.data, max);
                let error = match res {
                    Ok(None) if batch.data.len() == start => Some(RecordError::Empty),
                    Ok(None) => None,
                    Ok(Some(size)) => {
                        batch.data.truncate(start);
                        Some(RecordError::TooLarge { size, limit: max })
                    }
                    Err(e) => {
                        batch.data.truncate(start);
                        Some(RecordError::Read { message: e.to_string() })
                    }
                };
                let rec = RawRecord {
                    source: cur.source,
                    line: 0,
                    start,
                    end: batch.data.len(),
                    tail: 0,
                    error,
                };
                batch.records.push(rec);
                true
            }
            Unit::Lines => {
                let start = batch.data.len();
                let line_no = cur.line + 1;
                match read_line_limited(&mut cur.reader, &mut batch.data, max) {
                    Err(e) => {
                        batch.data.truncate(start);
                        push_error(
                            batch,
                            cur.source,
                            line_no,
                            RecordError::Read { message: e.to_string() },
                        );
                        true
                    }
                    Ok(Line::TooLong(size)) => {
                        cur.line += 1;
                        cur.records += 1;
                        push_error(
                            batch,
                            cur.source,
                            line_no,
                            RecordError::TooLarge { size, limit: max },
                        );
                        false
                    }
                    Ok(Line::Read(n) | Line::Last(n)) if n == 0 => {
                        // End of input.
                        if cur.records == 0 {
                            push_error(batch, cur.source, 0, RecordError::Empty);
                        }
                        true
                    }
                    Ok(l @ (Line::Read(_) | Line::Last(_))) => {
                        cur.line += 1;
                        let (content_end, tail) = line_end(&batch.data, start);
                        // A byte-order mark opens many Windows-written and
                        // CSV-exported files; it is not part of the record.
                        let bom = line_no == 1 && batch.data[start..].starts_with(BOM);
                        let content_start = if bom { start + BOM.len() } else { start };
                        if batch.data[content_start..content_end]
                            .iter()
                            .all(u8::is_ascii_whitespace)
                        {
                            // Blank lines are not records.
                            batch.data.truncate(start);
                        } else {
                            cur.records += 1;
                            batch.records.push(RawRecord {
                                source: cur.source,
                                line: line_no,
                                start: content_start,
                                end: content_end,
                                tail,
                                error: None,
                            });
                        }
                        matches!(l, Line::Last(_))
                    }
                }
            }
            Unit::Paragraphs => self.step_paragraph(batch),
        }
    }

    fn step_paragraph(&mut self, batch: &mut Batch) -> bool {
        let max = self.layout.max_record_bytes;
        let Some(cur) = self.cur.as_mut() else { return true };
        let start = batch.data.len();
        let line_no = cur.line + 1;
        let res = read_line_limited(&mut cur.reader, &mut batch.data, max);
        let (n, last) = match res {
            Err(e) => {
                batch.data.truncate(start);
                finish_paragraph(cur, batch, start);
                push_error(
                    batch,
                    cur.source,
                    line_no,
                    RecordError::Read { message: e.to_string() },
                );
                return true;
            }
            Ok(Line::TooLong(size)) => {
                cur.line += 1;
                finish_paragraph(cur, batch, start);
                cur.records += 1;
                push_error(batch, cur.source, line_no, RecordError::TooLarge { size, limit: max });
                return false;
            }
            Ok(Line::Read(n)) => (n, false),
            Ok(Line::Last(n)) => (n, true),
        };
        if n == 0 {
            finish_paragraph(cur, batch, start);
            if cur.records == 0 {
                push_error(batch, cur.source, 0, RecordError::Empty);
            }
            return true;
        }
        cur.line += 1;
        if batch.data[start..].iter().all(u8::is_ascii_whitespace) {
            // A blank line ends the paragraph and joins its tail.
            if finish_paragraph(cur, batch, start) {
                if let Some(r) = batch.records.last_mut() {
                    r.tail = batch.data.len() - r.end;
                }
            } else {
                extend_tail(batch, cur.source, start);
            }
        } else {
            match cur.para {
                None => cur.para = Some((line_no, start)),
                Some((first, pstart)) if (batch.data.len() - pstart) as u64 > max => {
                    // Too large: reject it; its remaining lines start anew.
                    let size = (batch.data.len() - pstart) as u64;
                    batch.data.truncate(pstart);
                    cur.para = None;
                    cur.records += 1;
                    push_error(
                        batch,
                        cur.source,
                        first,
                        RecordError::TooLarge { size, limit: max },
                    );
                }
                Some(_) => {}
            }
            if last {
                finish_paragraph(cur, batch, batch.data.len());
            }
        }
        if last && cur.records == 0 {
            push_error(batch, cur.source, 0, RecordError::Empty);
        }
        last
    }

    /// Whether the last record is complete, tail included: in paragraph
    /// mode, blank lines keep joining the last paragraph's tail until the
    /// next paragraph starts.
    fn at_record_boundary(&self) -> bool {
        match &self.cur {
            Some(c) => c.unit != Unit::Paragraphs || c.para.is_some(),
            None => true,
        }
    }

    /// Before handing over a batch, moves a paragraph still being assembled
    /// to the next one.
    fn carry_paragraph(&mut self, batch: &mut Batch) {
        if let Some(cur) = self.cur.as_mut() {
            if let Some((first, pstart)) = cur.para {
                self.carry = batch.data.split_off(pstart);
                cur.para = Some((first, 0));
            }
        }
    }
}

/// Ends the paragraph being assembled, if any, at `upto` (the end of its
/// last line, line end included); returns whether there was one.
fn finish_paragraph(cur: &mut Cursor, batch: &mut Batch, upto: usize) -> bool {
    let Some((first, pstart)) = cur.para.take() else { return false };
    let (end, tail) = trim_line_end(&batch.data, pstart, upto);
    cur.records += 1;
    batch.records.push(RawRecord {
        source: cur.source,
        line: first,
        start: pstart,
        end,
        tail,
        error: None,
    });
    true
}

impl Iterator for RecordReader<'_> {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        self.next_batch()
    }
}

fn push_error(batch: &mut Batch, source: u32, line: u64, error: RecordError) {
    let at = batch.data.len();
    batch.records.push(RawRecord { source, line, start: at, end: at, tail: 0, error: Some(error) });
}

/// Gives the bytes from `from` to the end of `data` to the last record's
/// tail, if that record is the source's and ends right there.
fn extend_tail(batch: &mut Batch, source: u32, from: usize) {
    match batch.records.last_mut() {
        Some(r) if r.source == source && r.error.is_none() && r.end + r.tail == from => {
            r.tail = batch.data.len() - r.end;
        }
        _ => batch.data.truncate(from),
    }
}

/// Content end and line-end length of the line that starts at `start` and
/// runs to the end of `data`.
fn line_end(data: &[u8], start: usize) -> (usize, usize) {
    let (end, _) = trim_line_end(data, start, data.len());
    (end, data.len() - end)
}

/// `start..end` without a trailing `\n` or `\r\n`.
fn trim_line_end(data: &[u8], start: usize, end: usize) -> (usize, usize) {
    let mut e = end;
    if e > start && data[e - 1] == b'\n' {
        e -= 1;
        if e > start && data[e - 1] == b'\r' {
            e -= 1;
        }
    }
    (e, end - e)
}

/// Appends one line (newline included) to `out`, or skips it if it is
/// longer than `max`.
fn read_line_limited(r: &mut dyn BufRead, out: &mut Vec<u8>, max: u64) -> io::Result<Line> {
    let start = out.len();
    let mut skipped: Option<u64> = None;
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(match skipped {
                Some(n) => Line::TooLong(n),
                None => Line::Last(out.len() - start),
            });
        }
        let (take, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        match &mut skipped {
            Some(n) => *n += take as u64,
            None if (out.len() - start + take) as u64 > max + 2 => {
                skipped = Some((out.len() - start + take) as u64);
                out.truncate(start);
            }
            None => out.extend_from_slice(&buf[..take]),
        }
        r.consume(take);
        if done {
            return Ok(match skipped {
                Some(n) => Line::TooLong(n),
                None => Line::Read(out.len() - start),
            });
        }
    }
}

/// Appends everything to `out`; if it exceeds `max`, stops buffering and
/// returns `Some(size)` after reading to the end.
fn read_all_limited(r: &mut dyn BufRead, out: &mut Vec<u8>, max: u64) -> io::Result<Option<u64>> {
    let start = out.len();
    let mut skipped: Option<u64> = None;
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(skipped);
        }
        let n = buf.len();
        match &mut skipped {
            Some(s) => *s += n as u64,
            None if (out.len() - start + n) as u64 > max => {
                skipped = Some((out.len() - start + n) as u64);
                out.truncate(start);
            }
            None => out.extend_from_slice(buf),
        }
        r.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Discover;
    use std::io::Write;
    use std::path::PathBuf;

    fn sources(files: &[(&str, &[u8])]) -> (tempfile::TempDir, Vec<Source>) {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for (name, bytes) in files {
            let p = dir.path().join(name);
            fs_err::write(&p, bytes).unwrap();
            paths.push(p);
        }
        let srcs = Discover::default().sources(&paths).unwrap();
        (dir, srcs)
    }

    /// (line, content, tail, error) of every record, over all batches.
    fn read(srcs: &[Source], layout: Layout) -> Vec<(u64, String, String, Option<String>)> {
        let mut out = Vec::new();
        for b in RecordReader::new(srcs, layout) {
            for r in &b.records {
                out.push((
                    r.line,
                    String::from_utf8_lossy(r.content(&b.data)).into_owned(),
                    String::from_utf8_lossy(&b.data[r.end..r.end + r.tail]).into_owned(),
                    r.error.as_ref().map(|e| e.to_string()),
                ));
            }
        }
        out
    }

    fn rec(line: u64, content: &str, tail: &str) -> (u64, String, String, Option<String>) {
        (line, content.into(), tail.into(), None)
    }

    #[test]
    fn jsonl_lines_skip_blanks_and_keep_line_numbers() {
        let (_d, s) = sources(&[("a.jsonl", b"{\"a\":1}\n\n  \n{\"b\":2}\r\n{\"c\":3}")]);
        assert_eq!(
            read(&s, Layout::default()),
            [rec(1, "{\"a\":1}", "\n"), rec(4, "{\"b\":2}", "\r\n"), rec(5, "{\"c\":3}", "")]
        );
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_record() {
        let (_d, srcs) =
            sources(&[("a.jsonl", b"\xEF\xBB\xBF{\"text\":\"x\"}\n{\"text\":\"y\"}\n")]);
        let got = read(&srcs, Layout::default());
        assert_eq!(got, [rec(1, "{\"text\":\"x\"}", "\n"), rec(2, "{\"text\":\"y\"}", "\n")]);
        // A line that is only a BOM is blank.
        let (_d, srcs) = sources(&[("b.jsonl", b"\xEF\xBB\xBF\n{\"text\":\"y\"}\n")]);
        assert_eq!(read(&srcs, Layout::default()), [rec(2, "{\"text\":\"y\"}", "\n")]);
    }

    #[test]
    fn paragraphs_carry_their_blank_lines() {
        let text = b"\nfirst para\nline two\n\n\nsecond\n\nthird\n";
        let (_d, s) = sources(&[("a.txt", text)]);
        let layout = Layout { unit: Unit::Paragraphs, ..Layout::default() };
        let got = read(&s, layout);
        assert_eq!(
            got,
            [
                rec(2, "first para\nline two", "\n\n\n"),
                rec(6, "second", "\n\n"),
                rec(8, "third", "\n")
            ]
        );
        // Tiny batches (forcing carries) give the same records.
        let tiny = Layout { batch_bytes: 1, batch_records: 1, ..layout };
        assert_eq!(read(&s, tiny), got);
    }

    #[test]
    fn oversized_records_are_rejected_without_stopping() {
        let mut big = b"{\"text\":\"".to_vec();
        big.extend(std::iter::repeat_n(b'x', 5000));
        big.extend_from_slice(b"\"}\n{\"text\":\"ok\"}\n");
        let (_d, s) = sources(&[("a.jsonl", &big)]);
        let got = read(&s, Layout { max_record_bytes: 1000, ..Layout::default() });
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].3.as_deref(),
            Some("record is 5012 bytes, over the limit of 1000 bytes (`--max-record-bytes`)")
        );
        assert_eq!(got[1], rec(2, "{\"text\":\"ok\"}", "\n"));
    }

    #[test]
    fn empty_and_truncated_files_become_errors() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for i in 0..2000 {
            writeln!(gz, "{{\"text\":\"record number {i}\"}}").unwrap();
        }
        let gz = gz.finish().unwrap();
        let truncated = &gz[..gz.len() / 2];
        let (_d, s) =
            sources(&[("empty.txt", b""), ("blank.jsonl", b"\n\n"), ("t.jsonl.gz", truncated)]);
        let got = read(&s, Layout::default());
        assert_eq!(got[0], (0, String::new(), String::new(), Some("file is empty".into())));
        assert_eq!(got[1], (0, String::new(), String::new(), Some("file is empty".into())));
        let last = got.last().unwrap();
        assert!(
            last.3.as_deref().unwrap().starts_with("could not read the rest of the file"),
            "{last:?}"
        );
        assert!(got.len() > 3, "records before the truncation are kept");
    }

    #[test]
    fn whole_files_and_many_sources() {
        let (_d, s) = sources(&[("a.txt", b"one\n"), ("b.txt", b"two")]);
        let got = read(&s, Layout::default());
        assert_eq!(got, [rec(0, "one\n", ""), rec(0, "two", "")]);
        let _ = PathBuf::new();
    }
}
