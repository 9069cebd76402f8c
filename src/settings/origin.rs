//! The URL and host grammar of the settings: claim namespaces (URL or URN), tenant origins
//! (`AUTH0_DOMAIN`, `PERMIT_API_URL`), the hosts Auth0 reserves, and path segments.
//!
//! URLs are checked by a small strict parser rather than the `url` crate: the values are short,
//! the rules are Auth0's (not WHATWG's), and the `url` crate's IDNA tables would more than double
//! the WebAssembly inlined into the Action.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::{Error, Result};

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
        // Bytes compared pairwise rather than a `&str` pattern searched for: no other code in the
        // Action's module searches for a string, so core's two-way searcher stays out of it.
        if path.as_bytes().windows(2).any(|pair| pair == b"//") {
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
    // A pattern, not `str::contains(char)`: for a char outside ASCII that searches for its UTF-8
    // bytes with core's two-way string searcher, which nothing else in the module needs (1 KB).
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '.' | '_' | '~' | '!' | '$' | '&' | '\'' | '(' | ')' | '*' | '+'
        )
        || matches!(c, ',' | ';' | '=' | ':' | '@' | '/' | '%')
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
            // Not quoted: a secret pasted into the wrong box must not reach the log.
            return Err("its host is not a valid host name".into());
        }
    }
    Ok(())
}

/// The domains Auth0 owns: a claim namespace under one of them (or a subdomain) is refused.
pub const RESERVED_HOSTS: [&str; 3] = ["auth0.com", "webtask.io", "webtask.run"];

/// The URN prefix Auth0 reserves: a claim namespace starting with it is refused.
pub const RESERVED_URN_PREFIX: &str = "urn:auth0";

/// The Auth0-owned domain `host` falls under, if any.
fn reserved_host(host: &str) -> Option<&'static str> {
    RESERVED_HOSTS
        .into_iter()
        .find(|d| host == *d || host.strip_suffix(d).is_some_and(|p| p.ends_with('.')))
}

fn parse_urn(value: &str) -> std::result::Result<String, String> {
    // urn:<NID>:<NSS> (RFC 8141): NID 2–32 letters, digits or '-', starting and ending alphanumeric.
    let rest = value.get(4..).unwrap_or_default();
    let (nid, nss) = rest.split_once(':').unwrap_or((rest, ""));
    // Auth0 reserves the prefix: its Actions drop every claim whose name starts with it.
    if value
        .get(..RESERVED_URN_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(RESERVED_URN_PREFIX))
    {
        return Err("urn:auth0… is reserved by Auth0".into());
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

/// Whether `host` (lowercase) is a loopback host: `localhost`, `[::1]` or an IPv4 address in
/// 127.0.0.0/8 (three more numbers, not names: `127.example.com` is a host on the internet).
pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host == "[::1]"
        || host.strip_prefix("127.").is_some_and(|r| {
            r.split('.').count() == 3 && r.split('.').all(|n| n.parse::<u8>().is_ok())
        })
}

/// Parses an `http(s)://` base URL that allows plain http only on loopback (`PERMIT_API_URL`).
pub fn parse_base_url(key: &str, value: &str) -> Result<TenantOrigin> {
    if split_scheme(value).is_none() {
        return Err(Error::config(format!("{key} must start with https://")));
    }
    TenantOrigin::parse(value).map_err(|why| Error::config(format!("{key} is invalid: {why}")))
}

/// Characters kept as is in a path segment: RFC 3986 unreserved.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes `value` as one URL path segment (`auth0|1` → `auth0%7C1`).
pub fn path_segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}
