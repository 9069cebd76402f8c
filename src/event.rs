//! The part of Auth0's post-login `event` the Action reads.
//!
//! Only `event.user.user_id` is guaranteed by Auth0; everything else is optional and read as
//! such. Fields the Action does not use are never looked at, so an odd `app_metadata` or an extra
//! field cannot fail a login. Fields it does use are strict: a wrong type is an `event_invalid`
//! error naming the field, never a guess. Profile fields only forwarded to Permit (email, names)
//! are lenient: a non-string is treated as absent.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::error::{Code, Error};
use crate::settings::Sources;

/// The post-login event, reduced to what the Action uses.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Event {
    /// `event.user`.
    pub user: User,
    /// `event.authorization`; absent in some flows.
    #[serde(default)]
    pub authorization: Option<Authorization>,
    /// `event.resource_server`; absent when no API (`audience`) was requested, or Auth0's
    /// `…/userinfo` ([`Event::requested_api`] reads that as no API too).
    #[serde(default)]
    pub resource_server: Option<ResourceServer>,
    /// `event.organization`; present when the login goes through an Organization.
    #[serde(default)]
    pub organization: Option<Organization>,
}

/// `event.organization`, reduced.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Organization {
    /// `event.organization.id`, e.g. `org_…`.
    #[serde(default, deserialize_with = "organization_id")]
    pub id: Option<String>,
}

/// The key of `event.user.app_metadata` under which the Action keeps its permissions cache.
pub const APP_METADATA_KEY: &str = "auth0_rbac_claims";

/// `event.user`, reduced.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct User {
    /// `event.user.user_id`, e.g. `auth0|64f…`.
    #[serde(deserialize_with = "user_id")]
    pub user_id: String,
    /// `event.user.email`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub email: Option<String>,
    /// `event.user.given_name`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub given_name: Option<String>,
    /// `event.user.family_name`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub family_name: Option<String>,
    /// `event.user.name`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    /// `event.user.app_metadata[APP_METADATA_KEY]` when it is a string: the permissions cache a
    /// previous login stored. Every other key, and an `app_metadata` that is not an object, is
    /// skipped unread.
    #[serde(
        default,
        rename = "app_metadata",
        deserialize_with = "own_app_metadata"
    )]
    pub cached_permissions: Option<String>,
}

/// `event.authorization`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Authorization {
    /// Names of the user's roles; absent or `null` means none.
    #[serde(default, deserialize_with = "role_names")]
    pub roles: Option<Vec<String>>,
}

/// `event.resource_server`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResourceServer {
    /// The API identifier (audience) being requested.
    #[serde(default, deserialize_with = "identifier")]
    pub identifier: Option<String>,
}

impl Event {
    /// The user's role names: sorted, without duplicates or empty names (which a backend's
    /// reader would drop, see [`ClaimLayout::read`](crate::ClaimLayout::read)); `[]` when
    /// `event.authorization` is absent.
    pub fn roles(&self) -> Vec<String> {
        let mut roles = self
            .authorization
            .as_ref()
            .and_then(|a| a.roles.clone())
            .unwrap_or_default();
        roles.retain(|r| !r.is_empty());
        roles.sort_unstable();
        roles.dedup();
        roles
    }

    /// The Organization of the login (`event.organization.id`), if any.
    pub fn organization_id(&self) -> Option<&str> {
        self.organization
            .as_ref()
            .and_then(|o| o.id.as_deref())
            .filter(|s| !s.is_empty())
    }

    /// The requested API identifier, if any. The audience `https://<tenant domain>/userinfo`
    /// (an http(s) origin followed by the path `/userinfo` and nothing else) is Auth0's
    /// OpenID Connect user-profile endpoint, not an API: a login for it, which apps send when
    /// they want no API, counts as no API requested.
    pub fn requested_api(&self) -> Option<&str> {
        self.resource_server
            .as_ref()
            .and_then(|r| r.identifier.as_deref())
            .filter(|s| !s.is_empty() && !is_userinfo(s))
    }
}

/// Whether `identifier` is an http(s) origin followed by exactly `/userinfo`.
fn is_userinfo(identifier: &str) -> bool {
    identifier
        .strip_suffix("/userinfo")
        .and_then(|origin| {
            origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
        })
        .is_some_and(|host| !host.is_empty() && !host.bytes().any(|b| b == b'/'))
}

/// The error for an event that cannot be read; `why` comes from the field decoders below.
pub fn invalid(why: impl fmt::Display) -> Error {
    Error::new(
        Code::EventInvalid,
        format!("the login event cannot be read: {why}"),
    )
}

