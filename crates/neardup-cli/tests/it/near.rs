//! Near duplicates through the CLI: `dedup`, `clusters`, `explain`.

use crate::{files, ledger, neardup};

/// An article and edited copies of it, as a wire service's clients run it.
fn wire() -> String {
    let base = "Senior Iraqi military commanders hosted their Russian, Iranian and Syrian counterparts in Baghdad on Saturday to discuss security cooperation and information-sharing in the Middle East, where the Islamic State group continues to carry out attacks. The Iraqi defence ministry said it had received delegations led by their respective deputy chiefs of staff.";
    let headline = format!("Iraq hosts regional military talks. {base}");
    let curly = base
        .replace("information-sharing", "information\u{2013}sharing")
        .replace("Saturday", "Sunday");
    let other = "The festival, which draws thousands of visitors each summer, will return to the old harbour this year with a new programme of concerts, open-air cinema and food stalls along the quay.";
    [("a", base.to_string()), ("b", headline), ("c", curly), ("d", other.to_string())]
        .iter()
        .map(|(id, t)| serde_json::json!({"id": id, "text": t}).to_string() + "\n")
        .collect()
}

#[test]
fn edited_copies_are_removed_with_their_similarity() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path(), &[("w.jsonl", wire().as_bytes())]);
    let run =
        neardup(dir.path(), &["dedup", "w.jsonl", "-o", "o.jsonl", "--ledger", "l.jsonl"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (_, e) = ledger(&dir.path().join("l.jsonl"));
    let status: Vec<(&str, &str)> =
        e.iter().map(|x| (x["id"].as_str().unwrap(), x["status"].as_str().unwrap())).collect();
    assert_eq!(status, [("a", "kept"), ("b", "removed"), ("c", "removed"), ("d", "kept")]);
    for x in &e[1..3] {
        assert_eq!(x["reason"], "near");
        assert_eq!(x["duplicate_of"], "a");
        let s = x["similarity"].as_f64().unwrap();
        assert!((0.8..1.0).contains(&s), "{s}");
    }
    // Off: everything stays; a higher threshold keeps the headline copy.
    let off = neardup(dir.path(), &["dedup", "w.jsonl", "--no-near"], None);
    assert_eq!(off.stdout_str().lines().count(), 4);
    let strict = neardup(dir.path(), &["dedup", "w.jsonl", "--threshold", "0.95"], None);
    assert_eq!(strict.stdout_str().lines().count(), 4);
}

#[test]
fn clusters_name_the_kept_record() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path(), &[("w.jsonl", wire().as_bytes())]);
    let run = neardup(dir.path(), &["clusters", "w.jsonl", "-o", "c.jsonl", "--json"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines = fs_err::read_to_string(dir.path().join("c.jsonl")).unwrap();
    let rows: Vec<serde_json::Value> =
        lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let clusters: Vec<&str> = rows.iter().map(|r| r["cluster"].as_str().unwrap()).collect();
    assert_eq!(clusters, ["a", "a", "a", "d"]);
    assert_eq!(rows[0]["similarity"], 1.0);
    let s: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(s["histogram"], serde_json::json!({"1": 1, "3": 1}));
    assert_eq!((s["read"].as_u64(), s["clusters"].as_u64()), (Some(4), Some(2)));

    let pairs = neardup(dir.path(), &["clusters", "--pairs", "w.jsonl"], None);
    let found: Vec<(String, String)> = pairs
        .stdout_str()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["a"].as_str().unwrap().to_string(), v["b"].as_str().unwrap().to_string())
        })
        .collect();
    // b (a headline added) and c (a word changed) are each within 0.8 of a,
    // not of each other: the pairs say so, and the clusters above keep both
    // with a rather than chaining.
    assert_eq!(found, [("a".into(), "b".into()), ("a".into(), "c".into())]);
}

#[test]
fn clusters_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path(), &[("w.jsonl", wire().as_bytes())]);
    let run = neardup(dir.path(), &["clusters", "w.jsonl"], None);
    insta::assert_snapshot!(run.snapshot(dir.path()), @r#"
    exit: 0
    ----- stdout -----
    {"id":"a","cluster":"a","similarity":1.0,"reason":null,"error":null}
    {"id":"b","cluster":"a","similarity":0.9056604,"reason":"near","error":null}
    {"id":"c","cluster":"a","similarity":0.8113208,"reason":"near","error":null}
    {"id":"d","cluster":"d","similarity":1.0,"reason":null,"error":null}

    ----- stderr -----
    neardup: read 4 · 2 clusters · 2 duplicates · 0 filtered · 0 rejected · [SECONDS] s
      cluster sizes (clusters×size): 1×1 1×3
      near: 21 bands × 6 rows; P(candidate) at 0.70 → 0.928, 0.80 → 0.998, 0.90 → 1.000; 3 candidate pairs, 2 verified
    "#);
}

