//! Progress reports from long work, for a face to draw.

/// Receives progress; the CLI draws a bar, tests and pipes ignore it.
pub trait Progress: Sync {
    /// A phase begins; `total_bytes` when known.
    fn phase(&self, _name: &'static str, _total_bytes: Option<u64>) {}
    /// More records and bytes are done.
    fn advance(&self, _records: u64, _bytes: u64) {}
    /// The phase ended.
    fn finish(&self) {}
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {}