/// Parses an event from its JSON text: its settings sources (`event.secrets`,
/// `event.configuration`) and the rest, each on its own, so that an unreadable event still has
/// its error policy. Sources that cannot be read (not objects) count as absent: no setting is
/// found and the login fails with `config_invalid`. Fields not read are skipped without being
/// decoded (and without a nesting limit).
pub fn from_json(text: &str) -> (Sources, Result<Event, Error>) {
    let settings = crate::json::parse(text).unwrap_or_default();
    let event = crate::json::parse(text).map_err(invalid);
    (settings, event)
}

struct StrictString(&'static str);

impl<'de> Visitor<'de> for StrictString {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} as a string", self.0)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
}

fn type_error<E: de::Error>(what: &str) -> E {
    E::custom(format_args!("{what} must be a string"))
}

/// `value` of the field `what`, unless it holds U+FFFD. The engine hands a lone UTF-16 surrogate
/// over to the module as U+FFFD, so it is refused like serde_json refuses the surrogate itself:
/// an id or role name is never silently replaced.
fn whole<E: de::Error>(what: &str, value: String) -> Result<String, E> {
    // Compared char by char: `contains` with a char outside ASCII searches for its UTF-8 bytes
    // with core's two-way string searcher, which nothing else in the module needs.
    if value.chars().any(|c| c == char::REPLACEMENT_CHARACTER) {
        return Err(E::custom(format_args!(
            "{what} holds an unpaired UTF-16 surrogate (or U+FFFD)"
        )));
    }
    Ok(value)
}

fn user_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let id = d
        .deserialize_string(StrictString("event.user.user_id"))
        .map_err(|_: D::Error| type_error("event.user.user_id"))?;
    let id = whole("event.user.user_id", id)?;
    if id.is_empty() {
        return Err(de::Error::custom("event.user.user_id is empty"));
    }
    Ok(id)
}

fn identifier<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let what = "event.resource_server.identifier";
    Option::<StrictField>::deserialize(d)
        .map_err(|_| type_error(what))?
        .map(|s| whole(what, s.0))
        .transpose()
}

fn organization_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let what = "event.organization.id";
    Option::<StrictField>::deserialize(d)
        .map_err(|_| type_error(what))?
        .map(|s| whole(what, s.0))
        .transpose()
}

/// `app_metadata[APP_METADATA_KEY]` if `app_metadata` is an object and that value a string;
/// anything else is skipped and counts as absent.
fn own_app_metadata<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("anything")
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            let mut found = None;
            while let Some(key) = a.next_key::<KeyIs>()? {
                if key.0 {
                    found = a.next_value::<Lenient>()?.0;
                } else {
                    a.next_value::<de::IgnoredAny>()?;
                }
            }
            Ok(found)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a.next_element::<de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(V)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    /// Whether a key is [`APP_METADATA_KEY`], without keeping it.
    struct KeyIs(bool);
    impl<'de> Deserialize<'de> for KeyIs {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct K;
            impl<'de> Visitor<'de> for K {
                type Value = KeyIs;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a key")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyIs, E> {
                    Ok(KeyIs(v == APP_METADATA_KEY))
                }
            }
            d.deserialize_str(K)
        }
    }
    struct Lenient(Option<String>);
    impl<'de> Deserialize<'de> for Lenient {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            lenient_string(d).map(Lenient)
        }
    }
    d.deserialize_any(V)
}

fn role_names<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Option::<Vec<StrictField>>::deserialize(d)
        .map_err(|_| {
            de::Error::custom("event.authorization.roles must be an array of role names (strings)")
        })?
        .map(|v| {
            v.into_iter()
                .map(|s| whole("a role name in event.authorization.roles", s.0))
                .collect()
        })
        .transpose()
}

/// A string field whose type error is reported by the caller.
struct StrictField(String);

impl<'de> Deserialize<'de> for StrictField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_string(StrictString("value")).map(StrictField)
    }
}

