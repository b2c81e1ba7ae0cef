//! `neardup explain A B`: why two texts are, or are not, near duplicates.

use std::io::{self, Write};

use anyhow::{bail, Context, Result};
use neardup_core::explain::{explain, DiffLine, Explanation, Side};
use neardup_core::ledger::Status;
use neardup_core::{Resources, Settings};
use neardup_io::{record, Discover, Fields, Format, Layout, RecordReader, Unit};

use crate::args::{ExplainArgs, FormatArg, RecordsArg};
use crate::commands::ExitStatus;

pub(crate) fn run(args: ExplainArgs) -> Result<ExitStatus> {
    let Some(near) = args.near.to_settings() else {
        bail!("`explain` compares near-duplicate fingerprints; drop `--no-near`");
    };
    let settings = Settings {
        normalize: args.normalize.to_options(),
        exact: !args.no_exact,
        near: Some(near),
        min_repeat: (!args.no_repeats).then_some(args.min_repeat),
        ..Settings::default()
    };
    settings.validate()?;
    let fields = Fields { text: args.input.text_field.clone(), id: args.input.id_field.clone() };
    let format = match args.input.format {
        FormatArg::Auto => None,
        FormatArg::Jsonl => Some(Format::Jsonl),
        FormatArg::Text => Some(Format::Text),
        FormatArg::Parquet => {
            bail!("`explain` reads text and JSONL; export the two records from Parquet first")
        }
    };
    let (a, b) = if args.inputs.is_empty() {
        (read_file(&args.a, format, &fields)?, read_file(&args.b, format, &fields)?)
    } else {
        let unit = match args.input.records {
            RecordsArg::File => Unit::File,
            RecordsArg::Lines => Unit::Lines,
            RecordsArg::Paragraphs => Unit::Paragraphs,
        };
        let found = find_ids(&args.inputs, [&args.a, &args.b], format, unit, &fields)?;
        (found[0].clone(), found[1].clone())
    };
    let e = explain(&settings, &Resources::default(), (&args.a, &a), (&args.b, &b), args.limit)?;
    let mut out = io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &e)?;
        out.write_all(b"\n")?;
    } else {
        render(&e, &mut out)?;
    }
    out.flush()?;
    Ok(ExitStatus::Success)
}

/// A whole file's text, or the text of its only JSONL record.
fn read_file(path: &str, format: Option<Format>, fields: &Fields) -> Result<String> {
    let bytes = fs_err::read(path)?;
    let format = format.unwrap_or_else(|| neardup_io::source::format_from_name(path.as_ref()));
    let content = match format {
        Format::Jsonl => {
            let mut lines =
                bytes.split(|&b| b == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace));
            let first = lines.next().with_context(|| format!("{path}: no JSON record"))?;
            if lines.next().is_some() {
                bail!("{path}: holds several records; name two ids with `--in {path}`");
            }
            first.to_vec()
        }
        Format::Text => bytes,
    };
    let parsed =
        record::parse(format, &content, fields).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    Ok(parsed.text.into_owned())
}

/// The texts of the records with ids `wanted`, looked up in `inputs`.
fn find_ids(
    inputs: &[std::path::PathBuf],
    wanted: [&str; 2],
    format: Option<Format>,
    unit: Unit,
    fields: &Fields,
) -> Result<[String; 2]> {
    let sources = Discover { format, tmp_dir: None }.sources(inputs)?;
    let mut found: [Option<String>; 2] = [None, None];
    let mut reader = RecordReader::new(&sources, Layout { unit, ..Layout::default() });
    while let Some(batch) = reader.next_batch() {
        for r in &batch.records {
            if r.error.is_some() {
                continue;
            }
            let src = &sources[r.source as usize];
            let Ok(p) = record::parse(src.format, r.content(&batch.data), fields) else { continue };
            let id = match p.id {
                Some(id) => id,
                None if r.line == 0 => src.name.clone(),
                None => format!("{}:{}", src.name, r.line),
            };
            for (slot, w) in found.iter_mut().zip(wanted) {
                if slot.is_none() && id == w {
                    *slot = Some(p.text.to_string());
                }
            }
        }
        if found.iter().all(Option::is_some) {
            break;
        }
    }
    match found {
        [Some(a), Some(b)] => Ok([a, b]),
        [a, _] => bail!(
            "no record with id `{}` in the inputs",
            if a.is_none() { wanted[0] } else { wanted[1] }
        ),
    }
}

