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

/// The near stage's counts a run reports, spills aside (the memory budget
/// moves them): candidates, verified, removed, bytes stored.
fn near_counts(s: &Summary) -> Option<(u64, u64, u64, u64)> {
    s.near.as_ref().map(|n| (n.candidates, n.verified, n.removed, n.disk_bytes))
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
            let s = pool.install(|| dedup(&input, &out, &ledger, &cfg));
            // The near stage's counts too (how many copies share their
            // set and signature depends on timing; the bytes stored do not).
            let near = near_counts(&s);
            results.push((fs_err::read(&out).unwrap(), fs_err::read(&ledger).unwrap(), near));
        }
        prop_assert!(results.windows(2).all(|w| w[0] == w[1]));
    }

    /// A record whose text an earlier record had is not analysed again; it
    /// is decided and written exactly as if it were, at any batch size
    /// (its first copy may still be in flight), and counted.
    #[test]
    fn copies_of_a_text_take_its_analysis(
        records in prop::collection::vec(record(), 1..20),
        copies in prop::collection::vec((0usize..20, 0usize..40), 1..20),
        keep in prop::sample::select(vec![neardup_core::Keep::First, neardup_core::Keep::Last]),
    ) {
        let mut input = records.clone();
        for (from, to) in copies {
            let text = records[from % records.len()].clone();
            input.insert(to.min(input.len()), text);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = write_jsonl(dir.path(), &input);
        let mut results = Vec::new();
        // One thread and one record per batch: at most two batches are in
        // flight, so a record finds any first copy two or more records
        // before it. A budget too small to note any text turns copies off.
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let first = |k: usize| input.iter().position(|t| *t == input[k]).unwrap_or(k);
        let sure = (0..input.len()).filter(|&k| first(k) + 2 <= k).count() as u64;
        let all = (0..input.len()).filter(|&k| first(k) < k).count() as u64;
        for (batch_records, memory) in [(1, 1 << 30), (4096, 1 << 30), (3, 1 << 30), (1, 512)] {
            let mut cfg = Config { stats: true, ..Config::default() };
            // Keeping the last copy keeps copies: their fingerprints match.
            cfg.settings.keep = keep;
            cfg.input.layout.batch_records = batch_records;
            cfg.resources.memory = memory;
            let (out, ledger) = (dir.path().join("o.jsonl"), dir.path().join("l.jsonl"));
            let s = pool.install(|| dedup(&path, &out, &ledger, &cfg));
            prop_assert!(s.stages.text_copies <= all);
            if memory == 512 {
                prop_assert_eq!(s.stages.text_copies, 0);
            } else if batch_records == 1 {
                prop_assert!(s.stages.text_copies >= sure, "{} < {}", s.stages.text_copies, sure);
            }
            // The near stage's counts too: a copy's shared set and
            // signature count as stored (the budget only moves spills).
            let near = near_counts(&s);
            results.push((fs_err::read(&out).unwrap(), fs_err::read(&ledger).unwrap(), near));
        }
        prop_assert!(results.windows(2).all(|w| w[0] == w[1]));
    }
}

/// One line of an input: a record, or a line that is not JSON.
#[derive(Clone, Debug)]
enum Line {
    Record(String),
    Broken,
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![6 => record().prop_map(Line::Record), 1 => Just(Line::Broken)]
}

/// What a test sink saw of one record.
#[derive(Debug, PartialEq)]
struct Seen {
    index: u64,
    source: u32,
    entry: neardup_core::ledger::Entry,
    written: Option<(Vec<u8>, bool)>,
    text: Option<String>,
    ledger_line: Option<Vec<u8>>,
}

/// Keeps everything it is given, and asks for texts.
struct Collect(std::sync::Arc<std::sync::Mutex<Vec<Seen>>>);

impl neardup_core::Sink for Collect {
    fn wants_text(&self) -> bool {
        true
    }

    fn record(&mut self, r: &neardup_core::Emitted<'_>) -> neardup_core::Result<()> {
        self.0.lock().unwrap().push(Seen {
            index: r.index,
            source: r.source,
            entry: r.entry.clone(),
            written: r.written.map(|w| (w.bytes.to_vec(), w.newline)),
            text: r.text.map(str::to_string),
            ledger_line: r.ledger_line.map(<[u8]>::to_vec),
        });
        Ok(())
    }

