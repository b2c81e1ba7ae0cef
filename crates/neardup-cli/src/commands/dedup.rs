//! `neardup dedup`: fills a [`neardup_core::Config`] from the flags and runs.

use std::path::Path;

use anyhow::{bail, Context, Result};
use neardup_core::repetition::Thresholds;
use neardup_core::{Config, Input, Keep, OnError, Resources, Settings};
use neardup_io::{Clash, Discover, Fields, Format, Layout, Outputs, Source, Target, Unit};

use crate::args::{DedupArgs, FormatArg, IoArgs, KeepArg, MatchingArgs, OnErrorArg, RecordsArg};
use crate::commands::{report, ExitStatus};
use crate::printer::Printer;

pub(crate) fn run(args: DedupArgs) -> Result<ExitStatus> {
    let (mut cfg, sources) = prepare(&args)?;
    match &args.index {
        None => execute(&args.io, &cfg, &sources),
        Some(dir) => {
            if is_parquet(&args.io, &sources)? {
                bail!(
                    "`--index` reads JSONL and text inputs; Parquet inputs are not supported yet"
                );
            }
            let index = super::index::open_for_run(dir, &mut cfg)?;
            cfg.settings = super::index::settings_for(&index, &args.given)?;
            let key = super::index::batch_key(&sources)?;
            let run = super::index::IndexRun::new(&index, key);
            execute_with(&args.io, &cfg, &sources, Some(&run))
        }
    }
}

/// Runs `cfg` on `sources` into the outputs `io` names, and prints the
/// summary: the whole of `dedup` and `substrings` once configured.
pub(crate) fn execute(io: &IoArgs, cfg: &Config, sources: &[Source]) -> Result<ExitStatus> {
    execute_with(io, cfg, sources, None)
}

/// [`execute`], deciding against an index and adding to it when given one.
fn execute_with(
    io: &IoArgs,
    cfg: &Config,
    sources: &[Source],
    index: Option<&super::index::IndexRun<'_>>,
) -> Result<ExitStatus> {
    if io.run.json && io.output.as_os_str() == "-" {
        bail!("`--json` prints the summary on standard output, where the records go too; give `-o` a file or directory");
    }
    let mirror = io.inputs.len() > 1 || io.inputs.iter().any(|p| p.is_dir());
    let target = Target::from_arg(&io.output, mirror);
    // Before anything is written: no output may replace an input or
    // another output (the ledger is checked again where it is written).
    let mut clash = Clash::new();
    clash.target("-o", &target, sources).inputs(sources);
    if let Some(l) = &io.ledger {
        clash.write("--ledger", l);
    }
    if let Some(r) = &io.report {
        clash.write("--report", r);
    }
    if io.run.json {
        clash.write("--json", Path::new("-"));
    }
    clash.check()?;
    let outputs = Outputs::new(target.clone(), sources)?;

    let printer = Printer::new(io.run.quiet, io.run.json);
    let bar = printer.progress();
    // A report is made from a JSONL ledger: without one, a temp one.
    let parquet = is_parquet(io, sources)?;
    if io.report.is_some() && parquet {
        bail!("`--report` reads JSONL and text inputs; Parquet inputs are not supported yet");
    }
    let parquet_ledger =
        io.ledger.as_deref().filter(|p| neardup_arrow::parquet::is_parquet_name(p));
    let temp_ledger = match (&io.ledger, &io.report) {
        (None, Some(_)) => Some(
            tempfile::Builder::new()
                .prefix(".neardup-ledger-")
                .suffix(".jsonl")
                .tempfile_in(io.run.tmp_dir.clone().unwrap_or_else(std::env::temp_dir))
                .context("creating a temp file for the report's ledger")?
                .into_temp_path(),
        ),
        _ => None,
    };
    if io.report.is_some() && parquet_ledger.is_some() {
        bail!("`--report` reads a JSONL ledger: name the ledger `.jsonl` (or `.jsonl.zst`)");
    }
    let ledger = io.ledger.as_deref().or(temp_ledger.as_deref());
    let run = |outputs, ledger, extra| match index {
        None => Ok(neardup_core::run_with(sources, cfg, outputs, ledger, extra, &bar)?),
        Some(ix) => ix.run(sources, cfg, outputs, ledger, extra, &bar),
    };
    let summary = if parquet {
        if !matches!(io.input.records, RecordsArg::File) {
            bail!("`--records` cuts plain text into records; a Parquet row is a record already");
        }
        drop(outputs);
        neardup_arrow::parquet::run(sources, cfg, &target, ledger, &bar)?
    } else if let Some(path) = parquet_ledger {
        // A Parquet ledger of a JSONL or text run: a sink of its own.
        let file = neardup_io::AtomicFile::create(path)?;
        let header = neardup_core::ledger::Header {
            neardup_ledger: neardup_core::ledger::LEDGER_VERSION,
            version: env!("CARGO_PKG_VERSION").to_string(),
            fingerprint: cfg.settings.fingerprint(),
            settings: cfg.header_settings(),
        };
        let sink = neardup_arrow::ledger::ParquetLedgerSink::new(
            file,
            &path.display().to_string(),
            &header,
        )?;
        run(outputs, None, vec![Box::new(sink)])?
    } else {
        run(outputs, ledger, Vec::new())?
    };
    if let Some(ix) = index {
        ix.print(&printer)?;
    }
    printer.summary(&summary)?;
    if let (Some(dest), Some(ledger)) = (&io.report, ledger) {
        let inputs =
            neardup_report::Inputs { sources, layout: cfg.input.layout, fields: &cfg.input.fields };
        let name = temp_ledger.is_some().then_some("none (the run was given no `--ledger`)");
        report::write(ledger, name, &inputs, Some(&summary), dest, &printer, &bar)?;
    }
    Ok(ExitStatus::Success)
}

