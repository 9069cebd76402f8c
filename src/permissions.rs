//! Permission sets: de-duplicated on (API identifier, name), sorted, filtered per token.

use serde::Deserialize;

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

/// One permission of one API, as `GET /api/v2/users/{id}/permissions` lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub struct Permission {
    /// `resource_server_identifier`: the API the permission belongs to.
    #[serde(rename = "resource_server_identifier")]
    pub api: String,
    /// `permission_name`, e.g. `read:reports`.
    #[serde(rename = "permission_name")]
    pub name: String,
}

impl Permission {
    /// A permission of `api` named `name`.
    pub fn new(api: impl Into<String>, name: impl Into<String>) -> Self {
        Permission {
            api: api.into(),
            name: name.into(),
        }
    }
}

/// A user's permissions across APIs. Adding the same (API, name) twice keeps one.
///
/// Kept as a sorted vector without duplicates (a `BTreeSet` would cost the WebAssembly several
/// kilobytes more for the same behaviour).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionSet(Vec<Permission>);

impl PermissionSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds permissions; duplicates collapse.
    pub fn extend(&mut self, permissions: impl IntoIterator<Item = Permission>) {
        self.0.extend(permissions);
        // Answers often list a user's permissions in (API, name) order already (the mock tenant's
        // do). The module's std sorts with heapsort (built for size), which, unlike the default
        // sort, would not notice: ~0.6 ms of a 1000-permission login. Checking costs one pass.
        if !self.0.is_sorted() {
            self.0.sort_unstable();
        }
        self.0.dedup();
    }

    /// Number of distinct (API, name) pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates in (API, name) order.
    pub fn iter(&self) -> impl Iterator<Item = &Permission> {
        self.0.iter()
    }

    /// The sorted, distinct names of the permissions of `api`.
    ///
    /// ```
    /// use auth0_rbac_claims::permissions::{Permission, PermissionSet};
    /// let mut set = PermissionSet::new();
    /// set.extend([Permission::new("https://api", "write:x"), Permission::new("https://api", "read:x"),
    ///             Permission::new("https://api", "read:x"), Permission::new("https://other", "admin")]);
    /// assert_eq!(set.names_of("https://api"), ["read:x", "write:x"]);
    /// ```
    pub fn names_of(&self, api: &str) -> Vec<String> {
        self.names_where(|p| p.api == api)
    }

    /// The sorted, distinct names for the ID token: the APIs of `selection`, where
    /// [`ApiSelection::RequestedElseAll`] means `requested` if given, else every API. Names that
    /// several APIs share appear once.
    pub fn names_for_id_token(
        &self,
        selection: &ApiSelection,
        requested: Option<&str>,
    ) -> Vec<String> {
        match (selection, requested) {
            (ApiSelection::RequestedElseAll, Some(api)) => self.names_of(api),
            (ApiSelection::RequestedElseAll, None) | (ApiSelection::All, _) => {
                self.names_where(|_| true)
            }
            (ApiSelection::List(apis), _) => self.names_where(|p| apis.contains(&p.api)),
        }
    }

    fn names_where(&self, keep: impl Fn(&Permission) -> bool) -> Vec<String> {
        let mut names: Vec<String> = self
            .0
            .iter()
            .filter(|p| !p.name.is_empty() && keep(p))
            .map(|p| p.name.clone())
            .collect();
        // Already sorted when they come from one API (see `extend`).
        if !names.is_sorted() {
            names.sort_unstable();
        }
        names.dedup();
        names
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = PermissionSet::new();
        set.extend(iter);
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> PermissionSet {
        [
            ("https://b", "write:b"),
            ("https://a", "read:a"),
            ("https://a", "read:a"),
            ("https://c", "read:a"),
            ("https://b", "read:b"),
            ("https://a", "admin"),
        ]
        .into_iter()
        .map(|(a, n)| Permission::new(a, n))
        .collect()
    }

    #[test]
    fn duplicates_collapse_on_api_and_name() {
        assert_eq!(set().len(), 5);
    }

    #[test]
    fn access_token_names_are_only_those_of_the_api() {
        assert_eq!(set().names_of("https://a"), ["admin", "read:a"]);
        assert!(set().names_of("https://none").is_empty());
    }

    #[test]
    fn id_token_selection_follows_the_setting() {
        let s = set();
        assert_eq!(
            s.names_for_id_token(&ApiSelection::RequestedElseAll, Some("https://b")),
            ["read:b", "write:b"]
        );
        assert_eq!(
            s.names_for_id_token(&ApiSelection::RequestedElseAll, None),
            ["admin", "read:a", "read:b", "write:b"]
        );
        assert_eq!(
            s.names_for_id_token(&ApiSelection::All, Some("https://b")),
            ["admin", "read:a", "read:b", "write:b"]
        );
        assert_eq!(
            s.names_for_id_token(
                &ApiSelection::List(vec!["https://c".into(), "https://b".into()]),
                Some("https://a")
            ),
            ["read:a", "read:b", "write:b"]
        );
    }

    #[test]
    fn order_of_arrival_does_not_change_the_result() {
        let mut forwards = PermissionSet::new();
        let mut backwards = PermissionSet::new();
        let items: Vec<Permission> = set().iter().cloned().collect();
        forwards.extend(items.iter().cloned());
        backwards.extend(items.iter().rev().cloned());
        assert_eq!(forwards, backwards);
    }
}
