//! Throughput of the repeat finder on a real text, in MB/s, with peak RSS.
//!
//! ```text
//! NEARDUP_BENCH_TEXT=/work/corpus/small/all.jsonl cargo bench -p neardup-suffix --bench throughput
//! ```
//!
//! `NEARDUP_BENCH_TEXT` is a `.jsonl` file (one document per line, from its
//! `text` field) or any other file (one document, as Lee et al.'s tool sees
//! `all.txt`). Optional: `NEARDUP_BENCH_MIN_LEN` (bytes, default 100),
//! `NEARDUP_BENCH_MEMORY` (bytes, default 1 GiB), `NEARDUP_BENCH_THREADS`
//! (default: all cores), `NEARDUP_BENCH_SA_THREADS` (OpenMP threads for
//! libsais, default 1), `NEARDUP_BENCH_MODE` (`later` or `all`),
//! `NEARDUP_BENCH_TMP` (default: the system temp dir). Without
//! `NEARDUP_BENCH_TEXT` it says so and exits 0, so `cargo bench` stays green.
//! A plain binary rather than criterion: one run of a whole corpus is the
//! measurement, and peak RSS needs a fresh process.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, Read};
use std::time::Instant;

use std::sync::Mutex;

use neardup_suffix::{Config, CorpusWriter, Mode, Phase, Progress};

/// Records when each phase starts and ends.
struct Clock {
    t0: Instant,
    events: Mutex<Vec<(Phase, &'static str, f64)>>,
}

impl Progress for Clock {
    fn start(&self, phase: Phase, _total: u64) {
        self.events.lock().unwrap().push((phase, "start", self.t0.elapsed().as_secs_f64()));
    }
    fn finish(&self, phase: Phase) {
        self.events.lock().unwrap().push((phase, "end", self.t0.elapsed().as_secs_f64()));
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// CPU seconds used by this process (all threads), from `/proc/self/stat`,
/// assuming the usual 100 ticks per second.
fn cpu_seconds() -> Option<f64> {
    let stat = fs_err::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Peak resident set size in bytes (Linux), from `/proc/self/status`.
fn peak_rss() -> Option<u64> {
    let status = fs_err::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn main() {
    let Ok(path) = std::env::var("NEARDUP_BENCH_TEXT") else {
        eprintln!(
            "throughput: set NEARDUP_BENCH_TEXT to a .jsonl or text file to run this benchmark"
        );
        return;
    };
    let tmp = std::env::var("NEARDUP_BENCH_TMP").map_or_else(|_| std::env::temp_dir(), Into::into);
    let mut config = Config::new(env_usize("NEARDUP_BENCH_MIN_LEN", 100), tmp);
    config.memory = env_usize("NEARDUP_BENCH_MEMORY", 1 << 30);
    config.threads = env_usize("NEARDUP_BENCH_THREADS", 0);
    config.sa_threads = env_usize("NEARDUP_BENCH_SA_THREADS", 1);
    config.mode = match std::env::var("NEARDUP_BENCH_MODE").as_deref() {
        Ok("all") => Mode::All,
        _ => Mode::Later,
    };
    let rss_before = peak_rss().unwrap_or(0);
    let cpu_before = cpu_seconds().unwrap_or(0.0);

    let t0 = Instant::now();
    let mut w = CorpusWriter::new(config.clone()).expect("a corpus writer");
    // Documents are streamed from the file, so peak RSS is the library's.
    let file = std::io::BufReader::new(fs_err::File::open(&path).expect("open NEARDUP_BENCH_TEXT"));
    if path.ends_with(".jsonl") {
        for line in file.lines() {
            let line = line.expect("read a line");
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
            w.add_str(v["text"].as_str().expect("a string `text` field")).expect("add");
        }
    } else {
        let mut text = String::new();
        let mut file = file;
        file.read_to_string(&mut text).expect("UTF-8 text");
        w.add_str(&text).expect("add");
    }
    let docs = w.docs();
    let bytes = w.bytes();
    let t_add = t0.elapsed();
    let t1 = Instant::now();
    let clock = Clock { t0: t1, events: Mutex::default() };
    let repeats = w.finish(&clock).expect("finish");
    let t_finish = t1.elapsed();
    let total = t0.elapsed().as_secs_f64();
    let s = repeats.stats();

    let mb = bytes as f64 / 1e6;
    println!("input        {path}");
    println!("documents    {docs}");
    println!("bytes        {bytes} ({mb:.1} MB)");
    println!(
        "settings     min_len {} mode {:?} memory {} MiB threads {} sa_threads {}",
        config.min_len,
        config.mode,
        config.memory >> 20,
        if config.threads == 0 { "all".to_string() } else { config.threads.to_string() },
        config.sa_threads
    );
    println!("add          {:.3} s (includes reading and parsing the file)", t_add.as_secs_f64());
    println!("finish       {:.3} s", t_finish.as_secs_f64());
    println!(
        "throughput   {:.1} MB/s (finish), {:.1} MB/s (add + finish)",
        mb / t_finish.as_secs_f64(),
        mb / total
    );
    let events = clock.events.lock().unwrap().clone();
    let at = |p: Phase, what: &str| events.iter().find(|e| e.0 == p && e.1 == what).map(|e| e.2);
    if let (Some(a), Some(b)) = (at(Phase::Partition, "start"), at(Phase::Partition, "end")) {
        println!("  partition  {a:.3} .. {b:.3} s");
    }
    if let Some(b) = at(Phase::Build, "end") {
        println!("  buckets    .. {b:.3} s (suffix arrays and scans)");
    }
    if let (Some(b), Some(f)) = (at(Phase::Build, "end"), at(Phase::Find, "end")) {
        println!("  collect    {b:.3} .. {f:.3} s (sort, merge, boundaries, write)");
    }
    if let Some(cpu) = cpu_seconds() {
        let cpu = cpu - cpu_before;
        println!("cpu          {cpu:.2} s, {:.1} MB per CPU-second", mb / cpu.max(1e-9));
    }
    println!(
        "cuts         {} in {} docs, {} bytes ({:.1} % of the text)",
        s.cuts,
        s.docs_with_cuts,
        s.cut_bytes,
        100.0 * s.cut_bytes as f64 / bytes.max(1) as f64
    );
    println!(
        "internals    buckets {} depth {} collapsed {} over_budget {} partitioned {} MB",
        s.buckets,
        s.depth,
        s.collapsed,
        s.over_budget,
        s.partitioned_bytes / 1_000_000
    );
    if let Some(peak) = peak_rss() {
        println!(
            "peak RSS     {:.1} MiB (before the run: {:.1} MiB)",
            peak as f64 / (1 << 20) as f64,
            rss_before as f64 / (1 << 20) as f64
        );
    }
}
