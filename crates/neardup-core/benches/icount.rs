//! One kernel of the per-record analysis, run once over the records of a
//! JSONL file: the target for instruction counts under callgrind, which,
//! unlike wall time, stay put on a shared machine.
//!
//! ```text
//! cargo bench -p neardup-core --bench icount --no-run
//! valgrind --tool=callgrind --toggle-collect='icount::kernel_*' \
//!     target/release/deps/icount-* repeats /work/corpus/speed/sample-60000.jsonl
//! ```
//!
//! Kernels (`KERNEL FILE [LIMIT_MB]`): `normalize` (canonical text and
//! offset map, as `dedup` builds them), `normalize-bytes` (canonical bytes
//! only, as exact-only `dedup`), `repeats` (`repeats::find`, min 100, on
//! canonical texts), `stats` (`repetition::Stats::of`, the Gopher
//! statistics of the ledger, on canonical texts), `shingle` (word 5-gram hashes of the canonical text
//! with line breaks as spaces, as near-duplicate fingerprints take them),
//! `set` (the shingle hashes made a sorted set, `shingle::into_set`),
//! `minhash` and `oph` (sketch of the shingle set, 128 slots), `none` (the
//! preparation alone). `digest` prints, per record, a hash of everything
//! these kernels compute (canonical text and bytes, offset map, repeats,
//! shingles, both signatures), so that two builds can be compared record
//! by record (`bench/icount.py --check`). Everything a kernel needs is prepared before it runs,
//! in functions callgrind does not collect; the kernel is one
//! `#[inline(never)]` function named `kernel_<name>`. Prints the bytes the
//! kernel read (canonical bytes except for `normalize*`, which read the
//! original) and its record count, so that `bench/icount.py` can divide,
//! and the kernel's wall seconds (what cache misses cost, which
//! instruction counts do not show).
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::hint::black_box;
use std::process::ExitCode;

use neardup_core::repeats;
use neardup_core::repetition::Stats;
use neardup_sketch::{shingle, Shingling, SketchKind, Sketcher};
use neardup_text::{Normalizer, OffsetMap};
use xxhash_rust::xxh3::xxh3_64;

fn texts(path: &str, limit: usize) -> Vec<String> {
    let data = fs_err::read_to_string(path).unwrap();
    let mut out = Vec::new();
    let mut total = 0;
    for line in data.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let t = v["text"].as_str().unwrap_or_default().to_owned();
        total += t.len();
        out.push(t);
        if total >= limit {
            break;
        }
    }
    out
}

/// The canonical text with line breaks as spaces, as `near::fingerprint`
/// shingles it.
fn flat(text: &str) -> String {
    text.split('\n').filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ")
}

#[inline(never)]
fn kernel_normalize(n: &Normalizer, texts: &[String]) -> usize {
    let (mut out, mut map) = (String::new(), OffsetMap::new());
    let mut sum = 0;
    for t in texts {
        n.normalize_into(t, &mut out, Some(&mut map));
        sum += out.len() + map.pieces();
    }
    sum
}

#[inline(never)]
fn kernel_normalize_bytes(n: &Normalizer, texts: &[String]) -> usize {
    let mut out = Vec::new();
    let mut sum = 0;
    for t in texts {
        n.normalize_bytes_into(t, &mut out);
        sum += out.len();
    }
    sum
}

#[inline(never)]
fn kernel_repeats(canon: &[String]) -> usize {
    canon.iter().map(|t| repeats::find(t, 100).len()).sum()
}

#[inline(never)]
fn kernel_stats(canon: &[String]) -> usize {
    canon.iter().map(|t| Stats::of(t).dup_line_frac.to_bits() as usize).fold(0, usize::wrapping_add)
}

#[inline(never)]
fn kernel_shingle(flat: &[String]) -> usize {
    let mut h = Vec::new();
    let mut sum = 0;
    for t in flat {
        Shingling::Word(5).shingle_hashes(t, 0, &mut h);
        sum += h.len();
    }
    sum
}

#[inline(never)]
fn kernel_set(bags: &mut [Vec<u64>]) -> usize {
    bags.iter_mut()
        .map(|h| {
            shingle::into_set(h);
            h.len()
        })
        .sum()
}

#[inline(never)]
fn kernel_minhash(sk: &Sketcher, sets: &[Vec<u64>]) -> usize {
    kernel_sketch(sk, sets)
}

#[inline(never)]
fn kernel_oph(sk: &Sketcher, sets: &[Vec<u64>]) -> usize {
    kernel_sketch(sk, sets)
}

#[inline(always)]
fn kernel_sketch(sk: &Sketcher, sets: &[Vec<u64>]) -> usize {
    let mut sig = Vec::new();
    let mut sum = 0usize;
    for s in sets {
        sk.sketch(s, &mut sig);
        sum = sum.wrapping_add(sig[0] as usize);
    }
    sum
}

/// The statistics' bits, field by field.
fn stats_bits(s: &Stats) -> Vec<u8> {
    [
        s.dup_line_frac,
        s.dup_para_frac,
        s.dup_line_char_frac,
        s.dup_para_char_frac,
        s.top_2gram_char_frac,
        s.top_3gram_char_frac,
        s.top_4gram_char_frac,
        s.dup_5gram_char_frac,
        s.dup_6gram_char_frac,
        s.dup_7gram_char_frac,
        s.dup_8gram_char_frac,
        s.dup_9gram_char_frac,
        s.dup_10gram_char_frac,
    ]
    .iter()
    .flat_map(|v| v.to_bits().to_le_bytes())
    .collect()
}

