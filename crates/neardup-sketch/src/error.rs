//! The one error type of this crate.
//!
//! Sketching itself cannot fail on any text: every `&str` has a shingle set
//! and every shingle set a signature. What can fail is configuration (a bad
//! `--shingle` string, a threshold outside `[0, 1]`, settings that disagree
//! with the ones a file was written with) and the bucket table's spill files.
//! Each variant says what was expected and what was found, so the message
//! alone tells the user what to change.

use std::path::PathBuf;

/// Everything that can go wrong in `neardup-sketch`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A shingling specification did not parse.
    #[error(
        "invalid shingling `{input}`: {reason} \
         (expected `word:N` or `char:N` with N >= 1, e.g. `word:5`)"
    )]
    Shingling {
        /// The text that was given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A sketch kind did not parse.
    #[error("invalid sketch kind `{input}` (expected `minhash` or `oph`)")]
    SketchKind {
        /// The text that was given.
        input: String,
    },

    /// A numeric parameter is outside its valid range.
    #[error("invalid {name} `{value}`: expected {expected}")]
    Parameter {
        /// The parameter's name, as the user knows it (`num_perm`, `threshold`).
        name: &'static str,
        /// The value that was given, formatted.
        value: String,
        /// The valid range, in words.
        expected: &'static str,
    },

    /// A signature is shorter than the LSH parameters need.
    #[error(
        "signature has {found} values but {bands} bands x {rows} rows need \
         {needed}; was it made with fewer permutations?"
    )]
    SignatureTooShort {
        /// Values in the signature.
        found: usize,
        /// Bands of the LSH parameters.
        bands: usize,
        /// Rows of the LSH parameters.
        rows: usize,
        /// `bands * rows`.
        needed: usize,
    },

    /// A document was inserted with the wrong number of band keys.
    #[error("expected {expected} band keys per document, found {found}")]
    BandCount {
        /// Bands the table was built for.
        expected: usize,
        /// Keys that were given.
        found: usize,
    },

    /// Two sets of sketch settings differ (for example a signature file was
    /// written with other settings than this run's).
    #[error(
        "sketch setting `{field}` differs: this run uses `{expected}`, \
         found `{found}`; re-run with the same settings or rebuild the file"
    )]
    SettingsMismatch {
        /// The first field that differs.
        field: &'static str,
        /// This run's value.
        expected: String,
        /// The other value.
        found: String,
    },

    /// Reading or writing a spill file of the bucket table failed.
    #[error("bucket table spill file in `{}`: {source}", dir.display())]
    Spill {
        /// The temporary directory the spill file lives in.
        dir: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_expected_and_found() {
        let e = Error::SettingsMismatch {
            field: "num_perm",
            expected: "128".into(),
            found: "256".into(),
        };
        let msg = e.to_string();
        assert!(msg.contains("`num_perm`") && msg.contains("`128`") && msg.contains("`256`"));

        let e = Error::Shingling { input: "word:0".into(), reason: "N must be at least 1" };
        assert!(e.to_string().contains("`word:0`"));
    }
}
