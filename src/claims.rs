//! The claim layout: which claims a login gets, in which token, and how big they are.
//!
//! One [`ClaimLayout`] is built from the namespace; it names the claims (`<ns>/roles`,
//! `<ns>/permissions`) for the Action that writes them and for backends that read them, so the two
//! can never drift.

use crate::error::{Code, Error, Result};
use crate::settings::{Namespace, TokenKind};

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

/// Length of `s` as a JSON string literal, quotes included, as `serde_json` writes it.
fn json_string_len(s: &str) -> usize {
    2 + s
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
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