/// Whether the run reads Parquet: `--format parquet`, or inputs named
/// `.parquet`. Parquet and line-based inputs do not mix in one run (their
/// records are written by different writers, to outputs of other formats).
pub(crate) fn is_parquet(io: &IoArgs, sources: &[Source]) -> Result<bool> {
    if matches!(io.input.format, FormatArg::Parquet) {
        return Ok(true);
    }
    let named = |s: &&Source| neardup_arrow::parquet::is_parquet_name(&s.path);
    let parquet = sources.iter().find(named);
    let other = sources.iter().find(|s| !named(s));
    match (parquet, other) {
        (Some(p), Some(o)) => bail!(
            "`{}` is Parquet and `{}` is not: Parquet and JSONL or text inputs cannot be mixed in one run",
            p.name,
            o.name
        ),
        (Some(_), None) => Ok(true),
        _ => Ok(false),
    }
}

/// The run's settings and inputs, from the flags shared by `dedup` and
/// `clusters`.
pub(crate) fn prepare(args: &DedupArgs) -> Result<(Config, Vec<Source>)> {
    if !args.substrings && args.substring.is_set() {
        bail!("`--min-len`, `--min-tokens`, `--remove` and `--min-keep` set up `--substrings`: add it");
    }
    let (mut cfg, sources) = prepare_io(&args.io)?;
    let s = &mut cfg.settings;
    matching(&args.matching, s)?;
    s.substrings = args.substrings.then(|| args.substring.to_settings());
    s.validate()?;
    Ok((cfg, sources))
}

/// Sets what the matching flags decide (shared by `dedup`, `clusters` and
/// `index create`).
pub(crate) fn matching(m: &MatchingArgs, s: &mut Settings) -> Result<()> {
    s.keep = keep(m.keep);
    s.exact = !m.no_exact;
    s.near = m.near.to_settings();
    s.min_repeat = (!m.no_repeats).then_some(m.min_repeat.max(1));
    s.thresholds = thresholds(m.drop_repetitive, &m.repetition_threshold)?;
    Ok(())
}

/// The repetition thresholds of `--drop-repetitive` and
/// `--repetition-threshold NAME=VALUE`.
pub(crate) fn thresholds(drop: bool, set: &[String]) -> Result<Thresholds> {
    let mut thresholds = if drop { Thresholds::gopher() } else { Thresholds::default() };
    for t in set {
        let (name, value) = t
            .split_once('=')
            .with_context(|| format!("`--repetition-threshold {t}`: expected NAME=VALUE"))?;
        let value: f32 = value
            .parse()
            .with_context(|| format!("`--repetition-threshold {t}`: `{value}` is not a number"))?;
        thresholds.set(name, value).map_err(anyhow::Error::msg)?;
    }
    Ok(thresholds)
}

pub(crate) fn keep(k: KeepArg) -> Keep {
    match k {
        KeepArg::First => Keep::First,
        KeepArg::Last => Keep::Last,
        KeepArg::Longest => Keep::Longest,
    }
}

/// Settings from the flags every corpus command shares (canonical form,
/// record layout, fields, errors), with every stage at its default, and
/// the inputs.
pub(crate) fn prepare_io(io: &IoArgs) -> Result<(Config, Vec<Source>)> {
    let cfg = Config {
        settings: Settings { normalize: io.normalize.to_options(), ..Settings::default() },
        input: Input {
            fields: Fields { text: io.input.text_field.clone(), id: io.input.id_field.clone() },
            layout: Layout {
                unit: match io.input.records {
                    RecordsArg::File => Unit::File,
                    RecordsArg::Lines => Unit::Lines,
                    RecordsArg::Paragraphs => Unit::Paragraphs,
                },
                max_record_bytes: io.input.max_record_bytes,
                batch_bytes: io.run.batch_bytes.max(1),
                batch_records: io.run.batch_records.max(1),
            },
            on_error: match io.on_error {
                OnErrorArg::Fail => OnError::Fail,
                OnErrorArg::Skip => OnError::Skip,
            },
        },
        resources: Resources {
            memory: usize::try_from(io.run.memory).unwrap_or(usize::MAX),
            tmp_dir: io.run.tmp_dir.clone().unwrap_or_else(std::env::temp_dir),
        },
        stats: io.ledger.is_some() || io.report.is_some(),
        force_two_passes: false,
    };
    let discover = Discover {
        format: match io.input.format {
            FormatArg::Auto | FormatArg::Parquet => None,
            FormatArg::Jsonl => Some(Format::Jsonl),
            FormatArg::Text => Some(Format::Text),
        },
        tmp_dir: io.run.tmp_dir.clone(),
    };
    let sources = discover.sources(&io.inputs)?;
    Ok((cfg, sources))
}
