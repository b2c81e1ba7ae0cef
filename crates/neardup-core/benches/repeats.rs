//! `repeats::find` throughput (bytes of canonical text) on short records
//! (~650 bytes), long ones (~20 kB), and long ones full of repeats.
//!
//! Input: the `text` fields of the JSONL file named by `NEARDUP_BENCH_JSONL`
//! (e.g. `/work/corpus/speed/sample-60000.jsonl` from
//! `bench/speed_sample.py`; the first 8 MB), normalized, or else generated
//! prose. Instruction counts, steadier than time on a shared machine, come
//! from `benches/icount.rs`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use neardup_core::repeats;
use neardup_text::Normalizer;

/// A small deterministic generator (SplitMix64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Lowercase prose of `bytes` bytes: words of 1–9 letters, a line break
/// every dozen words or so.
fn prose(rng: &mut Rng, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 16);
    while s.len() < bytes {
        let len = 1 + rng.next() % 9;
        s.extend((0..len).map(|_| (b'a' + (rng.next() % 26) as u8) as char));
        s.push(if rng.next().is_multiple_of(12) { '\n' } else { ' ' });
    }
    s
}

fn records() -> Vec<String> {
    let n = Normalizer::default();
    if let Ok(path) = std::env::var("NEARDUP_BENCH_JSONL") {
        let data = fs_err::read_to_string(path).expect("NEARDUP_BENCH_JSONL is readable");
        let mut out = Vec::new();
        let mut total = 0;
        for line in data.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let t = n.canonical(v["text"].as_str().unwrap_or_default());
            total += t.len();
            out.push(t);
            if total > 8 << 20 {
                break;
            }
        }
        return out;
    }
    let mut rng = Rng(7);
    (0..4000).map(|_| prose(&mut rng, 650)).collect()
}

fn bench(c: &mut Criterion) {
    let short = records();
    let mut rng = Rng(11);
    let long: Vec<String> = (0..40).map(|_| prose(&mut rng, 20_000)).collect();
    // Long records that say a quarter of themselves again, in pieces.
    let repeating: Vec<String> = long
        .iter()
        .map(|t| {
            let mut s = t.clone();
            for k in 0..10 {
                let at = (k * 997) % (t.len() - 600);
                let at = (at..).find(|&i| t.is_char_boundary(i)).unwrap_or(0);
                let end = (at + 500..).find(|&i| t.is_char_boundary(i)).unwrap_or(t.len());
                s.push_str(&t[at..end]);
                s.push('\n');
            }
            s
        })
        .collect();
    let mut g = c.benchmark_group("repeats_find");
    g.sample_size(10).warm_up_time(Duration::from_millis(300));
    for (label, set) in [("short", &short), ("long", &long), ("long_repeating", &repeating)] {
        let bytes: usize = set.iter().map(String::len).sum();
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| set.iter().map(|t| repeats::find(black_box(t), 100).len()).sum::<usize>());
        });
    }
    g.finish();
}

#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, bench);
}
use group::benches;
criterion_main!(benches);
