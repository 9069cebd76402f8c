//! The claim layout: which claims a login gets, in which token, how big they are — and how a
//! backend reads them back.
//!
//! One [`ClaimLayout`] is built from the namespace; it names the claims (`<ns>/roles`,
//! `<ns>/permissions`) for the Action that writes them and, through [`ClaimLayout::read`], for
//! backends that check them, so writer and reader can never drift.
//!
//! ```
//! use auth0_rbac_claims::ClaimLayout;
//! use serde_json::json;
//!
//! let layout = ClaimLayout::parse("https://myapp.example.com").unwrap();
//! // A payload your JWT library has already verified (signature, issuer, audience, expiry).
//! let payload = json!({
//!     "sub": "auth0|123",
//!     "https://myapp.example.com/roles": ["Project Manager"],
//!     "https://myapp.example.com/permissions": ["read:project-list"],
//! });
//! let grants = layout.read(&payload);
//! assert!(grants.has_permission("read:project-list"));
//! assert!(!grants.has_all(["read:project-list", "read:user-list"]));
//! assert!(grants.has_role("Project Manager"));
//! ```

use crate::error::{Code, Error, Result};
use crate::settings::origin::Namespace;

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

    /// Reads a comma list of `id_token`, `access_token`, or `none` alone, given for `key`.
    pub fn parse(key: &str, value: &str) -> Result<Targets> {
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
                    return Err(Error::config(format!(
                        "{key} must be a comma list of id_token, access_token, or none alone"
                    )))
                }
            }
        }
        Ok(t)
    }
}

/// Leaf name of the roles claim.
pub const ROLES: &str = "roles";
/// Leaf name of the permissions claim.
pub const PERMISSIONS: &str = "permissions";

/// Names the namespaced claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimLayout {
    namespace: Namespace,
    roles: String,
    permissions: String,
}

impl ClaimLayout {
    /// The layout for a validated namespace.
    pub fn new(namespace: Namespace) -> Self {
        ClaimLayout {
            roles: namespace.claim(ROLES),
            permissions: namespace.claim(PERMISSIONS),
            namespace,
        }
    }

    /// The layout for a namespace given as text; refused namespaces are `config_invalid`.
    ///
    /// ```
    /// use auth0_rbac_claims::claims::ClaimLayout;
    /// let layout = ClaimLayout::parse("https://myapp.example.com").unwrap();
    /// assert_eq!(layout.roles_claim(), "https://myapp.example.com/roles");
    /// assert_eq!(layout.permissions_claim(), "https://myapp.example.com/permissions");
    /// ```
    pub fn parse(namespace: &str) -> Result<Self> {
        Namespace::parse(namespace).map(Self::new).map_err(|why| {
            Error::new(
                Code::ConfigInvalid,
                format!("the claim namespace is refused: {why}"),
            )
        })
    }

    /// The namespace.
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// `<ns>/roles`.
    pub fn roles_claim(&self) -> &str {
        &self.roles
    }

    /// `<ns>/permissions`.
    pub fn permissions_claim(&self) -> &str {
        &self.permissions
    }

    /// Reads the roles and permissions of a **verified** token payload.
    ///
    /// Each claim may be a JSON array of strings (what the Action writes) or one space-separated
    /// string; anything else counts as empty. Permissions also include Auth0's own `permissions`
    /// claim (RBAC's "Add Permissions in the Access Token"), so a backend works with either.
    /// Checking the signature, issuer, audience and expiry is the JWT library's job, before this.
    pub fn read(&self, payload: &serde_json::Value) -> Grants {
        let mut permissions = strings(payload.get(&self.permissions));
        permissions.extend(strings(payload.get(PERMISSIONS)));
        Grants::new(strings(payload.get(&self.roles)), permissions)
    }
}

/// The values of a claim: an array of strings or a space-separated string.
fn strings(claim: Option<&serde_json::Value>) -> Vec<String> {
    match claim {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(serde_json::Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// What a token grants: its roles and permissions, sorted and distinct.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    roles: Vec<String>,
    permissions: Vec<String>,
}

impl Grants {
    /// Grants from role and permission names (sorted and de-duplicated here).
    pub fn new(mut roles: Vec<String>, mut permissions: Vec<String>) -> Self {
        roles.sort_unstable();
        roles.dedup();
        permissions.sort_unstable();
        permissions.dedup();
        Grants { roles, permissions }
    }

    /// Role names, sorted.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// Permission names, sorted.
    pub fn permissions(&self) -> &[String] {
        &self.permissions
    }

    /// Whether the token carries `permission`.
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions
            .binary_search_by(|p| p.as_str().cmp(permission))
            .is_ok()
    }

    /// Whether the token carries every one of `permissions` (true for none).
    pub fn has_all<'a>(&self, permissions: impl IntoIterator<Item = &'a str>) -> bool {
        permissions.into_iter().all(|p| self.has_permission(p))
    }

    /// Whether the token carries at least one of `permissions` (false for none).
    pub fn has_any<'a>(&self, permissions: impl IntoIterator<Item = &'a str>) -> bool {
        permissions.into_iter().any(|p| self.has_permission(p))
    }

    /// Whether the token carries the role `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles
            .binary_search_by(|r| r.as_str().cmp(role))
            .is_ok()
    }

    /// The permissions of `required` the token lacks, in the order given (for a 403's message).
    pub fn missing<'a>(&self, required: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
        required
            .into_iter()
            .filter(|p| !self.has_permission(p))
            .collect()
    }
}

