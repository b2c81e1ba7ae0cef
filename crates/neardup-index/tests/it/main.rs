//! Integration tests of neardup-index: one binary (see STYLE.md §7).
#![allow(clippy::unwrap_used)]

mod common;
mod concurrency;
mod corrupt;
mod crash;
mod history;
mod model;
mod open;
