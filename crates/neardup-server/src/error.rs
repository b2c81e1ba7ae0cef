//! Why the service cannot start or stopped badly. Errors a request meets
//! are answered over HTTP (see `api::Refusal`), never returned here.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the service cannot start or did not stop cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token file cannot be read.
    #[error("cannot read the token file `{path}`")]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The token file holds no usable token.
    #[error("the token file `{path}` holds no usable token: {problem}")]
    BadToken {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// `--insecure-no-auth` on an address others can reach.
    #[error(
        "`--insecure-no-auth` serves without a token, so it listens only on a loopback address \
         (127.0.0.1, ::1, localhost); `{0}` is not one: give `--token-file FILE` instead"
    )]
    NotLoopback(SocketAddr),
    /// The listen address does not parse or resolve.
    #[error("cannot use `{addr}` as the address to listen on: {problem}")]
    Address {
        /// As given.
        addr: String,
        /// Why.
        problem: String,
    },
    /// Binding, or another socket or runtime operation, failed.
    #[error("{what}")]
    Io {
        /// The operation.
        what: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The index failed to flush at shutdown.
    #[error("flushing the index at shutdown: {0}")]
    Flush(String),
}
