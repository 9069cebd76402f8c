//! Where settings are read from: the three sources, their precedence and the credential rule.
//!
//! Every setting is a string read, in order of precedence, from options passed in code (npm form
//! only), `event.configuration`, then `event.secrets`. Credentials are read only from secrets or
//! code options; found in `event.configuration`, where the dashboard shows them in clear, they
//! are refused. An empty value counts as not set. Numbers and booleans are accepted as their text.
//!
//! This module depends on nothing else of the crate but the error type and the flat JSON reader.

use std::fmt;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::json::{FlatObject, FlatValue};

/// One setting value as read (see [`FlatValue`]).
pub type SettingValue = FlatValue;

/// The settings of one source, a JSON object (see [`FlatObject`]).
pub type SettingMap = FlatObject;

/// The three places settings come from, highest precedence first. Read from the event's JSON
/// (`secrets`, `configuration`; an unreadable source counts as absent), with the code options
/// (npm form) set apart.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
pub struct Sources {
    /// Options passed in code (`postLogin(options)` in the npm form).
    #[serde(skip)]
    pub options: Option<SettingMap>,
    /// `event.configuration`.
    #[serde(default)]
    pub configuration: Option<SettingMap>,
    /// `event.secrets`.
    #[serde(default)]
    pub secrets: Option<SettingMap>,
}

/// Whether a key holds a credential (read only from secrets or code options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any source.
    Plain,
    /// Secrets or code options only.
    Credential,
}

impl Sources {
    /// The value of `key` (or one of its `aliases`), by precedence; `None` when unset or empty.
    pub fn get(&self, key: &str, aliases: &[&str], kind: Kind) -> Result<Option<&str>> {
        let names = std::iter::once(key).chain(aliases.iter().copied());
        let layers = [
            ("code options", &self.options),
            ("configuration", &self.configuration),
            ("secrets", &self.secrets),
        ];
        for (layer, map) in layers {
            let Some(map) = map else { continue };
            for name in names.clone() {
                match map.get(name) {
                    None => continue,
                    Some(SettingValue::NotText) => {
                        return Err(Error::config(format!(
                            "{name} must be a string (found in {layer}); set it as text"
                        )))
                    }
                    Some(SettingValue::Text(v)) if v.trim().is_empty() => continue,
                    Some(SettingValue::Text(v)) => {
                        if kind == Kind::Credential && layer == "configuration" {
                            return Err(Error::config(format!(
                                "{name} is a credential: store it as an Action secret, not configuration"
                            )));
                        }
                        return Ok(Some(v.trim()));
                    }
                }
            }
        }
        Ok(None)
    }

    /// A plain (non-credential) setting without aliases.
    pub fn plain(&self, key: &str) -> Result<Option<&str>> {
        self.get(key, &[], Kind::Plain)
    }

    /// A credential setting without aliases (refused in `event.configuration`).
    pub fn credential(&self, key: &str) -> Result<Option<&str>> {
        self.get(key, &[], Kind::Credential)
    }

    /// A whole number from `min` to `max`; `default` when unset.
    pub fn number(&self, key: &str, default: u32, min: u32, max: u32) -> Result<u32> {
        match self.plain(key)? {
            None => Ok(default),
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(Error::config(format!(
                    "{key} must be a whole number from {min} to {max}"
                ))),
            },
        }
    }
}

/// A secret string: compared and used, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}
