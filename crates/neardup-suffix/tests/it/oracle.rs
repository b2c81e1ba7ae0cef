//! Brute-force answers, straight from the definitions in the crate docs,
//! and the helpers that run the library on the same input.

use std::path::Path;

use neardup_suffix::{Config, CorpusWriter, Cut, DocCuts, Mode, NoProgress, Repeats, Stats};

/// How "the other occurrences" of each window are found.
#[derive(Clone, Copy, Debug)]
pub enum Search {
    /// Compare every window with every other: O(n² L).
    Naive,
    /// Group windows by their bytes in a map: O(n L).
    Map,
}

/// For every window `(doc, off)`, the smallest *other* position with the
/// same `l` bytes, if any.
fn others(docs: &[Vec<u8>], l: usize, search: Search) -> Vec<Vec<Option<(usize, usize)>>> {
    let windows: Vec<(usize, usize)> = docs
        .iter()
        .enumerate()
        .flat_map(|(d, t)| (0..(t.len() + 1).saturating_sub(l)).map(move |o| (d, o)))
        .collect();
    let bytes = |&(d, o): &(usize, usize)| &docs[d][o..o + l];
    let mut out: Vec<Vec<Option<(usize, usize)>>> =
        docs.iter().map(|t| vec![None; (t.len() + 1).saturating_sub(l)]).collect();
    match search {
        Search::Naive => {
            for w in &windows {
                // `windows` is in (doc, offset) order: the first match is the
                // smallest.
                out[w.0][w.1] = windows.iter().find(|v| *v != w && bytes(v) == bytes(w)).copied();
            }
        }
        Search::Map => {
            let mut groups: std::collections::BTreeMap<&[u8], Vec<(usize, usize)>> =
                Default::default();
            for w in &windows {
                groups.entry(bytes(w)).or_default().push(*w);
            }
            for members in groups.values() {
                for w in members {
                    out[w.0][w.1] = members.iter().find(|v| *v != w).copied();
                }
            }
        }
    }
    out
}

fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

/// The cuts the crate docs define.
pub fn oracle(
    docs: &[Vec<u8>],
    l: usize,
    mode: Mode,
    min_tokens: usize,
    search: Search,
) -> Vec<DocCuts> {
    let other = others(docs, l, search);
    let mut result = Vec::new();
    for (d, text) in docs.iter().enumerate() {
        let marked = |o: usize| match (mode, other[d][o]) {
            (_, None) => false,
            (Mode::All, Some(_)) => true,
            (Mode::Later, Some(first)) => first < (d, o),
        };
        let mut cut = vec![false; text.len()];
        for o in 0..other[d].len() {
            if marked(o) {
                cut[o..o + l].fill(true);
            }
        }
        let mut cuts = Vec::new();
        let mut a = 0;
        while a < text.len() {
            if !cut[a] {
                a += 1;
                continue;
            }
            let mut b = a;
            while b < text.len() && cut[b] {
                b += 1;
            }
            // `a` starts a marked window (a - 1 is not cut).
            let (sd, so) = other[d][a].expect("a span starts at a marked window");
            let mut a2 = a;
            while a2 < b && is_continuation(text[a2]) {
                a2 += 1;
            }
            let mut b2 = b;
            while b2 > a2 && b2 < text.len() && is_continuation(text[b2]) {
                b2 -= 1;
            }
            let tokens = String::from_utf8_lossy(&text[a2..b2]).split_whitespace().count();
            if a2 < b2 && (min_tokens == 0 || tokens >= min_tokens) {
                cuts.push(Cut {
                    start: a2,
                    len: b2 - a2,
                    first_doc: sd as u32,
                    first_offset: so + (a2 - a),
                });
            }
            a = b;
        }
        if !cuts.is_empty() {
            result.push(DocCuts { doc: d as u32, cuts });
        }
    }
    result
}

/// Settings for a library run.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    pub l: usize,
    pub mode: Mode,
    pub memory: usize,
    pub threads: usize,
    pub min_tokens: usize,
}

impl Run {
    pub fn new(l: usize, mode: Mode) -> Run {
        Run { l, mode, memory: 1 << 28, threads: 1, min_tokens: 0 }
    }

    pub fn config(&self, tmp: &Path) -> Config {
        let mut c = Config::new(self.l, tmp);
        c.mode = self.mode;
        c.memory = self.memory;
        c.threads = self.threads;
        c.min_tokens = self.min_tokens;
        c
    }

    pub fn repeats(&self, docs: &[Vec<u8>], tmp: &Path) -> Repeats {
        let mut w = CorpusWriter::new(self.config(tmp)).unwrap();
        for (i, d) in docs.iter().enumerate() {
            assert_eq!(w.add(d).unwrap() as usize, i);
        }
        w.finish(&NoProgress).unwrap()
    }

    /// Cuts and stats.
    pub fn cuts(&self, docs: &[Vec<u8>]) -> (Vec<DocCuts>, Stats) {
        let tmp = tempfile::tempdir().unwrap();
        let r = self.repeats(docs, tmp.path());
        let cuts = r.iter().collect::<Result<Vec<_>, _>>().unwrap();
        (cuts, r.stats().clone())
    }
}

/// Every cut is valid UTF-8 and so is what is left.
pub fn assert_utf8(docs: &[Vec<u8>], cuts: &[DocCuts]) {
    for dc in cuts {
        let text = &docs[dc.doc as usize];
        let mut kept = Vec::new();
        let mut at = 0;
        for c in &dc.cuts {
            assert!(
                std::str::from_utf8(&text[c.start..c.end()]).is_ok(),
                "cut {c:?} of doc {}",
                dc.doc
            );
            kept.extend_from_slice(&text[at..c.start]);
            at = c.end();
        }
        kept.extend_from_slice(&text[at..]);
        assert!(std::str::from_utf8(&kept).is_ok(), "what is left of doc {}", dc.doc);
    }
}

/// A tiny deterministic generator (xorshift64*), so tests need no RNG crate.
pub struct Gen(pub u64);

impl Gen {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// `n` bytes of text over 36 ASCII symbols: long repeats by chance are
    /// vanishingly rare.
    pub fn text(&mut self, n: usize) -> Vec<u8> {
        const ABC: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..n).map(|_| ABC[self.below(ABC.len())]).collect()
    }
}
