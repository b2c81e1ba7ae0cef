//! The report's size budget: a 200,000-record run stays under
//! [`BUDGET`] bytes, and loads in a browser.
//!
//! The run is synthesised (inputs and a ledger that agree, as a run would
//! write them), so that the test measures the report, not deduplication:
//! 200,000 JSONL records of about 520 bytes (104 MB of input), of which in
//! every block of 20 records 2 are exact copies, 1 a typographic copy
//! and 1 a near copy (a word changed) of the block's first three records,
//! and 1 has a repeated passage cut; 1 in 2,000 is rejected. That is 40,000
//! records removed, 10,000 modified, 100 rejected, and 30,000 kept records
//! named by them: a heavy run (a quarter of the corpus touched).
//!
//! The browser check needs Debian's `chromium` (`.ci/run` installs it): it
//! fails without it when `CI` is set, and is skipped otherwise.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use neardup_io::{Discover, Fields, Layout};
use neardup_report::{Inputs, Options, Report};
use neardup_testing::browser::{browse, chromium, view};

/// Records in the run.
const RECORDS: usize = 200_000;
/// The budget: bytes of the report of that run (measured: 31.0 MB).
const BUDGET: u64 = 36 << 20;

/// Deterministic words: a small LCG over syllables.
struct Words(u64);

impl Words {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn word(&mut self, out: &mut String) {
        const SYL: [&str; 16] = [
            "ka", "lo", "mi", "ner", "tu", "sa", "vel", "or", "pi", "den", "ru", "ma", "go", "lin",
            "te", "qua",
        ];
        for _ in 0..2 + self.next() % 3 {
            out.push_str(SYL[(self.next() % 16) as usize]);
        }
    }

    /// About 520 bytes: four lines, one with quotes and a dash.
    fn text(&mut self) -> String {
        let mut t = String::new();
        for line in 0..4 {
            for w in 0..14 {
                if w > 0 {
                    t.push(' ');
                }
                if line == 1 && w == 3 {
                    t.push_str("\"quoted words\" -- ");
                }
                self.word(&mut t);
            }
            t.push_str(".\n");
        }
        t
    }
}

fn typographic(t: &str) -> String {
    t.replacen('"', "\u{201C}", 1).replacen('"', "\u{201D}", 1).replace(" -- ", " \u{2014} ")
}

fn entry(source: &str, id: &str, line: u64, status: &str, rest: serde_json::Value) -> String {
    let mut e = serde_json::json!({
        "id": id, "source": source, "line": line, "status": status, "reason": null,
        "duplicate_of": null, "similarity": null, "spans": [], "first": [], "error": null,
        "repetition": null,
    });
    if let (Some(e), serde_json::Value::Object(rest)) = (e.as_object_mut(), rest) {
        e.extend(rest);
    }
    e.to_string()
}

/// Writes the corpus of `records` records and its ledger into `dir`, then
/// `extra` more records, all kept and named by none.
fn synthesise(dir: &Path, records: usize, extra: usize) {
    let path = dir.join("corpus.jsonl");
    let source = path.display().to_string();
    let entry = |id: &str, line: u64, status: &str, rest| entry(&source, id, line, status, rest);
    let mut corpus = BufWriter::new(fs_err::File::create(&path).unwrap());
    let mut ledger = BufWriter::new(fs_err::File::create(dir.join("ledger.jsonl")).unwrap());
    let header = serde_json::json!({
        "neardup_ledger": 1, "version": "0.1.0",
        "settings": {
            "normalize": {}, "text_field": "text", "id_field": "id", "keep": "first", "exact": true,
            "near": {"threshold": 0.8, "similarity": "jaccard", "bands": 21, "rows": 6},
            "thresholds": [],
        },
    });
    writeln!(ledger, "{header}").unwrap();
    let mut words = Words(7);
    let mut block: Vec<String> = Vec::new();
    for i in 0..records + extra {
        let (line, j) = (i as u64 + 1, if i < records { i % 20 } else { 19 });
        let id = format!("doc-{i}");
        let first = |k: usize| format!("doc-{}", i - j + k);
        if i % 2000 == 1999 && i < records {
            writeln!(corpus, "{{\"id\": \"{id}\", \"text\": 3}}").unwrap();
            let error = serde_json::json!({"error": "field `text` is a number, expected a string"});
            writeln!(ledger, "{}", entry(&format!("{source}:{line}"), line, "rejected", error))
                .unwrap();
            continue;
        }
        let (text, e) = match j {
            0..=2 => {
                let t = words.text();
                block.truncate(j);
                block.push(t.clone());
                (t, entry(&id, line, "kept", serde_json::json!({})))
            }
            14 | 15 => (
                block[0].clone(),
                entry(
                    &id,
                    line,
                    "removed",
                    serde_json::json!({"reason": "exact", "duplicate_of": first(0), "similarity": 1.0}),
                ),
            ),
            16 => (
                typographic(&block[1]),
                entry(
                    &id,
                    line,
                    "removed",
                    serde_json::json!({"reason": "exact", "duplicate_of": first(1), "similarity": 1.0}),
                ),
            ),
            17 => {
                let mut t = block[2].clone();
                let at = t.find(' ').unwrap();
                t.replace_range(..at, "changed");
                (
                    t,
                    entry(
                        &id,
                        line,
                        "removed",
                        serde_json::json!({"reason": "near", "duplicate_of": first(2), "similarity": 0.9}),
                    ),
                )
            }
            18 => {
                let t = words.text();
                let start = t.len();
                let passage = &t[..200];
                let doubled = format!("{t}{passage}");
                let rest = serde_json::json!({"reason": "repeat", "similarity": 1.0, "spans": [[start, 200]], "first": [[id, 0]]});
                (doubled, entry(&id, line, "modified", rest))
            }
            _ => (words.text(), entry(&id, line, "kept", serde_json::json!({}))),
        };
        writeln!(corpus, "{}", serde_json::json!({"id": id, "text": text})).unwrap();
        writeln!(ledger, "{e}").unwrap();
    }
    corpus.flush().unwrap();
    ledger.flush().unwrap();
}

