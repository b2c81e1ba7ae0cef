//! Outputs, written atomically.
//!
//! Every regular file neardup writes goes to a temporary file beside its
//! destination and is renamed into place only when the whole run has
//! succeeded ([`Outputs::commit`]). If the run fails, or the process is
//! stopped, dropping the [`Outputs`] deletes the temporary files: no partial
//! output is ever left where a user would take it for a result.
//!
//! Two kinds of destination are not renamed over:
//! - an existing file that is not a regular file — a character device
//!   (`/dev/null`), a FIFO, a socket, or a symlink to one — is written
//!   through, as a shell redirection would: renaming would replace the node
//!   itself (as root, `-o /dev/null` would leave a regular file there);
//! - a symlink to a regular file is followed: the temp file goes beside
//!   its target and is renamed onto the target, so the link stays.
//!
//! A process killed with SIGKILL cannot delete its temp files. Each one is
//! named `.NAME.XXXXXX.neardup-tmp` and holds an advisory lock while its
//! writer lives; the next run writing `NAME` removes the ones nobody holds
//! and reports them ([`Outputs::stale_removed`], [`AtomicFile::stale_removed`]).

use std::collections::HashMap;
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

/// A file being written: the encoder, and the temp file it goes to (none
/// when written through a device, FIFO or socket).
struct Pending {
    dest: PathBuf,
    writer: Box<dyn FinishWrite>,
    temp: Option<Temp>,
}

/// A temp file and the handle holding its lock until it is renamed.
struct Temp {
    path: TempPath,
    /// Where it goes: the destination, or the target of a symlink to a
    /// regular file.
    rename_to: PathBuf,
    _lock: Option<std::fs::File>,
}

impl Pending {
    /// Flushes the encoder and renames the temp file into place.
    fn commit(self) -> Result<()> {
        let Pending { dest, writer, temp } = self;
        writer.finish().map_err(|e| with_path(e, &dest))?;
        if let Some(t) = temp {
            t.path.persist(&t.rename_to).map_err(|e| with_path(e.error, &dest))?;
        }
        Ok(())
    }
}

/// The set of outputs of one run.
pub struct Outputs {
    target: Target,
    stdout: Option<BufWriter<io::Stdout>>,
    open: Option<Pending>,
    /// The source the open file belongs to (directory targets).
    open_source: Option<u32>,
    done: Vec<Pending>,
    bytes: u64,
    sweep: Sweep,
}

impl Outputs {
    /// Prepares outputs for `target`, refusing to overwrite an input
    /// ([`Clash`](crate::Clash)).
    pub fn new(target: Target, sources: &[Source]) -> Result<Outputs> {
        crate::Clash::new().target("-o", &target, sources).inputs(sources).check()?;
        Ok(Outputs {
            target,
            stdout: None,
            open: None,
            open_source: None,
            done: Vec::new(),
            bytes: 0,
            sweep: Sweep::default(),
        })
    }

    /// Where the records go.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Temp files left by killed runs that were removed so far.
    pub fn stale_removed(&self) -> &[PathBuf] {
        &self.sweep.removed
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
                    self.open = Some(create(&p, Compression::from_extension(&p), &mut self.sweep)?);
                }
                self.write_open(bytes)
            }
            Target::Dir(d) => {
                if self.open_source != Some(index) {
                    let dest = d.join(&source.rel);
                    self.finish_open()?;
                    self.open = Some(create(&dest, source.compression, &mut self.sweep)?);
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
        if let Some(mut p) = self.open.take() {
            // Finished now (compressors write their trailer), renamed at
            // commit.
            let writer = std::mem::replace(&mut p.writer, Box::new(Finished));
            writer.finish().map_err(|e| with_path(e, &p.dest))?;
            self.done.push(p);
        }
        Ok(())
    }

    /// Finishes every file and renames each into place. A single-file
    /// target with nothing kept still gets its (empty) file.
    pub fn commit(mut self) -> Result<()> {
        if let Target::File(p) = &self.target {
            if self.open.is_none() && self.done.is_empty() {
                let p = p.clone();
                self.open = Some(create(&p, Compression::from_extension(&p), &mut self.sweep)?);
            }
        }
        self.finish_open()?;
        if let Some(out) = self.stdout.as_mut() {
            out.flush()?;
        }
        for p in self.done.drain(..) {
            p.commit()?;
        }
        Ok(())
    }
}

