//! The decisions as plain functions: the near-duplicate greedy gives the
//! same answer per component as over the whole graph (what the Spark and
//! Ray drivers rely on), and the per-bucket partner cap never changes a
//! decision (what `clusters --pairs` relies on).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use neardup_core::decide::near::{greedy, MAX_PARTNERS};
use neardup_core::ledger::{Reason, Status};
use neardup_core::{
    Analysis, Analyzer, Deduper, Fingerprint, NearSettings, NoProgress, OnError, Resources,
    Settings,
};
use neardup_sketch::jaccard;
use proptest::prelude::*;

type Decisions = Vec<Option<(u32, f32)>>;

/// The greedy over `pairs` (any order) among `n` ranks, with similarities
/// from `sim`.
fn run_greedy(
    n: usize,
    pairs: &[(u32, u32)],
    sim: &BTreeMap<(u32, u32), f64>,
    t: f64,
) -> Decisions {
    let mut sorted = pairs.to_vec();
    sorted.sort_unstable();
    let mut it = sorted.into_iter();
    greedy(n, || Ok::<_, ()>(it.next()), |l, e| Ok(sim[&(l, e)]), t, false, None).unwrap()
}

/// Components of the graph whose edges are the pairs at or above `t`.
fn components(n: usize, pairs: &[(u32, u32)], sim: &BTreeMap<(u32, u32), f64>, t: f64) -> Vec<u32> {
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn find(p: &mut [u32], x: u32) -> u32 {
        let mut r = x;
        while p[r as usize] != r {
            r = p[r as usize];
        }
        p[x as usize] = r;
        r
    }
    for &(l, e) in pairs {
        if sim[&(l, e)] >= t {
            let (a, b) = (find(&mut parent, l), find(&mut parent, e));
            parent[a.max(b) as usize] = a.min(b);
        }
    }
    (0..n as u32).map(|x| find(&mut parent, x)).collect()
}

/// Ranked records, candidate pairs, their similarities, a threshold.
type Instance = (usize, Vec<(u32, u32)>, BTreeMap<(u32, u32), f64>, f64);

