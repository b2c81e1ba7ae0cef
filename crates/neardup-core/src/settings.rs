//! What a run decides with, apart from what it runs on.
//!
//! [`Settings`] holds every choice that changes results: the canonical
//! form, the keep policy, the stages and their parameters, the LSH banding
//! (resolved by one rule, [`neardup_sketch::lsh::banding_for`]) and the
//! versions of the hashes. It serializes to JSON and has a
//! [`fingerprint`](Settings::fingerprint): the ledger header, the index and
//! the Python package record it, and two runs compare only when their
//! fingerprints are equal.
//!
//! [`Resources`] holds what changes speed and memory but never results:
//! threads, the memory budget, the temp directory.
//!
//! Every face sets settings by the CLI's long option names
//! ([`Settings::set`]: `threshold`, `no_near`, `shingle`, …, with `-` or
//! `_`), with the same parsing, ranges and error messages; the CLI's own
//! value parsers call the same functions ([`parse`]).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use neardup_sketch::{lsh, LshParams, Shingling, SketchKind};
use serde::{Deserialize, Serialize};

use crate::repetition::Thresholds;

/// Version of the analysis: bumped when the same settings would give
/// other results (a changed repeat finder, canonical form or hash), so
/// that fingerprints of older runs stop matching.
pub const ANALYSIS_VERSION: u32 = 1;

/// Default `--min-repeat`: 100 canonical characters. Lee et al. (2022) cut
/// repeats of 50 tokens, about 100 bytes of English; a signature, a
/// sign-off or a one-line refrain is shorter, while a repeated paragraph or
/// article is far longer.
pub const DEFAULT_MIN_REPEAT: usize = 100;

/// Default `--min-len`: 100 canonical bytes, Lee et al.'s (2022) 50 tokens.
pub const DEFAULT_MIN_LEN: usize = 100;

/// A setting that could not be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingError {
    /// No setting has this name.
    #[error("unknown setting `{name}`")]
    Unknown {
        /// The name given.
        name: String,
    },
    /// The value does not parse or is out of range.
    #[error("`--{name} {value}`: {message}")]
    Invalid {
        /// The setting (CLI spelling).
        name: String,
        /// The value given.
        value: String,
        /// What is wrong.
        message: String,
    },
    /// Values that cannot work together.
    #[error("{0}")]
    Conflict(String),
}

/// Which record of a cluster stays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Stop the run, write nothing, exit 2.
    #[default]
    Fail,
    /// Reject the record in the ledger and go on.
    Skip,
}

/// How candidate pairs are checked before they merge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Similarity {
    /// |A∩B| / |A∪B|.
    #[default]
    Jaccard,
    /// |A∩B| / min(|A|, |B|): the share of the shorter record found in the
    /// longer; the shorter is the one removed.
    Containment,
}

/// Which occurrences of a repeated substring are cut.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Remove {
    /// All but the first, in input order.
    #[default]
    Later,
    /// Every occurrence, the first too (what Lee et al.'s tool does).
    All,
}

macro_rules! keyword_enum {
    ($t:ty, $what:literal, $($name:literal => $v:expr),+) => {
        impl FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<$t, String> {
                match s.to_ascii_lowercase().as_str() {
                    $($name => Ok($v),)+
                    _ => Err(format!(concat!("expected ", $what, ", one of {}"),
                        [$(concat!("`", $name, "`")),+].join(", "))),
                }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                $(if *self == $v { return f.write_str($name); })+
                Ok(())
            }
        }
    };
}

keyword_enum!(Keep, "a keep policy", "first" => Keep::First, "last" => Keep::Last, "longest" => Keep::Longest);
keyword_enum!(OnError, "an error policy", "fail" => OnError::Fail, "skip" => OnError::Skip);
keyword_enum!(Verify, "a verification", "jaccard" => Verify::Jaccard, "signature" => Verify::Signature, "none" => Verify::None);
keyword_enum!(Similarity, "a similarity", "jaccard" => Similarity::Jaccard, "containment" => Similarity::Containment);
keyword_enum!(Remove, "which copies to remove", "later" => Remove::Later, "all" => Remove::All);

/// Near-duplicate settings.
///
/// `bands` and `rows` are `None` unless set: the banding is then chosen for
/// the threshold by [`NearSettings::banding`], the one rule every face uses,
/// and recorded resolved wherever the settings are written.
#[derive(Clone, Debug, PartialEq)]
pub struct NearSettings {
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
    /// LSH bands, if set.
    pub bands: Option<usize>,
    /// Rows per band, if set.
    pub rows: Option<usize>,
    /// How candidates are checked.
    pub verify: Verify,
    /// For containment: the largest size ratio (longer / shorter) that
    /// candidate generation is tuned for.
    pub max_size_ratio: f64,
}