/// Writes `bytes` to `dest` atomically: a temp file beside it, then a
/// rename (or straight through a device, FIFO or socket).
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<()> {
    let mut p = create(dest, Compression::None, &mut Sweep::default())?;
    p.writer.write_all(bytes).map_err(|e| with_path(e, dest))?;
    p.commit()
}

/// A file written through a temp file, renamed into place by
/// [`AtomicFile::commit`] and deleted if dropped before; compressed if its
/// name ends in `.gz` or `.zst`. An existing device, FIFO or socket is
/// written through instead (see the module docs), and `-` is standard
/// output, as for [`Target`].
pub struct AtomicFile {
    inner: Pending,
    sweep: Sweep,
}

impl AtomicFile {
    /// Starts writing `dest`.
    pub fn create(dest: &Path) -> Result<AtomicFile> {
        if dest.as_os_str() == "-" {
            let writer = Box::new(BufWriter::with_capacity(1 << 20, io::stdout()));
            let inner = Pending { dest: dest.to_path_buf(), writer, temp: None };
            return Ok(AtomicFile { inner, sweep: Sweep::default() });
        }
        let mut sweep = Sweep::default();
        let inner = create(dest, Compression::from_extension(dest), &mut sweep)?;
        Ok(AtomicFile { inner, sweep })
    }

    /// Temp files of `dest` left by killed runs, removed when it was
    /// created.
    pub fn stale_removed(&self) -> &[PathBuf] {
        &self.sweep.removed
    }

    /// Flushes and renames into place.
    pub fn commit(self) -> Result<()> {
        self.inner.commit()
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

/// The suffix of every temp file neardup writes.
const TEMP_SUFFIX: &str = ".neardup-tmp";
/// The random part of a temp file's name: `.NAME.XXXXXX.neardup-tmp`.
const TEMP_RANDOM: usize = 6;

fn create(dest: &Path, compression: Compression, sweep: &mut Sweep) -> Result<Pending> {
    // `metadata` follows symlinks: what matters is what a write reaches.
    let rename_to = match fs::metadata(dest) {
        Ok(m) if m.is_dir() => {
            return Err(Error::Output {
                path: dest.to_path_buf(),
                message: "is a directory".to_string(),
            })
        }
        Ok(m) if !m.is_file() => return create_through(dest, compression),
        // A symlink to a regular file: replace the target, keep the link.
        Ok(_) => fs::canonicalize(dest).unwrap_or_else(|_| dest.to_path_buf()),
        Err(_) => dest.to_path_buf(),
    };
    let dir = match rename_to.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let name = rename_to.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = format!(".{name}.");
    sweep.remove_stale(&dir, &prefix);
    let file = tempfile::Builder::new()
        .prefix(&prefix)
        .rand_bytes(TEMP_RANDOM)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(&dir)
        .map_err(|e| with_path(e, dest))?;
    let (file, path) = file.into_parts();
    // Held until the rename, so that another run can tell a live temp file
    // from one a killed run left. Where locks are not supported, there is
    // no lock, and no temp file is ever taken for stale.
    let lock = file.try_clone().ok().filter(|f| f.try_lock().is_ok());
    let temp = Temp { path, rename_to, _lock: lock };
    Ok(Pending {
        dest: dest.to_path_buf(),
        writer: encoder(file, compression, dest)?,
        temp: Some(temp),
    })
}

/// Opens an existing device, FIFO or socket for writing, as is.
fn create_through(dest: &Path, compression: Compression) -> Result<Pending> {
    let file = std::fs::OpenOptions::new().write(true).open(dest).map_err(|e| Error::Output {
        path: dest.to_path_buf(),
        message: format!("cannot be opened for writing ({e}); it is not a regular file"),
    })?;
    Ok(Pending { dest: dest.to_path_buf(), writer: encoder(file, compression, dest)?, temp: None })
}

fn encoder(
    file: std::fs::File,
    compression: Compression,
    dest: &Path,
) -> Result<Box<dyn FinishWrite>> {
    let buf = BufWriter::with_capacity(1 << 20, file);
    Ok(match compression {
        Compression::None => Box::new(buf),
        Compression::Gzip => {
            Box::new(flate2::write::GzEncoder::new(buf, flate2::Compression::default()))
        }
        Compression::Zstd => {
            Box::new(zstd::stream::write::Encoder::new(buf, 3).map_err(|e| with_path(e, dest))?)
        }
    })
}

/// Temp files left by killed runs: found by reading each directory once,
/// removed as the run writes the names they belong to.
///
/// Reading a directory for every output would make a mirror of n inputs
/// cost n² directory entries: a mirror of 20,000 small files took 100 s,
/// nearly all of it reading the output directory over and over.
#[derive(Default)]
struct Sweep {
    /// Per directory: the names of the temp files it held when first seen
    /// (so none of this run's own).
    found: HashMap<PathBuf, Vec<std::ffi::OsString>>,
    /// What was removed, for the run to report.
    removed: Vec<PathBuf>,
}

impl Sweep {
    /// Removes the temp files of `.NAME.` (`prefix`) in `dir` that no live
    /// writer holds (a killed run's).
    fn remove_stale(&mut self, dir: &Path, prefix: &str) {
        let names = self.found.entry(dir.to_path_buf()).or_insert_with(|| temp_files(dir));
        names.retain(|name| {
            let name_text = name.to_string_lossy();
            let Some(random) =
                name_text.strip_prefix(prefix).and_then(|r| r.strip_suffix(TEMP_SUFFIX))
            else {
                return true;
            };
            // `.a.jsonl.gz.XXXXXX.neardup-tmp` starts with `.a.jsonl.` too.
            if random.len() != TEMP_RANDOM || random.contains('.') {
                return true;
            }
            let path = dir.join(name);
            let Ok(f) = std::fs::OpenOptions::new().read(true).write(true).open(&path) else {
                return false;
            };
            // Locked: a live run's. Any other failure: cannot tell, leave it.
            if f.try_lock().is_ok() && fs::remove_file(&path).is_ok() {
                self.removed.push(path);
            }
            false
        });
    }
}

/// The names of the regular files in `dir` that end as temp files do.
fn temp_files(dir: &Path) -> Vec<std::ffi::OsString> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(TEMP_SUFFIX))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name())
        .collect()
}