/// Accepts a string, treats anything else as absent.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("anything")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(V)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a.next_element::<de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a.next_entry::<de::IgnoredAny, de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_json(text: &str) -> Result<Event, Error> {
        from_json(text).1
    }

    #[test]
    fn settings_are_read_even_when_the_rest_of_the_event_is_not() {
        let (settings, event) =
            from_json(r#"{"user":7,"secrets":{"ON_ERROR":"continue"},"configuration":null}"#);
        assert!(event.is_err());
        assert!(settings.secrets.unwrap().contains_key("ON_ERROR"));
        assert!(settings.configuration.is_none());
        let (settings, _) =
            from_json(r#"{"user":7,"secrets":{"ON_ERROR":"continue"},"configuration":"x"}"#);
        assert!(
            settings.secrets.is_none(),
            "an unreadable source means no settings at all"
        );
        let (settings, event) = from_json("{not json");
        assert!(settings.secrets.is_none());
        assert_eq!(event.unwrap_err().code(), Code::EventInvalid);
    }

    #[test]
    fn a_replacement_character_in_a_used_field_is_refused_elsewhere_ignored() {
        // The engine turns a lone surrogate into U+FFFD before the module sees it.
        for text in [
            r#"{"user":{"user_id":"auth0|\ufffd"}}"#,
            r#"{"user":{"user_id":"u"},"authorization":{"roles":["ad\ufffdmin"]}}"#,
            r#"{"user":{"user_id":"u"},"organization":{"id":"org_\ufffd"}}"#,
        ] {
            let error = event_json(text).unwrap_err();
            assert_eq!(error.code(), Code::EventInvalid, "{text}");
            assert!(error.to_string().contains("surrogate"), "{error}");
        }
        let e = event_json(r#"{"user":{"user_id":"u","nickname":"x\ufffd"}}"#).unwrap();
        assert_eq!(e.user.user_id, "u");
    }

    #[test]
    fn a_minimal_event_has_no_roles_and_no_api() {
        let e = event_json(r#"{"user":{"user_id":"auth0|1"}}"#).unwrap();
        assert_eq!(e.user.user_id, "auth0|1");
        assert!(e.roles().is_empty());
        assert_eq!(e.requested_api(), None);
    }

    #[test]
    fn roles_are_sorted_and_deduplicated_and_null_means_none() {
        let e = event_json(
            r#"{"user":{"user_id":"u"},"authorization":{"roles":["viewer","admin","viewer"]}}"#,
        )
        .unwrap();
        assert_eq!(e.roles(), ["admin", "viewer"]);
        let e = event_json(r#"{"user":{"user_id":"u"},"authorization":{"roles":null}}"#).unwrap();
        assert!(e.roles().is_empty());
        let e = event_json(r#"{"user":{"user_id":"u"},"authorization":null}"#).unwrap();
        assert!(e.roles().is_empty());
    }

    #[test]
    fn wrong_types_in_used_fields_name_the_field() {
        let cases = [
            (
                r#"{"user":{"user_id":5}}"#,
                "event.user.user_id must be a string",
            ),
            (r#"{"user":{"user_id":""}}"#, "event.user.user_id is empty"),
            (r#"{"user":{}}"#, "user_id"),
            (r#"{}"#, "user"),
            (
                r#"{"user":{"user_id":"u"},"authorization":{"roles":["a",7]}}"#,
                "event.authorization.roles must be an array",
            ),
            (
                r#"{"user":{"user_id":"u"},"authorization":{"roles":"admin"}}"#,
                "event.authorization.roles must be an array",
            ),
            (
                r#"{"user":{"user_id":"u"},"resource_server":{"identifier":{}}}"#,
                "event.resource_server.identifier must be a string",
            ),
        ];
        for (json, why) in cases {
            let e = event_json(json).unwrap_err();
            assert_eq!(e.code(), Code::EventInvalid, "{json}");
            assert!(e.message().contains(why), "{json}: {}", e.message());
        }
    }

    #[test]
    fn unused_and_odd_fields_are_ignored_and_profile_fields_are_lenient() {
        let e = event_json(
            r#"{"user":{"user_id":"u","email":42,"name":"Ann","app_metadata":{"a":[[[[1]]]]},
                "given_name":null,"identities":"weird"},"stats":{"logins_count":3},
                "transaction":7,"whatever":{"deep":[1,2,3]}}"#,
        )
        .unwrap();
        assert_eq!(e.user.email, None);
        assert_eq!(e.user.name.as_deref(), Some("Ann"));
    }

    #[test]
    fn the_userinfo_audience_counts_as_no_requested_api() {
        let with = |identifier: &str| Event {
            resource_server: Some(ResourceServer {
                identifier: Some(identifier.into()),
            }),
            ..Event::default()
        };
        for userinfo in [
            "https://tenant.eu.auth0.com/userinfo",
            "http://127.0.0.1:8080/userinfo",
        ] {
            assert_eq!(with(userinfo).requested_api(), None, "{userinfo}");
        }
        for api in [
            "https://api.example.com",
            "https://api.example.com/userinfo/",
            "https://api.example.com/v1/userinfo",
            "https:///userinfo",
            "urn:example:userinfo",
            "/userinfo",
        ] {
            assert_eq!(with(api).requested_api(), Some(api), "{api}");
        }
    }

    #[test]
    fn an_empty_identifier_counts_as_no_requested_api() {
        let e =
            event_json(r#"{"user":{"user_id":"u"},"resource_server":{"identifier":""}}"#).unwrap();
        assert_eq!(e.requested_api(), None);
    }
}
