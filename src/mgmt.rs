//! The Management API client: one cached M2M token, every page of a user's permissions or of a
//! role's, and role lookups by name.
//!
//! The token (client-credentials grant, audience `https://<domain>/api/v2/`) is kept in a
//! [`TokenStore`] that lives as long as the module instance (Auth0's Node 22 runtime reuses an
//! instance across logins), and in `api.cache` for fresh instances of the same trigger, encrypted
//! and authenticated under a key derived from the client secret: `api.cache` is shared by every
//! Action bound to the trigger, and the token reads every user's profile. Logins that need a
//! token while one is being requested wait for that request instead of sending their own. Every
//! request goes through the instance's [`Gate`]: after a 429 none is sent until the reset.

use std::cell::{Cell, RefCell};
use std::hash::Hasher;
use std::rc::Rc;

use futures_util::future::{self, FutureExt, LocalBoxFuture, Shared};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::Deserialize;

use crate::error::{Code, Error, Result, LOG_PREFIX};
use crate::host::{ActionApi, Host, HttpRequest, HttpResponse, Method};
use crate::json::{json_object, Body, FlatObject};
use crate::permissions::{Permission, PermissionSet};
use crate::retry::{self, Budget, Gate, Stage};
use crate::settings::{path_segment, ManagementSettings};

/// Items per page of a user's permissions: the Public Cloud maximum.
pub const PER_PAGE: u32 = 50;
/// Items per page of a role's permissions and of role lookups (those endpoints allow 100).
pub const ROLE_PER_PAGE: u32 = 100;
/// The purpose the `api.cache` copy of the token is encrypted for.
pub const TOKEN_PURPOSE: &str = "management-token";
/// Pages requested at once after the first, at most (further bounded by `x-ratelimit-remaining`).
pub const PAGE_CONCURRENCY: usize = 10;
/// Pages read at most (10,000 permissions); Auth0's own entity limits stay far below.
pub const MAX_PAGES: u64 = 200;
/// `api.cache` refuses values over 4 KB.
pub const CACHE_VALUE_LIMIT: usize = 4096;
/// `api.cache` keeps entries 24 hours at most.
pub const CACHE_MAX_TTL_MS: f64 = 24.0 * 3600.0 * 1000.0;

/// A Management API access token and when to stop using it.
#[derive(Clone, PartialEq)]
pub struct AccessToken {
    value: Rc<str>,
    /// Milliseconds since the epoch after which the token is not used (expiry minus a margin).
    use_until_ms: f64,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("value", &"[redacted]")
            .field("use_until_ms", &self.use_until_ms)
            .finish()
    }
}

impl AccessToken {
    fn bearer(&self) -> String {
        format!("Bearer {}", self.value)
    }

    /// Milliseconds since the epoch after which the token is no longer used.
    pub fn use_until_ms(&self) -> f64 {
        self.use_until_ms
    }
}

type TokenFuture = Shared<LocalBoxFuture<'static, Result<AccessToken>>>;

enum Slot {
    Ready(AccessToken),
    Fetching(TokenFuture),
}

/// Tokens per (domain, client id), kept for the life of the module instance.
#[derive(Default)]
pub struct TokenStore {
    // Keyed by cache key; one entry per (domain, client id), so a vector beats a hash map.
    slots: RefCell<Vec<(String, Slot)>>,
    cache_warned: Cell<bool>,
    requests: Cell<u64>,
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenStore")
            .field("slots", &self.slots.borrow().len())
            .field("token_requests", &self.requests.get())
            .finish()
    }
}

