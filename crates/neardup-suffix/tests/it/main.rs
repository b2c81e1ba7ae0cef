//! Integration tests of neardup-suffix: one binary, one module per concern.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, unreachable_pub)]

mod files;
mod invariance;
mod oracle;
mod planted;
mod properties;