/// What a claim holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimKind {
    /// Role names.
    Roles,
    /// Permission names.
    Permissions,
}

/// One claim to set on one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The token it goes to.
    pub token: TokenKind,
    /// What it holds.
    pub kind: ClaimKind,
    /// Full claim name.
    pub name: String,
    /// The values, sorted and distinct.
    pub values: Vec<String>,
}

impl Claim {
    /// Bytes this claim adds to the token's custom-claims payload: the name plus the JSON value.
    pub fn bytes(&self) -> usize {
        let json: usize = self.values.iter().map(|v| json_string_len(v)).sum();
        self.name.len() + 2 + json + self.values.len().saturating_sub(1)
    }
}

/// Length of `s` as a JSON string literal, quotes included, as `serde_json` writes it: counted
/// on bytes (a multi-byte character is written as is), escapes adding to their one byte.
fn json_string_len(s: &str) -> usize {
    let escapes: usize = s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 1,
            0..=0x1f => 5,
            _ => 0,
        })
        .sum();
    2 + s.len() + escapes
}

/// The claims of one login, before any is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimPlan {
    claims: Vec<Claim>,
}

impl ClaimPlan {
    /// An empty plan.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a claim.
    pub fn push(&mut self, token: TokenKind, kind: ClaimKind, name: &str, values: Vec<String>) {
        self.claims.push(Claim {
            token,
            kind,
            name: name.to_owned(),
            values,
        });
    }

    /// The claims, in the order they will be set.
    pub fn claims(&self) -> &[Claim] {
        &self.claims
    }

    /// Custom-claims bytes of `token`.
    pub fn bytes(&self, token: TokenKind) -> usize {
        self.claims
            .iter()
            .filter(|c| c.token == token)
            .map(Claim::bytes)
            .sum()
    }

