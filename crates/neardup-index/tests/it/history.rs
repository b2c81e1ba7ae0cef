//! Batches decided against an index and added to it, one after another,
//! equal one run over their concatenation, record for record; `check`
//! answers as a batch would, and adds atomically.

use neardup_core::ledger::{Reason, Status};
use neardup_core::{Analyzer, Deduper, NearSettings, NoProgress, OnError, Resources, Settings};
use neardup_index::{
    add_decisions, check, settings_json, settings_of, CheckStatus, Checker, Index, IndexHistory,
    MemStore, OpenOptions,
};
use neardup_testing::{batches, Families};
use proptest::prelude::*;

type Row = (Status, Option<Reason>, Option<String>, Option<u32>);

fn row(o: &neardup_core::Outcome, name: impl Fn(u32) -> String) -> Row {
    // Similarities to 6 digits: f32 from the same sets either way.
    let sim = o.similarity.map(|s| (s * 1e6).round() as u32);
    (o.status, o.reason, o.duplicate_of.map(name), sim)
}

/// One batch: decided against the index, then added under `key`.
fn batch(index: &Index, key: u8, ids: &[String], texts: &[String]) -> Vec<Row> {
    let settings = settings_of(index).unwrap();
    let analyzer = Analyzer::new(&settings, false).unwrap();
    let mut d =
        Deduper::new(&analyzer, &Resources::default(), OnError::Fail, vec!["t".into()]).unwrap();
    d.push_texts(&analyzer, texts, Some(ids)).unwrap();
    let w = index.writer().unwrap();
    let dec = d.decide_with_history(&IndexHistory::new(w.view()), &NoProgress).unwrap();
    add_decisions(&w, [key; 16], &dec).unwrap();
    (0..texts.len())
        .map(|k| row(&dec.outcome(k, None), |i| dec.id_of(i as usize).unwrap()))
        .collect()
}

fn whole(settings: &Settings, ids: &[String], texts: &[String]) -> Vec<Row> {
    let analyzer = Analyzer::new(settings, false).unwrap();
    let mut d =
        Deduper::new(&analyzer, &Resources::default(), OnError::Fail, vec!["t".into()]).unwrap();
    d.push_texts(&analyzer, texts, Some(ids)).unwrap();
    let dec = d.decide(false, &NoProgress).unwrap();
    (0..texts.len())
        .map(|k| row(&dec.outcome(k, None), |i| dec.id_of(i as usize).unwrap()))
        .collect()
}

