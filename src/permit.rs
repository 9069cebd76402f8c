//! Keeping Permit.io in step with Auth0 roles at login.
//!
//! At each login the user is updated in Permit (`PATCH /v2/facts/{proj}/{env}/users/{key}`, key =
//! Auth0 `user_id`: only the fields the Action sets, so attributes other tools set are kept; a
//! user Permit does not know yet is created with `POST …/users`) while the user's role
//! assignments in the tenant are read (assignments on a resource instance are neither counted
//! nor removed); then the missing ones are assigned and, in `reconcile` mode, the extra ones
//! unassigned, one request per role (`DELETE`/`POST …/role_assignments`), one after another,
//! every one tried even when another fails. Not Permit's bulk endpoints: those allow 100 requests
//! per 10 minutes, where the single ones fall under the facts limit of 3,000 a minute. Permit
//! role keys are slugs: an Auth0 role name that is not one (`Project Manager`) and that
//! `PERMIT_ROLE_MAP` does not map is left out, with the warning `permit_role_unmapped`.
//! Auth0 is the source of truth: a role removed only in Permit comes back at the next login
//! unless the mode is `first-login`. Every request is awaited, bounded by the login's deadline
//! and retried like the Management API calls; an assignment that already exists (409: what the
//! mock answers, Permit does not document the case) or is already gone (404, documented) is what
//! was asked for, so a retry cannot fail on its own first attempt.

use std::cell::RefCell;
use std::hash::Hasher;

use futures_util::future::{join, FutureExt, LocalBoxFuture, OptionFuture};
use serde::Deserialize;

use crate::error::{Code, Error, Result};
use crate::event::User;
use crate::host::{Host, HttpRequest, HttpResponse, Method};
use crate::json::{json_object, Body, FlatObject};
use crate::retry::{self, Budget, Stage};
use crate::settings::{path_segment, PermitSettings, Secret, SyncMode};

/// Project and environment resolved from API keys (`GET /v2/api-key/scope`), for the life of the
/// module instance. Keyed by a hash of the key: the key itself is not kept here.
#[derive(Debug, Default)]
pub struct ScopeCache(RefCell<Vec<(u64, (String, String))>>);

fn key_hash(key: &Secret) -> u64 {
    let mut h = fnv::FnvHasher::default();
    h.write(key.expose().as_bytes());
    h.finish()
}

/// What one login did to Permit (for reports and tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Roles assigned.
    pub assigned: Vec<String>,
    /// Roles unassigned.
    pub unassigned: Vec<String>,
    /// `first-login` found the user already there and did nothing.
    pub skipped: bool,
    /// `permit_role_unmapped`: Auth0 role names left out, not being role keys.
    pub unmapped: Option<Error>,
}

#[derive(Deserialize)]
struct Assignment {
    role: String,
    #[serde(default)]
    tenant: Option<String>,
    /// Only whether it is there matters (Permit may give a key or a detailed object).
    #[serde(default)]
    resource_instance: Option<serde::de::IgnoredAny>,
}

/// The role changes one login asks of Permit, decided from the roles alone (no I/O).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Role keys to assign: wanted and not held.
    pub assign: Vec<String>,
    /// Role keys to unassign: held and not wanted, in `reconcile` mode only.
    pub unassign: Vec<String>,
}

/// Decides the role changes for a user who holds the tenant roles `current` in Permit and
/// should hold `wanted` (the Auth0 roles as Permit keys, [`PermitSettings::permit_roles`]).
/// `add-only` and `first-login` never unassign; for `first-login` the caller passes no current
/// roles, as the user is new. Both lists keep the order of their source.
pub fn plan(mode: SyncMode, wanted: &[String], current: &[String]) -> Plan {
    let missing = |from: &[String], other: &[String]| -> Vec<String> {
        from.iter()
            .filter(|r| !other.contains(r))
            .cloned()
            .collect()
    };
    Plan {
        assign: missing(wanted, current),
        unassign: match mode {
            SyncMode::Reconcile => missing(current, wanted),
            SyncMode::AddOnly | SyncMode::FirstLogin => Vec::new(),
        },
    }
}

/// Reads one page of `GET …/role_assignments`: the tenant-wide role keys held in `tenant` (not
/// those on a resource instance) and the number of entries on the page; `None` when it is not
/// the documented JSON. (A fuzz target.)
pub fn parse_assignments(body: &Body, tenant: &str) -> Option<(Vec<String>, usize)> {
    let items: Vec<Assignment> = crate::json::parse_body(body).ok()?;
    let count = items.len();
    let roles = items
        .into_iter()
        .filter(|a| {
            a.resource_instance.is_none() && a.tenant.as_deref().is_none_or(|t| t == tenant)
        })
        .map(|a| a.role)
        .collect();
    Some((roles, count))
}

