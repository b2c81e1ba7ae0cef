//! Normalizer throughput on real text: set `NEARDUP_BENCH_TEXT` to a file
//! (e.g. the corpus's `all.txt`, the first 32 MB are used); otherwise the
//! shipped example, repeated.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use neardup_text::{Normalizer, OffsetMap};

fn text() -> String {
    match std::env::var("NEARDUP_BENCH_TEXT") {
        Ok(path) => {
            let mut bytes = fs_err::read(path).expect("NEARDUP_BENCH_TEXT is readable");
            bytes.truncate(32 << 20);
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Err(_) => include_str!("../../../examples/wire-story-twice.txt").repeat(400),
    }
}

fn bench(c: &mut Criterion) {
    let text = text();
    let n = Normalizer::default();
    let mut g = c.benchmark_group("normalize");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(10);
    let mut out = String::new();
    let mut map = OffsetMap::new();
    g.bench_function("canonical", |b| b.iter(|| n.normalize_into(&text, &mut out, None)));
    g.bench_function("with_offsets", |b| {
        b.iter(|| n.normalize_into(&text, &mut out, Some(&mut map)))
    });
    g.finish();
}

#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, bench);
}
use group::benches;
criterion_main!(benches);
