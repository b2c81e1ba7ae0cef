//! Invariants of the canonical form (ARCHITECTURE.md, "Invariants"):
//! normalization is idempotent, and the offset map is monotone, lands on
//! character boundaries and maps each canonical line back to original bytes
//! whose canonical form is that line.

#![allow(clippy::unwrap_used)]

use neardup_text::diff::{self, Tag};
use neardup_text::{segment, Normalizer, Options, Round, Whitespace};
use proptest::prelude::*;

/// Characters that exercise every path: ASCII classes, typography, Unicode
/// spaces, invisibles, combining marks, compatibility forms, jamo, and
/// anything at all.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::sample::select(vec!['a', 'B', 'z', ' ', ' ', '\n', '\r', '\t', '-', '\'', '"', '`', '.', '1']),
        2 => prop::sample::select(vec![
            '\u{201C}', '\u{201D}', '\u{2018}', '\u{2019}', '\u{2014}', '\u{2013}', '\u{2026}',
            '\u{00A0}', '\u{2009}', '\u{3000}', '\u{2028}', '\u{0085}', '\u{200B}', '\u{200D}',
            '\u{00AD}', '\u{FEFF}', '\u{FB01}', '\u{FF21}', '\u{FF0D}', '\u{00B4}', '\u{2033}',
            '\u{00C9}', '\u{00DF}', '\u{1E9E}', '\u{03A3}', '\u{03C2}', '\u{0130}', '\u{1100}',
            '\u{1161}', '\u{11A8}', '\u{3131}', '\u{314F}', '\u{AC00}', '\u{0F73}', '\u{0344}',
            '\u{FE58}', '\u{2212}', '\u{00BD}', '\u{2460}', '\u{1D400}', '\u{0627}', '\u{4E00}',
        ]),
        2 => (0x300u32..0x370).prop_map(|c| char::from_u32(c).unwrap()),
        1 => any::<char>(),
    ]
}

fn tricky_string() -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..60).prop_map(|v| v.into_iter().collect())
}

fn option_sets() -> Vec<Options> {
    vec![
        Options::default(),
        Options { whitespace: Whitespace::All, ..Options::default() },
        Options { whitespace: Whitespace::Keep, ..Options::default() },
        Options { ascii: true, strip_punctuation: true, strip_digits: true, ..Options::default() },
        // Transliteration alone: the block scans on, with stops of their own.
        Options { ascii: true, ..Options::default() },
        Options {
            nfkc: false,
            case_fold: false,
            typography: false,
            invisible: false,
            ..Options::default()
        },
    ]
}

/// Mostly ASCII prose, so that runs are long enough for the word-at-a-time
/// scan, with the bytes that must stop it.
fn ascii_prose() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            8 => prop::sample::select(vec!['a', 'b', 'Z', 'Q', ' ', '.', ',', '7', '@', '[', '`', '{']),
            1 => prop::sample::select(vec!['\n', '\r', '\t', '\u{b}', '\u{c}', '-', '\u{7f}', '\u{1}', '\u{e9}', '\u{301}', '\u{201C}']),
        ],
        0..400,
    )
    .prop_map(|v| v.into_iter().collect())
}

