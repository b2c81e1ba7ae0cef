//! Repeated substrings across a corpus, end to end (read, normalize, find,
//! map back, cut, write, ledger): a brute-force oracle on random corpora,
//! invariance to threads and memory budget, and planted repeats in real
//! text, ASCII and typographic.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use neardup_core::{Config, NoProgress, Remove, Resources, Settings, SubstringSettings, Summary};
use neardup_io::{Discover, Outputs, Target};
use neardup_text::{Normalizer, Options};
use proptest::prelude::*;
use serde_json::Value;

fn write_jsonl(dir: &Path, records: &[String]) -> PathBuf {
    let path = dir.join("in.jsonl");
    let mut body = String::new();
    for (i, r) in records.iter().enumerate() {
        body.push_str(&serde_json::json!({"id": format!("r{i}"), "text": r}).to_string());
        body.push('\n');
    }
    fs_err::write(&path, body).unwrap();
    path
}

/// Substring settings and the resources of their run.
#[derive(Clone, Default)]
struct SubstringOptions {
    settings: SubstringSettings,
    resources: Resources,
}

/// Substrings alone, as `neardup substrings` runs them.
fn substrings_config(opts: SubstringOptions, normalize: Options) -> Config {
    Config {
        settings: Settings {
            normalize,
            exact: false,
            near: None,
            min_repeat: None,
            substrings: Some(opts.settings),
            ..Settings::default()
        },
        resources: opts.resources,
        ..Config::default()
    }
}

struct Run {
    summary: Summary,
    output: Vec<u8>,
    ledger: Vec<Value>,
}

fn run(dir: &Path, input: &Path, cfg: &Config) -> Run {
    let (out, ledger) = (dir.join("out.jsonl"), dir.join("ledger.jsonl"));
    let sources = Discover::default().sources(&[input.to_path_buf()]).unwrap();
    let outputs = Outputs::new(Target::File(out.clone()), &sources).unwrap();
    let summary = neardup_core::run(&sources, cfg, outputs, Some(&ledger), &NoProgress).unwrap();
    let ledger = fs_err::read_to_string(&ledger)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    Run { summary, output: fs_err::read(&out).unwrap(), ledger }
}

/// No canonical form: the oracle works on raw bytes.
fn identity() -> Options {
    Options { raw: true, ..Options::default() }
}