fn instance() -> impl Strategy<Value = Instance> {
    (2usize..40).prop_flat_map(|n| {
        let pair = (1..n as u32).prop_flat_map(|l| (Just(l), 0..l));
        (
            Just(n),
            prop::collection::vec((pair, 0.0f64..1.0), 0..120),
            prop::sample::select(vec![0.3, 0.5, 0.8]),
        )
            .prop_map(|(n, pairs, t)| {
                let mut sim = BTreeMap::new();
                let mut list = Vec::new();
                for ((l, e), s) in pairs {
                    // Repeated pairs keep their first similarity.
                    if sim.insert((l, e), s).is_none() {
                        list.push((l, e));
                    }
                }
                (n, list, sim, t)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Running the greedy on each connected component of the
    /// verified-candidate graph, ranks kept in order, decides as the
    /// global run does.
    #[test]
    fn per_component_equals_global((n, pairs, sim, t) in instance()) {
        let global = run_greedy(n, &pairs, &sim, t);
        let comp = components(n, &pairs, &sim, t);
        let mut members: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for r in 0..n as u32 {
            members.entry(comp[r as usize]).or_default().push(r);
        }
        let mut per_component: Decisions = vec![None; n];
        for ranks in members.values() {
            let local = |r: u32| ranks.binary_search(&r).unwrap() as u32;
            // Only the component's verified pairs (what a driver joins).
            let lp: Vec<(u32, u32)> = pairs
                .iter()
                .filter(|&&(l, e)| comp[l as usize] == comp[ranks[0] as usize] && sim[&(l, e)] >= t && comp[e as usize] == comp[l as usize])
                .map(|&(l, e)| (local(l), local(e)))
                .collect();
            let ls: BTreeMap<(u32, u32), f64> =
                lp.iter().map(|&(l, e)| ((l, e), sim[&(ranks[l as usize], ranks[e as usize])])).collect();
            let d = run_greedy(ranks.len(), &lp, &ls, t);
            for (i, x) in d.into_iter().enumerate() {
                per_component[ranks[i] as usize] = x.map(|(e, s)| (ranks[e as usize], s));
            }
        }
        prop_assert_eq!(per_component, global);
    }
}

/// A record whose fingerprint is `set`, with the single band key `key`
/// (banding 1 × 1, set explicitly).
fn record(set: Vec<u64>, key: u64) -> Analysis {
    let mut set = set;
    set.sort_unstable();
    set.dedup();
    Analysis {
        hash: set.iter().fold(7u128, |h, &x| h.wrapping_mul(31).wrapping_add(x as u128)),
        len: set.len() as u64,
        fingerprint: Some(Fingerprint { set, signature: vec![0; 128], band_keys: vec![key] }),
        ..Analysis::default()
    }
}

fn one_band() -> Settings {
    Settings {
        exact: false,
        min_repeat: None,
        near: Some(NearSettings { bands: Some(1), rows: Some(1), ..NearSettings::default() }),
        ..Settings::default()
    }
}

/// Decides `records` (all in the one bucket their keys say) and returns
/// (status, duplicate_of) per record, with and without all pairs.
fn decide(records: &[Analysis]) -> [Vec<(Status, Option<u32>)>; 2] {
    decide_with(&one_band(), records)
}

fn decide_with(settings: &Settings, records: &[Analysis]) -> [Vec<(Status, Option<u32>)>; 2] {
    let analyzer = Analyzer::new(settings, false).unwrap();
    [false, true].map(|all_pairs| {
        let mut d = Deduper::new(&analyzer, &Resources::default(), OnError::Fail, vec!["t".into()])
            .unwrap();
        for (i, a) in records.iter().enumerate() {
            d.push((0, i as u64 + 1), None, Ok(a.clone())).unwrap();
        }
        let dec = d.decide(all_pairs, &NoProgress).unwrap();
        (0..records.len())
            .map(|k| {
                let o = dec.outcome(k, None);
                (o.status, o.duplicate_of)
            })
            .collect()
    })
}

/// In one bucket of 11 records, a 0.98 copy of a kept record ranks behind
/// eight records removed as copies of the first: the partner cap (8) once
/// hid its kept partner, so `clusters` kept it and `clusters --pairs`
/// removed it.
#[test]
fn the_partner_cap_never_hides_a_kept_record() {
    let base: Vec<u64> = (0..100).collect();
    let other: Vec<u64> = (1000..1100).collect();
    let mut records = vec![record(base.clone(), 42)];
    for i in 0..MAX_PARTNERS as u64 {
        // Near copies of record 0 (J = 95/105).
        let mut s = base[..95].to_vec();
        s.extend((0..5).map(|j| 500 + 10 * i + j));
        records.push(record(s, 42));
    }
    records.push(record(other.clone(), 42)); // Unrelated: kept.
    let mut copy = other[..99].to_vec();
    copy.push(9999); // J = 99/101 = 0.98 with record 9.
    records.push(record(copy, 42));
    assert!(
        jaccard::jaccard(
            records[10].fingerprint.as_ref().unwrap().set.as_slice(),
            records[9].fingerprint.as_ref().unwrap().set.as_slice()
        ) > 0.97
    );

    let [capped, all] = decide(&records);
    assert_eq!(capped[9], (Status::Kept, None));
    assert_eq!(capped[10], (Status::Removed, Some(9)), "the copy of a kept record is removed");
    for (k, c) in capped.iter().enumerate().take(9).skip(1) {
        assert_eq!(*c, (Status::Removed, Some(0)), "record {k}");
    }
    assert_eq!(capped, all, "a similarity join decides alike");
}

/// A record first kept in the second round of the search for missed pairs
/// still gets its own missed partners (a third round). Two bands; cap 8.
/// Band 0's bucket: eight fillers, then `e`, then `k` (the pair `k`–`e` is
/// past the cap). Band 1's bucket: seven fillers, `k`, `r`, `s` (`r`–`k`
/// within the cap, `s`–`r` past it). Round 1 removes `r` as a copy of `k`;
/// round 2 finds `k`–`e` and removes `k`, so `r` is kept (no chaining);
/// only a third round finds that `s` copies `r`.
#[test]
fn a_record_kept_in_a_later_round_finds_its_missed_partners() {
    let mut records = Vec::new();
    let filler = |i: u64| (10_000 + 100 * i..10_050 + 100 * i).collect::<Vec<u64>>();
    let two = |set: Vec<u64>, k0: u64, k1: u64| {
        let mut a = record(set, k0);
        a.fingerprint.as_mut().unwrap().band_keys = vec![k0, k1];
        a
    };
    for i in 0..8 {
        records.push(two(filler(i), 1, 100 + i)); // band 0's fillers
    }
    for i in 8..15 {
        records.push(two(filler(i), 200 + i, 2)); // band 1's fillers
    }
    let e: Vec<u64> = (0..100).collect();
    let k: Vec<u64> = (0..96).chain(1000..1006).collect();
    let r: Vec<u64> = (0..88).chain(1000..1006).chain(2000..2006).collect();
    let s: Vec<u64> = (10..88).chain(1000..1006).chain(2000..2006).chain(3000..3010).collect();
    let j = |a: &[u64], b: &[u64]| jaccard::jaccard(a, b);
    assert!(j(&k, &e) >= 0.8 && j(&r, &k) >= 0.8 && j(&s, &r) >= 0.8);
    assert!(j(&s, &k) < 0.8 && j(&r, &e) < 0.8);
    records.push(two(e, 1, 300)); // 15
    records.push(two(k, 1, 2)); // 16
    records.push(two(r, 301, 2)); // 17
    records.push(two(s, 302, 2)); // 18
    let settings = Settings {
        near: Some(NearSettings { bands: Some(2), rows: Some(1), ..NearSettings::default() }),
        ..one_band()
    };
    let [capped, all] = decide_with(&settings, &records);
    assert_eq!(capped[16], (Status::Removed, Some(15)));
    assert_eq!(capped[17], (Status::Kept, None));
    assert_eq!(capped[18], (Status::Removed, Some(17)), "the third round's pair");
    assert_eq!(capped, all);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the buckets (few keys, so large ones), the capped
    /// candidates completed by the search for missed pairs decide exactly
    /// as every pair does.
    #[test]
    fn the_cap_changes_no_decision(
        specs in prop::collection::vec((0u64..5, prop::collection::vec(0u64..30, 0..6), 0u64..2), 2..70),
    ) {
        // Families of near copies: a family's 30 shingles, a few swapped
        // for the record's own.
        let records: Vec<Analysis> = specs
            .iter()
            .enumerate()
            .map(|(i, (family, drop, key))| {
                let mut s: Vec<u64> =
                    (0..30).filter(|x| !drop.contains(x)).map(|x| family * 100 + x).collect();
                s.extend((0..drop.len() as u64).map(|j| 10_000 + i as u64 * 10 + j));
                record(s, *key)
            })
            .collect();
        let [capped, all] = decide(&records);
        prop_assert_eq!(capped, all);
    }
}

/// Exact duplicates of a record removed as a near duplicate point at the
/// record kept, reason near; the summary's count and the near report agree.
#[test]
fn chains_resolve_to_the_kept_record() {
    let settings = Settings { min_repeat: None, ..one_band() };
    let settings = Settings { exact: true, ..settings };
    let analyzer = Analyzer::new(&settings, false).unwrap();
    let base: Vec<u64> = (0..100).collect();
    let mut near = base[..96].to_vec();
    near.extend([700, 701, 702, 703]);
    let records = [record(base, 1), record(near.clone(), 1), record(near, 1)];
    let mut d =
        Deduper::new(&analyzer, &Resources::default(), OnError::Fail, vec!["t".into()]).unwrap();
    for (i, a) in records.iter().enumerate() {
        d.push((0, i as u64 + 1), None, Ok(a.clone())).unwrap();
    }
    let dec = d.decide(false, &NoProgress).unwrap();
    let o = dec.outcome(2, None);
    assert_eq!(
        (o.status, o.reason, o.duplicate_of),
        (Status::Removed, Some(Reason::Near), Some(0))
    );
    assert_eq!(dec.near.as_ref().unwrap().removed, 2, "near removals and their exact copies");
}
