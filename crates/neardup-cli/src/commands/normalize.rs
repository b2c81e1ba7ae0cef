//! `neardup normalize`: prints the canonical form of a file.

use std::io::{self, Read, Write};

use anyhow::{Context, Result};
use fs_err as fs;
use neardup_text::{segment, Normalizer};

use crate::args::NormalizeArgs;
use crate::commands::ExitStatus;

pub(crate) fn run(args: NormalizeArgs) -> Result<ExitStatus> {
    let mut bytes = Vec::new();
    let name = if args.input.as_os_str() == "-" {
        io::stdin().read_to_end(&mut bytes).context("reading standard input")?;
        "<stdin>".to_string()
    } else {
        bytes = fs::read(&args.input)?;
        args.input.display().to_string()
    };
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| anyhow::anyhow!("{name}: invalid UTF-8 at byte {}", e.valid_up_to()))?;
    let canon = Normalizer::new(args.normalize.to_options()).normalize(text);
    let mut out = io::stdout().lock();
    if args.offsets {
        for line in segment::lines(&canon.text) {
            let r = canon.map.original_range_outer(line.start, line.end);
            writeln!(out, "{}..{}\t{}", r.start, r.end, &canon.text[line])?;
        }
    } else {
        out.write_all(canon.text.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(ExitStatus::Success)
}