impl Default for NearSettings {
    fn default() -> NearSettings {
        NearSettings {
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
        }
    }
}

impl NearSettings {
    /// The banding in effect: as set, else chosen for the threshold
    /// ([`lsh::banding_for`]; for containment, at the Jaccard of a pair at
    /// the threshold and the largest size ratio, as LSH Ensemble does). One
    /// of the two set: the other fills the permutations.
    ///
    /// # Errors
    /// [`SettingError::Conflict`] when the bands need more permutations than
    /// there are.
    pub fn banding(&self) -> Result<LshParams, SettingError> {
        let params = match (self.bands, self.rows) {
            (Some(b), Some(r)) => LshParams::new(b, r),
            (Some(b), None) => LshParams::new(b, (self.num_perm / b.max(1)).max(1)),
            (None, Some(r)) => LshParams::new((self.num_perm / r.max(1)).max(1), r),
            (None, None) => lsh::banding_for(
                self.jaccard_target(self.threshold),
                self.num_perm,
                self.verify != Verify::None,
            ),
        }
        .map_err(|e| SettingError::Conflict(e.to_string()))?;
        if params.bands * params.rows > self.num_perm {
            return Err(SettingError::Conflict(format!(
                "`--bands {}` × `--rows {}` needs {} permutations, more than `--num-perm {}`",
                params.bands,
                params.rows,
                params.bands * params.rows,
                self.num_perm
            )));
        }
        Ok(params)
    }

    /// The Jaccard similarity the banding targets for similarity `s`.
    pub fn jaccard_target(&self, s: f64) -> f64 {
        match self.similarity {
            Similarity::Jaccard => s,
            Similarity::Containment => lsh::jaccard_from_containment(s, self.max_size_ratio),
        }
    }

    /// Checks every value and the banding.
    ///
    /// # Errors
    /// The first bad value.
    pub fn validate(&self) -> Result<(), SettingError> {
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(invalid("threshold", self.threshold, parse::UNIT_INTERVAL));
        }
        if self.max_size_ratio.is_nan() || self.max_size_ratio < 1.0 {
            return Err(invalid("max-size-ratio", self.max_size_ratio, "expected a number ≥ 1"));
        }
        neardup_sketch::Sketcher::new(self.sketch, self.num_perm, self.seed)
            .map_err(|e| SettingError::Conflict(e.to_string()))?;
        self.banding().map(drop)
    }
}

/// The form near settings take in JSON: the banding resolved.
#[derive(Serialize, Deserialize)]
struct NearJson {
    threshold: f64,
    similarity: Similarity,
    shingling: Shingling,
    sketch: SketchKind,
    num_perm: usize,
    seed: u64,
    bands: usize,
    rows: usize,
    verify: Verify,
    max_size_ratio: f64,
    hash: String,
    hash_version: u32,
}

impl Serialize for NearSettings {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let b = self.banding().map_err(serde::ser::Error::custom)?;
        NearJson {
            threshold: self.threshold,
            similarity: self.similarity,
            shingling: self.shingling,
            sketch: self.sketch,
            num_perm: self.num_perm,
            seed: self.seed,
            bands: b.bands,
            rows: b.rows,
            verify: self.verify,
            max_size_ratio: self.max_size_ratio,
            hash: neardup_sketch::hash::HASH_NAME.to_string(),
            hash_version: neardup_sketch::hash::HASH_VERSION,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for NearSettings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<NearSettings, D::Error> {
        let j = NearJson::deserialize(d)?;
        if j.hash != neardup_sketch::hash::HASH_NAME
            || j.hash_version != neardup_sketch::hash::HASH_VERSION
        {
            return Err(serde::de::Error::custom(format!(
                "signatures made with hash `{}` version {}; this neardup makes `{}` version {}",
                j.hash,
                j.hash_version,
                neardup_sketch::hash::HASH_NAME,
                neardup_sketch::hash::HASH_VERSION
            )));
        }
        Ok(NearSettings {
            threshold: j.threshold,
            similarity: j.similarity,
            shingling: j.shingling,
            sketch: j.sketch,
            num_perm: j.num_perm,
            seed: j.seed,
            bands: Some(j.bands),
            rows: Some(j.rows),
            verify: j.verify,
            max_size_ratio: j.max_size_ratio,
        })
    }
}

/// Repeated-substring removal across the corpus (suffix arrays).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubstringSettings {
    /// Shortest repeat cut, in bytes of canonical text.
    pub min_len: usize,
    /// If above 0, a cut must hold at least this many words.
    pub min_tokens: usize,
    /// Which occurrences go.
    pub remove: Remove,
    /// A record left with fewer bytes of text than this (white space
    /// aside) after cutting is removed; an empty one always is.
    pub min_keep: usize,
}

