//! `neardup dedup`: fills a [`neardup_core::Config`] from the flags and runs.

use anyhow::{bail, Context, Result};
use neardup_core::repetition::Thresholds;
use neardup_core::{Config, Keep, OnError};
use neardup_io::{Discover, Fields, Format, Layout, Outputs, Source, Target, Unit};

use crate::args::{DedupArgs, FormatArg, KeepArg, OnErrorArg, RecordsArg};
use crate::commands::ExitStatus;
use crate::printer::Printer;

pub(crate) fn run(args: DedupArgs) -> Result<ExitStatus> {
    if args.run.json && args.output.as_os_str() == "-" {
        bail!("`--json` prints the summary on standard output, where the records go too; give `-o` a file or directory");
    }
    let (cfg, sources) = prepare(&args)?;
    let mirror = args.inputs.len() > 1 || args.inputs.iter().any(|p| p.is_dir());
    let target = Target::from_arg(&args.output, mirror);
    let outputs = Outputs::new(target, &sources)?;

    let printer = Printer::new(args.run.quiet, args.run.json);
    let bar = printer.progress();
    let summary = neardup_core::run(&sources, &cfg, outputs, args.ledger.as_deref(), &bar)?;
    printer.summary(&summary)?;
    Ok(ExitStatus::Success)
}

/// The run's settings and inputs, from the flags shared by `dedup` and
/// `clusters`.
pub(crate) fn prepare(args: &DedupArgs) -> Result<(Config, Vec<Source>)> {
    let mut thresholds =
        if args.drop_repetitive { Thresholds::gopher() } else { Thresholds::default() };
    for t in &args.repetition_threshold {
        let (name, value) = t
            .split_once('=')
            .with_context(|| format!("`--repetition-threshold {t}`: expected NAME=VALUE"))?;
        let value: f32 = value
            .parse()
            .with_context(|| format!("`--repetition-threshold {t}`: `{value}` is not a number"))?;
        thresholds.set(name, value).map_err(anyhow::Error::msg)?;
    }
    let cfg = Config {
        normalize: args.normalize.to_options(),
        fields: Fields { text: args.input.text_field.clone(), id: args.input.id_field.clone() },
        layout: Layout {
            unit: match args.input.records {
                RecordsArg::File => Unit::File,
                RecordsArg::Lines => Unit::Lines,
                RecordsArg::Paragraphs => Unit::Paragraphs,
            },
            max_record_bytes: args.input.max_record_bytes,
            batch_bytes: args.run.batch_bytes.max(1),
            batch_records: args.run.batch_records.max(1),
        },
        keep: match args.keep {
            KeepArg::First => Keep::First,
            KeepArg::Last => Keep::Last,
            KeepArg::Longest => Keep::Longest,
        },
        exact: !args.no_exact,
        near: args.near.to_options(args.run.tmp_dir.as_deref()),
        min_repeat: (!args.no_repeats).then_some(args.min_repeat.max(1)),
        stats: args.ledger.is_some(),
        thresholds,
        on_error: match args.on_error {
            OnErrorArg::Fail => OnError::Fail,
            OnErrorArg::Skip => OnError::Skip,
        },
        force_two_passes: false,
    };
    let discover = Discover {
        format: match args.input.format {
            FormatArg::Auto => None,
            FormatArg::Jsonl => Some(Format::Jsonl),
            FormatArg::Text => Some(Format::Text),
        },
        tmp_dir: args.run.tmp_dir.clone(),
    };
    let sources = discover.sources(&args.inputs)?;
    Ok((cfg, sources))
}
