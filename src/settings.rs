//! Settings: where they are read from, their defaults, and their validation.
//!
//! Every setting is a string read, in order of precedence, from options passed in code (npm form
//! only), `event.configuration`, then `event.secrets`. Credentials (`AUTH0_CLIENT_ID`,
//! `AUTH0_CLIENT_SECRET`, `PERMIT_API_KEY`) are read only from secrets or code options; found in
//! `event.configuration`, where the dashboard shows them in clear, they are refused. An empty value
//! counts as not set. Numbers and booleans given in code are accepted as their text.
//!
//! URLs are checked by a small strict parser rather than the `url` crate: the values are short,
//! the rules are Auth0's (not WHATWG's), and the `url` crate's IDNA tables would more than double
//! the WebAssembly inlined into the Action.

use std::fmt;

use crate::error::{Code, Error, Result};
use crate::json::{FlatObject, FlatValue};
use crate::permit::PermitSettings;

/// One setting value as read (see [`FlatValue`]).
pub type SettingValue = FlatValue;

/// The settings of one source, a JSON object (see [`FlatObject`]).
pub type SettingMap = FlatObject;

/// The three places settings come from, highest precedence first.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sources<'a> {
    /// Options passed in code (`postLogin(options)` in the npm form).
    pub options: Option<&'a SettingMap>,
    /// `event.configuration`.
    pub configuration: Option<&'a SettingMap>,
    /// `event.secrets`.
    pub secrets: Option<&'a SettingMap>,
}

/// Whether a key holds a credential (read only from secrets or code options).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Credential,
}

