//! Creating and opening: settings kept and checked, refusals with clear
//! messages, data kept across a reopen.

use neardup_index::{Error, Index, FORMAT_VERSION, MARKER};
use serde_json::json;

use crate::common::{records, TempIndex};

fn settings() -> serde_json::Value {
    json!({"canonical": {"case": "fold"}, "shingle": "word:5", "bands": 21, "rows": 6, "threshold": 0.8})
}

#[test]
fn settings_are_kept_and_a_mismatch_names_both_values() {
    let ix = TempIndex::new();
    let fingerprint = ix.create(settings()).fingerprint().to_owned();

    let index = ix.open();
    assert_eq!(index.settings(), &settings());
    assert_eq!(index.fingerprint(), fingerprint);
    index.check_settings(&settings()).unwrap();

    let mut other = settings();
    other["bands"] = json!(20);
    let e = index.check_settings(&other).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(&e, Error::Settings { mismatch, .. } if mismatch.setting == "bands"), "{msg}");
    assert!(msg.contains(&ix.dir.display().to_string()), "{msg}");
    assert!(msg.contains("`bands`") && msg.contains("`21`") && msg.contains("`20`"), "{msg}");

    let mut other = settings();
    other["canonical"]["case"] = json!("keep");
    let msg = index.check_settings(&other).unwrap_err().to_string();
    assert!(msg.contains("`canonical.case`") && msg.contains("`\"fold\"`"), "{msg}");
}

#[test]
fn records_survive_a_reopen_and_stats_count_them() {
    let recs = records(500, 21, 100);
    let ix = TempIndex::filled(settings(), &recs, &[200]);
    let index = ix.open();
    let stats = index.stats().unwrap();
    assert_eq!((stats.records, stats.batches), (500, 2));
    assert!(stats.bytes_on_disk > 500 * 1000, "{stats:?}");
    let json = serde_json::to_value(&stats).unwrap();
    assert_eq!(json["records"], 500);
    assert_eq!(json["settings"], settings());
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(index.find_exact(r.hash).unwrap(), Some((i as u64, r.id.clone())));
    }
    let info = index.committed_batch([2; 16]).unwrap().unwrap();
    assert_eq!((info.first_seq, info.count, info.number), (200, 300, 1));
    // The history before batch 2, as a rerun of it would see it.
    let before = index.view_at(info.first_seq).unwrap();
    assert_eq!(before.find_exact(recs[300].hash).unwrap(), None);
    assert!(index.view_at(501).is_err());
    let e = index.add_batch([2; 16], recs[..1].iter().cloned()).unwrap_err();
    assert!(matches!(e, Error::BatchCommitted { first_seq: 200, count: 300, .. }), "{e}");
    assert!(index.verify().unwrap().is_sound());

    let mut out = Vec::new();
    assert_eq!(index.export(&mut out).unwrap(), 500);
    let lines: Vec<serde_json::Value> = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 500);
    assert_eq!(lines[7]["seq"], 7);
    assert_eq!(lines[7]["id"], recs[7].id);
    assert_eq!(lines[7]["hash"], format!("{:032x}", recs[7].hash));
    assert_eq!(lines[7]["signature"].as_array().unwrap().len(), 16);
    assert_eq!(lines[7]["bands"][3], format!("{:016x}", recs[7].bands[3]));
}

#[test]
fn refusals_say_what_is_wrong() {
    let ix = TempIndex::new();
    let opts = &ix.opts;

    let plain = ix.root().join("plain");
    fs_err::create_dir_all(&plain).unwrap();
    fs_err::write(plain.join("notes.txt"), "hello").unwrap();
    let e = Index::open(&plain, opts).err().unwrap();
    assert!(matches!(e, Error::NotAnIndex { .. }), "{e}");
    assert!(e.to_string().contains("neardup index create"), "{e}");
    // Nothing was created there.
    assert!(!plain.join("db").exists());

    let e = Index::create(&plain, settings(), opts).err().unwrap();
    assert!(matches!(e, Error::NotEmpty { .. }), "{e}");

    let e = Index::create(ix.root().join("x"), json!([1, 2]), opts).err().unwrap();
    assert!(matches!(e, Error::SettingsNotObject { .. }), "{e}");

    drop(ix.create(settings()));
    let marker = fs_err::read_to_string(ix.dir.join(MARKER)).unwrap();
    fs_err::write(
        ix.dir.join(MARKER),
        marker.replace(&format!("\"version\": {FORMAT_VERSION}"), "\"version\": 99"),
    )
    .unwrap();
    let e = Index::open(&ix.dir, opts).err().unwrap();
    assert!(matches!(e, Error::Version { found: 99, supported: FORMAT_VERSION, .. }), "{e}");
    fs_err::write(ix.dir.join(MARKER), "{not json").unwrap();
    let e = Index::open(&ix.dir, opts).err().unwrap();
    assert!(matches!(e, Error::NotAnIndex { .. }), "{e}");
}

#[test]
fn a_second_open_of_the_same_directory_is_refused_while_the_first_is_open() {
    let ix = TempIndex::new();
    let first = ix.create(settings());
    match Index::open(&ix.dir, &ix.opts) {
        Err(e @ Error::Store { .. }) => {
            assert!(e.to_string().contains(&ix.dir.display().to_string()));
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a second writer was let in"),
    }
    drop(first);
    ix.open();
}

#[test]
fn an_index_of_the_previous_layout_opens_and_its_first_add_marks_it_as_this_one() {
    use neardup_index::{FjallStore, Store, Table, WriteBatch, OLDEST_READABLE};
    let recs = records(20, 4, 10);
    let ix = TempIndex::filled(settings(), &recs[..10], &[]);
    let dir = &ix.dir;
    // Mark it as the previous layout, in the store and in the marker (what
    // an index written by the previous build says).
    {
        let store = FjallStore::open(&dir.join("db"), 8 << 20).unwrap();
        let mut v = b"NDIX".to_vec();
        v.extend_from_slice(&OLDEST_READABLE.to_le_bytes());
        let sum = xxhash_rust::xxh3::xxh3_64(&v);
        v.extend_from_slice(&sum.to_le_bytes());
        let mut b = WriteBatch::new();
        b.put(Table::Meta, b"format".to_vec(), v);
        store.write(b).unwrap();
        store.persist().unwrap();
    }
    let marker = fs_err::read_to_string(dir.join(MARKER)).unwrap();
    let old = format!("\"version\": {OLDEST_READABLE}");
    fs_err::write(
        dir.join(MARKER),
        marker.replace(&format!("\"version\": {FORMAT_VERSION}"), &old),
    )
    .unwrap();

    let index = ix.open();
    assert_eq!(index.stats().unwrap().format_version, OLDEST_READABLE);
    assert_eq!(index.find_exact(recs[3].hash).unwrap(), Some((3, recs[3].id.clone())));
    assert!(index.verify().unwrap().is_sound());
    // The first add marks it, in the store and in the marker, so that a
    // build that knows only the previous layout refuses it from now on.
    index.add_batch([2; 16], recs[10..].iter().cloned()).unwrap();
    assert_eq!(index.stats().unwrap().format_version, FORMAT_VERSION);
    drop(index);
    let marker = fs_err::read_to_string(dir.join(MARKER)).unwrap();
    assert!(marker.contains(&format!("\"version\": {FORMAT_VERSION}")), "{marker}");
    let index = ix.open();
    assert_eq!(index.stats().unwrap().format_version, FORMAT_VERSION);
    assert_eq!(index.records(), 20);
    assert!(index.verify().unwrap().is_sound());
}
