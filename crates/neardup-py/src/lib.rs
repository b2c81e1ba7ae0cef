//! The `neardup` Python package's native module, `neardup._native`: thin
//! wrappers that turn Python values into the library's types, run the
//! library with the GIL released, and turn its results and errors back.
//! The Python API, its types and docs are in `python/neardup/`.
//!
//! Settings arrive as `(name, value)` text pairs, the CLI's long option
//! names: [`neardup_core::Settings::set`] parses and validates them, so a
//! bad value gets the CLI's message (as `ValueError`).

use std::path::PathBuf;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchIterator, RecordBatchReader};
use arrow::datatypes::SchemaRef;
use arrow::ffi_stream::RecordBatchStreamReader;
use arrow::pyarrow::PyArrowType;
use neardup_arrow::stages::{self, Stages};
use neardup_core::{NoProgress, OnError, Resources, Settings};
use neardup_io::Fields;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;

create_exception!(
    _native,
    NeardupError,
    PyException,
    "A record, file or run neardup could not handle: the message names the row and the problem."
);

/// Settings from the CLI's option names and their values as text; `no-near`
/// is applied last so that near settings given with it do not conflict.
fn settings(pairs: Vec<(String, String)>) -> PyResult<Settings> {
    let mut s = Settings::default();
    let (last, first): (Vec<_>, Vec<_>) =
        pairs.into_iter().partition(|(k, _)| k.replace('_', "-") == "no-near");
    for (k, v) in first.into_iter().chain(last) {
        s.set(&k, &v).map_err(|e| PyValueError::new_err(e.to_string()))?;
    }
    s.validate().map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(s)
}

fn settings_from_json(json: &str) -> PyResult<Settings> {
    serde_json::from_str(json).map_err(|e| PyValueError::new_err(format!("settings: {e}")))
}

/// A library error as a Python exception: bad settings are `ValueError`,
/// everything else `NeardupError`.
fn py_err(e: neardup_arrow::Error) -> PyErr {
    match e {
        neardup_arrow::Error::Core(neardup_core::Error::Settings(s)) => {
            PyValueError::new_err(s.to_string())
        }
        neardup_arrow::Error::Usage(m) => PyValueError::new_err(m),
        e => NeardupError::new_err(e.to_string()),
    }
}

/// A `memory=` argument (`"2G"`, as the CLI's `--memory`) in bytes.
fn memory_arg(m: &str) -> PyResult<u64> {
    neardup_core::settings::parse::size(m)
        .map_err(|e| PyValueError::new_err(format!("`memory={m}`: {e}")))
}

fn core_err(e: neardup_core::Error) -> PyErr {
    py_err(neardup_arrow::Error::Core(e))
}

/// Runs `f` in a pool of `threads` threads (the global pool if `None`).
fn with_threads<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> PyResult<T> {
    match threads {
        None => Ok(f()),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build()
                .map_err(|e| NeardupError::new_err(format!("starting worker threads: {e}")))?;
            Ok(pool.install(f))
        }
    }
}

type Reader = Box<dyn RecordBatchReader + Send>;

fn reader(schema: SchemaRef, batches: Vec<RecordBatch>) -> PyArrowType<Reader> {
    PyArrowType(Box::new(RecordBatchIterator::new(batches.into_iter().map(Ok), schema)))
}

/// Validated settings as JSON, and their fingerprint.
#[pyfunction]
fn settings_json(pairs: Vec<(String, String)>) -> PyResult<(String, String)> {
    let s = settings(pairs)?;
    Ok((s.to_json().to_string(), s.fingerprint()))
}

/// Deduplicates a stream of record batches; returns (kept, ledger, summary
/// JSON, fingerprint).
#[pyfunction]
#[pyo3(signature = (data, text, id, pairs, threads=None, memory=None, tmp_dir=None, on_error="fail"))]
#[allow(clippy::too_many_arguments)]
fn dedup(
    py: Python<'_>,
    data: PyArrowType<RecordBatchStreamReader>,
    text: String,
    id: String,
    pairs: Vec<(String, String)>,
    threads: Option<usize>,
    memory: Option<String>,
    tmp_dir: Option<PathBuf>,
    on_error: &str,
) -> PyResult<(PyArrowType<Reader>, PyArrowType<Reader>, String, String)> {
    let s = settings(pairs)?;
    let on_error: OnError = on_error
        .parse()
        .map_err(|e: String| PyValueError::new_err(format!("`on_error={on_error}`: {e}")))?;
    let mut res = Resources::default();
    if let Some(m) = memory {
        res.memory = usize::try_from(memory_arg(&m)?).unwrap_or(usize::MAX);
    }
    if let Some(t) = tmp_dir {
        res.tmp_dir = t;
    }
    let mut stream = data.0;
    let schema = stream.schema();
    let fields = Fields { text, id };
    // The work runs without the GIL; each batch is pulled from the stream
    // with it (a Python producer needs it), so the input is read once, a
    // batch at a time, and never held whole (see `dedup_stream`).
    let mut kept = Vec::new();
    let out = py
        .detach(|| {
            with_threads(threads, || {
                neardup_arrow::memory::dedup_stream(
                    &schema,
                    || Python::attach(|_| stream.next()),
                    &s,
                    &fields,
                    on_error,
                    &res,
                    &NoProgress,
                    |b| {
                        kept.push(b);
                        Ok(())
                    },
                )
            })
        })?
        .map_err(py_err)?;
    let summary = serde_json::to_string(&out.summary)
        .map_err(|e| NeardupError::new_err(format!("summary: {e}")))?;
    Ok((
        reader(schema, kept),
        reader(neardup_arrow::ledger::schema(false), out.ledger),
        summary,
        out.fingerprint,
    ))
}