impl<'a> Sources<'a> {
    /// The value of `key` (or one of its `aliases`), by precedence; `None` when unset or empty.
    fn get(&self, key: &str, aliases: &[&str], kind: Kind) -> Result<Option<&'a str>> {
        let names = std::iter::once(key).chain(aliases.iter().copied());
        let layers = [
            ("code options", self.options),
            ("configuration", self.configuration),
            ("secrets", self.secrets),
        ];
        for (layer, map) in layers {
            let Some(map) = map else { continue };
            for name in names.clone() {
                match map.get(name) {
                    None => continue,
                    Some(SettingValue::NotText) => {
                        return Err(config(format!(
                            "{name} must be a string (found in {layer}); set it as text"
                        )))
                    }
                    Some(SettingValue::Text(v)) if v.trim().is_empty() => continue,
                    Some(SettingValue::Text(v)) => {
                        if kind == Kind::Credential && layer == "configuration" {
                            return Err(config(format!(
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
}

fn config(message: String) -> Error {
    Error::new(Code::ConfigInvalid, message)
}

/// The two tokens a claim can go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TokenKind {
    /// The ID token (`api.idToken`).
    Id,
    /// The access token (`api.accessToken`).
    Access,
}

impl TokenKind {
    /// `id_token` or `access_token`, as in `ROLES_IN`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenKind::Id => "id_token",
            TokenKind::Access => "access_token",
        }
    }
}

/// Which tokens a claim goes to (`ROLES_IN`, `PERMISSIONS_IN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    /// The claim goes into the ID token.
    pub id_token: bool,
    /// The claim goes into the access token.
    pub access_token: bool,
}

impl Targets {
    /// Both tokens (the default).
    pub const BOTH: Targets = Targets {
        id_token: true,
        access_token: true,
    };
    /// Neither token (`none`).
    pub const NONE: Targets = Targets {
        id_token: false,
        access_token: false,
    };

    /// Whether the claim goes into `token`.
    pub fn contains(self, token: TokenKind) -> bool {
        match token {
            TokenKind::Id => self.id_token,
            TokenKind::Access => self.access_token,
        }
    }

    /// Whether the claim goes nowhere.
    pub fn is_none(self) -> bool {
        !self.id_token && !self.access_token
    }

    fn parse(key: &str, value: &str) -> Result<Targets> {
        let items: Vec<String> = value
            .split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        let mut t = Targets::NONE;
        for item in &items {
            match item.as_str() {
                "id_token" => t.id_token = true,
                "access_token" => t.access_token = true,
                "none" if items.len() == 1 => {}
                _ => {
                    return Err(config(format!(
                        "{key} must be a comma list of id_token, access_token, or none alone"
                    )))
                }
            }
        }
        Ok(t)
    }
}

/// Whose permissions go into the ID token (`ID_TOKEN_APIS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiSelection {
    /// The requested API (`event.resource_server`), or every API when none was requested. Default.
    RequestedElseAll,
    /// Every API (`*`).
    All,
    /// These API identifiers.
    List(Vec<String>),
}

/// What a failure does to the login (`ON_ERROR`, `PERMIT_ON_ERROR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorPolicy {
    /// `api.access.deny` with a generic reason carrying the code.
    Deny,
    /// Log the code and issue the tokens without the failed claims.
    Continue,
}

impl ErrorPolicy {
    fn parse(key: &str, value: &str) -> Result<ErrorPolicy> {
        match value.to_ascii_lowercase().as_str() {
            "deny" => Ok(ErrorPolicy::Deny),
            "continue" => Ok(ErrorPolicy::Continue),
            _ => Err(config(format!("{key} must be deny or continue"))),
        }
    }
}

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

/// A validated claim namespace: an http(s) URL or a URN, without a trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace(String);

impl Namespace {
    /// Validates a namespace. The error text says why it is refused.
    ///
    /// ```
    /// use auth0_rbac_claims::settings::Namespace;
    /// assert_eq!(Namespace::parse("https://myapp.example.com/").unwrap().as_str(), "https://myapp.example.com");
    /// assert!(Namespace::parse("https://login.auth0.com").is_err());
    /// ```
    pub fn parse(value: &str) -> std::result::Result<Namespace, String> {
        let value = value.trim();
        if value.is_empty() {
            return Err("it is empty".into());
        }
        if !value.is_ascii() {
            return Err("it must be ASCII (write non-ASCII hosts in punycode)".into());
        }
        let lower = value.to_ascii_lowercase();
        if lower.starts_with("urn:") {
            return parse_urn(value).map(Namespace);
        }
        let Some((_, rest)) = split_scheme(value) else {
            return Err("it is neither an http(s) URL nor a URN".into());
        };
        if rest.contains(['?', '#']) {
            return Err("it must not have a query or fragment".into());
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let host = parse_authority(authority)?;
        if let Some(owner) = reserved_host(&host) {
            return Err(format!("{owner} and its subdomains belong to Auth0"));
        }
        if let Some(bad) = path.chars().find(|c| !is_path_char(*c)) {
            return Err(format!("its path has the character '{bad}'"));
        }
        if path.contains("//") {
            return Err("its path has an empty segment (//)".into());
        }
        Ok(Namespace(value.trim_end_matches('/').to_owned()))
    }

    /// The namespace as written (no trailing `/`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The full claim name for `leaf`: `<namespace>/<leaf>`.
    pub fn claim(&self, leaf: &str) -> String {
        format!("{}/{}", self.0, leaf)
    }
}

/// Splits `http://` or `https://` off (case-insensitively), returning `(https?, rest)`.
fn split_scheme(value: &str) -> Option<(bool, &str)> {
    let lower = value.get(..8).unwrap_or(value).to_ascii_lowercase();
    if lower.starts_with("https://") {
        value.get(8..).map(|rest| (true, rest))
    } else if lower.starts_with("http://") {
        value.get(7..).map(|rest| (false, rest))
    } else {
        None
    }
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/%".contains(c)
}

/// Checks `host[:port]` and returns the host, lowercased.
fn parse_authority(authority: &str) -> std::result::Result<String, String> {
    if authority.is_empty() {
        return Err("it has no host".into());
    }
    if authority.contains('@') {
        return Err("it must not contain user information (@)".into());
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let end = rest.find(']').ok_or("its IPv6 host lacks ]")?;
        let (inner, after) = rest.split_at(end);
        if inner.is_empty() || !inner.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err("its IPv6 host is malformed".into());
        }
        let after = after.get(1..).unwrap_or_default();
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("junk after its IPv6 host")?),
        };
        (format!("[{}]", inner.to_ascii_lowercase()), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_ascii_lowercase(), Some(p)),
            None => (authority.to_ascii_lowercase(), None),
        }
    };
    if let Some(port) = port {
        let ok = !port.is_empty()
            && port.len() <= 5
            && port.chars().all(|c| c.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p));
        if !ok {
            return Err("its port is not a number from 1 to 65535".into());
        }
    }
    if !host.starts_with('[') {
        check_hostname(&host)?;
    }
    Ok(host)
}

