//! The `neardup` binary: parses flags, runs a subcommand, maps the result
//! to an exit code. No logic of its own lives here: every decision is made
//! by the libraries (`neardup-core`, `neardup-io`, `neardup-text`).
//!
//! Exit codes: 0 finished with every record accounted for; 2 could not do
//! the job (the cause chain is printed). A closed pipe on stdout ends the
//! run quietly with 0, as `head` users expect.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

mod args;
mod commands;
mod printer;

use args::{Cli, Command};
use commands::ExitStatus;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let threads = match &cli.command {
        Command::Dedup(a) => a.io.run.threads,
        Command::Substrings(a) => a.io.run.threads,
        Command::Clusters(a) => a.dedup.io.run.threads,
        Command::Normalize(_) | Command::Explain(_) | Command::Report(_) => None,
    };
    if let Some(n) = threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global() {
            report(&anyhow::Error::new(e).context("starting worker threads"));
            return ExitStatus::Error.into();
        }
    }
    let result = match cli.command {
        Command::Dedup(a) => commands::dedup::run(*a),
        Command::Substrings(a) => commands::substrings::run(*a),
        Command::Clusters(a) => commands::clusters::run(*a),
        Command::Explain(a) => commands::explain::run(*a),
        Command::Normalize(a) => commands::normalize::run(a),
        Command::Report(a) => commands::report::run(*a),
    };
    match result {
        Ok(status) => status.into(),
        Err(e) if is_broken_pipe(&e) => ExitStatus::Success.into(),
        Err(e) => {
            report(&e);
            ExitStatus::Error.into()
        }
    }
}

fn report(e: &anyhow::Error) {
    let mut err = io::stderr().lock();
    let _ = write!(err, "neardup: error: {e}");
    for cause in e.chain().skip(1) {
        let _ = write!(err, "\n  caused by: {cause}");
    }
    if let Some(hint) = hint(e) {
        let _ = write!(err, "\n({hint})");
    }
    let _ = writeln!(err);
}

/// What the user can do about an error, in the CLI's words.
fn hint(e: &anyhow::Error) -> Option<&'static str> {
    e.chain().find_map(|c| match c.downcast_ref::<neardup_core::Error>()? {
        neardup_core::Error::BadRecord(_) => {
            Some("use `--on-error skip` to reject bad records and go on")
        }
        _ => None,
    })
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
