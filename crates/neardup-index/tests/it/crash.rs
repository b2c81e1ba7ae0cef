//! A child process adds batches to a fjall index and is SIGKILLed at
//! random moments; after each kill the index opens cleanly, `verify`
//! passes, every batch is wholly in or wholly out, and a rerun that skips
//! the committed batches (as `dedup --index` will) completes the job.
//!
//! The child is this test binary itself, run with `--ignored --exact
//! crash::crash_child` and the index directory in an environment variable.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use neardup_index::{FjallStore, Index, NewRecord, OpenOptions, Store, Table};
use serde_json::json;

use crate::common::{random_record, splitmix};

const CHILD_ENV: &str = "NEARDUP_INDEX_CRASH_CHILD_DIR";
const READY: &str = "crash-child: adding";
/// Records per batch: large and small, several chunks each.
const SIZES: [u64; 9] = [300, 2500, 5, 4000, 1, 1200, 0, 3000, 80];

fn opts() -> OpenOptions {
    OpenOptions::new().memory(16 << 20).chunk_bytes(64 << 10)
}

fn batch_key(b: usize) -> [u8; 16] {
    let mut k = [0xb0; 16];
    k[15] = b as u8;
    k
}

fn batch(b: usize) -> impl Iterator<Item = NewRecord> {
    (0..SIZES[b]).map(move |j| {
        let mut r = random_record((b as u64) << 32 | j, 4, 8);
        // Band 3 has 500 keys in all: each gets holders from batch after
        // batch, its list grows and then moves to holder rows, all of it
        // under the kills.
        r.bands[3] = j % 500;
        r
    })
}

/// The child: add every batch not yet in the index.
#[test]
#[ignore = "the child process of killed_at_random_moments_batches_are_all_or_nothing"]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else { return };
    let index = Index::open(&dir, &opts()).unwrap();
    // Tell the parent that adding starts now.
    let mut out = std::io::stdout();
    writeln!(out, "{READY}").unwrap();
    out.flush().unwrap();
    for b in 0..SIZES.len() {
        if index.committed_batch(batch_key(b)).unwrap().is_none() {
            index.add_batch(batch_key(b), batch(b)).unwrap();
        }
    }
}

fn child(dir: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "crash::crash_child", "--test-threads=1", "--quiet"])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Records in the engine, committed or not (what a crash left).
fn raw_records(dir: &Path) -> u64 {
    let store = FjallStore::open(&dir.join("db"), 8 << 20).unwrap();
    store.scan(Table::Records, &[], None).count() as u64
}

/// Checks the invariants; returns how many batches are in.
fn check(dir: &Path) -> usize {
    let index = Index::open(dir, &opts()).unwrap();
    let report = index.verify().unwrap();
    assert!(report.is_sound(), "{report:?}");
    let mut first = 0u64;
    let mut done = 0;
    for (b, &size) in SIZES.iter().enumerate() {
        match index.committed_batch(batch_key(b)).unwrap() {
            Some(info) => {
                // Batches go in order, so the committed ones are a prefix.
                assert_eq!(done, b, "batch {b} is in, an earlier one is not");
                assert_eq!((info.first_seq, info.count), (first, size), "batch {b}");
                for (j, r) in batch(b).enumerate() {
                    let seq = first + j as u64;
                    assert_eq!(index.find_exact(r.hash).unwrap(), Some((seq, r.id.clone())));
                    let s = index.record(seq).unwrap();
                    assert_eq!((s.id, s.bands, s.set), (r.id, r.bands, r.set));
                }
                first += info.count;
                done += 1;
            }
            None => {
                // Nothing of it is visible.
                for r in batch(b).take(50) {
                    assert_eq!(index.find_exact(r.hash).unwrap(), None, "batch {b}");
                    let mut seqs = Vec::new();
                    index.find_band(0, r.bands[0], &mut seqs).unwrap();
                    assert!(seqs.is_empty(), "batch {b}");
                }
            }
        }
    }
    assert_eq!(index.records(), first);
    assert_eq!(report.records, first);
    done
}

#[test]
fn killed_at_random_moments_batches_are_all_or_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = 0x5eed_u64;
    let (mut kills, mut leftovers) = (0, 0);
    // Two indexes, each filled by children killed until all batches are
    // in (or a round limit), then completed by a rerun.
    for attempt in 0..2 {
        let dir = tmp.path().join(format!("ix{attempt}"));
        drop(Index::create(&dir, json!({"bands": 4}), &opts()).unwrap());
        for round in 0..10 {
            let mut c = child(&dir);
            // Mostly kill while batches are added (after the child says it
            // opened the index); every fourth round, at any moment (an open
            // removing a crashed batch's rows can be killed too).
            // The child's output stays open until it is gone.
            let mut out = None;
            if round % 4 != 3 {
                let mut lines = BufReader::new(c.stdout.take().unwrap()).lines();
                for line in lines.by_ref() {
                    if line.unwrap().contains(READY) {
                        break;
                    }
                }
                out = Some(lines);
            }
            std::thread::sleep(Duration::from_millis(splitmix(&mut rng) % 700));
            if c.try_wait().unwrap().is_none() {
                c.kill().unwrap(); // SIGKILL
                kills += 1;
            }
            c.wait().unwrap();
            drop(out);
            let raw = raw_records(&dir);
            let done = check(&dir);
            let committed: u64 = SIZES[..done].iter().sum();
            leftovers += u64::from(raw > committed);
            if done == SIZES.len() {
                break;
            }
        }
        // The rerun completes the job.
        let status = child(&dir).wait().unwrap();
        assert!(status.success(), "the rerun failed: {status}");
        assert_eq!(check(&dir), SIZES.len());
    }
    #[allow(clippy::print_stderr)]
    {
        eprintln!("crash test: {kills} kills, {leftovers} left rows of an unfinished batch");
    }
}
