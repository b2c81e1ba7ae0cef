//! Inputs: which files, in which order, in which format.
//!
//! Directories are walked recursively in sorted order, so the record order
//! (and with it every keep decision) is the same on every machine.
//! Compression is detected from the first bytes (gzip `1f 8b`, zstd
//! `28 b5 2f fd`), not from the name, because crawlers name files badly.
//! Standard input is copied to a temporary file first: deduplication reads
//! its input twice (once to decide, once to write), and a pipe can be read
//! only once.

use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use fs_err as fs;

use crate::error::{Error, Result};

/// How records are laid out in an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// One JSON object per line (JSONL, NDJSON).
    Jsonl,
    /// Plain text; see [`Unit`] for what a record is.
    Text,
}

/// What one record is in a plain-text input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Unit {
    /// The whole file.
    #[default]
    File,
    /// Each non-blank line.
    Lines,
    /// Each block of lines separated by blank lines.
    Paragraphs,
}

/// Stream compression, detected by magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compression {
    /// None.
    None,
    /// gzip (possibly several members).
    Gzip,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// Detects compression from a file's first bytes.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// A buffered reader of `file`'s decompressed bytes.
    pub fn reader(self, file: fs::File) -> io::Result<Box<dyn BufRead + Send>> {
        const BUF: usize = 256 << 10;
        Ok(match self {
            Compression::None => Box::new(BufReader::with_capacity(BUF, file)),
            Compression::Gzip => Box::new(BufReader::with_capacity(
                BUF,
                flate2::read::MultiGzDecoder::new(BufReader::new(file)),
            )),
            Compression::Zstd => {
                Box::new(BufReader::with_capacity(BUF, zstd::stream::read::Decoder::new(file)?))
            }
        })
    }

    /// From an output file's extension.
    pub fn from_extension(path: &Path) -> Compression {
        match path.extension().and_then(|e| e.to_str()) {
            Some("gz" | "gzip") => Compression::Gzip,
            Some("zst" | "zstd") => Compression::Zstd,
            _ => Compression::None,
        }
    }
}

/// One input file (or standard input, spooled).
#[derive(Debug)]
pub struct Source {
    /// Where to read it (for stdin, the spool file).
    pub path: PathBuf,
    /// How to name it in messages, ids and the ledger: the path as given,
    /// or `<stdin>`.
    pub name: String,
    /// Its path relative to the input it was found under (its file name for
    /// a file given directly): where it goes under an output directory.
    pub rel: PathBuf,
    /// Record layout.
    pub format: Format,
    /// Compression.
    pub compression: Compression,
    /// Its size on disk, compressed.
    pub size: u64,
    /// Keeps the stdin spool alive (deleted on drop).
    _spool: Option<tempfile::TempPath>,
}

impl Source {
    /// A plain JSONL source named `name`, for tests that only write.
    #[cfg(test)]
    pub(crate) fn for_tests(name: &str) -> Source {
        Source {
            path: PathBuf::from(name),
            name: name.to_string(),
            rel: PathBuf::from(name),
            format: Format::Jsonl,
            compression: Compression::None,
            size: 0,
            _spool: None,
        }
    }

    /// Opens the source for reading, decompressing as needed.
    pub fn open(&self) -> Result<Box<dyn BufRead + Send>> {
        Ok(self.compression.reader(fs::File::open(&self.path)?)?)
    }
}

/// How to find and read the inputs.
#[derive(Clone, Debug, Default)]
pub struct Discover {
    /// Force a format; otherwise `.jsonl`, `.ndjson` and `.json` (before any
    /// `.gz`/`.zst`) are JSONL and everything else is text; stdin is JSONL
    /// if its first non-blank byte is `{`.
    pub format: Option<Format>,
    /// Directory for the stdin spool (the system's temp dir if `None`).
    pub tmp_dir: Option<PathBuf>,
}

