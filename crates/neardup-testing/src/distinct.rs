//! Texts that are all new to one another, for tests where a duplicate
//! would be a bug (the service's adds, batches seen whole or not at all).

/// A text of `words` words, from `seed`, that shares no word 5-gram shingle
/// with another seed's (words are drawn from 100,000 by xorshift: a shared
/// 5-gram is as good as impossible).
pub fn distinct_text(seed: u64, words: usize) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..words)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("w{:x}", x % 100_000)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Batch `batch` of `per` records `(id, text)`, ids `"{batch}-{j}"`, each
/// text a [`distinct_text`] of `words` words; no two records of any batches
/// share a seed while `per` stays under 1,000.
pub fn distinct_batch(batch: u64, per: u64, words: usize) -> Vec<(String, String)> {
    assert!(per < 1000, "seeds of batches of {per} records would overlap");
    (0..per).map(|j| (format!("{batch}-{j}"), distinct_text(1000 * batch + j + 1, words))).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn shingles(text: &str) -> Vec<Vec<&str>> {
        text.split(' ').collect::<Vec<_>>().windows(5).map(<[&str]>::to_vec).collect()
    }

    #[test]
    fn texts_of_other_seeds_share_no_shingle() {
        let texts: Vec<String> = (0..200).map(|s| distinct_text(s, 40)).collect();
        assert!(texts.iter().all(|t| t.split(' ').count() == 40));
        let mut seen = HashSet::new();
        for t in &texts {
            for s in shingles(t) {
                assert!(seen.insert(s.clone()), "{s:?} twice");
            }
        }
        assert_eq!(distinct_text(7, 40), distinct_text(7, 40), "not seeded");
    }

    #[test]
    fn batches_are_named_and_disjoint() {
        let a = distinct_batch(0, 3, 30);
        let b = distinct_batch(1, 3, 30);
        assert_eq!(a.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["0-0", "0-1", "0-2"]);
        let texts: HashSet<&String> = a.iter().chain(&b).map(|r| &r.1).collect();
        assert_eq!(texts.len(), 6);
    }
}
