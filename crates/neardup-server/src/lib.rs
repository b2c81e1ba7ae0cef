//! `neardup serve`: the incremental index over HTTP, for callers that ask
//! "have we seen this?" one document or one batch at a time.
//!
//! | route | does |
//! | --- | --- |
//! | `POST /v1/check` | decides each record against the index and the request's earlier records; changes nothing |
//! | `POST /v1/add` | the same, then adds the new records in one atomic batch |
//! | `GET /v1/stats` | the index's size and settings (`neardup index stats --json`) |
//! | `GET /metrics` | Prometheus text: requests by route and status, latency, records |
//! | `GET /healthz` | `{"status":"ok"}`, without a token |
//!
//! Bodies are `{"records": [{"id": "a", "text": "..."}, ...]}`; answers
//! are `{"results": [{"id", "status", "reason", "duplicate_of",
//! "similarity", "added"}, ...]}` in request order. Every refusal is JSON,
//! `{"error": "..."}`, naming what is wrong: 400 for a body that is not
//! UTF-8, not JSON or misses a field; 401 without the bearer token; 413
//! past `--max-body` or `--max-records`.
//!
//! This crate is a face: it parses, authenticates, limits, counts and
//! schedules, and decides nothing. Every answer comes from a [`Backend`] —
//! the persistent index ([`IndexBackend`], over `neardup-index`) in
//! `neardup serve`, a fake in tests. Checks run side by side; adds one at a
//! time, on one writer thread that sends adds queued behind each other to
//! the backend as one batch (the same answers as one after the other, one
//! durable commit); the backend sees to it that a check never sees part of
//! an add.
//!
//! ```no_run
//! use std::sync::Arc;
//! use neardup_server::{Auth, Config, IndexBackend, Listener, Token};
//!
//! let auth = Auth::Token(Token::from_file("token.txt".as_ref())?);
//! let listener = Listener::bind("127.0.0.1:8080", &auth)?;
//! let index = IndexBackend::open("index/".as_ref(), 256 << 20)?;
//! listener.serve(Arc::new(index), Config::new(auth))?; // until SIGTERM or SIGINT
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod adds;
mod api;
mod auth;
mod backend;
mod error;
mod index;
mod metrics;
mod server;

pub use auth::Token;
pub use backend::{Backend, BackendError, Outcome, Prepared, Reason, Rec, Status};
pub use error::Error;
pub use index::IndexBackend;
pub use server::{
    router, Auth, Config, Listener, DEFAULT_MAX_BODY, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_RECORDS,
    DEFAULT_SHUTDOWN_GRACE,
};
