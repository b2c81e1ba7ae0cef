//! Damage is found, never a panic: a flipped byte in a record value
//! (through the fjall store, as a disk error would) fails its reads and
//! `verify`; any flipped byte in any key or value of any table makes
//! `verify` unsound or the open fail.

use neardup_index::{
    Error, FjallStore, Index, MemStore, NewRecord, OpenOptions, Store, Table, WriteBatch,
};
use proptest::prelude::*;
use serde_json::json;

use crate::common::{add_batches, in_memory, random_record, records, TempIndex};

#[test]
fn a_flipped_byte_in_a_record_value_is_caught() {
    let recs = records(50, 4, 30);
    let ix = TempIndex::filled(json!({"bands": 4}), &recs, &[]);
    let dir = &ix.dir;
    {
        let store = FjallStore::open(&dir.join("db"), 8 << 20).unwrap();
        let key = 7u64.to_be_bytes();
        let mut value = store.get(Table::Records, &key).unwrap().unwrap();
        let mid = value.len() / 2;
        value[mid] ^= 0x20;
        let mut b = WriteBatch::new();
        b.put(Table::Records, key.to_vec(), value);
        store.write(b).unwrap();
        store.persist().unwrap();
    }
    let index = ix.open();
    let report = index.verify().unwrap();
    assert!(!report.is_sound());
    assert!(
        report.problems[0].contains("record 7") && report.problems[0].contains("checksum"),
        "{report:?}"
    );
    assert!(report.problems[1].contains("1 of which are unreadable"), "{report:?}");
    assert_eq!(report.problems_total, 2, "{report:?}");

    let e = index.record(7).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Corrupt { table: "records", .. }), "{msg}");
    assert!(msg.contains("seq 7") && msg.contains(&dir.display().to_string()), "{msg}");
    assert!(matches!(index.find_exact(recs[7].hash), Err(Error::Corrupt { .. })));
    assert!(matches!(index.export(&mut Vec::new()), Err(Error::Corrupt { .. })));
    // The other records still read.
    assert_eq!(index.find_exact(recs[8].hash).unwrap(), Some((8, recs[8].id.clone())));
}

#[test]
fn an_exact_holder_naming_another_record_is_caught() {
    let (store, index) = in_memory(json!({}));
    let recs = records(5, 2, 5);
    add_batches(&index, &recs, &[]);
    let lookup = |i: usize| [&[0u8][..], &recs[i].hash.to_be_bytes()].concat();
    let clean = store.snapshot();
    // A holder row (tag 0, hash, seq) saying record 0 has record 3's hash,
    // beside the list record 3's key holds.
    let mut b = WriteBatch::new();
    b.put(Table::Holders, [lookup(3), 0u64.to_be_bytes().to_vec()].concat(), Vec::new());
    store.write(b).unwrap();
    let report = index.verify().unwrap();
    assert!(!report.is_sound(), "{report:?}");
    assert!(report.problems.iter().any(|p| p.contains("holder rows too")), "{report:?}");

    // The list of record 3's key saying record 0 holds it (record 0's own
    // list: well formed, checksum and all).
    let index = Index::open_in(Box::new(clean.clone()), "m", &OpenOptions::new()).unwrap();
    let list = clean.get(Table::Keys, &lookup(0)).unwrap().unwrap();
    let mut b = WriteBatch::new();
    b.put(Table::Keys, lookup(3), list);
    clean.write(b).unwrap();
    let e = index.find_exact(recs[3].hash).unwrap_err();
    assert!(e.to_string().contains("names record 0"), "{e}");
    let report = index.verify().unwrap();
    assert!(!report.is_sound(), "{report:?}");
}

fn small_index() -> (MemStore, Vec<NewRecord>) {
    let (store, index) = in_memory(json!({"b": 3}));
    // Shared hashes and band keys, so every table has entries: band 2's
    // key 7 gets more holders than a key lists (holder rows, from the
    // second batch on), the others few (listed in the key's value).
    let recs: Vec<NewRecord> = (0..40u64)
        .map(|i| {
            let mut r = random_record(i, 3, 6);
            r.hash = u128::from(i % 9);
            r.bands = vec![i % 4, i % 5, 7];
            r
        })
        .collect();
    add_batches(&index, &recs, &[10]);
    assert!(index.verify().unwrap().is_sound());
    (store, recs)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_flipped_byte_is_found(
        table in 0usize..4,
        pick in any::<prop::sample::Index>(),
        in_key in any::<bool>(),
        at in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let (store, recs) = small_index();
        let table = Table::ALL[table];
        let entries: Vec<_> = store.scan(table, &[], None).map(|e| e.unwrap()).collect();
        let (key, value) = entries[pick.index(entries.len())].clone();
        let (mut k2, mut v2) = (key.clone(), value.clone());
        if in_key || value.is_empty() {
            let i = at.index(k2.len());
            k2[i] ^= xor;
        } else {
            let i = at.index(v2.len());
            v2[i] ^= xor;
        }
        let mut b = WriteBatch::new();
        b.delete(table, key);
        b.put(table, k2, v2);
        store.write(b).unwrap();

        match Index::open_in(Box::new(store.clone()), "m", &OpenOptions::new()) {
            Err(_) => {} // Found at open: a clear error, not a panic.
            Ok(index) => {
                let report = index.verify().unwrap();
                prop_assert!(!report.is_sound(), "undetected: {:?}", table);
                // Lookups answer or fail; none panics.
                let mut seqs = Vec::new();
                for r in &recs {
                    let _ = index.find_exact(r.hash);
                    for (band, &key) in r.bands.iter().enumerate() {
                        let _ = index.find_band(band, key, &mut seqs);
                    }
                }
                for seq in 0..recs.len() as u64 + 2 {
                    let _ = index.record(seq);
                }
                let _ = index.export(&mut Vec::new());
                let _ = index.stats();
            }
        }
    }
}
