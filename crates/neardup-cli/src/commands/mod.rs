//! One module per subcommand; each returns an [`ExitStatus`].

pub(crate) mod clusters;
pub(crate) mod dedup;
pub(crate) mod explain;
pub(crate) mod index;
pub(crate) mod normalize;
pub(crate) mod report;
pub(crate) mod serve;
pub(crate) mod substrings;

/// How `neardup` exits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// Finished; every record accounted for.
    Success,
    /// Could not do the job.
    Error,
}

impl ExitStatus {
    /// The process exit code.
    pub(crate) fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Error => 2,
        }
    }
}
