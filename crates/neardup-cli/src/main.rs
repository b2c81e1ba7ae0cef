//! The `neardup` binary: all of it is [`neardup_cli::run`].

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(neardup_cli::run(std::env::args_os()))
}
