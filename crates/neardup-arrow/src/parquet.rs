//! A deduplication run over Parquet files: the CLI's `dedup` on `.parquet`
//! inputs.
//!
//! Pass 1 reads only the text and id columns, row group by row group
//! (Parquet is columnar: the other columns are not even decoded), and
//! analyses each batch in parallel. Pass 2 reads every column again and
//! writes the kept and modified rows, every other column untouched and the
//! schema (with its metadata) unchanged, compressed as the input's text
//! column was (zstd when the input says nothing). Outputs and the ledger go
//! to temp files, renamed into place only when the run succeeds and the
//! ledger balances.

use std::fs::File;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use neardup_core::ledger::Header;
use neardup_core::sink::{Emitted, LedgerSink, Sink};
use neardup_core::{Analyzer, Config, Deduper, OnError, Progress, Summary};
use neardup_io::{AtomicFile, Source, Target};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::engine::{Reader, Writer};
use crate::error::{Error, Result};
use crate::ledger::{parquet_error, ParquetLedgerSink};

/// Rows per batch read.
const BATCH_ROWS: usize = 8192;

/// Whether `path` names a Parquet file (`.parquet`, `.parq`, `.pq`).
pub fn is_parquet_name(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    matches!(ext.as_str(), "parquet" | "parq" | "pq")
}

/// An opened input: its reader builder's schema and compression.
fn open(src: &Source) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let file = fs_err::File::open(&src.path)?.into_parts().0;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| Error::Parquet {
        path: src.name.clone(),
        message: format!("not a readable Parquet file ({e})"),
    })
}

/// The reader of `src`'s columns `names` (all when `None`).
fn reader(src: &Source, names: Option<&[&str]>) -> Result<(ParquetRecordBatchReader, SchemaRef)> {
    let b = open(src)?;
    let schema = b.schema().clone();
    let b = match names {
        Some(names) => {
            let roots: Vec<usize> = names.iter().filter_map(|n| schema.index_of(n).ok()).collect();
            let mask = ProjectionMask::roots(b.parquet_schema(), roots);
            b.with_projection(mask)
        }
        None => b,
    };
    let r = b.with_batch_size(BATCH_ROWS).build().map_err(|e| parquet_error(&src.name, e))?;
    Ok((r, schema))
}

fn next_batch(r: &mut ParquetRecordBatchReader, src: &Source) -> Result<Option<RecordBatch>> {
    r.next().transpose().map_err(|e| Error::Parquet {
        path: src.name.clone(),
        message: format!("corrupt or truncated ({e})"),
    })
}

/// The compression of `src`'s column `text` (or its first), zstd if none.
fn compression_of(src: &Source, text: &str) -> Result<Compression> {
    let b = open(src)?;
    let md = b.metadata();
    let Some(rg) = md.row_groups().first() else {
        return Ok(Compression::ZSTD(ZstdLevel::default()));
    };
    let col =
        rg.columns().iter().find(|c| c.column_path().parts().first().is_some_and(|p| p == text));
    Ok(col
        .or(rg.columns().first())
        .map_or(Compression::ZSTD(ZstdLevel::default()), |c| c.compression()))
}

/// Where the kept rows go.
enum Out {
    Discard,
    /// One writer for every source (a file, or standard output).
    One(Option<Box<OneWriter>>),
    /// A file per source, mirrored under a directory.
    Dir(std::path::PathBuf, Vec<Option<ArrowWriter<AtomicFile>>>),
}

enum OneWriter {
    File(ArrowWriter<AtomicFile>, String),
    Stdout(ArrowWriter<std::io::Stdout>),
}