fn with_path(e: io::Error, path: &Path) -> Error {
    Error::Io(io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// A writer that must be told it is done (compressors write a trailer).
trait FinishWrite: Write + Send {
    fn finish(self: Box<Self>) -> io::Result<()>;
}

/// Stands in for a writer already finished.
struct Finished;

impl Write for Finished {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::other("output already finished"))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl FinishWrite for Finished {
    fn finish(self: Box<Self>) -> io::Result<()> {
        Ok(())
    }
}

impl FinishWrite for BufWriter<std::fs::File> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        // Flushed, not fsynced: the rename makes the output atomic for
        // the run; durability across power loss is the filesystem's.
        (*self).into_inner().map_err(|e| e.into_error())?;
        Ok(())
    }
}

impl FinishWrite for BufWriter<io::Stdout> {
    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.flush()
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
            let mut p = create(&dest, c, &mut Sweep::default()).unwrap();
            p.writer.write_all(b"hello\n").unwrap();
            p.commit().unwrap();
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

    fn is_root() -> bool {
        std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
    }

    fn mkfifo(path: &Path) {
        let ok = std::process::Command::new("mkfifo").arg(path).status().unwrap().success();
        assert!(ok, "mkfifo {}", path.display());
    }

    /// Reads a FIFO to its end on another thread.
    fn drain(path: &Path) -> std::thread::JoinHandle<Vec<u8>> {
        let path = path.to_path_buf();
        std::thread::spawn(move || fs::read(&path).unwrap())
    }

