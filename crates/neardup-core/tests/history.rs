//! Deduplicating batches one after another against an index of everything
//! kept before equals one run over their concatenation, record for record
//! (status, reason, duplicate_of, similarity).

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};

use neardup_core::ledger::{Reason, Status};
use neardup_core::{
    Addition, Analyzer, Deduper, Earlier, EarlierMatch, History, NearSettings, NoProgress, OnError,
    Resources, Result, Settings, Verify,
};
use neardup_testing::{batches, Families};
use proptest::prelude::*;

/// An index in memory: what `neardup-index` keeps, by sequence number.
#[derive(Default)]
struct MemHistory {
    ids: Vec<String>,
    sets: Vec<Vec<u64>>,
    sigs: Vec<Vec<u32>>,
    exact: HashMap<u128, EarlierMatch>,
    bands: BTreeMap<(usize, u64), Vec<u64>>,
}

impl History for MemHistory {
    fn exact(&self, hash: u128) -> Result<Option<EarlierMatch>> {
        Ok(self.exact.get(&hash).copied())
    }
    fn band(&self, band: usize, key: u64, out: &mut Vec<u64>) -> Result<()> {
        out.clear();
        out.extend(self.bands.get(&(band, key)).into_iter().flatten());
        Ok(())
    }
    fn set(&self, seq: u64, out: &mut Vec<u64>) -> Result<()> {
        out.clone_from(&self.sets[seq as usize]);
        Ok(())
    }
    fn signature(&self, seq: u64, out: &mut Vec<u32>) -> Result<()> {
        out.clone_from(&self.sigs[seq as usize]);
        Ok(())
    }
    fn id(&self, seq: u64) -> Result<String> {
        Ok(self.ids[seq as usize].clone())
    }
}

impl MemHistory {
    /// Adds a batch's additions (batch indices map to the seqs given here).
    fn add(&mut self, additions: Vec<Addition>) {
        let mut seq_of: HashMap<u32, u64> = HashMap::new();
        for a in additions {
            match (a.fingerprint, a.duplicate_of) {
                (Some(fp), _) => {
                    let seq = self.ids.len() as u64;
                    seq_of.insert(a.index, seq);
                    self.ids.push(a.id);
                    for (b, &k) in fp.band_keys.iter().enumerate() {
                        self.bands.entry((b, k)).or_default().push(seq);
                    }
                    self.sets.push(fp.set);
                    self.sigs.push(fp.signature);
                    let m = EarlierMatch { seq, reason: Reason::Exact, similarity: 1.0 };
                    assert!(self.exact.insert(a.hash, m).is_none(), "a hash added twice");
                }
                (None, Some((to, reason, similarity))) => {
                    let seq = match to {
                        Earlier::Batch(i) => seq_of[&i],
                        Earlier::History(s) => s,
                    };
                    let m = EarlierMatch { seq, reason, similarity };
                    assert!(self.exact.insert(a.hash, m).is_none(), "a hash added twice");
                }
                (None, None) => panic!("an addition neither kept nor a duplicate"),
            }
        }
    }
}

type Row = (Status, Option<Reason>, Option<String>, Option<u32>);

fn outcomes(
    analyzer: &Analyzer,
    ids: &[String],
    texts: &[String],
    history: Option<&mut MemHistory>,
) -> Vec<Row> {
    let mut d =
        Deduper::new(analyzer, &Resources::default(), OnError::Fail, vec!["t".into()]).unwrap();
    d.push_texts(analyzer, texts, Some(ids)).unwrap();
    let dec = match &history {
        Some(h) => d.decide_with_history(&**h, &NoProgress).unwrap(),
        None => d.decide(false, &NoProgress).unwrap(),
    };
    if let Some(h) = history {
        let mut add = Vec::new();
        dec.additions(|a| {
            add.push(a);
            Ok(())
        })
        .unwrap();
        assert_eq!(dec.has_additions(), !add.is_empty(), "has_additions agrees with additions");
        h.add(add);
    }
    (0..texts.len())
        .map(|k| {
            let o = dec.outcome(k, None);
            // Similarities to 6 digits: f32 from the same sets either way.
            let sim = o.similarity.map(|s| (s * 1e6).round() as u32);
            (o.status, o.reason, o.duplicate_of.map(|i| dec.id_of(i as usize).unwrap()), sim)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn batches_against_history_equal_one_run(
        texts in Families { records: 1..40, short_texts: true }.texts(),
        cuts in prop::collection::vec(0usize..40, 0..4),
        threshold in prop::sample::select(vec![0.7, 0.8, 0.9]),
        verify in prop::sample::select(vec![Verify::Jaccard, Verify::Signature, Verify::None]),
    ) {
        let settings = Settings {
            near: Some(NearSettings { threshold, verify, ..NearSettings::default() }),
            ..Settings::default()
        };
        let analyzer = Analyzer::new(&settings, false).unwrap();
        let ids: Vec<String> = (0..texts.len()).map(|i| format!("r{i}")).collect();
        let whole = outcomes(&analyzer, &ids, &texts, None);

        let mut history = MemHistory::default();
        let mut batched = Vec::new();
        for r in batches(texts.len(), &cuts) {
            batched.extend(outcomes(&analyzer, &ids[r.clone()], &texts[r], Some(&mut history)));
        }
        prop_assert_eq!(batched, whole);
    }
}

#[test]
fn what_an_index_cannot_honour_is_refused() {
    for (name, value, why) in [
        ("keep", "last", "keep"),
        ("similarity", "containment", "containment"),
        ("substrings", "true", "substrings"),
    ] {
        let mut s = Settings::default();
        s.set(name, value).unwrap();
        let a = Analyzer::new(&s, false).unwrap();
        let d = Deduper::new(&a, &Resources::default(), OnError::Fail, vec![]).unwrap();
        let e = d.decide_with_history(&MemHistory::default(), &NoProgress).err().unwrap();
        assert!(e.to_string().contains(why), "{e}");
    }
}
