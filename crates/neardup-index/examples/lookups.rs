//! Times the band lookups a batch makes against an existing index: what
//! `dedup --index` spends finding a batch's candidates in history.
//!
//! ```text
//! cargo build --release -p neardup-index --example lookups
//! target/release/examples/lookups INDEX_DIR BATCH.jsonl [ROUNDS [sorted]]
//! ```
//! Analyses the batch's texts (the `text` field) with the index's settings,
//! then looks up every band key of every record, `ROUNDS` times (default
//! 2: a cold cache, then a warm one), and prints the lookups, the hits
//! (keys with holders), the holders found and the time per lookup. With
//! `sorted`, then the batch's distinct keys in key order, as `dedup
//! --index` asks for them (warm if rounds ran before: give 0 rounds for
//! it cold). It only reads; open a copy if another process
//! may write the index.
#![allow(clippy::print_stdout, missing_docs)]

use std::time::Instant;

use neardup_index::{Index, OpenOptions};

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(batch)) = (args.first(), args.get(1)) else {
        return Err("usage: lookups INDEX_DIR BATCH.jsonl [ROUNDS [sorted]]".into());
    };
    let sorted = match args.get(3).map(String::as_str) {
        None => false,
        Some("sorted") => true,
        Some(other) => {
            return Err(format!("`{other}`: the fourth argument is `sorted` or none").into())
        }
    };
    let rounds: usize = match args.get(2) {
        Some(a) => a.parse().map_err(|e| format!("ROUNDS `{a}`: {e}"))?,
        None => 2,
    };
    let index = Index::open(dir, &OpenOptions::new().memory(256 << 20))?;
    let settings = neardup_index::settings_of(&index)?;
    let analyzer = neardup_core::Analyzer::new(&settings, false)?;
    let mut texts = Vec::new();
    for (n, line) in fs_err::read_to_string(batch)?.lines().enumerate() {
        let bad = |what: String| format!("{batch}, line {}: {what}", n + 1);
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        let text = v["text"].as_str().ok_or_else(|| bad("no string field `text`".to_owned()))?;
        texts.push(text.to_owned());
    }
    let fingerprints: Vec<_> =
        analyzer.analyse_batch(&texts).into_iter().filter_map(|a| a.fingerprint).collect();
    let view = index.view();
    for round in 0..rounds {
        let keys = fingerprints.iter().flat_map(|fp| fp.band_keys.iter().copied().enumerate());
        let (lookups, hits, holders, secs) = look_up(&view, keys)?;
        println!(
            "round {round}: {lookups} lookups, {hits} hits, {holders} holders; \
             {:.2} us per lookup, {secs:.3} s",
            secs * 1e6 / lookups.max(1) as f64
        );
    }
    if sorted {
        let mut keys: Vec<(usize, u64)> =
            fingerprints.iter().flat_map(|fp| fp.band_keys.iter().copied().enumerate()).collect();
        let t = Instant::now();
        keys.sort_unstable();
        keys.dedup();
        let sort = t.elapsed().as_secs_f64();
        let (lookups, hits, holders, secs) = look_up(&view, keys.into_iter())?;
        let secs = secs + sort;
        println!(
            "sorted: {lookups} distinct keys, {hits} hits, {holders} holders; \
             {:.2} us per key, {secs:.3} s",
            secs * 1e6 / lookups.max(1) as f64
        );
    }
    Ok(())
}

/// Looks every `(band, key)` up in turn: lookups, hits, holders, seconds.
fn look_up(
    view: &neardup_index::View<'_>,
    keys: impl Iterator<Item = (usize, u64)>,
) -> Result<(u64, u64, u64, f64), Error> {
    let (mut lookups, mut hits, mut holders) = (0u64, 0u64, 0u64);
    let mut seqs = Vec::new();
    let t = Instant::now();
    for (band, key) in keys {
        seqs.clear();
        view.find_band(band, key, &mut seqs)?;
        lookups += 1;
        hits += u64::from(!seqs.is_empty());
        holders += seqs.len() as u64;
    }
    Ok((lookups, hits, holders, t.elapsed().as_secs_f64()))
}
