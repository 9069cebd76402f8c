//! One post-login execution, from settings to the claims set on the tokens.
//!
//! Order of work: read the error policy; validate every setting; read the event; fetch what is
//! needed (nothing at all when no token will carry permissions); plan every claim; check each
//! token's size; only then set claims. A failure follows `ON_ERROR`: `deny` denies the login
//! with a generic reason and sets nothing; `continue` drops exactly the claims that failed (never
//! a part of one) and sets the rest. Either way the failure is logged once, with its code.

use crate::claims::{ClaimKind, ClaimLayout, ClaimPlan};
use futures_util::future::join;

use crate::claims::TokenKind;
use crate::error::ErrorPolicy;
use crate::error::{Code, Error, Result};
use crate::event::Event;
use crate::host::{ActionApi, Host};
use crate::mgmt::{self, TokenStore};
use crate::permissions::ApiSelection;
use crate::permit::{self, ScopeCache, SyncReport};
use crate::retry::{Budget, Gate};
use crate::settings::{ManagementSettings, Settings, Sources};
use crate::source::{self, Caches, Found};

/// What a login ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every planned claim was set; these warnings (`stale_permissions`) were logged.
    Complete(Vec<Code>),
    /// `ON_ERROR=continue`: these failures were logged and their claims left out.
    Degraded(Vec<Code>),
    /// `api.access.deny` was called with this code.
    Denied(Code),
}

/// What a module instance keeps between logins (Auth0's Node 22 runtime reuses instances).
#[derive(Debug, Default)]
pub struct Instance {
    /// Management API tokens.
    pub tokens: TokenStore,
    /// Permit projects and environments resolved from API keys.
    pub permit_scopes: ScopeCache,
    /// Computed permissions: users' sets and roles' definitions.
    pub permissions: Caches,
    /// Closed after a Management API 429 until the reset.
    pub gate: Gate,
}

/// Runs one login. `Err` only when the error could not even be reported (`api.access.deny`
/// threw); the caller surfaces it to the runtime.
pub async fn post_login<H: Host, A: ActionApi>(
    host: &H,
    api: &A,
    instance: &Instance,
    sources: &Sources,
    event: Result<Event>,
) -> Result<Outcome> {
    let started = host.now_ms();
    let policy = Settings::error_policy(sources);
    let login = match Login::prepare(sources, event, started) {
        Ok(login) => login,
        Err(e) => return give_up(host, api, policy, e),
    };
    // The only wait of a login — permissions and Permit sync side by side; everything before
    // and after it is synchronous.
    let permissions = async {
        let settings = login.management()?;
        let effective_apis = login.effective_apis();
        // The effective endpoint reads one API at a time: with none requested and none listed
        // there is nothing to read, and no permissions claim (never an empty one, never stored).
        if effective_apis.as_ref().is_some_and(Vec::is_empty) {
            return None;
        }
        let lookup = source::Lookup {
            client: mgmt::Client {
                host,
                api,
                store: &instance.tokens,
                settings,
                budget: login.budget,
                gate: &instance.gate,
            },
            caches: &instance.permissions,
            freshness: login.settings.freshness,
            source: login.settings.source,
            user_id: &login.event.user.user_id,
            roles: &login.roles,
            organization: login.event.organization_id(),
            effective_apis,
            stored: login.event.user.cached_permissions.as_deref(),
        };
        Some(lookup.permissions().await)
    };
    let permit = async {
        let settings = login.settings.permit.as_ref()?;
        let sync = permit::Sync {
            host,
            settings,
            scopes: &instance.permit_scopes,
            budget: login.budget,
        };
        Some(sync.run(&login.event.user, &login.roles).await)
    };
    let (permissions, permit) = join(permissions, permit).await;
    login.finish(host, api, permissions, permit)
}

/// One login between reading its inputs and setting its claims.
struct Login {
    settings: Settings,
    layout: ClaimLayout,
    event: Event,
    roles: Vec<String>,
    requested: Option<String>,
    /// Claims known before any request (roles).
    plan: ClaimPlan,
    budget: Budget,
}

impl Login {
    fn prepare(sources: &Sources, event: Result<Event>, started: f64) -> Result<Login> {
        let settings = Settings::from_sources(sources)?;
        let event = event?;
        let layout = ClaimLayout::new(settings.namespace.clone());
        let mut plan = ClaimPlan::new();
        let roles = event.roles();
        for token in [TokenKind::Id, TokenKind::Access] {
            if settings.roles_in.contains(token) {
                plan.push(token, ClaimKind::Roles, layout.roles_claim(), roles.clone());
            }
        }
        Ok(Login {
            budget: Budget {
                timeout_ms: settings.http_timeout_ms,
                deadline: started + f64::from(settings.deadline_ms),
            },
            requested: event.requested_api().map(str::to_owned),
            event,
            roles,
            settings,
            layout,
            plan,
        })
    }