/// The canonical form of `text`.
#[pyfunction]
fn normalize(text: &str, pairs: Vec<(String, String)>) -> PyResult<String> {
    let s = settings(pairs)?;
    Ok(neardup_text_canonical(&s, text))
}

fn neardup_text_canonical(s: &Settings, text: &str) -> String {
    let a = neardup_core::Analyzer::new(s, false);
    match a {
        Ok(a) => a.normalizer().canonical(text),
        Err(_) => String::new(),
    }
}

/// `explain` as JSON.
#[pyfunction]
#[pyo3(signature = (a, b, pairs, limit=10))]
fn explain(
    py: Python<'_>,
    a: String,
    b: String,
    pairs: Vec<(String, String)>,
    limit: usize,
) -> PyResult<String> {
    let s = settings(pairs)?;
    let e = py
        .detach(|| {
            neardup_core::explain::explain(&s, &Resources::default(), ("a", &a), ("b", &b), limit)
        })
        .map_err(core_err)?;
    serde_json::to_string(&e).map_err(|e| NeardupError::new_err(e.to_string()))
}

/// The `neardup` command line; returns its exit code.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<String>) -> u8 {
    py.detach(|| neardup_cli::run(argv))
}

/// The stages for one set of settings (from [`settings_json`]), for the
/// Spark and Ray drivers.
#[pyclass(name = "Stages", frozen)]
struct PyStages {
    inner: Stages,
}

fn column(batch: &RecordBatch, name: &str) -> PyResult<ArrayRef> {
    batch
        .column_by_name(name)
        .cloned()
        .ok_or_else(|| PyValueError::new_err(format!("no column `{name}`")))
}

fn batch_of(
    py: Python<'_>,
    f: impl FnOnce() -> neardup_arrow::Result<RecordBatch> + Send,
) -> PyResult<PyArrowType<RecordBatch>> {
    py.detach(f).map(PyArrowType).map_err(py_err)
}

#[pymethods]
impl PyStages {
    #[new]
    fn new(settings_json: &str) -> PyResult<PyStages> {
        let s = settings_from_json(settings_json)?;
        Ok(PyStages { inner: Stages::new(&s).map_err(py_err)? })
    }

    /// Analysis columns of `batch`'s column `text`, rows in input order
    /// `order`.
    fn analyse(
        &self,
        py: Python<'_>,
        batch: PyArrowType<RecordBatch>,
        text: &str,
        order: &str,
    ) -> PyResult<PyArrowType<RecordBatch>> {
        let (t, o) = (column(&batch.0, text)?, column(&batch.0, order)?);
        batch_of(py, || self.inner.analyse(&t, &o, text))
    }

    /// Similarity of the texts in columns `a` and `b`, as a one-column
    /// batch (`similarity`).
    fn similarity(
        &self,
        py: Python<'_>,
        batch: PyArrowType<RecordBatch>,
        a: &str,
        b: &str,
    ) -> PyResult<PyArrowType<RecordBatch>> {
        let (x, y) = (column(&batch.0, a)?, column(&batch.0, b)?);
        batch_of(py, || {
            let sims = self.inner.similarity(&x, &y)?;
            Ok(RecordBatch::try_from_iter([("similarity", std::sync::Arc::new(sims) as ArrayRef)])?)
        })
    }

    /// Column `text` with its in-record repeats (column `repeats`) cut, as
    /// a one-column batch named `text`.
    fn cut(
        &self,
        py: Python<'_>,
        batch: PyArrowType<RecordBatch>,
        text: &str,
        repeats: &str,
    ) -> PyResult<PyArrowType<RecordBatch>> {
        let (t, r) = (column(&batch.0, text)?, column(&batch.0, repeats)?);
        batch_of(py, || {
            let cut = self.inner.cut(&t, &r)?;
            Ok(RecordBatch::try_from_iter([("text", cut)])?)
        })
    }
}

/// Candidate pairs of each bucket (column `members`).
#[pyfunction]
#[pyo3(signature = (batch, members, cap=stages::MAX_PARTNERS))]
fn bucket_pairs(
    py: Python<'_>,
    batch: PyArrowType<RecordBatch>,
    members: &str,
    cap: usize,
) -> PyResult<PyArrowType<RecordBatch>> {
    let m = column(&batch.0, members)?;
    batch_of(py, || stages::bucket_pairs(&m, cap))
}

