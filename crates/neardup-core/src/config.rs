//! Settings of a deduplication run.

use std::path::PathBuf;

use neardup_io::{Fields, Layout};
use neardup_sketch::{Shingling, SketchKind};
use serde::Serialize;

use crate::repetition::Thresholds;

/// Which record of a cluster stays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Keep {
    /// The first in input order.
    #[default]
    First,
    /// The last in input order.
    Last,
    /// The longest text (after in-record cuts); ties go to the first.
    Longest,
}

/// What to do with a bad record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Stop the run, write nothing, exit 2.
    #[default]
    Fail,
    /// Reject the record in the ledger and go on.
    Skip,
}

/// Default `--min-repeat`: 100 canonical characters. Lee et al. (2022) cut
/// repeats of 50 tokens, about 100 bytes of English; a signature, a
/// sign-off or a one-line refrain is shorter, while a repeated paragraph or
/// article is far longer.
pub const DEFAULT_MIN_REPEAT: usize = 100;

/// How candidate pairs are checked before they merge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verify {
    /// Exact similarity on the shingle sets.
    #[default]
    Jaccard,
    /// The MinHash estimate from the signatures.
    Signature,
    /// Trust the LSH candidates (similarity reported is the estimate).
    None,
}

/// Which similarity the threshold applies to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Similarity {
    /// |A∩B| / |A∪B|.
    #[default]
    Jaccard,
    /// |A∩B| / min(|A|, |B|): the share of the shorter record found in the
    /// longer; the shorter is the one removed.
    Containment,
}

/// Near-duplicate detection settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NearOptions {
    /// Similarity at or above which two records are duplicates.
    pub threshold: f64,
    /// Which similarity.
    pub similarity: Similarity,
    /// Shingles (`word:5`).
    pub shingling: Shingling,
    /// Classic MinHash or one-permutation hashing.
    pub sketch: SketchKind,
    /// Signature slots.
    pub num_perm: usize,
    /// Seed of shingle hashes and sketches.
    pub seed: u64,
    /// LSH banding; `None` picks the optimum for the threshold.
    pub bands: Option<usize>,
    /// Rows per band; `None` picks the optimum for the threshold.
    pub rows: Option<usize>,
    /// How candidates are checked.
    pub verify: Verify,
    /// For containment: the largest size ratio (longer / shorter) that
    /// candidate generation is tuned for.
    pub max_size_ratio: f64,
    /// Memory for the LSH buckets before they spill to disk, in bytes.
    #[serde(skip)]
    pub memory: usize,
    /// Where temporary files go (shingle sets, signatures, spilled buckets).
    #[serde(skip)]
    pub tmp_dir: PathBuf,
}

impl Default for NearOptions {
    fn default() -> NearOptions {
        NearOptions {
            threshold: 0.8,
            similarity: Similarity::Jaccard,
            shingling: Shingling::Word(5),
            sketch: SketchKind::MinHash,
            num_perm: neardup_sketch::DEFAULT_NUM_PERM,
            seed: neardup_sketch::DEFAULT_SEED,
            bands: None,
            rows: None,
            verify: Verify::Jaccard,
            max_size_ratio: 4.0,
            memory: 1 << 30,
            tmp_dir: std::env::temp_dir(),
        }
    }
}

/// Which occurrences of a repeated substring are cut.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Remove {
    /// All but the first, in input order.
    #[default]
    Later,
    /// Every occurrence, the first too (what Lee et al.'s tool does).
    All,
}

/// Default `--min-len`: 100 canonical bytes, Lee et al.'s (2022) 50 tokens.
pub const DEFAULT_MIN_LEN: usize = 100;

/// Repeated-substring removal across the corpus (suffix arrays).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SubstringOptions {
    /// Shortest repeat cut, in bytes of canonical text.
    pub min_len: usize,
    /// If above 0, a cut must hold at least this many words.
    pub min_tokens: usize,
    /// Which occurrences go.
    pub remove: Remove,
    /// A record left with fewer bytes of text than this (white space
    /// aside) after cutting is removed; an empty one always is.
    pub min_keep: usize,
    /// Memory budget of the suffix-array stage, in bytes.
    #[serde(skip)]
    pub memory: usize,
    /// Where its temporary files go.
    #[serde(skip)]
    pub tmp_dir: PathBuf,
}

impl Default for SubstringOptions {
    fn default() -> SubstringOptions {
        SubstringOptions {
            min_len: DEFAULT_MIN_LEN,
            min_tokens: 0,
            remove: Remove::Later,
            min_keep: 0,
            memory: 1 << 30,
            tmp_dir: std::env::temp_dir(),
        }
    }
}

/// Everything that decides what a run does.
#[derive(Clone, Debug)]
pub struct Config {
    /// The canonical form.
    pub normalize: neardup_text::Options,
    /// JSON fields holding text and id.
    pub fields: Fields,
    /// How inputs are cut into records.
    pub layout: Layout,
    /// Which record of a cluster stays.
    pub keep: Keep,
    /// Remove exact duplicates (equal canonical text).
    pub exact: bool,
    /// Remove near duplicates; `None` turns it off.
    pub near: Option<NearOptions>,
    /// Cut passages of at least this many canonical characters that a
    /// record repeats; `None` turns it off.
    pub min_repeat: Option<usize>,
    /// Cut substrings repeated across the corpus; `None` turns it off.
    pub substrings: Option<SubstringOptions>,
    /// Compute repetition statistics (for the ledger).
    pub stats: bool,
    /// Remove records whose statistics exceed these.
    pub thresholds: Thresholds,
    /// What to do with bad records.
    pub on_error: OnError,
    /// Read the inputs twice even when once would do (tests compare both).
    #[doc(hidden)]
    pub force_two_passes: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            normalize: neardup_text::Options::default(),
            fields: Fields::default(),
            layout: Layout::default(),
            keep: Keep::First,
            exact: true,
            near: Some(NearOptions::default()),
            min_repeat: Some(DEFAULT_MIN_REPEAT),
            substrings: None,
            stats: false,
            thresholds: Thresholds::default(),
            on_error: OnError::Fail,
            force_two_passes: false,
        }
    }
}

impl Config {
    /// Whether every decision is known as soon as a record is read, so
    /// that the inputs need to be read only once: the first copy is kept,
    /// and no stage needs to see the whole corpus first.
    pub fn single_pass(&self) -> bool {
        self.keep == Keep::First
            && self.near.is_none()
            && self.substrings.is_none()
            && !self.force_two_passes
    }

    /// The settings that change results, for the ledger header.
    pub fn settings(&self) -> serde_json::Value {
        serde_json::json!({
            "normalize": self.normalize,
            "text_field": self.fields.text,
            "id_field": self.fields.id,
            "keep": self.keep,
            "exact": self.exact,
            "near": self.near,
            "min_repeat": self.min_repeat,
            "substrings": self.substrings,
            "thresholds": self.thresholds.bounds,
            "hash": "xxh3-128",
        })
    }
}
