//! Refusing, before a run starts, outputs that would replace what it reads
//! or one another.
//!
//! Every output is renamed into place when the run succeeds, so an output
//! path that names an input, or another output, silently loses that file:
//! `--ledger data.jsonl` would replace the corpus with its ledger, and
//! `-o out.jsonl --ledger out.jsonl` would keep only one of the two. A
//! [`Clash`] check lists what a run writes (by the flag that named it) and
//! what it reads, and refuses the run if:
//! - an output is a file the run reads (compared by device and inode, so a
//!   hard link, a symlink or `./a` names the same file as `a`);
//! - two outputs are the same regular file, or the same new path;
//! - two outputs both go to standard output (`-`), where they would mix.
//!
//! An existing device, FIFO or socket is written through, never replaced
//! ([`crate::output`]), so it clashes with nothing: `-o /dev/null --ledger
//! /dev/null` is allowed.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use fs_err as fs;

use crate::error::{Error, Result};
use crate::output::Target;
use crate::source::Source;

/// What a run writes and reads; [`Clash::check`] refuses it if writing
/// would replace a file twice or replace a file it reads.
#[derive(Debug, Default)]
pub struct Clash<'a> {
    /// (flag, path): `-` is standard output.
    writes: Vec<(&'a str, PathBuf)>,
    /// (what it is, e.g. "an input", path).
    reads: Vec<(&'a str, PathBuf)>,
}

/// What a path names, for comparing them.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Identity {
    /// Standard output (`-`).
    Stdout,
    /// An existing regular file (device, inode).
    File(u64, u64),
    /// A path with nothing there yet, made absolute.
    New(PathBuf),
    /// A device, FIFO or socket (written through), or standard input.
    Through,
}

