//! Reading a ledger back: the header, then one entry per record.
//!
//! The ledger is read as a stream (twice: once for what to report, once
//! beside the inputs), never whole. Its compression is found from its first
//! bytes, as the inputs' is, so a ledger named `.gz` or `.zst` reads the
//! same.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use neardup_core::ledger::{Entry, Header, LEDGER_VERSION};
use neardup_io::Compression;

use crate::error::{Error, Result};

/// A ledger, read line by line.
pub(crate) struct LedgerReader {
    path: PathBuf,
    reader: Box<dyn BufRead + Send>,
    /// Lines read so far.
    line: u64,
    buf: String,
}

impl LedgerReader {
    /// Opens `path` and reads its header.
    pub(crate) fn open(path: &Path) -> Result<(LedgerReader, Header)> {
        let mut head = [0u8; 4];
        let n = {
            let mut f = fs_err::File::open(path)?;
            let mut n = 0;
            while n < head.len() {
                match f.read(&mut head[n..])? {
                    0 => break,
                    k => n += k,
                }
            }
            n
        };
        let file = fs_err::File::open(path)?;
        let reader = Compression::sniff(&head[..n]).reader(file)?;
        let mut r = LedgerReader { path: path.to_path_buf(), reader, line: 0, buf: String::new() };
        let Some(line) = r.next_line()? else {
            return Err(r.error("empty file: a ledger starts with a header line".to_string()));
        };
        let header: Header =
            serde_json::from_str(line).map_err(|e| r.error(format!("not a ledger header: {e}")))?;
        if header.neardup_ledger != LEDGER_VERSION {
            return Err(r.error(format!(
                "ledger format version {} (this neardup reads version {LEDGER_VERSION})",
                header.neardup_ledger
            )));
        }
        Ok((r, header))
    }

    /// The next entry, or `None` at the end.
    pub(crate) fn next_entry(&mut self) -> Result<Option<Entry>> {
        let Some(line) = self.next_line()? else { return Ok(None) };
        match serde_json::from_str(line) {
            Ok(e) => Ok(Some(e)),
            Err(e) => Err(self.error(format!("not a ledger entry: {e}"))),
        }
    }

    /// The ledger's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Entries read so far.
    pub(crate) fn entries(&self) -> u64 {
        self.line.saturating_sub(1)
    }

    fn next_line(&mut self) -> Result<Option<&str>> {
        loop {
            self.buf.clear();
            let n = self.reader.read_line(&mut self.buf).map_err(|e| {
                let line = self.line + 1;
                Error::Ledger { path: self.path.clone(), line, message: e.to_string() }
            })?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            if !self.buf.trim().is_empty() {
                return Ok(Some(self.buf.trim_end()));
            }
        }
    }

    fn error(&self, message: String) -> Error {
        Error::Ledger { path: self.path.clone(), line: self.line, message }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const HEADER: &str = r#"{"neardup_ledger":1,"version":"0.1.0","settings":{}}"#;
    const ENTRY: &str = r#"{"id":"a","source":"a.txt","line":0,"status":"kept","reason":null,"duplicate_of":null,"similarity":null,"spans":[],"first":[],"error":null,"repetition":null}"#;

    #[test]
    fn plain_and_compressed_ledgers_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{HEADER}\n{ENTRY}\n{ENTRY}\n");
        let plain = dir.path().join("l.jsonl");
        fs_err::write(&plain, &text).unwrap();
        let gz = dir.path().join("l.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(text.as_bytes()).unwrap();
        fs_err::write(&gz, enc.finish().unwrap()).unwrap();
        // Named like plain JSONL, but zstd inside: the bytes decide.
        let zst = dir.path().join("l.jsonl");
        let zst = zst.with_extension("zst.jsonl");
        fs_err::write(&zst, zstd::encode_all(text.as_bytes(), 1).unwrap()).unwrap();
        for p in [&plain, &gz, &zst] {
            let (mut r, h) = LedgerReader::open(p).unwrap();
            assert_eq!(h.neardup_ledger, 1);
            assert_eq!(r.next_entry().unwrap().unwrap().id, "a");
            assert!(r.next_entry().unwrap().is_some());
            assert!(r.next_entry().unwrap().is_none());
            assert_eq!(r.entries(), 2);
        }
    }

    #[test]
    fn bad_ledgers_say_where() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l.jsonl");
        let msg = |text: &str| {
            fs_err::write(&p, text).unwrap();
            match LedgerReader::open(&p) {
                Err(e) => e.to_string(),
                Ok((mut r, _)) => loop {
                    match r.next_entry() {
                        Err(e) => break e.to_string(),
                        Ok(None) => break "no error".to_string(),
                        Ok(Some(_)) => {}
                    }
                },
            }
        };
        let at = p.display().to_string();
        assert_eq!(msg(""), format!("{at}:0: empty file: a ledger starts with a header line"));
        assert!(msg(ENTRY).starts_with(&format!("{at}:1: not a ledger header")));
        assert!(msg(&HEADER.replace(":1,", ":9,")).contains("ledger format version 9"));
        assert!(msg(&format!("{HEADER}\n{ENTRY}\n{{\"id\":3}}\n"))
            .starts_with(&format!("{at}:3: not a ledger entry")));
    }
}
