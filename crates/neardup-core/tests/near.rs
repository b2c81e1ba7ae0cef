//! Near-duplicate invariants: identical texts always cluster; with
//! verification on, no record is removed as a duplicate of one below the
//! threshold (checked against an independent Jaccard); the kept set does not
//! depend on input order beyond what the keep policy decides.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use neardup_core::{Config, Keep, NearSettings, NoProgress, Settings};
use neardup_io::{Discover, Outputs, Target};
use neardup_sketch::{jaccard, shingle, Shingling};
use neardup_text::Normalizer;
use proptest::prelude::*;

const WORDS: &[&str] = &[
    "the",
    "committee",
    "met",
    "on",
    "tuesday",
    "to",
    "discuss",
    "budget",
    "for",
    "coming",
    "year",
    "plans",
    "new",
    "library",
    "rain",
    "expected",
    "across",
    "northern",
    "half",
    "country",
    "strong",
    "winds",
    "coast",
    "evening",
    "shares",
    "fell",
    "after",
    "profits",
    "\u{201C}quoted\u{201D}",
    "it\u{2019}s",
];

/// A base text and light edits of it: records that are near copies of one
/// another, of random similarity around the threshold.
fn corpus() -> impl Strategy<Value = Vec<String>> {
    let base = prop::collection::vec(prop::sample::select(WORDS), 20..60);
    (base, prop::collection::vec((0usize..60, 0usize..WORDS.len(), 0u8..3), 0..12), 1usize..6)
        .prop_map(|(base, edits, copies)| {
            let mut out = vec![base.join(" ")];
            for c in 0..copies {
                let mut w: Vec<&str> = base.clone();
                for (k, &(pos, word, op)) in edits.iter().enumerate() {
                    if k % copies != c {
                        continue;
                    }
                    let pos = pos % w.len().max(1);
                    match op {
                        0 => w[pos] = WORDS[word],
                        1 => w.insert(pos, WORDS[word]),
                        _ if w.len() > 5 => drop(w.remove(pos)),
                        _ => {}
                    }
                }
                out.push(w.join(" "));
            }
            out
        })
}

fn write_jsonl(dir: &Path, name: &str, texts: &[(usize, &String)]) -> PathBuf {
    let path = dir.join(name);
    let body: String = texts
        .iter()
        .map(|(i, t)| serde_json::json!({"id": format!("r{i}"), "text": t}).to_string() + "\n")
        .collect();
    fs_err::write(&path, body).unwrap();
    path
}

/// Runs dedup (exact off, so near matching does all the work) and returns
/// the ledger entries.
fn run(input: &Path, cfg: &Config) -> Vec<serde_json::Value> {
    let dir = input.parent().unwrap();
    let sources = Discover::default().sources(&[input.to_path_buf()]).unwrap();
    let ledger = dir.join("ledger.jsonl");
    let outputs = Outputs::new(Target::Discard, &sources).unwrap();
    neardup_core::run(&sources, cfg, outputs, Some(&ledger), &NoProgress).unwrap();
    fs_err::read_to_string(&ledger)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Exact Jaccard of word 5-gram shingle sets, computed here from scratch.
fn oracle_jaccard(a: &str, b: &str) -> f64 {
    let n = Normalizer::default();
    let set = |t: &str| {
        let flat = n.canonical(t).split_ascii_whitespace().collect::<Vec<_>>().join(" ");
        let mut h = Vec::new();
        Shingling::Word(5).shingle_hashes(&flat, NearSettings::default().seed, &mut h);
        shingle::into_set(&mut h);
        h
    };
    jaccard::jaccard(&set(a), &set(b))
}

fn near_only(keep: Keep) -> Config {
    Config {
        settings: Settings { exact: false, min_repeat: None, keep, ..Settings::default() },
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn removed_records_are_within_the_threshold_of_their_kept_record(texts in corpus()) {
        let dir = tempfile::tempdir().unwrap();
        let indexed: Vec<(usize, &String)> = texts.iter().enumerate().collect();
        let input = write_jsonl(dir.path(), "in.jsonl", &indexed);
        let entries = run(&input, &near_only(Keep::First));
        for (i, e) in entries.iter().enumerate() {
            if e["status"] != "removed" {
                continue;
            }
            let of: usize = e["duplicate_of"].as_str().unwrap()[1..].parse().unwrap();
            prop_assert!(of < i, "keep first: the kept record comes first");
            let j = oracle_jaccard(&texts[i], &texts[of]);
            prop_assert!(j >= 0.8, "r{} removed as a duplicate of r{} at J = {}", i, of, j);
            prop_assert!((e["similarity"].as_f64().unwrap() - j).abs() < 1e-4);
            prop_assert_eq!(&entries[of]["status"], "kept");
        }
    }

    #[test]
    fn identical_texts_always_cluster(texts in corpus()) {
        let dir = tempfile::tempdir().unwrap();
        // Each text twice, the copy with other typography and spacing.
        let mut doubled: Vec<String> = Vec::new();
        for t in &texts {
            doubled.push(t.clone());
            doubled.push(t.replace(['\u{201C}', '\u{201D}'], "\"").replace(' ', "  "));
        }
        let indexed: Vec<(usize, &String)> = doubled.iter().enumerate().collect();
        let input = write_jsonl(dir.path(), "in.jsonl", &indexed);
        let entries = run(&input, &near_only(Keep::First));
        for pair in entries.chunks(2) {
            // The copy goes, with whatever the original went with.
            prop_assert_eq!(&pair[1]["status"], "removed");
        }
    }

    #[test]
    fn kept_set_does_not_depend_on_input_order(texts in corpus(), seed in any::<u64>()) {
        // Distinct lengths, so that `--keep longest` decides every tie.
        let mut texts = texts;
        texts.sort();
        texts.dedup();
        let mut by_len: Vec<(usize, &String)> = texts.iter().enumerate().collect();
        by_len.sort_by_key(|(_, t)| t.len());
        by_len.dedup_by_key(|(_, t)| t.len());
        let mut shuffled = by_len.clone();
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let dir = tempfile::tempdir().unwrap();
        let kept = |name: &str, recs: &[(usize, &String)]| {
            let input = write_jsonl(dir.path(), name, recs);
            let mut ids: Vec<String> = run(&input, &near_only(Keep::Longest))
                .iter()
                .filter(|e| e["status"] == "kept")
                .map(|e| e["id"].as_str().unwrap().to_string())
                .collect();
            ids.sort();
            ids
        };
        prop_assert_eq!(kept("a.jsonl", &by_len), kept("b.jsonl", &shuffled));
    }
}