    /// Checks every token against `max` bytes. The error names the token and its size.
    pub fn check(&self, max: usize) -> Result<()> {
        for token in [TokenKind::Id, TokenKind::Access] {
            let bytes = self.bytes(token);
            if bytes > max {
                return Err(Error::new(
                    Code::ClaimsTooLarge,
                    format!(
                        "{} claims would be {bytes} bytes, over MAX_CLAIMS_BYTES={max}; narrow ID_TOKEN_APIS or PERMISSIONS_IN",
                        token.as_str()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Drops whole claims from tokens over `max`: permissions first, then roles, so that what
    /// remains fits. A claim is never cut short. Used under `ON_ERROR=continue`.
    pub fn shed_to_fit(&mut self, max: usize) {
        for kind in [ClaimKind::Permissions, ClaimKind::Roles] {
            for token in [TokenKind::Id, TokenKind::Access] {
                if self.bytes(token) > max {
                    self.claims.retain(|c| c.token != token || c.kind != kind);
                }
            }
        }
    }

    /// Drops every claim of `kind` (a failed source under `ON_ERROR=continue`).
    pub fn remove(&mut self, kind: ClaimKind) {
        self.claims.retain(|c| c.kind != kind);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_reader_reads_what_the_writer_names() {
        let l = layout();
        let mut plan = ClaimPlan::new();
        plan.push(
            TokenKind::Access,
            ClaimKind::Roles,
            l.roles_claim(),
            vec!["admin".into()],
        );
        plan.push(
            TokenKind::Access,
            ClaimKind::Permissions,
            l.permissions_claim(),
            vec!["a:b".into(), "c:d".into()],
        );
        let payload: serde_json::Map<String, serde_json::Value> = plan
            .claims()
            .iter()
            .map(|c| (c.name.clone(), json!(c.values)))
            .collect();
        let grants = l.read(&serde_json::Value::Object(payload));
        assert_eq!(grants.roles(), ["admin"]);
        assert_eq!(grants.permissions(), ["a:b", "c:d"]);
    }

    #[test]
    fn the_reader_accepts_arrays_strings_and_the_native_claim_and_ignores_the_rest() {
        let l = layout();
        let cases = [
            (json!({}), vec![], vec![]),
            (
                json!({"https://myapp.example.com/permissions": "read:a  write:a"}),
                vec![],
                vec!["read:a", "write:a"],
            ),
            (
                json!({"permissions": ["native:x"], "https://myapp.example.com/permissions": ["ns:y", 7, null, ""]}),
                vec![],
                vec!["native:x", "ns:y"],
            ),
            (
                json!({"https://myapp.example.com/roles": {"admin": true}}),
                vec![],
                vec![],
            ),
            (
                json!({"https://myapp.example.com/roles": ["b", "a", "b"], "roles": ["not-ours"]}),
                vec!["a", "b"],
                vec![],
            ),
            (
                json!({"https://other.example.com/permissions": ["x"]}),
                vec![],
                vec![],
            ),
            (json!(["not", "an", "object"]), vec![], vec![]),
        ];
        for (payload, roles, permissions) in cases {
            let g = l.read(&payload);
            assert_eq!(g.roles(), roles.as_slice(), "{payload}");
            assert_eq!(g.permissions(), permissions.as_slice(), "{payload}");
        }
    }

    #[test]
    fn checks_are_all_of_any_of_and_report_what_is_missing() {
        let g = Grants::new(
            vec!["pm".into()],
            vec!["read:project-list".into(), "a".into()],
        );
        assert!(g.has_permission("a") && !g.has_permission("b"));
        assert!(g.has_all(["a", "read:project-list"]));
        assert!(g.has_all([]));
        assert!(!g.has_all(["a", "read:user-list"]));
        assert!(g.has_any(["zzz", "a"]));
        assert!(!g.has_any([]));
        assert!(g.has_role("pm") && !g.has_role("admin"));
        assert_eq!(
            g.missing(["read:user-list", "a", "x"]),
            ["read:user-list", "x"]
        );
    }

    fn layout() -> ClaimLayout {
        ClaimLayout::parse("https://myapp.example.com").unwrap()
    }

    #[test]
    fn bytes_are_the_name_plus_the_exact_json_value() {
        let values = vec![
            "read:a".to_string(),
            "quote\"d".into(),
            "tab\t".into(),
            "é".into(),
            "\u{1}".into(),
        ];
        let claim = Claim {
            token: TokenKind::Id,
            kind: ClaimKind::Roles,
            name: layout().roles_claim().to_owned(),
            values: values.clone(),
        };
        let json = serde_json::to_string(&values).unwrap();
        assert_eq!(claim.bytes(), claim.name.len() + json.len());
        let empty = Claim {
            values: vec![],
            ..claim
        };
        assert_eq!(empty.bytes(), empty.name.len() + 2);
    }

    #[test]
    fn check_names_the_oversized_token() {
        let l = layout();
        let mut plan = ClaimPlan::new();
        plan.push(
            TokenKind::Id,
            ClaimKind::Roles,
            l.roles_claim(),
            vec!["a".into()],
        );
        plan.push(
            TokenKind::Access,
            ClaimKind::Permissions,
            l.permissions_claim(),
            vec!["x".repeat(200)],
        );
        assert!(plan.check(1000).is_ok());
        let e = plan.check(100).unwrap_err();
        assert_eq!(e.code(), Code::ClaimsTooLarge);
        assert!(e.message().starts_with("access_token claims would be"));
    }

    #[test]
    fn shedding_drops_whole_permission_claims_before_roles_and_only_where_needed() {
        let l = layout();
        let mut plan = ClaimPlan::new();
        plan.push(
            TokenKind::Id,
            ClaimKind::Roles,
            l.roles_claim(),
            vec!["admin".into()],
        );
        plan.push(
            TokenKind::Id,
            ClaimKind::Permissions,
            l.permissions_claim(),
            vec!["p".repeat(300)],
        );
        plan.push(
            TokenKind::Access,
            ClaimKind::Roles,
            l.roles_claim(),
            vec!["admin".into()],
        );
        plan.push(
            TokenKind::Access,
            ClaimKind::Permissions,
            l.permissions_claim(),
            vec!["p".into()],
        );
        plan.shed_to_fit(200);
        let kept: Vec<(TokenKind, ClaimKind)> =
            plan.claims().iter().map(|c| (c.token, c.kind)).collect();
        assert_eq!(
            kept,
            [
                (TokenKind::Id, ClaimKind::Roles),
                (TokenKind::Access, ClaimKind::Roles),
                (TokenKind::Access, ClaimKind::Permissions)
            ]
        );
        plan.shed_to_fit(10);
        assert!(plan.claims().is_empty());
    }
}