impl<'a> Clash<'a> {
    /// An empty check.
    pub fn new() -> Clash<'a> {
        Clash::default()
    }

    /// `flag` writes `path` (`-`: standard output).
    pub fn write(&mut self, flag: &'a str, path: &Path) -> &mut Clash<'a> {
        self.writes.push((flag, path.to_path_buf()));
        self
    }

    /// `flag` writes `target`: one file, standard output, or the mirror of
    /// `sources` under a directory.
    pub fn target(&mut self, flag: &'a str, target: &Target, sources: &[Source]) -> &mut Clash<'a> {
        match target {
            Target::Discard => {}
            Target::Stdout => {
                self.write(flag, Path::new("-"));
            }
            Target::File(p) => {
                self.write(flag, p);
            }
            Target::Dir(d) => {
                for s in sources {
                    self.write(flag, &d.join(&s.rel));
                }
            }
        }
        self
    }

    /// The run reads `path`, described as `what` ("an input", "the ledger").
    pub fn read(&mut self, what: &'a str, path: &Path) -> &mut Clash<'a> {
        self.reads.push((what, path.to_path_buf()));
        self
    }

    /// The run reads every source.
    pub fn inputs(&mut self, sources: &[Source]) -> &mut Clash<'a> {
        for s in sources {
            self.read("an input", &s.path);
        }
        self
    }

    /// Refuses the run if an output would replace a file it reads or
    /// another output; the error names the path and the flags.
    pub fn check(&self) -> Result<()> {
        // Maps, not lists: a mirror of ten thousand inputs is ten thousand
        // writes and reads.
        let mut reads: HashMap<Identity, &str> = HashMap::with_capacity(self.reads.len());
        for (what, p) in &self.reads {
            reads.entry(read_identity(p)).or_insert(what);
        }
        let mut seen: HashMap<Identity, &str> = HashMap::with_capacity(self.writes.len());
        let mut dirs = HashMap::new();
        for (flag, path) in &self.writes {
            let id = write_identity(path, &mut dirs);
            if id == Identity::Through {
                continue;
            }
            if let Some(what) = reads.get(&id) {
                return Err(Error::Output {
                    path: path.clone(),
                    message: format!("would overwrite {what}; choose another `{flag}`"),
                });
            }
            if let Some(&other) = seen.get(&id) {
                let message = if id == Identity::Stdout {
                    format!("`{other}` and `{flag}` would both write to standard output; give one of them a file")
                } else if other == *flag {
                    // Only a mirror writes one flag's files twice.
                    format!("`{flag}` would write two inputs to it, one over the other (an input given as a file is mirrored under its own name); give their directory instead, or rename one")
                } else {
                    format!("`{other}` and `{flag}` would both write it, one over the other; give each its own path")
                };
                return Err(Error::Output { path: path.clone(), message });
            }
            seen.insert(id, flag);
        }
        Ok(())
    }
}

/// Directories resolved so far (a mirror target's files share a few).
type Dirs = HashMap<PathBuf, Option<PathBuf>>;

fn write_identity(path: &Path, dirs: &mut Dirs) -> Identity {
    if path.as_os_str() == "-" {
        return Identity::Stdout;
    }
    // `metadata` follows symlinks: what matters is what a write reaches.
    match fs::metadata(path) {
        Ok(m) if m.is_file() => file_identity(&m, path),
        Ok(_) => Identity::Through,
        Err(_) => Identity::New(absolute(path, dirs)),
    }
}

fn read_identity(path: &Path) -> Identity {
    match fs::metadata(path) {
        Ok(m) if m.is_file() => file_identity(&m, path),
        _ => Identity::Through,
    }
}

#[cfg(unix)]
fn file_identity(m: &std::fs::Metadata, _path: &Path) -> Identity {
    use std::os::unix::fs::MetadataExt;
    Identity::File(m.dev(), m.ino())
}

#[cfg(not(unix))]
fn file_identity(_m: &std::fs::Metadata, path: &Path) -> Identity {
    Identity::New(absolute(path, &mut Dirs::new()))
}

/// `path` made absolute: its directory resolved (symlinks, `..`) when it
/// exists, else the path cleaned of `.` and `..` lexically.
fn absolute(path: &Path, dirs: &mut Dirs) -> PathBuf {
    if let (Some(dir), Some(name)) = (path.parent(), path.file_name()) {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        let resolved = dirs.entry(dir.to_path_buf()).or_insert_with(|| fs::canonicalize(dir).ok());
        if let Some(dir) = resolved {
            return dir.join(name);
        }
    }
    let full = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in full.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(writes: &[(&'static str, &Path)], reads: &[&Path]) -> Result<()> {
        let mut c = Clash::new();
        for (flag, p) in writes {
            c.write(flag, p);
        }
        for p in reads {
            c.read("an input", p);
        }
        c.check()
    }

    fn message(r: Result<()>) -> String {
        r.expect_err("a clash").to_string()
    }

    #[test]
    fn an_output_naming_an_input_is_refused_however_it_is_spelled() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("data.jsonl");
        fs::write(&input, "{}\n").unwrap();
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        let hard = dir.path().join("hard.jsonl");
        fs::hard_link(&input, &hard).unwrap();
        let dotted = dir.path().join(".").join("data.jsonl");
        for spelling in [&input, &link, &hard, &dotted] {
            let m = message(check(&[("--ledger", spelling)], &[&input]));
            assert!(m.contains("would overwrite an input; choose another `--ledger`"), "{m}");
        }
        let other = dir.path().join("other.jsonl");
        check(&[("--ledger", &other)], &[&input]).unwrap();
    }

    #[test]
    fn two_outputs_on_one_path_are_refused_whether_or_not_it_exists() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("out.jsonl");
        let new_dotted = dir.path().join("sub").join("..").join("out.jsonl");
        let m = message(check(&[("-o", &new), ("--ledger", &new_dotted)], &[]));
        assert!(m.contains("`-o` and `--ledger` would both write it"), "{m}");
        fs::write(&new, "old").unwrap();
        let m = message(check(&[("-o", &new), ("--report", &new)], &[]));
        assert!(m.contains("`-o` and `--report` would both write it"), "{m}");
        // Under a directory that does not exist yet.
        let deep = dir.path().join("not/yet/x.jsonl");
        let m = message(check(&[("-o", &deep), ("--ledger", &deep)], &[]));
        assert!(m.contains("would both write it"), "{m}");
        check(&[("-o", &new), ("--ledger", &dir.path().join("ledger.jsonl"))], &[]).unwrap();
    }

    #[test]
    fn standard_output_takes_one_writer() {
        let m = message(check(&[("-o", Path::new("-")), ("--ledger", Path::new("-"))], &[]));
        assert!(m.contains("would both write to standard output"), "{m}");
        // Standard input is no file an output could replace.
        check(&[("-o", Path::new("-"))], &[Path::new("-")]).unwrap();
    }

    #[test]
    fn devices_and_fifos_are_written_through_so_they_clash_with_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        check(&[("-o", &fifo), ("--ledger", &fifo)], &[&fifo]).unwrap();
    }

    #[test]
    fn a_directory_target_clashes_through_its_mirrored_files() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in").join("a.jsonl");
        fs::create_dir_all(input.parent().unwrap()).unwrap();
        fs::write(&input, "{}\n").unwrap();
        let source = || {
            let mut s = Source::for_tests("a.jsonl");
            s.path = input.clone();
            s
        };
        let sources = vec![source()];
        let out = dir.path().join("out");
        let mut c = Clash::new();
        c.target("-o", &Target::Dir(out.clone()), &sources).write("--ledger", &out.join("a.jsonl"));
        let m = message(c.check());
        assert!(m.contains("`-o` and `--ledger` would both write it"), "{m}");
        // Two inputs of one name, given as files, mirror to one file.
        let mut twin = Source::for_tests("a.jsonl");
        twin.path = dir.path().join("a.jsonl");
        fs::write(&twin.path, "{}\n").unwrap();
        let twins = vec![source(), twin];
        let m = message(Clash::new().target("-o", &Target::Dir(out), &twins).check());
        assert!(m.contains("`-o` would write two inputs to it"), "{m}");
        let mut c = Clash::new();
        c.target("-o", &Target::Dir(dir.path().join("in")), &sources).inputs(&sources);
        assert!(message(c.check()).contains("would overwrite an input"));
    }
}