fn mem_index(settings: &Settings) -> Index {
    Index::create_in(Box::new(MemStore::new()), "mem", settings_json(settings), &OpenOptions::new())
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn batches_into_an_index_equal_one_run(
        texts in Families { records: 1..40, short_texts: true }.texts(),
        cuts in prop::collection::vec(0usize..40, 0..4),
        threshold in prop::sample::select(vec![0.7, 0.8, 0.9]),
        // Tiny chunks stream a batch's additions to the adder thread and
        // bulk-load them; large ones gather them and write them at once.
        chunk in prop::sample::select(vec![1usize << 10, 32 << 20]),
    ) {
        let settings = Settings {
            near: Some(NearSettings { threshold, ..NearSettings::default() }),
            ..Settings::default()
        };
        let ids: Vec<String> = (0..texts.len()).map(|i| format!("r{i}")).collect();
        let one = whole(&settings, &ids, &texts);

        let index = Index::create_in(
            Box::new(MemStore::new()),
            "mem",
            settings_json(&settings),
            &OpenOptions::new().chunk_bytes(chunk),
        )
        .unwrap();
        let mut batched = Vec::new();
        for (n, r) in batches(texts.len(), &cuts).into_iter().enumerate() {
            batched.extend(batch(&index, n as u8, &ids[r.clone()], &texts[r]));
        }
        prop_assert_eq!(&batched, &one);
        let report = index.verify().unwrap();
        prop_assert!(report.is_sound(), "{:?}", report);
        // Every record first with its text is in the index once: kept ones
        // as records, near duplicates as aliases.
        let stats = index.stats().unwrap();
        let kept = one.iter().filter(|r| r.0 == Status::Kept || r.0 == Status::Modified).count();
        prop_assert_eq!(stats.kept, kept as u64);

        // `check` answers as one more batch would.
        let probe: Vec<(String, String)> =
            texts.iter().rev().take(5).enumerate().map(|(i, t)| (format!("p{i}"), t.clone())).collect();
        let before = index.stats().unwrap().records;
        let got = check(&index, &probe, false).unwrap();
        prop_assert_eq!(index.stats().unwrap().records, before);
        for o in &got {
            prop_assert_eq!(o.status, CheckStatus::Duplicate, "{:?}", o);
            prop_assert!(!o.added);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// What a service does with adds queued together: each prepared on its
    /// own, then added as one batch. That batch is the one call over their
    /// records: same answers, same index.
    #[test]
    fn prepared_parts_add_as_one_call_over_their_records(
        texts in Families { records: 1..30, short_texts: true }.texts(),
        cuts in prop::collection::vec(0usize..30, 0..4),
        history in 0usize..10,
    ) {
        let settings = Settings::default();
        let recs: Vec<(String, String)> =
            texts.iter().enumerate().map(|(i, t)| (format!("r{i}"), t.clone())).collect();
        let history = history.min(recs.len());
        let (before, rest) = recs.split_at(history);
        let mut exports = Vec::new();
        let mut answers = Vec::new();
        for parted in [false, true] {
            let index = mem_index(&settings);
            let checker = Checker::new(&index, Resources::default()).unwrap();
            checker.check(&index, before, true).unwrap();
            let got = if parted {
                let parts =
                    batches(rest.len(), &cuts).into_iter().map(|r| checker.prepare(&rest[r])).collect();
                checker.check_prepared(&index, parts, true).unwrap()
            } else {
                checker.check(&index, rest, true).unwrap()
            };
            prop_assert!(index.verify().unwrap().is_sound());
            let mut out = Vec::new();
            index.export(&mut out).unwrap();
            exports.push(out);
            answers.push(got);
        }
        prop_assert_eq!(&answers[0], &answers[1]);
        prop_assert_eq!(&exports[0], &exports[1]);
    }
}

#[test]
fn records_prepared_for_other_settings_are_refused_and_nothing_is_added() {
    let a = mem_index(&Settings::default());
    let other = Settings {
        near: Some(NearSettings { threshold: 0.5, ..NearSettings::default() }),
        ..Settings::default()
    };
    let b = mem_index(&other);
    let (ca, cb) = (
        Checker::new(&a, Resources::default()).unwrap(),
        Checker::new(&b, Resources::default()).unwrap(),
    );
    let prepared = ca.prepare(&[("x", "some text of a few words to analyse here")]);
    let err = cb.check_prepared(&b, vec![prepared], true).unwrap_err();
    assert!(err.to_string().contains("prepared by a checker of other settings"), "{err}");
    assert_eq!(b.stats().unwrap().records, 0);
}

#[test]
fn check_adds_new_records_once_and_names_earlier_ones() {
    let settings = Settings::default();
    let index = mem_index(&settings);
    let story: String = (0..60).map(|w| format!("word{w} ")).collect();
    let variant = story.replace("word30 ", "other30 ");
    let recs = [
        ("a", story.as_str()),
        ("b", "an unrelated text that says something else entirely, at some length"),
        ("c", story.as_str()),
        ("d", variant.as_str()),
    ];
    let got = check(&index, &recs, true).unwrap();
    let s: Vec<_> = got.iter().map(|o| (o.status, o.reason, o.duplicate_of.as_deref())).collect();
    assert_eq!(
        s,
        [
            (CheckStatus::New, None, None),
            (CheckStatus::New, None, None),
            (CheckStatus::Duplicate, Some(Reason::Exact), Some("a")),
            (CheckStatus::Duplicate, Some(Reason::Near), Some("a")),
        ]
    );
    assert_eq!(got.iter().map(|o| o.added).collect::<Vec<_>>(), [true, true, false, false]);
    let stats = index.stats().unwrap();
    assert_eq!((stats.records, stats.kept, stats.aliases, stats.batches), (3, 2, 1, 1));

    // Later: the variant's exact copy is a near duplicate of `a`, as in one
    // run; nothing new, so nothing added and no batch.
    let upper = variant.to_uppercase();
    let got = check(&index, &[("e", upper.as_str()), ("f", story.as_str())], true).unwrap();
    assert_eq!(got[0].reason, Some(Reason::Near));
    assert_eq!(got[0].duplicate_of.as_deref(), Some("a"));
    assert!(got[0].similarity.is_some_and(|s| s < 1.0 && s > 0.8), "{got:?}");
    assert_eq!((got[1].reason, got[1].duplicate_of.as_deref()), (Some(Reason::Exact), Some("a")));
    assert_eq!(index.stats().unwrap().batches, 1);
    assert!(index.verify().unwrap().is_sound());

    let mut out = Vec::new();
    assert_eq!(index.export(&mut out).unwrap(), 3);
    let lines: Vec<serde_json::Value> = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines[2]["id"], "d");
    assert_eq!(lines[2]["duplicate_of"], 0);
    assert_eq!(lines[2]["reason"], "near");
    assert!(lines[0]["signature"].as_array().is_some_and(|s| s.len() == 128));
}

#[test]
fn settings_round_trip_and_other_analysis_versions_are_refused() {
    let mut settings = Settings::default();
    settings.set("threshold", "0.9").unwrap();
    let index = mem_index(&settings);
    assert_eq!(settings_of(&index).unwrap().to_json(), settings.to_json());

    let mut v = settings_json(&settings);
    v["analysis"] = serde_json::json!(0);
    let old = Index::create_in(Box::new(MemStore::new()), "old", v, &OpenOptions::new()).unwrap();
    let e = settings_of(&old).unwrap_err().to_string();
    assert!(e.contains("`analysis`") && e.contains("`0`") && e.contains("`1`"), "{e}");

    // A flag applied to the index's settings (banding resolved there) is
    // named alone, with both values.
    let mut other = settings_of(&index).unwrap();
    other.set("threshold", "0.8").unwrap();
    let e = index.check_settings(&settings_json(&other)).unwrap_err().to_string();
    assert!(e.contains("`near.threshold`") && e.contains("`0.9`") && e.contains("`0.8`"), "{e}");
}

#[test]
fn an_alias_must_name_an_earlier_kept_record() {
    use neardup_index::{NewAlias, NewEntry, NewRecord, Target};
    let index = mem_index(&Settings::default());
    let kept = NewRecord {
        id: "k".into(),
        hash: 1,
        len: 3,
        bands: vec![],
        signature: vec![],
        set: vec![],
    };
    let alias = |of| NewAlias {
        id: "a".into(),
        hash: 2,
        len: 3,
        of,
        reason: Reason::Near,
        similarity: 0.9,
    };
    for (entries, what) in [
        (vec![NewEntry::Alias(alias(Target::InBatch(0)))], "does not come before"),
        (vec![NewEntry::Alias(alias(Target::Seq(0)))], "index holds 0"),
        (
            vec![
                kept.clone().into(),
                alias(Target::InBatch(0)).into(),
                NewEntry::Alias(NewAlias { hash: 3, ..alias(Target::InBatch(1)) }),
            ],
            "an alias itself",
        ),
    ] {
        let e = index.add_batch([9; 16], entries).unwrap_err().to_string();
        assert!(e.contains(what) && e.contains("nothing of the batch"), "{e}");
        assert_eq!(index.stats().unwrap().records, 0);
    }
    index.add_batch([1; 16], [kept.into(), NewEntry::from(alias(Target::InBatch(0)))]).unwrap();
    assert_eq!(index.find_exact(2).unwrap(), Some((1, "a".to_owned())));
    let r = index.view().lookup_exact(2).unwrap().unwrap();
    assert_eq!(r.alias.map(|a| a.of), Some(0));
    assert!(index.verify().unwrap().is_sound());
}
