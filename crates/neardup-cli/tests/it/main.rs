//! End-to-end tests of the `neardup` binary: one test binary, a module per
//! concern (as ripgrep and uv do). Snapshots record exit code, stdout and
//! stderr together, with timings and temp paths filtered out.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

mod dedup;
mod errors;
mod index;
mod near;
mod normalize;
mod outputs;
mod parquet;
mod regression;
mod report;
mod serve;
mod substrings;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The repository root (for `examples/`).
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn stdout_str(&self) -> String {
        String::from_utf8(self.stdout.clone()).unwrap()
    }

    /// Exit code, stdout and stderr, for a snapshot, with `dir` shown as
    /// `[DIR]` and timings hidden.
    pub(crate) fn snapshot(&self, dir: &Path) -> String {
        let filter = |s: &str| {
            let s = s.replace(&dir.display().to_string(), "[DIR]");
            regex_lite_seconds(&s)
        };
        format!(
            "exit: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
            self.code,
            filter(&String::from_utf8_lossy(&self.stdout)),
            filter(&self.stderr)
        )
    }
}

/// Replaces `1.23 s` and `"seconds":1.23` with placeholders.
fn regex_lite_seconds(s: &str) -> String {
    let mut out = String::new();
    for line in s.split_inclusive('\n') {
        let mut l = line.to_string();
        // Per-stage seconds: one placeholder for the whole object.
        if let Some(i) = l.find("\"stages\":{") {
            let start = i + "\"stages\":".len();
            let mut depth = 0;
            let end = l[start..]
                .char_indices()
                .find_map(|(j, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    (depth == 0).then_some(start + j + 1)
                })
                .unwrap_or(l.len());
            l.replace_range(start..end, "[STAGES]");
        }
        if let Some(i) = l.find("\"seconds\":") {
            let start = i + "\"seconds\":".len();
            let end = l[start..].find([',', '}']).map_or(l.len(), |e| start + e);
            l.replace_range(start..end, "[SECONDS]");
        }
        if let Some(end) = l.find(" s\n").or_else(|| l.ends_with(" s").then(|| l.len() - 2)) {
            if let Some(start) = l[..end].rfind(' ') {
                if l[start + 1..end].parse::<f64>().is_ok() {
                    l.replace_range(start + 1..end, "[SECONDS]");
                }
            }
        }
        out.push_str(&l);
    }
    out
}

/// Runs `neardup ARGS` in `cwd` with `stdin`.
pub(crate) fn neardup(cwd: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    use std::io::Write;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_neardup"));
    cmd.args(args).current_dir(cwd).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        let mut s = child.stdin.take().unwrap();
        s.write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Reads a ledger: header, then entries.
pub(crate) fn ledger(path: &Path) -> (serde_json::Value, Vec<serde_json::Value>) {
    let text = fs_err::read_to_string(path).unwrap();
    let mut lines = text.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap());
    let header = lines.next().unwrap();
    (header, lines.collect())
}

/// Writes files under `dir`.
pub(crate) fn files(dir: &Path, files: &[(&str, &[u8])]) {
    for (name, bytes) in files {
        let p = dir.join(name);
        fs_err::create_dir_all(p.parent().unwrap()).unwrap();
        fs_err::write(p, bytes).unwrap();
    }
}
