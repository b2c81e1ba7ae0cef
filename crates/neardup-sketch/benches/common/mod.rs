//! Benchmark input shared by `benches/sketch.rs` and
//! `examples/throughput.rs`: English-like canonical text generated from a
//! fixed seed, or the file named by `NEARDUP_BENCH_TEXT`.
#![allow(dead_code, clippy::unwrap_used)]

const COMMON: &str = "the of and to a in is it you that he was for on are with as i his they be \
    at one have this from or had by hot word but what some we can out other were all there when up \
    use your how said an each she which do their time if will way about many then them write would \
    like so these her long make thing see him two has look more day could go come did number sound \
    no most people my over know water than call first who may down side been now find any new work \
    part take get place made live where after back little only round man year came show every good \
    me give our under name very through just form sentence great think say help low line differ \
    turn cause much mean before move right boy old too same tell does set three want air well also \
    play small end put home read hand port large spell add even land here must big high such follow \
    act why ask men change went light kind off need house picture try us again animal point mother \
    world near build self earth father head stand own page should country found answer school grow \
    study still learn plant cover food sun four between state keep eye never last let thought city";

/// A small deterministic PRNG (SplitMix64) so the text is the same on
/// every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
}

/// English-like canonical text: lowercase, single spaces, sentences ending
/// in `.` and a line break every few sentences.
pub(crate) fn generated_text(words: usize) -> String {
    let mut rng = Rng(42);
    let mut vocab: Vec<String> = COMMON.split_whitespace().map(str::to_owned).collect();
    let syll = ["ka", "ro", "ten", "mi", "lo", "sta", "ver", "in", "ad", "pre", "tion", "ly", "er"];
    for _ in 0..5000 {
        let n = 2 + rng.below(3);
        vocab.push((0..n).map(|_| syll[rng.below(syll.len())]).collect());
    }
    // Zipf(1): P(rank i) ∝ 1/i, by inverse transform on the harmonic sums.
    let cdf: Vec<f64> = vocab
        .iter()
        .enumerate()
        .scan(0.0, |s, (i, _)| {
            *s += 1.0 / (i + 1) as f64;
            Some(*s)
        })
        .collect();
    let total = cdf[cdf.len() - 1];
    let mut out = String::new();
    let mut in_sentence = 0;
    let mut sentence_len = 5 + rng.below(20);
    for _ in 0..words {
        let u = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        let i = cdf.partition_point(|&c| c < u).min(vocab.len() - 1);
        out.push_str(&vocab[i]);
        in_sentence += 1;
        if in_sentence == sentence_len {
            out.push('.');
            in_sentence = 0;
            sentence_len = 5 + rng.below(20);
            out.push(if rng.below(4) == 0 { '\n' } else { ' ' });
        } else {
            out.push(' ');
        }
    }
    out.trim_end().to_owned()
}

/// Documents of about `words` words each.
pub(crate) fn documents(words: usize) -> Vec<String> {
    let text = match std::env::var_os("NEARDUP_BENCH_TEXT") {
        Some(path) => fs_read(&path),
        None => generated_text(200_000),
    };
    let all: Vec<&str> = text.split_ascii_whitespace().collect();
    all.chunks(words).map(|c| c.join(" ")).collect()
}

/// The file as rough canonical text (lowercased; white space is split on
/// anyway).
fn fs_read(path: &std::ffi::OsStr) -> String {
    String::from_utf8_lossy(&fs_err::read(path).unwrap()).to_lowercase()
}
