//! `neardup dedup`: inputs, outputs, keep policies, record units.

use std::io::Write;

use crate::{files, ledger, neardup};

const STRAIGHT: &str =
    "The minister said \"we will not resign\" -- and left the room. It's over, he added.\n";
/// The same words: curly quotes, an em-dash, NFD accents would go here,
/// a no-break space and a zero-width space.
const CURLY: &str = "The minister said \u{201C}we will not resign\u{201D} \u{2014} and left\u{00A0}the room. It\u{2019}s over,\u{200B} he added.\n";

#[test]
fn typographic_variants_across_files_are_one_cluster() {
    let dir = tempfile::tempdir().unwrap();
    files(
        dir.path(),
        &[
            ("in/a.txt", STRAIGHT.as_bytes()),
            ("in/b.txt", CURLY.as_bytes()),
            ("in/c.txt", b"Something else entirely.\n"),
        ],
    );
    let run = neardup(dir.path(), &["dedup", "in", "-o", "out", "--ledger", "l.jsonl"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(fs_err::read_to_string(dir.path().join("out/a.txt")).unwrap(), STRAIGHT);
    assert!(!dir.path().join("out/b.txt").exists());
    assert!(dir.path().join("out/c.txt").exists());
    let (header, entries) = ledger(&dir.path().join("l.jsonl"));
    assert_eq!(header["neardup_ledger"], 1);
    assert_eq!(entries[1]["status"], "removed");
    assert_eq!(entries[1]["reason"], "exact");
    assert_eq!(entries[1]["duplicate_of"], "in/a.txt");
    assert_eq!(entries[1]["id"], "in/b.txt");
}

#[test]
fn nfd_accents_match_nfc() {
    let dir = tempfile::tempdir().unwrap();
    let nfc = "{\"text\":\"Caf\u{00E9} cr\u{00E8}me\"}\n";
    let nfd = "{\"text\":\"Cafe\u{0301} cre\u{0300}me\"}\n";
    files(dir.path(), &[("a.jsonl", format!("{nfc}{nfd}").as_bytes())]);
    let run = neardup(dir.path(), &["dedup", "a.jsonl"], None);
    assert_eq!(run.stdout_str(), nfc);
}

#[test]
fn jsonl_fields_pass_through_in_order_and_text_is_spliced() {
    let dir = tempfile::tempdir().unwrap();
    let para = "This paragraph is long enough to count as a repeated passage, well over the hundred character minimum.";
    let twice = format!("{para}\\n{para}");
    let input = format!(
        "{{\"url\":\"u1\",\"text\":\"{twice}\",\"meta\":{{\"z\":1,\"a\":[1.50,2]}},\"id\":\"x\"}}\n\
         {{\"id\":\"y\",\"text\":\"short one\",\"n\":1e3}}\n\
         {{\"id\":\"z\",\"text\":\"Short  One\"}}\n"
    );
    files(dir.path(), &[("a.jsonl", input.as_bytes())]);
    let run =
        neardup(dir.path(), &["dedup", "a.jsonl", "-o", "out.jsonl", "--ledger", "l.jsonl"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = fs_err::read_to_string(dir.path().join("out.jsonl")).unwrap();
    assert_eq!(
        out,
        format!(
            "{{\"url\":\"u1\",\"text\":\"{para}\\n\",\"meta\":{{\"z\":1,\"a\":[1.50,2]}},\"id\":\"x\"}}\n\
             {{\"id\":\"y\",\"text\":\"short one\",\"n\":1e3}}\n"
        )
    );
    let (_, e) = ledger(&dir.path().join("l.jsonl"));
    assert_eq!(e[0]["status"], "modified");
    assert_eq!(e[0]["spans"], serde_json::json!([[para.len() + 1, para.len()]]));
    assert_eq!(e[2]["duplicate_of"], "y");
}

#[test]
fn ids_default_to_source_and_line() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path(), &[("a.jsonl", b"{\"text\":\"one\"}\n\n{\"text\":\"one\"}\n")]);
    let run =
        neardup(dir.path(), &["dedup", "a.jsonl", "-o", "o.jsonl", "--ledger", "l.jsonl"], None);
    assert_eq!(run.code, 0);
    let (_, e) = ledger(&dir.path().join("l.jsonl"));
    assert_eq!((e[0]["id"].as_str(), e[1]["id"].as_str()), (Some("a.jsonl:1"), Some("a.jsonl:3")));
    assert_eq!(e[1]["duplicate_of"], "a.jsonl:1");
    assert_eq!(e[1]["line"], 3);
}

#[test]
fn keep_policies() {
    let dir = tempfile::tempdir().unwrap();
    let input = "{\"id\":\"a\",\"text\":\"Same text\"}\n{\"id\":\"b\",\"text\":\"same   TEXT \u{200B}\"}\n{\"id\":\"c\",\"text\":\"same text\"}\n";
    files(dir.path(), &[("a.jsonl", input.as_bytes())]);
    let kept = |keep: &str| {
        let run = neardup(dir.path(), &["dedup", "a.jsonl", "--keep", keep], None);
        assert_eq!(run.code, 0);
        run.stdout_str()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(kept("first"), ["a"]);
    assert_eq!(kept("last"), ["c"]);
    assert_eq!(kept("longest"), ["b"]);
}

#[test]
fn lines_and_paragraphs_as_records() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path(), &[("a.txt", b"alpha line\nbeta line\nALPHA  line\n\ngamma\n")]);
    let run = neardup(dir.path(), &["dedup", "--records", "lines", "a.txt"], None);
    assert_eq!(run.stdout_str(), "alpha line\nbeta line\ngamma\n");
    files(
        dir.path(),
        &[(
            "p.txt",
            b"Para one,\nits second line.\n\nPara two.\n\n\npara ONE,\nits  second line.\n\nEnd.",
        )],
    );
    let run = neardup(dir.path(), &["dedup", "--records", "paragraphs", "p.txt"], None);
    assert_eq!(run.stdout_str(), "Para one,\nits second line.\n\nPara two.\n\n\nEnd.\n");
}

#[test]
fn compressed_inputs_are_detected_by_magic_and_mirrored() {
    let dir = tempfile::tempdir().unwrap();
    let body = "{\"text\":\"one\"}\n{\"text\":\"two\"}\n{\"text\":\"ONE\"}\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::encode_all(body.as_bytes(), 3).unwrap();
    // Misleading names: detection is by content.
    files(dir.path(), &[("in/a.jsonl", &gz), ("in/b.jsonl", &zst)]);
    let run = neardup(dir.path(), &["dedup", "in", "-o", "out", "--json"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(
        (s["read"].as_u64(), s["kept"].as_u64(), s["removed"].as_u64()),
        (Some(6), Some(2), Some(4))
    );
    let a = fs_err::read(dir.path().join("out/a.jsonl")).unwrap();
    assert_eq!(&a[..2], &[0x1f, 0x8b], "gzip in, gzip out");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&a[..]), &mut text).unwrap();
    assert_eq!(text, "{\"text\":\"one\"}\n{\"text\":\"two\"}\n");
    // Everything in b.jsonl duplicates a.jsonl: no output file for it.
    assert!(!dir.path().join("out/b.jsonl").exists());
}

#[test]
fn stdin_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let run = neardup(
        dir.path(),
        &["dedup", "-"],
        Some(b"{\"text\":\"a\"}\n{\"text\":\"A\"}\n{\"text\":\"b\"}"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout_str(), "{\"text\":\"a\"}\n{\"text\":\"b\"}\n");
    let run = neardup(dir.path(), &["dedup", "--ledger", "l.jsonl"], Some(b"plain text\n"));
    assert_eq!(run.stdout_str(), "plain text\n");
    let (_, e) = ledger(&dir.path().join("l.jsonl"));
    assert_eq!(e[0]["id"], "<stdin>");
}

#[test]
fn json_summary_and_human_summary() {
    let dir = tempfile::tempdir().unwrap();
    files(
        dir.path(),
        &[("a.jsonl", b"{\"id\":\"1\",\"text\":\"x\"}\n{\"id\":\"2\",\"text\":\"X\"}\n")],
    );
    let run = neardup(dir.path(), &["dedup", "a.jsonl", "-o", "out.jsonl", "--json"], None);
    insta::assert_snapshot!(run.snapshot(dir.path()), @r#"
    exit: 0
    ----- stdout -----
    {"type":"summary","schema":1,"read":2,"kept":1,"modified":0,"removed":1,"rejected":0,"removed_exact":1,"removed_near":0,"removed_repetition":0,"removed_substring":0,"spans_cut":0,"bytes_cut":0,"bytes_in":44,"bytes_out":22,"seconds":[SECONDS],"near":{"bands":21,"rows":6,"s_curve":[[0.7,0.9278],[0.8,0.9983],[0.9,1.0]],"candidates":0,"verified":0,"removed":0,"disk_bytes":1040,"spilled_runs":0},"substrings":null,"stages":[STAGES]}

    ----- stderr -----
    neardup: read 2 · kept 1 · modified 0 · removed 1 · rejected 0 · 44 B in, 22 B out, [SECONDS] s
      removed: 1 exact duplicates, 0 near duplicates, 0 repetitive, 0 emptied by substring cuts
      near: 21 bands × 6 rows; P(candidate) at 0.70 → 0.928, 0.80 → 0.998, 0.90 → 1.000; 0 candidate pairs, 0 verified
      removed `2`: exact duplicate of `1` (similarity 1.00)
    "#);
    let quiet = neardup(dir.path(), &["dedup", "a.jsonl", "-o", "out.jsonl", "--quiet"], None);
    assert_eq!((quiet.code, quiet.stderr.as_str(), quiet.stdout.len()), (0, "", 0));
}

/// `--json` says where the time went: each pass, each deciding stage, and
/// the CPU time of each step of analysis.
#[test]
fn json_summary_has_seconds_per_stage() {
    let dir = tempfile::tempdir().unwrap();
    let body: String = (0..400)
        .map(|i| {
            format!(
                "{{\"text\":\"record {i} holds a few words of text, more or less {}\"}}\n",
                i % 7
            )
        })
        .collect();
    files(dir.path(), &[("a.jsonl", body.as_bytes())]);
    let run = neardup(dir.path(), &["dedup", "a.jsonl", "-o", "out.jsonl", "--json"], None);
    let s: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let st = &s["stages"];
    for key in ["read", "write"] {
        assert!(st[key].as_f64().unwrap() > 0.0, "{key}: {st}");
    }
    for key in ["normalize", "repeats", "stats", "hash", "fingerprint"] {
        assert!(st["analysis"][key].as_f64().unwrap() >= 0.0, "{key}: {st}");
    }
    assert!(st["analysis"]["normalize"].as_f64().unwrap() > 0.0, "{st}");
    assert!(st["analysis"]["fingerprint"].as_f64().unwrap() > 0.0, "{st}");
    for key in ["exact", "near", "substrings"] {
        assert!(st["decide"][key].as_f64().unwrap() >= 0.0, "{key}: {st}");
    }
    assert!(st["read"].as_f64().unwrap() <= s["seconds"].as_f64().unwrap());
}

#[test]
fn repetitive_records_can_be_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let spam = "buy now\n".repeat(10);
    let input = format!("{{\"text\":{}}}\n{{\"text\":\"an ordinary sentence with nothing repeated in it at all\"}}\n", serde_json::to_string(&spam).unwrap());
    files(dir.path(), &[("a.jsonl", input.as_bytes())]);
    let run = neardup(
        dir.path(),
        &["dedup", "a.jsonl", "--drop-repetitive", "--ledger", "l.jsonl"],
        None,
    );
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout_str().lines().count(), 1);
    let (_, e) = ledger(&dir.path().join("l.jsonl"));
    assert_eq!(e[0]["reason"], "repetition");
    assert_eq!(e[0]["error"], "dup_line_frac 0.900 > 0.3");
    assert_eq!(e[0]["repetition"]["dup_line_frac"], 0.9);
    // Off by default.
    let run = neardup(dir.path(), &["dedup", "a.jsonl"], None);
    assert_eq!(run.stdout_str().lines().count(), 2);
}