/// Page size for listing role assignments (Permit's maximum).
const ASSIGNMENTS_PER_PAGE: usize = 100;
/// Pages of role assignments read at most (5,000 assignments in one tenant).
const MAX_ASSIGNMENT_PAGES: usize = 50;

/// One login's Permit client.
pub struct Sync<'a, H: Host> {
    /// The runtime.
    pub host: &'a H,
    /// Settings.
    pub settings: &'a PermitSettings,
    /// Resolved scopes of this instance.
    pub scopes: &'a ScopeCache,
    /// The login's time for requests.
    pub budget: Budget,
}

impl<H: Host> std::fmt::Debug for Sync<'_, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sync")
            .field("mode", &self.settings.mode)
            .field("tenant", &self.settings.tenant)
            .finish_non_exhaustive()
    }
}

impl<H: Host> Sync<'_, H> {
    /// Brings the user and its role assignments in Permit in line with Auth0.
    ///
    /// Boxed: it runs beside the permissions fetch, and unboxed its state machine would be
    /// inlined into the login's.
    pub fn run<'b>(
        &'b self,
        user: &'b User,
        auth0_roles: &'b [String],
    ) -> LocalBoxFuture<'b, Result<SyncReport>> {
        self.run_inner(user, auth0_roles).boxed_local()
    }

    async fn run_inner(&self, user: &User, auth0_roles: &[String]) -> Result<SyncReport> {
        let (project, environment) = self.scope().await?;
        let facts = format!(
            "/v2/facts/{}/{}",
            path_segment(&project),
            path_segment(&environment)
        );
        let key = user.user_id.as_str();
        let user_path = format!("{facts}/users/{}", path_segment(key));
        let mut report = SyncReport::default();

        // first-login: a user Permit already knows is left exactly as it is.
        let new_user = self.settings.mode == SyncMode::FirstLogin;
        if new_user {
            let existing = self.send(Method::Get, &user_path, None).await?;
            match existing.status {
                404 => {}
                200 => {
                    report.skipped = true;
                    return Ok(report);
                }
                status => return Err(refused(status, "GET", &user_path)),
            }
        }
        let fields = [
            ("email", user.email.as_deref()),
            ("first_name", user.given_name.as_deref()),
            ("last_name", user.family_name.as_deref()),
        ];
        let current = async {
            match new_user {
                true => Ok(Vec::new()),
                false => self.assignments(&facts, key).await,
            }
        };
        // A known user is updated in place (PATCH keeps what other tools set); a new one created.
        let update: OptionFuture<_> = (!new_user)
            .then(|| self.send(Method::Patch, &user_path, Some(json_object(&fields))))
            .into();
        let (updated, current) = join(update, current).await;
        match updated.transpose()?.map(|r| r.status) {
            Some(200) => {}
            None | Some(404) => {
                let mut created = vec![("key", Some(key))];
                created.extend(fields);
                let users = format!("{facts}/users");
                let answer = self
                    .send(Method::Post, &users, Some(json_object(&created)))
                    .await?;
                // 409: created meanwhile by another login; it is there, which is what counts.
                if !matches!(answer.status, 200 | 201 | 409) {
                    return Err(refused(answer.status, "POST", &users));
                }
            }
            Some(status) => return Err(refused(status, "PATCH", &user_path)),
        }
        let current = current?;

        let (wanted, unmapped) = self.settings.permit_roles(auth0_roles);
        if !unmapped.is_empty() {
            report.unmapped = Some(Error::new(
                Code::PermitRoleUnmapped,
                format!(
                    "not synced, not Permit role keys: {}; map them in PERMIT_ROLE_MAP",
                    crate::join(&unmapped, ", ")
                ),
            ));
        }
        let Plan { assign, unassign } = plan(self.settings.mode, &wanted, &current);
        report.assigned = assign;
        report.unassigned = unassign;
        // One after another (awaiting several at once costs the module ~2 KB): a login changes
        // a user's roles, or what changed in Auth0 since its last login. Every change is tried,
        // removals first, so that a role Permit refuses (a slug with no role behind it) blocks
        // neither the removals nor the other roles; the first error is reported.
        let path = format!("{facts}/role_assignments");
        let mut done = Ok(());
        for (method, roles) in [
            (Method::Delete, &report.unassigned),
            (Method::Post, &report.assigned),
        ] {
            for role in roles {
                done = done.and(self.change(method, &path, key, role).await);
            }
        }
        done.map(|()| report)
    }

    /// Project and environment: from the settings, else resolved once per key per instance.
    async fn scope(&self) -> Result<(String, String)> {
        if let (Some(p), Some(e)) = (&self.settings.project, &self.settings.environment) {
            return Ok((p.clone(), e.clone()));
        }
        let hash = key_hash(&self.settings.api_key);
        let cached = self
            .scopes
            .0
            .borrow()
            .iter()
            .find(|(h, _)| *h == hash)
            .map(|(_, s)| s.clone());
        let (project, environment) = match cached {
            Some(scope) => scope,
            None => {
                let path = "/v2/api-key/scope";
                let response = self.send(Method::Get, path, None).await?;
                if response.status != 200 {
                    return Err(refused(response.status, "GET", path));
                }
                let scope: Option<FlatObject> = crate::json::parse_body(&response.body).ok();
                let field = |name| scope.as_ref().and_then(|s| s.text(name)).map(str::to_owned);
                let (Some(project), Some(environment)) =
                    (field("project_id"), field("environment_id"))
                else {
                    return Err(invalid_answer("GET", path));
                };
                let resolved = (project, environment);
                self.scopes.0.borrow_mut().push((hash, resolved.clone()));
                resolved
            }
        };
        Ok((
            self.settings.project.clone().unwrap_or(project),
            self.settings.environment.clone().unwrap_or(environment),
        ))
    }

    /// The user's role keys in the tenant, every page.
    async fn assignments(&self, facts: &str, user: &str) -> Result<Vec<String>> {
        let described = format!("{facts}/role_assignments");
        let mut roles = Vec::new();
        for page in 1..=MAX_ASSIGNMENT_PAGES {
            let path = format!(
                "{described}?user={}&tenant={}&page={page}&per_page={ASSIGNMENTS_PER_PAGE}",
                path_segment(user),
                path_segment(&self.settings.tenant)
            );
            let response = self.send(Method::Get, &path, None).await?;
            if response.status != 200 {
                return Err(refused(response.status, "GET", &described));
            }
            let (page_roles, count) = parse_assignments(&response.body, &self.settings.tenant)
                .ok_or_else(|| invalid_answer("GET", &described))?;
            roles.extend(page_roles);
            if count < ASSIGNMENTS_PER_PAGE {
                break;
            }
        }
        roles.sort_unstable();
        roles.dedup();
        Ok(roles)
    }

    /// Assigns (POST) or unassigns (DELETE) one role. An assignment that already exists (409)
    /// or is already gone (404, documented for unassign) is not an error.
    async fn change(&self, method: Method, path: &str, user: &str, role: &str) -> Result<()> {
        let body = json_object(&[
            ("user", Some(user)),
            ("role", Some(role)),
            ("tenant", Some(self.settings.tenant.as_str())),
        ]);
        let status = self.send(method, path, Some(body)).await?.status;
        match (method, status) {
            (_, 200..=299) | (Method::Post, 409) | (Method::Delete, 404) => Ok(()),
            _ => Err(refused(status, method.as_str(), path)),
        }
    }

    fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> LocalBoxFuture<'_, Result<HttpResponse>> {
        let request = HttpRequest {
            method,
            url: format!("{}{path}", self.settings.api_url.as_str()),
            authorization: Some(format!("Bearer {}", self.settings.api_key.expose())),
            json_body: body,
            timeout_ms: self.budget.timeout_ms,
        };
        retry::send(self.host, request, self.budget, Stage::Permit, None).boxed_local()
    }
}