impl Default for SubstringSettings {
    fn default() -> SubstringSettings {
        SubstringSettings {
            min_len: DEFAULT_MIN_LEN,
            min_tokens: 0,
            remove: Remove::Later,
            min_keep: 0,
        }
    }
}

/// Every choice that changes results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The canonical form.
    pub normalize: neardup_text::Options,
    /// Which record of a cluster stays.
    pub keep: Keep,
    /// Remove exact duplicates (equal canonical text).
    pub exact: bool,
    /// Remove near duplicates; `None` turns it off.
    pub near: Option<NearSettings>,
    /// Cut passages of at least this many canonical characters that a
    /// record repeats; `None` turns it off.
    pub min_repeat: Option<usize>,
    /// Cut substrings repeated across the corpus; `None` turns it off.
    pub substrings: Option<SubstringSettings>,
    /// Remove records whose repetition statistics exceed these.
    pub thresholds: Thresholds,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            normalize: neardup_text::Options::default(),
            keep: Keep::First,
            exact: true,
            near: Some(NearSettings::default()),
            min_repeat: Some(DEFAULT_MIN_REPEAT),
            substrings: None,
            thresholds: Thresholds::default(),
        }
    }
}

impl Settings {
    /// Checks every value and combination.
    ///
    /// # Errors
    /// The first problem found.
    pub fn validate(&self) -> Result<(), SettingError> {
        if let Some(near) = &self.near {
            near.validate()?;
        }
        if self.min_repeat == Some(0) {
            return Err(invalid("min-repeat", 0, "expected at least 1"));
        }
        if self.substrings.as_ref().is_some_and(|s| s.min_len == 0) {
            return Err(invalid("min-len", 0, "expected at least 1"));
        }
        Ok(())
    }

