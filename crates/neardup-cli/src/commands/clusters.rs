//! `neardup clusters`: cluster assignments (or similar pairs) as JSONL.

use std::io::{self, BufWriter, Write};

use anyhow::{bail, Result};
use neardup_io::{AtomicFile, Clash};

use crate::args::ClustersArgs;
use crate::commands::{dedup, ExitStatus};
use crate::printer::Printer;

pub(crate) fn run(args: ClustersArgs) -> Result<ExitStatus> {
    let d = &args.dedup.io;
    if args.dedup.substrings {
        bail!(
            "`clusters` groups whole records; `--substrings` cuts spans: use `dedup --substrings`"
        );
    }
    if args.dedup.index.is_some() {
        bail!("`clusters` reads no index: `dedup --index DIR` decides a batch against one");
    }
    if d.ledger.is_some() {
        bail!("`clusters` writes no ledger: its output is one line per record already");
    }
    if d.report.is_some() {
        bail!("`clusters` removes nothing to report on: use `dedup --report`");
    }
    if d.run.json && d.output.as_os_str() == "-" {
        bail!("`--json` prints the summary on standard output, where the clusters go too; give `-o` a file");
    }
    let (cfg, sources) = dedup::prepare(&args.dedup)?;
    if dedup::is_parquet(d, &sources)? {
        bail!("`clusters` reads JSONL and text; for Parquet, `dedup --ledger ledger.parquet` gives each record's `duplicate_of`");
    }
    Clash::new().write("-o", &d.output).inputs(&sources).check()?;
    let printer = Printer::new(d.run.quiet, d.run.json);
    let bar = printer.progress();
    let summary = if d.output.as_os_str() == "-" {
        let mut out = BufWriter::with_capacity(1 << 20, io::stdout().lock());
        let s = neardup_core::clusters::run(&sources, &cfg, &mut out, args.pairs, &bar)?;
        out.flush()?;
        s
    } else {
        let mut file = AtomicFile::create(&d.output)?;
        for p in file.stale_removed() {
            printer.warning(&format!(
                "removed `{}`, a temp file left by a run that was killed",
                p.display()
            ))?;
        }
        let s = neardup_core::clusters::run(&sources, &cfg, &mut file, args.pairs, &bar)?;
        file.commit()?;
        s
    };
    printer.cluster_summary(&summary)?;
    Ok(ExitStatus::Success)
}
