//! Outputs, written atomically.
//!
//! Every file neardup writes goes to a temporary file beside its
//! destination and is renamed into place only when the whole run has
//! succeeded ([`Outputs::commit`]). If the run fails, or the process is
//! stopped, dropping the [`Outputs`] deletes the temporary files: no partial
//! output is ever left where a user would take it for a result.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use fs_err as fs;
use tempfile::TempPath;

use crate::error::{Error, Result};
use crate::source::{Compression, Source};

/// Where kept records go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Nowhere (only the ledger and the summary are wanted).
    Discard,
    /// Standard output.
    Stdout,
    /// One file; compressed if its name ends in `.gz` or `.zst`.
    File(PathBuf),
    /// A directory mirroring the inputs: each source goes to its relative
    /// path under it, compressed as it was.
    Dir(PathBuf),
}

impl Target {
    /// Picks the target for `-o PATH`: `-` is stdout; an existing directory,
    /// a path ending in `/`, or any path when there is more than one input
    /// file (or a directory input) is a directory; otherwise a file.
    pub fn from_arg(path: &Path, mirror: bool) -> Target {
        if path.as_os_str() == "-" {
            Target::Stdout
        } else if mirror || path.is_dir() || path.as_os_str().to_string_lossy().ends_with('/') {
            Target::Dir(path.to_path_buf())
        } else {
            Target::File(path.to_path_buf())
        }
    }
}

/// A file being written: temp path plus encoder.
struct Pending {
    dest: PathBuf,
    writer: Box<dyn FinishWrite>,
    temp: TempPath,
}

/// The set of outputs of one run.
pub struct Outputs {
    target: Target,
    stdout: Option<BufWriter<io::Stdout>>,
    open: Option<Pending>,
    /// The source the open file belongs to (directory targets).
    open_source: Option<u32>,
    done: Vec<(TempPath, PathBuf)>,
    bytes: u64,
}

impl Outputs {
    /// Prepares outputs for `target`, refusing to overwrite an input.
    pub fn new(target: Target, sources: &[Source]) -> Result<Outputs> {
        for s in sources {
            let clash = match &target {
                Target::File(p) => same_file(p, &s.path),
                Target::Dir(d) => same_file(&d.join(&s.rel), &s.path),
                _ => false,
            };
            if clash {
                return Err(Error::Output {
                    path: s.path.clone(),
                    message: "would overwrite an input; choose another `-o`".to_string(),
                });
            }
        }
        Ok(Outputs {
            target,
            stdout: None,
            open: None,
            open_source: None,
            done: Vec::new(),
            bytes: 0,
        })
    }

    /// Bytes written so far (before compression).
    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }

    /// Writes bytes belonging to `source`.
    pub fn write(&mut self, source: &Source, index: u32, bytes: &[u8]) -> Result<()> {
        self.bytes += bytes.len() as u64;
        match &self.target {
            Target::Discard => Ok(()),
            Target::Stdout => {
                let out = self
                    .stdout
                    .get_or_insert_with(|| BufWriter::with_capacity(1 << 20, io::stdout()));
                out.write_all(bytes).map_err(Error::Io)
            }
            Target::File(p) => {
                if self.open.is_none() {
                    let p = p.clone();
                    self.open = Some(create(&p, Compression::from_extension(&p))?);
                }
                self.write_open(bytes)
            }
            Target::Dir(d) => {
                if self.open_source != Some(index) {
                    let dest = d.join(&source.rel);
                    self.finish_open()?;
                    self.open = Some(create(&dest, source.compression)?);
                    self.open_source = Some(index);
                }
                self.write_open(bytes)
            }
        }
    }

    fn write_open(&mut self, bytes: &[u8]) -> Result<()> {
        let Some(p) = self.open.as_mut() else { return Ok(()) };
        p.writer.write_all(bytes).map_err(|e| with_path(e, &p.dest))
    }

    fn finish_open(&mut self) -> Result<()> {
        if let Some(p) = self.open.take() {
            p.writer.finish().map_err(|e| with_path(e, &p.dest))?;
            self.done.push((p.temp, p.dest));
        }
        Ok(())
    }

    /// Finishes every file and renames each into place. A single-file
    /// target with nothing kept still gets its (empty) file.
    pub fn commit(mut self) -> Result<()> {
        if let Target::File(p) = &self.target {
            if self.open.is_none() && self.done.is_empty() {
                let p = p.clone();
                self.open = Some(create(&p, Compression::from_extension(&p))?);
            }
        }
        self.finish_open()?;
        if let Some(out) = self.stdout.as_mut() {
            out.flush()?;
        }
        for (temp, dest) in self.done.drain(..) {
            temp.persist(&dest).map_err(|e| with_path(e.error, &dest))?;
        }
        Ok(())
    }
}