    #[test]
    fn a_fifo_is_written_through_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        mkfifo(&fifo);
        let reader = drain(&fifo);
        let mut f = AtomicFile::create(&fifo).unwrap();
        f.write_all(b"through the pipe\n").unwrap();
        f.commit().unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe\n");
        assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo(), "still a FIFO");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temp file left");

        // A symlink to it (as `/dev/stdout` is): written through, the link stays.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        let reader = drain(&fifo);
        let target = Target::File(link.clone());
        let mut out = Outputs::new(target, &[]).unwrap();
        let src = Source::for_tests("in.jsonl");
        out.write(&src, 0, b"a\n").unwrap();
        out.commit().unwrap();
        assert_eq!(reader.join().unwrap(), b"a\n");
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
    }

    #[test]
    #[allow(clippy::print_stderr)]
    fn a_device_node_is_written_through_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        if !is_root() {
            // mknod needs root; the FIFO test covers the same path.
            eprintln!("skipped: not root, cannot mknod");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let null = dir.path().join("null");
        // Major 1, minor 3: the null device, made here, never the real one.
        let ok = std::process::Command::new("mknod")
            .arg(&null)
            .args(["c", "1", "3"])
            .status()
            .unwrap()
            .success();
        assert!(ok, "mknod");
        for compressed in [false, true] {
            let mut f = AtomicFile::create(&null).unwrap();
            f.write_all(&b"x".repeat(if compressed { 10 } else { 1 << 21 })).unwrap();
            f.commit().unwrap();
            let meta = fs::metadata(&null).unwrap();
            assert!(meta.file_type().is_char_device(), "still a device after commit");
        }
        let mut out = Outputs::new(Target::File(null.clone()), &[]).unwrap();
        out.write(&Source::for_tests("in.jsonl"), 0, b"kept\n").unwrap();
        out.commit().unwrap();
        assert!(fs::metadata(&null).unwrap().file_type().is_char_device());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temp file left");
    }

    #[test]
    fn a_symlink_to_a_file_keeps_the_link_and_replaces_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.jsonl");
        fs::write(&target, b"old").unwrap();
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut f = AtomicFile::create(&link).unwrap();
        f.write_all(b"new").unwrap();
        f.commit().unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(&target).unwrap(), b"new");
    }

    #[test]
    fn stale_temp_files_are_removed_live_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("ledger.jsonl");
        // What a SIGKILLed run leaves: a temp file nobody holds.
        let stale = dir.path().join(".ledger.jsonl.Ab12Cd.neardup-tmp");
        fs::write(&stale, b"").unwrap();
        // Another name's temp file is not ours to judge.
        let other = dir.path().join(".other.jsonl.Zz99Yy.neardup-tmp");
        fs::write(&other, b"").unwrap();
        let live = AtomicFile::create(&dest).unwrap();
        assert_eq!(live.stale_removed(), std::slice::from_ref(&stale));
        assert!(!stale.exists());
        assert!(other.exists());
        // A second writer of the same name while the first is alive: the
        // first's temp file is locked, so it stays.
        let second = AtomicFile::create(&dest).unwrap();
        assert!(second.stale_removed().is_empty());
        drop(second);
        live.commit().unwrap();
        let names: Vec<_> =
            fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn a_mirror_removes_the_stale_temp_files_of_the_names_it_writes() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        let stale = |name: &str| {
            let p = out.join(name);
            fs::write(&p, b"").unwrap();
            p
        };
        let a = stale(".a.jsonl.Ab12Cd.neardup-tmp");
        let b = stale(".b.jsonl.Xy34Zw.neardup-tmp");
        // `a.jsonl.gz`'s, though it starts with `.a.jsonl.`: not written.
        let a_gz = stale(".a.jsonl.gz.Qq56Rr.neardup-tmp");
        let sources = vec![Source::for_tests("a.jsonl"), Source::for_tests("b.jsonl")];
        let mut o = Outputs::new(Target::Dir(out.clone()), &sources).unwrap();
        o.write(&sources[0], 0, b"{}\n").unwrap();
        o.write(&sources[1], 1, b"{}\n").unwrap();
        assert_eq!(o.stale_removed(), [a.clone(), b.clone()]);
        o.commit().unwrap();
        assert!(!a.exists() && !b.exists());
        assert!(a_gz.exists());
        assert_eq!(fs::read(out.join("b.jsonl")).unwrap(), b"{}\n");
    }

    #[test]
    fn ledgers_are_compressed_by_name() {
        let dir = tempfile::tempdir().unwrap();
        for (name, c) in [("l.jsonl.gz", Compression::Gzip), ("l.jsonl.zst", Compression::Zstd)] {
            let dest = dir.path().join(name);
            let mut f = AtomicFile::create(&dest).unwrap();
            f.write_all(b"{}\n").unwrap();
            f.commit().unwrap();
            assert_eq!(Compression::sniff(&fs::read(&dest).unwrap()), c);
        }
    }
}
