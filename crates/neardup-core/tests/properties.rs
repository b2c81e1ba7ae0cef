//! Invariants of a deduplication run (ARCHITECTURE.md, "Invariants"):
//! the ledger balances and has one entry per record; deduplicating an
//! output again removes nothing; outputs do not depend on thread count or
//! batch size.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use neardup_core::{Config, NoProgress, Settings, Summary};
use neardup_io::{Discover, Outputs, Target};
use proptest::prelude::*;

/// Sentences long enough (> 100 characters with their neighbours) that
/// repeating one inside a record is a repeat worth cutting.
const SENTENCES: &[&str] = &[
    "The committee met on Tuesday to discuss the budget for the coming year and the plans for the new library.",
    "Rain is expected across the northern half of the country, with strong winds along the coast by evening.",
    "\u{201C}We did not expect this,\u{201D} the minister said \u{2014} adding that talks would resume next week.",
    "\"We did not expect this,\" the minister said -- adding that talks would resume next week.",
    "Shares in the company fell sharply after it reported lower profits than analysts had forecast.",
    "The festival, which draws thousands of visitors each summer, will return to the old harbour this year.",
    "A short line.",
    "Researchers found that the new method reduced errors by a third compared with the previous approach.",
];

fn record() -> impl Strategy<Value = String> {
    prop::collection::vec((0..SENTENCES.len(), prop::bool::ANY), 1..6).prop_map(|parts| {
        let mut s = String::new();
        for (i, newline) in parts {
            if !s.is_empty() {
                s.push(if newline { '\n' } else { ' ' });
            }
            s.push_str(SENTENCES[i]);
        }
        s
    })
}

fn write_jsonl(dir: &Path, records: &[String]) -> PathBuf {
    let path = dir.join("in.jsonl");
    let mut body = String::new();
    for (i, r) in records.iter().enumerate() {
        body.push_str(&serde_json::json!({"id": format!("r{i}"), "text": r, "n": i}).to_string());
        body.push('\n');
    }
    fs_err::write(&path, body).unwrap();
    path
}

fn dedup(input: &Path, out: &Path, ledger: &Path, cfg: &Config) -> Summary {
    let sources = Discover::default().sources(&[input.to_path_buf()]).unwrap();
    let outputs = Outputs::new(Target::File(out.to_path_buf()), &sources).unwrap();
    neardup_core::run(&sources, cfg, outputs, Some(ledger), &NoProgress).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn ledger_balances_and_dedup_is_idempotent(records in prop::collection::vec(record(), 1..30)) {
        let dir = tempfile::tempdir().unwrap();
        let input = write_jsonl(dir.path(), &records);
        let (out, ledger) = (dir.path().join("out.jsonl"), dir.path().join("ledger.jsonl"));
        let cfg = Config { stats: true, ..Config::default() };
        let s = dedup(&input, &out, &ledger, &cfg);

        prop_assert_eq!(s.read, records.len() as u64);
        prop_assert_eq!(s.read, s.kept + s.modified + s.removed + s.rejected);
        let ledger_text = fs_err::read_to_string(&ledger).unwrap();
        let entries: Vec<serde_json::Value> =
            ledger_text.lines().skip(1).map(|l| serde_json::from_str(l).unwrap()).collect();
        prop_assert_eq!(entries.len() as u64, s.read);
        let count = |status: &str| entries.iter().filter(|e| e["status"] == status).count() as u64;
        prop_assert_eq!((count("kept"), count("modified"), count("removed")), (s.kept, s.modified, s.removed));
        // Every removed record names a survivor that is kept or modified.
        for e in entries.iter().filter(|e| e["status"] == "removed") {
            let of = e["duplicate_of"].as_str().unwrap();
            let survivor = entries.iter().find(|x| x["id"] == of).unwrap();
            prop_assert!(survivor["status"] == "kept" || survivor["status"] == "modified");
        }

        let (out2, ledger2) = (dir.path().join("out2.jsonl"), dir.path().join("ledger2.jsonl"));
        let again = dedup(&out, &out2, &ledger2, &cfg);
        prop_assert_eq!((again.removed, again.modified), (0, 0), "a second pass changed something");
        prop_assert_eq!(fs_err::read(&out).unwrap(), fs_err::read(&out2).unwrap());
    }

    #[test]
    fn one_pass_and_two_passes_agree(records in prop::collection::vec(record(), 1..30)) {
        let dir = tempfile::tempdir().unwrap();
        let input = write_jsonl(dir.path(), &records);
        let mut results = Vec::new();
        for force_two_passes in [false, true] {
            let settings = Settings { near: None, ..Settings::default() };
            let cfg = Config { stats: true, settings, force_two_passes, ..Config::default() };
            prop_assert_eq!(cfg.single_pass(), !force_two_passes);
            let (out, ledger) = (dir.path().join("o.jsonl"), dir.path().join("l.jsonl"));
            let s = dedup(&input, &out, &ledger, &cfg);
            results.push((fs_err::read(&out).unwrap(), fs_err::read(&ledger).unwrap(), s.kept, s.removed));
        }
        prop_assert_eq!(&results[0], &results[1]);
    }

    #[test]
    fn outputs_do_not_depend_on_threads_or_batches(records in prop::collection::vec(record(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let input = write_jsonl(dir.path(), &records);
        let mut results = Vec::new();
        for (threads, batch_records) in [(1, 4096), (2, 1), (3, 7)] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut cfg = Config { stats: true, ..Config::default() };
            cfg.input.layout.batch_records = batch_records;
            let (out, ledger) = (dir.path().join("o.jsonl"), dir.path().join("l.jsonl"));
            pool.install(|| dedup(&input, &out, &ledger, &cfg));
            results.push((fs_err::read(&out).unwrap(), fs_err::read(&ledger).unwrap()));
        }
        prop_assert!(results.windows(2).all(|w| w[0] == w[1]));
    }
}