/// Text as the block scans meet it: ASCII words long and short (past a
/// 64-byte block, and ending on one), single spaces, line and paragraph
/// breaks (which runs take in `Lines` mode), runs of white space with
/// `\r\n`, and between them the bytes that must stop a scan: Unicode
/// letters and spaces, typographic variants, invisibles, combining marks
/// (after a space or a line break too), controls and dashes; and words of
/// Greek and Cyrillic.
fn mixed_text() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        3 => "[a-zA-Z0-9.,;:!?()/@\\[\\]{}_'\"]{1,12}",
        1 => "[a-zA-Z]{50,140}",
        // Runs of characters from the fast table (Greek with its final
        // sigma, Cyrillic, accented Latin, a curly quote, a no-break
        // space, an em dash) and a combining mark among them.
        1 => "[\u{3b1}-\u{3c9}\u{391}-\u{3a9}\u{430}-\u{44f}\u{e0}-\u{ff}\u{2019}\u{a0}\u{2014}\u{301}]{1,10}",
    ];
    let white = prop::collection::vec(
        prop::sample::select(vec![" ", " ", "\t", "\n", "\r\n", "\r", "\u{b}", "\u{c}"]),
        1..5,
    )
    .prop_map(|v| v.concat());
    let other = prop::sample::select(vec![
        "-",
        "--",
        "`",
        "\u{1}",
        "\u{7f}",
        "\u{e9}",
        "\u{c9}",
        "e\u{301}",
        " \u{301}",
        "\u{301}",
        "\u{201C}",
        "\u{201D}",
        "\u{2019}",
        "\u{2014}",
        "\u{2026}",
        "\u{a0}",
        "\u{3000}",
        "\u{2028}",
        "\u{85}",
        "\u{200B}",
        "\u{feff}",
        "\u{ad}",
        "\u{200B}\r\n",
        "\u{fb01}",
        "\u{ff21}",
        "\u{df}",
        "\u{3a3}",
        "\u{3c2}",
        "\u{4e00}",
        "\u{ac00}",
        "\u{1100}\u{1161}",
        "\n\u{301}",
        "\n\n\u{301}",
        "\n\u{200B}\u{301}",
    ]);
    let breaks = prop::sample::select(vec!["\n", "\n", "\n\n", "\n\n", "\n\n\n", "\r\n", "\n\r\n"]);
    prop::collection::vec(
        prop_oneof![
            6 => word,
            6 => Just(" ".to_string()),
            3 => breaks.prop_map(str::to_string),
            2 => white,
            2 => other.prop_map(str::to_string),
        ],
        0..80,
    )
    .prop_map(|v| v.concat())
}