#[test]
fn explain_shows_why() {
    let dir = tempfile::tempdir().unwrap();
    files(
        dir.path(),
        &[
            ("a.txt", "He said \"we will not resign\" -- and left the room.\nThe second line stays.\n".as_bytes()),
            ("b.txt", "He said \u{201C}we will not resign\u{201D} \u{2014} and left the room.\nThe second line stays.\n".as_bytes()),
        ],
    );
    let run = neardup(dir.path(), &["explain", "a.txt", "b.txt", "--limit", "2"], None);
    insta::assert_snapshot!(run.snapshot(dir.path()), @r#"
    exit: 0
    ----- stdout -----
    A: a.txt (74 bytes, 11 shingles)
    B: b.txt (79 bytes, 11 shingles)

    dedup A         kept
    dedup B         removed: exact duplicate of a.txt (similarity 1.0000)
    exact           equal canonical forms (texts as written)

    shingles        word:5
    jaccard         1.0000  (exact, on the shingle sets)
    containment     1.0000  (share of the smaller set in the larger)
    estimate        1.0000  (MinHash, minhash × 128)
    lsh             21 bands × 6 rows; 21 of 21 bands collided: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20
    near            near duplicates (similarity 1.0000, threshold 0.8)

    shared: 11 shingles
      "\"we will not resign\" -"
      "- and left the room."
      … 9 more

    only in A: 0 shingles

    only in B: 0 shingles

    diff of the original texts, aligned on their canonical form (A | B):
      ≈ same text after folding quotes, dashes, spaces and case; [-only in A-] {+only in B+}
    ≈ He said "we will not resign" -- and left the room.           | He said “we will not resign” — and left the room.
      The second line stays.                                       | The second line stays.

    ----- stderr -----
    "#);
    // Ids in an input, and JSON out.
    files(dir.path(), &[("w.jsonl", wire().as_bytes())]);
    let run = neardup(dir.path(), &["explain", "a", "d", "--in", "w.jsonl", "--json"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let e: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(e["duplicates"], false);
    assert_eq!(e["jaccard"], 0.0);
    let missing = neardup(dir.path(), &["explain", "a", "zz", "--in", "w.jsonl"], None);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("no record with id `zz`"), "{}", missing.stderr);
}

/// B is A said twice, the second copy typographically different: `dedup`
/// cuts B's repeat and removes B as an exact duplicate of A, and `explain`
/// says the same (it once answered "not near duplicates (0.67)" from the
/// uncut text).
#[test]
fn explain_agrees_with_dedup_on_a_record_said_twice() {
    let dir = tempfile::tempdir().unwrap();
    let a = "The council approved the new budget after a long debate about schools, roads \
             and the harbour, and the mayor said \"we will build it\" -- then thanked everyone.";
    let b = format!(
        "{a}\n{}",
        a.replace("\"we", "\u{201C}we").replace("it\"", "it\u{201D}").replace("--", "\u{2014}")
    );
    let corpus: String = [("a", a), ("b", b.as_str())]
        .iter()
        .map(|(id, t)| serde_json::json!({"id": id, "text": t}).to_string() + "\n")
        .collect();
    files(dir.path(), &[("ab.jsonl", corpus.as_bytes())]);
    let run =
        neardup(dir.path(), &["dedup", "ab.jsonl", "-o", "out.jsonl", "--ledger", "l.jsonl"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (_, entries) = ledger(&dir.path().join("l.jsonl"));
    assert_eq!(entries[1]["status"], "removed");
    assert_eq!(entries[1]["reason"], "exact");
    assert_eq!(entries[1]["duplicate_of"], "a");

    let run = neardup(dir.path(), &["explain", "a", "b", "--in", "ab.jsonl", "--json"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let e: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(e["b"]["decision"]["status"], "removed");
    assert_eq!(e["b"]["decision"]["reason"], "exact");
    assert_eq!(e["b"]["decision"]["duplicate_of"], "a");
    assert_eq!(e["b"]["repeats"].as_array().unwrap().len(), 1);
    assert_eq!(e["exact"], true);
    assert_eq!(e["jaccard"], 1.0);
    assert_eq!(e["duplicates"], true);
    let text = neardup(dir.path(), &["explain", "a", "b", "--in", "ab.jsonl"], None);
    assert!(
        text.stdout_str().contains("dedup B         removed: exact duplicate of a"),
        "{}",
        text.stdout_str()
    );
}

#[test]
fn explain_by_id_needs_both_ids() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path(), &[("w.jsonl", wire().as_bytes())]);
    let missing = neardup(dir.path(), &["explain", "a", "zz", "--in", "w.jsonl"], None);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("no record with id `zz`"), "{}", missing.stderr);
}

#[test]
fn explain_marks_changed_words_beside_typography() {
    let dir = tempfile::tempdir().unwrap();
    files(
        dir.path(),
        &[
            ("a.txt", "Title\nThe \"old\" house stood on the hill.\nOnly here.\n".as_bytes()),
            ("b.txt", "TITLE\nThe \u{201C}old\u{201D} barn stood on a hill.\n".as_bytes()),
        ],
    );
    let run = neardup(dir.path(), &["explain", "a.txt", "b.txt"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.stdout_str();
    let diff: Vec<&str> = out.lines().skip_while(|l| !l.starts_with("diff of")).skip(2).collect();
    let rows: Vec<String> =
        diff.iter().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    assert_eq!(
        rows,
        [
            "≈ Title | TITLE",
            "~ The \"old\" [-house-] stood on [-the-] hill. | The “old” {+barn+} stood on {+a+} hill.",
            "- [-Only here.-] |",
        ]
    );
    // The same rows as JSON, changed words as byte ranges of each line.
    let run = neardup(dir.path(), &["explain", "a.txt", "b.txt", "--json"], None);
    let e: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(e["diff"][1]["tag"], "changed");
    assert_eq!(e["diff"][1]["a_changed"], serde_json::json!([[10, 15], [25, 28]]));
    assert_eq!(e["diff"][0]["tag"], "typography");
}

#[test]
fn containment_removes_an_excerpt_of_a_longer_text() {
    let dir = tempfile::tempdir().unwrap();
    let long = "The committee met on Tuesday to discuss the budget for the coming year and the plans for the new library. \
        Rain is expected across the northern half of the country, with strong winds along the coast by evening. \
        Shares in the company fell sharply after it reported lower profits than analysts had forecast. \
        The festival, which draws thousands of visitors each summer, will return to the old harbour this year. \
        Researchers found that the new method reduced errors by a third compared with the previous approach.";
    let excerpt = "Rain is expected across the northern half of the country, with strong winds along the coast by evening. \
        Shares in the company fell sharply after it reported lower profits than analysts had forecast.";
    let body = format!(
        "{}\n{}\n",
        serde_json::json!({"id": "excerpt", "text": excerpt}),
        serde_json::json!({"id": "long", "text": long})
    );
    files(dir.path(), &[("c.jsonl", body.as_bytes())]);
    // Jaccard sees two different texts ...
    let jac = neardup(dir.path(), &["dedup", "c.jsonl"], None);
    assert_eq!(jac.stdout_str().lines().count(), 2);
    // ... containment sees the excerpt inside the longer one, and removes
    // the shorter even though it comes first.
    let run = neardup(
        dir.path(),
        &["dedup", "c.jsonl", "--similarity", "containment", "--ledger", "l.jsonl"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (header, e) = ledger(&dir.path().join("l.jsonl"));
    assert_eq!(header["settings"]["near"]["similarity"], "containment");
    assert_eq!(
        (e[0]["status"].as_str(), e[0]["duplicate_of"].as_str()),
        (Some("removed"), Some("long"))
    );
    assert_eq!(e[0]["similarity"], 1.0);
    assert_eq!(e[1]["status"], "kept");
}

#[test]
fn buckets_spilled_to_disk_give_the_same_answer() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::new();
    for i in 0..400 {
        let t = format!(
            "report number {} on the state of the harbour, the festival and the library budget, issue {}",
            i % 40,
            i % 7
        );
        body.push_str(&serde_json::json!({"id": i, "text": t}).to_string());
        body.push('\n');
    }
    files(dir.path(), &[("s.jsonl", body.as_bytes())]);
    let mut outs = Vec::new();
    for memory in ["1G", "4K"] {
        let run = neardup(
            dir.path(),
            &[
                "dedup",
                "s.jsonl",
                "--no-exact",
                "--memory",
                memory,
                "-o",
                "o.jsonl",
                "--ledger",
                "l.jsonl",
                "--json",
            ],
            None,
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let s: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        outs.push((
            fs_err::read(dir.path().join("o.jsonl")).unwrap(),
            fs_err::read(dir.path().join("l.jsonl")).unwrap(),
            s["near"]["spilled_runs"].as_u64().unwrap(),
        ));
    }
    assert_eq!(outs[0].2, 0);
    assert!(outs[1].2 > 0, "4K of memory must spill");
    assert_eq!((&outs[0].0, &outs[0].1), (&outs[1].0, &outs[1].1));
}
