//! The settings an index is created with, checked in one place for every
//! face (`neardup index create`, Python's `Index.create`, a service).
//!
//! A face gathers the user's settings its own way (flags, keyword
//! arguments); [`index_settings`] then decides whether they can make an
//! index and what the index stores. Two checks written apart drift: one
//! face would create an index that the other refuses to use.

use neardup_core::decide::Unhonourable;
use neardup_core::{SettingError, Settings};
use serde_json::Value;

use crate::history::settings_json;

/// Why settings cannot make an index.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsRefused {
    /// A value, or values together, that no run accepts (naming the
    /// setting, as neardup-core's validation does).
    #[error(transparent)]
    Invalid(#[from] SettingError),
    /// Valid settings that an index cannot honour: which, and why.
    #[error(transparent)]
    Unhonourable(#[from] Unhonourable),
}

impl SettingsRefused {
    /// The setting refused, as the CLI spells it, when one is to blame.
    pub fn setting(&self) -> Option<&str> {
        match self {
            SettingsRefused::Invalid(SettingError::Invalid { name, .. }) => Some(name),
            SettingsRefused::Invalid(_) => None,
            SettingsRefused::Unhonourable(u) => Some(u.setting),
        }
    }
}

/// The settings to create an index with (as [`crate::Index::create`] takes
/// them: [`settings_json`]), if `settings` are valid and an index can
/// honour them: the first copy kept, Jaccard similarity, no repeated
/// substrings (see [`neardup_core::decide::unhonourable`]).
///
/// # Errors
/// [`SettingsRefused`], naming the setting and why.
pub fn index_settings(settings: &Settings) -> Result<Value, SettingsRefused> {
    settings.validate()?;
    if let Some(u) = neardup_core::decide::unhonourable(settings) {
        return Err(u.into());
    }
    Ok(settings_json(settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_an_index_cannot_honour_is_refused_naming_the_setting_and_why() {
        for (name, value, why) in [
            ("keep", "last", "later batch can overturn"),
            ("keep", "longest", "later batch can overturn"),
            ("similarity", "containment", "shorter record"),
            ("substrings", "true", "whole corpus"),
        ] {
            let mut s = Settings::default();
            s.set(name, value).unwrap();
            let e = index_settings(&s).unwrap_err();
            assert!(matches!(e, SettingsRefused::Unhonourable(_)), "{name}: {e:?}");
            assert_eq!(e.setting(), Some(name));
            assert!(e.to_string().contains(why), "{name}: {e}");
        }
    }

    #[test]
    fn invalid_settings_are_refused_as_invalid_and_good_ones_are_stored() {
        let mut s = Settings::default();
        s.set("threshold", "0.9").unwrap();
        assert_eq!(index_settings(&s).unwrap(), settings_json(&s));

        let mut bad = s.clone();
        bad.near.as_mut().unwrap().threshold = 1.5;
        let e = index_settings(&bad).unwrap_err();
        assert!(matches!(e, SettingsRefused::Invalid(_)), "{e:?}");
        assert_eq!(e.setting(), Some("threshold"));
        assert!(e.to_string().contains("1.5"), "{e}");
    }
}
