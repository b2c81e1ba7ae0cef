//! Test support for the neardup workspace: the texts several crates' tests
//! generate, written once.
//!
//! Tests at different layers check the same behaviour from their own side —
//! batches against history equal one run in memory (`neardup-core`), on
//! the index (`neardup-index`) and through the CLI (`neardup-cli`); the
//! service in-process (`neardup-server`) and as a process (`neardup-cli`).
//! They are only comparable if they feed the engine the same kinds of text,
//! so the generators live here rather than in copies that drift apart (the
//! core's copy had no texts shorter than a shingle).
//!
//! - [`Families`]: a proptest strategy of batches made of text families
//!   (exact copies, typographic copies, copies with a few words swapped,
//!   texts shorter than one shingle), and [`batches`], the batches cut
//!   points make of them;
//! - [`distinct_text`] and [`distinct_batch`]: seeded texts that share no
//!   shingle with one another, for tests where every record must be new;
//! - [`browser`]: the HTML report opened in headless Chromium, for the
//!   report's tests and the CLI's.
//!
//! This crate is a dev-dependency only: no code that ships depends on it,
//! and it depends on nothing of neardup's, so any crate's tests can use it.
//! Its helpers fail the calling test by panicking, with a message naming
//! what went wrong.

pub mod browser;
mod distinct;
mod families;

pub use distinct::{distinct_batch, distinct_text};
pub use families::{batches, Families};
