//! Temporary files: anonymous, so nothing is ever left behind.
//!
//! Every temporary file is made with [`tempfile::tempfile_in`], which on Linux
//! opens it with `O_TMPFILE` (elsewhere it creates and unlinks it at once): the
//! file has no name, its space returns to the file system when the last handle
//! closes, and that holds on success, on error, on panic and even on `kill -9`.
//! The price is that errors cannot name the file, so they name `tmp_dir`.
//!
//! Files are read with positioned reads (`pread`), so several readers can
//! share one handle without a seek position to fight over.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where temporary files go.
#[derive(Clone, Debug)]
pub(crate) struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// Uses `dir`, creating it if needed.
    pub(crate) fn new(dir: &Path) -> Result<Scratch> {
        fs_err::create_dir_all(dir)?;
        Ok(Scratch { dir: dir.to_path_buf() })
    }

    /// A new, empty, anonymous file.
    pub(crate) fn file(&self) -> Result<TempFile> {
        let file = tempfile::tempfile_in(&self.dir).map_err(|e| self.err("create", e))?;
        Ok(TempFile { file, scratch: self.clone(), len: 0 })
    }

    /// Wraps an I/O error with the operation and the directory.
    pub(crate) fn err(&self, op: &'static str, source: io::Error) -> Error {
        Error::Temp { op, dir: self.dir.clone(), source }
    }

    /// An error for data that does not read back as written.
    pub(crate) fn corrupt(&self, what: impl Into<String>) -> Error {
        Error::Corrupt { dir: self.dir.clone(), what: what.into() }
    }
}

/// An anonymous temporary file, written once through [`TempWriter`], then
/// read any number of times.
#[derive(Debug)]
pub(crate) struct TempFile {
    file: File,
    scratch: Scratch,
    len: u64,
}

impl TempFile {
    /// A buffered writer appending to the (empty) file.
    pub(crate) fn writer(self, capacity: usize) -> TempWriter {
        TempWriter {
            out: BufWriter::with_capacity(capacity.max(64), self.file),
            scratch: self.scratch,
            len: 0,
        }
    }

    /// Length in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Fills `buf` from `offset`.
    pub(crate) fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        read_exact_at(&self.file, buf, offset).map_err(|e| self.scratch.err("read", e))
    }

    /// A buffered sequential reader over `[start, end)`.
    pub(crate) fn reader(&self, start: u64, end: u64, capacity: usize) -> TempReader<'_> {
        TempReader {
            inner: io::BufReader::with_capacity(
                capacity.max(64),
                AtReader { file: &self.file, pos: start, end },
            ),
            scratch: &self.scratch,
        }
    }

    /// The scratch space this file lives in, for error messages.
    pub(crate) fn scratch(&self) -> &Scratch {
        &self.scratch
    }
}

/// Buffered appends to a [`TempFile`]; [`TempWriter::finish`] gives it back.
#[derive(Debug)]
pub(crate) struct TempWriter {
    out: BufWriter<File>,
    scratch: Scratch,
    len: u64,
}

impl TempWriter {
    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(|e| self.scratch.err("write", e))?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    pub(crate) fn write_u64(&mut self, v: u64) -> Result<()> {
        self.write_all(&v.to_le_bytes())
    }

    /// Bytes written so far.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Flushes and returns the file for reading.
    pub(crate) fn finish(self) -> Result<TempFile> {
        let TempWriter { out, scratch, len } = self;
        let file = out.into_inner().map_err(|e| scratch.err("write", e.into_error()))?;
        Ok(TempFile { file, scratch, len })
    }
}

/// Buffered sequential reads from a [`TempFile`].
pub(crate) struct TempReader<'a> {
    inner: io::BufReader<AtReader<'a>>,
    scratch: &'a Scratch,
}

impl TempReader<'_> {
    /// Fills `buf`; an early end of file is corruption.
    pub(crate) fn read_exact(&mut self, buf: &mut [u8]) -> Result<()> {
        self.inner.read_exact(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                self.scratch.corrupt("a temporary file ended early")
            } else {
                self.scratch.err("read", e)
            }
        })
    }

    /// Skips `n` bytes.
    pub(crate) fn skip(&mut self, n: u64) -> Result<()> {
        let got = io::copy(&mut (&mut self.inner).take(n), &mut io::sink())
            .map_err(|e| self.scratch.err("read", e))?;
        if got == n {
            Ok(())
        } else {
            Err(self.scratch.corrupt("a temporary file ended early"))
        }
    }

    pub(crate) fn read_u64(&mut self) -> Result<u64> {
        let mut b = [0u8; 8];
        self.read_exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
}

/// `Read` over `[pos, end)` of a file by positioned reads.
struct AtReader<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for AtReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = read_at(self.file, &mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match read_at(file, buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_leaves_directory_empty() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = Scratch::new(dir.path()).unwrap();
        let mut w = scratch.file().unwrap().writer(16);
        w.write_all(b"hello, ").unwrap();
        w.write_u64(42).unwrap();
        let f = w.finish().unwrap();
        assert_eq!(f.len(), 15);
        assert_eq!(fs_err::read_dir(dir.path()).unwrap().count(), 0);

        let mut r = f.reader(0, f.len(), 4);
        let mut head = [0u8; 7];
        r.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"hello, ");
        assert_eq!(r.read_u64().unwrap(), 42);
        assert!(r.read_u64().is_err());

        let mut mid = [0u8; 3];
        f.read_exact_at(&mut mid, 2).unwrap();
        assert_eq!(&mid, b"llo");
        assert!(f.read_exact_at(&mut mid, 14).is_err());
    }
}
