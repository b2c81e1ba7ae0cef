//! Canonical text for neardup: the form that matching sees.
//!
//! neardup matches on a *canonical form* of each text, in which Unicode and
//! typographic variants of the same words are equal, and writes out the
//! *original*, cut exactly where a repeat was found. This crate holds both
//! halves of that promise:
//!
//! - [`Normalizer`] turns original text into canonical text (NFKC, quotes,
//!   dashes, spaces, invisible characters, case, optional transliteration
//!   and stripping; see [`Options`]), together with an [`OffsetMap`] from
//!   canonical byte offsets back to original ones;
//! - [`segment`] splits canonical text into lines, paragraphs and words;
//! - [`diff`] compares two original texts on their canonical form, so that
//!   a typographic copy reads as the same text in other typography.
//!
//! ```
//! use neardup_text::Normalizer;
//!
//! let n = Normalizer::default();
//! let straight = n.normalize("fighters -- nearly all of them");
//! let curly = n.normalize("fighters \u{2014} nearly all of them");
//! assert_eq!(straight.text, curly.text);
//! ```
#![deny(missing_docs)]

pub mod diff;
mod fold;
pub mod mask;
mod normalize;
mod offsets;
pub mod segment;

pub use normalize::{Canonical, Normalizer, Options, Whitespace};
pub use offsets::{OffsetMap, Round};