impl Discover {
    /// Expands `inputs` (files, directories, `-`) into sources, in order.
    pub fn sources(&self, inputs: &[PathBuf]) -> Result<Vec<Source>> {
        let mut out = Vec::new();
        for input in inputs {
            if input.as_os_str() == "-" {
                out.push(self.stdin()?);
                continue;
            }
            let meta = match fs::metadata(input) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(Error::NotFound { path: input.clone() })
                }
                Err(e) => return Err(e.into()),
            };
            if meta.is_dir() {
                let walk = walkdir::WalkDir::new(input).follow_links(true).sort_by_file_name();
                for entry in walk {
                    let entry = entry.map_err(|e| {
                        let path = e.path().unwrap_or(input).to_path_buf();
                        io::Error::other(format!("{}: {e}", path.display()))
                    })?;
                    if !entry.file_type().is_file() {
                        continue;
                    }
                    let path = entry.path().to_path_buf();
                    let rel = path.strip_prefix(input).unwrap_or(&path).to_path_buf();
                    out.push(self.file(path, rel)?);
                }
            } else {
                let rel = input.file_name().map(PathBuf::from).unwrap_or_else(|| input.clone());
                out.push(self.file(input.clone(), rel)?);
            }
        }
        Ok(out)
    }

    fn file(&self, path: PathBuf, rel: PathBuf) -> Result<Source> {
        let mut head = [0u8; 4];
        let mut f = fs::File::open(&path)?;
        let size = f.metadata()?.len();
        let n = read_up_to(&mut f, &mut head)?;
        let compression = Compression::sniff(&head[..n]);
        let format = self.format.unwrap_or_else(|| format_from_name(&path));
        Ok(Source {
            name: path.display().to_string(),
            path,
            rel,
            format,
            compression,
            size,
            _spool: None,
        })
    }

    fn stdin(&self) -> Result<Source> {
        let dir = self.tmp_dir.clone().unwrap_or_else(std::env::temp_dir);
        let mut spool = tempfile::Builder::new().prefix(".neardup-stdin-").tempfile_in(&dir)?;
        let size = io::copy(&mut io::stdin().lock(), spool.as_file_mut())?;
        let path = spool.into_temp_path();
        let mut src = Source {
            path: path.to_path_buf(),
            name: "<stdin>".to_string(),
            rel: PathBuf::from("stdin"),
            format: Format::Text,
            compression: Compression::None,
            size,
            _spool: None,
        };
        let mut head = [0u8; 4];
        let n = read_up_to(&mut fs::File::open(&src.path)?, &mut head)?;
        src.compression = Compression::sniff(&head[..n]);
        src.format = match self.format {
            Some(f) => f,
            None => {
                let mut r = src.open()?;
                let buf = r.fill_buf()?;
                match buf.iter().find(|b| !b.is_ascii_whitespace()) {
                    Some(b'{') => Format::Jsonl,
                    _ => Format::Text,
                }
            }
        };
        src._spool = Some(path);
        Ok(src)
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// `.jsonl`, `.ndjson` and `.json`, under any compression extension, are
/// JSONL; anything else is text.
pub fn format_from_name(path: &Path) -> Format {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_ascii_lowercase();
    let stem = [".gz", ".gzip", ".zst", ".zstd"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(&name);
    if [".jsonl", ".ndjson", ".json"].iter().any(|ext| stem.ends_with(ext)) {
        Format::Jsonl
    } else {
        Format::Text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_decide_the_format() {
        assert_eq!(format_from_name(Path::new("a/b.jsonl")), Format::Jsonl);
        assert_eq!(format_from_name(Path::new("b.NDJSON.zst")), Format::Jsonl);
        assert_eq!(format_from_name(Path::new("b.json.gz")), Format::Jsonl);
        assert_eq!(format_from_name(Path::new("b.txt.gz")), Format::Text);
        assert_eq!(format_from_name(Path::new("README")), Format::Text);
    }

    #[test]
    fn magic_bytes_decide_the_compression() {
        assert_eq!(Compression::sniff(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd]), Compression::Zstd);
        assert_eq!(Compression::sniff(b"{\"a"), Compression::None);
        assert_eq!(Compression::sniff(b""), Compression::None);
    }

    #[test]
    fn directories_are_walked_in_sorted_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.txt", "a/z.jsonl", "a/c.txt", "0.txt"] {
            let p = dir.path().join(name);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, "x").unwrap();
        }
        let srcs = Discover::default().sources(&[dir.path().to_path_buf()]).unwrap();
        let rels: Vec<_> = srcs.iter().map(|s| s.rel.to_str().unwrap().to_string()).collect();
        assert_eq!(rels, ["0.txt", "a/c.txt", "a/z.jsonl", "b.txt"]);
        assert_eq!(srcs[2].format, Format::Jsonl);
    }

    #[test]
    fn a_missing_input_is_named() {
        let err = Discover::default().sources(&[PathBuf::from("/no/such/file")]).unwrap_err();
        assert_eq!(err.to_string(), "input `/no/such/file` does not exist");
    }
}
