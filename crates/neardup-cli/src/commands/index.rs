//! `neardup index create|stats|verify|export`, and what `dedup --index`
//! needs: the index's settings with the flags given checked against them,
//! the batch key, and the run against the index.
//!
//! A batch's key is a hash of its inputs' names and bytes, so that a rerun
//! of the same batch (after a crash, say) is recognised: if its commit made
//! it into the index, the rerun writes its outputs again, decided against
//! the history before it, and adds nothing.

use std::io::{BufWriter, Read, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use neardup_core::{Config, Decisions, Progress, Settings, Sink, Summary};
use neardup_index::{
    add_decisions, index_settings, settings_json, settings_of, Index, IndexHistory, OpenOptions,
    SettingsRefused,
};
use neardup_io::{AtomicFile, Outputs, Source};
use xxhash_rust::xxh3::Xxh3;

use crate::args::{IndexCommand, IndexCreateArgs, IndexDirArgs, IndexExportArgs, IndexStatsArgs};
use crate::commands::{dedup, ExitStatus};
use crate::printer::{bytes, Printer};

pub(crate) fn run(command: IndexCommand) -> Result<ExitStatus> {
    match command {
        IndexCommand::Create(a) => create(&a),
        IndexCommand::Stats(a) => stats(&a),
        IndexCommand::Verify(a) => verify(&a),
        IndexCommand::Export(a) => export(&a),
    }
}

fn open(a: &IndexDirArgs) -> Result<Index> {
    Index::open(&a.dir, &OpenOptions::new().memory(a.memory))
        .with_context(|| format!("opening index `{}`", a.dir.display()))
}

fn create(a: &IndexCreateArgs) -> Result<ExitStatus> {
    let mut settings =
        Settings { normalize: a.normalize.to_options(), substrings: None, ..Settings::default() };
    dedup::matching(&a.matching, &mut settings)?;
    let json = index_settings(&settings).map_err(|e| match e {
        SettingsRefused::Invalid(e) => anyhow::Error::from(e),
        e => anyhow::Error::from(e).context("these settings cannot make an index"),
    })?;
    let index = Index::create(&a.dir, json, &OpenOptions::new().memory(a.memory))
        .with_context(|| format!("creating index `{}`", a.dir.display()))?;
    let printer = Printer::new(false, false);
    printer.line(&format!(
        "neardup: created index `{}` (settings fingerprint {})",
        a.dir.display(),
        index.fingerprint()
    ))?;
    Ok(ExitStatus::Success)
}

fn stats(a: &IndexStatsArgs) -> Result<ExitStatus> {
    let index = open(&a.index)?;
    let s = index.stats()?;
    let mut out = std::io::stdout().lock();
    if a.json {
        let mut v = serde_json::Map::new();
        v.insert("type".into(), "index_stats".into());
        v.insert("schema".into(), crate::printer::JSON_SCHEMA.into());
        if let serde_json::Value::Object(fields) = serde_json::to_value(&s)? {
            v.extend(fields);
        }
        serde_json::to_writer(&mut out, &v)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "records      {} ({} kept, {} near duplicates kept for their exact copies)",
            s.records, s.kept, s.aliases
        )?;
        writeln!(out, "batches      {}", s.batches)?;
        let per = s.bytes_on_disk.checked_div(s.records).unwrap_or(0);
        writeln!(out, "on disk      {} ({per} bytes per record)", bytes(s.bytes_on_disk))?;
        writeln!(out, "format       {}", s.format_version)?;
        writeln!(out, "fingerprint  {}", s.fingerprint)?;
        writeln!(out, "settings     {}", s.settings)?;
    }
    out.flush()?;
    Ok(ExitStatus::Success)
}

fn verify(a: &IndexDirArgs) -> Result<ExitStatus> {
    let index = open(a)?;
    let report = index.verify()?;
    let printer = Printer::new(false, false);
    if report.is_sound() {
        printer.line(&format!(
            "neardup: index `{}` is sound: {} records in {} batches checked",
            a.dir.display(),
            report.records,
            report.batches
        ))?;
        return Ok(ExitStatus::Success);
    }
    let mut text = format!(
        "neardup: index `{}` is damaged: {} problems",
        a.dir.display(),
        report.problems_total
    );
    for p in &report.problems {
        text.push_str("\n  ");
        text.push_str(p);
    }
    if report.problems_total > report.problems.len() as u64 {
        text.push_str(&format!(
            "\n  … and {} more",
            report.problems_total - report.problems.len() as u64
        ));
    }
    text.push_str("\n(rebuild the index from its batches)");
    printer.line(&text)?;
    Ok(ExitStatus::Error)
}

fn export(a: &IndexExportArgs) -> Result<ExitStatus> {
    let index = open(&a.index)?;
    if a.output.as_os_str() == "-" {
        let mut out = BufWriter::new(std::io::stdout().lock());
        index.export(&mut out)?;
    } else {
        let mut file = AtomicFile::create(&a.output)?;
        index.export(&mut file)?;
        file.commit()?;
    }
    Ok(ExitStatus::Success)
}

