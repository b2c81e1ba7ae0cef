//! `neardup explain A B`: why two texts are, or are not, near duplicates.

use std::io::{self, IsTerminal, Write};

use anyhow::{bail, Context, Result};
use neardup_core::explain::{self, explain, Explanation};
use neardup_core::ledger::Status;
use neardup_core::{Resources, Settings};
use neardup_io::{record, Discover, Fields, Format, Layout, RecordReader, Unit};
use neardup_text::diff::Tag;

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
        // Changed words in colour on a terminal (unless `NO_COLOR`), with
        // plain markers otherwise.
        let colour = io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        render(&e, colour, &mut out)?;
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
fn decision(side: &explain::Side) -> String {
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

fn render(e: &Explanation, colour: bool, out: &mut impl Write) -> io::Result<()> {
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
    writeln!(out, "\ndiff of the original texts, aligned on their canonical form (A | B):")?;
    if colour {
        writeln!(
            out,
            "  ≈ same text after folding quotes, dashes, spaces and case; changed words in colour"
        )?;
    } else {
        writeln!(out, "  ≈ same text after folding quotes, dashes, spaces and case; [-only in A-] {{+only in B+}}")?;
    }
    for line in &e.diff {
        let mark = match (line.tag, &line.a, &line.b) {
            (Tag::Equal, ..) => ' ',
            (Tag::Typography, ..) => '≈',
            (Tag::Changed, Some(_), None) => '-',
            (Tag::Changed, None, Some(_)) => '+',
            (Tag::Changed, ..) => '~',
        };
        let a = cell(line.a.as_deref(), &line.a_changed, Side::A, colour);
        let b = cell(line.b.as_deref(), &line.b_changed, Side::B, colour);
        let row = format!("{mark} {a} | {b}");
        writeln!(out, "{}", row.trim_end())?;
    }
    Ok(())
}

/// Width of each side of the diff, in characters.
const CELL: usize = 60;

#[derive(Clone, Copy)]
enum Side {
    A,
    B,
}

/// One side of a diff row, `CELL` characters wide: the line with its
/// changed words marked (in colour, or between `[-…-]` / `{+…+}`), cut
/// with `…` when too long.
fn cell(line: Option<&str>, changed: &[[usize; 2]], side: Side, colour: bool) -> String {
    let Some(line) = line else { return " ".repeat(CELL) };
    let (open, close) = match (side, colour) {
        (Side::A, true) => ("\x1b[1;4;31m", "\x1b[0m"),
        (Side::B, true) => ("\x1b[1;4;32m", "\x1b[0m"),
        (Side::A, false) => ("[-", "-]"),
        (Side::B, false) => ("{+", "+}"),
    };
    // Markers take room only when they are visible characters.
    let marker_width = if colour { 0 } else { 2 };
    let mut out = String::new();
    let mut width = 0;
    let mut at = 0;
    let mut pieces: Vec<(&str, bool)> = Vec::new();
    for &[s, e] in changed {
        pieces.push((&line[at..s], false));
        pieces.push((&line[s..e], true));
        at = e;
    }
    pieces.push((&line[at..], false));
    let total: usize =
        pieces.iter().map(|(t, c)| t.chars().count() + if *c { 2 * marker_width } else { 0 }).sum();
    // Room for text, keeping one column for `…` when it does not all fit.
    let room = if total > CELL { CELL - 1 } else { CELL };
    for (text, marked) in pieces {
        if text.is_empty() {
            continue;
        }
        let extra = if marked { 2 * marker_width } else { 0 };
        if width + extra >= room {
            break;
        }
        let take = (room - width - extra).min(text.chars().count());
        let shown: String = text.chars().take(take).collect();
        if marked {
            out.push_str(open);
            out.push_str(&shown);
            out.push_str(close);
        } else {
            out.push_str(&shown);
        }
        width += take + extra;
        if take < text.chars().count() {
            break;
        }
    }
    if total > CELL {
        out.push('…');
        width += 1;
    }
    out.push_str(&" ".repeat(CELL.saturating_sub(width)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_mark_changed_words_and_keep_their_width() {
        let c = cell(Some("the old house"), &[[4, 8]], Side::A, false);
        assert_eq!(c.trim_end(), "the [-old -]house");
        assert_eq!(c.chars().count(), CELL);
        let c = cell(Some("the old house"), &[[4, 8]], Side::B, true);
        assert_eq!(c.trim_end(), "the \x1b[1;4;32mold \x1b[0mhouse");
        let long = "x".repeat(100);
        let c = cell(Some(&long), &[[50, 70]], Side::A, false);
        assert_eq!(c.chars().count(), CELL);
        assert!(c.ends_with("…"));
        assert_eq!(cell(None, &[], Side::A, false), " ".repeat(CELL));
    }
}
