//! Sketches for near-duplicate detection: shingles, MinHash signatures, LSH
//! banding with a bounded-memory bucket table, and exact Jaccard for
//! verification.
//!
//! The near-duplicate matcher of neardup runs, per document of canonical
//! text (from `neardup-text`):
//!
//! 1. [`Shingling::shingle_hashes`] — hash every word (or char) n-gram,
//!    in place, into a reused `Vec<u64>` ([`shingle`]);
//! 2. [`Sketcher::sketch`] — turn those hashes into a `k`-slot signature,
//!    classic MinHash or one-permutation hashing ([`minhash`]);
//! 3. [`LshParams::band_keys`] — cut the signature into bands and hash each
//!    ([`lsh`]; [`lsh::optimal_params`] picks the banding for a threshold);
//! 4. [`BucketTable::insert`] — collect `(doc, band keys)`, spilling to
//!    disk past a memory budget, then stream every bucket of two or more
//!    documents ([`bucket`]);
//! 5. [`jaccard::jaccard`] / [`jaccard::containment`] — verify candidate
//!    pairs on exact shingle sets ([`jaccard`]).
//!
//! [`Settings`] records everything that changes steps 1–3 so files of
//! signatures can refuse to mix. The maths, the papers and the reasons for
//! each choice are in this crate's `DESIGN.md`.
//!
//! # Design in one paragraph
//! Everything is built for throughput per thread: no allocation per
//! shingle, caller-owned buffers (`clear()` and refill), parameters derived
//! once per run, and the one `O(k)`-per-shingle loop (classic MinHash)
//! vectorized and dispatched to AVX2/AVX-512 at run time. Everything is
//! deterministic: all randomness comes from the seed through fixed mixers,
//! hash values are frozen across versions (tests pin them), and bucket
//! output is sorted.
//!
//! ```
//! use neardup_sketch::{jaccard, lsh, shingle, Shingling, SketchKind, Sketcher};
//!
//! let texts = [
//!     "the committee approved the budget for the new library on tuesday",
//!     "the committee approved the budget for the new library on monday",
//!     "a completely different sentence about the weather and the sea",
//! ];
//! let shingling = Shingling::Word(3);
//! let sketcher = Sketcher::new(SketchKind::MinHash, 128, 1)?;
//! let params = lsh::optimal_params(0.5, 128, 0.5, 0.5)?;
//!
//! let (mut hashes, mut sig, mut keys) = (Vec::new(), Vec::new(), Vec::new());
//! let mut sets = Vec::new();
//! let dir = std::env::temp_dir();
//! let mut table = neardup_sketch::BucketTable::new(params.bands, 64 << 20, &dir)?;
//! for (doc, text) in texts.iter().enumerate() {
//!     shingling.shingle_hashes(text, 1, &mut hashes);
//!     sketcher.sketch(&hashes, &mut sig);
//!     params.band_keys(&sig, &mut keys)?;
//!     table.insert(doc as u32, &keys)?;
//!     shingle::into_set(&mut hashes);
//!     sets.push(hashes.clone());
//! }
//! let mut pairs = Vec::new();
//! table.finish()?.for_each_bucket(|b| {
//!     for (i, &x) in b.docs.iter().enumerate() {
//!         for &y in &b.docs[i + 1..] {
//!             let j = jaccard::jaccard(&sets[x as usize], &sets[y as usize]);
//!             if j >= 0.5 {
//!                 pairs.push((x, y));
//!             }
//!         }
//!     }
//! })?;
//! pairs.sort_unstable();
//! pairs.dedup();
//! assert_eq!(pairs, [(0, 1)]); // 8 of 10 distinct shingles shared: J = 0.8
//! # Ok::<(), neardup_sketch::Error>(())
//! ```
#![deny(missing_docs)]

pub mod bucket;
mod densify;
mod error;
pub mod extsort;
pub mod hash;
pub mod jaccard;
mod kernel;
pub mod lsh;
pub mod minhash;
mod settings;
pub mod shingle;

pub use bucket::{Bucket, BucketTable, Buckets};
pub use error::{Error, Result};
pub use lsh::LshParams;
pub use minhash::{estimate_jaccard, Signature, SketchKind, Sketcher};
pub use settings::{Settings, DEFAULT_NUM_PERM, DEFAULT_SEED};
pub use shingle::Shingling;
