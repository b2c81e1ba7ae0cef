//! `neardup index …` and `dedup --index`: batches one after another equal
//! one run over their concatenation; settings come from the index and a
//! differing flag is refused naming both values; what an index cannot
//! honour is refused with the reason; a SIGKILLed batch is all or nothing
//! and its rerun finishes the job.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use neardup_testing::{batches, Families};
use proptest::prelude::*;

use crate::{files, ledger, neardup};

fn jsonl(texts: &[String], first: usize) -> String {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            serde_json::json!({"id": format!("r{}", first + i), "text": t}).to_string() + "\n"
        })
        .collect()
}

/// (id, status, reason, duplicate_of, similarity to 6 digits) per entry.
fn rows(path: &Path) -> Vec<(String, String, String, String, i64)> {
    ledger(path)
        .1
        .iter()
        .map(|e| {
            let sim = e["similarity"].as_f64().map_or(-1, |s| (s * 1e6).round() as i64);
            (
                e["id"].to_string(),
                e["status"].to_string(),
                e["reason"].to_string(),
                e["duplicate_of"].to_string(),
                sim,
            )
        })
        .collect()
}

fn ok(dir: &Path, args: &[&str]) -> crate::Run {
    let r = neardup(dir, args, None);
    assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    r
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn batches_through_the_cli_equal_one_run(
        texts in Families { records: 1..30, short_texts: true }.texts(),
        cuts in prop::collection::vec(0usize..30, 0..3),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        files(d, &[("all.jsonl", jsonl(&texts, 0).as_bytes())]);
        // At 0.7 more of the families' swapped copies are near duplicates
        // (at 0.8 few were, and a lost near match went unseen).
        ok(d, &["dedup", "all.jsonl", "-o", "all.out.jsonl", "--ledger", "all.ledger.jsonl", "-q", "--threshold", "0.7"]);
        let whole = rows(&d.join("all.ledger.jsonl"));

        ok(d, &["index", "create", "ix", "--threshold", "0.7"]);
        let mut batched = Vec::new();
        let mut kept_lines = String::new();
        for (n, r) in batches(texts.len(), &cuts).into_iter().enumerate() {
            let (input, out, led) = (format!("b{n}.jsonl"), format!("b{n}.out.jsonl"), format!("b{n}.ledger.jsonl"));
            files(d, &[(&input, jsonl(&texts[r.clone()], r.start).as_bytes())]);
            ok(d, &["dedup", "--index", "ix", &input, "-o", &out, "--ledger", &led, "-q"]);
            batched.extend(rows(&d.join(&led)));
            kept_lines.push_str(&fs_err::read_to_string(d.join(&out)).unwrap());
        }
        prop_assert_eq!(&batched, &whole);
        prop_assert_eq!(kept_lines, fs_err::read_to_string(d.join("all.out.jsonl")).unwrap());
        ok(d, &["index", "verify", "ix"]);
    }
}

#[test]
fn settings_come_from_the_index_and_a_differing_flag_names_both_values() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let story: String = (0..60).map(|w| format!("word{w} ")).collect();
    // 59 of 60 words shared: similar at 0.8, not at 0.95.
    let variant = story.replace("word30 ", "other30 ");
    files(d, &[("b.jsonl", jsonl(&[story, variant], 0).as_bytes())]);
    ok(d, &["index", "create", "ix", "--threshold", "0.95", "--shingle", "word:3"]);

    let r = neardup(
        d,
        &["dedup", "--index", "ix", "b.jsonl", "-o", "o.jsonl", "--threshold", "0.8"],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("`near.threshold`"), "{}", r.stderr);
    assert!(r.stderr.contains("`0.95`") && r.stderr.contains("`0.8`"), "{}", r.stderr);
    assert!(!d.join("o.jsonl").exists());

    // No flag: the index's threshold (0.95) and shingles decide.
    ok(d, &["dedup", "--index", "ix", "b.jsonl", "-o", "o.jsonl", "--ledger", "l.jsonl"]);
    let (header, entries) = ledger(&d.join("l.jsonl"));
    assert_eq!(header["settings"]["near"]["threshold"], 0.95);
    assert_eq!(header["settings"]["near"]["shingling"], "word:3");
    assert!(entries.iter().all(|e| e["status"] == "kept"), "{entries:?}");

    let stats = ok(d, &["index", "stats", "ix", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(
        (v["type"].as_str(), v["records"].as_u64(), v["batches"].as_u64()),
        (Some("index_stats"), Some(2), Some(1))
    );
    assert_eq!(v["settings"]["near"]["threshold"], 0.95);
}

#[test]
fn what_an_index_cannot_honour_is_refused_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    files(d, &[("b.jsonl", b"{\"id\":\"a\",\"text\":\"some text\"}\n")]);
    ok(d, &["index", "create", "ix"]);
    for (flags, why) in [
        (&["--keep", "last"][..], "later batch can overturn"),
        (&["--keep", "longest"][..], "later batch can overturn"),
        (&["--similarity", "containment"][..], "shorter record, which may come in a later batch"),
        (&["--substrings"][..], "whole corpus"),
    ] {
        let mut args = vec!["dedup", "--index", "ix", "b.jsonl", "-o", "o.jsonl"];
        args.extend_from_slice(flags);
        let r = neardup(d, &args, None);
        assert_eq!(r.code, 2, "{flags:?}: {}", r.stderr);
        assert!(r.stderr.contains(why), "{flags:?}: {}", r.stderr);
        let r = neardup(d, &[&["index", "create", "other"][..], flags].concat(), None);
        assert_eq!(r.code, 2, "{flags:?}: {}", r.stderr);
        assert!(!d.join("other").exists() || flags[0] == "--substrings");
    }
    let r = ok(d, &["index", "stats", "ix", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["records"], 0);
}

#[test]
fn verify_reports_damage_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let r = neardup(d, &["index", "verify", "missing"], None);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("neardup index create"), "{}", r.stderr);

    let texts: Vec<String> =
        (0..50).map(|i| format!("record number {i} says its own thing")).collect();
    files(d, &[("b.jsonl", jsonl(&texts, 0).as_bytes())]);
    ok(d, &["index", "create", "ix"]);
    ok(d, &["dedup", "--index", "ix", "b.jsonl", "-o", "o.jsonl", "-q"]);
    let r = ok(d, &["index", "verify", "ix"]);
    assert!(r.stderr.contains("sound") && r.stderr.contains("50 records"), "{}", r.stderr);
    let r = ok(d, &["index", "export", "ix"]);
    let lines: Vec<serde_json::Value> =
        r.stdout_str().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 50);
    assert_eq!(lines[7]["id"], "r7");
    assert_eq!(lines[7]["hash"].as_str().map(str::len), Some(32));
    assert!(lines[7]["signature"].as_array().is_some_and(|s| s.len() == 128));

    // A lookup key no record holds, written behind the index's back.
    {
        use neardup_index::{FjallStore, Store, Table, WriteBatch};
        let store = FjallStore::open(&d.join("ix/db"), 16 << 20).unwrap();
        let mut b = WriteBatch::new();
        b.put(Table::Keys, [&[0u8][..], &[7u8; 16]].concat(), Vec::new());
        store.write(b).unwrap();
        store.persist().unwrap();
    }
    let r = neardup(d, &["index", "verify", "ix"], None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("damaged: 1 problems") && r.stderr.contains("has no holders"),
        "{}",
        r.stderr
    );
}

