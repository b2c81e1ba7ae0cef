//! Batches against a model: after any sequence of batches — some refused,
//! some aborted by their input, some cut short by a failing store and then
//! "crashed" (the index dropped and reopened) — every lookup answers what a
//! plain list of the committed records answers, and `verify` passes.
//! Some entries are aliases (of an earlier kept record of the batch or of
//! history): found by exact hash only, rolled back and committed with
//! their batch.

use std::collections::BTreeMap;

use neardup_core::ledger::Reason;
use neardup_index::{
    Error, Index, MemStore, NewAlias, NewEntry, NewRecord, OpenOptions, Target, View,
};
use proptest::prelude::*;
use serde_json::json;

use crate::common::{in_memory, one_band_record, FailStore};

const HASHES: u8 = 10;
const BANDS: usize = 3;
const KEYS: u8 = 5;
const BATCH_KEYS: u8 = 6;

#[derive(Debug, Clone)]
struct Rec {
    hash: u8,
    bands: [u8; BANDS],
    set: Vec<u8>,
    /// Added as an alias, when a kept record is there to point to.
    alias: bool,
}

#[derive(Debug, Clone)]
enum Fail {
    None,
    /// The batch's input fails at this position.
    Input(usize),
    /// The store fails after this many writes and persists.
    Store(i64),
}

#[derive(Debug, Clone)]
struct Step {
    key: u8,
    recs: Vec<Rec>,
    fail: Fail,
}

fn arb_step() -> impl Strategy<Value = Step> {
    let rec = (
        0..HASHES,
        // Band 0's key is mostly 0: in longer runs it gets more holders
        // than a key lists itself, so they move to holder rows mid-run.
        (prop_oneof![7 => Just(0u8), 1 => 0..KEYS], 0..KEYS, 0..KEYS),
        proptest::collection::vec(any::<u8>(), 0..6),
        proptest::bool::weighted(0.25),
    )
        .prop_map(|(hash, (b0, b1, b2), set, alias)| Rec {
            hash,
            bands: [b0, b1, b2],
            set,
            alias,
        });
    let fail = prop_oneof![
        3 => Just(Fail::None),
        1 => (0usize..12).prop_map(Fail::Input),
        2 => (0i64..12).prop_map(Fail::Store),
    ];
    (0..BATCH_KEYS, proptest::collection::vec(rec, 0..20), fail)
        .prop_map(|(key, recs, fail)| Step { key, recs, fail })
}

fn to_record(step: usize, j: usize, r: &Rec) -> NewRecord {
    let mut set: Vec<u64> = r.set.iter().map(|&x| u64::from(x) * 0x1_0000_0001).collect();
    set.sort_unstable();
    set.dedup();
    NewRecord {
        id: format!("s{step}-{j}"),
        // Spread over all 16 bytes, so key order is exercised.
        hash: u128::from(r.hash) * 0x0102_0304_0506_0708_090a_0b0c_0d0e_0f11,
        len: j as u64,
        bands: r.bands.iter().map(|&k| u64::from(k) << 56 | u64::from(k)).collect(),
        signature: vec![u32::from(r.hash), 1, 2, 3],
        set,
    }
}

fn batch_key(k: u8) -> [u8; 16] {
    [k; 16]
}

struct Model {
    /// Committed entries; an alias's target as a sequence number.
    records: Vec<NewEntry>,
    batches: BTreeMap<u8, (u64, u64)>,
}

/// The entries of step `i`: aliases point to the batch's first kept
/// record, or else to history's first.
fn entries(i: usize, step: &Step, model: &Model) -> Vec<NewEntry> {
    let history_kept = model.records.iter().position(|e| matches!(e, NewEntry::Record(_)));
    let mut first_kept = None;
    step.recs
        .iter()
        .enumerate()
        .map(|(j, r)| {
            let rec = to_record(i, j, r);
            let target = first_kept
                .map(|p| Target::InBatch(p as u64))
                .or(history_kept.map(|s| Target::Seq(s as u64)))
                .filter(|_| r.alias);
            match target {
                Some(of) => NewEntry::Alias(NewAlias {
                    id: rec.id,
                    hash: rec.hash,
                    len: rec.len,
                    of,
                    reason: Reason::Near,
                    similarity: 0.5,
                }),
                None => {
                    first_kept.get_or_insert(j);
                    NewEntry::Record(rec)
                }
            }
        })
        .collect()
}

/// Every exact hash and band key the records can have, looked up in `view`.
fn look_up_everything(view: View<'_>) {
    let mut seqs = Vec::new();
    for h in 0..HASHES {
        let r = to_record(0, 0, &Rec { hash: h, bands: [0; BANDS], set: vec![], alias: false });
        view.find_exact(r.hash).unwrap();
    }
    for band in 0..BANDS {
        for k in 0..KEYS {
            view.find_band(band, u64::from(k) << 56 | u64::from(k), &mut seqs).unwrap();
        }
    }
}