fn check_hostname(host: &str) -> std::result::Result<(), String> {
    if host.len() > 253 {
        return Err("its host is longer than 253 characters".into());
    }
    for label in host.split('.') {
        let ok = (1..=63).contains(&label.len())
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(format!("its host {host} is not a valid host name"));
        }
    }
    Ok(())
}

/// The Auth0-owned domain `host` falls under, if any.
fn reserved_host(host: &str) -> Option<&'static str> {
    ["auth0.com", "webtask.io", "webtask.run"]
        .into_iter()
        .find(|d| host == *d || host.strip_suffix(d).is_some_and(|p| p.ends_with('.')))
}

fn parse_urn(value: &str) -> std::result::Result<String, String> {
    // urn:<NID>:<NSS> (RFC 8141): NID 2–32 letters, digits or '-', starting and ending alphanumeric.
    let rest = value.get(4..).unwrap_or_default();
    let (nid, nss) = rest.split_once(':').unwrap_or((rest, ""));
    if nid.eq_ignore_ascii_case("auth0") {
        return Err("urn:auth0 is reserved by Auth0".into());
    }
    let nid_ok = (2..=32).contains(&nid.len())
        && nid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !nid.starts_with('-')
        && !nid.ends_with('-');
    if !nid_ok {
        return Err("its URN namespace identifier must be 2–32 letters, digits or '-'".into());
    }
    let nss = nss.trim_end_matches(['/', ':']);
    if nss.is_empty() {
        return Err("its URN has nothing after the namespace identifier (urn:<nid>:<name>)".into());
    }
    if let Some(bad) = nss.chars().find(|c| !is_path_char(*c)) {
        return Err(format!("its URN has the character '{bad}'"));
    }
    Ok(value.trim_end_matches(['/', ':']).to_owned())
}

/// The tenant the Management API is called on: `scheme://host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantOrigin(String);

impl TenantOrigin {
    /// Parses `AUTH0_DOMAIN`: a bare host means `https://host`; `http://` only for loopback hosts.
    ///
    /// ```
    /// use auth0_rbac_claims::settings::TenantOrigin;
    /// let o = TenantOrigin::parse("dev-abc.us.auth0.com").unwrap();
    /// assert_eq!(o.management_audience(), "https://dev-abc.us.auth0.com/api/v2/");
    /// assert!(TenantOrigin::parse("http://dev-abc.us.auth0.com").is_err());
    /// assert!(TenantOrigin::parse("http://127.0.0.1:4010").is_ok());
    /// ```
    pub fn parse(value: &str) -> std::result::Result<TenantOrigin, String> {
        let value = value.trim();
        let (https, rest) = split_scheme(value).unwrap_or((true, value));
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err("it must be a domain only, without a path".into());
        }
        let host = parse_authority(authority)?;
        if !https && !is_loopback(&host) {
            return Err(
                "http:// is allowed only for loopback hosts (local runs); use https".into(),
            );
        }
        let port = authority
            .rsplit_once(':')
            .filter(|(_, p)| !p.contains(']'))
            .map(|(_, p)| p);
        let scheme = if https { "https" } else { "http" };
        Ok(TenantOrigin(match port {
            Some(p) => format!("{scheme}://{host}:{p}"),
            None => format!("{scheme}://{host}"),
        }))
    }

    /// `scheme://host[:port]`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Management API audience, `https://<domain>/api/v2/`.
    pub fn management_audience(&self) -> String {
        format!("{}/api/v2/", self.0)
    }
}