/// SplitMix64: seeded, so a failure can be replayed.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Texts of `n` records, families of near and exact copies, from `seed`.
fn batch_texts(seed: u64, n: usize) -> Vec<String> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            let family = splitmix(&mut s) % 200;
            let swap = splitmix(&mut s) % 60;
            (0..50)
                .map(|w| {
                    if w == swap {
                        format!("s{}", splitmix(&mut s) % 3)
                    } else {
                        format!("f{family}w{w}")
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn a_batch_killed_at_any_moment_is_all_or_nothing_and_its_rerun_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let batches: Vec<Vec<String>> = (0..3).map(|b| batch_texts(b + 1, 800)).collect();
    for (b, texts) in batches.iter().enumerate() {
        files(d, &[(&format!("b{b}.jsonl"), jsonl(texts, b * 10_000).as_bytes())]);
    }
    let args = |ix: &str, b: usize| -> Vec<String> {
        [
            "dedup",
            "--index",
            ix,
            &format!("b{b}.jsonl"),
            "-o",
            &format!("{ix}.o{b}.jsonl"),
            "--ledger",
            &format!("{ix}.l{b}.jsonl"),
            "-q",
            "-j",
            "1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    // The reference: no kills. The time of a batch bounds the kill moments.
    ok(d, &["index", "create", "ref"]);
    let mut spans = Vec::new();
    for b in 0..3 {
        let a = args("ref", b);
        let clock = Instant::now();
        ok(d, &a.iter().map(String::as_str).collect::<Vec<_>>());
        spans.push(clock.elapsed());
    }
    let reference = ok(d, &["index", "export", "ref"]).stdout;

    ok(d, &["index", "create", "ix"]);
    let mut seed = 42u64;
    let (mut killed, mut finished) = (0, 0);
    for (b, span) in spans.iter().enumerate() {
        let before = records(d, "ix");
        // Kill it at random moments, a few times; each time the index must
        // hold the batch whole or not at all.
        let whole = before + added(d, "ref", b);
        for _ in 0..3 {
            let at =
                Duration::from_micros(splitmix(&mut seed) % (span.as_micros() as u64 * 5 / 4 + 1));
            let mut child = Command::new(env!("CARGO_BIN_EXE_neardup"))
                .args(args("ix", b))
                .current_dir(d)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(at);
            match child.try_wait().unwrap() {
                Some(status) => {
                    assert!(status.success());
                    finished += 1;
                }
                None => {
                    child.kill().unwrap();
                    child.wait().unwrap();
                    killed += 1;
                }
            }
            let r = ok(d, &["index", "verify", "ix"]);
            assert!(r.stderr.contains("sound"), "{}", r.stderr);
            let now = records(d, "ix");
            assert!(
                now == before || now == whole,
                "batch {b}: {now} records, expected {before} or {whole}"
            );
        }
        // The rerun finishes the job (or says the batch is in already).
        ok(d, &args("ix", b).iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(
            fs_err::read(d.join(format!("ix.o{b}.jsonl"))).unwrap(),
            fs_err::read(d.join(format!("ref.o{b}.jsonl"))).unwrap()
        );
        assert_eq!(
            rows(&d.join(format!("ix.l{b}.jsonl"))),
            rows(&d.join(format!("ref.l{b}.jsonl")))
        );
    }
    assert!(killed > 0, "no run was killed ({finished} finished)");
    assert_eq!(ok(d, &["index", "export", "ix"]).stdout, reference);
}

fn records(d: &Path, ix: &str) -> u64 {
    let r = ok(d, &["index", "stats", ix, "--json"]);
    serde_json::from_slice::<serde_json::Value>(&r.stdout).unwrap()["records"].as_u64().unwrap()
}

/// Records batch `b` added to index `ix` (from its export: by id range).
fn added(d: &Path, ix: &str, b: usize) -> u64 {
    let r = ok(d, &["index", "export", ix]);
    r.stdout_str()
        .lines()
        .filter(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let id: usize = v["id"].as_str().unwrap()[1..].parse().unwrap();
            id / 10_000 == b
        })
        .count() as u64
}