impl TokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Token requests sent over the life of this store.
    pub fn token_requests(&self) -> u64 {
        self.requests.get()
    }

    /// A ready token still usable at `now`, or the request in flight, for `key`.
    fn lookup(&self, key: &str, now: f64) -> Option<Result<AccessToken, TokenFuture>> {
        let slots = self.slots.borrow();
        match slots.iter().find(|(k, _)| k == key).map(|(_, s)| s) {
            Some(Slot::Ready(t)) if t.use_until_ms > now => Some(Ok(t.clone())),
            Some(Slot::Fetching(f)) => Some(Err(f.clone())),
            _ => None,
        }
    }

    fn put(&self, key: &str, slot: Slot) {
        let mut slots = self.slots.borrow_mut();
        match slots.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = slot,
            None => slots.push((key.to_owned(), slot)),
        }
    }

    /// Removes the entry for `key` when `stale` says so.
    fn remove_if(&self, key: &str, stale: impl Fn(&Slot) -> bool) {
        self.slots
            .borrow_mut()
            .retain(|(k, slot)| k != key || !stale(slot));
    }

    /// Drops `token` if it is still the one held for `key` (the API refused it).
    fn invalidate(&self, key: &str, token: &AccessToken) {
        self.remove_if(key, |slot| matches!(slot, Slot::Ready(t) if t == token));
    }
}

/// The `api.cache` key for a tenant and client: short (≤ 64 bytes), distinct per domain + client id,
/// and free of anything secret.
pub fn cache_key(settings: &ManagementSettings) -> String {
    let mut h = fnv::FnvHasher::default();
    h.write(settings.origin.as_str().as_bytes());
    h.write(&[0]);
    h.write(settings.client_id.as_bytes());
    format!("auth0-rbac-claims/mgmt-token/{:016x}", h.finish())
}

/// Lifetime kept in reserve: a token is not used in the last tenth of its life, at most 5 minutes.
fn margin_ms(lifetime_ms: f64) -> f64 {
    (lifetime_ms / 10.0).min(300_000.0)
}

/// Everything one login needs to call the Management API.
pub struct Client<'a, H: Host, A: ActionApi> {
    /// The runtime.
    pub host: &'a H,
    /// This login's `api`.
    pub api: &'a A,
    /// The instance-wide token store.
    pub store: &'a TokenStore,
    /// Tenant and credentials.
    pub settings: &'a ManagementSettings,
    /// This login's time for requests.
    pub budget: Budget,
    /// The instance's stop after a 429.
    pub gate: &'a Gate,
}

impl<H: Host, A: ActionApi> std::fmt::Debug for Client<'_, H, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("origin", &self.settings.origin)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl<H: Host, A: ActionApi> Client<'_, H, A> {
    /// A usable token: from memory, from a request in flight, from `api.cache`, or requested.
    pub async fn token(&self) -> Result<AccessToken> {
        let key = cache_key(self.settings);
        let now = self.host.now_ms();
        match self.store.lookup(&key, now) {
            Some(Ok(token)) => return Ok(token),
            Some(Err(pending)) => return pending.await,
            None => {}
        }
        if let Some(token) = self.read_action_cache(&key, now) {
            self.store.put(&key, Slot::Ready(token.clone()));
            return Ok(token);
        }
        // Leader: start the request and let every other login wait on it.
        let request = request_token(self.host.clone(), self.settings.clone(), self.budget)
            .boxed_local()
            .shared();
        self.store.requests.set(self.store.requests.get() + 1);
        self.store.put(&key, Slot::Fetching(request.clone()));
        let result = request.await;
        match &result {
            Ok(token) => {
                self.store.put(&key, Slot::Ready(token.clone()));
                self.write_action_cache(&key, token);
            }
            Err(_) => self
                .store
                .remove_if(&key, |slot| matches!(slot, Slot::Fetching(_))),
        }
        result
    }

    /// The token in `api.cache`, if it opens with this client's secret: a value planted by
    /// anyone else (another Action shares the cache) does not, and is ignored.
    fn read_action_cache(&self, key: &str, now: f64) -> Option<AccessToken> {
        let record = self.api.cache_get(key)?;
        let usable = record.expires_at_ms.is_finite() && record.expires_at_ms > now;
        let value = self
            .host
            .open(&self.settings.client_secret, TOKEN_PURPOSE, &record.value)
            .filter(|v| usable && !v.is_empty())?;
        Some(AccessToken {
            value: value.into(),
            use_until_ms: record.expires_at_ms,
        })
    }

