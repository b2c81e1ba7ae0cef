//! Where outputs go: regular files are replaced atomically; devices, FIFOs
//! and sockets (or symlinks to them) are written through and never renamed
//! over; temp files left by a killed run are removed by the next one.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use crate::{files, neardup};

const CORPUS: &[u8] = b"{\"id\":\"a\",\"text\":\"one story told once\"}\n\
{\"id\":\"b\",\"text\":\"one story told once\"}\n\
{\"id\":\"c\",\"text\":\"another story\"}\n";

fn mkfifo(path: &Path) {
    assert!(std::process::Command::new("mkfifo").arg(path).status().unwrap().success());
}

#[test]
fn outputs_and_ledger_through_a_fifo_keep_the_fifo() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path(), &[("in.jsonl", CORPUS)]);
    let (out, ledger) = (dir.path().join("out.fifo"), dir.path().join("ledger.fifo"));
    mkfifo(&out);
    mkfifo(&ledger);
    let readers = [&out, &ledger].map(|p| {
        let p = p.to_path_buf();
        std::thread::spawn(move || fs_err::read_to_string(p).unwrap())
    });
    let run = neardup(
        dir.path(),
        &["dedup", "in.jsonl", "-o", "out.fifo", "--ledger", "ledger.fifo", "--quiet"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let [out_text, ledger_text] = readers.map(|r| r.join().unwrap());
    assert_eq!(out_text.lines().count(), 2, "{out_text}");
    assert_eq!(ledger_text.lines().count(), 4, "header + 3 entries: {ledger_text}");
    for p in [&out, &ledger] {
        assert!(fs_err::metadata(p).unwrap().file_type().is_fifo(), "{} replaced", p.display());
    }
    let left = fs_err::read_dir(dir.path()).unwrap().count();
    assert_eq!(left, 3, "no temp files");
}

#[test]
fn a_device_node_output_stays_a_device() {
    let root = std::process::Command::new("id").arg("-u").output().unwrap().stdout;
    if root.trim_ascii() != b"0" {
        eprintln!("skipped: mknod needs root (the FIFO test covers the same path)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    files(dir.path(), &[("in.jsonl", CORPUS)]);
    // A null device made here: the real /dev/null is never used.
    let null = dir.path().join("null");
    let made = std::process::Command::new("mknod").arg(&null).args(["c", "1", "3"]).status();
    assert!(made.unwrap().success());
    for extra in [&[][..], &["--no-near"][..]] {
        let mut args = vec!["dedup", "in.jsonl", "-o", "null", "--ledger", "null", "-q"];
        args.extend_from_slice(extra);
        let run = neardup(dir.path(), &args, None);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(fs_err::metadata(&null).unwrap().file_type().is_char_device());
    }
    assert_eq!(fs_err::read_dir(dir.path()).unwrap().count(), 2, "no temp files");
}

#[test]
fn a_killed_runs_temp_file_is_removed_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path(), &[("in.jsonl", CORPUS)]);
    // What SIGKILL leaves beside the ledger: a temp file nobody holds.
    let stale = dir.path().join(".ledger.jsonl.x1Y2z3.neardup-tmp");
    fs_err::write(&stale, b"").unwrap();
    let run = neardup(
        dir.path(),
        &["dedup", "in.jsonl", "-o", "out.jsonl", "--ledger", "ledger.jsonl"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!stale.exists());
    assert!(
        run.stderr.contains("warning: removed `")
            && run.stderr.contains(".ledger.jsonl.x1Y2z3.neardup-tmp"),
        "{}",
        run.stderr
    );
    let mut left: Vec<_> =
        fs_err::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    left.sort();
    assert_eq!(left, ["in.jsonl", "ledger.jsonl", "out.jsonl"]);
}

#[test]
fn a_ledger_named_zst_is_compressed() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path(), &[("in.jsonl", CORPUS)]);
    let run = neardup(
        dir.path(),
        &["dedup", "in.jsonl", "-o", "out.jsonl", "--ledger", "l.jsonl.zst"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let bytes = fs_err::read(dir.path().join("l.jsonl.zst")).unwrap();
    let text = String::from_utf8(zstd::decode_all(&bytes[..]).unwrap()).unwrap();
    assert_eq!(text.lines().count(), 4);
    assert!(text.lines().nth(2).unwrap().contains("\"duplicate_of\":\"a\""), "{text}");
}

/// Every command, each way an output could land on a file the run reads or
/// on another output: refused before anything is written, the files as
/// they were.
#[test]
fn no_output_replaces_an_input_or_another_output() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path(), &[("in.jsonl", CORPUS), ("sub/in.jsonl", CORPUS)]);
    let ledger =
        neardup(dir.path(), &["dedup", "in.jsonl", "-o", "ok.jsonl", "--ledger", "l.jsonl"], None);
    assert_eq!(ledger.code, 0, "{}", ledger.stderr);
    let ledger_bytes = fs_err::read(dir.path().join("l.jsonl")).unwrap();
    let refused: &[(&[&str], &str)] = &[
        (
            &["dedup", "in.jsonl", "-o", "x.jsonl", "--ledger", "in.jsonl"],
            "would overwrite an input; choose another `--ledger`",
        ),
        (
            &["dedup", "in.jsonl", "-o", "x.jsonl", "--ledger", "./sub/../in.jsonl"],
            "would overwrite an input",
        ),
        (
            &["dedup", "in.jsonl", "-o", "x.jsonl", "--report", "in.jsonl"],
            "would overwrite an input; choose another `--report`",
        ),
        (
            &["dedup", "in.jsonl", "-o", "x.jsonl", "--ledger", "x.jsonl"],
            "`-o` and `--ledger` would both write it",
        ),
        (
            &["dedup", "in.jsonl", "-o", "x.jsonl", "--report", "x.jsonl"],
            "`-o` and `--report` would both write it",
        ),
        (
            &["dedup", "in.jsonl", "-o", "x.jsonl", "--ledger", "y.jsonl", "--report", "y.jsonl"],
            "`--ledger` and `--report` would both write it",
        ),
        (
            &[
                "dedup",
                "in.jsonl",
                "-o",
                "x.jsonl",
                "--ledger",
                "y.parquet",
                "--report",
                "y.parquet",
            ],
            "would both write it",
        ),
        (
            &["dedup", "sub", "-o", "mirror", "--ledger", "mirror/in.jsonl"],
            "`-o` and `--ledger` would both write it",
        ),
        (
            &["dedup", "in.jsonl", "-o", "-", "--ledger", "-"],
            "`-o` and `--ledger` would both write to standard output",
        ),
        (
            &["dedup", "in.jsonl", "-o", "x.jsonl", "--ledger", "-", "--json"],
            "`--ledger` and `--json` would both write to standard output",
        ),
        (
            &["substrings", "in.jsonl", "-o", "x.jsonl", "--ledger", "in.jsonl"],
            "would overwrite an input",
        ),
        (
            &["clusters", "in.jsonl", "-o", "in.jsonl"],
            "would overwrite an input; choose another `-o`",
        ),
        (
            &["report", "in.jsonl", "--ledger", "l.jsonl", "-o", "l.jsonl"],
            "would overwrite the ledger; choose another `-o`",
        ),
        (
            &["report", "in.jsonl", "--ledger", "l.jsonl", "-o", "in.jsonl"],
            "would overwrite an input",
        ),
    ];
    for (args, want) in refused {
        let run = neardup(dir.path(), args, None);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
        assert_eq!(fs_err::read(dir.path().join("in.jsonl")).unwrap(), CORPUS, "{args:?}");
        assert_eq!(fs_err::read(dir.path().join("l.jsonl")).unwrap(), ledger_bytes, "{args:?}");
        for made in ["x.jsonl", "y.jsonl", "y.parquet", "mirror"] {
            assert!(!dir.path().join(made).exists(), "{args:?} wrote {made}");
        }
    }
    // One device for two outputs is allowed: `a_device_node_output_stays_a_device`.
}