    fn commit(self: Box<Self>, _: &mut Summary) -> neardup_core::Result<()> {
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Pass 2 prepares records on every thread and writes them on one: at
    /// any thread count and batch size, the output is the inputs' kept
    /// records as read and modified ones with their ledger spans cut, in
    /// input order, the ledger has one entry per input line in that order,
    /// and a sink sees the same records, texts and ledger lines.
    #[test]
    fn pass_two_writes_what_the_ledger_says_in_input_order(
        files in prop::collection::vec(prop::collection::vec(line(), 1..25), 1..4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut inputs = Vec::new();
        for (f, lines) in files.iter().enumerate() {
            let path = dir.path().join(format!("in{f}.jsonl"));
            let mut body = String::new();
            for (i, l) in lines.iter().enumerate() {
                match l {
                    Line::Record(t) => body.push_str(
                        &serde_json::json!({"id": format!("f{f}r{i}"), "text": t, "n": i}).to_string(),
                    ),
                    Line::Broken => body.push_str(r#"{"id": "broken", "text": "#),
                }
                // The last line of a file may lack its line break.
                if i + 1 < lines.len() || f % 2 == 0 {
                    body.push('\n');
                }
            }
            fs_err::write(&path, body).unwrap();
            inputs.push(path);
        }
        let sources = Discover::default().sources(&inputs).unwrap();
        let mut runs = Vec::new();
        for (threads, batch_records) in [(1, 4096), (3, 1), (3, 5)] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut cfg = Config { stats: true, force_two_passes: true, ..Config::default() };
            cfg.input.on_error = neardup_core::OnError::Skip;
            cfg.input.layout.batch_records = batch_records;
            let (out, ledger) = (dir.path().join("o.jsonl"), dir.path().join("l.jsonl"));
            let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let mut summary = pool.install(|| {
                let outputs = Outputs::new(Target::File(out.clone()), &sources).unwrap();
                let extra: Vec<Box<dyn neardup_core::Sink>> = vec![Box::new(Collect(seen.clone()))];
                neardup_core::run_with(&sources, &cfg, outputs, Some(&ledger), extra, &NoProgress)
                    .unwrap()
            });
            summary.seconds = 0.0;
            summary.stages = Default::default();
            let seen = std::mem::take(&mut *seen.lock().unwrap());
            runs.push((fs_err::read(&out).unwrap(), fs_err::read(&ledger).unwrap(), summary, seen));
        }
        for r in &runs[1..] {
            prop_assert!(r.0 == runs[0].0, "outputs differ");
            prop_assert!(r.1 == runs[0].1, "ledgers differ");
            prop_assert_eq!(&r.2, &runs[0].2);
            prop_assert_eq!(&r.3, &runs[0].3);
        }

        // The output and the sink, against the inputs and the ledger.
        let (out, ledger, summary, seen) = &runs[0];
        let entries: Vec<neardup_core::ledger::Entry> = std::str::from_utf8(ledger)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let lines: Vec<(usize, usize, &Line)> = files
            .iter()
            .enumerate()
            .flat_map(|(f, ls)| ls.iter().enumerate().map(move |(i, l)| (f, i, l)))
            .collect();
        prop_assert_eq!(entries.len(), lines.len());
        prop_assert_eq!(seen.len(), lines.len());
        prop_assert_eq!(summary.read, lines.len() as u64);
        let mut expected: Vec<serde_json::Value> = Vec::new();
        for (k, ((f, i, l), e)) in lines.iter().zip(&entries).enumerate() {
            prop_assert_eq!((&e.source, e.line), (&sources[*f].name, *i as u64 + 1));
            let s = &seen[k];
            prop_assert_eq!((s.index, s.source), (k as u64, *f as u32));
            prop_assert_eq!(&s.entry, e);
            let mut line = serde_json::to_vec(e).unwrap();
            line.push(b'\n');
            prop_assert_eq!(s.ledger_line.as_deref(), Some(&line[..]));
            let status = serde_json::to_value(e.status).unwrap();
            let text = match l {
                Line::Broken => {
                    prop_assert_eq!(status, "rejected");
                    prop_assert_eq!(&s.text, &None);
                    continue;
                }
                Line::Record(t) => t,
            };
            prop_assert_eq!(s.text.as_deref(), Some(text.as_str()));
            let mut kept = text.clone();
            if status == "modified" {
                // The spans are byte ranges of the text, in order.
                kept.clear();
                let mut at = 0;
                for &[start, len] in &e.spans {
                    kept.push_str(&text[at..start as usize]);
                    at = (start + len) as usize;
                }
                kept.push_str(&text[at..]);
            } else if status != "kept" {
                prop_assert_eq!(&s.written, &None);
                continue;
            }
            let record = serde_json::json!({"id": format!("f{f}r{i}"), "text": kept, "n": i});
            let written = s.written.as_ref().unwrap();
            prop_assert_eq!(serde_json::from_slice::<serde_json::Value>(&written.0).unwrap(), record.clone());
            expected.push(record);
        }
        let got: Vec<serde_json::Value> = std::str::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        prop_assert_eq!(got, expected);
    }
}