    /// The settings as JSON, banding resolved.
    pub fn to_json(&self) -> serde_json::Value {
        // Cannot fail: every value is plain data and the banding was
        // validated when the settings were built.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// A short, stable digest of everything that changes results, the
    /// analysis version included: `v1-` and 16 hex digits.
    pub fn fingerprint(&self) -> String {
        let json = serde_json::json!({ "analysis": ANALYSIS_VERSION, "settings": self.to_json() });
        let h = xxhash_rust::xxh3::xxh3_64(json.to_string().as_bytes());
        format!("v{ANALYSIS_VERSION}-{h:016x}")
    }

    /// Sets one setting by its CLI long name (`threshold`, `no-near`,
    /// `min_repeat`, …), from its text: what the Python package and other
    /// faces without clap call for each option. Flags take `true`/`false`.
    ///
    /// # Errors
    /// [`SettingError::Unknown`] for a name that is not a setting (input
    /// and resource options such as `text-field` or `threads` are not);
    /// [`SettingError::Invalid`] with the CLI's message for a bad value.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), SettingError> {
        let key = name.replace('_', "-");
        let bad = |message: String| SettingError::Invalid {
            name: key.clone(),
            value: value.to_string(),
            message,
        };
        let flag = || parse::flag(value).map_err(bad);
        let n = &mut self.normalize;
        match key.as_str() {
            "raw" => n.raw = flag()?,
            "no-nfkc" => n.nfkc = !flag()?,
            "no-typography" => n.typography = !flag()?,
            "no-invisible" => n.invisible = !flag()?,
            "no-case-fold" => n.case_fold = !flag()?,
            "whitespace" => n.whitespace = parse::whitespace(value).map_err(bad)?,
            "ascii" => n.ascii = flag()?,
            "strip-punctuation" => n.strip_punctuation = flag()?,
            "strip-digits" => n.strip_digits = flag()?,
            "keep" => self.keep = value.parse().map_err(bad)?,
            "no-exact" => self.exact = !flag()?,
            "no-near" => {
                self.near = if flag()? { None } else { Some(self.near.take().unwrap_or_default()) }
            }
            "no-repeats" => self.min_repeat = if flag()? { None } else { Some(DEFAULT_MIN_REPEAT) },
            "min-repeat" => self.min_repeat = Some(parse::positive(value).map_err(bad)?),
            "drop-repetitive" => {
                if flag()? {
                    self.thresholds = Thresholds::gopher();
                }
            }
            "repetition-threshold" => {
                let (name, bound) = parse::repetition_threshold(value).map_err(bad)?;
                self.thresholds.set(&name, bound).map_err(bad)?;
            }
            "substrings" => {
                self.substrings =
                    if flag()? { Some(self.substrings.take().unwrap_or_default()) } else { None }
            }
            "min-len" | "min-tokens" | "remove" | "min-keep" => {
                let s = self.substrings.get_or_insert_with(Default::default);
                match key.as_str() {
                    "min-len" => s.min_len = parse::positive(value).map_err(bad)?,
                    "min-tokens" => s.min_tokens = parse::count(value).map_err(bad)?,
                    "remove" => s.remove = value.parse().map_err(bad)?,
                    _ => s.min_keep = parse::count(value).map_err(bad)?,
                }
            }
            "threshold" | "similarity" | "shingle" | "sketch" | "num-perm" | "seed" | "bands"
            | "rows" | "verify" | "max-size-ratio" => {
                let Some(near) = self.near.as_mut() else {
                    return Err(SettingError::Conflict(format!(
                        "`--{key}` sets up near duplicates, which `--no-near` turned off"
                    )));
                };
                match key.as_str() {
                    "threshold" => near.threshold = parse::unit_interval(value).map_err(bad)?,
                    "similarity" => near.similarity = value.parse().map_err(bad)?,
                    "shingle" => near.shingling = parse::shingle(value).map_err(bad)?,
                    "sketch" => near.sketch = parse::sketch(value).map_err(bad)?,
                    "num-perm" => near.num_perm = parse::positive(value).map_err(bad)?,
                    "seed" => near.seed = value.parse().map_err(|e| bad(format!("{e}")))?,
                    "bands" => near.bands = Some(parse::positive(value).map_err(bad)?),
                    "rows" => near.rows = Some(parse::positive(value).map_err(bad)?),
                    "verify" => near.verify = value.parse().map_err(bad)?,
                    _ => near.max_size_ratio = parse::ratio(value).map_err(bad)?,
                }
            }
            _ => return Err(SettingError::Unknown { name: name.to_string() }),
        }
        Ok(())
    }
}

fn invalid(name: &str, value: impl fmt::Display, message: &str) -> SettingError {
    SettingError::Invalid {
        name: name.to_string(),
        value: value.to_string(),
        message: message.to_string(),
    }
}

/// What changes speed and memory, never results.
#[derive(Clone, Debug, PartialEq)]
pub struct Resources {
    /// Memory budget of the stages that spill to disk beyond it (LSH
    /// buckets, candidate pairs, suffix arrays), in bytes.
    pub memory: usize,
    /// Where temporary files go.
    pub tmp_dir: PathBuf,
}

impl Default for Resources {
    fn default() -> Resources {
        Resources { memory: 1 << 30, tmp_dir: std::env::temp_dir() }
    }
}

/// Parsers of setting values, shared by [`Settings::set`] and the CLI's
/// value parsers so that every face accepts and refuses the same text with
/// the same message.
pub mod parse {
    use super::*;

    /// The message for a value outside `[0, 1]`.
    pub const UNIT_INTERVAL: &str = "expected a number between 0 and 1";

    /// A number in `[0, 1]`.
    pub fn unit_interval(s: &str) -> Result<f64, String> {
        match s.trim().parse::<f64>() {
            Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
            _ => Err(format!("`{s}` is not a number between 0 and 1")),
        }
    }

    /// A ratio of at least 1.
    pub fn ratio(s: &str) -> Result<f64, String> {
        match s.trim().parse::<f64>() {
            Ok(v) if v >= 1.0 => Ok(v),
            _ => Err(format!("`{s}` is not a number of at least 1")),
        }
    }

    /// A whole number of at least 1.
    pub fn positive(s: &str) -> Result<usize, String> {
        match s.trim().parse::<usize>() {
            Ok(v) if v >= 1 => Ok(v),
            _ => Err(format!("`{s}` is not a whole number of at least 1")),
        }
    }

