//! The library agrees with the brute-force oracle on small random corpora,
//! at any memory budget and thread count.

use neardup_suffix::Mode;
use proptest::prelude::*;

use crate::oracle::{assert_utf8, oracle, Run, Search};

/// Small alphabets make repeats common; two multi-byte characters share
/// their continuation bytes (`€` = E2 82 AC, `ガ` = E3 82 AC), so repeats
/// start and end inside characters.
fn doc() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(vec!["a", "b", " ", "é", "€", "ガ"]), 0..40)
        .prop_map(|chars| chars.concat().into_bytes())
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![Just(Mode::Later), Just(Mode::All)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn agrees_with_the_oracle(
        docs in prop::collection::vec(doc(), 0..6),
        l in 1usize..10,
        mode in mode(),
        min_tokens in prop_oneof![3 => Just(0usize), 1 => 1usize..4],
        memory in prop_oneof![Just(1usize << 28), 64usize..4096],
        threads in 1usize..4,
    ) {
        let want = oracle(&docs, l, mode, min_tokens, Search::Naive);
        let run = Run { l, mode, memory, threads, min_tokens };
        let (got, _) = run.cuts(&docs);
        prop_assert_eq!(&got, &want);
        assert_utf8(&docs, &got);
    }

    /// Every cut byte lies in a window of `l` bytes that occurs at another
    /// (in `Later`: an earlier) position, checked directly, without the
    /// oracle's span logic; and `first_*` points at a copy.
    #[test]
    fn nothing_shorter_than_min_len_is_cut(
        docs in prop::collection::vec(doc(), 1..5),
        l in 4usize..9,
        mode in mode(),
    ) {
        let (got, _) = Run::new(l, mode).cuts(&docs);
        for dc in &got {
            let d = dc.doc as usize;
            let text = &docs[d];
            for c in &dc.cuts {
                for p in c.start..c.end() {
                    let covered = (p.saturating_sub(l - 1)..=p).filter(|&s| s + l <= text.len()).any(|s| {
                        let w = &text[s..s + l];
                        docs.iter().enumerate().any(|(e, t)| {
                            (0..(t.len() + 1).saturating_sub(l)).any(|o| {
                                let earlier = (e, o) < (d, s);
                                let other = (e, o) != (d, s);
                                &t[o..o + l] == w && if mode == Mode::Later { earlier } else { other }
                            })
                        })
                    });
                    prop_assert!(covered, "byte {} of doc {} is cut but in no repeated window", p, d);
                }
                // `first_*` holds the cut's first bytes (up to the end of the
                // window it was found with, at least l - 3 bytes here).
                let src = &docs[c.first_doc as usize];
                let n = c.len.min(l - 3);
                prop_assert!(c.first_offset + n <= src.len());
                prop_assert_eq!(&src[c.first_offset..c.first_offset + n], &text[c.start..c.start + n]);
                if mode == Mode::Later {
                    prop_assert!((c.first_doc, c.first_offset) < (dc.doc, c.start));
                }
            }
        }
    }
}

#[test]
fn naive_and_map_oracles_agree() {
    let mut g = crate::oracle::Gen(7);
    for _ in 0..50 {
        let docs: Vec<Vec<u8>> = (0..4)
            .map(|_| {
                let n = g.below(30);
                (0..n).map(|_| b"ab "[g.below(3)]).collect::<Vec<u8>>()
            })
            .collect();
        for l in 1..6 {
            for mode in [Mode::Later, Mode::All] {
                assert_eq!(
                    oracle(&docs, l, mode, 0, Search::Naive),
                    oracle(&docs, l, mode, 0, Search::Map)
                );
            }
        }
    }
}