    fn write_action_cache(&self, key: &str, token: &AccessToken) {
        let ttl = (token.use_until_ms - self.host.now_ms()).min(CACHE_MAX_TTL_MS);
        if ttl < 1000.0 {
            return;
        }
        let sealed = self
            .host
            .seal(&self.settings.client_secret, TOKEN_PURPOSE, &token.value);
        let result = match sealed {
            None => Err("the runtime cannot encrypt it".to_string()),
            Some(v) if v.len() > CACHE_VALUE_LIMIT => Err(format!(
                "the encrypted token is {} bytes, over api.cache's 4 KB (grant the application fewer scopes)",
                v.len()
            )),
            Some(v) => self.api.cache_set(key, &v, ttl as u64),
        };
        if let Err(code) = result {
            if !self.store.cache_warned.replace(true) {
                self.host.log(&format!(
                    "{LOG_PREFIX} warning: api.cache.set failed ({code}); the Management API token is kept in this instance's memory only"
                ));
            }
        }
    }

    /// Sends an authorised Management API request; a 401 on a cached token drops it and tries
    /// once more with a new one.
    async fn authorised(&self, method: Method, url: &str) -> Result<HttpResponse> {
        let mut token = self.token().await?;
        let mut refreshed = false;
        loop {
            let request = HttpRequest {
                method,
                url: url.to_owned(),
                authorization: Some(token.bearer()),
                json_body: None,
                timeout_ms: self.budget.timeout_ms,
            };
            let response = retry::send(
                self.host,
                request,
                self.budget,
                Stage::Management,
                Some(self.gate),
            )
            .await?;
            if response.status == 401 && !refreshed {
                refreshed = true;
                let key = cache_key(self.settings);
                self.store.invalidate(&key, &token);
                self.api.cache_delete(&key);
                token = self.token().await?;
                continue;
            }
            return Ok(response);
        }
    }

    /// Every permission of `user_id`, across all APIs (scope `read:users`).
    pub async fn user_permissions(&self, user_id: &str) -> Result<PermissionSet> {
        let path = format!("/api/v2/users/{}/permissions", path_segment(user_id));
        let all = self.all_permissions(&path, PER_PAGE, "read:users").await?;
        Ok(all.into_iter().collect())
    }

    /// Every permission of the role `role_id` (scope `read:roles`).
    pub async fn role_permissions(&self, role_id: &str) -> Result<Vec<Permission>> {
        let path = format!("/api/v2/roles/{}/permissions", path_segment(role_id));
        self.all_permissions(&path, ROLE_PER_PAGE, "read:roles")
            .await
    }

    /// The permissions of `user_id` for the APIs `apis` from the effective-permissions endpoint
    /// (direct, through roles and through groups; scope `read:user_effective_permissions`): one
    /// API at a time, each following its `next` cursor page by page.
    pub async fn effective_permissions(
        &self,
        user_id: &str,
        apis: &[String],
    ) -> Result<PermissionSet> {
        let path = format!(
            "/api/v2/users/{}/effective-permissions",
            path_segment(user_id)
        );
        let mut all = Vec::new();
        // Requests sent in this read: every one after the first waits for a closed gate.
        let mut sent = 0;
        for api in apis {
            let first = format!(
                "resource_server_identifier={}&take={PER_PAGE}",
                path_segment(api)
            );
            let mut query = first.clone();
            let mut page = 0;
            loop {
                if page == MAX_PAGES {
                    return Err(too_many(MAX_PAGES * u64::from(PER_PAGE)));
                }
                let (body, _) = self.get_page(&path, &query, sent, EFFECTIVE_SCOPE).await?;
                sent += 1;
                let found = parse_page(&body).map_err(|e| e.with_request(format!("GET {path}")))?;
                all.extend(found.items);
                match found.next {
                    Some(next) if !next.is_empty() => {
                        query = format!("{first}&from={}", path_segment(&next));
                    }
                    _ => break,
                }
                page += 1;
            }
        }
        Ok(all.into_iter().collect())
    }

    /// Every role of the tenant, with its id (scope `read:roles`): one request per 100 roles
    /// (Auth0 allows 1,000 roles a tenant), rather than one lookup per role name.
    pub async fn roles(&self) -> Result<Vec<RoleRef>> {
        self.role_list("/api/v2/roles", "read:roles").await
    }

