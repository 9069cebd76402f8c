//! Settings: where they are read from, their defaults, and their validation.
//!
//! | module | what it holds |
//! |---|---|
//! | [`sources`] | the three sources (code options, `event.configuration`, `event.secrets`), precedence, the credential rule, [`Secret`] |
//! | [`origin`] | the URL and host grammar: [`Namespace`], [`TenantOrigin`], reserved hosts, [`path_segment`] |
//! | [`permit`] | Permit.io's settings ([`PermitSettings`]) |
//! | [`keys`] | every key: name, aliases, credential or not, default, one line of doc |
//!
//! This module puts them together into [`Settings`], one login's validated settings. Each module
//! depends only on modules below it (`sources` and `origin` on nothing of the crate but the error
//! type and the flat JSON reader), so no module of the crate imports one that imports it back.

pub mod keys;
pub mod origin;
pub mod permit;
pub mod sources;

pub use origin::{is_loopback, path_segment, Namespace, TenantOrigin};
pub use permit::{is_role_key, PermitSettings, SyncMode};
pub use sources::{Kind, Secret, SettingMap, SettingValue, Sources};

use crate::claims::Targets;
use crate::error::{Code, Error, ErrorPolicy, Result};
use crate::permissions::ApiSelection;

/// Where a login's permissions come from (`PERMISSIONS_SOURCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionsSource {
    /// `user` (default): the user's permissions endpoint, direct grants and roles.
    User,
    /// `roles`: the definitions of the roles in the event, cached per role; no per-user request,
    /// and no directly granted permission.
    Roles,
}

impl PermissionsSource {
    /// `user` or `roles`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PermissionsSource::User => "user",
            PermissionsSource::Roles => "roles",
        }
    }
}

/// How long computed permissions are reused, in seconds (`PERMISSIONS_TTL`,
/// `PERMISSIONS_STALE_MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// Reused without a request while younger than this (jittered per user); `0` turns the
    /// cache off.
    pub ttl_s: u32,
    /// Used anyway, when a refresh fails with 429, 5xx, a timeout or a connection failure, while
    /// younger than this.
    pub stale_max_s: u32,
}

/// Default of `PERMISSIONS_TTL`: five minutes (see the README's "At scale").
pub const DEFAULT_PERMISSIONS_TTL_S: u32 = 300;
/// Largest `PERMISSIONS_TTL`.
pub const MAX_PERMISSIONS_TTL_S: u32 = 900;
/// Default of `PERMISSIONS_STALE_MAX`: a day.
pub const DEFAULT_PERMISSIONS_STALE_MAX_S: u32 = 86_400;
/// Largest `PERMISSIONS_STALE_MAX`: 30 days, Auth0's longest access-token lifetime.
pub const MAX_PERMISSIONS_STALE_MAX_S: u32 = 2_592_000;

/// M2M credentials and tenant for the Management API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagementSettings {
    /// The canonical tenant (`AUTH0_DOMAIN`).
    pub origin: TenantOrigin,
    /// `AUTH0_CLIENT_ID`.
    pub client_id: String,
    /// `AUTH0_CLIENT_SECRET`.
    pub client_secret: Secret,
}

/// All settings of one login, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `CLAIM_NAMESPACE`.
    pub namespace: Namespace,
    /// `ROLES_IN`. Defaults to both tokens.
    pub roles_in: Targets,
    /// `PERMISSIONS_IN`. Defaults to both tokens; `none` turns the Management API off.
    pub permissions_in: Targets,
    /// `ID_TOKEN_APIS`. Defaults to the requested API, else all.
    pub id_token_apis: ApiSelection,
    /// `ON_ERROR`. Defaults to `deny`.
    pub on_error: ErrorPolicy,
    /// `HTTP_TIMEOUT_MS`, per outbound request. Defaults to 3000.
    pub http_timeout_ms: u32,
    /// `DEADLINE_MS`, for the whole Action. Defaults to 10000.
    pub deadline_ms: u32,
    /// `MAX_CLAIMS_BYTES`, per token. Defaults to 100000.
    pub max_claims_bytes: usize,
    /// `PERMISSIONS_SOURCE`. Defaults to `user`.
    pub source: PermissionsSource,
    /// `PERMISSIONS_ENDPOINT=effective` with `PERMISSIONS_SOURCE=user`: the user's permissions
    /// from `/users/{id}/effective-permissions` (groups included), one API at a time. Defaults
    /// to `permissions` (`/users/{id}/permissions`).
    pub effective: bool,
    /// `PERMISSIONS_TTL` and `PERMISSIONS_STALE_MAX`.
    pub freshness: Freshness,
    /// The Management API, present when permissions are on.
    pub management: Option<ManagementSettings>,
    /// Permit.io sync, present when `PERMIT_SYNC` is not `off`.
    pub permit: Option<PermitSettings>,
}

