//! `neardup substrings`: repeated-substring removal alone (no exact, near or
//! in-record stages: repeats inside a record are repeated substrings too).

use anyhow::Result;

use crate::args::SubstringsArgs;
use crate::commands::{dedup, ExitStatus};

pub(crate) fn run(args: SubstringsArgs) -> Result<ExitStatus> {
    let (mut cfg, sources) = dedup::prepare_io(&args.io)?;
    cfg.settings.exact = false;
    cfg.settings.near = None;
    cfg.settings.min_repeat = None;
    // Gopher statistics judge whole records, which is `dedup`'s job; they
    // would cost this one time for a ledger column nobody asked for.
    cfg.stats = false;
    cfg.settings.substrings = Some(args.substring.to_settings());
    dedup::execute(&args.io, &cfg, &sources)
}