/// Opens the index of `dedup --index DIR`, giving its engine a quarter of
/// the run's `--memory` (the rest stays with the run's stages).
pub(crate) fn open_for_run(dir: &Path, cfg: &mut Config) -> Result<Index> {
    let share = cfg.resources.memory / 4;
    cfg.resources.memory -= share;
    Index::open(dir, &OpenOptions::new().memory(share as u64))
        .with_context(|| format!("opening index `{}`", dir.display()))
}

/// The index's settings with the setting flags `given` on the command line
/// applied: refused, with the reason, if an index cannot honour them, and
/// an error naming both values if they differ from the index's.
pub(crate) fn settings_for(index: &Index, given: &[(String, Vec<String>)]) -> Result<Settings> {
    let mut s = settings_of(index)?;
    for (name, values) in given {
        for v in values {
            match s.set(name, v) {
                Ok(()) => {}
                // Not a setting (inputs, outputs, resources).
                Err(neardup_core::SettingError::Unknown { .. }) => break,
                Err(e) => return Err(e.into()),
            }
        }
    }
    neardup_core::decide::incremental_settings(&s).with_context(|| {
        format!("`--index {}` cannot honour these settings", index.path().display())
    })?;
    index.check_settings(&settings_json(&s))?;
    s.validate()?;
    Ok(s)
}

/// Hash of the batch's inputs, in order: each one's name and bytes.
pub(crate) fn batch_key(sources: &[Source]) -> Result<[u8; 16]> {
    let mut h = Xxh3::new();
    h.update(b"neardup batch");
    let mut buf = vec![0u8; 1 << 20];
    for s in sources {
        h.update(&(s.name.len() as u64).to_le_bytes());
        h.update(s.name.as_bytes());
        let mut f = fs_err::File::open(&s.path)?;
        let mut n = 0u64;
        loop {
            let k = f.read(&mut buf)?;
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            n += k as u64;
        }
        h.update(&n.to_le_bytes());
    }
    Ok(h.digest128().to_le_bytes())
}

/// What a run against an index did to it.
#[derive(serde::Serialize)]
struct Added {
    index: String,
    /// The batch's number in the index.
    batch: u64,
    /// Records it added (kept records and aliases).
    added: u64,
    /// Records in the index after it.
    records: u64,
    /// The batch was in the index already: nothing added.
    already: bool,
}

/// `dedup --index`: the run against an index, and what it added.
pub(crate) struct IndexRun<'a> {
    index: &'a Index,
    key: [u8; 16],
    added: std::sync::Mutex<Option<Added>>,
}

impl<'a> IndexRun<'a> {
    pub(crate) fn new(index: &'a Index, key: [u8; 16]) -> IndexRun<'a> {
        IndexRun { index, key, added: std::sync::Mutex::new(None) }
    }

    /// Runs the batch against the index (see the module docs) and adds it.
    pub(crate) fn run<'s>(
        &self,
        sources: &'s [Source],
        cfg: &Config,
        outputs: Outputs,
        ledger: Option<&Path>,
        extra: Vec<Box<dyn Sink + 's>>,
        progress: &dyn Progress,
    ) -> Result<Summary> {
        let ix = self.index;
        let name = ix.path().display().to_string();
        if let Some(info) = ix.committed_batch(self.key)? {
            let history = IndexHistory::new(ix.view_at(info.first_seq)?);
            let summary = neardup_core::run_against(
                sources,
                cfg,
                outputs,
                ledger,
                extra,
                &history,
                &mut |_| Ok(()),
                progress,
            )?;
            *self.lock() = Some(Added {
                index: name,
                batch: info.number,
                added: info.count,
                records: ix.records(),
                already: true,
            });
            return Ok(summary);
        }
        let writer = ix.writer()?;
        let history = IndexHistory::new(writer.view());
        let mut after = |d: &Decisions| -> neardup_core::Result<()> {
            let r = add_decisions(&writer, self.key, d)
                .map_err(|e| neardup_core::Error::History(Box::new(e)))?;
            *self.lock() = Some(Added {
                index: name.clone(),
                batch: r.batch.number,
                added: r.batch.count,
                records: r.records,
                already: false,
            });
            Ok(())
        };
        let summary = neardup_core::run_against(
            sources, cfg, outputs, ledger, extra, &history, &mut after, progress,
        )?;
        Ok(summary)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Added>> {
        self.added.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Says what the run added: a line on stderr, or with `--json` a
    /// `{"type": "index"}` line before the summary.
    pub(crate) fn print(&self, printer: &Printer) -> Result<()> {
        let added = self.lock();
        let Some(a) = added.as_ref() else {
            bail!("internal error: the run against the index did not say what it added");
        };
        printer.json_line("index", a)?;
        if a.already {
            printer.human_line(&format!(
                "neardup: index `{}`: this batch is in it already (batch {}, {} records); \
                 outputs written again, nothing added",
                a.index, a.batch, a.added
            ))?;
        } else {
            printer.human_line(&format!(
                "neardup: index `{}`: added batch {} ({} records); {} records in all",
                a.index, a.batch, a.added, a.records
            ))?;
        }
        Ok(())
    }
}
