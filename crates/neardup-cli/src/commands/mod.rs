//! One module per subcommand; each returns an [`ExitStatus`].

pub(crate) mod clusters;
pub(crate) mod dedup;
pub(crate) mod explain;
pub(crate) mod normalize;
pub(crate) mod report;
pub(crate) mod substrings;

/// How `neardup` exits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// Finished; every record accounted for.
    Success,
    /// Could not do the job.
    Error,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> std::process::ExitCode {
        match s {
            ExitStatus::Success => std::process::ExitCode::from(0),
            ExitStatus::Error => std::process::ExitCode::from(2),
        }
    }
}
