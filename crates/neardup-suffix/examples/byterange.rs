//! Prints the cut ranges of one file, taken as a single document, in the
//! format of Lee et al.'s `collect` command (`out`, then `start end` per
//! line), so that the two tools can be compared byte for byte.
//!
//! ```text
//! cargo run --release -p neardup-suffix --example byterange -- FILE [LEN] [later|all] [MEMORY]
//! ```
//!
//! Defaults: `LEN` 100, `all` (the peer cuts every occurrence), 1 GiB. Our
//! ranges are shrunk to UTF-8 boundaries; shrink the peer's the same way
//! (drop leading continuation bytes, and trailing ones before a continuation
//! byte) before comparing. On debdocs `all.txt` (small and full) the two
//! then agree exactly: see `DESIGN.md`.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;

use neardup_suffix::{Config, CorpusWriter, Mode, NoProgress};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        return Err("usage: byterange FILE [LEN] [later|all] [MEMORY]".into());
    };
    let text = fs_err::read(path)?;
    let mut config = Config::new(args.get(2).map_or(Ok(100), |s| s.parse())?, std::env::temp_dir());
    config.mode =
        if args.get(3).map(String::as_str) == Some("later") { Mode::Later } else { Mode::All };
    config.memory = args.get(4).map_or(Ok(1 << 30), |s| s.parse())?;
    let mut corpus = CorpusWriter::new(config)?;
    corpus.add(&text)?;
    let repeats = corpus.finish(&NoProgress)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(out, "out")?;
    for doc in repeats.iter() {
        for cut in doc?.cuts {
            writeln!(out, "{} {}", cut.start, cut.end())?;
        }
    }
    out.flush()?;
    Ok(())
}
