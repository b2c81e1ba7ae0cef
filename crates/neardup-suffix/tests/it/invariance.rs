//! Same answer at every memory budget (one bucket, many buckets, nested
//! partitions, over-budget buckets) and thread count, on a corpus large
//! enough to need all of them, and equal to the oracle.

use neardup_suffix::Mode;

use crate::oracle::{assert_utf8, oracle, Gen, Run, Search};

/// Documents stitched from random text and a pool of shared phrases (some
/// with multi-byte characters), plus exact copies of whole documents.
fn corpus(seed: u64, docs: usize) -> Vec<Vec<u8>> {
    let mut g = Gen(seed);
    let phrases: Vec<Vec<u8>> = (0..30)
        .map(|i| {
            let n = 10 + g.below(60);
            let mut p = g.text(n);
            if i % 3 == 0 {
                p.extend_from_slice("€ガé".as_bytes());
                let n = g.below(20);
                p.extend(g.text(n));
            }
            p
        })
        .collect();
    let mut out: Vec<Vec<u8>> = Vec::new();
    for _ in 0..docs {
        if !out.is_empty() && g.below(8) == 0 {
            let copy = out[g.below(out.len())].clone();
            out.push(copy);
            continue;
        }
        let mut d = Vec::new();
        for _ in 0..g.below(12) {
            if g.below(2) == 0 {
                d.extend_from_slice(&phrases[g.below(phrases.len())]);
            } else {
                let n = g.below(80);
                d.extend(g.text(n));
            }
        }
        out.push(d);
    }
    out
}

#[test]
fn any_budget_and_thread_count_give_the_oracle_answer() {
    let docs = corpus(11, 500);
    let bytes: usize = docs.iter().map(Vec::len).sum();
    assert!(bytes > 100_000, "{bytes}");
    for (l, mode) in [(20, Mode::Later), (20, Mode::All), (7, Mode::Later), (50, Mode::All)] {
        let want = oracle(&docs, l, mode, 0, Search::Map);
        assert!(!want.is_empty());
        assert_utf8(&docs, &want);
        // Every thread count for the first setting, one for the others.
        let thread_counts: &[usize] =
            if (l, mode) == (20, Mode::Later) { &[1, 3, 8] } else { &[2] };
        // 300 bytes puts every bucket over budget: slow, so once.
        let memories: &[usize] = if l == 7 {
            &[1 << 28, 1 << 20, 64 << 10, 4 << 10, 300]
        } else {
            &[1 << 28, 1 << 20, 64 << 10, 4 << 10]
        };
        for &memory in memories {
            for &threads in thread_counts {
                let run = Run { l, mode, memory, threads, min_tokens: 0 };
                let (got, stats) = run.cuts(&docs);
                assert!(
                    got == want,
                    "l={l} {mode:?} memory={memory} threads={threads}: differs from the oracle"
                );
                if memory <= 64 << 10 {
                    assert!(stats.depth >= 1, "memory={memory} should partition: {stats:?}");
                }
                if memory == 1 << 28 {
                    assert_eq!((stats.buckets, stats.depth), (1, 0));
                }
            }
        }
    }
}

#[test]
fn one_huge_document_is_cut_into_pieces() {
    // A single document much larger than the budget, repeating itself.
    let mut g = Gen(5);
    let block = g.text(3000);
    let doc = [block.clone(), g.text(500), block.clone(), g.text(10), block].concat();
    let docs = vec![doc];
    let want = oracle(&docs, 32, Mode::Later, 0, Search::Map);
    for memory in [1 << 28, 8 << 10, 1 << 10] {
        let run = Run { l: 32, mode: Mode::Later, memory, threads: 2, min_tokens: 0 };
        assert_eq!(run.cuts(&docs).0, want, "memory {memory}");
    }
}

/// The oracle on a real corpus: `NEARDUP_ORACLE_JSONL=/work/corpus/small/all.jsonl
/// cargo test --release -p neardup-suffix --test it -- --ignored real_corpus`
/// (about 2 GB of memory for the 17 MB small corpus).
#[test]
#[ignore = "needs a corpus file and a release build"]
fn real_corpus_matches_the_oracle() {
    let Ok(path) = std::env::var("NEARDUP_ORACLE_JSONL") else {
        return;
    };
    let text = fs_err::read_to_string(&path).unwrap();
    let docs: Vec<Vec<u8>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["text"].as_str().unwrap().as_bytes().to_vec()
        })
        .collect();
    for mode in [Mode::Later, Mode::All] {
        let want = oracle(&docs, 100, mode, 0, Search::Map);
        for memory in [1 << 30, 4 << 20] {
            let run = Run { l: 100, mode, memory, threads: 2, min_tokens: 0 };
            let (got, _) = run.cuts(&docs);
            assert!(got == want, "{mode:?} memory {memory}: differs from the oracle");
        }
        assert_utf8(&docs, &want);
    }
}
