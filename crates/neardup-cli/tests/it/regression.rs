//! Regression tests, named for the issue that asked for them.

use crate::{ledger, neardup, repo};

/// The wire story that contains itself twice, the second copy with curly
/// quotes and em-dashes: the output is the first copy, byte for byte.
/// See: issue 3.
#[test]
fn issue_3_wire_story_said_twice_keeps_the_first_copy() {
    let dir = tempfile::tempdir().unwrap();
    let example = repo().join("examples/wire-story-twice.txt");
    let original = fs_err::read_to_string(&example).unwrap();
    let second = original
        .find("Senior Iraqi")
        .map(|first| original[first + 1..].find("Senior Iraqi").unwrap() + first + 1)
        .unwrap();
    let first_copy = &original[..second];
    // The copies differ in bytes (typography), not in words.
    assert_ne!(first_copy.trim_end(), &original[second..]);

    let ledger_path = dir.path().join("ledger.jsonl");
    let out_path = dir.path().join("out.txt");
    let run = neardup(
        dir.path(),
        &[
            "dedup",
            example.to_str().unwrap(),
            "-o",
            out_path.to_str().unwrap(),
            "--ledger",
            ledger_path.to_str().unwrap(),
            "--json",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(fs_err::read_to_string(&out_path).unwrap(), first_copy);

    let summary: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!((summary["read"].as_u64(), summary["modified"].as_u64()), (Some(1), Some(1)));
    let (_, entries) = ledger(&ledger_path);
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e["status"], "modified");
    assert_eq!(e["reason"], "repeat");
    assert_eq!(e["similarity"], 1.0);
    assert_eq!(e["spans"], serde_json::json!([[second, original.len() - second]]));
    assert_eq!(e["first"], serde_json::json!([[e["id"].clone(), 0]]));
}

/// The same, through the README's first command (output on stdout).
#[test]
fn issue_3_readme_command_prints_the_article_once() {
    let run = neardup(&repo(), &["dedup", "examples/wire-story-twice.txt"], None);
    assert_eq!(run.code, 0);
    let out = run.stdout_str();
    assert_eq!(out.matches("Senior Iraqi military commanders").count(), 1);
    assert!(!out.contains('\u{201C}'), "nothing of the second copy");
    assert!(run.stderr.contains("read 1 · kept 0 · modified 1"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("cut offset 1292, length 1305 (repeat inside the record, similarity 1.00)"),
        "{}",
        run.stderr
    );
}
