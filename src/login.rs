//! One post-login execution, from settings to the claims set on the tokens.
//!
//! Order of work: read the error policy; validate every setting; read the event; fetch what is
//! needed (nothing at all when no token will carry permissions); plan every claim; check each
//! token's size; only then set claims. A failure follows `ON_ERROR`: `deny` denies the login
//! with a generic reason and sets nothing; `continue` drops exactly the claims that failed (never
//! a part of one) and sets the rest. Either way the failure is logged once, with its code.

use crate::claims::{ClaimKind, ClaimLayout, ClaimPlan};
use crate::error::{Code, Error, Result};
use crate::event::Event;
use crate::host::{ActionApi, Host};
use crate::mgmt::{self, TokenStore};
use crate::retry::Deadline;
use crate::settings::{ErrorPolicy, SettingMap, Settings, Sources, TokenKind};

/// What a login ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every planned claim was set.
    Complete,
    /// `ON_ERROR=continue`: these failures were logged and their claims left out.
    Degraded(Vec<Code>),
    /// `api.access.deny` was called with this code.
    Denied(Code),
}

/// The settings sources of a login, decoded separately from the rest of the event so that an
/// unreadable event still follows the configured error policy.
#[derive(Debug, Clone, Default)]
pub struct SettingsInput {
    /// Options passed in code (npm form).
    pub options: Option<SettingMap>,
    /// `event.configuration`.
    pub configuration: Option<SettingMap>,
    /// `event.secrets`.
    pub secrets: Option<SettingMap>,
}

impl SettingsInput {
    /// The sources, by precedence.
    pub fn sources(&self) -> Sources<'_> {
        Sources {
            options: self.options.as_ref(),
            configuration: self.configuration.as_ref(),
            secrets: self.secrets.as_ref(),
        }
    }
}

/// Runs one login. `Err` only when the error could not even be reported (`api.access.deny`
/// threw); the caller surfaces it to the runtime.
pub async fn post_login<H: Host, A: ActionApi>(
    host: &H,
    api: &A,
    store: &TokenStore,
    input: &SettingsInput,
    event: Result<Event>,
) -> Result<Outcome> {
    let started = host.now_ms();
    let sources = input.sources();
    let policy = Settings::error_policy(&sources);
    let settings = match Settings::from_sources(&sources) {
        Ok(s) => s,
        Err(e) => return give_up(host, api, policy, e),
    };
    let event = match event {
        Ok(e) => e,
        Err(e) => return give_up(host, api, policy, e),
    };
    let layout = ClaimLayout::new(settings.namespace.clone());
    let requested = event.requested_api();
    let mut plan = ClaimPlan::new();
    let mut failures = Vec::new();

    let roles = event.roles();
    for token in tokens_of(
        settings.roles_in.contains(TokenKind::Id),
        settings.roles_in.contains(TokenKind::Access),
    ) {
        plan.push(token, ClaimKind::Roles, layout.roles_claim(), roles.clone());
    }

    // The access token only ever carries the requested API's permissions; with no API requested
    // it gets none, and if no token wants permissions the Management API is not called at all.
    let perms_in_id = settings.permissions_in.id_token;
    let perms_in_access = settings.permissions_in.access_token && requested.is_some();
    if let (Some(management), true) = (&settings.management, perms_in_id || perms_in_access) {
        let client = mgmt::Client {
            host,
            api,
            store,
            settings: management,
            timeout_ms: settings.http_timeout_ms,
            deadline: Deadline(started + settings.deadline_ms as f64),
        };
        match client.user_permissions(&event.user.user_id).await {
            Ok(set) => {
                if perms_in_id {
                    let names = set.names_for_id_token(&settings.id_token_apis, requested);
                    plan.push(
                        TokenKind::Id,
                        ClaimKind::Permissions,
                        layout.permissions_claim(),
                        names,
                    );
                }
                if let (true, Some(api_id)) = (perms_in_access, requested) {
                    plan.push(
                        TokenKind::Access,
                        ClaimKind::Permissions,
                        layout.permissions_claim(),
                        set.names_of(api_id),
                    );
                }
            }
            Err(e) if settings.on_error == ErrorPolicy::Deny => {
                return give_up(host, api, policy, e)
            }
            Err(e) => {
                host.log(&e.log_line());
                failures.push(e.code());
            }
        }
    }

    if let Err(e) = plan.check(settings.max_claims_bytes) {
        if settings.on_error == ErrorPolicy::Deny {
            return give_up(host, api, policy, e);
        }
        host.log(&e.log_line());
        failures.push(e.code());
        plan.shed_to_fit(settings.max_claims_bytes);
    }

    for claim in plan.claims() {
        if let Err(e) = api.set_claim(claim.token, &claim.name, &claim.values) {
            return give_up(host, api, policy, e);
        }
    }
    Ok(if failures.is_empty() {
        Outcome::Complete
    } else {
        Outcome::Degraded(failures)
    })
}

fn tokens_of(id: bool, access: bool) -> impl Iterator<Item = TokenKind> {
    [(TokenKind::Id, id), (TokenKind::Access, access)]
        .into_iter()
        .filter_map(|(t, on)| on.then_some(t))
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