    /// A whole number.
    pub fn count(s: &str) -> Result<usize, String> {
        s.trim().parse::<usize>().map_err(|_| format!("`{s}` is not a whole number"))
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`).
    pub fn flag(s: &str) -> Result<bool, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(format!("`{s}` is not `true` or `false`")),
        }
    }

    /// `word:N` or `char:N`.
    pub fn shingle(s: &str) -> Result<Shingling, String> {
        s.parse().map_err(|e: neardup_sketch::Error| e.to_string())
    }

    /// `minhash` or `oph`.
    pub fn sketch(s: &str) -> Result<SketchKind, String> {
        s.parse().map_err(|e: neardup_sketch::Error| e.to_string())
    }

    /// `lines`, `all` or `keep`.
    pub fn whitespace(s: &str) -> Result<neardup_text::Whitespace, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "lines" => Ok(neardup_text::Whitespace::Lines),
            "all" => Ok(neardup_text::Whitespace::All),
            "keep" => Ok(neardup_text::Whitespace::Keep),
            _ => Err("expected white space handling, one of `lines`, `all`, `keep`".to_string()),
        }
    }

    /// `NAME=VALUE`.
    pub fn repetition_threshold(s: &str) -> Result<(String, f32), String> {
        let (name, value) = s.split_once('=').ok_or("expected NAME=VALUE")?;
        let value: f32 = value.trim().parse().map_err(|_| format!("`{value}` is not a number"))?;
        Ok((name.trim().to_string(), value))
    }

    /// `123`, `64K`, `512M`, `8G` (powers of 1024).
    pub fn size(s: &str) -> Result<u64, String> {
        let t = s.trim();
        let (num, mult) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
            Some('K') => (&t[..t.len() - 1], 1u64 << 10),
            Some('M') => (&t[..t.len() - 1], 1 << 20),
            Some('G') => (&t[..t.len() - 1], 1 << 30),
            Some('T') => (&t[..t.len() - 1], 1 << 40),
            _ => (t, 1),
        };
        num.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(|v| (v * mult as f64) as u64)
            .ok_or_else(|| format!("`{s}` is not a size (like `512M` or `8G`)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_banding_is_the_clis() {
        let b = NearSettings::default().banding().unwrap();
        assert_eq!((b.bands, b.rows), (21, 6));
        let sketch = neardup_sketch::Settings::for_threshold(
            Shingling::Word(5),
            SketchKind::MinHash,
            128,
            1,
            0.8,
        )
        .unwrap();
        assert_eq!((sketch.bands, sketch.rows), (b.bands, b.rows), "one rule everywhere");
    }

    #[test]
    fn settings_round_trip_through_json_with_the_same_fingerprint() {
        let mut s = Settings::default();
        s.set("threshold", "0.7").unwrap();
        s.set("substrings", "true").unwrap();
        s.set("min_len", "60").unwrap();
        s.set("repetition-threshold", "dup_line_frac=0.5").unwrap();
        let json = serde_json::to_string(&s).unwrap();
        let back: Settings = serde_json::from_str(&json).unwrap();
        assert_eq!(back.fingerprint(), s.fingerprint());
        assert_eq!(back.near.as_ref().unwrap().banding(), s.near.as_ref().unwrap().banding());
        assert_ne!(Settings::default().fingerprint(), s.fingerprint());
    }

    #[test]
    fn the_banding_follows_the_threshold_unless_set() {
        let mut s = Settings::default();
        let at = |s: &Settings| s.near.as_ref().unwrap().banding().unwrap();
        let before = at(&s);
        s.set("threshold", "0.5").unwrap();
        assert_ne!(at(&s), before);
        s.set("bands", "4").unwrap();
        s.set("rows", "8").unwrap();
        assert_eq!((at(&s).bands, at(&s).rows), (4, 8));
        s.set("rows", "40").unwrap();
        assert!(
            matches!(s.validate(), Err(SettingError::Conflict(m)) if m.contains("160 permutations"))
        );
    }

    #[test]
    fn bad_values_are_named_with_the_clis_words() {
        let mut s = Settings::default();
        let e = s.set("threshold", "1.5").unwrap_err();
        assert_eq!(e.to_string(), "`--threshold 1.5`: `1.5` is not a number between 0 and 1");
        let e = s.set("keep", "middle").unwrap_err();
        assert!(e.to_string().contains("one of `first`, `last`, `longest`"), "{e}");
        assert!(matches!(s.set("thresold", "0.5"), Err(SettingError::Unknown { .. })));
        s.set("no_near", "true").unwrap();
        assert!(matches!(s.set("bands", "3"), Err(SettingError::Conflict(_))));
        assert!(s.near.is_none());
    }
}
