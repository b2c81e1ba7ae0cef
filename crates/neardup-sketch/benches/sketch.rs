//! Per-shingle cost of each stage of near-duplicate sketching.
//!
//! Throughput is reported in shingles (criterion's "elements"), so
//! `1e9 / (elem/s)` is nanoseconds per shingle. Input is English-like text
//! generated from a fixed seed (Zipf-distributed words from a vocabulary of
//! common English words plus generated ones, sentences of 5–25 words), or
//! the file named by `NEARDUP_BENCH_TEXT`, cut into documents of ~400 words.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-sketch cargo bench -p neardup-sketch
//! NEARDUP_BENCH_TEXT=corpus.txt cargo bench -p neardup-sketch -- end_to_end
//! ```
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use neardup_sketch::{jaccard, lsh, shingle, BucketTable, Shingling, SketchKind, Sketcher};

mod common;
use common::documents;

fn shingle_count(docs: &[String], s: Shingling) -> u64 {
    let mut out = Vec::new();
    docs.iter()
        .map(|d| {
            s.shingle_hashes(d, 1, &mut out);
            out.len() as u64
        })
        .sum()
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

fn bench_shingles(c: &mut Criterion) {
    let docs = documents(400);
    let mut g = c.benchmark_group("shingle");
    for s in [Shingling::Word(5), Shingling::Char(5)] {
        g.throughput(Throughput::Elements(shingle_count(&docs, s)));
        g.bench_function(BenchmarkId::from_parameter(s), |b| {
            let mut out = Vec::new();
            b.iter(|| {
                for d in &docs {
                    s.shingle_hashes(black_box(d), 1, &mut out);
                    black_box(&out);
                }
            });
        });
    }
    g.finish();
}

fn bench_sketch(c: &mut Criterion) {
    for (label, words) in [("sketch", 400), ("sketch_100_words", 100), ("sketch_short_docs", 20)] {
        let docs = documents(words);
        let hashes: Vec<Vec<u64>> = docs
            .iter()
            .map(|d| {
                let mut h = Vec::new();
                Shingling::Word(5).shingle_hashes(d, 1, &mut h);
                h
            })
            .collect();
        let n: u64 = hashes.iter().map(|h| h.len() as u64).sum();
        let mut g = c.benchmark_group(label);
        g.throughput(Throughput::Elements(n));
        for kind in [SketchKind::MinHash, SketchKind::Oph] {
            let sk = Sketcher::new(kind, 128, 1).unwrap();
            g.bench_function(BenchmarkId::new(kind.to_string(), 128), |b| {
                let mut sig = Vec::new();
                b.iter(|| {
                    for h in &hashes {
                        sk.sketch(black_box(h), &mut sig);
                        black_box(&sig);
                    }
                });
            });
        }
        g.finish();
    }
}

/// Canonical text to band keys, the whole per-document path.
fn bench_end_to_end(c: &mut Criterion) {
    let docs = documents(400);
    let s = Shingling::Word(5);
    let mut g = c.benchmark_group("end_to_end");
    g.throughput(Throughput::Elements(shingle_count(&docs, s)));
    let params = lsh::optimal_params(0.8, 128, 0.5, 0.5).unwrap();
    for kind in [SketchKind::MinHash, SketchKind::Oph] {
        let sk = Sketcher::new(kind, 128, 1).unwrap();
        g.bench_function(BenchmarkId::new(kind.to_string(), 128), |b| {
            let (mut h, mut sig, mut keys) = (Vec::new(), Vec::new(), Vec::new());
            b.iter(|| {
                for d in &docs {
                    s.shingle_hashes(black_box(d), 1, &mut h);
                    sk.sketch(&h, &mut sig);
                    params.band_keys(&sig, &mut keys).unwrap();
                    black_box(&keys);
                }
            });
        });
    }
    g.finish();
}

fn bench_lsh_and_verify(c: &mut Criterion) {
    let docs = documents(400);
    let sk = Sketcher::new(SketchKind::Oph, 128, 1).unwrap();
    let params = lsh::optimal_params(0.8, 128, 0.5, 0.5).unwrap();
    let mut keys_all = Vec::new();
    let mut sets = Vec::new();
    let (mut h, mut sig, mut keys) = (Vec::new(), Vec::new(), Vec::new());
    for d in &docs {
        Shingling::Word(5).shingle_hashes(d, 1, &mut h);
        sk.sketch(&h, &mut sig);
        params.band_keys(&sig, &mut keys).unwrap();
        keys_all.push(keys.clone());
        shingle::into_set(&mut h);
        sets.push(h.clone());
    }
    let mut g = c.benchmark_group("lsh");
    g.throughput(Throughput::Elements(docs.len() as u64));
    g.bench_function("band_keys_per_doc", |b| {
        let sigs: Vec<Vec<u32>> = sets
            .iter()
            .map(|h| {
                let mut s = Vec::new();
                sk.sketch(h, &mut s);
                s
            })
            .collect();
        b.iter(|| {
            for s in &sigs {
                params.band_keys(black_box(s), &mut keys).unwrap();
                black_box(&keys);
            }
        });
    });
    let dir = std::env::temp_dir();
    for (label, budget) in
        [("bucket_table_in_memory_per_doc", 1 << 30), ("bucket_table_spilling_per_doc", 64 << 10)]
    {
        g.bench_function(label, |b| {
            b.iter(|| {
                let mut t = BucketTable::new(params.bands, budget, &dir).unwrap();
                for (i, k) in keys_all.iter().enumerate() {
                    t.insert(i as u32, k).unwrap();
                }
                let mut n = 0;
                t.finish().unwrap().for_each_bucket(|b| n += b.docs.len()).unwrap();
                black_box(n)
            });
        });
    }
    g.finish();

    let mut g = c.benchmark_group("jaccard");
    let pairs: Vec<(usize, usize)> = (1..sets.len()).map(|i| (i - 1, i)).collect();
    let elems: u64 = pairs.iter().map(|&(a, b)| (sets[a].len() + sets[b].len()) as u64).sum();
    g.throughput(Throughput::Elements(elems));
    g.bench_function("exact_per_element", |b| {
        b.iter(|| pairs.iter().map(|&(x, y)| jaccard::jaccard(&sets[x], &sets[y])).sum::<f64>());
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_shingles, bench_sketch, bench_end_to_end, bench_lsh_and_verify
}
criterion_main!(benches);
