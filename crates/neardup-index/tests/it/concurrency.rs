//! Many readers, one writer: while batches are added, every view a reader
//! takes holds whole batches only, and all of each.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use neardup_index::{Index, NewRecord, OpenOptions};
use serde_json::json;

use crate::common::{one_band_record, random_record, splitmix, PauseAfterRead, TempIndex};

#[test]
fn readers_during_adds_see_whole_batches_only() {
    let ix = TempIndex::with_options(OpenOptions::new().memory(16 << 20).chunk_bytes(32 << 10));
    let index = Arc::new(ix.create(json!({})));
    let mut rng = 7u64;
    let batches: Arc<Vec<Vec<NewRecord>>> = Arc::new(
        (0..24u64)
            .map(|b| {
                let n = splitmix(&mut rng) % 1500 + 1;
                (0..n).map(|j| random_record(b << 32 | j, 4, 10)).collect()
            })
            .collect(),
    );
    let mut ends = vec![0u64];
    for b in batches.iter() {
        ends.push(ends.last().unwrap() + b.len() as u64);
    }
    let all: Arc<Vec<NewRecord>> = Arc::new(batches.iter().flatten().cloned().collect());
    let ends = Arc::new(ends);
    let done = Arc::new(AtomicBool::new(false));
    let checks = Arc::new(AtomicU64::new(0));

    let readers: Vec<_> = (0..3)
        .map(|t| {
            let (index, all, ends, done, checks) =
                (index.clone(), all.clone(), ends.clone(), done.clone(), checks.clone());
            std::thread::spawn(move || {
                let mut rng = t;
                while !done.load(Ordering::Acquire) {
                    let view = index.view();
                    let n = view.records();
                    let b = ends
                        .binary_search(&n)
                        .unwrap_or_else(|_| panic!("a view of {n} records: not a batch boundary"));
                    if b > 0 {
                        // All of the last batch in the view is there.
                        let (first, last) = (ends[b - 1], n - 1);
                        let mid = first + splitmix(&mut rng) % (n - first);
                        for seq in [first, mid, last] {
                            let r = &all[seq as usize];
                            assert_eq!(view.find_exact(r.hash).unwrap(), Some((seq, r.id.clone())));
                        }
                    }
                    if let Some(next) = all.get(n as usize) {
                        // Nothing of the next one, even while it is written.
                        assert_eq!(view.find_exact(next.hash).unwrap(), None);
                        let mut seqs = Vec::new();
                        view.find_band(1, next.bands[1], &mut seqs).unwrap();
                        assert!(seqs.iter().all(|&s| s < n), "{seqs:?} in a view of {n}");
                        assert!(view.record(n).is_err());
                    }
                    checks.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    for (b, recs) in batches.iter().enumerate() {
        index.add_batch([b as u8; 16], recs.iter().cloned()).unwrap();
    }
    done.store(true, Ordering::Release);
    for r in readers {
        r.join().unwrap();
    }
    assert!(checks.load(Ordering::Relaxed) > 0);
    assert_eq!(index.records(), *ends.last().unwrap());
    assert!(index.verify().unwrap().is_sound());
}

#[test]
fn index_and_views_can_be_shared_across_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Index>();
    shared::<neardup_index::View<'static>>();
    shared::<neardup_index::FjallStore>();
    shared::<neardup_index::MemStore>();
}

/// A writer's view that reads a key as absent, while the same writer adds
/// that key on another thread, must not make the writer's next add take
/// the key for new (it would overwrite the holder the first add listed).
#[test]
fn a_key_read_absent_during_an_add_is_not_taken_for_new_afterwards() {
    use std::sync::mpsc;
    let rec = one_band_record;
    let (told_tx, told_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel();
    let store = PauseAfterRead::new(told_tx, go_rx);
    let index = Index::create_in(Box::new(store), "m", json!({}), &OpenOptions::new()).unwrap();
    let writer = index.writer().unwrap();
    std::thread::scope(|s| {
        let w = &writer;
        let reader = s.spawn(move || {
            // Band 0 key 5 is absent: read, then stopped before it is noted.
            w.view().find_band(0, 5, &mut Vec::new()).unwrap();
        });
        told_rx.recv().unwrap();
        w.add_batch([0; 16], [rec("a", 1)]).unwrap(); // holder 0 of band 0 key 5
        go_tx.send(()).unwrap();
        reader.join().unwrap();
    });
    writer.add_batch([1; 16], [rec("b", 2)]).unwrap(); // holder 1 of the same key
    drop(writer);
    let mut seqs = Vec::new();
    index.find_band(0, 5, &mut seqs).unwrap();
    assert_eq!(seqs, [0, 1]);
    assert!(index.verify().unwrap().is_sound());
}