#[test]
fn a_ledger_named_dash_goes_to_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path(), &[("in.jsonl", CORPUS)]);
    let run = neardup(
        dir.path(),
        &["dedup", "in.jsonl", "-o", "out.jsonl", "--ledger", "-", "--quiet"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!dir.path().join("-").exists());
    let lines: Vec<serde_json::Value> = String::from_utf8(run.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["neardup_ledger"], 1);
    let status: Vec<&str> = lines[1..].iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(status, ["kept", "removed", "kept"]);
}

/// `neardup … | head`: the reader closing the pipe early ends the run
/// quietly and successfully, as for any Unix filter.
#[test]
fn a_closed_pipe_ends_the_run_quietly() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let corpus: String = (0..20_000)
        .map(|i| format!("{{\"id\":\"{i}\",\"text\":\"record number {i} of a long corpus\"}}\n"))
        .collect();
    files(dir.path(), &[("in.jsonl", corpus.as_bytes())]);
    for ledger in [false, true] {
        let mut args = vec!["dedup", "in.jsonl", "--quiet"];
        if ledger {
            args.extend(["-o", "out.jsonl", "--ledger", "-"]);
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_neardup"))
            .args(&args)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut head = [0u8; 10];
        child.stdout.take().unwrap().read_exact(&mut head).unwrap(); // then closed
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}
