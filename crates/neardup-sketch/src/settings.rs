//! Every setting that changes a signature or a band key, in one
//! serializable value.
//!
//! Signatures and band keys are only comparable when they were made the
//! same way: same shingling, sketch kind, number of permutations, seed,
//! banding, and the same version of the hash functions. Other crates write
//! a [`Settings`] into every file that holds signatures or band keys (the
//! index, signature shards, Parquet metadata) and call
//! [`Settings::check_same`] when they read one back, so that a mismatch
//! fails with both values named instead of silently finding nothing.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::hash::{HASH_NAME, HASH_VERSION};
use crate::lsh::{banding_for, LshParams};
use crate::minhash::{SketchKind, Sketcher};
use crate::shingle::Shingling;

/// The default seed of shingle hashes and sketch parameters.
pub const DEFAULT_SEED: u64 = 1;

/// The default number of permutations (signature slots).
pub const DEFAULT_NUM_PERM: usize = 128;

/// The settings behind a set of signatures and band keys.
///
/// ```
/// use neardup_sketch::{Settings, SketchKind};
///
/// let s = Settings::for_threshold(Default::default(), SketchKind::Oph, 128, 1, 0.8)?;
/// let json = serde_json::to_string(&s).unwrap();
/// assert!(json.contains(r#""shingling":"word:5""#));
/// let back: Settings = serde_json::from_str(&json).unwrap();
/// s.check_same(&back)?;
/// # Ok::<(), neardup_sketch::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Settings {
    /// How texts are cut into shingles (`"word:5"`).
    pub shingling: Shingling,
    /// Classic MinHash or one-permutation hashing (`"minhash"`, `"oph"`).
    pub kind: SketchKind,
    /// Signature slots.
    pub num_perm: usize,
    /// Seed of shingle hashes and sketch parameters.
    pub seed: u64,
    /// LSH bands.
    pub bands: usize,
    /// LSH rows per band.
    pub rows: usize,
    /// Shingle hash name ([`HASH_NAME`]).
    pub hash: String,
    /// Version of the hash functions ([`HASH_VERSION`]).
    pub hash_version: u32,
}

impl Settings {
    /// Settings with the current hash, checked for consistency.
    ///
    /// # Errors
    /// [`Error::Parameter`] if `num_perm` is out of range or the bands need
    /// more slots than `num_perm`.
    pub fn new(
        shingling: Shingling,
        kind: SketchKind,
        num_perm: usize,
        seed: u64,
        lsh: LshParams,
    ) -> Result<Settings> {
        let s = Settings {
            shingling,
            kind,
            num_perm,
            seed,
            bands: lsh.bands,
            rows: lsh.rows,
            hash: HASH_NAME.to_owned(),
            hash_version: HASH_VERSION,
        };
        s.validate()?;
        Ok(s)
    }

    /// Settings whose banding is neardup's for a Jaccard `threshold` with
    /// verified candidates ([`banding_for`]: `21 × 6` at 0.8), the same
    /// banding `neardup dedup` uses.
    ///
    /// # Errors
    /// As [`Settings::new`] and [`banding_for`].
    pub fn for_threshold(
        shingling: Shingling,
        kind: SketchKind,
        num_perm: usize,
        seed: u64,
        threshold: f64,
    ) -> Result<Settings> {
        let lsh = banding_for(threshold, num_perm, true)?;
        Settings::new(shingling, kind, num_perm, seed, lsh)
    }

    /// Checks that the values are usable together (for settings read from
    /// a file).
    ///
    /// # Errors
    /// [`Error::Parameter`] naming the first bad value.
    pub fn validate(&self) -> Result<()> {
        self.lsh().validate_for(self.num_perm)?;
        Sketcher::new(self.kind, self.num_perm, self.seed).map(drop)
    }

    /// The banding.
    #[must_use]
    pub fn lsh(&self) -> LshParams {
        LshParams { bands: self.bands, rows: self.rows }
    }

    /// A sketcher for these settings.
    ///
    /// # Errors
    /// [`Error::Parameter`] if `num_perm` is out of range.
    pub fn sketcher(&self) -> Result<Sketcher> {
        Sketcher::new(self.kind, self.num_perm, self.seed)
    }

    /// `Ok` if `found` (e.g. read from a file) equals `self` (this run's);
    /// otherwise an error naming the first differing field and both values.
    ///
    /// # Errors
    /// [`Error::SettingsMismatch`].
    pub fn check_same(&self, found: &Settings) -> Result<()> {
        let fields: [(&'static str, String, String); 8] = [
            ("hash", self.hash.clone(), found.hash.clone()),
            ("hash_version", self.hash_version.to_string(), found.hash_version.to_string()),
            ("shingling", self.shingling.to_string(), found.shingling.to_string()),
            ("kind", self.kind.to_string(), found.kind.to_string()),
            ("num_perm", self.num_perm.to_string(), found.num_perm.to_string()),
            ("seed", self.seed.to_string(), found.seed.to_string()),
            ("bands", self.bands.to_string(), found.bands.to_string()),
            ("rows", self.rows.to_string(), found.rows.to_string()),
        ];
        for (field, expected, found) in fields {
            if expected != found {
                return Err(Error::SettingsMismatch { field, expected, found });
            }
        }
        Ok(())
    }
}

impl LshParams {
    fn validate_for(self, num_perm: usize) -> Result<()> {
        LshParams::new(self.bands, self.rows)?;
        if self.bands.saturating_mul(self.rows) > num_perm {
            return Err(Error::Parameter {
                name: "bands x rows",
                value: format!("{} x {}", self.bands, self.rows),
                expected: "at most num_perm",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Settings {
        Settings::new(
            Shingling::Word(5),
            SketchKind::MinHash,
            128,
            1,
            LshParams { bands: 16, rows: 8 },
        )
        .unwrap()
    }

    #[test]
    fn json_round_trip() {
        let s = base();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"shingling":"word:5","kind":"minhash","num_perm":128,"seed":1,"bands":16,"rows":8,"hash":"xxh3-64","hash_version":1}"#
        );
        let back: Settings = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn mismatch_names_field_and_values() {
        let a = base();
        let mut b = base();
        b.shingling = Shingling::Char(5);
        let err = a.check_same(&b).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("`shingling`") && msg.contains("`word:5`") && msg.contains("`char:5`"),
            "{msg}"
        );
        b = base();
        b.hash_version = 0;
        assert!(matches!(
            a.check_same(&b),
            Err(Error::SettingsMismatch { field: "hash_version", .. })
        ));
        assert!(a.check_same(&base()).is_ok());
    }

    #[test]
    fn inconsistent_settings_are_refused() {
        let lsh = LshParams { bands: 20, rows: 8 };
        assert!(Settings::new(Shingling::Word(5), SketchKind::Oph, 128, 1, lsh).is_err());
        assert!(Settings::new(
            Shingling::Word(5),
            SketchKind::Oph,
            0,
            1,
            LshParams { bands: 1, rows: 1 }
        )
        .is_err());
    }

    #[test]
    fn for_threshold_uses_the_banding_dedup_uses() {
        let s =
            Settings::for_threshold(Shingling::default(), SketchKind::Oph, 128, 1, 0.8).unwrap();
        assert_eq!((s.bands, s.rows), (21, 6));
        assert_eq!(s.sketcher().unwrap().num_perm(), 128);
    }
}
