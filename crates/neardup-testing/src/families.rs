//! Batches of texts in families, the input of the "batches against history
//! equal one run" properties.
//!
//! A family is a fixed run of [`WORDS`] words; each record either copies
//! the record before it exactly, copies it in other typography (a curly
//! apostrophe, upper case: equal once normalized), or is its family's text
//! with up to three words of its own swapped in (a near duplicate of its
//! relatives at varied similarity), or, when asked for, a text shorter
//! than one shingle (the whole text is its only shingle, an edge of both
//! the sketches and the index). So a batch holds exact, near and no
//! duplicates across records that batch cuts may separate.

use std::ops::Range;

use proptest::prelude::*;

/// Words in a family's text: enough for word 5-gram shingles to give
/// similarities on both sides of the thresholds tested (0.7 to 0.9) with a
/// few words swapped.
const WORDS: usize = 40;

/// Families of texts; the last one opens with an `it's` to fold.
const FAMILIES: usize = 4;

/// A strategy of batches of texts in families (see the module docs).
///
/// ```
/// use neardup_testing::Families;
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let strategy = Families { records: 1..40, short_texts: true }.texts();
/// let texts = strategy.new_tree(&mut TestRunner::deterministic()).unwrap().current();
/// assert!((1..40).contains(&texts.len()));
/// ```
#[derive(Clone, Debug)]
pub struct Families {
    /// How many texts a batch holds.
    pub records: Range<usize>,
    /// Whether some texts are shorter than one shingle (`short`, drawn
    /// in family 0).
    pub short_texts: bool,
}

/// What a record is, drawn per record.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// An exact copy of the record before (its family's text if first).
    Copy,
    /// The record before in other typography.
    Typographic,
    /// Its family's text with its own swaps; `short` in family 0 when
    /// short texts are asked for.
    ShortOrFamily,
    /// Its family's text with its own swaps.
    Family,
}

impl Families {
    /// The strategy: each text is one of the [`Kind`]s, evenly drawn; with
    /// `short_texts` one more kind (the short one) joins the draw, so a
    /// family text is drawn as often either way.
    pub fn texts(&self) -> impl Strategy<Value = Vec<String>> {
        let kinds: u8 = if self.short_texts { 5 } else { 4 };
        let short_texts = self.short_texts;
        let record = (0..FAMILIES, 0..kinds, prop::collection::vec(0..WORDS, 0..4));
        prop::collection::vec(record, self.records.clone()).prop_map(move |specs| {
            let mut texts: Vec<String> = Vec::with_capacity(specs.len());
            for (i, (family, kind, swaps)) in specs.into_iter().enumerate() {
                let kind = match kind {
                    0 => Kind::Copy,
                    1 => Kind::Typographic,
                    2 if short_texts => Kind::ShortOrFamily,
                    _ => Kind::Family,
                };
                let text = match (kind, texts.last()) {
                    (Kind::Copy, Some(prev)) => prev.clone(),
                    (Kind::Typographic, Some(prev)) => {
                        prev.replace('\'', "\u{2019}").to_uppercase()
                    }
                    (Kind::ShortOrFamily, _) if family == 0 => "short".to_owned(),
                    _ => family_text(family, i, &swaps),
                };
                texts.push(text);
            }
            texts
        })
    }
}

/// `0..len` cut into consecutive batches at `cuts` (each clamped to
/// `len`; in any order, repeats allowed): the ranges, in order, none
/// empty, together exactly `0..len`. With cuts drawn beside [`Families`],
/// the batches a property deduplicates one after another.
///
/// ```
/// assert_eq!(neardup_testing::batches(10, &[7, 3, 3, 12]), [0..3, 3..7, 7..10]);
/// ```
pub fn batches(len: usize, cuts: &[usize]) -> Vec<Range<usize>> {
    let mut bounds: Vec<usize> = cuts.iter().map(|&c| c.min(len)).collect();
    bounds.extend([0, len]);
    bounds.sort_unstable();
    bounds.dedup();
    bounds.windows(2).map(|w| w[0]..w[1]).collect()
}

/// Family `family`'s words, with the words at `swaps` made record `i`'s
/// own.
fn family_text(family: usize, i: usize, swaps: &[usize]) -> String {
    let mut words: Vec<String> = (0..WORDS).map(|w| format!("w{family}x{w}")).collect();
    for &s in swaps {
        words[s] = format!("own{i}x{s}");
    }
    if family == 3 {
        words[0] = "it's".into();
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    use super::*;

    /// Draws `n` batches.
    fn draw(families: &Families, n: usize) -> Vec<Vec<String>> {
        let strategy = families.texts();
        let mut runner = TestRunner::deterministic();
        (0..n).map(|_| strategy.new_tree(&mut runner).unwrap().current()).collect()
    }

    proptest! {
        #[test]
        fn batches_tile_the_records(
            len in 0usize..50,
            cuts in prop::collection::vec(0usize..60, 0..6),
        ) {
            let got = batches(len, &cuts);
            let mut next = 0;
            for r in &got {
                prop_assert_eq!(r.start, next, "{:?}", got);
                prop_assert!(r.end > r.start, "{:?}", got);
                next = r.end;
            }
            prop_assert_eq!(next, len, "{:?}", got);
            let starts: Vec<usize> = got.iter().map(|r| r.start).collect();
            // Every cut inside the records starts a batch.
            for &c in cuts.iter().filter(|&&c| c > 0 && c < len) {
                prop_assert!(starts.contains(&c), "{} in {:?}", c, got);
            }
        }
    }

    #[test]
    fn short_texts_appear_only_when_asked_for() {
        let with = draw(&Families { records: 1..40, short_texts: true }, 64);
        assert!(with.iter().flatten().any(|t| t == "short"));
        let without = draw(&Families { records: 1..40, short_texts: false }, 64);
        assert!(without.iter().flatten().all(|t| t.split(' ').count() == WORDS));
    }

    #[test]
    fn batches_hold_every_kind_of_repeat() {
        let batches = draw(&Families { records: 1..30, short_texts: true }, 64);
        assert!(batches.iter().all(|b| (1..30).contains(&b.len())));
        let pairs = || batches.iter().flat_map(|b| b.windows(2));
        assert!(pairs().any(|w| w[0] == w[1]), "no exact copy");
        assert!(
            pairs().any(|w| w[0] != w[1] && w[0].replace('\'', "\u{2019}").to_uppercase() == w[1]),
            "no typographic copy"
        );
        assert!(batches.iter().flatten().any(|t| t.contains("own")), "no swapped words");
        assert!(batches.iter().flatten().any(|t| t.contains("it's")), "nothing to fold");
    }
}