/// Brute force: byte `p` of record `r` is cut iff a window of `len` bytes
/// of one record covering `p` also occurs at an earlier position (`later`)
/// or at any other position; maximal runs are then shrunk inward to
/// character boundaries. Returns `[start, len]` per record.
fn oracle(texts: &[String], len: usize, later: bool) -> Vec<Vec<[u64; 2]>> {
    let windows: Vec<(usize, usize)> = texts
        .iter()
        .enumerate()
        .flat_map(|(d, t)| {
            (0..=t.len().saturating_sub(len)).filter(move |_| t.len() >= len).map(move |o| (d, o))
        })
        .collect();
    let bytes = |(d, o): (usize, usize)| &texts[d].as_bytes()[o..o + len];
    texts
        .iter()
        .enumerate()
        .map(|(d, t)| {
            let mut cut = vec![false; t.len()];
            for &(wd, wo) in windows.iter().filter(|w| w.0 == d) {
                let marked = windows.iter().any(|&q| {
                    q != (wd, wo) && (!later || q < (wd, wo)) && bytes(q) == bytes((wd, wo))
                });
                if marked {
                    cut[wo..wo + len].iter_mut().for_each(|c| *c = true);
                }
            }
            let mut spans = Vec::new();
            let mut i = 0;
            while i < t.len() {
                if !cut[i] {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < t.len() && cut[i] {
                    i += 1;
                }
                let (mut a, mut b) = (start, i);
                while a < b && !t.is_char_boundary(a) {
                    a += 1;
                }
                while b > a && !t.is_char_boundary(b) {
                    b -= 1;
                }
                if a < b {
                    spans.push([a as u64, (b - a) as u64]);
                }
            }
            spans
        })
        .collect()
}

fn spans_of(entry: &Value) -> Vec<[u64; 2]> {
    entry["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| [s[0].as_u64().unwrap(), s[1].as_u64().unwrap()])
        .collect()
}

fn without(text: &str, spans: &[[u64; 2]]) -> String {
    let mut out = String::new();
    let mut at = 0;
    for [s, l] in spans {
        out.push_str(&text[at..*s as usize]);
        at = (s + l) as usize;
    }
    out.push_str(&text[at..]);
    out
}

/// Random corpora over a few symbols, multi-byte ones sharing continuation
/// bytes (`€` E2 82 AC, `₂` E2 82 82, `é` C3 A9) so that byte repeats can
/// start or end inside a character.
fn corpus() -> impl Strategy<Value = Vec<String>> {
    let symbol = prop::sample::select(vec!["a", "b", " ", "\n", "€", "₂", "é"]);
    prop::collection::vec(prop::collection::vec(symbol, 0..40).prop_map(|s| s.concat()), 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_pipeline_agrees_with_a_brute_force_oracle(
        texts in corpus(),
        len in 2usize..10,
        later in prop::bool::ANY,
    ) {
        let norm = Normalizer::new(identity());
        for t in &texts {
            prop_assert_eq!(&norm.canonical(t), t, "the identity options changed the text");
        }
        let dir = tempfile::tempdir().unwrap();
        let input = write_jsonl(dir.path(), &texts);
        let opts = SubstringOptions {
            settings: SubstringSettings {
                min_len: len,
                remove: if later { Remove::Later } else { Remove::All },
                ..SubstringSettings::default()
            },
            resources: Resources { tmp_dir: dir.path().to_path_buf(), ..Resources::default() },
        };
        let r = run(dir.path(), &input, &substrings_config(opts, identity()));
        let want = oracle(&texts, len, later);
        prop_assert_eq!(r.ledger.len(), texts.len());
        let mut expected_output = String::new();
        for ((entry, spans), text) in r.ledger.iter().zip(&want).zip(&texts) {
            prop_assert_eq!(&spans_of(entry), spans, "record {}: {:?}", entry["id"], text);
            let left = without(text, spans);
            let status = entry["status"].as_str().unwrap();
            match (spans.is_empty(), left.trim().is_empty()) {
                (true, _) => prop_assert_eq!(status, "kept"),
                (false, true) => prop_assert_eq!(status, "removed"),
                (false, false) => prop_assert_eq!(status, "modified"),
            }
            if status != "removed" {
                let id = entry["id"].as_str().unwrap();
                expected_output.push_str(&serde_json::json!({"id": id, "text": left}).to_string());
                expected_output.push('\n');
            }
        }
        prop_assert_eq!(String::from_utf8(r.output).unwrap(), expected_output);
    }

    #[test]
    fn results_do_not_depend_on_threads_or_memory(texts in corpus(), len in 2usize..10) {
        let dir = tempfile::tempdir().unwrap();
        let input = write_jsonl(dir.path(), &texts);
        let mut results = Vec::new();
        for (threads, memory) in [(1, 1 << 30), (2, 300), (3, 4096)] {
            let opts = SubstringOptions {
                settings: SubstringSettings { min_len: len, ..SubstringSettings::default() },
                resources: Resources { memory, tmp_dir: dir.path().to_path_buf() },
            };
            let cfg = substrings_config(opts, Options::default());
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let r = pool.install(|| run(dir.path(), &input, &cfg));
            results.push((r.output, r.ledger));
        }
        prop_assert!(results.windows(2).all(|w| w[0] == w[1]));
    }
}

/// Real prose (public-domain openings of four novels) as host texts, each
/// record one of them with a passage planted at a marked place.
const HOSTS: &[&str] = &[
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. However little known the feelings or views of such a man may be on his first entering a neighbourhood, this truth is so well fixed in the minds of the surrounding families, that he is considered the rightful property of some one or other of their daughters.",
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it was the season of Darkness, it was the spring of hope, it was the winter of despair.",
    "Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse, and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of the world. It is a way I have of driving off the spleen and regulating the circulation.",
    "Happy families are all alike; every unhappy family is unhappy in its own way. Everything was in confusion in the Oblonskys' house. The wife had discovered that the husband was carrying on an intrigue with a French girl, who had been a governess in their family, and she had announced to her husband that she could not go on living in the same house with him.",
];

/// Plants `passage` in the middle of host `h`, glued to a character that
/// differs from host to host (the digit `h`) on each side, so that the
/// repeat is the passage and nothing around it.
fn plant(h: usize, passage: &str) -> (String, std::ops::Range<usize>) {
    let host = HOSTS[h];
    let mid = host.len() / 2;
    let mid = (mid..host.len()).find(|&i| host.is_char_boundary(i)).unwrap();
    let head = format!("{}{h}", &host[..mid]);
    let text = format!("{head}{passage}{h}{}", &host[mid..]);
    (text, head.len()..head.len() + passage.len())
}

/// The first `n` canonical bytes' worth of `source`, as original text.
fn passage(source: &str, n: usize) -> String {
    let norm = Normalizer::new(Options::default());
    let mut end = 0;
    for (i, c) in source.char_indices() {
        let next = i + c.len_utf8();
        if norm.canonical(&source[..next]).len() > n {
            break;
        }
        end = next;
    }
    let p = source[..end].to_string();
    assert_eq!(norm.canonical(&p).len(), n, "cannot take {n} canonical bytes of {source:?}");
    p
}

const SOURCE: &str = "\"Nobody saw it coming,\" the harbour master said -- and he had worked the docks for forty years, through storms, strikes and two floods; the ledger of ships lost tells the rest of the story in plain ink.";

/// The same words with typographic quotes, an em dash, no-break spaces, a
/// ligature and a zero-width space: one canonical form with [`SOURCE`].
fn typographic(ascii: &str) -> String {
    let mut out = String::new();
    let mut open = true;
    for c in ascii.chars() {
        match c {
            '"' => {
                out.push(if open { '\u{201C}' } else { '\u{201D}' });
                open = !open;
            }
            _ => out.push(c),
        }
    }
    out.replace(" -- ", " \u{2014} ")
        .replace("the docks", "the\u{A0}docks")
        .replace("floods", "\u{FB02}oods")
        .replace("plain", "pla\u{200B}in")
}

/// Runs `records` (as `r0`, `r1`, ...) with `opts` (temp files in the
/// run's own directory) through `config`.
fn run_records(
    records: &[String],
    opts: SubstringOptions,
    config: impl FnOnce(SubstringOptions) -> Config,
) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let input = write_jsonl(dir.path(), records);
    let opts = SubstringOptions {
        resources: Resources { tmp_dir: dir.path().to_path_buf(), ..opts.resources },
        ..opts
    };
    run(dir.path(), &input, &config(opts))
}

/// `neardup substrings` on `records`, canonical form, with `opts`.
fn substrings_run(records: &[String], opts: SubstringOptions) -> Run {
    run_records(records, opts, |o| substrings_config(o, Options::default()))
}

fn with(settings: SubstringSettings) -> SubstringOptions {
    SubstringOptions { settings, ..Default::default() }
}

fn planted_run(records: &[String], min_len: usize) -> Run {
    substrings_run(records, with(SubstringSettings { min_len, ..Default::default() }))
}

#[test]
fn planted_repeats_at_the_length_boundary() {
    let norm = Normalizer::new(Options::default());
    assert_eq!(norm.canonical(&typographic(SOURCE)), norm.canonical(SOURCE));
    for n in [99, 100, 101] {
        let p = passage(SOURCE, n);
        let (a, _) = plant(0, &p);
        let (b, in_b) = plant(1, &p);
        let (c, in_c) = plant(2, &typographic(&p));
        let r = planted_run(&[a.clone(), b.clone(), c.clone()], 100);
        let spans: Vec<Vec<[u64; 2]>> = r.ledger.iter().map(spans_of).collect();
        assert!(spans[0].is_empty(), "n={n}: the first copy was cut: {:?}", spans[0]);
        if n < 100 {
            assert!(
                spans.iter().all(Vec::is_empty),
                "n={n}: a repeat under the minimum was cut: {spans:?}"
            );
            continue;
        }
        let whole = |r: &std::ops::Range<usize>| vec![[r.start as u64, r.len() as u64]];
        assert_eq!(spans[1], whole(&in_b), "n={n}: ASCII copy");
        assert_eq!(spans[2], whole(&in_c), "n={n}: typographic copy (its own bytes)");
        // Where the first occurrence lives: record r0, at the passage.
        for e in &r.ledger[1..] {
            assert_eq!(e["first"][0][0], "r0");
            assert_eq!(e["first"][0][1].as_u64().unwrap() as usize, plant(0, &p).1.start);
            assert_eq!(e["reason"], "substring");
        }
        let out = String::from_utf8(r.output).unwrap();
        let texts: Vec<String> = out
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["text"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(texts[0], a);
        assert_eq!(texts[1], format!("{}{}", &b[..in_b.start], &b[in_b.end..]));
        assert_eq!(texts[2], format!("{}{}", &c[..in_c.start], &c[in_c.end..]));
    }
}

#[test]
fn a_repeat_inside_one_record_loses_its_second_copy() {
    let p = passage(SOURCE, 150);
    let host = HOSTS[3];
    let text =
        format!("{}1{p}1{}2{}2{}", &host[..100], &host[100..200], typographic(&p), &host[200..]);
    let second = text.find('\u{201C}').unwrap();
    let r = planted_run(&[HOSTS[0].to_string(), text.clone()], 100);
    assert_eq!(spans_of(&r.ledger[1]), vec![[second as u64, typographic(&p).len() as u64]]);
    assert_eq!(r.ledger[1]["first"][0], serde_json::json!(["r1", 101]));
    assert_eq!(r.summary.modified, 1);
}

#[test]
fn removed_duplicates_are_not_a_source_of_repeats() {
    // r1 is an exact duplicate of r0 (removed); r2 quotes a passage of it.
    // The passage survives in r0, so r2 loses it; had r0 been the removed
    // one, r1 would hold it. Either way it is written once.
    let p = passage(SOURCE, 120);
    let (a, _) = plant(0, &p);
    let (c, in_c) = plant(2, &p);
    let r = run_records(&[a.clone(), a, c], SubstringOptions::default(), |o| Config {
        settings: Settings { near: None, substrings: Some(o.settings), ..Settings::default() },
        resources: o.resources,
        ..Config::default()
    });
    assert_eq!(r.ledger[1]["reason"], "exact");
    assert_eq!(spans_of(&r.ledger[2]), vec![[in_c.start as u64, in_c.len() as u64]]);
    assert_eq!(r.ledger[2]["first"][0][0], "r0");
    let s = r.summary.substrings.unwrap();
    assert_eq!((s.records, s.cuts, s.records_cut), (2, 1, 1));
}

#[test]
fn emptied_records_are_removed_and_min_keep_applies() {
    let p = passage(SOURCE, 150);
    let (a, _) = plant(0, &p);
    let records = [a, p.clone(), format!("{p} ok.")];
    let r = planted_run(&records, 100);
    assert_eq!(r.ledger[1]["status"], "removed");
    assert_eq!(r.ledger[1]["reason"], "substring");
    assert_eq!(r.ledger[1]["duplicate_of"], "r0");
    assert_eq!(r.ledger[2]["status"], "modified");
    assert_eq!(r.summary.removed_substring, 1);

    let r =
        substrings_run(&records, with(SubstringSettings { min_keep: 10, ..Default::default() }));
    assert_eq!(r.ledger[2]["status"], "removed", "` ok.` is under 10 bytes");
    assert_eq!(r.summary.removed_substring, 2);
}

#[test]
fn remove_all_cuts_the_first_copy_too() {
    let p = passage(SOURCE, 120);
    let (a, in_a) = plant(0, &p);
    let (b, in_b) = plant(1, &p);
    let r = substrings_run(
        &[a, b],
        with(SubstringSettings { remove: Remove::All, ..Default::default() }),
    );
    assert_eq!(spans_of(&r.ledger[0]), vec![[in_a.start as u64, in_a.len() as u64]]);
    assert_eq!(spans_of(&r.ledger[1]), vec![[in_b.start as u64, in_b.len() as u64]]);
    // The other place each copy lives.
    assert_eq!(r.ledger[0]["first"][0], serde_json::json!(["r1", in_b.start]));
    assert_eq!(r.ledger[1]["first"][0], serde_json::json!(["r0", in_a.start]));
}