/// Whether `host` (lowercase) is a loopback host.
pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host == "[::1]"
        || host
            .strip_prefix("127.")
            .is_some_and(|r| r.split('.').count() == 3)
}

/// Parses an `http(s)://` base URL that allows plain http only on loopback (`PERMIT_API_URL`).
pub(crate) fn parse_base_url(key: &str, value: &str) -> Result<TenantOrigin> {
    if split_scheme(value).is_none() {
        return Err(config(format!("{key} must start with https://")));
    }
    TenantOrigin::parse(value).map_err(|why| config(format!("{key} is invalid: {why}")))
}

/// Reads a plain (non-credential) setting, for other modules' settings.
pub(crate) fn plain<'a>(s: &Sources<'a>, key: &str) -> Result<Option<&'a str>> {
    s.get(key, &[], Kind::Plain)
}

/// Reads a credential setting (refused in `event.configuration`).
pub(crate) fn credential<'a>(s: &Sources<'a>, key: &str) -> Result<Option<&'a str>> {
    s.get(key, &[], Kind::Credential)
}

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
    /// `PERMISSIONS_ENDPOINT=effective`: the user's permissions from
    /// `/users/{id}/effective-permissions` (groups included), one API at a time. Defaults to
    /// `user` (`/users/{id}/permissions`).
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
    pub fn error_policy(sources: &Sources<'_>) -> ErrorPolicy {
        sources
            .get("ON_ERROR", &[], Kind::Plain)
            .ok()
            .flatten()
            .and_then(|v| ErrorPolicy::parse("ON_ERROR", v).ok())
            .unwrap_or(ErrorPolicy::Deny)
    }

    /// Reads and validates every setting. The first problem found is returned as
    /// `config_invalid` (or `credentials_missing`) with a message naming the key and the fix.
    pub fn from_sources(sources: &Sources<'_>) -> Result<Settings> {
        let s = sources;
        let on_error = match s.get("ON_ERROR", &[], Kind::Plain)? {
            Some(v) => ErrorPolicy::parse("ON_ERROR", v)?,
            None => ErrorPolicy::Deny,
        };
        let namespace = match s.get("CLAIM_NAMESPACE", &[], Kind::Plain)? {
            None => {
                return Err(config(
                    "CLAIM_NAMESPACE is not set: add the secret CLAIM_NAMESPACE, e.g. https://myapp.example.com"
                        .into(),
                ))
            }
            Some(v) => Namespace::parse(v).map_err(|why| {
                config(format!(
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
                    return Err(config(
                        "ID_TOKEN_APIS: * means every API and cannot be combined with identifiers"
                            .into(),
                    ));
                }
                ApiSelection::List(list)
            }
        };
        let http_timeout_ms = number(s, "HTTP_TIMEOUT_MS", DEFAULT_HTTP_TIMEOUT_MS, 100, 10_000)?;
        let deadline_ms = number(s, "DEADLINE_MS", DEFAULT_DEADLINE_MS, 500, 20_000)?;
        let max_claims_bytes = number(
            s,
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
                _ => return Err(config("PERMISSIONS_SOURCE must be user or roles".into())),
            },
        };
        let effective = match s.get("PERMISSIONS_ENDPOINT", &[], Kind::Plain)? {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("user") => false,
            Some(v) if v.eq_ignore_ascii_case("effective") => true,
            Some(_) => {
                return Err(config(
                    "PERMISSIONS_ENDPOINT must be user or effective".into(),
                ))
            }
        };
        if effective && id_token_apis == ApiSelection::All {
            return Err(config("ID_TOKEN_APIS=* cannot be read with PERMISSIONS_ENDPOINT=effective, which reads one API at a time: list the APIs".into()));
        }
        let freshness = Freshness {
            ttl_s: number(
                s,
                "PERMISSIONS_TTL",
                DEFAULT_PERMISSIONS_TTL_S,
                0,
                MAX_PERMISSIONS_TTL_S,
            )?,
            stale_max_s: number(
                s,
                "PERMISSIONS_STALE_MAX",
                DEFAULT_PERMISSIONS_STALE_MAX_S,
                0,
                MAX_PERMISSIONS_STALE_MAX_S,
            )?,
        };
        let management = if permissions_in.is_none() {
            None
        } else {
            Some(management(s)?)
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

fn management(s: &Sources<'_>) -> Result<ManagementSettings> {
    let domain = s.get("AUTH0_DOMAIN", &["domain"], Kind::Plain)?;
    let client_id = s.get("AUTH0_CLIENT_ID", &["clientId"], Kind::Credential)?;
    let client_secret = s.get("AUTH0_CLIENT_SECRET", &["clientSecret"], Kind::Credential)?;
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
                config(format!(
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
                missing.join(", ") + if missing.len() == 1 { " is" } else { " are" }
            ),
        )),
    }
}

fn number(s: &Sources<'_>, key: &str, default: u32, min: u32, max: u32) -> Result<u32> {
    match s.get(key, &[], Kind::Plain)? {
        None => Ok(default),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(config(format!(
                "{key} must be a whole number from {min} to {max}"
            ))),
        },
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
            secrets: Some(&m),
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
            ("urn:myapp:claims/", "urn:myapp:claims"),
            ("urn:auth0x:claims", "urn:auth0x:claims"),
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
            options: Some(&options),
            configuration: Some(&configuration),
            secrets: Some(&secrets),
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
            secrets: Some(&secrets),
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
            configuration: Some(&configuration),
            secrets: Some(&secrets),
            ..Sources::default()
        })
        .unwrap_err();
        assert_eq!(e.code(), Code::ConfigInvalid);
        assert!(e.message().contains("AUTH0_CLIENT_SECRET is a credential"));
        assert!(!e.log_line().contains("top-secret-value"));
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
    }

    #[test]
    fn non_string_values_are_refused_for_keys_that_are_read_only() {
        let mut secrets = map(&[("CLAIM_NAMESPACE", "https://a.example.com")]);
        secrets.insert("SOMETHING_ELSE".into(), SettingValue::NotText);
        secrets.insert("PERMISSIONS_IN".into(), SettingValue::from("none"));
        assert!(Settings::from_sources(&Sources {
            secrets: Some(&secrets),
            ..Sources::default()
        })
        .is_ok());
        secrets.insert("ROLES_IN".into(), SettingValue::NotText);
        let e = Settings::from_sources(&Sources {
            secrets: Some(&secrets),
            ..Sources::default()
        })
        .unwrap_err();
        assert!(e.message().contains("ROLES_IN must be a string"));
    }

    #[test]
    fn error_policy_is_readable_even_when_other_settings_are_broken() {
        let secrets = map(&[("ON_ERROR", "continue"), ("CLAIM_NAMESPACE", "bad")]);
        let sources = Sources {
            secrets: Some(&secrets),
            ..Sources::default()
        };
        assert_eq!(Settings::error_policy(&sources), ErrorPolicy::Continue);
        let secrets = map(&[("ON_ERROR", "maybe")]);
        let sources = Sources {
            secrets: Some(&secrets),
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
            "https://dev.auth0.com/api/v2",
            "dev.auth0.com?x",
            "",
            "https://",
        ];
        for input in bad {
            assert!(TenantOrigin::parse(input).is_err(), "{input}");
        }
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("abc")), "Secret([redacted])");
        assert_eq!(format!("{:?}", SettingValue::from("abc")), "Text(…)");
    }
}
