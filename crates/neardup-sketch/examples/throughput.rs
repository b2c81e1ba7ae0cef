//! Nanoseconds per shingle of each sketching stage, robust to a busy
//! machine.
//!
//! Criterion (`cargo bench`) reports means, which a process on the other
//! hyperthread of the core can double. This measures each 50-document
//! chunk 40 times, keeps the fastest pass of each chunk and prints the
//! median chunk: close to what the code does on a quiet core. Input is
//! the benchmark's English-like text, or `NEARDUP_BENCH_TEXT`.
//!
//! ```text
//! cargo run --release -p neardup-sketch --example throughput
//! ```
#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::Instant;

use neardup_sketch::{lsh, Shingling, SketchKind, Sketcher};

#[path = "../benches/common/mod.rs"]
mod common;

/// Median over chunks of the best ns/shingle of 40 passes; `f` returns the
/// shingles it processed.
fn measure(docs: &[String], mut f: impl FnMut(&str) -> usize) -> f64 {
    let mut per_chunk: Vec<f64> = docs
        .chunks(50)
        .map(|chunk| {
            (0..40)
                .map(|_| {
                    let t = Instant::now();
                    let n: usize = chunk.iter().map(|d| f(d)).sum();
                    t.elapsed().as_nanos() as f64 / n.max(1) as f64
                })
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    per_chunk.sort_by(f64::total_cmp);
    per_chunk[per_chunk.len() / 2]
}

fn main() {
    let long: Vec<String> = common::documents(400).into_iter().take(500).collect();
    let short: Vec<String> = common::documents(20).into_iter().take(2000).collect();
    let params = lsh::optimal_params(0.8, 128, 0.5, 0.5).unwrap();
    let (mut h, mut sig, mut keys) = (Vec::new(), Vec::new(), Vec::new());

    println!("| stage (k = 128)                           | ns / shingle |");
    println!("|-------------------------------------------|-------------:|");
    for s in [Shingling::Word(5), Shingling::Char(5)] {
        let ns = measure(&long, |d| {
            s.shingle_hashes(d, 1, &mut h);
            black_box(&h);
            h.len()
        });
        println!(
            "| shingle hashes, `{s}`{:pad$} | {ns:12.1} |",
            "",
            pad = 23 - s.to_string().len()
        );
    }
    let w5 = Shingling::Word(5);
    for kind in [SketchKind::MinHash, SketchKind::Oph] {
        let sk = Sketcher::new(kind, 128, 1).unwrap();
        for (label, docs) in [("400-word", &long), ("20-word", &short)] {
            let hashes: Vec<Vec<u64>> = docs
                .iter()
                .map(|d| {
                    let mut v = Vec::new();
                    w5.shingle_hashes(d, 1, &mut v);
                    v
                })
                .collect();
            // Sketch alone: look the precomputed hashes up by position.
            let mut next = 0;
            let ns = measure(docs, |_| {
                let hs = &hashes[next % hashes.len()];
                next += 1;
                sk.sketch(hs, &mut sig);
                black_box(&sig);
                hs.len()
            });
            let name = format!("{kind} signature, {label} texts");
            println!("| {name:41} | {ns:12.1} |");
            let ns = measure(docs, |d| {
                w5.shingle_hashes(d, 1, &mut h);
                sk.sketch(&h, &mut sig);
                params.band_keys(&sig, &mut keys).unwrap();
                black_box(&keys);
                h.len()
            });
            let name = format!("end to end, {kind}, {label} texts");
            println!("| {name:41} | {ns:12.1} |");
        }
    }
}