    /// The roles assigned to `user_id` within the Organization `org` (tenant roles assigned there
    /// and Organization roles), with their ids (scope `read:organization_member_roles`).
    pub async fn member_roles(&self, org: &str, user_id: &str) -> Result<Vec<RoleRef>> {
        let path = format!(
            "/api/v2/organizations/{}/members/{}/roles",
            path_segment(org),
            path_segment(user_id)
        );
        self.role_list(&path, MEMBER_ROLES_SCOPE).await
    }

    async fn role_list(&self, path: &str, scope: &str) -> Result<Vec<RoleRef>> {
        let mut all = Vec::new();
        for page in 0..MAX_PAGES {
            let query = offset_query(ROLE_PER_PAGE, page);
            let (body, _) = self.get_page(path, &query, page, scope).await?;
            let found =
                parse_roles_page(&body).map_err(|e| e.with_request(format!("GET {path}")))?;
            let count = found.roles.len();
            all.extend(found.roles);
            // With totals, until they are reached (a page may be shorter than asked for);
            // without, until a short page.
            let done = match found.total {
                Some(total) => count == 0 || all.len() as u64 >= total,
                None => count < ROLE_PER_PAGE as usize,
            };
            if done {
                break;
            }
        }
        Ok(all)
    }

    /// Every item of a paged permissions list: the first page, then the rest concurrently.
    async fn all_permissions(
        &self,
        path: &str,
        per_page: u32,
        scope: &str,
    ) -> Result<Vec<Permission>> {
        let first = self.page(path, per_page, 0, scope).await?;
        // Every page's entries are gathered first and made a set once: sorted once, not per page.
        let mut all = first.items;
        match first.total {
            Some(total) => {
                let per_page = first
                    .limit
                    .filter(|l| *l > 0)
                    .unwrap_or(u64::from(per_page));
                let pages = total.div_ceil(per_page);
                if pages > MAX_PAGES {
                    return Err(too_many(MAX_PAGES * per_page));
                }
                let parallel = first.ratelimit_remaining.map_or(PAGE_CONCURRENCY, |r| {
                    (r as usize).clamp(1, PAGE_CONCURRENCY)
                });
                // Pages are read several at once and arrive in any order; each goes to its own
                // slot, so that the whole is in the answer's order again. An answer listed in
                // (API, name) order then needs no sort (see `PermissionSet::extend`).
                let mut rest: Vec<Vec<Permission>> = Vec::new();
                rest.resize_with(pages.saturating_sub(1) as usize, Vec::new);
                stream::iter(1..pages)
                    .map(|page| async move {
                        self.page(path, per_page as u32, page, scope)
                            .await
                            .map(|p| (page, p.items))
                    })
                    .buffer_unordered(parallel)
                    .try_for_each(|(page, items)| {
                        if let Some(slot) = rest.get_mut(page as usize - 1) {
                            *slot = items;
                        }
                        future::ready(Ok(()))
                    })
                    .await?;
                for items in rest {
                    all.extend(items);
                }
            }
            None => {
                // A bare array: no totals, so read on until a short page.
                let mut last = first.count;
                let mut page = 1;
                while last >= per_page as usize {
                    if page >= MAX_PAGES {
                        return Err(too_many(MAX_PAGES * u64::from(per_page)));
                    }
                    let next = self.page(path, per_page, page, scope).await?;
                    last = next.count;
                    all.extend(next.items);
                    page += 1;
                }
            }
        }
        Ok(all)
    }

    /// Page `page` (0 for the first) of `path` with `query`: `(body, x-ratelimit-remaining)`; a
    /// status other than 200 is an error.
    async fn get_page(
        &self,
        path: &str,
        query: &str,
        page: u64,
        scope: &str,
    ) -> Result<(Body, Option<u64>)> {
        let url = format!("{}{path}?{query}", self.settings.origin.as_str());
        if page > 0 {
            // The first page is paid for: when it (or another login) emptied the bucket, wait
            // for the reset if the budget allows, rather than fail and pay for it again later.
            let now = self.host.now_ms();
            if let Some(until) = self.gate.closed_until(now) {
                if self.budget.fits(now, until - now) {
                    self.host.sleep((until - now).ceil() as u32).await;
                }
            }
        }
        let response = self.authorised(Method::Get, &url).await?;
        if response.status != 200 {
            return Err(
                management_error(response.status, scope).with_request(format!("GET {path}"))
            );
        }
        let remaining = response
            .headers
            .ratelimit_remaining
            .as_deref()
            .and_then(|v| v.trim().parse().ok());
        Ok((response.body, remaining))
    }

