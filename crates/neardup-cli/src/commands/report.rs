//! `neardup report`: the HTML report of a run, from its ledger and inputs;
//! also what `--report` on `dedup` and `substrings` calls once the run is
//! done.

use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result};
use neardup_core::Summary;
use neardup_io::{Clash, Discover, Fields, Format, Layout, Unit};
use neardup_report::{Inputs, Options, Report};

use crate::args::{FormatArg, RecordsArg, ReportArgs};
use crate::commands::ExitStatus;
use crate::printer::{Bar, Printer};

pub(crate) fn run(args: ReportArgs) -> Result<ExitStatus> {
    let fields = Fields { text: args.input.text_field.clone(), id: args.input.id_field.clone() };
    let layout = Layout {
        unit: match args.input.records {
            RecordsArg::File => Unit::File,
            RecordsArg::Lines => Unit::Lines,
            RecordsArg::Paragraphs => Unit::Paragraphs,
        },
        max_record_bytes: args.input.max_record_bytes,
        ..Layout::default()
    };
    let discover = Discover {
        format: match args.input.format {
            FormatArg::Auto => None,
            FormatArg::Jsonl => Some(Format::Jsonl),
            FormatArg::Text => Some(Format::Text),
            FormatArg::Parquet => {
                anyhow::bail!("`report` reads JSONL and text inputs; Parquet is not supported yet")
            }
        },
        tmp_dir: args.tmp_dir.clone(),
    };
    let sources = discover.sources(&args.inputs)?;
    Clash::new()
        .write("-o", &args.output)
        .read("the ledger", &args.ledger)
        .inputs(&sources)
        .check()?;
    let printer = Printer::new(args.quiet, false);
    let bar = printer.progress();
    let inputs = Inputs { sources: &sources, layout, fields: &fields };
    write(&args.ledger, None, &inputs, None, &args.output, &printer, &bar)?;
    Ok(ExitStatus::Success)
}

/// Builds the report of the run with ledger `ledger` (named `ledger_name`
/// on the page, if given) over `inputs` and writes it to `dest` (`-`:
/// standard output), atomically.
pub(crate) fn write(
    ledger: &Path,
    ledger_name: Option<&str>,
    inputs: &Inputs<'_>,
    run: Option<&Summary>,
    dest: &Path,
    printer: &Printer,
    bar: &Bar,
) -> Result<()> {
    let opts = Options { ledger_name: ledger_name.map(str::to_string), ..Options::default() };
    let report = Report::build(ledger, inputs, run, &opts, bar)
        .with_context(|| format!("making the report from ledger `{}`", ledger.display()))?;
    let size = if dest.as_os_str() == "-" {
        let mut out = io::BufWriter::new(io::stdout().lock());
        report.write_html(&mut out)?;
        out.flush()?;
        None
    } else {
        let size = report
            .write_to(dest)
            .with_context(|| format!("writing the report `{}`", dest.display()))?;
        Some(size)
    };
    printer.report(dest, size, &report.stats())?;
    Ok(())
}