/// Writes `bytes` to `dest` atomically: a temp file beside it, then a
/// rename.
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<()> {
    let mut p = create(dest, Compression::None)?;
    p.writer.write_all(bytes).map_err(|e| with_path(e, dest))?;
    p.writer.finish().map_err(|e| with_path(e, dest))?;
    p.temp.persist(dest).map_err(|e| with_path(e.error, dest))?;
    Ok(())
}

/// A file written through a temp file, renamed into place by
/// [`AtomicFile::commit`] and deleted if dropped before.
pub struct AtomicFile {
    inner: Pending,
}

impl AtomicFile {
    /// Starts writing `dest`.
    pub fn create(dest: &Path) -> Result<AtomicFile> {
        Ok(AtomicFile { inner: create(dest, Compression::None)? })
    }

    /// Flushes and renames into place.
    pub fn commit(self) -> Result<()> {
        let Pending { dest, writer, temp } = self.inner;
        writer.finish().map_err(|e| with_path(e, &dest))?;
        temp.persist(&dest).map_err(|e| with_path(e.error, &dest))?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.writer.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.writer.flush()
    }
}

fn create(dest: &Path, compression: Compression) -> Result<Pending> {
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let file = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".neardup-tmp")
        .tempfile_in(&dir)
        .map_err(|e| with_path(e, dest))?;
    let (file, temp) = file.into_parts();
    let buf = BufWriter::with_capacity(1 << 20, file);
    let writer: Box<dyn FinishWrite> = match compression {
        Compression::None => Box::new(buf),
        Compression::Gzip => {
            Box::new(flate2::write::GzEncoder::new(buf, flate2::Compression::default()))
        }
        Compression::Zstd => {
            Box::new(zstd::stream::write::Encoder::new(buf, 3).map_err(|e| with_path(e, dest))?)
        }
    };
    Ok(Pending { dest: dest.to_path_buf(), writer, temp })
}

fn with_path(e: io::Error, path: &Path) -> Error {
    Error::Io(io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A writer that must be told it is done (compressors write a trailer).
trait FinishWrite: Write + Send {
    fn finish(self: Box<Self>) -> io::Result<()>;
}

impl FinishWrite for BufWriter<std::fs::File> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        // Flushed, not fsynced: the rename makes the output atomic for
        // the run; durability across power loss is the filesystem's.
        (*self).into_inner().map_err(|e| e.into_error())?;
        Ok(())
    }
}

impl FinishWrite for flate2::write::GzEncoder<BufWriter<std::fs::File>> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        let buf = (*self).finish()?;
        Box::new(buf).finish()
    }
}

impl FinishWrite for zstd::stream::write::Encoder<'static, BufWriter<std::fs::File>> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        let buf = (*self).finish()?;
        Box::new(buf).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_left_behind_without_commit() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.jsonl");
        {
            let mut f = AtomicFile::create(&dest).unwrap();
            f.write_all(b"partial").unwrap();
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        let mut f = AtomicFile::create(&dest).unwrap();
        f.write_all(b"whole").unwrap();
        f.commit().unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"whole");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn compressed_outputs_round_trip() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        for (name, c) in [("a.gz", Compression::Gzip), ("a.zst", Compression::Zstd)] {
            let dest = dir.path().join(name);
            let mut p = create(&dest, c).unwrap();
            p.writer.write_all(b"hello\n").unwrap();
            p.writer.finish().unwrap();
            p.temp.persist(&dest).unwrap();
            let bytes = fs::read(&dest).unwrap();
            assert_eq!(Compression::sniff(&bytes), c);
            let mut s = String::new();
            match c {
                Compression::Gzip => {
                    flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut s)
                }
                _ => zstd::stream::read::Decoder::new(&bytes[..]).unwrap().read_to_string(&mut s),
            }
            .unwrap();
            assert_eq!(s, "hello\n");
        }
    }
}
