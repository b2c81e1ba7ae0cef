//! The `neardup` command line as a library: [`run`] parses flags, runs a
//! subcommand and returns the exit code. The `neardup` binary calls it, and
//! so does the Python package's `neardup` command (the same program). No
//! logic of its own lives here: every decision is made by the libraries
//! (`neardup-core`, `neardup-io`, `neardup-text`, `neardup-arrow`).
//!
//! Exit codes: 0 finished with every record accounted for; 2 could not do
//! the job (the cause chain is printed). A closed pipe on stdout ends the
//! run quietly with 0, as `head` users expect.

use std::ffi::OsString;
use std::io::{self, Write};

use clap::{CommandFactory, FromArgMatches};

mod args;
mod commands;
mod printer;

use args::{Cli, Command};
use commands::ExitStatus;

/// Runs `neardup` with `args` (the program name first, as in
/// [`std::env::args_os`]); returns the exit code: 0 done, 2 could not do
/// the job (clap's own codes for bad flags, `--help` and `--version`).
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let parsed = Cli::command()
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let cli = match parsed {
        Ok((mut cli, matches)) => {
            if let (Command::Dedup(a), Some(m)) =
                (&mut cli.command, matches.subcommand_matches("dedup"))
            {
                a.given = given_flags(m);
            }
            cli
        }
        Err(e) => {
            let _ = e.print();
            return u8::try_from(e.exit_code()).unwrap_or(2);
        }
    };
    let threads = match &cli.command {
        Command::Dedup(a) => a.io.run.threads,
        Command::Substrings(a) => a.io.run.threads,
        Command::Clusters(a) => a.dedup.io.run.threads,
        Command::Normalize(_)
        | Command::Explain(_)
        | Command::Report(_)
        | Command::Index(_)
        | Command::Serve(_) => None,
    };
    if let Some(n) = threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global() {
            report(&anyhow::Error::new(e).context("starting worker threads"));
            return ExitStatus::Error.code();
        }
    }
    let result = match cli.command {
        Command::Dedup(a) => commands::dedup::run(*a),
        Command::Substrings(a) => commands::substrings::run(*a),
        Command::Clusters(a) => commands::clusters::run(*a),
        Command::Explain(a) => commands::explain::run(*a),
        Command::Normalize(a) => commands::normalize::run(a),
        Command::Report(a) => commands::report::run(*a),
        Command::Serve(a) => commands::serve::run(*a),
        Command::Index(c) => commands::index::run(c),
    };
    match result {
        Ok(status) => status.code(),
        Err(e) if is_broken_pipe(&e) => ExitStatus::Success.code(),
        Err(e) => {
            report(&e);
            ExitStatus::Error.code()
        }
    }
}

/// The arguments given on the command line (not defaulted), with their
/// values as typed: which settings a user asked for.
fn given_flags(m: &clap::ArgMatches) -> Vec<(String, Vec<String>)> {
    m.ids()
        .filter(|id| m.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine))
        .filter_map(|id| {
            let raw = m.try_get_raw(id.as_str()).ok()??;
            Some((id.to_string(), raw.map(|v| v.to_string_lossy().into_owned()).collect()))
        })
        .collect()
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
    const SKIP: &str = "use `--on-error skip` to reject bad records and go on";
    e.chain().find_map(|c| {
        if let Some(neardup_arrow::Error::BadRow { .. }) = c.downcast_ref::<neardup_arrow::Error>()
        {
            return Some(SKIP);
        }
        if let Some(neardup_index::Error::Settings { .. }) = c.downcast_ref::<neardup_index::Error>()
        {
            return Some(
                "a setting flag not given takes the index's value: give the index's value or leave the flag out",
            );
        }
        match c.downcast_ref::<neardup_core::Error>()? {
            neardup_core::Error::BadRecord(_) => Some(SKIP),
            _ => None,
        }
    })
}

/// Whether the error is a write to a closed pipe (`neardup … | head`):
/// the reader has what it wanted, as with any Unix filter.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().filter_map(io_error).any(|io| io.kind() == io::ErrorKind::BrokenPipe)
}

/// The I/O error `e` is, or wraps transparently (a transparent variant
/// hides it from [`anyhow::Error::chain`]).
fn io_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let from_io = |e: &'a neardup_io::Error| match e {
        neardup_io::Error::Io(io) => Some(io),
        _ => None,
    };
    let from_core = |e: &'a neardup_core::Error| match e {
        neardup_core::Error::Io(e) => from_io(e),
        _ => None,
    };
    if let Some(io) = e.downcast_ref::<io::Error>() {
        Some(io)
    } else if let Some(e) = e.downcast_ref::<neardup_io::Error>() {
        from_io(e)
    } else if let Some(e) = e.downcast_ref::<neardup_core::Error>() {
        from_core(e)
    } else if let Some(neardup_arrow::Error::Core(e)) = e.downcast_ref::<neardup_arrow::Error>() {
        from_core(e)
    } else {
        None
    }
}
