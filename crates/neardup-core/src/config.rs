//! A file run's configuration: [`Settings`] (what changes results), how
//! inputs are read, [`Resources`] (what changes speed), and what to report.

use neardup_io::{Fields, Layout};

use crate::settings::{Keep, OnError, Resources, Settings};

/// How records are read from files.
#[derive(Clone, Debug, Default)]
pub struct Input {
    /// JSON fields holding text and id.
    pub fields: Fields,
    /// How inputs are cut into records.
    pub layout: Layout,
    /// What to do with bad records.
    pub on_error: OnError,
}

/// Everything a run over files needs besides the files.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// What changes results.
    pub settings: Settings,
    /// How records are read.
    pub input: Input,
    /// Memory budget and temp directory.
    pub resources: Resources,
    /// Compute repetition statistics for every record (for the ledger).
    pub stats: bool,
    /// Read the inputs twice even when once would do (tests compare both).
    #[doc(hidden)]
    pub force_two_passes: bool,
}

impl Config {
    /// Whether every decision is known as soon as a record is read, so
    /// that the inputs need to be read only once: the first copy is kept,
    /// and no stage needs to see the whole corpus first.
    pub fn single_pass(&self) -> bool {
        let s = &self.settings;
        s.keep == Keep::First
            && s.near.is_none()
            && s.substrings.is_none()
            && !self.force_two_passes
    }

    /// The settings for the ledger header: [`Settings`] as JSON, the fields
    /// read, and the exact hash.
    pub fn header_settings(&self) -> serde_json::Value {
        let mut v = self.settings.to_json();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("text_field".into(), self.input.fields.text.clone().into());
            obj.insert("id_field".into(), self.input.fields.id.clone().into());
            obj.insert("hash".into(), "xxh3-128".into());
        }
        v
    }
}