    async fn page(&self, path: &str, per_page: u32, page: u64, scope: &str) -> Result<Page> {
        let query = offset_query(per_page, page);
        let (body, remaining) = self.get_page(path, &query, page, scope).await?;
        let mut parsed = parse_page(&body).map_err(|e| e.with_request(format!("GET {path}")))?;
        parsed.ratelimit_remaining = remaining;
        Ok(parsed)
    }
}

/// The query of page `page` of an offset-paged list, totals included.
fn offset_query(per_page: u32, page: u64) -> String {
    format!("per_page={per_page}&page={page}&include_totals=true")
}

fn too_many(read: u64) -> Error {
    Error::new(
        Code::ManagementApiError,
        format!("the user holds more than the {read} permission entries this Action reads, more than any token can carry: grant them through fewer roles, or set PERMISSIONS_IN=none"),
    )
}

/// The scope that reads the effective-permissions endpoint.
const EFFECTIVE_SCOPE: &str = "read:user_effective_permissions";

/// The scope that reads a member's roles within an Organization.
const MEMBER_ROLES_SCOPE: &str = "read:organization_member_roles";

fn management_error(status: u16, scope: &str) -> Error {
    let message = match status {
        401 => "the Management API refused the token twice; check AUTH0_DOMAIN is the canonical tenant domain".to_string(),
        403 => format!("the application lacks a scope: authorise it for the Management API with {scope}"),
        404 if scope == "read:roles" => "the role does not exist in this tenant (deleted since the login began?)".to_string(),
        404 if scope == EFFECTIVE_SCOPE => "the user, or an API it is read for (the requested one or one in ID_TOKEN_APIS), does not exist in this tenant".to_string(),
        404 if scope == MEMBER_ROLES_SCOPE => "the user is not a member of the login's Organization, or it no longer exists".to_string(),
        404 => "the user does not exist in this tenant (check AUTH0_DOMAIN)".to_string(),
        s if s >= 500 => "the Management API failed; it was retried once".to_string(),
        _ => "the Management API refused the request".to_string(),
    };
    Error::new(Code::ManagementApiError, message).with_status(status)
}

/// One page of `GET /api/v2/users/{id}/permissions`, as [`parse_page`] reads it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// The permissions on the page, duplicates included.
    pub items: Vec<Permission>,
    /// How many entries the page had.
    pub count: usize,
    /// `total`, when the answer had totals (`include_totals=true`).
    pub total: Option<u64>,
    /// `limit` (the page size the API used), when the answer had totals.
    pub limit: Option<u64>,
    /// `x-ratelimit-remaining` of the answer.
    pub ratelimit_remaining: Option<u64>,
    /// The cursor of the next page (`next`), from the effective-permissions endpoint.
    pub next: Option<String>,
}

#[derive(Deserialize)]
struct PageWithTotals {
    #[serde(default)]
    limit: Option<u64>,
    /// Absent from the effective-permissions endpoint, which pages with `next` instead.
    #[serde(default)]
    total: Option<u64>,
    permissions: Vec<Permission>,
    #[serde(default)]
    next: Option<String>,
}

/// Reads a permissions answer in either shape: `{start, limit, total, permissions}` or a bare
/// array. Anything else is `response_invalid`. (A fuzz target.)
pub fn parse_page(body: &Body) -> Result<Page> {
    let invalid = |e: crate::json::ReadError| {
        Error::new(
            Code::ResponseInvalid,
            format!(
                "the permissions answer is not the documented JSON ({})",
                e.kind()
            ),
        )
    };
    match body.first_char() {
        Some('[') => {
            let items: Vec<Permission> = crate::json::parse_body(body).map_err(invalid)?;
            Ok(Page {
                count: items.len(),
                items,
                ..Page::default()
            })
        }
        Some('{') => {
            let p: PageWithTotals = crate::json::parse_body(body).map_err(invalid)?;
            Ok(Page {
                count: p.permissions.len(),
                items: p.permissions,
                total: p.total,
                limit: p.limit,
                ratelimit_remaining: None,
                next: p.next,
            })
        }
        _ => Err(Error::new(
            Code::ResponseInvalid,
            "the permissions answer is not JSON",
        )),
    }
}

