//! `neardup substrings` and `dedup --substrings`.

use crate::{files, ledger, neardup};

/// 113 bytes, said by `a.txt` and again, with typographic quotes and dash,
/// inside `b.txt`.
const PASSAGE: &str = "\"The river rose three feet overnight,\" the keeper wrote -- and by noon the lower road was under water for a mile.";
const PASSAGE_CURLY: &str = "\u{201C}The river rose three feet overnight,\u{201D} the keeper wrote \u{2014} and by noon the lower road was under water for a mile.";

fn corpus(dir: &std::path::Path) {
    files(
        dir,
        &[
            ("in/a.txt", format!("Log of the week.\n{PASSAGE}\nNothing else.\n").as_bytes()),
            ("in/b.txt", format!("Monday: {PASSAGE_CURLY} Tuesday: calm.\n").as_bytes()),
            ("in/c.txt", PASSAGE.as_bytes()),
            ("in/d.txt", b"Unrelated notes about the garden."),
        ],
    );
}

#[test]
fn later_copies_are_cut_and_emptied_records_removed() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let run = neardup(
        dir.path(),
        &["substrings", "in", "-o", "out", "--ledger", "l.jsonl", "--min-len", "100"],
        None,
    );
    insta::assert_snapshot!(run.snapshot(dir.path()), @r"
    exit: 0
    ----- stdout -----

    ----- stderr -----
    neardup: read 4 · kept 2 · modified 1 · removed 1 · rejected 0 · 433 B in, 202 B out, [SECONDS] s
      removed: 0 exact duplicates, 0 near duplicates, 0 repetitive, 1 emptied by substring cuts
      substrings: 4 records (423 B canonical) searched for repeats of 100+ bytes; 2 spans cut from 2 records, 231 B of text
      cut: 1 spans, 118 B of text
      modified `in/b.txt`: cut offset 8, length 118 (repeated substring, similarity 1.00)
      removed `in/c.txt`: too little left once 1 repeated substrings were cut (longest copy in `in/a.txt`)
    ");
    let read = |p: &str| fs_err::read_to_string(dir.path().join(p)).unwrap();
    assert_eq!(read("out/a.txt"), format!("Log of the week.\n{PASSAGE}\nNothing else.\n"));
    // The typographic copy is gone, byte for byte; the rest is untouched.
    assert_eq!(read("out/b.txt"), "Monday:  Tuesday: calm.\n");
    assert!(!dir.path().join("out/c.txt").exists());
    let (header, entries) = ledger(&dir.path().join("l.jsonl"));
    assert_eq!(header["settings"]["substrings"]["min_len"], 100);
    assert_eq!(entries[1]["first"][0], serde_json::json!(["in/a.txt", 17]));
    assert_eq!(entries[2]["status"], "removed");
    assert_eq!(entries[2]["reason"], "substring");
    assert!(entries.iter().all(|e| e["repetition"].is_null()), "no Gopher statistics here");
}

#[test]
fn remove_all_and_min_keep() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let run = neardup(
        dir.path(),
        &["substrings", "in", "-o", "out", "--remove", "all", "--min-keep", "20", "--json"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    // a.txt keeps "Log of the week." and "Nothing else." (29 bytes); b.txt
    // keeps "Monday:  Tuesday: calm." (23); c.txt is empty.
    assert_eq!(
        (s["kept"].as_u64(), s["modified"].as_u64(), s["removed"].as_u64()),
        (Some(1), Some(2), Some(1))
    );
    let run = neardup(
        dir.path(),
        &["substrings", "in", "-o", "out", "--remove", "all", "--min-keep", "24", "--json"],
        None,
    );
    let s: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(s["removed_substring"].as_u64(), Some(2), "b.txt now has too little left");
}

#[test]
fn dedup_runs_substrings_after_exact_and_near() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    files(
        dir.path(),
        &[("in/a2.txt", format!("Log of the week.\n{PASSAGE}\nNothing else.\n").as_bytes())],
    );
    let run = neardup(
        dir.path(),
        &["dedup", "--substrings", "in", "-o", "out", "--ledger", "l.jsonl", "--json"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(s["removed_exact"], 1);
    // Duplicates are removed before the search, which sees only the rest
    // (c.txt, the passage alone, is also a near duplicate of a.txt).
    let before = s["removed_exact"].as_u64().unwrap() + s["removed_near"].as_u64().unwrap();
    assert_eq!(s["substrings"]["records"].as_u64().unwrap(), 5 - before);
    let (_, entries) = ledger(&dir.path().join("l.jsonl"));
    let b = entries.iter().find(|e| e["id"] == "in/b.txt").unwrap();
    assert_eq!(b["first"][0][0], "in/a.txt");
}

#[test]
fn temporary_files_are_gone_after_success_and_failure() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    fs_err::create_dir(dir.path().join("tmp")).unwrap();
    let args = ["substrings", "in", "-o", "out", "--tmp-dir", "tmp", "--memory", "1K"];
    let run = neardup(dir.path(), &args, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(fs_err::read_dir(dir.path().join("tmp")).unwrap().count(), 0);

    files(dir.path(), &[("in/e.jsonl", b"{\"text\": 7}\n")]);
    fs_err::remove_dir_all(dir.path().join("out")).unwrap();
    let run = neardup(dir.path(), &args, None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("in/e.jsonl:1"), "{}", run.stderr);
    assert_eq!(fs_err::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    assert!(!dir.path().join("out").exists(), "no partial output");
}

#[test]
fn bad_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let run = neardup(dir.path(), &["substrings", "in", "--min-len", "0"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--min-len"), "{}", run.stderr);
    let run = neardup(dir.path(), &["dedup", "in", "--min-len", "50"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("add it"), "{}", run.stderr);
    let run = neardup(dir.path(), &["clusters", "in", "--substrings"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("dedup --substrings"), "{}", run.stderr);
}