fn refused(status: u16, method: &str, path: &str) -> Error {
    let hint = match status {
        401 | 403 => "check PERMIT_API_KEY (an environment-level key)",
        404 => "unknown project, environment, tenant or role in Permit: check PERMIT_* and PERMIT_ROLE_MAP",
        s if s >= 500 => "Permit failed; it was retried once",
        _ => "Permit refused the request",
    };
    let path = path.split('?').next().unwrap_or(path);
    Error::new(Code::PermitSyncFailed, hint)
        .with_status(status)
        .with_request(format!("{method} {path}"))
}

fn invalid_answer(method: &str, path: &str) -> Error {
    Error::new(
        Code::PermitSyncFailed,
        "Permit's answer is not the documented JSON",
    )
    .with_request(format!("{method} {path}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorPolicy;
    use crate::settings::SettingMap;
    use crate::settings::{is_role_key, SettingValue, Sources};

    fn read(pairs: &[(&str, &str)]) -> Result<Option<PermitSettings>> {
        let m: SettingMap = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), SettingValue::from(*v)))
            .collect();
        PermitSettings::from_sources(&Sources {
            secrets: Some(m),
            ..Sources::default()
        })
    }

    #[test]
    fn sync_is_off_without_a_key_and_reconcile_with_one() {
        assert_eq!(read(&[]).unwrap(), None);
        let s = read(&[("PERMIT_API_KEY", "permit_key_x")])
            .unwrap()
            .unwrap();
        assert_eq!(s.mode, SyncMode::Reconcile);
        assert_eq!(s.tenant, "default");
        assert_eq!(s.api_url.as_str(), "https://api.permit.io");
        assert_eq!(s.on_error, ErrorPolicy::Continue);
        assert_eq!(
            read(&[("PERMIT_API_KEY", "k"), ("PERMIT_SYNC", "off")]).unwrap(),
            None
        );
    }

    #[test]
    fn invalid_permit_settings_are_config_invalid() {
        let cases: [&[(&str, &str)]; 6] = [
            &[("PERMIT_SYNC", "reconcile")],
            &[("PERMIT_API_KEY", "k"), ("PERMIT_SYNC", "sometimes")],
            &[("PERMIT_API_KEY", "k"), ("PERMIT_ON_ERROR", "ignore")],
            &[
                ("PERMIT_API_KEY", "k"),
                ("PERMIT_API_URL", "http://permit.example.com"),
            ],
            &[("PERMIT_API_KEY", "k"), ("PERMIT_ROLE_MAP", "[1,2]")],
            &[
                ("PERMIT_API_KEY", "k"),
                ("PERMIT_ROLE_MAP", r#"{"Admin":{"x":1}}"#),
            ],
        ];
        for pairs in cases {
            let e = read(pairs).unwrap_err();
            assert_eq!(e.code(), Code::ConfigInvalid, "{pairs:?}");
            assert!(!e.log_line().contains("=k"), "{}", e.log_line());
        }
    }

    #[test]
    fn roles_are_mapped_or_passed_through_sorted_and_distinct() {
        let s = read(&[
            ("PERMIT_API_KEY", "k"),
            (
                "PERMIT_ROLE_MAP",
                r#"{"Administrator":"admin","Editor":"editor","Admin2":"admin"}"#,
            ),
            ("PERMIT_SYNC", "add-only"),
            ("PERMIT_TENANT", "acme"),
            ("PERMIT_API_URL", "http://127.0.0.1:9999"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(s.mode, SyncMode::AddOnly);
        assert_eq!(s.tenant, "acme");
        let roles = [
            "Viewer",
            "Administrator",
            "Admin2",
            "Editor",
            "Project Manager",
            "ops",
        ]
        .map(String::from);
        let (keys, unmapped) = s.permit_roles(&roles);
        assert_eq!(keys, ["Viewer", "admin", "editor", "ops"]);
        assert_eq!(unmapped, ["Project Manager"]);
    }

    #[test]
    fn the_plan_assigns_what_is_missing_and_unassigns_only_when_reconciling() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let wanted = list(&["admin", "editor", "viewer"]);
        let current = list(&["auditor", "editor", "owner"]);
        assert_eq!(
            plan(SyncMode::Reconcile, &wanted, &current),
            Plan {
                assign: list(&["admin", "viewer"]),
                unassign: list(&["auditor", "owner"]),
            }
        );
        for mode in [SyncMode::AddOnly, SyncMode::FirstLogin] {
            let p = plan(mode, &wanted, &current);
            assert_eq!(p.assign, list(&["admin", "viewer"]), "{mode:?}");
            assert!(p.unassign.is_empty(), "{mode:?} never unassigns");
        }
        // In step: nothing to do. No Auth0 roles: reconcile removes every tenant role.
        assert_eq!(plan(SyncMode::Reconcile, &wanted, &wanted), Plan::default());
        assert_eq!(
            plan(SyncMode::Reconcile, &[], &current),
            Plan {
                assign: vec![],
                unassign: current.clone(),
            }
        );
        // A new user (first-login passes no current roles) gets every wanted role.
        assert_eq!(plan(SyncMode::FirstLogin, &wanted, &[]).assign, wanted);
    }

    #[test]
    fn role_keys_are_slugs_and_the_map_must_name_keys() {
        for key in ["admin", "project-manager", "Project_Manager", "r2"] {
            assert!(is_role_key(key), "{key}");
        }
        for name in ["", "Project Manager", "a/b", "r\u{e9}le", "x.y"] {
            assert!(!is_role_key(name), "{name}");
        }
        let e = read(&[
            ("PERMIT_API_KEY", "k"),
            ("PERMIT_ROLE_MAP", r#"{"Admin":"Project Admin"}"#),
        ])
        .unwrap_err();
        assert_eq!(e.code(), Code::ConfigInvalid);
    }

    #[test]
    fn instance_and_foreign_tenant_assignments_are_not_tenant_roles() {
        let page = r#"[
            {"role":"admin","tenant":"default"},
            {"role":"editor","tenant":"default","resource_instance":"document:1"},
            {"role":"viewer","tenant":"acme"},
            {"role":"auditor","tenant":"default","resource_instance":null},
            {"role":"owner","tenant":"default","resource_instance":{"key":"doc","resource":"document"}}
        ]"#;
        assert_eq!(
            parse_assignments(&page.into(), "default"),
            Some((vec!["admin".to_string(), "auditor".to_string()], 5))
        );
    }
}