/// Every separator a run may or may not take, at every offset of a block
/// and across its edge (the masks look two bytes past a block), compared
/// with the byte loop under every option set.
#[test]
fn block_edges_match_the_byte_loop() {
    let seps = [
        " ",
        "  ",
        "\n",
        "\n\n",
        "\n\n\n",
        "\r\n",
        "\n\r\n",
        "\n ",
        " \n",
        "\t",
        "-",
        "`",
        "---",
        "--\u{301}",
        "\u{2014}--",
        "``",
        "\n\u{301}",
        "\n\n\u{301}",
        " \u{301}",
        "\u{301}",
        "\u{e9}",
        "\u{200B}\r\n",
        "\u{1}",
    ];
    let mut fast_bytes = Vec::new();
    let mut slow_bytes = Vec::new();
    for o in option_sets() {
        let fast = Normalizer::new(o.clone());
        let slow = Normalizer::new(o.clone()).without_word_scan();
        for sep in seps {
            for tail in [
                "b",
                "bb",
                "b c",
                "Bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            ] {
                for k in 0..=130 {
                    let text = format!("{}{sep}{tail}{sep}", "a".repeat(k));
                    assert_eq!(fast.normalize(&text), slow.normalize(&text), "{o:?} {text:?}");
                    fast.normalize_bytes_into(&text, &mut fast_bytes);
                    slow.normalize_bytes_into(&text, &mut slow_bytes);
                    assert_eq!(fast_bytes, slow_bytes, "{o:?} {text:?}");
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn bytes_only_normalization_gives_the_same_bytes(s in tricky_string()) {
        let mut bytes = vec![b'x'];
        for o in option_sets() {
            let n = Normalizer::new(o.clone());
            n.normalize_bytes_into(&s, &mut bytes);
            let canonical = n.canonical(&s);
            prop_assert_eq!(bytes.as_slice(), canonical.as_bytes(), "options {:?}", o);
        }
    }

    #[test]
    fn normalization_is_idempotent(s in tricky_string()) {
        for o in option_sets() {
            let n = Normalizer::new(o.clone());
            let once = n.canonical(&s);
            let twice = n.canonical(&once);
            prop_assert_eq!(&twice, &once, "options {:?}", o);
        }
    }

    #[test]
    fn word_scan_matches_the_byte_loop(s in ascii_prose()) {
        for o in option_sets() {
            let fast = Normalizer::new(o.clone());
            let slow = Normalizer::new(o).without_word_scan();
            prop_assert_eq!(fast.normalize(&s), slow.normalize(&s));
        }
    }

    #[test]
    fn block_scans_match_the_byte_loop(s in mixed_text()) {
        let mut fast_bytes = Vec::new();
        let mut slow_bytes = Vec::new();
        for o in option_sets() {
            let fast = Normalizer::new(o.clone());
            let slow = Normalizer::new(o.clone()).without_word_scan();
            prop_assert_eq!(fast.normalize(&s), slow.normalize(&s), "options {:?}", o);
            fast.normalize_bytes_into(&s, &mut fast_bytes);
            slow.normalize_bytes_into(&s, &mut slow_bytes);
            prop_assert_eq!(&fast_bytes, &slow_bytes, "options {:?}", o);
        }
    }

    #[test]
    fn offset_map_is_monotone_and_on_char_boundaries(s in tricky_string()) {
        for o in option_sets() {
            let n = Normalizer::new(o);
            let c = n.normalize(&s);
            prop_assert_eq!(c.map.canonical_len(), c.text.len());
            prop_assert_eq!(c.map.original_len(), s.len());
            let mut last = 0;
            for (i, _) in c.text.char_indices().chain(std::iter::once((c.text.len(), ' '))) {
                for round in [Round::Down, Round::Up] {
                    let o = c.map.to_original(i, round);
                    prop_assert!(s.is_char_boundary(o), "{} -> {} not a boundary", i, o);
                }
                let o = c.map.to_original(i, Round::Down);
                prop_assert!(o >= last, "not monotone at {}", i);
                last = o;
            }
        }
    }

    #[test]
    fn each_line_maps_back_to_itself(s in tricky_string()) {
        let n = Normalizer::default();
        let c = n.normalize(&s);
        for line in segment::lines(&c.text) {
            let orig = &s[c.map.original_range_outer(line.start, line.end)];
            prop_assert_eq!(n.canonical(orig), &c.text[line]);
        }
    }
}

/// Ops tile both texts in order, a changed op's word spans tile the op,
/// equal pieces are the same bytes and changed ops differ canonically.
fn check_diff(n: &Normalizer, a: &str, b: &str) -> Result<diff::Diff, TestCaseError> {
    let d = diff::diff(n, a, b);
    let (mut at_a, mut at_b) = (0, 0);
    for op in &d.ops {
        prop_assert_eq!(op.a.start, at_a);
        prop_assert_eq!(op.b.start, at_b);
        prop_assert!(!op.a.is_empty() || !op.b.is_empty(), "empty op");
        // Slicing checks the char boundaries.
        let (oa, ob) = (&a[op.a.clone()], &b[op.b.clone()]);
        match op.tag {
            Tag::Equal => prop_assert_eq!(oa, ob),
            Tag::Typography => prop_assert_ne!(oa, ob),
            Tag::Changed => prop_assert_ne!(n.canonical(oa), n.canonical(ob)),
        }
        let (mut wa, mut wb) = (op.a.start, op.b.start);
        for w in &op.words {
            prop_assert_eq!((w.a.start, w.b.start), (wa, wb));
            let (sa, sb) = (&a[w.a.clone()], &b[w.b.clone()]);
            if w.tag == Tag::Equal {
                // The same words; the white space between them may differ.
                prop_assert!(sa.split_whitespace().eq(sb.split_whitespace()), "{:?} {:?}", sa, sb);
            }
            (wa, wb) = (w.a.end, w.b.end);
        }
        if op.tag == Tag::Equal {
            prop_assert!(op.words.is_empty());
        } else {
            prop_assert_eq!((wa, wb), (op.a.end, op.b.end), "words tile the op");
        }
        (at_a, at_b) = (op.a.end, op.b.end);
    }
    prop_assert_eq!((at_a, at_b), (a.len(), b.len()), "ops tile the texts");
    Ok(d)
}

/// ASCII prose of words, punctuation, spaces and line breaks.
fn plain_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            6 => prop::sample::select(vec!["the", "Cat", "sat", "on", "a", "mat", "it's", "done", "x1"]),
            2 => prop::sample::select(vec![" ", " ", " ", "\n", "\n\n"]),
            1 => prop::sample::select(vec!["\"", "'", "-", "--", ".", ","]),
        ],
        0..80,
    )
    .prop_map(|v| v.concat())
}

/// `text` with typography changed where the canonical form folds it away:
/// quotes curled, dashes made em-dashes, case flipped, spaces made
/// no-break or doubled, zero-width spaces inside words, CRLF line ends.
fn typographic_copy(text: &str, choices: &[u8]) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        let pick = choices.get(i % choices.len().max(1)).copied().unwrap_or(0) % 4;
        match (c, pick) {
            ('"', 1) => out.push('\u{201C}'),
            ('"', 2) => out.push('\u{201D}'),
            ('\'', 1 | 2) => out.push('\u{2019}'),
            ('-', 1) => out.push('\u{2014}'),
            ('-', 2) => out.push('\u{2013}'),
            (' ', 1) => out.push('\u{00A0}'),
            (' ', 2) => out.push_str("  "),
            ('\n', 1) => out.push_str("\r\n"),
            (c, 1) if c.is_ascii_lowercase() => out.push(c.to_ascii_uppercase()),
            (c, 2) if c.is_ascii_uppercase() => out.push(c.to_ascii_lowercase()),
            // A zero-width space before anything (before `\r\n` it once
            // made two line breaks).
            ('\n', 3) => out.push_str("\u{200B}\r\n"),
            (c, 3) => {
                out.push('\u{200B}');
                out.push(c);
            }
            (c, _) => out.push(c),
        }
    }
    out
}