#[test]
fn issue_12_a_200k_record_report_stays_within_its_budget_and_loads() {
    let dir = tempfile::tempdir().unwrap();
    synthesise(dir.path(), RECORDS, 0);
    let input = fs_err::metadata(dir.path().join("corpus.jsonl")).unwrap().len();
    let started = Instant::now();
    let report = build(dir.path());
    let built = started.elapsed();
    let html = std::env::var_os("NEARDUP_KEEP_REPORT")
        .map_or_else(|| dir.path().join("report.html"), std::path::PathBuf::from);
    let size = report.write_to(&html).unwrap();
    let stats = report.stats();
    eprintln!(
        "report of {RECORDS} records ({input} bytes in): {size} bytes, {} records listed, {} clusters, {} bytes of text; built in {:.1} s",
        stats.records,
        stats.clusters,
        stats.text_bytes,
        built.as_secs_f64()
    );
    assert_eq!(stats.clusters, 3 * RECORDS / 20, "a cluster per named record");
    assert_eq!(stats.texts_omitted, 0);
    assert!(size <= BUDGET, "the report is {size} bytes, over its budget of {BUDGET}");

    let Some(chromium) = chromium() else { return };
    for (fragment, expect) in [
        ("summary", format!("id=\"count-read\">{}</span>", fmt_num(RECORDS as u64))),
        ("cluster=0", "Removed <code>doc-14</code>".to_string()),
    ] {
        let started = Instant::now();
        let dom = view(&browse(chromium, &html, fragment, None), fragment);
        // The page's own clock: when its first view was drawn (the rest is
        // the browser starting, and serialising the DOM for us).
        let ready = dom.split("data-ready-ms=\"").nth(1).and_then(|s| s.split('"').next());
        eprintln!(
            "chromium: #{fragment} drawn {} ms after navigation; {:.1} s with start-up and DOM dump",
            ready.unwrap_or("?"),
            started.elapsed().as_secs_f64()
        );
        assert!(dom.contains(&expect), "#{fragment} lacks {expect}");
    }
}

/// The report of the run synthesised in `dir`.
fn build(dir: &Path) -> Report {
    let sources = Discover::default().sources(&[dir.join("corpus.jsonl")]).unwrap();
    let fields = Fields::default();
    let inputs = Inputs { sources: &sources, layout: Layout::default(), fields: &fields };
    let ledger = dir.join("ledger.jsonl");
    Report::build(&ledger, &inputs, None, &Options::default(), &neardup_core::NoProgress).unwrap()
}

#[test]
fn issue_12_kept_records_add_counts_not_size() {
    // The same run, then with ten times as many records kept and named by
    // none: the report holds the same records and grows by a few digits.
    let (small, large) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    synthesise(small.path(), 2000, 0);
    synthesise(large.path(), 2000, 20_000);
    let mut sizes = Vec::new();
    for dir in [&small, &large] {
        let report = build(dir.path());
        let mut html = Vec::new();
        report.write_html(&mut html).unwrap();
        sizes.push((html.len() as i64, report.stats()));
    }
    assert_eq!(sizes[0].1.records, sizes[1].1.records);
    assert_eq!(sizes[0].1.text_bytes, sizes[1].1.text_bytes);
    let grew = sizes[1].0 - sizes[0].0;
    assert!((0..200).contains(&grew), "20,000 kept records added {grew} bytes");
}

/// `n` with thousands separators, as the page writes it.
fn fmt_num(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