/// A role as `GET /api/v2/roles` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RoleRef {
    /// `rol_…`.
    pub id: String,
    /// The role's name, as `event.authorization.roles` carries it.
    pub name: String,
}

/// One page of `GET /api/v2/roles`, as [`parse_roles_page`] reads it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RolesPage {
    /// The roles on the page.
    pub roles: Vec<RoleRef>,
    /// `total`, when the answer had totals.
    pub total: Option<u64>,
}

#[derive(Deserialize)]
struct RolesWithTotals {
    total: u64,
    roles: Vec<RoleRef>,
}

/// Reads a roles answer in either shape: `{start, limit, total, roles}` or a bare array.
/// Anything else is `response_invalid`. (A fuzz target.)
pub fn parse_roles_page(body: &Body) -> Result<RolesPage> {
    let invalid = |e: crate::json::ReadError| {
        Error::new(
            Code::ResponseInvalid,
            format!("the roles answer is not the documented JSON ({})", e.kind()),
        )
    };
    match body.first_char() {
        Some('[') => Ok(RolesPage {
            roles: crate::json::parse_body(body).map_err(invalid)?,
            total: None,
        }),
        Some('{') => {
            let p: RolesWithTotals = crate::json::parse_body(body).map_err(invalid)?;
            Ok(RolesPage {
                roles: p.roles,
                total: Some(p.total),
            })
        }
        _ => Err(Error::new(
            Code::ResponseInvalid,
            "the roles answer is not JSON",
        )),
    }
}

/// `POST /oauth/token` (client credentials). Runs detached from any one login, inside the shared
/// future, so it owns what it uses.
async fn request_token<H: Host>(
    host: H,
    settings: ManagementSettings,
    budget: Budget,
) -> Result<AccessToken> {
    let audience = settings.origin.management_audience();
    let body = json_object(&[
        ("grant_type", Some("client_credentials")),
        ("client_id", Some(&settings.client_id)),
        ("client_secret", Some(settings.client_secret.expose())),
        ("audience", Some(&audience)),
    ]);
    let request = HttpRequest {
        method: Method::Post,
        url: format!("{}/oauth/token", settings.origin.as_str()),
        authorization: None,
        json_body: Some(body),
        timeout_ms: budget.timeout_ms,
    };
    let described = request.describe();
    let sent_at = host.now_ms();
    let response = retry::send(&host, request, budget, Stage::Token, None).await?;
    if response.status != 200 {
        return Err(token_error(&response).with_request(described));
    }
    parse_token_answer(&response.body, sent_at).map_err(|e| e.with_request(described))
}

/// Reads a `POST /oauth/token` answer sent at `sent_at` (ms since the epoch): the token, used
/// until its expiry minus the margin. (A fuzz target.)
pub fn parse_token_answer(body: &Body, sent_at: f64) -> Result<AccessToken> {
    let answer: Option<FlatObject> = crate::json::parse_body(body).ok();
    let field = |name| answer.as_ref().and_then(|a| a.text(name));
    let Some(access_token) = field("access_token").filter(|t| !t.is_empty()) else {
        return Err(Error::new(
            Code::ResponseInvalid,
            "the token answer lacks access_token (or is not JSON)",
        ));
    };
    // Auth0's default Management API token lives 24 h; without expires_in assume 10 minutes.
    let lifetime_ms = field("expires_in")
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(600_000.0, |s| s as f64 * 1000.0);
    Ok(AccessToken {
        value: access_token.into(),
        use_until_ms: sent_at + lifetime_ms - margin_ms(lifetime_ms),
    })
}

