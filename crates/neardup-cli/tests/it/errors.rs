//! Bad input: a clear error naming file, line and what is wrong; exit 2
//! and no output by default; with `--on-error skip`, a rejected ledger
//! entry and the run goes on. Never a panic.

use std::io::Write;

use crate::{files, ledger, neardup};

fn gz(body: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(body).unwrap();
    e.finish().unwrap()
}

fn many_lines() -> Vec<u8> {
    (0..5000)
        .map(|i| format!("{{\"text\":\"line {i} with some words\"}}\n"))
        .collect::<String>()
        .into_bytes()
}

#[test]
fn malformed_json_stops_the_run_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    files(
        dir.path(),
        &[("bad.jsonl", b"{\"text\":\"ok\"}\n{\"text\": \"unterminated}\n{\"text\":\"fine\"}\n")],
    );
    let run = neardup(
        dir.path(),
        &["dedup", "bad.jsonl", "-o", "out.jsonl", "--ledger", "l.jsonl"],
        None,
    );
    insta::assert_snapshot!(run.snapshot(dir.path()), @r"
    exit: 2
    ----- stdout -----

    ----- stderr -----
    neardup: error: bad.jsonl:2: invalid JSON at column 23: EOF while parsing a string
    (use `--on-error skip` to reject bad records and go on)
    ");
    let left: Vec<_> =
        fs_err::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["bad.jsonl"], "no output, no ledger, no temp files");
    // The same when records are written as they are read (one pass): the
    // good record before the bad one was already written, to a temp file.
    let run = neardup(
        dir.path(),
        &["dedup", "bad.jsonl", "--no-near", "-o", "out.jsonl", "--ledger", "l.jsonl"],
        None,
    );
    assert_eq!(run.code, 2);
    let left: Vec<_> =
        fs_err::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["bad.jsonl"], "one pass: no output, no ledger, no temp files");
}

/// Each kind of bad input, as (file name, bytes, line, error).
fn bad_inputs() -> Vec<(&'static str, Vec<u8>, u64, String)> {
    let full_gz = gz(&many_lines());
    let full_zst = zstd::encode_all(&many_lines()[..], 3).unwrap();
    let mut huge = b"{\"text\":\"".to_vec();
    huge.resize(100 << 20, b'a');
    huge.extend_from_slice(b"\"}\n");
    let mut garbage = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..4096 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        garbage.push((x >> 16) as u8);
    }
    vec![
        ("missing.jsonl", b"{\"body\":\"x\"}\n".to_vec(), 1, "missing field `text`".into()),
        (
            "number.jsonl",
            b"{\"text\":42}\n".to_vec(),
            1,
            "field `text` is a number, expected a string".into(),
        ),
        (
            "utf8.jsonl",
            b"{\"text\":\"caf\xe9\"}\n".to_vec(),
            1,
            "invalid UTF-8 at byte 12 of the record".into(),
        ),
        (
            "trunc.jsonl.gz",
            full_gz[..full_gz.len() / 2].to_vec(),
            0,
            "could not read the rest of the file".into(),
        ),
        (
            "trunc.jsonl.zst",
            full_zst[..full_zst.len() / 2].to_vec(),
            0,
            "could not read the rest of the file".into(),
        ),
        ("empty.txt", Vec::new(), 0, "file is empty".into()),
        (
            "huge.jsonl",
            huge,
            1,
            format!(
                "record is {} bytes, over the limit of {} bytes (`--max-record-bytes`)",
                (100 << 20) + 3,
                64 << 20
            ),
        ),
        ("garbage.bin", garbage, 0, "invalid UTF-8 at byte".into()),
        (
            "nul.txt",
            b"text\0with a NUL".to_vec(),
            0,
            "binary data (NUL byte at byte 4 of the record)".into(),
        ),
    ]
}

#[test]
fn each_bad_input_is_named_and_fails_by_default() {
    for (name, bytes, line, error) in bad_inputs() {
        let dir = tempfile::tempdir().unwrap();
        files(dir.path(), &[(name, &bytes)]);
        let run = neardup(dir.path(), &["dedup", name, "-o", "out"], None);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
        let prefix = format!("neardup: error: {name}:");
        assert!(run.stderr.starts_with(&prefix), "{name}: {}", run.stderr);
        assert!(run.stderr.contains(&error), "{name}: {}", run.stderr);
        if line > 0 {
            assert!(run.stderr.starts_with(&format!("{prefix}{line}: ")), "{name}: {}", run.stderr);
        }
        assert!(!dir.path().join("out").exists(), "{name}: no output on failure");
    }
}

#[test]
fn skip_rejects_bad_records_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = bad_inputs();
    let names: Vec<&str> = inputs.iter().map(|i| i.0).collect();
    for (name, bytes, _, _) in &inputs {
        files(dir.path(), &[(&format!("in/{name}"), bytes)]);
    }
    files(dir.path(), &[("in/good.jsonl", b"{\"text\":\"good\"}\n")]);
    let run = neardup(
        dir.path(),
        &["dedup", "in", "-o", "out", "--on-error", "skip", "--ledger", "l.jsonl", "--json"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let (_, entries) = ledger(&dir.path().join("l.jsonl"));
    let rejected: Vec<_> = entries.iter().filter(|e| e["status"] == "rejected").collect();
    assert_eq!(rejected.len(), names.len(), "one rejection per bad input");
    assert_eq!(s["rejected"].as_u64(), Some(names.len() as u64));
    assert_eq!(s["read"].as_u64(), Some(entries.len() as u64));
    for (name, _, _, error) in &inputs {
        let e = rejected.iter().find(|e| e["source"].as_str().unwrap().ends_with(name)).unwrap();
        assert!(e["error"].as_str().unwrap().contains(error.as_str()), "{name}: {e}");
    }
    // Records before a truncation are kept.
    assert!(s["kept"].as_u64().unwrap() > 2);
    assert_eq!(
        fs_err::read_to_string(dir.path().join("out/good.jsonl")).unwrap(),
        "{\"text\":\"good\"}\n"
    );
}

#[test]
fn missing_inputs_and_bad_flags() {
    let dir = tempfile::tempdir().unwrap();
    let run = neardup(dir.path(), &["dedup", "nope.jsonl"], None);
    insta::assert_snapshot!(run.snapshot(dir.path()), @r"
    exit: 2
    ----- stdout -----

    ----- stderr -----
    neardup: error: input `nope.jsonl` does not exist
    ");
    files(dir.path(), &[("a.jsonl", b"{\"text\":\"x\"}\n")]);
    let run = neardup(dir.path(), &["dedup", "a.jsonl", "--json"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("give `-o` a file or directory"));
    let run = neardup(dir.path(), &["dedup", "a.jsonl", "-o", "a.jsonl"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("would overwrite an input"), "{}", run.stderr);
    assert_eq!(fs_err::read(dir.path().join("a.jsonl")).unwrap(), b"{\"text\":\"x\"}\n");
}