/// Runs `cfg` over the Parquet `sources`, writing kept rows to `target` and
/// the ledger (JSONL, or Parquet when named `.parquet`) to `ledger`.
///
/// # Errors
/// Unreadable, truncated or corrupt files, a bad row with `on_error` fail,
/// outputs that cannot be written, sources of different schemas into one
/// output file.
pub fn run(
    sources: &[Source],
    cfg: &Config,
    target: &Target,
    ledger: Option<&Path>,
    progress: &dyn Progress,
) -> Result<Summary> {
    let started = Instant::now();
    let fields = &cfg.input.fields;
    if let Target::Stdout = target {
        if std::io::stdout().is_terminal() {
            return Err(Error::Usage(
                "Parquet output is binary: give `-o` a file (`-o out.parquet`) or a directory"
                    .to_string(),
            ));
        }
    }
    let mut clash = neardup_io::Clash::new();
    clash.target("-o", target, sources).inputs(sources);
    if let Some(l) = ledger {
        clash.write("--ledger", l);
    }
    clash.check()?;
    let analyzer = Analyzer::new(&cfg.settings, cfg.stats)?;
    let names: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
    let deduper = Deduper::new(&analyzer, &cfg.resources, OnError::Skip, names.clone())?;
    let mut summary = Summary::default();

    // Pass 1: text and id columns only.
    progress.phase("analyse", None);
    let mut pass1 = Reader::new(&analyzer, deduper, fields, cfg.input.on_error, names);
    let wanted = [fields.text.as_str(), fields.id.as_str()];
    for (s, src) in sources.iter().enumerate() {
        let (mut r, _) = reader(src, Some(&wanted))?;
        let mut row = 0u64;
        while let Some(batch) = next_batch(&mut r, src)? {
            let before = pass1.bytes_in();
            pass1.push(s as u32, &batch, row)?;
            row += batch.num_rows() as u64;
            progress.advance(batch.num_rows() as u64, pass1.bytes_in() - before);
        }
    }
    progress.finish();
    summary.bytes_in = pass1.bytes_in();
    let decisions = pass1.finish().decide(false, progress)?;
    summary.near = decisions.near.clone();
    summary.substrings = decisions.substrings.clone();

    // Sinks: the ledger.
    let header = Header {
        neardup_ledger: neardup_core::ledger::LEDGER_VERSION,
        version: env!("CARGO_PKG_VERSION").to_string(),
        fingerprint: cfg.settings.fingerprint(),
        settings: cfg.header_settings(),
    };
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if let Some(path) = ledger {
        let file = AtomicFile::create(path)?;
        summary.warnings.extend(stale(file.stale_removed()));
        if is_parquet_name(path) {
            sinks.push(Box::new(ParquetLedgerSink::new(
                file,
                &path.display().to_string(),
                &header,
            )?));
        } else {
            sinks.push(Box::new(LedgerSink::new(file, &header)?));
        }
    }

    // Pass 2: every column.
    progress.phase("write", None);
    let mut out = match target {
        Target::Discard => Out::Discard,
        Target::File(_) | Target::Stdout => Out::One(None),
        Target::Dir(d) => Out::Dir(d.clone(), sources.iter().map(|_| None).collect()),
    };
    let mut first_schema: Option<(SchemaRef, String)> = None;
    let mut writer = Writer::new(&decisions, fields);
    for (s, src) in sources.iter().enumerate() {
        let (mut r, schema) = reader(src, None)?;
        let props = || -> Result<WriterProperties> {
            Ok(WriterProperties::builder()
                .set_compression(compression_of(src, &fields.text)?)
                .build())
        };
        match &mut out {
            Out::Discard => {}
            Out::One(w) => match &first_schema {
                None => {
                    first_schema = Some((schema.clone(), src.name.clone()));
                    *w = Some(Box::new(match target {
                        Target::File(p) => {
                            let file = AtomicFile::create(p)?;
                            summary.warnings.extend(stale(file.stale_removed()));
                            let name = p.display().to_string();
                            let aw = ArrowWriter::try_new(file, schema.clone(), Some(props()?))
                                .map_err(|e| parquet_error(&name, e))?;
                            OneWriter::File(aw, name)
                        }
                        _ => OneWriter::Stdout(
                            ArrowWriter::try_new(std::io::stdout(), schema.clone(), Some(props()?))
                                .map_err(|e| parquet_error("<stdout>", e))?,
                        ),
                    }));
                }
                Some((first, name)) => {
                    if first.fields() != schema.fields() {
                        return Err(Error::Usage(format!(
                            "`{}` has other columns than `{name}`; one output file holds one schema: give `-o` a directory",
                            src.name
                        )));
                    }
                }
            },
            Out::Dir(dir, ws) => {
                let path = dir.join(&src.rel);
                let file = AtomicFile::create(&path)?;
                summary.warnings.extend(stale(file.stale_removed()));
                ws[s] = Some(
                    ArrowWriter::try_new(file, schema.clone(), Some(props()?))
                        .map_err(|e| parquet_error(&path.display().to_string(), e))?,
                );
            }
        }
        while let Some(batch) = next_batch(&mut r, src)? {
            let kept = writer.batch(&batch, &mut summary, |k, entry| {
                let e = Emitted {
                    index: k as u64,
                    entry,
                    source: s as u32,
                    written: None,
                    text: None,
                    ledger_line: None,
                };
                for sink in &mut sinks {
                    sink.record(&e)?;
                }
                Ok(())
            })?;
            progress.advance(batch.num_rows() as u64, 0);
            if kept.num_rows() == 0 {
                continue;
            }
            let res = match &mut out {
                Out::Discard => Ok(()),
                Out::One(Some(one)) => match one.as_mut() {
                    OneWriter::File(w, _) => w.write(&kept),
                    OneWriter::Stdout(w) => w.write(&kept),
                },
                Out::One(None) => Ok(()),
                Out::Dir(_, ws) => ws[s].as_mut().map_or(Ok(()), |w| w.write(&kept)),
            };
            res.map_err(|e| parquet_error(&src.name, e))?;
        }
    }
    writer.finish()?;
    progress.finish();
    summary.check_balance()?;

    // Everything balanced: make it final.
    match out {
        Out::Discard | Out::One(None) => {}
        Out::One(Some(one)) => match *one {
            OneWriter::File(w, name) => {
                w.into_inner().map_err(|e| parquet_error(&name, e))?.commit()?;
            }
            OneWriter::Stdout(w) => {
                let mut o = w.into_inner().map_err(|e| parquet_error("<stdout>", e))?;
                std::io::Write::flush(&mut o)?;
            }
        },
        Out::Dir(dir, ws) => {
            for w in ws.into_iter().flatten() {
                w.into_inner()
                    .map_err(|e| parquet_error(&dir.display().to_string(), e))?
                    .commit()?;
            }
        }
    }
    for s in sinks {
        s.commit(&mut summary)?;
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

fn stale(paths: &[std::path::PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| format!("removed `{}`, a temp file left by a run that was killed", p.display()))
        .collect()
}