#[test]
fn output_does_not_depend_on_threads_or_batches() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::new();
    for i in 0..300 {
        let t = match i % 7 {
            0 => "A recurring sentence that many records share, said here with \u{201C}curly quotes\u{201D}.".to_string(),
            1 => "A recurring sentence that many records share, said here with \"curly quotes\".".to_string(),
            _ => format!("record {} says something of its own, number {}", i, i * 31 % 17),
        };
        body.push_str(&serde_json::json!({"id": i, "text": t}).to_string());
        body.push('\n');
    }
    files(dir.path(), &[("a.jsonl", body.as_bytes())]);
    let mut outs = Vec::new();
    for (threads, batch) in [("1", "4096"), ("2", "1"), ("8", "13")] {
        let run = neardup(
            dir.path(),
            &[
                "dedup",
                "a.jsonl",
                "-o",
                "o.jsonl",
                "--ledger",
                "l.jsonl",
                "-j",
                threads,
                "--batch-records",
                batch,
            ],
            None,
        );
        assert_eq!(run.code, 0);
        outs.push((
            fs_err::read(dir.path().join("o.jsonl")).unwrap(),
            fs_err::read(dir.path().join("l.jsonl")).unwrap(),
        ));
    }
    assert!(outs.windows(2).all(|w| w[0] == w[1]));
}