/// One line per record: xxh3 of each result, in a fixed order.
fn digest(n: &Normalizer, raw: &[String]) {
    use std::io::Write;
    let minhash = Sketcher::new(SketchKind::MinHash, 128, 1).unwrap();
    let oph = Sketcher::new(SketchKind::Oph, 128, 1).unwrap();
    let (mut canon, mut map, mut bytes) = (String::new(), OffsetMap::new(), Vec::new());
    let (mut h, mut sig, mut words) = (Vec::new(), Vec::new(), Vec::new());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for t in raw {
        let mut parts = Vec::new();
        n.normalize_into(t, &mut canon, Some(&mut map));
        parts.push(xxh3_64(canon.as_bytes()));
        words.clear();
        map.encode(&mut words);
        parts.push(xxh3_64(&words.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>()));
        n.normalize_bytes_into(t, &mut bytes);
        parts.push(xxh3_64(&bytes));
        let cuts: Vec<u64> = repeats::find(&canon, 100)
            .iter()
            .flat_map(|r| [r.range.start as u64, r.range.end as u64, r.first as u64])
            .collect();
        parts.push(xxh3_64(&cuts.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>()));
        let f = flat(&canon);
        Shingling::Word(5).shingle_hashes(&f, 0, &mut h);
        parts.push(xxh3_64(&h.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>()));
        shingle::into_set(&mut h);
        for sk in [&minhash, &oph] {
            sk.sketch(&h, &mut sig);
            parts.push(xxh3_64(&sig.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>()));
        }
        parts.push(xxh3_64(&stats_bits(&Stats::of(&canon))));
        let line: Vec<String> = parts.iter().map(|p| format!("{p:016x}")).collect();
        writeln!(out, "{}", line.join(" ")).unwrap();
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let [kernel, path, rest @ ..] = args.as_slice() else {
        eprintln!("usage: icount KERNEL FILE.jsonl [LIMIT_MB]");
        return ExitCode::from(2);
    };
    let limit = rest.first().map_or(usize::MAX, |m| m.parse::<usize>().unwrap() << 20);
    let raw = texts(path, limit);
    let n = Normalizer::default();
    let canon: Vec<String> = raw.iter().map(|t| n.canonical(t)).collect();
    let flats: Vec<String> = canon.iter().map(|t| flat(t)).collect();
    let bagged = matches!(kernel.as_str(), "minhash" | "oph" | "set");
    let mut sets: Vec<Vec<u64>> = if !bagged {
        Vec::new()
    } else {
        flats
            .iter()
            .map(|t| {
                let mut h = Vec::new();
                Shingling::Word(5).shingle_hashes(t, 0, &mut h);
                if kernel != "set" {
                    shingle::into_set(&mut h);
                }
                h
            })
            .collect()
    };
    let raw_bytes: usize = raw.iter().map(String::len).sum();
    let canon_bytes: usize = canon.iter().map(String::len).sum();
    let flat_bytes: usize = flats.iter().map(String::len).sum();
    let clock = std::time::Instant::now();
    let (bytes, out) = match kernel.as_str() {
        "normalize" => (raw_bytes, kernel_normalize(&n, &raw)),
        "normalize-bytes" => (raw_bytes, kernel_normalize_bytes(&n, &raw)),
        "repeats" => (canon_bytes, kernel_repeats(&canon)),
        "stats" => (canon_bytes, kernel_stats(&canon)),
        "shingle" => (flat_bytes, kernel_shingle(&flats)),
        "set" => (flat_bytes, kernel_set(&mut sets)),
        "minhash" => {
            let sk = Sketcher::new(SketchKind::MinHash, 128, 1).unwrap();
            (flat_bytes, kernel_minhash(&sk, &sets))
        }
        "oph" => {
            let sk = Sketcher::new(SketchKind::Oph, 128, 1).unwrap();
            (flat_bytes, kernel_oph(&sk, &sets))
        }
        "none" => (raw_bytes, 0),
        "digest" => {
            digest(&n, &raw);
            (raw_bytes, 0)
        }
        "repeat-share" => {
            // How much of the text lies in records that hold a repeat: what
            // a pre-filter cannot skip.
            let hit: Vec<&String> =
                canon.iter().filter(|t| !repeats::find(t, 100).is_empty()).collect();
            let hit_bytes: usize = hit.iter().map(|t| t.len()).sum();
            eprintln!(
                "records with a repeat: {} of {}, {hit_bytes} of {canon_bytes} bytes",
                hit.len(),
                canon.len()
            );
            (canon_bytes, hit.len())
        }
        other => {
            eprintln!("icount: unknown kernel `{other}`");
            return ExitCode::from(2);
        }
    };
    let seconds = clock.elapsed().as_secs_f64();
    black_box(out);
    println!(
        "{{\"kernel\":\"{kernel}\",\"records\":{},\"bytes\":{bytes},\"seconds\":{seconds:.4}}}",
        raw.len()
    );
    ExitCode::SUCCESS
}