    /// Whether the permissions claim goes into the ID token, and into the access token. The
    /// access token only ever carries the requested API's permissions: none without an API.
    fn permission_targets(&self) -> (bool, bool) {
        let targets = self.settings.permissions_in;
        (
            targets.id_token,
            targets.access_token && self.requested.is_some(),
        )
    }

    /// With `PERMISSIONS_ENDPOINT=effective`, the APIs whose permissions the tokens carry: the
    /// requested one, and those `ID_TOKEN_APIS` names (by default the requested one; with no API
    /// requested, none). `None` for the user's permissions endpoint, which reads every API, and
    /// for a login through an Organization.
    fn effective_apis(&self) -> Option<Vec<String>> {
        // Through an Organization the member's roles there are read, whatever the endpoint.
        if !self.settings.effective || self.event.organization_id().is_some() {
            return None;
        }
        let (in_id, in_access) = self.permission_targets();
        let mut apis: Vec<String> = match (&self.settings.id_token_apis, in_id) {
            (ApiSelection::List(list), true) => list.clone(),
            _ => Vec::new(),
        };
        let default_id = in_id && self.settings.id_token_apis == ApiSelection::RequestedElseAll;
        if let (Some(api), true) = (&self.requested, in_access || default_id) {
            apis.push(api.clone());
        }
        apis.sort_unstable();
        apis.dedup();
        Some(apis)
    }

    /// The Management API settings, when some token wants permissions; otherwise it is not
    /// called at all.
    fn management(&self) -> Option<&ManagementSettings> {
        let (id, access) = self.permission_targets();
        self.settings.management.as_ref().filter(|_| id || access)
    }

    fn finish<H: Host, A: ActionApi>(
        mut self,
        host: &H,
        api: &A,
        permissions: Option<Result<Found>>,
        permit: Option<Result<SyncReport>>,
    ) -> Result<Outcome> {
        let policy = self.settings.on_error;
        // Failures with the policy each one follows; Permit has its own (PERMIT_ON_ERROR).
        let mut failures: Vec<(Error, ErrorPolicy)> = Vec::new();
        let mut warnings = Vec::new();
        match (permit, &self.settings.permit) {
            (Some(Err(e)), Some(settings)) => failures.push((e, settings.on_error)),
            (
                Some(Ok(SyncReport {
                    unmapped: Some(w), ..
                })),
                _,
            ) => {
                host.log(&w.log_line());
                warnings.push(w.code());
            }
            _ => {}
        }
        match permissions {
            Some(Ok(found)) => {
                self.plan_permissions(&found.set);
                if let Some(stale) = found.stale {
                    host.log(&stale.log_line());
                    warnings.push(stale.code());
                }
            }
            Some(Err(e)) => failures.push((e, policy)),
            None => {}
        }
        if let Err(e) = self.plan.check(self.settings.max_claims_bytes) {
            self.plan.shed_to_fit(self.settings.max_claims_bytes);
            failures.push((e, policy));
        }
        // Each failure is logged once; the first whose policy is deny denies the login.
        for (e, _) in &failures {
            host.log(&e.log_line());
        }
        if let Some((e, _)) = failures.iter().find(|(_, p)| *p == ErrorPolicy::Deny) {
            api.deny(&e.deny_reason())?;
            return Ok(Outcome::Denied(e.code()));
        }
        for claim in self.plan.claims() {
            if let Err(e) = api.set_claim(claim.token, &claim.name, &claim.values) {
                return give_up(host, api, policy, e);
            }
        }
        Ok(if failures.is_empty() {
            Outcome::Complete(warnings)
        } else {
            let mut codes: Vec<Code> = failures.iter().map(|(e, _)| e.code()).collect();
            codes.extend(warnings);
            Outcome::Degraded(codes)
        })
    }

    fn plan_permissions(&mut self, set: &crate::permissions::PermissionSet) {
        let (in_id, in_access) = self.permission_targets();
        let claim = self.layout.permissions_claim();
        if in_id {
            let names =
                set.names_for_id_token(&self.settings.id_token_apis, self.requested.as_deref());
            self.plan
                .push(TokenKind::Id, ClaimKind::Permissions, claim, names);
        }
        if let (true, Some(requested)) = (in_access, &self.requested) {
            self.plan.push(
                TokenKind::Access,
                ClaimKind::Permissions,
                claim,
                set.names_of(requested),
            );
        }
    }
}

/// Logs `error` once and applies the policy: deny the login, or let it go on without claims.
pub fn give_up<H: Host, A: ActionApi>(
    host: &H,
    api: &A,
    policy: ErrorPolicy,
    error: Error,
) -> Result<Outcome> {
    host.log(&error.log_line());
    match policy {
        ErrorPolicy::Deny => {
            api.deny(&error.deny_reason())?;
            Ok(Outcome::Denied(error.code()))
        }
        ErrorPolicy::Continue => Ok(Outcome::Degraded(vec![error.code()])),
    }
}
