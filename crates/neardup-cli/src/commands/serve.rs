//! `neardup serve`: flags to a `neardup_server` service over an index.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, Result};
use neardup_server::{Auth, Config, IndexBackend, Listener, Token};

use crate::args::ServeArgs;
use crate::commands::ExitStatus;

pub(crate) fn run(args: ServeArgs) -> Result<ExitStatus> {
    let auth = match &args.token_file {
        Some(path) => Auth::Token(Token::from_file(path)?),
        None => Auth::InsecureNoAuth,
    };
    let listener = Listener::bind(&args.listen, &auth)?;
    let backend = IndexBackend::open(&args.index, args.memory)
        .with_context(|| format!("opening the index `{}`", args.index.display()))?;
    let records = backend.index().records();
    let config = Config {
        auth,
        max_body: usize::try_from(args.max_body).unwrap_or(usize::MAX),
        max_records: args.max_records,
        max_in_flight: usize::try_from(args.max_in_flight).unwrap_or(usize::MAX),
        shutdown_grace: std::time::Duration::from_secs(args.shutdown_grace),
    };
    // Tests and scripts read the address from this line (`--listen` may
    // ask for port 0).
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "neardup serve: listening on http://{} (index `{}`, {records} records)",
        listener.local_addr(),
        args.index.display()
    )?;
    drop(err);
    listener.serve(Arc::new(backend), config)?;
    Ok(ExitStatus::Success)
}