fn check(index: &Index, model: &Model, limit_pick: usize) -> Result<(), TestCaseError> {
    prop_assert_eq!(index.records(), model.records.len() as u64);
    let limit = if model.records.is_empty() { 0 } else { limit_pick % (model.records.len() + 1) };
    for view in [index.view(), index.view_at(limit as u64).unwrap()] {
        let n = view.records() as usize;
        let history = &model.records[..n];
        for h in 0..HASHES {
            let hash =
                to_record(0, 0, &Rec { hash: h, bands: [0; BANDS], set: vec![], alias: false })
                    .hash;
            let want = history
                .iter()
                .position(|r| r.hash() == hash)
                .map(|i| (i as u64, history[i].id().to_owned()));
            prop_assert_eq!(view.find_exact(hash).unwrap(), want, "hash {}", h);
        }
        for band in 0..BANDS {
            for k in 0..KEYS {
                let key = u64::from(k) << 56 | u64::from(k);
                let want: Vec<u64> = (0..n as u64)
                    .filter(|&i| history[i as usize].bands().get(band) == Some(&key))
                    .collect();
                let mut got = vec![99];
                view.find_band(band, key, &mut got).unwrap();
                prop_assert_eq!(&got[..1], &[99], "find_band appends");
                prop_assert_eq!(&got[1..], &want[..], "band {} key {}", band, k);
            }
        }
        for (i, e) in history.iter().enumerate() {
            let s = view.record(i as u64).unwrap();
            match e {
                NewEntry::Record(r) => prop_assert_eq!(
                    (&s.id, s.hash, s.len, &s.bands, &s.signature, &s.set, s.alias),
                    (&r.id, r.hash, r.len, &r.bands, &r.signature, &r.set, None)
                ),
                NewEntry::Alias(a) => {
                    let Target::Seq(of) = a.of else { unreachable!("resolved") };
                    prop_assert_eq!(
                        (&s.id, s.hash, s.len, s.alias.map(|x| x.of)),
                        (&a.id, a.hash, a.len, Some(of))
                    );
                    prop_assert!(s.bands.is_empty() && s.set.is_empty());
                }
            }
        }
        prop_assert!(view.record(n as u64).is_err());
        let ids: Vec<String> = view.iter().map(|r| r.unwrap().id).collect();
        let want: Vec<String> = history.iter().map(|r| r.id().to_owned()).collect();
        prop_assert_eq!(ids, want);
    }
    for k in 0..BATCH_KEYS {
        let got = index.committed_batch(batch_key(k)).unwrap().map(|i| (i.first_seq, i.count));
        prop_assert_eq!(got, model.batches.get(&k).copied(), "batch {}", k);
    }
    let report = index.verify().unwrap();
    prop_assert!(report.is_sound(), "{:?}", report);
    prop_assert_eq!(report.records, model.records.len() as u64);
    prop_assert_eq!(report.batches, model.batches.len() as u64);
    Ok(())
}

fn open(mem: &MemStore, budget: i64, opts: &OpenOptions) -> Index {
    Index::open_in(Box::new(FailStore::new(mem.clone(), budget)), "model", opts).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn batches_match_a_model(
        steps in proptest::collection::vec(arb_step(), 1..8),
        chunk in prop_oneof![Just(1usize), Just(150), Just(600), Just(1 << 20)],
        limit_pick in any::<usize>(),
    ) {
        let mem = MemStore::new();
        let opts = OpenOptions::new().chunk_bytes(chunk);
        drop(Index::create_in(Box::new(mem.clone()), "model", json!({"b": BANDS}), &opts).unwrap());
        let mut index = open(&mem, i64::MAX, &opts);
        let mut model = Model { records: Vec::new(), batches: BTreeMap::new() };
        for (i, step) in steps.iter().enumerate() {
            let recs = entries(i, step, &model);
            let key = batch_key(step.key);
            let already = model.batches.contains_key(&step.key);
            let result = match step.fail {
                Fail::None => {
                    // As `dedup --index` and the service do: decide on the
                    // writer's view (every key looked up: the new ones are
                    // remembered as absent), then add through the writer.
                    let writer = index.writer().unwrap();
                    look_up_everything(writer.view());
                    writer.add_batch(key, recs.clone())
                }
                Fail::Input(p) => index.try_add_batch(
                    key,
                    recs.iter().cloned().enumerate().map(|(j, r)| {
                        if j == p { Err("input broke") } else { Ok(r) }
                    }),
                ),
                Fail::Store(budget) => {
                    drop(index);
                    let failing = open(&mem, budget, &opts);
                    let result = failing.add_batch(key, recs.clone());
                    // A crash: drop without cleaning up, reopen.
                    drop(failing);
                    index = open(&mem, i64::MAX, &opts);
                    result
                }
            };
            let committed = match (&result, already) {
                (Err(Error::BatchCommitted { .. }), true) => false,
                (_, true) => return Err(TestCaseError::fail(format!("batch {} accepted twice: {result:?}", step.key))),
                (Ok(receipt), false) => {
                    prop_assert_eq!(receipt.batch.first_seq, model.records.len() as u64);
                    prop_assert_eq!(receipt.batch.count, recs.len() as u64);
                    true
                }
                (Err(Error::Aborted { position, .. }), false) => {
                    prop_assert!(matches!(step.fail, Fail::Input(p) if p as u64 == *position));
                    false
                }
                (Err(Error::Store { .. }), false) => {
                    prop_assert!(matches!(step.fail, Fail::Store(_)));
                    // Failed after its commit was written, or before.
                    index.committed_batch(key).unwrap().is_some()
                }
                (Err(e), false) => return Err(TestCaseError::fail(format!("unexpected {e}"))),
            };
            if committed {
                let first = model.records.len() as u64;
                model.batches.insert(step.key, (first, recs.len() as u64));
                model.records.extend(recs.into_iter().map(|e| match e {
                    NewEntry::Alias(mut a) => {
                        if let Target::InBatch(p) = a.of {
                            a.of = Target::Seq(first + p);
                        }
                        NewEntry::Alias(a)
                    }
                    r => r,
                }));
            }
            check(&index, &model, limit_pick)?;
        }
    }
}

