//! Flat JSON objects: read as strings (settings, small API answers), written from string fields
//! (request bodies); and [`parse`], the one way the crate reads JSON text: the engine's `JSON.parse`
//! with serde-wasm-bindgen in the Action's module, serde_json everywhere else. Kept to two flat
//! shapes so that the WebAssembly carries one reader and one writer rather than one per type.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One value of a flat JSON object.
#[derive(Clone, PartialEq, Eq)]
pub enum FlatValue {
    /// A string (numbers and booleans are kept as their text).
    Text(String),
    /// An object, array or `null`: never a valid setting.
    NotText,
}

impl fmt::Debug for FlatValue {
    // Values may be secrets: never print them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlatValue::Text(_) => f.write_str("Text(…)"),
            FlatValue::NotText => f.write_str("NotText"),
        }
    }
}

impl From<&str> for FlatValue {
    fn from(s: &str) -> Self {
        FlatValue::Text(s.to_owned())
    }
}

impl<'de> Deserialize<'de> for FlatValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FlatValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(FlatValue::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Self::Value, E> {
                Ok(FlatValue::Text(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Self::Value, E> {
                Ok(FlatValue::Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
                Ok(FlatValue::Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
                Ok(FlatValue::Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Self::Value, E> {
                // Whole numbers keep their integer spelling; no setting takes a fraction.
                Ok(if v.fract() == 0.0 && v.abs() < 1e15 {
                    FlatValue::Text((v as i64).to_string())
                } else {
                    FlatValue::NotText
                })
            }
            fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
                Ok(FlatValue::NotText)
            }
            fn visit_none<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
                Ok(FlatValue::NotText)
            }
            fn visit_some<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> std::result::Result<Self::Value, D::Error> {
                FlatValue::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FlatValue::NotText)
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(FlatValue::NotText)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A JSON object read as strings: settings sources (`event.secrets`, `event.configuration`, code
/// options) and the small flat answers of the token and Permit scope endpoints. A few dozen
/// entries at most, so a vector searched in order is enough (a `BTreeMap` costs the WebAssembly
/// ~3 KB more); one reader for all of them keeps one deserializer in it instead of one per type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlatObject(Vec<(String, FlatValue)>);

impl FlatObject {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&FlatValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The text of `key`, when it is a string, number or boolean.
    pub fn text(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(FlatValue::Text(t)) => Some(t),
            _ => None,
        }
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key`, replacing an earlier value.
    pub fn insert(&mut self, key: String, value: FlatValue) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key, value)),
        }
    }
}

impl FlatObject {
    /// The entries, in the order they were read.
    pub fn into_entries(self) -> impl Iterator<Item = (String, FlatValue)> {
        self.0.into_iter()
    }
}

impl FromIterator<(String, FlatValue)> for FlatObject {
    fn from_iter<I: IntoIterator<Item = (String, FlatValue)>>(iter: I) -> Self {
        let mut map = FlatObject::default();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl<'de> Deserialize<'de> for FlatObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FlatObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<FlatObject, A::Error> {
                let mut settings = FlatObject::default();
                while let Some((key, value)) = map.next_entry::<String, FlatValue>()? {
                    settings.insert(key, value);
                }
                Ok(settings)
            }
        }
        // Not `deserialize_map`: serde-wasm-bindgen reads an iterable's items there as key/value
        // pairs, so an array would pass as an object (or throw). Through `deserialize_any` an
        // array reaches `visit_seq`, which this visitor refuses.
        deserializer.deserialize_any(V)
    }
}

/// Writes a JSON object of string fields, e.g. a request body; `None` fields are left out. Strings are
/// escaped by serde_json (by the engine's `JSON.stringify` in the module); one helper for every body keeps a single serializer in the WebAssembly
/// instead of one per body type.
pub fn json_object(fields: &[(&str, Option<&str>)]) -> String {
    let mut out = String::from("{");
    for (name, value) in fields {
        let Some(value) = value else { continue };
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&json_string(name));
        out.push(':');
        out.push_str(&json_string(value));
    }
    out.push('}');
    out
}

#[cfg(not(all(target_arch = "wasm32", feature = "action")))]
fn json_string(s: &str) -> String {
    // Serializing a str cannot fail.
    serde_json::to_string(s).unwrap_or_default()
}

#[cfg(all(target_arch = "wasm32", feature = "action"))]
use crate::edge::engine::json_string;

/// Why a JSON text could not be read as the type asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// Not JSON at all (or cut short).
    Malformed,
    /// JSON, but not of the type's shape; the decoder's message says where.
    Shape(String),
}

impl ReadError {
    /// A short word for messages: `malformed` or `wrong shape`.
    pub fn kind(&self) -> &'static str {
        match self {
            ReadError::Malformed => "malformed",
            ReadError::Shape(_) => "wrong shape",
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Malformed => f.write_str("not JSON"),
            ReadError::Shape(why) => f.write_str(why),
        }
    }
}

/// Reads a JSON text as `T`. In the Action's module the engine parses it (`JSON.parse`, native
/// code) and serde-wasm-bindgen reads only the fields `T` declares; elsewhere (host tests, fuzzing,
/// Rust backends) serde_json reads it.
pub fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ReadError> {
    #[cfg(all(target_arch = "wasm32", feature = "action"))]
    {
        crate::edge::engine::parse(text)
            .map_err(|why| why.map_or(ReadError::Malformed, ReadError::Shape))
    }
    #[cfg(not(all(target_arch = "wasm32", feature = "action")))]
    {
        serde_json::from_str(text).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => ReadError::Shape(without_position(&e)),
            _ => ReadError::Malformed,
        })
    }
}

/// An answer's body as the runtime holds it. In the Action's module it stays the engine's
/// string: [`parse_body`] hands it to `JSON.parse` where it is, so no body is copied into the
/// module and out again (a 1000-permission login reads ~250 KB of JSON). Elsewhere, Rust text.
/// No method gives the text back: what an answer says reaches messages only through the fields
/// a type reads, never as a whole (a token answer holds a token).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Body(Text);

#[cfg(all(target_arch = "wasm32", feature = "action"))]
use crate::edge::engine::Text;
#[cfg(not(all(target_arch = "wasm32", feature = "action")))]
type Text = String;

impl Body {
    /// The first character after JSON's whitespace (space, tab, line feed, carriage return),
    /// which tells an array from an object; `None` when there is none.
    pub fn first_char(&self) -> Option<char> {
        #[cfg(all(target_arch = "wasm32", feature = "action"))]
        {
            crate::edge::engine::first_char(&self.0)
        }
        #[cfg(not(all(target_arch = "wasm32", feature = "action")))]
        {
            self.0
                .trim_start_matches([' ', '\t', '\n', '\r'])
                .chars()
                .next()
        }
    }
}

#[cfg(all(target_arch = "wasm32", feature = "action"))]
impl Body {
    /// A body the engine holds.
    pub fn from_engine(text: Text) -> Self {
        Body(text)
    }
}

impl From<String> for Body {
    // A move on the host, where `Text` is `String`; the engine's string in the Action's module.
    #[allow(clippy::useless_conversion)]
    fn from(text: String) -> Self {
        Body(text.into())
    }
}

impl From<&str> for Body {
    fn from(text: &str) -> Self {
        Body(text.into())
    }
}

impl fmt::Debug for Body {
    // A body may hold a credential (a token answer): never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Body(…)")
    }
}

/// Reads an answer's body as `T`, as [`parse`] reads text; in the Action's module the body does
/// not leave the engine before `JSON.parse`.
pub fn parse_body<T: serde::de::DeserializeOwned>(body: &Body) -> Result<T, ReadError> {
    #[cfg(all(target_arch = "wasm32", feature = "action"))]
    {
        crate::edge::engine::parse_text(&body.0)
            .map_err(|why| why.map_or(ReadError::Malformed, ReadError::Shape))
    }
    #[cfg(not(all(target_arch = "wasm32", feature = "action")))]
    {
        parse(&body.0)
    }
}

/// serde_json's message without its " at line L column C" suffix.
#[cfg(not(all(target_arch = "wasm32", feature = "action")))]
fn without_position(e: &serde_json::Error) -> String {
    let message = e.to_string();
    match message.find(" at line ") {
        Some(i) => message.get(..i).unwrap_or_default().to_owned(),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_objects_escape_and_skip_missing_fields() {
        let body = json_object(&[("a", Some("x\"y\\")), ("b", None), ("c\n", Some("é\u{1}"))]);
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed, serde_json::json!({"a": "x\"y\\", "c\n": "é\u{1}"}));
        assert_eq!(json_object(&[]), "{}");
    }

    #[test]
    fn a_body_starts_after_json_whitespace_only() {
        let first = |text: &str| Body::from(text).first_char();
        assert_eq!(first(" \n\t\r[1]"), Some('['));
        assert_eq!(first("{}"), Some('{'));
        assert_eq!(first(""), None);
        assert_eq!(first(" \n"), None);
        // What JSON does not call whitespace is the first character, as in the engine's build.
        assert_eq!(first("\u{feff}[1]"), Some('\u{feff}'));
        assert_eq!(first("\u{85}[1]"), Some('\u{85}'));
        assert_eq!(first(" \u{1f600}"), Some('\u{1f600}'));
        assert_eq!(
            format!("{:?}", Body::from("{\"access_token\":\"t\"}")),
            "Body(…)"
        );
    }

    #[test]
    fn flat_objects_keep_text_numbers_and_booleans_and_refuse_the_rest() {
        let o: FlatObject = serde_json::from_str(
            r#"{"a":"x","n":86400,"f":1.5,"b":true,"z":null,"o":{"k":[1]},"l":[1]}"#,
        )
        .unwrap();
        assert_eq!(o.text("a"), Some("x"));
        assert_eq!(o.text("n"), Some("86400"));
        assert_eq!(o.text("b"), Some("true"));
        for key in ["f", "z", "o", "l", "missing"] {
            assert_eq!(o.text(key), None, "{key}");
        }
        assert!(o.contains_key("o"));
        assert!(serde_json::from_str::<FlatObject>("[1]").is_err());
    }
}