/// Default of `HTTP_TIMEOUT_MS`.
pub const DEFAULT_HTTP_TIMEOUT_MS: u32 = 3_000;
/// Default of `DEADLINE_MS`.
pub const DEFAULT_DEADLINE_MS: u32 = 10_000;
/// Default and maximum of `MAX_CLAIMS_BYTES`: Auth0 fails a login whose custom claims exceed it.
pub const AUTH0_CLAIMS_LIMIT: usize = 100_000;

impl Settings {
    /// Reads the error policy alone, so that even a configuration error follows it. An invalid
    /// `ON_ERROR` falls back to `deny` (and is reported by [`Settings::from_sources`]).
    pub fn error_policy(sources: &Sources) -> ErrorPolicy {
        sources
            .get("ON_ERROR", &[], Kind::Plain)
            .ok()
            .flatten()
            .and_then(|v| ErrorPolicy::parse("ON_ERROR", v).ok())
            .unwrap_or(ErrorPolicy::Deny)
    }

    /// Reads and validates every setting. The first problem found is returned as
    /// `config_invalid` (or `credentials_missing`) with a message naming the key and the fix.
    pub fn from_sources(sources: &Sources) -> Result<Settings> {
        let s = sources;
        let on_error = match s.get("ON_ERROR", &[], Kind::Plain)? {
            Some(v) => ErrorPolicy::parse("ON_ERROR", v)?,
            None => ErrorPolicy::Deny,
        };
        let namespace = match s.get("CLAIM_NAMESPACE", &[], Kind::Plain)? {
            None => {
                return Err(Error::config(
                    "CLAIM_NAMESPACE is not set: add the secret CLAIM_NAMESPACE, e.g. https://myapp.example.com"
                        .into(),
                ))
            }
            Some(v) => Namespace::parse(v).map_err(|why| {
                Error::config(format!(
                    "CLAIM_NAMESPACE is refused: {why}; use an http(s) URL or URN you own, e.g. https://myapp.example.com"
                ))
            })?,
        };
        let targets = |key| -> Result<Targets> {
            Ok(match s.get(key, &[], Kind::Plain)? {
                Some(v) => Targets::parse(key, v)?,
                None => Targets::BOTH,
            })
        };
        let roles_in = targets("ROLES_IN")?;
        let permissions_in = targets("PERMISSIONS_IN")?;
        let id_token_apis = match s.get("ID_TOKEN_APIS", &[], Kind::Plain)? {
            None => ApiSelection::RequestedElseAll,
            Some("*") => ApiSelection::All,
            Some(v) => {
                let list: Vec<String> = v
                    .split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect();
                if list.iter().any(|a| a == "*") {
                    return Err(Error::config(
                        "ID_TOKEN_APIS: * means every API and cannot be combined with identifiers"
                            .into(),
                    ));
                }
                // Nothing but commas and spaces: as if empty, so not set.
                match list.is_empty() {
                    true => ApiSelection::RequestedElseAll,
                    false => ApiSelection::List(list),
                }
            }
        };
        let http_timeout_ms = s.number("HTTP_TIMEOUT_MS", DEFAULT_HTTP_TIMEOUT_MS, 100, 10_000)?;
        let deadline_ms = s.number("DEADLINE_MS", DEFAULT_DEADLINE_MS, 500, 20_000)?;
        let max_claims_bytes = s.number(
            "MAX_CLAIMS_BYTES",
            AUTH0_CLAIMS_LIMIT as u32,
            1,
            AUTH0_CLAIMS_LIMIT as u32,
        )? as usize;
        let source = match s.get("PERMISSIONS_SOURCE", &[], Kind::Plain)? {
            None => PermissionsSource::User,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "user" => PermissionsSource::User,
                "roles" => PermissionsSource::Roles,
                _ => {
                    return Err(Error::config(
                        "PERMISSIONS_SOURCE must be user or roles".into(),
                    ))
                }
            },
        };
        let effective = match s.get("PERMISSIONS_ENDPOINT", &[], Kind::Plain)? {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("permissions") => false,
            Some(v) if v.eq_ignore_ascii_case("effective") => true,
            Some(_) => {
                return Err(Error::config(
                    "PERMISSIONS_ENDPOINT must be permissions or effective".into(),
                ))
            }
        };
        // It applies to the user's permissions only (not to PERMISSIONS_SOURCE=roles).
        let effective = effective && source == PermissionsSource::User && !permissions_in.is_none();
        if effective && id_token_apis == ApiSelection::All {
            return Err(Error::config("ID_TOKEN_APIS=* cannot be read with PERMISSIONS_ENDPOINT=effective, which reads one API at a time: list the APIs".into()));
        }
        let freshness = Freshness {
            ttl_s: s.number(
                "PERMISSIONS_TTL",
                DEFAULT_PERMISSIONS_TTL_S,
                0,
                MAX_PERMISSIONS_TTL_S,
            )?,
            stale_max_s: s.number(
                "PERMISSIONS_STALE_MAX",
                DEFAULT_PERMISSIONS_STALE_MAX_S,
                0,
                MAX_PERMISSIONS_STALE_MAX_S,
            )?,
        };
        // Read even when unused: a credential in `event.configuration` is refused all the same,
        // as the dashboard shows it in clear whatever the settings that read it.
        let client_id = s.get("AUTH0_CLIENT_ID", &["clientId"], Kind::Credential)?;
        let client_secret = s.get("AUTH0_CLIENT_SECRET", &["clientSecret"], Kind::Credential)?;
        let management = if permissions_in.is_none() {
            None
        } else {
            Some(management(s, client_id, client_secret)?)
        };
        let permit = PermitSettings::from_sources(s)?;
        Ok(Settings {
            namespace,
            roles_in,
            permissions_in,
            id_token_apis,
            on_error,
            http_timeout_ms,
            deadline_ms,
            max_claims_bytes,
            source,
            effective,
            freshness,
            management,
            permit,
        })
    }
}

