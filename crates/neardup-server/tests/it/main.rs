//! The service over HTTP. `fake` runs the HTTP layer in-process against an
//! in-memory backend (routes, auth, limits, errors, metrics); the real
//! index's behaviour through the service is tested where it is wired.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, unreachable_pub)]

mod common;
mod fake;
mod index;
