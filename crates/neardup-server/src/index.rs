//! [`IndexBackend`]: the service over a persistent index. A thin mapping:
//! `neardup_index::Checker` decides (against a view of whole batches for a
//! check; under the index's one writer, from deciding to the atomic add,
//! for an add), and this module only changes the answer's types.

use std::path::Path;

use neardup_core::Resources;
use neardup_index::{CheckOutcome, CheckStatus, Checker, Index, OpenOptions};

use crate::backend::{Backend, BackendError, Outcome, Prepared, Rec, Status};

/// Memory budget of one request's decisions (its records' analyses and
/// LSH buckets spill to disk past it). Requests are at most `--max-body`
/// (16 MiB by default), so this is rarely touched.
const REQUEST_MEMORY: usize = 64 << 20;

/// The service's backend over an index directory.
pub struct IndexBackend {
    index: Index,
    checker: Checker,
}

impl IndexBackend {
    /// Opens the index in `dir` (recovering from a crash if one left a
    /// batch unfinished), with `memory` bytes for the storage engine's
    /// caches and buffers.
    ///
    /// # Errors
    /// The index cannot be opened, or its settings cannot be served.
    pub fn open(dir: &Path, memory: u64) -> Result<IndexBackend, neardup_index::Error> {
        let index = Index::open(dir, &OpenOptions::new().memory(memory))?;
        IndexBackend::new(index)
    }

    /// The backend over an open index.
    ///
    /// # Errors
    /// The index's settings cannot be served (see [`Checker::new`]).
    pub fn new(index: Index) -> Result<IndexBackend, neardup_index::Error> {
        // A request's scratch files go where every run's do, not into the
        // index's directory.
        let resources = Resources { memory: REQUEST_MEMORY, ..Resources::default() };
        let checker = Checker::new(&index, resources)?;
        Ok(IndexBackend { index, checker })
    }

    /// The index.
    pub fn index(&self) -> &Index {
        &self.index
    }

    fn run(&self, records: &[Rec], add: bool) -> Result<Vec<Outcome>, BackendError> {
        self.decide(vec![self.analyse(records)], add)
    }

    fn analyse(&self, records: &[Rec]) -> neardup_index::Prepared {
        let pairs: Vec<(&str, &str)> =
            records.iter().map(|r| (r.id.as_str(), r.text.as_str())).collect();
        self.checker.prepare(&pairs)
    }

    fn decide(
        &self,
        parts: Vec<neardup_index::Prepared>,
        add: bool,
    ) -> Result<Vec<Outcome>, BackendError> {
        let outcomes = self
            .checker
            .check_prepared(&self.index, parts, add)
            .map_err(|e| BackendError::Internal(Box::new(e)))?;
        Ok(outcomes.into_iter().map(outcome).collect())
    }
}

fn outcome(o: CheckOutcome) -> Outcome {
    Outcome {
        status: match o.status {
            CheckStatus::New => Status::New,
            CheckStatus::Duplicate => Status::Duplicate,
        },
        reason: o.reason,
        duplicate_of: o.duplicate_of,
        // The index keeps similarity as f32; its shortest decimal form
        // (0.93, not 0.9300000071525574) is what it means.
        similarity: o.similarity.map(|s| s.to_string().parse().unwrap_or(f64::from(s))),
        added: o.added,
    }
}

impl Backend for IndexBackend {
    fn check(&self, records: &[Rec]) -> Result<Vec<Outcome>, BackendError> {
        self.run(records, false)
    }

    fn add(&self, records: &[Rec]) -> Result<Vec<Outcome>, BackendError> {
        self.run(records, true)
    }

    fn prepare(&self, records: &[Rec]) -> Prepared {
        Prepared(Some(self.analyse(records)))
    }

    fn add_prepared(
        &self,
        records: &[Rec],
        parts: Vec<Prepared>,
    ) -> Result<Vec<Outcome>, BackendError> {
        let parts: Option<Vec<neardup_index::Prepared>> = parts.into_iter().map(|p| p.0).collect();
        match parts {
            Some(p)
                if p.iter().map(neardup_index::Prepared::len).sum::<usize>() == records.len() =>
            {
                self.decide(p, true)
            }
            Some(_) => Err(BackendError::Internal(
                "prepared parts do not hold the records of the add".into(),
            )),
            // A part not prepared (the service's budget for prepared adds
            // was spent): all are analysed now, holding the writer.
            None => self.run(records, true),
        }
    }

    fn stats(&self) -> Result<serde_json::Value, BackendError> {
        let stats = self.index.stats().map_err(|e| BackendError::Internal(Box::new(e)))?;
        serde_json::to_value(stats).map_err(|e| BackendError::Internal(Box::new(e)))
    }

    fn flush(&self) -> Result<(), BackendError> {
        // Each add is durable when it returns (the index syncs its commit),
        // so there is nothing left to write.
        Ok(())
    }
}