fn management(
    s: &Sources,
    client_id: Option<&str>,
    client_secret: Option<&str>,
) -> Result<ManagementSettings> {
    let domain = s.get("AUTH0_DOMAIN", &["domain"], Kind::Plain)?;
    let missing: Vec<&str> = [
        ("AUTH0_DOMAIN", domain.is_none()),
        ("AUTH0_CLIENT_ID", client_id.is_none()),
        ("AUTH0_CLIENT_SECRET", client_secret.is_none()),
    ]
    .into_iter()
    .filter_map(|(k, m)| m.then_some(k))
    .collect();
    match (domain, client_id, client_secret) {
        (Some(domain), Some(client_id), Some(secret)) => {
            let origin = TenantOrigin::parse(domain).map_err(|why| {
                Error::config(format!(
                    "AUTH0_DOMAIN is invalid: {why}; use the canonical tenant domain, e.g. dev-abc.us.auth0.com"
                ))
            })?;
            Ok(ManagementSettings {
                origin,
                client_id: client_id.to_owned(),
                client_secret: Secret::new(secret),
            })
        }
        _ => Err(Error::new(
            Code::CredentialsMissing,
            format!(
                "permissions need the Management API but {} not set: add the secret(s), or set PERMISSIONS_IN=none for roles only",
                crate::join(&missing, ", ") + if missing.len() == 1 { " is" } else { " are" }
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> SettingMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), SettingValue::from(*v)))
            .collect()
    }

    fn from_secrets(pairs: &[(&str, &str)]) -> Result<Settings> {
        let m = map(pairs);
        Settings::from_sources(&Sources {
            secrets: Some(m.clone()),
            ..Sources::default()
        })
    }

    #[test]
    fn good_namespaces_are_accepted_and_normalised() {
        let cases = [
            ("https://myapp.example.com", "https://myapp.example.com"),
            ("https://myapp.example.com/", "https://myapp.example.com"),
            (
                "  https://myapp.example.com/claims/ ",
                "https://myapp.example.com/claims",
            ),
            ("http://myapp.example.com", "http://myapp.example.com"),
            ("HTTPS://MyApp.Example.com", "HTTPS://MyApp.Example.com"),
            ("https://example.com:8443/x", "https://example.com:8443/x"),
            ("https://localhost", "https://localhost"),
            ("https://notauth0.com", "https://notauth0.com"),
            ("https://auth0.company.com", "https://auth0.company.com"),
            (
                "https://webtask.io.example.org",
                "https://webtask.io.example.org",
            ),
            ("https://[::1]:443", "https://[::1]:443"),
            ("urn:myapp:claims", "urn:myapp:claims"),
            ("urn:example-corp:auth:v1", "urn:example-corp:auth:v1"),
            ("urn:auth1:claims", "urn:auth1:claims"),
            ("urn:myapp:claims/", "urn:myapp:claims"),
            (
                "https://example.com/a-._~!$&'()*+,;=:@%20/b",
                "https://example.com/a-._~!$&'()*+,;=:@%20/b",
            ),
        ];
        for (input, expected) in cases {
            let ns = Namespace::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(ns.as_str(), expected, "{input}");
        }
    }

    #[test]
    fn bad_namespaces_are_refused_with_a_reason() {
        let cases = [
            ("", "empty"),
            ("   ", "empty"),
            ("myapp", "neither"),
            ("myapp.example.com", "neither"),
            ("ftp://example.com", "neither"),
            ("https://", "no host"),
            ("https:///path", "no host"),
            ("https://auth0.com", "belong to Auth0"),
            ("https://AUTH0.COM/", "belong to Auth0"),
            ("https://tenant.us.auth0.com", "belong to Auth0"),
            ("https://webtask.io", "belong to Auth0"),
            ("https://x.webtask.io", "belong to Auth0"),
            ("https://webtask.run", "belong to Auth0"),
            ("http://sandbox.webtask.run/claims", "belong to Auth0"),
            ("urn:auth0", "reserved"),
            ("urn:auth0:claims", "reserved"),
            ("URN:Auth0:claims", "reserved"),
            ("urn:auth0x:claims", "reserved"),
            ("urn:auth0-corp:claims", "reserved"),
            ("urn:", "identifier"),
            ("urn:x:claims", "identifier"),
            ("urn:myapp", "nothing after"),
            ("urn:myapp:", "nothing after"),
            ("https://example.com?x=1", "query"),
            ("https://example.com/#frag", "query"),
            ("https://user@example.com", "user information"),
            ("https://exa mple.com", "valid host"),
            ("https://-bad.example.com", "valid host"),
            ("https://example..com", "valid host"),
            ("https://example.com:0", "port"),
            ("https://example.com:99999", "port"),
            ("https://example.com:", "port"),
            ("https://exämple.com", "ASCII"),
            ("https://example.com/a b", "character"),
            ("https://example.com//x", "empty segment"),
            ("https://example.com/x//", "empty segment"),
            ("https://example.com/caf\u{e9}", "ASCII"),
            ("https://example.com/x<y", "character '<'"),
            ("https://example.com/a\"b", "character '\"'"),
            ("https://[zz::1]", "IPv6"),
        ];
        for (input, why) in cases {
            match Namespace::parse(input) {
                Ok(ns) => panic!("{input:?} accepted as {ns:?}"),
                Err(e) => assert!(e.contains(why), "{input:?}: {e:?} lacks {why:?}"),
            }
        }
    }

    #[test]
    fn namespace_errors_are_config_invalid_and_name_the_key_and_the_fix() {
        let e = from_secrets(&[("CLAIM_NAMESPACE", "https://x.auth0.com")]).unwrap_err();
        assert_eq!(e.code(), Code::ConfigInvalid);
        assert!(e.message().contains("CLAIM_NAMESPACE"));
        assert!(e.message().contains("e.g. https://myapp.example.com"));
        let e = from_secrets(&[]).unwrap_err();
        assert_eq!(e.code(), Code::ConfigInvalid);
        assert!(e.message().contains("CLAIM_NAMESPACE is not set"));
    }

    #[test]
    fn defaults_apply_when_only_the_namespace_and_credentials_are_set() {
        let s = from_secrets(&[
            ("CLAIM_NAMESPACE", "https://myapp.example.com"),
            ("AUTH0_DOMAIN", "dev-abc.us.auth0.com"),
            ("AUTH0_CLIENT_ID", "cid"),
            ("AUTH0_CLIENT_SECRET", "shh"),
        ])
        .unwrap();
        assert_eq!(s.roles_in, Targets::BOTH);
        assert_eq!(s.permissions_in, Targets::BOTH);
        assert_eq!(s.id_token_apis, ApiSelection::RequestedElseAll);
        assert_eq!(s.on_error, ErrorPolicy::Deny);
        assert_eq!(s.http_timeout_ms, 3000);
        assert_eq!(s.deadline_ms, 10000);
        assert_eq!(s.max_claims_bytes, 100000);
        assert_eq!(s.source, PermissionsSource::User);
        assert_eq!(
            s.freshness,
            Freshness {
                ttl_s: 300,
                stale_max_s: 86_400
            }
        );
        let m = s.management.unwrap();
        assert_eq!(m.origin.as_str(), "https://dev-abc.us.auth0.com");
        assert_eq!(m.client_secret.expose(), "shh");
        assert!(s.permit.is_none());
    }

    #[test]
    fn the_permissions_cache_settings_are_read_and_bounded() {
        let base = [
            ("CLAIM_NAMESPACE", "https://myapp.example.com"),
            ("PERMISSIONS_IN", "none"),
        ];
        let with = |extra: &[(&str, &str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            from_secrets(&pairs)
        };
        let s = with(&[
            ("PERMISSIONS_SOURCE", "Roles"),
            ("PERMISSIONS_TTL", "0"),
            ("PERMISSIONS_STALE_MAX", "60"),
        ])
        .unwrap();
        assert_eq!(s.source, PermissionsSource::Roles);
        assert_eq!(
            s.freshness,
            Freshness {
                ttl_s: 0,
                stale_max_s: 60
            }
        );
        for (key, value) in [
            ("PERMISSIONS_SOURCE", "groups"),
            ("PERMISSIONS_TTL", "901"),
            ("PERMISSIONS_TTL", "-1"),
            ("PERMISSIONS_STALE_MAX", "2592001"),
        ] {
            let e = with(&[(key, value)]).unwrap_err();
            assert_eq!(e.code(), Code::ConfigInvalid, "{key}={value}");
            assert!(e.message().starts_with(key), "{}", e.message());
        }
    }

    #[test]
    fn permissions_on_without_credentials_is_credentials_missing_naming_what_is_missing() {
        let e = from_secrets(&[
            ("CLAIM_NAMESPACE", "https://myapp.example.com"),
            ("AUTH0_DOMAIN", "dev-abc.us.auth0.com"),
        ])
        .unwrap_err();
        assert_eq!(e.code(), Code::CredentialsMissing);
        assert!(e
            .message()
            .contains("AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET are not set"));
        assert!(e.message().contains("PERMISSIONS_IN=none"));
        let s = from_secrets(&[
            ("CLAIM_NAMESPACE", "https://myapp.example.com"),
            ("PERMISSIONS_IN", "none"),
        ])
        .unwrap();
        assert!(s.management.is_none());
    }

    #[test]
    fn precedence_is_code_options_then_configuration_then_secrets_and_aliases_work() {
        let options = map(&[("ROLES_IN", "access_token")]);
        let configuration = map(&[("ROLES_IN", "id_token"), ("PERMISSIONS_IN", "id_token")]);
        let secrets = map(&[
            ("CLAIM_NAMESPACE", "https://a.example.com"),
            ("ROLES_IN", "none"),
            ("PERMISSIONS_IN", "none"),
            ("ON_ERROR", "continue"),
            ("domain", "dev.eu.auth0.com"),
            ("clientId", "alias-id"),
            ("clientSecret", "alias-secret"),
        ]);
        let s = Settings::from_sources(&Sources {
            options: Some(options.clone()),
            configuration: Some(configuration.clone()),
            secrets: Some(secrets.clone()),
        })
        .unwrap();
        assert_eq!(
            s.roles_in,
            Targets {
                id_token: false,
                access_token: true
            }
        );
        assert_eq!(
            s.permissions_in,
            Targets {
                id_token: true,
                access_token: false
            }
        );
        assert_eq!(s.on_error, ErrorPolicy::Continue);
        let m = s.management.unwrap();
        assert_eq!(m.client_id, "alias-id");
        assert_eq!(m.origin.as_str(), "https://dev.eu.auth0.com");
    }

    #[test]
    fn canonical_key_wins_over_alias_in_the_same_source_and_empty_means_unset() {
        let secrets = map(&[
            ("CLAIM_NAMESPACE", "https://a.example.com"),
            ("AUTH0_DOMAIN", "canonical.auth0.com"),
            ("domain", "alias.auth0.com"),
            ("AUTH0_CLIENT_ID", "  "),
            ("clientId", "from-alias"),
            ("AUTH0_CLIENT_SECRET", "s"),
        ]);
        let s = Settings::from_sources(&Sources {
            secrets: Some(secrets.clone()),
            ..Sources::default()
        })
        .unwrap();
        let m = s.management.unwrap();
        assert_eq!(m.origin.as_str(), "https://canonical.auth0.com");
        assert_eq!(m.client_id, "from-alias");
    }

    #[test]
    fn credentials_in_configuration_are_refused_without_echoing_them() {
        let configuration = map(&[("AUTH0_CLIENT_SECRET", "top-secret-value")]);
        let secrets = map(&[("CLAIM_NAMESPACE", "https://a.example.com")]);
        let e = Settings::from_sources(&Sources {
            configuration: Some(configuration.clone()),
            secrets: Some(secrets.clone()),
            ..Sources::default()
        })
        .unwrap_err();
        assert_eq!(e.code(), Code::ConfigInvalid);
        assert!(e.message().contains("AUTH0_CLIENT_SECRET is a credential"));
        assert!(!e.log_line().contains("top-secret-value"));
        // Also when no token carries permissions and the credentials are not read.
        for key in ["AUTH0_CLIENT_SECRET", "AUTH0_CLIENT_ID", "clientSecret"] {
            let e = Settings::from_sources(&Sources {
                configuration: Some(map(&[(key, "top-secret-value")])),
                secrets: Some(map(&[
                    ("CLAIM_NAMESPACE", "https://a.example.com"),
                    ("PERMISSIONS_IN", "none"),
                ])),
                ..Sources::default()
            })
            .unwrap_err();
            assert_eq!(e.code(), Code::ConfigInvalid, "{key}");
            assert!(e.message().contains("is a credential"), "{key}");
        }
    }

    #[test]
    fn list_and_number_settings_are_validated() {
        let base = [
            ("CLAIM_NAMESPACE", "https://a.example.com"),
            ("PERMISSIONS_IN", "none"),
        ];
        let bad = [
            ("ROLES_IN", "id_token,refresh_token", "ROLES_IN must be"),
            ("ROLES_IN", "none,id_token", "ROLES_IN must be"),
            ("PERMISSIONS_IN", "everywhere", "PERMISSIONS_IN must be"),
            ("ON_ERROR", "ignore", "ON_ERROR must be deny or continue"),
            (
                "HTTP_TIMEOUT_MS",
                "abc",
                "HTTP_TIMEOUT_MS must be a whole number from 100 to 10000",
            ),
            ("HTTP_TIMEOUT_MS", "50", "HTTP_TIMEOUT_MS"),
            (
                "DEADLINE_MS",
                "30000",
                "DEADLINE_MS must be a whole number from 500 to 20000",
            ),
            ("MAX_CLAIMS_BYTES", "100001", "MAX_CLAIMS_BYTES"),
            ("MAX_CLAIMS_BYTES", "-1", "MAX_CLAIMS_BYTES"),
            ("ID_TOKEN_APIS", "*,https://api", "ID_TOKEN_APIS"),
        ];
        for (key, value, why) in bad {
            let mut pairs: Vec<(&str, &str)> = base.to_vec();
            pairs.retain(|(k, _)| *k != key);
            pairs.push((key, value));
            let e = from_secrets(&pairs).unwrap_err();
            assert_eq!(e.code(), Code::ConfigInvalid, "{key}={value}");
            assert!(e.message().contains(why), "{key}={value}: {}", e.message());
        }
        let s = from_secrets(&[
            ("CLAIM_NAMESPACE", "https://a.example.com"),
            ("PERMISSIONS_IN", " NONE "),
            ("ROLES_IN", "Access_Token, id_token,"),
            ("ID_TOKEN_APIS", "https://api-a, https://api-b ,"),
            ("HTTP_TIMEOUT_MS", "2500"),
        ])
        .unwrap();
        assert_eq!(s.roles_in, Targets::BOTH);
        assert_eq!(
            s.id_token_apis,
            ApiSelection::List(vec!["https://api-a".into(), "https://api-b".into()])
        );
        assert_eq!(s.http_timeout_ms, 2500);
        let s = from_secrets(&[
            ("CLAIM_NAMESPACE", "https://a.example.com"),
            ("PERMISSIONS_IN", "none"),
            ("ID_TOKEN_APIS", "*"),
        ])
        .unwrap();
        assert_eq!(s.id_token_apis, ApiSelection::All);
        // Only commas and spaces: not set.
        for (value, selection) in [
            (",", ApiSelection::RequestedElseAll),
            (" , ", ApiSelection::RequestedElseAll),
        ] {
            let s = from_secrets(&[
                ("CLAIM_NAMESPACE", "https://a.example.com"),
                ("PERMISSIONS_IN", "none"),
                ("ID_TOKEN_APIS", value),
            ])
            .unwrap();
            assert_eq!(s.id_token_apis, selection, "{value:?}");
        }
    }

    #[test]
    fn non_string_values_are_refused_for_keys_that_are_read_only() {
        let mut secrets = map(&[("CLAIM_NAMESPACE", "https://a.example.com")]);
        secrets.insert("SOMETHING_ELSE".into(), SettingValue::NotText);
        secrets.insert("PERMISSIONS_IN".into(), SettingValue::from("none"));
        assert!(Settings::from_sources(&Sources {
            secrets: Some(secrets.clone()),
            ..Sources::default()
        })
        .is_ok());
        secrets.insert("ROLES_IN".into(), SettingValue::NotText);
        let e = Settings::from_sources(&Sources {
            secrets: Some(secrets.clone()),
            ..Sources::default()
        })
        .unwrap_err();
        assert!(e.message().contains("ROLES_IN must be a string"));
    }

    #[test]
    fn error_policy_is_readable_even_when_other_settings_are_broken() {
        let secrets = map(&[("ON_ERROR", "continue"), ("CLAIM_NAMESPACE", "bad")]);
        let sources = Sources {
            secrets: Some(secrets.clone()),
            ..Sources::default()
        };
        assert_eq!(Settings::error_policy(&sources), ErrorPolicy::Continue);
        let secrets = map(&[("ON_ERROR", "maybe")]);
        let sources = Sources {
            secrets: Some(secrets.clone()),
            ..Sources::default()
        };
        assert_eq!(Settings::error_policy(&sources), ErrorPolicy::Deny);
    }

    #[test]
    fn tenant_domains_are_parsed_to_origins() {
        let good = [
            ("dev-abc.us.auth0.com", "https://dev-abc.us.auth0.com"),
            (
                "https://dev-abc.us.auth0.com/",
                "https://dev-abc.us.auth0.com",
            ),
            (
                "HTTPS://Dev-ABC.us.auth0.com",
                "https://dev-abc.us.auth0.com",
            ),
            ("http://127.0.0.1:4010", "http://127.0.0.1:4010"),
            ("http://localhost:8080/", "http://localhost:8080"),
            ("http://[::1]:9000", "http://[::1]:9000"),
            ("login.example.com:8443", "https://login.example.com:8443"),
        ];
        for (input, origin) in good {
            assert_eq!(
                TenantOrigin::parse(input).unwrap().as_str(),
                origin,
                "{input}"
            );
        }
        let bad = [
            "http://dev-abc.us.auth0.com",
            "http://127.0.0.1.example.com",
            // Names under 127., not loopback addresses: plain http would send the secret out.
            "http://127.attacker.example.com",
            "http://127.0.0.evil",
            "http://127.a.b.c:80",
            "http://127.0.0.256",
            "http://127.0.0.+1",
            "https://dev.auth0.com/api/v2",
            "dev.auth0.com?x",
            "",
            "https://",
        ];
        for input in bad {
            assert!(TenantOrigin::parse(input).is_err(), "{input}");
        }
        assert!(
            origin::parse_base_url("PERMIT_API_URL", "http://127.attacker.example.com").is_err()
        );
        assert!(origin::parse_base_url("PERMIT_API_URL", "http://127.1.2.3:7766").is_ok());
        // A value that is not a host name is not repeated: it may be a secret in the wrong box.
        let why = TenantOrigin::parse("Q3x_SecretValue").unwrap_err();
        assert!(!why.to_lowercase().contains("secretvalue"), "{why}");
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("abc")), "Secret([redacted])");
        assert_eq!(format!("{:?}", SettingValue::from("abc")), "Text(…)");
    }
}
