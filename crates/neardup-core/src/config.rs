//! Settings of a deduplication run.

use neardup_io::{Fields, Layout};
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
    /// Cut passages of at least this many canonical characters that a
    /// record repeats; `None` turns it off.
    pub min_repeat: Option<usize>,
    /// Compute repetition statistics (for the ledger).
    pub stats: bool,
    /// Remove records whose statistics exceed these.
    pub thresholds: Thresholds,
    /// What to do with bad records.
    pub on_error: OnError,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            normalize: neardup_text::Options::default(),
            fields: Fields::default(),
            layout: Layout::default(),
            keep: Keep::First,
            exact: true,
            min_repeat: Some(DEFAULT_MIN_REPEAT),
            stats: false,
            thresholds: Thresholds::default(),
            on_error: OnError::Fail,
        }
    }
}

impl Config {
    /// The settings that change results, for the ledger header.
    pub fn settings(&self) -> serde_json::Value {
        serde_json::json!({
            "normalize": self.normalize,
            "text_field": self.fields.text,
            "id_field": self.fields.id,
            "keep": self.keep,
            "exact": self.exact,
            "min_repeat": self.min_repeat,
            "thresholds": self.thresholds.bounds,
            "hash": "xxh3-128",
        })
    }
}
