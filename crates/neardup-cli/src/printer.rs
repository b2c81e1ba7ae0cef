//! What reaches the terminal: stdout carries data only (records or
//! `--json`); progress, the human summary, warnings and errors go to
//! stderr. The progress bar is drawn only when stderr is a terminal and
//! `--quiet` is not given, so pipes and logs stay clean.

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use neardup_core::clusters::ClusterSummary;
use neardup_core::ledger::Entry;
use neardup_core::{NearReport, Summary};

/// Version of the `--json` messages.
pub(crate) const JSON_SCHEMA: u32 = 1;

pub(crate) struct Printer {
    quiet: bool,
    json: bool,
}

impl Printer {
    pub(crate) fn new(quiet: bool, json: bool) -> Printer {
        Printer { quiet, json }
    }

    /// A progress bar, hidden unless a person is watching stderr.
    pub(crate) fn progress(&self) -> Bar {
        let visible = !self.quiet && io::stderr().is_terminal();
        let bar = ProgressBar::with_draw_target(
            None,
            if visible { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() },
        );
        Bar { bar, records: AtomicU64::new(0) }
    }

    /// The summary: JSON on stdout with `--json`; for people on stderr
    /// unless `--quiet`.
    pub(crate) fn summary(&self, s: &Summary) -> io::Result<()> {
        self.json_summary(s)?;
        self.human(&human(s))
    }

    /// The summary of `clusters`.
    pub(crate) fn cluster_summary(&self, s: &ClusterSummary) -> io::Result<()> {
        self.json_summary(s)?;
        let sizes: Vec<String> =
            s.histogram.iter().map(|(size, n)| format!("{n}×{size}")).collect();
        let mut text = format!(
            "neardup: read {} · {} clusters · {} duplicates · {} filtered · {} rejected · {:.2} s\n  cluster sizes (clusters×size): {}",
            s.read,
            s.clusters,
            s.duplicates,
            s.filtered,
            s.rejected,
            s.seconds,
            sizes.join(" ")
        );
        if let Some(n) = &s.near {
            text.push_str(&near_line(n));
        }
        self.human(&text)
    }

    /// A warning on stderr, unless `--quiet`.
    pub(crate) fn warning(&self, text: &str) -> io::Result<()> {
        self.human(&format!("neardup: warning: {text}"))
    }

    /// The closing line of a report: where it went and what it holds.
    pub(crate) fn report(
        &self,
        dest: &std::path::Path,
        size: Option<u64>,
        s: &neardup_report::Stats,
    ) -> io::Result<()> {
        let mut text = format!(
            "neardup: report `{}`{}: {} clusters, {} records listed, {} of text",
            dest.display(),
            size.map(|n| format!(" ({})", bytes(n))).unwrap_or_default(),
            s.clusters,
            s.records,
            bytes(s.text_bytes)
        );
        if s.texts_omitted > 0 {
            text.push_str(&format!(
                "; {} records listed without text (past the report's text budget)",
                s.texts_omitted
            ));
        }
        self.human(&text)
    }

    /// A line for people on stderr, unless `--quiet`.
    pub(crate) fn human_line(&self, text: &str) -> io::Result<()> {
        self.human(text)
    }

    /// A line for people on stderr (commands without `--quiet`).
    pub(crate) fn line(&self, text: &str) -> io::Result<()> {
        writeln!(io::stderr().lock(), "{text}")
    }

    /// With `--json`, a JSON line of type `kind` on stdout.
    pub(crate) fn json_line(&self, kind: &str, s: &impl serde::Serialize) -> io::Result<()> {
        if self.json {
            self.json_typed(kind, s)?;
        }
        Ok(())
    }

    fn json_summary(&self, s: &impl serde::Serialize) -> io::Result<()> {
        if !self.json {
            return Ok(());
        }
        self.json_typed("summary", s)
    }

    fn json_typed(&self, kind: &str, s: &impl serde::Serialize) -> io::Result<()> {
        let mut v = serde_json::Map::new();
        v.insert("type".into(), kind.into());
        v.insert("schema".into(), JSON_SCHEMA.into());
        if let serde_json::Value::Object(fields) =
            serde_json::to_value(s).map_err(io::Error::from)?
        {
            v.extend(fields);
        }
        let mut out = io::stdout().lock();
        serde_json::to_writer(&mut out, &v).map_err(io::Error::from)?;
        out.write_all(b"\n")?;
        out.flush()
    }

    fn human(&self, text: &str) -> io::Result<()> {
        if !self.quiet {
            writeln!(io::stderr().lock(), "{text}")?;
        }
        Ok(())
    }
}

