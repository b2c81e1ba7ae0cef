//! Adds synthetic records to a fresh fjall index in batches and prints, per
//! batch, its time and the disk the index takes; then times lookups.
//!
//! Records look like neardup's defaults: a 128-slot signature, 21 band
//! keys, a set of ~100 shingle hashes (80 to 120), a 10-byte id. Values
//! are random, so nothing compresses and every band key is new: the
//! common case of a dedup run, where most records are kept.
//!
//! ```text
//! cargo build --release -p neardup-index --example scale
//! /usr/bin/time -v target/release/examples/scale DIR [RECORDS [BATCH [MEMORY_MIB [ROUNDS]]]]
//! ```
//! Defaults: 10 000 000 records in batches of 1 000 000, 256 MiB, three
//! rounds of lookups 30 s apart. DIR must not exist (or be empty).
#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::time::Instant;

use neardup_index::{Index, NewRecord, OpenOptions};

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn record(n: u64) -> NewRecord {
    let mut s = n.wrapping_mul(0x2545_f491_4f6c_dd1d);
    let hash = (u128::from(splitmix(&mut s)) << 64) | u128::from(splitmix(&mut s));
    let size = 80 + splitmix(&mut s) % 41;
    let mut set: Vec<u64> = (0..size).map(|_| splitmix(&mut s)).collect();
    set.sort_unstable();
    set.dedup();
    NewRecord {
        id: format!("doc-{n:06}"),
        hash,
        len: 500 + splitmix(&mut s) % 5000,
        bands: (0..21).map(|_| splitmix(&mut s)).collect(),
        signature: (0..128).map(|_| splitmix(&mut s) as u32).collect(),
        set,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args.first().expect("usage: scale DIR [RECORDS [BATCH [MEMORY_MIB]]]");
    let total: u64 = args.get(1).map_or(10_000_000, |a| a.parse().unwrap());
    let batch: u64 = args.get(2).map_or(1_000_000, |a| a.parse().unwrap());
    let memory: u64 = args.get(3).map_or(256, |a| a.parse().unwrap());
    let opts = OpenOptions::new().memory(memory << 20);
    let index = Index::create(dir, serde_json::json!({"bands": 21, "rows": 6}), &opts).unwrap();
    println!("batch  records  seconds  cpu_s  records/s  disk_MiB  bytes/record");
    let start = Instant::now();
    let mut next = 0u64;
    for b in 0u64.. {
        if next >= total {
            break;
        }
        let n = batch.min(total - next);
        let t = Instant::now();
        let c = cpu_seconds();
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&b.to_be_bytes());
        index.add_batch(key, (next..next + n).map(record)).unwrap();
        let secs = t.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - c;
        next += n;
        let disk = index.stats().unwrap().bytes_on_disk;
        println!(
            "{b:>5}  {next:>7}  {secs:>7.1}  {cpu:>5.1}  {:>9.0}  {:>8.0}  {:>12.0}",
            n as f64 / secs,
            disk as f64 / f64::from(1 << 20),
            disk as f64 / next as f64
        );
    }
    println!("added {next} records in {:.1} s", start.elapsed().as_secs_f64());

    // Lookups: hits by exact hash (the record read too, for its id), and
    // the lookups of a new record (its exact hash and 21 band keys, all
    // misses), right after the adds and again once compaction has had time.
    let rounds: u64 = args.get(4).map_or(3, |a| a.parse().unwrap());
    for round in 0..rounds {
        let probes = 20_000u64;
        let t = Instant::now();
        let c = cpu_seconds();
        for i in 0..probes {
            let r = record(splitmix(&mut i.clone()) % next);
            assert!(index.find_exact(r.hash).unwrap().is_some());
        }
        let (hit, hit_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
        let t = Instant::now();
        let c = cpu_seconds();
        let mut seqs = Vec::new();
        for i in 0..probes {
            let r = record(next + i);
            assert!(index.find_exact(r.hash).unwrap().is_none());
            for (band, &key) in r.bands.iter().enumerate() {
                index.find_band(band, key, &mut seqs).unwrap();
            }
        }
        let (miss, miss_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
        assert!(seqs.is_empty());
        let us = |s: f64| s * 1e6 / probes as f64;
        println!(
            "lookups after {}s: exact hit + record read {:.1} us ({:.1} us CPU); \
             new record (exact + 21 bands) {:.1} us ({:.1} us CPU)",
            round * 30,
            us(hit),
            us(hit_cpu),
            us(miss),
            us(miss_cpu)
        );
        if round + 1 < rounds {
            std::thread::sleep(std::time::Duration::from_secs(30));
        }
    }
}

/// CPU seconds of this process so far, all threads (fjall's compaction
/// included): unlike wall time, not inflated by other processes.
fn cpu_seconds() -> f64 {
    let stat = fs_err::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}
