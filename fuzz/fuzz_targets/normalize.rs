//! The normalizer on arbitrary text with several option sets: never
//! panics; idempotent; the offset map is monotone, covers both texts and
//! lands on character boundaries; the word-at-a-time scan agrees with the
//! byte loop.
#![no_main]

use libfuzzer_sys::fuzz_target;
use neardup_text::{Normalizer, Options, Round, Whitespace};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(body) else { return };
    let opts = match mode % 5 {
        0 => Options::default(),
        1 => Options { whitespace: Whitespace::All, ..Options::default() },
        2 => Options { whitespace: Whitespace::Keep, ..Options::default() },
        3 => Options { ascii: true, strip_punctuation: true, strip_digits: true, ..Options::default() },
        _ => Options { nfkc: false, case_fold: false, typography: false, invisible: false, ..Options::default() },
    };
    let n = Normalizer::new(opts);
    let c = n.normalize(text);
    assert_eq!(n.canonical(&c.text), c.text, "idempotent");
    assert_eq!(c.map.canonical_len(), c.text.len());
    assert_eq!(c.map.original_len(), text.len());
    let mut last = 0;
    for (i, _) in c.text.char_indices().chain(std::iter::once((c.text.len(), ' '))) {
        for round in [Round::Down, Round::Up] {
            assert!(text.is_char_boundary(c.map.to_original(i, round)));
        }
        let o = c.map.to_original(i, Round::Down);
        assert!(o >= last, "monotone");
        last = o;
    }
    assert_eq!(n.clone().without_word_scan().normalize(text), c);
});