fn token_error(response: &HttpResponse) -> Error {
    // Auth0's OAuth error code (`access_denied`, `invalid_client`…) is safe to repeat; the
    // description is not repeated.
    let answer: Option<FlatObject> = crate::json::parse_body(&response.body).ok();
    let oauth = answer
        .as_ref()
        .and_then(|a| a.text("error"))
        .filter(|e| e.len() <= 40 && e.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
    let hint = match response.status {
        401 => "check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET",
        403 => "authorise the application for the Management API (https://<domain>/api/v2/) with read:users",
        429 => "the tenant rate-limits token requests",
        s if s >= 500 => "the tenant failed; it was retried once",
        _ => "check AUTH0_DOMAIN and the application's grant types (client credentials)",
    };
    let message = match oauth {
        Some(code) => format!("the token request was refused ({code}): {hint}"),
        None => format!("the token request was refused: {hint}"),
    };
    Error::new(Code::TokenRequestFailed, message).with_status(response.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_encoded_as_one_path_segment() {
        assert_eq!(path_segment("auth0|123"), "auth0%7C123");
        assert_eq!(
            path_segment("oauth2|a/b c?d#e%"),
            "oauth2%7Ca%2Fb%20c%3Fd%23e%25"
        );
        assert_eq!(path_segment("email|é"), "email%7C%C3%A9");
        assert_eq!(path_segment("a-b.c_d~e"), "a-b.c_d~e");
    }

    #[test]
    fn cache_keys_fit_64_bytes_and_differ_per_domain_and_client() {
        use crate::settings::{Secret, TenantOrigin};
        let m = |domain: &str, id: &str| ManagementSettings {
            origin: TenantOrigin::parse(domain).unwrap(),
            client_id: id.into(),
            client_secret: Secret::new("s"),
        };
        let a = cache_key(&m("a.auth0.com", "client"));
        let b = cache_key(&m("b.auth0.com", "client"));
        let c = cache_key(&m("a.auth0.com", "other"));
        let long = cache_key(&m(
            &format!("{}.auth0.com", "x".repeat(60)),
            &"y".repeat(64),
        ));
        for k in [&a, &b, &c, &long] {
            assert!(k.len() <= 64, "{k}");
        }
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, cache_key(&m("https://a.auth0.com/", "client")));
    }

    #[test]
    fn both_page_shapes_parse() {
        let with_totals = r#"{"start":0,"limit":50,"total":120,"permissions":[
            {"permission_name":"read:a","resource_server_identifier":"https://a","resource_server_name":"A","description":"d","sources":[{"source_type":"ROLE"}]}]}"#;
        let p = parse_page(&with_totals.into()).unwrap();
        assert_eq!((p.total, p.limit, p.count), (Some(120), Some(50), 1));
        assert_eq!(p.items[0], Permission::new("https://a", "read:a"));
        let bare = r#"[{"permission_name":"x","resource_server_identifier":"https://a"}]"#;
        let p = parse_page(&bare.into()).unwrap();
        assert_eq!((p.total, p.count), (None, 1));
    }

    #[test]
    fn malformed_pages_are_response_invalid() {
        for body in [
            "",
            "<html>",
            "{",
            r#"{"total":1}"#,
            r#"{"total":"1","permissions":[]}"#,
            r#"[{"permission_name":"x"}]"#,
            r#"[{"permission_name":1,"resource_server_identifier":"a"}]"#,
            "null",
        ] {
            let e = parse_page(&body.into()).unwrap_err();
            assert_eq!(e.code(), Code::ResponseInvalid, "{body}");
        }
    }

    #[test]
    fn token_errors_repeat_only_the_oauth_code() {
        let e = token_error(&HttpResponse {
            status: 401,
            headers: Default::default(),
            body: r#"{"error":"access_denied","error_description":"Unauthorized: secret s3cr3t"}"#
                .into(),
        });
        assert_eq!(e.code(), Code::TokenRequestFailed);
        assert!(e.message().contains("access_denied"));
        assert!(!e.message().contains("s3cr3t"));
        let e = token_error(&HttpResponse {
            status: 403,
            headers: Default::default(),
            body: r#"{"error":"<script>"}"#.into(),
        });
        assert!(!e.message().contains("script"));
        assert!(e.message().contains("read:users"));
    }

    #[test]
    fn the_margin_is_a_tenth_of_the_lifetime_capped_at_five_minutes() {
        assert_eq!(margin_ms(86_400_000.0), 300_000.0);
        assert_eq!(margin_ms(60_000.0), 6_000.0);
    }
}