#[test]
fn a_second_record_with_a_known_hash_keeps_the_first() {
    let (_, index) = in_memory(json!({}));
    let r = one_band_record;
    index.add_batch([0; 16], [r("a", 1), r("b", 1)]).unwrap();
    index.add_batch([1; 16], [r("c", 1), r("d", 2)]).unwrap();
    assert_eq!(index.find_exact(1).unwrap(), Some((0, "a".into())));
    assert_eq!(index.find_exact(2).unwrap(), Some((3, "d".into())));
    let mut seqs = Vec::new();
    index.find_band(0, 5, &mut seqs).unwrap();
    assert_eq!(seqs, [0, 1, 2, 3]);
    assert!(index.verify().unwrap().is_sound());
}

#[test]
fn records_of_another_shape_or_unsorted_sets_are_refused_whole() {
    let (_, index) = in_memory(json!({}));
    let r = |id: &str, bands: usize, set: Vec<u64>| NewRecord {
        id: id.into(),
        hash: id.len() as u128,
        len: 1,
        bands: vec![1; bands],
        signature: vec![0; 4],
        set,
    };
    index.add_batch([0; 16], [r("a", 2, vec![1, 2])]).unwrap();
    let e = index.add_batch([1; 16], [r("bb", 2, vec![]), r("ccc", 3, vec![])]).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::InvalidRecord { position: 1, .. }), "{msg}");
    assert!(
        msg.contains("`ccc`") && msg.contains("3 band keys") && msg.contains("have 2"),
        "{msg}"
    );
    let e = index.add_batch([1; 16], [r("bb", 2, vec![3, 3])]).unwrap_err();
    assert!(e.to_string().contains("not ascending and distinct"), "{e}");
    assert_eq!(index.records(), 1);
    assert_eq!(index.find_exact(2).unwrap(), None);
    assert!(index.committed_batch([1; 16]).unwrap().is_none());
    assert!(index.verify().unwrap().is_sound());
}

/// The least budget of store operations (writes, syncs, ingestions) with
/// which adding `recs` to a copy of `mem` succeeds.
fn operations_of_an_add(mem: &MemStore, opts: &OpenOptions, recs: &[NewRecord]) -> i64 {
    (0..64)
        .find(|&budget| {
            let copy = mem.snapshot();
            let store = FailStore::new(copy, budget);
            let index = Index::open_in(Box::new(store), "ops", opts).unwrap();
            index.add_batch([9; 16], recs.iter().cloned()).is_ok()
        })
        .expect("an add within 64 operations")
}

#[test]
fn a_batch_that_fits_in_one_write_goes_with_its_commit_and_one_sync() {
    let (mem, index) = in_memory(json!({}));
    let r = one_band_record;
    index.add_batch([0; 16], [r("a", 1)]).unwrap();
    drop(index);
    // Rows and commit in one engine write, then one sync: a crash leaves
    // all of it or none (the engine's write is atomic).
    let small = [r("b", 2), r("c", 3)];
    assert_eq!(operations_of_an_add(&mem, &OpenOptions::new(), &small), 2);
    // Bulk-loaded rows are made durable before their commit is written.
    let bulk: Vec<NewRecord> = (0..40u128).map(|i| r(&format!("r{i}"), 100 + i)).collect();
    let tiny = OpenOptions::new().chunk_bytes(64);
    let ops = operations_of_an_add(&mem, &tiny, &bulk);
    assert!(ops > 3, "a bulk load writes tables, syncs, then commits: {ops} operations");
    let index = Index::open_in(Box::new(mem.snapshot()), "ops", &tiny).unwrap();
    index.add_batch([9; 16], bulk).unwrap();
    assert!(index.verify().unwrap().is_sound());
}