/// Pairs the cap left out of each bucket, against kept members.
#[pyfunction]
#[pyo3(signature = (batch, members, cap=stages::MAX_PARTNERS))]
fn missed_pairs(
    py: Python<'_>,
    batch: PyArrowType<RecordBatch>,
    members: &str,
    cap: usize,
) -> PyResult<PyArrowType<RecordBatch>> {
    let m = column(&batch.0, members)?;
    batch_of(py, || stages::missed_pairs(&m, cap))
}

/// The greedy in keep order, per component (column `edges`).
#[pyfunction]
fn greedy(
    py: Python<'_>,
    batch: PyArrowType<RecordBatch>,
    edges: &str,
) -> PyResult<PyArrowType<RecordBatch>> {
    let e = column(&batch.0, edges)?;
    batch_of(py, || stages::greedy(&e))
}

/// An index of everything kept before (`neardup index create`): records
/// are checked against it, and added, as `neardup serve` does.
#[pyclass(name = "Index", frozen)]
struct PyIndex {
    index: neardup_index::Index,
    checker: neardup_index::Checker,
}

fn index_err(e: neardup_index::Error) -> PyErr {
    NeardupError::new_err(e.to_string())
}

fn index_options(memory: Option<String>) -> PyResult<neardup_index::OpenOptions> {
    let mut opts = neardup_index::OpenOptions::new();
    if let Some(m) = memory {
        opts = opts.memory(memory_arg(&m)?);
    }
    Ok(opts)
}

impl PyIndex {
    fn over(index: neardup_index::Index) -> PyResult<PyIndex> {
        let checker =
            neardup_index::Checker::new(&index, Resources::default()).map_err(index_err)?;
        Ok(PyIndex { index, checker })
    }
}

#[pymethods]
impl PyIndex {
    /// Opens the index at `path`.
    #[new]
    #[pyo3(signature = (path, memory=None))]
    fn open(py: Python<'_>, path: PathBuf, memory: Option<String>) -> PyResult<PyIndex> {
        let opts = index_options(memory)?;
        let index = py.detach(|| neardup_index::Index::open(&path, &opts)).map_err(index_err)?;
        PyIndex::over(index)
    }

    /// Creates an index at `path` with these matching settings (as
    /// `neardup index create`).
    #[staticmethod]
    #[pyo3(signature = (path, pairs, memory=None))]
    fn create(
        py: Python<'_>,
        path: PathBuf,
        pairs: Vec<(String, String)>,
        memory: Option<String>,
    ) -> PyResult<PyIndex> {
        let s = settings(pairs)?;
        // Invalid or unhonourable settings alike are the caller's values.
        let json =
            neardup_index::index_settings(&s).map_err(|e| PyValueError::new_err(e.to_string()))?;
        let opts = index_options(memory)?;
        let index =
            py.detach(|| neardup_index::Index::create(&path, json, &opts)).map_err(index_err)?;
        PyIndex::over(index)
    }

    /// Checks `(id, text)` records against the index and earlier records
    /// of the call; with `add`, adds the new ones in one atomic batch. The
    /// results as JSON: what `POST /v1/check` and `/v1/add` answer.
    fn check(&self, py: Python<'_>, records: Vec<(String, String)>, add: bool) -> PyResult<String> {
        let out =
            py.detach(|| self.checker.check(&self.index, &records, add)).map_err(index_err)?;
        serde_json::to_string(&serde_json::json!({ "results": out }))
            .map_err(|e| NeardupError::new_err(format!("results: {e}")))
    }

    /// `neardup index stats --json`, as JSON.
    fn stats(&self, py: Python<'_>) -> PyResult<String> {
        let s = py.detach(|| self.index.stats()).map_err(index_err)?;
        serde_json::to_string(&s).map_err(|e| NeardupError::new_err(format!("stats: {e}")))
    }

    /// Records in the index (kept records and aliases).
    fn records(&self) -> u64 {
        self.index.records()
    }
}

/// The per-bucket partner cap.
#[pyfunction]
fn max_partners() -> usize {
    stages::MAX_PARTNERS
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("NeardupError", m.py().get_type::<NeardupError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<PyStages>()?;
    m.add_class::<PyIndex>()?;
    m.add_function(wrap_pyfunction!(settings_json, m)?)?;
    m.add_function(wrap_pyfunction!(dedup, m)?)?;
    m.add_function(wrap_pyfunction!(normalize, m)?)?;
    m.add_function(wrap_pyfunction!(explain, m)?)?;
    m.add_function(wrap_pyfunction!(cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(bucket_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(missed_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(greedy, m)?)?;
    m.add_function(wrap_pyfunction!(max_partners, m)?)?;
    Ok(())
}