/// What `dedup` does with one side, in words.
fn decision(side: &Side) -> String {
    let d = &side.decision;
    let reason = d.reason.map(|r| format!("{r:?}").to_lowercase()).unwrap_or_default();
    match d.status {
        Status::Kept => "kept".to_string(),
        Status::Modified => format!("kept, modified ({reason})"),
        Status::Rejected => format!("rejected: {}", d.error.as_deref().unwrap_or("")),
        Status::Removed => match (&d.duplicate_of, d.similarity) {
            (Some(of), Some(s)) => {
                format!("removed: {reason} duplicate of {of} (similarity {s:.4})")
            }
            (Some(of), None) => format!("removed: {reason} duplicate of {of}"),
            (None, _) => format!("removed: {reason} {}", d.error.as_deref().unwrap_or("")),
        },
    }
}

fn render(e: &Explanation, out: &mut impl Write) -> io::Result<()> {
    let verdict = if e.duplicates { "near duplicates" } else { "not near duplicates" };
    writeln!(out, "A: {} ({} bytes, {} shingles)", e.a.name, e.a.bytes, e.a.shingles)?;
    writeln!(out, "B: {} ({} bytes, {} shingles)", e.b.name, e.b.bytes, e.b.shingles)?;
    writeln!(out)?;
    for (label, side) in [("A", &e.a), ("B", &e.b)] {
        writeln!(out, "dedup {label}         {}", decision(side))?;
    }
    for (label, side) in [("A", &e.a), ("B", &e.b)] {
        if !side.repeats.is_empty() {
            let spans: Vec<String> =
                side.repeats.iter().map(|[o, l]| format!("{l} bytes at {o}")).collect();
            writeln!(
                out,
                "repeats {label}       {} cut before matching: {}",
                side.repeats.len(),
                spans.join(", ")
            )?;
        }
    }
    writeln!(
        out,
        "exact           {}",
        if e.exact { "equal canonical forms (texts as written)" } else { "canonical forms differ" }
    )?;
    writeln!(out)?;
    writeln!(out, "shingles        {}", e.shingling)?;
    writeln!(out, "jaccard         {:.4}  (exact, on the shingle sets)", e.jaccard)?;
    writeln!(
        out,
        "containment     {:.4}  (share of the smaller set in the larger)",
        e.containment
    )?;
    writeln!(out, "estimate        {:.4}  (MinHash, {})", e.estimate, e.sketch)?;
    let bands: Vec<String> = e.collided_bands.iter().map(usize::to_string).collect();
    writeln!(
        out,
        "lsh             {} bands × {} rows; {} of {} bands collided{}",
        e.bands,
        e.rows,
        e.collided_bands.len(),
        e.bands,
        if bands.is_empty() {
            " (not a candidate pair)".to_string()
        } else {
            format!(": {}", bands.join(", "))
        }
    )?;
    writeln!(
        out,
        "near            {verdict} (similarity {:.4}, threshold {})",
        e.similarity, e.threshold
    )?;
    let [shared, only_a, only_b] = e.counts;
    for (title, n, list) in [
        ("shared", shared, &e.shared),
        ("only in A", only_a, &e.only_a),
        ("only in B", only_b, &e.only_b),
    ] {
        writeln!(out, "\n{title}: {n} shingles")?;
        for s in list {
            writeln!(out, "  {s:?}")?;
        }
        if n > list.len() {
            writeln!(out, "  … {} more", n - list.len())?;
        }
    }
    writeln!(out, "\ndiff of the original texts (A | B):")?;
    let width = 60;
    let cell = |s: &str| {
        let mut c: String = s.chars().take(width).collect();
        if s.chars().count() > width {
            c.pop();
            c.push('…');
        }
        format!("{c:<width$}")
    };
    for line in &e.diff {
        let row = match line {
            DiffLine::Same(s) => format!("  {} | {}", cell(s), cell(s)),
            DiffLine::OnlyA(s) => format!("- {} |", cell(s)),
            DiffLine::OnlyB(s) => format!("+ {} | {}", cell(""), cell(s)),
        };
        writeln!(out, "{}", row.trim_end())?;
    }
    Ok(())
}
