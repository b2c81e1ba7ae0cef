//! Planted repeats at `min_len - 1`, `min_len` and `min_len + 1` bytes,
//! across and inside documents, with multi-byte characters at their edges.
//! The background is random over 36 symbols, so it repeats nothing of 16
//! bytes by chance.

use neardup_suffix::{Cut, DocCuts, Mode};

use crate::oracle::{assert_utf8, oracle, Gen, Run, Search};

const L: usize = 16;

fn cut(start: usize, len: usize, first_doc: u32, first_offset: usize) -> Cut {
    Cut { start, len, first_doc, first_offset }
}

#[test]
fn across_documents() {
    for (len, expect) in [(L - 1, false), (L, true), (L + 1, true)] {
        let mut g = Gen(len as u64);
        let planted = g.text(len);
        // Different delimiters around each copy, so it repeats exactly.
        let doc = |g: &mut Gen, open: &[u8], close: &[u8]| {
            [g.text(99), open.to_vec(), planted.clone(), close.to_vec(), g.text(100)].concat()
        };
        let docs = vec![doc(&mut g, b"(", b")"), g.text(50), doc(&mut g, b"[", b"]")];
        for mode in [Mode::Later, Mode::All] {
            let (got, _) = Run::new(L, mode).cuts(&docs);
            let want = match (expect, mode) {
                (false, _) => vec![],
                (true, Mode::Later) => vec![DocCuts { doc: 2, cuts: vec![cut(100, len, 0, 100)] }],
                (true, Mode::All) => vec![
                    DocCuts { doc: 0, cuts: vec![cut(100, len, 2, 100)] },
                    DocCuts { doc: 2, cuts: vec![cut(100, len, 0, 100)] },
                ],
            };
            assert_eq!(got, want, "planted {len} bytes, {mode:?}");
            assert_eq!(got, oracle(&docs, L, mode, 0, Search::Map));
        }
    }
}

#[test]
fn inside_one_document() {
    for (len, expect) in [(L - 1, false), (L, true), (L + 1, true)] {
        let mut g = Gen(100 + len as u64);
        let planted = g.text(len);
        let docs = vec![[
            g.text(49),
            b"(".to_vec(),
            planted.clone(),
            b")".to_vec(),
            g.text(58),
            b"[".to_vec(),
            planted.clone(),
            b"]".to_vec(),
            g.text(50),
        ]
        .concat()];
        let second = 50 + len + 60;
        let (later, _) = Run::new(L, Mode::Later).cuts(&docs);
        let (all, _) = Run::new(L, Mode::All).cuts(&docs);
        if expect {
            assert_eq!(later, vec![DocCuts { doc: 0, cuts: vec![cut(second, len, 0, 50)] }]);
            assert_eq!(
                all,
                vec![DocCuts {
                    doc: 0,
                    cuts: vec![cut(50, len, 0, second), cut(second, len, 0, 50)]
                }]
            );
        } else {
            assert!(later.is_empty() && all.is_empty(), "{later:?} {all:?}");
        }
    }
}

#[test]
fn overlapping_copies_inside_one_document() {
    // "x" * 40: every window of L bytes is the same, so in Later mode only
    // the first window survives; in All mode nothing does.
    let docs = vec![b"x".repeat(40)];
    let (later, _) = Run::new(L, Mode::Later).cuts(&docs);
    assert_eq!(later, vec![DocCuts { doc: 0, cuts: vec![cut(1, 39, 0, 0)] }]);
    let (all, _) = Run::new(L, Mode::All).cuts(&docs);
    assert_eq!(all, vec![DocCuts { doc: 0, cuts: vec![cut(0, 40, 0, 1)] }]);
}

#[test]
fn multibyte_characters_at_the_edges_are_kept_whole() {
    // `€` (E2 82 AC) and `ガ` (E3 82 AC) share two bytes, `é` (C3 A9) and
    // `è` (C3 A8) share one: the byte-level repeat is 82 AC + T + C3, which
    // starts and ends inside characters. The cut is T alone.
    let mut g = Gen(3);
    let t = g.text(L);
    let d0 = [g.text(20), "€".into(), t.clone(), "é".into(), g.text(20)].concat();
    let d1 = [g.text(20), "ガ".into(), t.clone(), "è".into(), g.text(20)].concat();
    let docs = vec![d0, d1];
    let (got, _) = Run::new(L, Mode::Later).cuts(&docs);
    assert_eq!(got, vec![DocCuts { doc: 1, cuts: vec![cut(23, L, 0, 23)] }]);
    assert_utf8(&docs, &got);

    // With T two bytes shorter, the byte-level repeat is exactly L bytes
    // (82 AC + T) and shrinks to L - 2: kept, since each of its bytes is in
    // a repeated window of L bytes (see `Cut`).
    let short = t[..L - 2].to_vec();
    let d0 = [g.text(20), "€".into(), short.clone(), "(".into(), g.text(20)].concat();
    let d1 = [g.text(20), "ガ".into(), short.clone(), "[".into(), g.text(20)].concat();
    let docs = vec![d0, d1];
    let (got, _) = Run::new(L, Mode::Later).cuts(&docs);
    assert_eq!(got, vec![DocCuts { doc: 1, cuts: vec![cut(23, L - 2, 0, 23)] }]);
    assert_eq!(got, oracle(&docs, L, Mode::Later, 0, Search::Map));

    // One byte shorter again: the byte-level repeat is L - 1 bytes, so
    // nothing is cut.
    let shorter = t[..L - 3].to_vec();
    let d0 = [g.text(20), "€".into(), shorter.clone(), "(".into(), g.text(20)].concat();
    let d1 = [g.text(20), "ガ".into(), shorter, "[".into(), g.text(20)].concat();
    let (got, _) = Run::new(L, Mode::Later).cuts(&[d0, d1]);
    assert!(got.is_empty(), "{got:?}");
}

#[test]
fn min_tokens_drops_cuts_with_few_words() {
    let mut g = Gen(9);
    let words = b"alpha beta gamma delta".to_vec(); // 22 bytes, 4 tokens
    let docs = vec![
        [g.text(30), b" ".to_vec(), words.clone(), b" ".to_vec(), g.text(30)].concat(),
        [g.text(30), b" ".to_vec(), words, b" ".to_vec(), g.text(30)].concat(),
    ];
    let mut run = Run::new(L, Mode::Later);
    for (min_tokens, kept) in [(0, true), (4, true), (5, false)] {
        run.min_tokens = min_tokens;
        let (got, stats) = run.cuts(&docs);
        assert_eq!(!got.is_empty(), kept, "min_tokens {min_tokens}");
        assert_eq!(stats.dropped_by_tokens, u64::from(!kept));
    }
}