proptest! {
    #[test]
    fn diff_ops_tile_both_texts(a in tricky_string(), b in tricky_string()) {
        for o in option_sets() {
            let n = Normalizer::new(o);
            check_diff(&n, &a, &b)?;
        }
    }

    #[test]
    fn diff_of_edited_prose_tiles_and_marks_words(a in plain_text(), b in plain_text()) {
        check_diff(&Normalizer::default(), &a, &b)?;
        // Edits of a shared text: a common middle must stay aligned.
        let (a2, b2) = (format!("{a}\nshared middle line\n{b}"), format!("{b}\nshared middle line\n{a}"));
        check_diff(&Normalizer::default(), &a2, &b2)?;
    }

    #[test]
    fn a_text_against_itself_is_equal(a in tricky_string()) {
        let d = check_diff(&Normalizer::default(), &a, &a)?;
        prop_assert!(d.identical());
        prop_assert!(d.ops.len() <= 1);
    }

    #[test]
    fn a_typographic_copy_differs_in_typography_only(
        a in plain_text(),
        choices in prop::collection::vec(any::<u8>(), 1..16),
    ) {
        let b = typographic_copy(&a, &choices);
        let n = Normalizer::default();
        prop_assert_eq!(n.canonical(&a), n.canonical(&b), "the copy is canonically equal");
        let d = check_diff(&n, &a, &b)?;
        prop_assert!(d.same_canonical_text(), "{:?}", d.ops);
        // Side by side, no word is marked changed.
        for row in d.rows(&a, &b) {
            prop_assert!(row.a_changed.is_empty() && row.b_changed.is_empty());
        }
    }
}