fn human(s: &Summary) -> String {
    let mut out = format!(
        "neardup: read {} · kept {} · modified {} · removed {} · rejected {} · {} in, {} out, {:.2} s",
        s.read,
        s.kept,
        s.modified,
        s.removed,
        s.rejected,
        bytes(s.bytes_in),
        bytes(s.bytes_out),
        s.seconds,
    );
    if s.removed > 0 {
        out.push_str(&format!(
            "\n  removed: {} exact duplicates, {} near duplicates, {} repetitive, {} emptied by substring cuts",
            s.removed_exact, s.removed_near, s.removed_repetition, s.removed_substring
        ));
    }
    if let Some(r) = &s.substrings {
        out.push_str(&format!(
            "\n  substrings: {} records ({} canonical) searched for repeats of {}+ bytes; {} spans cut from {} records, {} of text",
            r.records,
            bytes(r.canonical_bytes),
            r.min_len,
            r.cuts,
            r.records_cut,
            bytes(r.bytes_cut)
        ));
    }
    if let Some(n) = &s.near {
        out.push_str(&near_line(n));
    }
    if s.modified > 0 {
        out.push_str(&format!("\n  cut: {} spans, {} of text", s.spans_cut, bytes(s.bytes_cut)));
    }
    for w in &s.warnings {
        out.push_str("\n  warning: ");
        out.push_str(w);
    }
    for e in &s.examples {
        out.push_str("\n  ");
        out.push_str(&example(e));
    }
    let shown = s.examples.len() as u64;
    let notable = s.modified + s.removed + s.rejected;
    if notable > shown {
        out.push_str(&format!("\n  … and {} more (see `--ledger`)", notable - shown));
    }
    out
}

fn near_line(n: &NearReport) -> String {
    let curve: Vec<String> = n.s_curve.iter().map(|(s, p)| format!("{s:.2} → {p:.3}")).collect();
    format!(
        "\n  near: {} bands × {} rows; P(candidate) at {}; {} candidate pairs, {} verified",
        n.bands,
        n.rows,
        curve.join(", "),
        n.candidates,
        n.verified
    )
}

fn example(e: &Entry) -> String {
    use neardup_core::ledger::{Reason, Status};
    let reason = match e.reason {
        Some(Reason::Exact) => "exact duplicate",
        Some(Reason::Near) => "near duplicate",
        Some(Reason::Repeat) => "repeat inside the record",
        Some(Reason::Repetition) => "repetitive",
        Some(Reason::Substring) => "repeated substring",
        None => "",
    };
    match e.status {
        Status::Modified => {
            // At most three spans; the ledger has them all.
            let mut spans: Vec<String> =
                e.spans.iter().take(3).map(|[o, l]| format!("offset {o}, length {l}")).collect();
            if e.spans.len() > 3 {
                spans.push(format!("{} more", e.spans.len() - 3));
            }
            format!(
                "modified `{}`: cut {} ({reason}, similarity {:.2})",
                e.id,
                spans.join("; "),
                e.similarity.unwrap_or(1.0)
            )
        }
        Status::Removed if e.reason == Some(Reason::Substring) => format!(
            "removed `{}`: too little left once {} repeated substrings were cut{}",
            e.id,
            e.spans.len(),
            e.duplicate_of
                .as_ref()
                .map(|of| format!(" (longest copy in `{of}`)"))
                .unwrap_or_default()
        ),
        Status::Removed => match &e.duplicate_of {
            Some(of) => format!(
                "removed `{}`: {reason} of `{of}` (similarity {:.2})",
                e.id,
                e.similarity.unwrap_or(1.0)
            ),
            None => format!("removed `{}`: {reason} ({})", e.id, e.error.as_deref().unwrap_or("")),
        },
        Status::Rejected => {
            format!("rejected {}:{}: {}", e.source, e.line, e.error.as_deref().unwrap_or(""))
        }
        Status::Kept => format!("kept `{}`", e.id),
    }
}

pub(crate) fn bytes(n: u64) -> String {
    let n = n as f64;
    if n < 1e3 {
        format!("{n} B")
    } else if n < 1e6 {
        format!("{:.1} kB", n / 1e3)
    } else if n < 1e9 {
        format!("{:.1} MB", n / 1e6)
    } else {
        format!("{:.2} GB", n / 1e9)
    }
}

/// The progress bar, fed by the library through [`neardup_core::Progress`].
pub(crate) struct Bar {
    bar: ProgressBar,
    records: AtomicU64,
}

impl neardup_core::Progress for Bar {
    fn phase(&self, name: &'static str, total_bytes: Option<u64>) {
        self.bar.reset();
        self.records.store(0, Ordering::Relaxed);
        let template = match total_bytes {
            Some(t) => {
                self.bar.set_length(t);
                "{prefix:>8} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}"
            }
            None => {
                self.bar.unset_length();
                "{prefix:>8} {spinner} {bytes} {binary_bytes_per_sec} {msg}"
            }
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.bar.set_prefix(name);
        self.bar.enable_steady_tick(Duration::from_millis(200));
    }

    fn advance(&self, records: u64, bytes: u64) {
        let n = self.records.fetch_add(records, Ordering::Relaxed) + records;
        self.bar.inc(bytes);
        self.bar.set_message(format!("{n} records"));
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
