//! The login orchestration on the host, against a simulated tenant with a virtual clock.
//!
//! Fetches yield once before answering, so concurrent logins really interleave; `sleep` advances
//! the clock instantly, so retry waits cost nothing. This pins the paging plan, the single-flight
//! token, the 401 refresh, the retry rules, per-token filtering and both error policies.
// Test code: a panic here is a failed test, not a failed login.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use auth0_rbac_claims::cache;
use auth0_rbac_claims::claims::TokenKind;
use auth0_rbac_claims::event;
use auth0_rbac_claims::host::{
    ActionApi, CacheRecord, FetchError, Host, HttpRequest, HttpResponse, ResponseHeaders,
};
use auth0_rbac_claims::login::{post_login, Instance, Outcome};
use auth0_rbac_claims::permissions::{Permission, PermissionSet};
use auth0_rbac_claims::settings::{
    ManagementSettings, PermissionsSource, Secret, SettingMap, SettingValue, Sources, TenantOrigin,
};
use auth0_rbac_claims::Code;
use futures_executor::LocalPool;
use futures_util::future::join_all;
use futures_util::task::LocalSpawnExt;

const NS: &str = "https://myapp.example.com";
const SECRET: &str = "client-secret-do-not-log";
const API_A: &str = "https://a.example.com";
const API_B: &str = "https://b.example.com";

/// Returns Pending once, so other tasks run before the fetch answers.
struct YieldOnce(bool);
impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// A role's id and its (API, permission) pairs.
type Role = (String, Vec<(String, String)>);

type Fault = Box<dyn FnMut(&HttpRequest, u32) -> Option<Result<HttpResponse, FetchError>>>;

/// The simulated tenant: users with permissions, tokens, rate-limit headers and faults.
struct Tenant {
    now: Cell<f64>,
    logs: RefCell<Vec<String>>,
    requests: RefCell<Vec<String>>,
    in_flight: Cell<usize>,
    max_in_flight: Cell<usize>,
    permissions: HashMap<String, Vec<(String, String)>>,
    valid_tokens: RefCell<Vec<String>>,
    issued: Cell<u32>,
    remaining: Cell<Option<u32>>,
    bare_arrays: Cell<bool>,
    fault: RefCell<Option<Fault>>,
    /// Permissions granted during a test: (user, API, name).
    extra: RefCell<Vec<(String, String, String)>>,
    /// Role name → (id, permissions), for `PERMISSIONS_SOURCE=roles`.
    roles: RefCell<HashMap<String, Role>>,
    /// (Organization, user) → the role names assigned to the member there.
    members: RefCell<HashMap<(String, String), Vec<String>>>,
    /// Permissions a user holds through a group's roles: only the effective endpoint sees them.
    groups: RefCell<Vec<(String, String, String)>>,
}

#[derive(Clone)]
struct FakeHost(Rc<Tenant>);

fn ok(body: String, remaining: Option<u32>) -> Result<HttpResponse, FetchError> {
    Ok(HttpResponse {
        status: 200,
        headers: ResponseHeaders {
            ratelimit_remaining: remaining.map(|r| r.to_string()),
            ..Default::default()
        },
        body: body.into(),
    })
}

fn status(code: u16) -> Result<HttpResponse, FetchError> {
    Ok(HttpResponse {
        status: code,
        headers: Default::default(),
        body: "{}".into(),
    })
}

impl FakeHost {
    fn new() -> Self {
        let mut permissions = HashMap::new();
        permissions.insert("auth0|none".to_string(), vec![]);
        permissions.insert(
            "auth0|three".to_string(),
            vec![
                (API_A.into(), "read:a".into()),
                (API_A.into(), "write:a".into()),
                (API_B.into(), "read:b".into()),
            ],
        );
        // 500 entries over two APIs, every name listed twice (two roles), plus a name both share.
        let mut big = vec![];
        for i in 0..125 {
            for api in [API_A, API_B] {
                big.push((api.to_string(), format!("perm:{i:03}")));
                big.push((api.to_string(), format!("perm:{i:03}")));
            }
        }
        permissions.insert("auth0|big".to_string(), big);
        permissions.insert(
            "oauth2|corp|a/b c?d".to_string(),
            vec![(API_A.into(), "special".into())],
        );
        FakeHost(Rc::new(Tenant {
            now: Cell::new(1_700_000_000_000.0),
            logs: RefCell::default(),
            requests: RefCell::default(),
            in_flight: Cell::new(0),
            max_in_flight: Cell::new(0),
            permissions,
            valid_tokens: RefCell::default(),
            issued: Cell::new(0),
            remaining: Cell::new(None),
            bare_arrays: Cell::new(false),
            fault: RefCell::new(None),
            extra: RefCell::default(),
            groups: RefCell::default(),
            members: RefCell::new(
                [
                    (("org_1", "auth0|three"), vec!["editor"]),
                    (("org_1", "auth0|none"), vec!["editor"]),
                ]
                .into_iter()
                .map(|((o, u), r)| {
                    let roles = r.into_iter().map(String::from).collect();
                    ((o.to_string(), u.to_string()), roles)
                })
                .collect(),
            ),
            roles: RefCell::new(
                [
                    (
                        "admin",
                        "rol_1",
                        vec![(API_A, "admin:a"), (API_A, "read:a")],
                    ),
                    (
                        "editor",
                        "rol_2",
                        vec![(API_A, "read:a"), (API_B, "write:b")],
                    ),
                    ("Viewer", "rol_3", vec![(API_B, "read:b")]),
                ]
                .into_iter()
                .map(|(name, id, perms)| {
                    let perms = perms
                        .into_iter()
                        .map(|(a, n)| (a.to_string(), n.to_string()))
                        .collect();
                    (name.to_string(), (id.to_string(), perms))
                })
                .collect(),
            ),
        }))
    }

    fn with_fault(
        self,
        fault: impl FnMut(&HttpRequest, u32) -> Option<Result<HttpResponse, FetchError>> + 'static,
    ) -> Self {
        *self.0.fault.borrow_mut() = Some(Box::new(fault));
        self
    }

    fn count(&self, what: &str) -> usize {
        self.0
            .requests
            .borrow()
            .iter()
            .filter(|r| r.contains(what))
            .count()
    }

    fn answer(&self, request: &HttpRequest) -> Result<HttpResponse, FetchError> {
        let t = &self.0;
        let url = request.url.split_once("://").map(|(_, r)| r).unwrap();
        let path_and_query = &url[url.find('/').unwrap()..];
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        if path == "/oauth/token" {
            let body: serde_json::Value =
                serde_json::from_str(request.json_body.as_deref().unwrap()).unwrap();
            assert_eq!(body["grant_type"], "client_credentials");
            assert_eq!(body["audience"], "https://tenant.example.com/api/v2/");
            if body["client_secret"] != SECRET {
                return status(401);
            }
            t.issued.set(t.issued.get() + 1);
            let token = format!("token-{}", t.issued.get());
            t.valid_tokens.borrow_mut().push(token.clone());
            return ok(
                format!(r#"{{"access_token":"{token}","expires_in":86400,"token_type":"Bearer"}}"#),
                None,
            );
        }
        let bearer = request
            .authorization
            .as_deref()
            .unwrap()
            .trim_start_matches("Bearer ");
        if !t.valid_tokens.borrow().iter().any(|v| v == bearer) {
            return status(401);
        }
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .map(str::to_owned)
        };
        if let Some((org, user)) = path
            .strip_prefix("/api/v2/organizations/")
            .and_then(|p| p.strip_suffix("/roles"))
            .and_then(|p| p.split_once("/members/"))
        {
            let key = (percent_decode(org), percent_decode(user));
            let Some(names) = t.members.borrow().get(&key).cloned() else {
                return status(404);
            };
            let roles = t.roles.borrow();
            let listed: Vec<serde_json::Value> = names
                .iter()
                .map(|name| serde_json::json!({"id": roles[name].0, "name": name, "description": ""}))
                .collect();
            let body = serde_json::json!({"start": 0, "limit": 100, "total": listed.len(), "roles": listed});
            return ok(body.to_string(), t.remaining.get());
        }
        if let Some(id) = path
            .strip_prefix("/api/v2/users/")
            .and_then(|p| p.strip_suffix("/effective-permissions"))
        {
            let id = percent_decode(id);
            let api = percent_decode(&param("resource_server_identifier").unwrap());
            let Some(base) = t.permissions.get(&id) else {
                return status(404);
            };
            let extra = t.extra.borrow();
            let groups = t.groups.borrow();
            let granted = extra
                .iter()
                .chain(groups.iter())
                .filter(|(u, _, _)| *u == id);
            let all: Vec<(String, String)> = base
                .iter()
                .cloned()
                .chain(granted.map(|(_, a, n)| (a.clone(), n.clone())))
                .filter(|(a, _)| *a == api)
                .collect();
            let from: usize = param("from").map_or(0, |f| f.parse().unwrap());
            let take: usize = param("take").unwrap().parse().unwrap();
            let items: Vec<serde_json::Value> = all
                .iter()
                .skip(from)
                .take(take)
                .map(|(a, n)| serde_json::json!({"permission_name": n, "resource_server_identifier": a, "resource_server_name": "x", "description": "d", "sources": ["direct"]}))
                .collect();
            let mut body = serde_json::json!({ "permissions": items });
            if from + take < all.len() {
                body["next"] = serde_json::json!((from + take).to_string());
            }
            return ok(body.to_string(), t.remaining.get());
        }
        if path == "/api/v2/roles" {
            // name_filter: case-insensitive, and a substring match, like Auth0's.
            let filter =
                param("name_filter").map_or(String::new(), |f| percent_decode(&f).to_lowercase());
            let roles: Vec<serde_json::Value> = t
                .roles
                .borrow()
                .iter()
                .filter(|(name, _)| name.to_lowercase().contains(&filter))
                .map(|(name, (id, _))| serde_json::json!({"id": id, "name": name, "description": ""}))
                .collect();
            let body =
                serde_json::json!({"start": 0, "limit": 100, "total": roles.len(), "roles": roles});
            return ok(body.to_string(), t.remaining.get());
        }
        let all: Vec<(String, String)> = if let Some(role) = path
            .strip_prefix("/api/v2/roles/")
            .and_then(|p| p.strip_suffix("/permissions"))
        {
            let roles = t.roles.borrow();
            let Some((_, perms)) = roles.values().find(|(id, _)| id == role) else {
                return status(404);
            };
            perms.clone()
        } else {
            let id = path
                .strip_prefix("/api/v2/users/")
                .and_then(|p| p.strip_suffix("/permissions"))
                .unwrap();
            let id = percent_decode(id);
            let Some(all) = t.permissions.get(&id) else {
                return status(404);
            };
            let mut all = all.clone();
            all.extend(
                t.extra
                    .borrow()
                    .iter()
                    .filter(|(u, _, _)| *u == id)
                    .map(|(_, a, n)| (a.clone(), n.clone())),
            );
            all
        };
        let all = &all;
        let page: usize = param("page").unwrap().parse().unwrap();
        let per_page: usize = param("per_page").unwrap().parse().unwrap();
        let items: Vec<serde_json::Value> = all
            .iter()
            .skip(page * per_page)
            .take(per_page)
            .map(|(api, name)| serde_json::json!({"permission_name": name, "resource_server_identifier": api, "resource_server_name": "x", "description": "d"}))
            .collect();
        let body = if t.bare_arrays.get() {
            serde_json::to_string(&items).unwrap()
        } else {
            serde_json::json!({"start": page * per_page, "limit": per_page, "total": all.len(), "permissions": items}).to_string()
        };
        ok(body, t.remaining.get())
    }
}

impl Tenant {
    /// Grants `user` a permission directly (on top of the seeded ones).
    fn permissions_grant(&self, user: &str, api: &str, name: &str) {
        self.extra
            .borrow_mut()
            .push((user.into(), api.into(), name.into()));
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = vec![];
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

impl Host for FakeHost {
    fn now_ms(&self) -> f64 {
        self.0.now.get()
    }
    fn random(&self) -> f64 {
        0.5
    }
    async fn sleep(&self, ms: u32) {
        self.0.now.set(self.0.now.get() + f64::from(ms));
    }
    async fn fetch(&self, request: HttpRequest) -> Result<HttpResponse, FetchError> {
        let t = &self.0;
        let described = format!("{} {}", request.method.as_str(), request.url);
        t.requests.borrow_mut().push(described);
        let n = t.requests.borrow().len() as u32;
        t.in_flight.set(t.in_flight.get() + 1);
        t.max_in_flight
            .set(t.max_in_flight.get().max(t.in_flight.get()));
        YieldOnce(false).await;
        t.in_flight.set(t.in_flight.get() - 1);
        if let Some(fault) = t.fault.borrow_mut().as_mut() {
            if let Some(answer) = fault(&request, n) {
                if matches!(answer, Err(FetchError::Timeout)) {
                    t.now.set(t.now.get() + f64::from(request.timeout_ms));
                }
                return answer;
            }
        }
        t.now.set(t.now.get() + 20.0);
        self.answer(&request)
    }
    fn log(&self, line: &str) {
        self.0.logs.borrow_mut().push(line.to_owned());
    }
    // Keyed stand-ins for Node's HMAC and AES-GCM (tested against dist/ in Node): a different
    // secret or purpose gives a different MAC, and only the same one opens a sealed value.
    fn mac(&self, secret: &Secret, purpose: &str, data: &str) -> Option<String> {
        Some(format!(
            "{:016x}",
            fnv(&format!("{}|{purpose}|{data}", secret.expose()))
        ))
    }
    fn seal(&self, secret: &Secret, purpose: &str, plaintext: &str) -> Option<String> {
        let key = fnv(&format!("{}|{purpose}", secret.expose()));
        let hex: String = plaintext.bytes().map(|b| format!("{b:02x}")).collect();
        Some(format!("sealed:{key:016x}:{hex}"))
    }
    fn open(&self, secret: &Secret, purpose: &str, sealed: &str) -> Option<String> {
        let key = fnv(&format!("{}|{purpose}", secret.expose()));
        let hex = sealed.strip_prefix(&format!("sealed:{key:016x}:"))?;
        let bytes: Option<Vec<u8>> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect();
        String::from_utf8(bytes?).ok()
    }
}

fn fnv(text: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
    }
    h
}

#[derive(Default)]
struct FakeApi {
    cache: Rc<RefCell<HashMap<String, CacheRecord>>>,
    cache_ops: RefCell<Vec<String>>,
    claims: RefCell<Vec<(TokenKind, String, Vec<String>)>>,
    denied: RefCell<Option<String>>,
    refuse_cache_set: bool,
    app_metadata: RefCell<Vec<(String, Option<String>)>>,
}

impl ActionApi for FakeApi {
    fn cache_get(&self, key: &str) -> Option<CacheRecord> {
        self.cache_ops.borrow_mut().push(format!("get {key}"));
        self.cache.borrow().get(key).cloned()
    }
    fn cache_set(&self, key: &str, value: &str, ttl_ms: u64) -> Result<(), String> {
        assert!(key.len() <= 64);
        self.cache_ops
            .borrow_mut()
            .push(format!("set {key} ttl={ttl_ms}"));
        if self.refuse_cache_set {
            return Err("FailedToSetCacheRecord".into());
        }
        self.cache.borrow_mut().insert(
            key.into(),
            CacheRecord {
                value: value.into(),
                expires_at_ms: 1_700_000_000_000.0 + ttl_ms as f64,
            },
        );
        Ok(())
    }
    fn cache_delete(&self, key: &str) {
        self.cache_ops.borrow_mut().push(format!("delete {key}"));
        self.cache.borrow_mut().remove(key);
    }
    fn set_claim(
        &self,
        token: TokenKind,
        name: &str,
        values: &[String],
    ) -> Result<(), auth0_rbac_claims::Error> {
        self.claims
            .borrow_mut()
            .push((token, name.into(), values.to_vec()));
        Ok(())
    }
    fn deny(&self, reason: &str) -> Result<(), auth0_rbac_claims::Error> {
        *self.denied.borrow_mut() = Some(reason.into());
        Ok(())
    }
    fn set_app_metadata(&self, key: &str, value: Option<&str>) -> Result<(), String> {
        self.app_metadata
            .borrow_mut()
            .push((key.into(), value.map(str::to_owned)));
        Ok(())
    }
}

impl FakeApi {
    fn claim(&self, token: TokenKind, leaf: &str) -> Option<Vec<String>> {
        self.claims
            .borrow()
            .iter()
            .find(|(t, n, _)| *t == token && n == &format!("{NS}/{leaf}"))
            .map(|(_, _, v)| v.clone())
    }
}

/// Settings for a login. `PERMISSIONS_TTL=0` unless a test sets it: most tests here pin how
/// permissions are fetched, which the cache would skip; the cache has tests of its own.
fn settings(extra: &[(&str, &str)]) -> Sources {
    let mut secrets: SettingMap = [
        ("CLAIM_NAMESPACE", NS),
        ("AUTH0_DOMAIN", "tenant.example.com"),
        ("AUTH0_CLIENT_ID", "client"),
        ("AUTH0_CLIENT_SECRET", SECRET),
        ("PERMISSIONS_TTL", "0"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), SettingValue::from(*v)))
    .collect();
    for (k, v) in extra {
        secrets.insert(k.to_string(), SettingValue::from(*v));
    }
    Sources {
        secrets: Some(secrets),
        ..Default::default()
    }
}

fn user_event(user: &str, audience: Option<&str>) -> event::Event {
    let json = serde_json::json!({
        "user": {"user_id": user},
        "authorization": {"roles": ["editor", "admin"]},
        "resource_server": audience.map(|a| serde_json::json!({"identifier": a})),
    });
    event::from_json(&json.to_string()).1.unwrap()
}

fn run(
    host: &FakeHost,
    api: &FakeApi,
    store: &Instance,
    input: &Sources,
    event: event::Event,
) -> Outcome {
    futures_executor::block_on(post_login(host, api, store, input, Ok(event))).unwrap()
}

/// One login on a fresh instance with the default settings and `extra`.
fn once(host: &FakeHost, api: &FakeApi, extra: &[(&str, &str)], event: event::Event) -> Outcome {
    run(host, api, &Instance::default(), &settings(extra), event)
}

fn assert_no_secret(host: &FakeHost, api: &FakeApi) {
    for line in host
        .0
        .logs
        .borrow()
        .iter()
        .chain(api.denied.borrow().iter())
    {
        assert!(!line.contains(SECRET) && !line.contains("token-"), "{line}");
    }
}

#[test]
fn first_login_sends_token_and_one_page_then_only_the_page() {
    let host = FakeHost::new();
    let store = Instance::default();
    let api = FakeApi::default();
    let outcome = run(
        &host,
        &api,
        &store,
        &settings(&[]),
        user_event("auth0|three", Some(API_A)),
    );
    assert_eq!(outcome, Outcome::Complete(vec![]));
    assert_eq!(
        (host.count("/oauth/token"), host.count("/permissions")),
        (1, 1)
    );
    assert_eq!(
        api.claim(TokenKind::Access, "permissions").unwrap(),
        ["read:a", "write:a"]
    );
    assert_eq!(
        api.claim(TokenKind::Id, "permissions").unwrap(),
        ["read:a", "write:a"]
    );
    assert_eq!(
        api.claim(TokenKind::Id, "roles").unwrap(),
        ["admin", "editor"]
    );
    // Cached for the token's lifetime (24 h) minus the 5-minute margin, give or take the clock.
    let ttl: u64 = api
        .cache_ops
        .borrow()
        .iter()
        .find_map(|op| {
            op.strip_prefix("set auth0-rbac-claims/mgmt-token/")?
                .split_once(" ttl=")?
                .1
                .parse()
                .ok()
        })
        .unwrap();
    assert!((86_000_000..=86_100_000).contains(&ttl), "{ttl}");

    let again = FakeApi::default();
    run(
        &host,
        &again,
        &store,
        &settings(&[]),
        user_event("auth0|three", Some(API_A)),
    );
    assert_eq!(
        (host.count("/oauth/token"), host.count("/permissions")),
        (1, 2)
    );
    assert!(
        again.cache_ops.borrow().is_empty(),
        "memory first: {:?}",
        again.cache_ops.borrow()
    );
}

#[test]
fn a_fresh_instance_with_a_warm_action_cache_sends_no_token_request() {
    let host = FakeHost::new();
    let first = FakeApi::default();
    once(&host, &first, &[], user_event("auth0|three", None));
    let warm = FakeApi {
        cache: first.cache.clone(),
        ..Default::default()
    };
    once(&host, &warm, &[], user_event("auth0|three", None));
    assert_eq!(host.count("/oauth/token"), 1);
    assert_eq!(host.count("/permissions"), 2);
}

#[test]
fn the_big_user_is_read_completely_with_pages_in_parallel_bounded_by_the_rate_limit() {
    for (remaining, expected_parallel) in [(None, 9), (Some(100), 9), (Some(4), 4), (Some(1), 1)] {
        let host = FakeHost::new();
        host.0.remaining.set(remaining);
        let api = FakeApi::default();
        once(&host, &api, &[], user_event("auth0|big", Some(API_B)));
        assert_eq!(
            host.count("/permissions"),
            10,
            "500 entries = 10 pages of 50"
        );
        // The first page is alone; then at most `expected_parallel` at once.
        assert_eq!(
            host.0.max_in_flight.get(),
            expected_parallel,
            "remaining={remaining:?}"
        );
        let access = api.claim(TokenKind::Access, "permissions").unwrap();
        assert_eq!(access.len(), 125, "de-duplicated, only API B");
        assert!(access.windows(2).all(|w| w[0] < w[1]), "sorted");
    }
    // Every answer takes the bucket's last token (no reset announced: a second). The pages after
    // the first wait for the gate, one at a time, while the deadline allows; no request is sent
    // into an empty bucket.
    let host = FakeHost::new();
    host.0.remaining.set(Some(0));
    let started = host.now_ms();
    let api = FakeApi::default();
    let outcome = once(&host, &api, &[], user_event("auth0|big", Some(API_B)));
    assert_eq!(outcome, Outcome::Complete(vec![]));
    assert_eq!(host.count("/permissions"), 10);
    assert_eq!(host.0.max_in_flight.get(), 1);
    assert!(host.now_ms() - started >= 9_000.0, "waited for each reset");
    assert_eq!(
        api.claim(TokenKind::Access, "permissions").unwrap().len(),
        125
    );
    // Without the budget for that, the login stops when a wait no longer fits.
    let host = FakeHost::new();
    host.0.remaining.set(Some(0));
    let outcome = once(
        &host,
        &FakeApi::default(),
        &[("DEADLINE_MS", "3000")],
        user_event("auth0|big", Some(API_B)),
    );
    assert_eq!(outcome, Outcome::Denied(Code::RateLimited));
    assert!(host.count("/permissions") < 10);
}

#[test]
fn a_bare_array_answer_is_paged_until_a_short_page() {
    let host = FakeHost::new();
    host.0.bare_arrays.set(true);
    let api = FakeApi::default();
    once(&host, &api, &[], user_event("auth0|big", None));
    assert_eq!(
        host.count("/permissions"),
        11,
        "10 full pages and one empty one"
    );
    assert_eq!(api.claim(TokenKind::Id, "permissions").unwrap().len(), 125);
    assert_eq!(
        api.claim(TokenKind::Access, "permissions"),
        None,
        "no API requested"
    );
}

#[test]
fn fifty_concurrent_logins_in_a_cold_instance_share_one_token_request() {
    let host = FakeHost::new();
    let store = Rc::new(Instance::default());
    let input = Rc::new(settings(&[]));
    let mut pool = LocalPool::new();
    let outcomes = Rc::new(RefCell::new(vec![]));
    let logins: Vec<_> = (0..50)
        .map(|_| {
            let (host, store, input, outcomes) =
                (host.clone(), store.clone(), input.clone(), outcomes.clone());
            async move {
                let api = FakeApi::default();
                let o = post_login(
                    &host,
                    &api,
                    &store,
                    &input,
                    Ok(user_event("auth0|three", Some(API_A))),
                )
                .await;
                outcomes.borrow_mut().push(o.unwrap());
            }
        })
        .collect();
    pool.spawner()
        .spawn_local(async move {
            join_all(logins).await;
        })
        .unwrap();
    pool.run();
    assert_eq!(outcomes.borrow().len(), 50);
    assert!(outcomes
        .borrow()
        .iter()
        .all(|o| *o == Outcome::Complete(vec![])));
    assert_eq!(host.count("/oauth/token"), 1);
    assert_eq!(store.tokens.token_requests(), 1);
}

#[test]
fn a_token_the_api_rejects_is_dropped_and_fetched_once_more() {
    let host = FakeHost::new();
    let store = Instance::default();
    let api = FakeApi::default();
    run(
        &host,
        &api,
        &store,
        &settings(&[]),
        user_event("auth0|three", Some(API_A)),
    );
    host.0.valid_tokens.borrow_mut().clear(); // the tenant revokes every token
    let second = FakeApi {
        cache: api.cache.clone(),
        ..Default::default()
    };
    let outcome = run(
        &host,
        &second,
        &store,
        &settings(&[]),
        user_event("auth0|three", Some(API_A)),
    );
    assert_eq!(outcome, Outcome::Complete(vec![]));
    assert_eq!(host.count("/oauth/token"), 2);
    let ops = second.cache_ops.borrow().join(",");
    assert!(
        ops.contains("delete auth0-rbac-claims/mgmt-token/"),
        "{ops}"
    );
}

#[test]
fn a_second_401_is_a_management_api_error_and_not_retried_again() {
    let host =
        FakeHost::new().with_fault(|r, _| r.url.contains("/permissions").then(|| status(401)));
    let api = FakeApi::default();
    let outcome = once(&host, &api, &[], user_event("auth0|three", Some(API_A)));
    assert_eq!(outcome, Outcome::Denied(Code::ManagementApiError));
    assert_eq!(host.count("/oauth/token"), 2);
    assert_eq!(host.count("/permissions"), 2);
}

#[test]
fn server_errors_are_retried_once_and_a_management_429_closes_the_gate_until_the_reset() {
    // One 503 on the first page: retried, the login completes.
    let host = FakeHost::new()
        .with_fault(|r, n| (r.url.contains("/permissions") && n == 2).then(|| status(503)));
    let api = FakeApi::default();
    assert_eq!(
        once(&host, &api, &[], user_event("auth0|three", None)),
        Outcome::Complete(vec![])
    );
    assert_eq!(host.count("/permissions"), 2);

    // A 429 from the Management API is not retried: the tenant's bucket is shared, so a retry
    // only spends it. The login fails with rate_limited after one request, the instance sends
    // nothing more until the announced reset, and after it the next login goes through.
    let host = FakeHost::new().with_fault(|r, n| {
        (r.url.contains("/permissions") && n <= 2).then(|| {
            Ok(HttpResponse {
                status: 429,
                headers: ResponseHeaders {
                    retry_after: Some("2".into()),
                    ratelimit_remaining: Some("0".into()),
                    ..Default::default()
                },
                body: Default::default(),
            })
        })
    });
    let instance = Instance::default();
    let login = || {
        let api = FakeApi::default();
        run(
            &host,
            &api,
            &instance,
            &settings(&[]),
            user_event("auth0|three", None),
        )
    };
    assert_eq!(login(), Outcome::Denied(Code::RateLimited));
    assert_eq!(host.count("/permissions"), 1);
    assert_eq!(login(), Outcome::Denied(Code::RateLimited));
    assert_eq!(host.count("/permissions"), 1, "gated: nothing sent");
    assert!(host
        .0
        .logs
        .borrow()
        .last()
        .unwrap()
        .contains("no request is sent for another 2 s"));
    host.0.now.set(host.now_ms() + 2_100.0);
    assert_eq!(login(), Outcome::Complete(vec![]));
    assert_eq!(host.count("/permissions"), 2);

    // 429s on the token request (another bucket) are still waited out when the wait fits.
    let host = FakeHost::new().with_fault(|r, n| {
        (r.url.contains("/oauth/token") && n <= 2).then(|| {
            Ok(HttpResponse {
                status: 429,
                headers: ResponseHeaders {
                    retry_after: Some("2".into()),
                    ..Default::default()
                },
                body: Default::default(),
            })
        })
    });
    let before = host.now_ms();
    let api = FakeApi::default();
    assert_eq!(
        once(&host, &api, &[], user_event("auth0|three", None)),
        Outcome::Complete(vec![])
    );
    assert!(host.now_ms() - before >= 4000.0);
    assert_eq!(host.count("/oauth/token"), 3);

    // A 503 that says the bucket is empty is not retried either.
    let host = FakeHost::new().with_fault(|r, _| {
        r.url.contains("/permissions").then(|| {
            Ok(HttpResponse {
                status: 503,
                headers: ResponseHeaders {
                    ratelimit_remaining: Some("0".into()),
                    ..Default::default()
                },
                body: Default::default(),
            })
        })
    });
    let api = FakeApi::default();
    assert_eq!(
        once(&host, &api, &[], user_event("auth0|three", None)),
        Outcome::Denied(Code::ManagementApiError)
    );
    assert_eq!(host.count("/permissions"), 1);
}

#[test]
fn every_failure_has_its_code_under_both_policies_and_continue_keeps_roles_only() {
    type Inject = fn(&HttpRequest, u32) -> Option<Result<HttpResponse, FetchError>>;
    let cases: [(&str, Inject, Code); 7] = [
        (
            "hang",
            |r, _| {
                r.url
                    .contains("/permissions")
                    .then_some(Err(FetchError::Timeout))
            },
            Code::Timeout,
        ),
        (
            "refused",
            |r, _| {
                r.url
                    .contains("/permissions")
                    .then(|| Err(FetchError::Network("ECONNREFUSED".into())))
            },
            Code::ManagementApiError,
        ),
        (
            "5xx twice",
            |r, _| r.url.contains("/permissions").then(|| status(500)),
            Code::ManagementApiError,
        ),
        (
            "403",
            |r, _| r.url.contains("/permissions").then(|| status(403)),
            Code::ManagementApiError,
        ),
        (
            "malformed",
            |r, _| {
                r.url
                    .contains("/permissions")
                    .then(|| ok("<html>".into(), None))
            },
            Code::ResponseInvalid,
        ),
        (
            "wrong shape",
            |r, _| {
                r.url
                    .contains("/permissions")
                    .then(|| ok(r#"{"total":"x"}"#.into(), None))
            },
            Code::ResponseInvalid,
        ),
        (
            "token 401",
            |r, _| r.url.contains("/oauth/token").then(|| status(401)),
            Code::TokenRequestFailed,
        ),
    ];
    for (name, inject, code) in cases {
        for policy in ["deny", "continue"] {
            let host = FakeHost::new().with_fault(inject);
            let api = FakeApi::default();
            let outcome = once(
                &host,
                &api,
                &[("ON_ERROR", policy)],
                user_event("auth0|three", Some(API_A)),
            );
            assert_eq!(
                host.0.logs.borrow().len(),
                1,
                "{name}: exactly one log line"
            );
            assert!(
                host.0.logs.borrow()[0].contains(code.as_str()),
                "{name}: {:?}",
                host.0.logs.borrow()
            );
            assert_no_secret(&host, &api);
            if policy == "deny" {
                assert_eq!(outcome, Outcome::Denied(code), "{name}");
                assert!(
                    api.claims.borrow().is_empty(),
                    "{name}: nothing set on deny"
                );
            } else {
                assert_eq!(outcome, Outcome::Degraded(vec![code]), "{name}");
                assert_eq!(
                    api.claim(TokenKind::Id, "roles").unwrap(),
                    ["admin", "editor"]
                );
                assert_eq!(
                    api.claim(TokenKind::Id, "permissions"),
                    None,
                    "{name}: no partial permissions"
                );
                assert_eq!(api.claim(TokenKind::Access, "permissions"), None);
            }
        }
    }
}

#[test]
fn the_deadline_bounds_a_hung_request() {
    let host = FakeHost::new().with_fault(|r, _| {
        r.url
            .contains("/permissions")
            .then_some(Err(FetchError::Timeout))
    });
    let api = FakeApi::default();
    let start = host.now_ms();
    once(
        &host,
        &api,
        &[("HTTP_TIMEOUT_MS", "5000"), ("DEADLINE_MS", "1500")],
        user_event("auth0|three", None),
    );
    assert!(
        host.now_ms() - start <= 1500.0 + 1.0,
        "{}",
        host.now_ms() - start
    );
}

#[test]
fn permissions_none_or_no_token_wanting_them_makes_no_request() {
    let host = FakeHost::new();
    let api = FakeApi::default();
    once(
        &host,
        &api,
        &[("PERMISSIONS_IN", "none")],
        user_event("auth0|three", Some(API_A)),
    );
    // Only the access token wants permissions, and no API was requested.
    let api2 = FakeApi::default();
    once(
        &host,
        &api2,
        &[("PERMISSIONS_IN", "access_token")],
        user_event("auth0|three", None),
    );
    assert!(host.0.requests.borrow().is_empty());
    assert_eq!(
        api.claim(TokenKind::Access, "roles").unwrap(),
        ["admin", "editor"]
    );
}

#[test]
fn id_token_apis_selects_the_id_token_permissions() {
    let host = FakeHost::new();
    let api = FakeApi::default();
    let input = settings(&[("ID_TOKEN_APIS", API_B)]);
    run(
        &host,
        &api,
        &Instance::default(),
        &input,
        user_event("auth0|three", Some(API_A)),
    );
    assert_eq!(api.claim(TokenKind::Id, "permissions").unwrap(), ["read:b"]);
    assert_eq!(
        api.claim(TokenKind::Access, "permissions").unwrap(),
        ["read:a", "write:a"]
    );
}

#[test]
fn the_special_user_id_reaches_the_right_user_as_one_path_segment() {
    let host = FakeHost::new();
    let api = FakeApi::default();
    once(
        &host,
        &api,
        &[],
        user_event("oauth2|corp|a/b c?d", Some(API_A)),
    );
    assert!(host.0.requests.borrow()[1]
        .contains("/api/v2/users/oauth2%7Ccorp%7Ca%2Fb%20c%3Fd/permissions?"));
    assert_eq!(
        api.claim(TokenKind::Access, "permissions").unwrap(),
        ["special"]
    );
}

#[test]
fn claims_over_the_limit_deny_or_drop_whole_permission_claims() {
    let host = FakeHost::new();
    let api = FakeApi::default();
    let tight = settings(&[("MAX_CLAIMS_BYTES", "1000")]);
    assert_eq!(
        run(
            &host,
            &api,
            &Instance::default(),
            &tight,
            user_event("auth0|big", None)
        ),
        Outcome::Denied(Code::ClaimsTooLarge)
    );
    assert!(api.claims.borrow().is_empty());

    let api = FakeApi::default();
    let lenient = settings(&[("MAX_CLAIMS_BYTES", "1000"), ("ON_ERROR", "continue")]);
    let outcome = run(
        &host,
        &api,
        &Instance::default(),
        &lenient,
        user_event("auth0|big", Some(API_A)),
    );
    assert_eq!(outcome, Outcome::Degraded(vec![Code::ClaimsTooLarge]));
    assert_eq!(
        api.claim(TokenKind::Id, "roles").unwrap(),
        ["admin", "editor"]
    );
    assert_eq!(api.claim(TokenKind::Id, "permissions"), None);
    assert_eq!(api.claim(TokenKind::Access, "permissions"), None);
}

#[test]
fn a_failed_cache_write_is_logged_once_and_never_fatal() {
    let host = FakeHost::new();
    let store = Instance::default();
    for _ in 0..3 {
        let api = FakeApi {
            refuse_cache_set: true,
            ..Default::default()
        };
        // A new token each time: the tenant revokes, so each login writes the cache again.
        host.0.valid_tokens.borrow_mut().clear();
        assert_eq!(
            run(
                &host,
                &api,
                &store,
                &settings(&[]),
                user_event("auth0|three", None)
            ),
            Outcome::Complete(vec![])
        );
    }
    let logs = host.0.logs.borrow();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert!(logs[0].contains("api.cache.set failed (FailedToSetCacheRecord)"));
}

#[test]
fn wrong_credentials_are_a_token_request_failure_that_names_what_to_check() {
    let host = FakeHost::new();
    let api = FakeApi::default();
    let input = settings(&[("AUTH0_CLIENT_SECRET", "wrong")]);
    assert_eq!(
        run(
            &host,
            &api,
            &Instance::default(),
            &input,
            user_event("auth0|three", None)
        ),
        Outcome::Denied(Code::TokenRequestFailed)
    );
    let logs = host.0.logs.borrow();
    assert!(
        logs[0].contains("check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET"),
        "{logs:?}"
    );
    assert!(
        logs[0].contains("(HTTP 401, POST /oauth/token)"),
        "{logs:?}"
    );
}

// --- the permissions cache ------------------------------------------------------------------------

/// An event with these roles, an Organization and what `app_metadata` holds of ours.
fn cached_event(
    user: &str,
    roles: &[&str],
    organization: Option<&str>,
    stored: Option<&str>,
) -> event::Event {
    let json = serde_json::json!({
        "user": {"user_id": user, "app_metadata": {"plan": "pro", "auth0_rbac_claims": stored}},
        "authorization": {"roles": roles},
        "organization": organization.map(|id| serde_json::json!({"id": id, "name": "acme"})),
        "resource_server": {"identifier": API_A},
    });
    event::from_json(&json.to_string()).1.unwrap()
}

/// What the login wrote to `app_metadata` last (our key only).
fn written(api: &FakeApi) -> Option<String> {
    let writes = api.app_metadata.borrow();
    assert!(
        writes.iter().all(|(k, _)| k == "auth0_rbac_claims"),
        "{writes:?}"
    );
    writes.last().and_then(|(_, v)| v.clone())
}

const CACHED: &[(&str, &str)] = &[
    ("PERMISSIONS_TTL", "300"),
    ("PERMISSIONS_STALE_MAX", "3600"),
];

#[test]
fn a_cached_set_is_reused_from_memory_then_from_app_metadata_by_a_fresh_instance() {
    let host = FakeHost::new();
    let input = settings(CACHED);
    let instance = Instance::default();
    let first = FakeApi::default();
    let event = || cached_event("auth0|three", &["admin", "editor"], None, None);
    assert_eq!(
        run(&host, &first, &instance, &input, event()),
        Outcome::Complete(vec![])
    );
    assert_eq!(
        (host.count("/oauth/token"), host.count("/permissions")),
        (1, 1)
    );
    let stored = written(&first).expect("the set is stored for the next login");
    assert!(stored.starts_with("p1.1700000000."), "{stored}");
    assert!(!stored.contains(SECRET) && !stored.contains("token-"));
    assert!(stored.contains("https://a.example.com=read:a,write:a;https://b.example.com=read:b"));

    // The same instance: memory, no request.
    let second = FakeApi::default();
    run(&host, &second, &instance, &input, event());
    assert_eq!(host.0.requests.borrow().len(), 2);
    assert_eq!(
        second.claim(TokenKind::Access, "permissions").unwrap(),
        ["read:a", "write:a"]
    );
    assert_eq!(written(&second), None, "nothing new to store");

    // Another instance, given what Auth0 hands back in app_metadata: no request at all, not even
    // for a token.
    let other = FakeApi::default();
    let outcome = run(
        &host,
        &other,
        &Instance::default(),
        &input,
        cached_event("auth0|three", &["editor", "admin"], None, Some(&stored)),
    );
    assert_eq!(outcome, Outcome::Complete(vec![]));
    assert_eq!(host.0.requests.borrow().len(), 2);
    assert_eq!(
        other.claim(TokenKind::Id, "permissions").unwrap(),
        ["read:a", "write:a"]
    );
    assert_no_secret(&host, &other);
}

#[test]
fn a_change_of_roles_or_organization_is_never_served_from_cache() {
    let host = FakeHost::new();
    let input = settings(CACHED);
    let instance = Instance::default();
    let api = FakeApi::default();
    run(
        &host,
        &api,
        &instance,
        &input,
        cached_event("auth0|three", &["admin", "editor"], None, None),
    );
    let stored = written(&api).unwrap();
    for (roles, organization) in [
        (&["admin"][..], None),
        (&["admin", "editor", "Viewer"][..], None),
        (&["admin", "editor"][..], Some("org_1")),
    ] {
        let before = host.count("/permissions");
        let api = FakeApi::default();
        run(
            &host,
            &api,
            &Instance::default(),
            &input,
            cached_event("auth0|three", roles, organization, Some(&stored)),
        );
        assert_eq!(
            host.count("/permissions"),
            before + 1,
            "{roles:?} {organization:?}"
        );
        let before = host.count("/permissions");
        run(
            &host,
            &FakeApi::default(),
            &instance,
            &input,
            cached_event("auth0|three", roles, organization, None),
        );
        assert_eq!(
            host.count("/permissions"),
            before + 1,
            "memory, {roles:?} {organization:?}"
        );
    }
}

#[test]
fn after_the_ttl_a_set_is_fetched_again_and_a_grant_shows() {
    let host = FakeHost::new();
    let input = settings(CACHED);
    let instance = Instance::default();
    let event = || cached_event("auth0|three", &["admin"], None, None);
    run(&host, &FakeApi::default(), &instance, &input, event());
    host.0.permissions_grant("auth0|three", API_A, "delete:a");
    host.0.now.set(host.now_ms() + 239_000.0); // within every jittered TTL (240–300 s)
    let api = FakeApi::default();
    run(&host, &api, &instance, &input, event());
    assert_eq!(host.count("/permissions"), 1);
    assert!(!api
        .claim(TokenKind::Access, "permissions")
        .unwrap()
        .contains(&"delete:a".to_string()));
    host.0.now.set(host.now_ms() + 61_000.0); // past any TTL
    let api = FakeApi::default();
    run(&host, &api, &instance, &input, event());
    assert_eq!(host.count("/permissions"), 2);
    assert!(api
        .claim(TokenKind::Access, "permissions")
        .unwrap()
        .contains(&"delete:a".to_string()));
}

#[test]
fn during_an_outage_a_stale_set_completes_the_login_until_stale_max() {
    let down = Rc::new(Cell::new(false));
    let flag = down.clone();
    let host = FakeHost::new()
        .with_fault(move |r, _| (flag.get() && r.url.contains("/api/v2/")).then(|| status(503)));
    let input = settings(CACHED);
    let instance = Instance::default();
    let event = || cached_event("auth0|three", &["admin"], None, None);
    run(&host, &FakeApi::default(), &instance, &input, event());
    down.set(true);
    host.0.now.set(host.now_ms() + 600_000.0); // 10 minutes: stale, within the hour
    let api = FakeApi::default();
    let outcome = run(&host, &api, &instance, &input, event());
    assert_eq!(outcome, Outcome::Complete(vec![Code::StalePermissions]));
    assert_eq!(
        api.claim(TokenKind::Access, "permissions").unwrap(),
        ["read:a", "write:a"]
    );
    let log = host.0.logs.borrow().last().unwrap().clone();
    assert!(log.starts_with("[auth0-rbac-claims] stale_permissions: refreshing the permissions failed (management_api_error); permissions computed 600 s ago"), "{log}");
    // A user never seen before has nothing to fall back on: ON_ERROR as before.
    let newcomer = run(
        &host,
        &FakeApi::default(),
        &instance,
        &input,
        cached_event("auth0|none", &[], None, None),
    );
    assert_eq!(newcomer, Outcome::Denied(Code::ManagementApiError));
    // Past PERMISSIONS_STALE_MAX: ON_ERROR.
    host.0.now.set(host.now_ms() + 3_100_000.0);
    let outcome = run(&host, &FakeApi::default(), &instance, &input, event());
    assert_eq!(outcome, Outcome::Denied(Code::ManagementApiError));
    // A refusal is never papered over with a stale set, however young.
    let host = FakeHost::new();
    let instance = Instance::default();
    run(&host, &FakeApi::default(), &instance, &input, event());
    host.0.now.set(host.now_ms() + 600_000.0);
    *host.0.fault.borrow_mut() = Some(Box::new(|r: &HttpRequest, _| {
        r.url.contains("/permissions").then(|| status(403))
    }));
    let outcome = run(&host, &FakeApi::default(), &instance, &input, event());
    assert_eq!(outcome, Outcome::Denied(Code::ManagementApiError));
}

#[test]
fn a_stored_value_written_by_anyone_else_grants_nothing() {
    let host = FakeHost::new();
    let input = settings(CACHED);
    let management = ManagementSettings {
        origin: TenantOrigin::parse("tenant.example.com").unwrap(),
        client_id: "client".into(),
        client_secret: Secret::new(SECRET),
    };
    let context = cache::Context::new(
        &management,
        "auth0|none",
        None,
        PermissionsSource::User.as_str(),
        &[],
    );
    let grant: PermissionSet = [Permission::new(API_A, "admin:everything")]
        .into_iter()
        .collect();
    let now_s = (host.now_ms() / 1000.0) as u64;
    let sign = |secret: &str| {
        let secret = Secret::new(secret);
        cache::encode(&grant, now_s, &context, |t| {
            host.mac(&secret, cache::MAC_PURPOSE, t)
        })
        .unwrap()
    };
    // The one value that would be trusted: signed with this Action's secret.
    let genuine = sign(SECRET);
    let api = FakeApi::default();
    run(
        &host,
        &api,
        &Instance::default(),
        &input,
        cached_event("auth0|none", &[], None, Some(&genuine)),
    );
    assert_eq!(
        api.claim(TokenKind::Access, "permissions").unwrap(),
        ["admin:everything"]
    );
    assert_eq!(host.count("/permissions"), 0);
    // One login of `user` presenting `value` as its stored set: the outcome, the access token's
    // permissions, how many permission reads it made, and its `api`.
    let present = |user: &str, value: &str| {
        let api = FakeApi::default();
        let before = host.count("/permissions");
        let outcome = run(
            &host,
            &api,
            &Instance::default(),
            &input,
            cached_event(user, &[], None, Some(value)),
        );
        let granted = api.claim(TokenKind::Access, "permissions").unwrap();
        (outcome, granted, host.count("/permissions") - before, api)
    };
    // The same value in another user's app_metadata (copied by an administrator, an import, a
    // merge of linked accounts), for a user with the same roles: ignored there.
    let (outcome, granted, reads, _) = present("auth0|three", &genuine);
    assert_eq!(outcome, Outcome::Complete(vec![]));
    assert!(!granted.is_empty(), "the user's own permissions, fetched");
    assert!(
        !granted.iter().any(|p| p == "admin:everything"),
        "{granted:?}"
    );
    assert_eq!(reads, 1, "ignored and fetched");
    // Written with another secret (another Action, an administrator), edited, or made up.
    let tag = genuine.split('.').nth(2).unwrap().to_string();
    for value in [
        sign("another-secret"),
        genuine.replace("admin:everything", "admin:everything,root"),
        genuine.replace(&tag, &"0".repeat(tag.len())),
        genuine.replacen(&format!("p1.{now_s}."), &format!("p1.{}.", now_s + 60), 1),
        format!("p1.{now_s}..https://a.example.com=admin:everything"),
        "{\"permissions\":[\"admin:everything\"]}".to_string(),
        "p0.1.x.y=z".to_string(),
    ] {
        let (outcome, granted, reads, api) = present("auth0|none", &value);
        assert_eq!(outcome, Outcome::Complete(vec![]), "{value}");
        assert_eq!(granted, Vec::<String>::new(), "{value}");
        assert_eq!(reads, 1, "ignored and fetched: {value}");
        assert!(
            written(&api).unwrap().starts_with("p1."),
            "replaced by a genuine value"
        );
    }
}

#[test]
fn concurrent_logins_of_one_user_share_one_fetch() {
    let host = FakeHost::new();
    let store = Rc::new(Instance::default());
    let input = Rc::new(settings(CACHED));
    let mut pool = LocalPool::new();
    let outcomes = Rc::new(RefCell::new(vec![]));
    for _ in 0..20 {
        let (host, store, input, outcomes) =
            (host.clone(), store.clone(), input.clone(), outcomes.clone());
        pool.spawner()
            .spawn_local(async move {
                let api = FakeApi::default();
                let o = post_login(
                    &host,
                    &api,
                    &store,
                    &input,
                    Ok(cached_event("auth0|big", &["admin"], None, None)),
                )
                .await;
                outcomes.borrow_mut().push((
                    o.unwrap(),
                    api.claim(TokenKind::Access, "permissions").unwrap().len(),
                ));
            })
            .unwrap();
    }
    pool.run();
    assert_eq!(outcomes.borrow().len(), 20);
    assert!(outcomes
        .borrow()
        .iter()
        .all(|(o, n)| *o == Outcome::Complete(vec![]) && *n == 125));
    // One token, and the 500 entries' pages read once.
    assert_eq!(host.count("/oauth/token"), 1);
    assert_eq!(host.count("/permissions"), 10);
}

#[test]
fn permissions_from_roles_send_requests_per_role_not_per_user() {
    let host = FakeHost::new();
    let input = settings(&[("PERMISSIONS_SOURCE", "roles"), ("PERMISSIONS_TTL", "300")]);
    let instance = Instance::default();
    for i in 0..30 {
        let api = FakeApi::default();
        let roles: &[&str] = if i % 2 == 0 {
            &["admin", "editor"]
        } else {
            &["editor"]
        };
        let outcome = run(
            &host,
            &api,
            &instance,
            &input,
            cached_event(&format!("auth0|user-{i}"), roles, None, None),
        );
        assert_eq!(outcome, Outcome::Complete(vec![]));
        let expected: &[&str] = if i % 2 == 0 {
            &["admin:a", "read:a"]
        } else {
            &["read:a"]
        };
        assert_eq!(
            api.claim(TokenKind::Access, "permissions").unwrap(),
            expected
        );
        assert_eq!(
            api.claim(TokenKind::Id, "permissions").unwrap(),
            expected,
            "the requested API's"
        );
        assert!(
            api.app_metadata.borrow().is_empty(),
            "nothing is written to users"
        );
    }
    assert_eq!(host.count("/api/v2/users/"), 0);
    // Every role's id in one request, then one permissions page per role, for 30 users.
    assert_eq!(host.count("/api/v2/roles?"), 1);
    assert_eq!(host.count("/permissions"), 2);
    // The role's definition changes: it shows after the TTL (with the ids listed again, as
    // they are due too).
    host.0
        .roles
        .borrow_mut()
        .get_mut("editor")
        .unwrap()
        .1
        .push((API_A.into(), "edit:a".into()));
    // One login of `user`, an editor, on this instance: the access token's permissions.
    let editor = |user: &str| {
        let api = FakeApi::default();
        run(
            &host,
            &api,
            &instance,
            &input,
            cached_event(user, &["editor"], None, None),
        );
        api.claim(TokenKind::Access, "permissions").unwrap()
    };
    host.0.now.set(host.now_ms() + 301_000.0);
    assert_eq!(editor("auth0|late"), ["edit:a", "read:a"]);
    assert_eq!(host.count("/api/v2/roles?"), 2, "the ids listed again");
    // Within the TTL again: neither listed nor read.
    editor("auth0|later");
    assert_eq!(host.count("/api/v2/roles?"), 2);
    // `editor` is renamed and another role created under its name: after the TTL, the login
    // holding the new `editor` gets the new role's permissions, not the renamed one's.
    {
        let mut roles = host.0.roles.borrow_mut();
        let old = roles.remove("editor").unwrap();
        roles.insert("editor (old)".into(), old);
        roles.insert(
            "editor".into(),
            ("rol_new".into(), vec![(API_A.into(), "read:new".into())]),
        );
    }
    host.0.now.set(host.now_ms() + 301_000.0);
    assert_eq!(editor("auth0|after-rename"), ["read:new"]);
    // A role name that is not among the tenant's (here: "view", not "Viewer") is an error.
    let api = FakeApi::default();
    let outcome = run(
        &host,
        &api,
        &instance,
        &input,
        cached_event("auth0|v", &["view"], None, None),
    );
    assert_eq!(outcome, Outcome::Denied(Code::ManagementApiError));
}

#[test]
fn through_an_organization_only_the_members_roles_there_count() {
    // Tenant-wide, auth0|three holds read:a, write:a and read:b; in org_1 the member has only
    // `editor` (read:a, write:b). The login through org_1 gets editor's, nothing else.
    for cache in [CACHED, &[("PERMISSIONS_TTL", "0")][..]] {
        let host = FakeHost::new();
        let api = FakeApi::default();
        let outcome = once(
            &host,
            &api,
            cache,
            cached_event("auth0|three", &["editor"], Some("org_1"), None),
        );
        assert_eq!(outcome, Outcome::Complete(vec![]));
        assert_eq!(
            api.claim(TokenKind::Id, "permissions").unwrap(),
            ["read:a"],
            "the requested API's, from the Organization's roles"
        );
        assert_eq!(host.count("/api/v2/users/"), 0, "no tenant-wide read");
        assert_eq!(host.count("/members/auth0%7Cthree/roles"), 1);
        assert_eq!(host.count("/api/v2/roles/rol_2/permissions"), 1);
    }
}

#[test]
fn an_organization_login_of_a_non_member_is_a_coded_failure_never_tenant_wide_permissions() {
    let host = FakeHost::new();
    let api = FakeApi::default();
    let outcome = once(
        &host,
        &api,
        CACHED,
        cached_event("auth0|three", &["admin"], Some("org_elsewhere"), None),
    );
    assert_eq!(outcome, Outcome::Denied(Code::ManagementApiError));
    let log = host.0.logs.borrow().join("\n");
    assert!(
        log.contains("not a member of the login's Organization"),
        "{log}"
    );
    assert_eq!(host.count("/api/v2/users/"), 0);
}

#[test]
fn organization_roles_are_cached_per_role_and_the_members_set_per_user() {
    let host = FakeHost::new();
    let instance = Instance::default();
    let input = settings(CACHED);
    for _ in 0..3 {
        let api = FakeApi::default();
        run(
            &host,
            &api,
            &instance,
            &input,
            cached_event("auth0|three", &["editor"], Some("org_1"), None),
        );
        assert_eq!(api.claim(TokenKind::Id, "permissions").unwrap(), ["read:a"]);
    }
    // One read of the member's roles and one of the role's permissions, then memory.
    assert_eq!(host.count("/members/"), 1);
    assert_eq!(host.count("/permissions"), 1);
}

#[test]
fn an_organization_set_is_as_old_as_the_role_definitions_it_reused() {
    // The role's definition is read at t0 for one member; another member's set built from it
    // at t0 + 200 s counts from t0, so it is refreshed past t0 + TTL, not t0 + 200 s + TTL.
    let host = FakeHost::new();
    let instance = Instance::default();
    let input = settings(CACHED);
    let t0 = host.now_ms();
    let login = |user: &str| {
        run(
            &host,
            &FakeApi::default(),
            &instance,
            &input,
            cached_event(user, &["editor"], Some("org_1"), None),
        )
    };
    login("auth0|three");
    host.0.now.set(t0 + 200_000.0);
    login("auth0|none");
    assert_eq!(host.count("/api/v2/roles/rol_2/permissions"), 1, "reused");
    host.0.now.set(t0 + 310_000.0);
    login("auth0|none");
    assert_eq!(
        host.count("/members/auth0%7Cnone/roles"),
        2,
        "refreshed by t0 + TTL"
    );
}

#[test]
fn the_effective_endpoint_reads_each_needed_api_with_its_cursor_and_sees_group_roles() {
    let host = FakeHost::new();
    host.0
        .groups
        .borrow_mut()
        .push(("auth0|three".into(), API_A.into(), "group:a".into()));
    let api = FakeApi::default();
    let effective = [
        ("PERMISSIONS_ENDPOINT", "effective"),
        ("PERMISSIONS_TTL", "0"),
    ];
    let outcome = once(
        &host,
        &api,
        &effective,
        user_event("auth0|three", Some(API_A)),
    );
    assert_eq!(outcome, Outcome::Complete(vec![]));
    assert_eq!(
        api.claim(TokenKind::Access, "permissions").unwrap(),
        ["group:a", "read:a", "write:a"]
    );
    assert_eq!(
        host.count("/effective-permissions?resource_server_identifier="),
        1
    );
    assert_eq!(
        host.count("/permissions?per_page"),
        0,
        "not the other endpoint"
    );

    // 250 entries for one API: five pages, each after the cursor of the one before.
    let host = FakeHost::new();
    let api = FakeApi::default();
    once(
        &host,
        &api,
        &effective,
        user_event("auth0|big", Some(API_B)),
    );
    assert_eq!(
        api.claim(TokenKind::Access, "permissions").unwrap().len(),
        125
    );
    assert_eq!(host.count("/effective-permissions?"), 5);
    assert_eq!(host.count("&from=200"), 1);
}

#[test]
fn with_the_effective_endpoint_the_id_token_apis_are_read_and_star_is_refused() {
    let host = FakeHost::new();
    let api = FakeApi::default();
    let list = [
        ("PERMISSIONS_ENDPOINT", "effective"),
        ("ID_TOKEN_APIS", &format!("{API_A},{API_B}")),
        ("PERMISSIONS_TTL", "0"),
    ];
    once(&host, &api, &list, user_event("auth0|three", Some(API_A)));
    assert_eq!(
        api.claim(TokenKind::Id, "permissions").unwrap(),
        ["read:a", "read:b", "write:a"]
    );
    assert_eq!(host.count("/effective-permissions?"), 2, "one read per API");
    let star = [
        ("PERMISSIONS_ENDPOINT", "effective"),
        ("ID_TOKEN_APIS", "*"),
    ];
    let outcome = once(
        &host,
        &FakeApi::default(),
        &star,
        user_event("auth0|three", Some(API_A)),
    );
    assert_eq!(outcome, Outcome::Denied(Code::ConfigInvalid));
}

#[test]
fn an_effective_set_is_cached_for_its_apis_only() {
    let host = FakeHost::new();
    let instance = Instance::default();
    let input = settings(&[
        ("PERMISSIONS_ENDPOINT", "effective"),
        ("PERMISSIONS_TTL", "300"),
    ]);
    for (audience, reads) in [(API_A, 1), (API_A, 1), (API_B, 2)] {
        let api = FakeApi::default();
        run(
            &host,
            &api,
            &instance,
            &input,
            user_event("auth0|three", Some(audience)),
        );
        assert_eq!(host.count("/effective-permissions?"), reads, "{audience}");
        assert!(!api
            .claim(TokenKind::Access, "permissions")
            .unwrap()
            .is_empty());
    }
}

#[test]
fn listing_both_apis_keeps_one_effective_set_across_audiences() {
    // One set a user: alternating audiences re-reads at each switch unless ID_TOKEN_APIS lists
    // the APIs, which makes every login need the same APIs, read together once.
    let host = FakeHost::new();
    let instance = Instance::default();
    let apis = format!("{API_A},{API_B}");
    let input = settings(&[
        ("PERMISSIONS_ENDPOINT", "effective"),
        ("PERMISSIONS_TTL", "300"),
        ("ID_TOKEN_APIS", &apis),
    ]);
    for audience in [API_A, API_B, API_A, API_B] {
        let api = FakeApi::default();
        run(
            &host,
            &api,
            &instance,
            &input,
            user_event("auth0|three", Some(audience)),
        );
        assert!(!api
            .claim(TokenKind::Access, "permissions")
            .unwrap()
            .is_empty());
    }
    assert_eq!(host.count("/effective-permissions?"), 2, "both APIs, once");
}

#[test]
fn with_the_effective_endpoint_and_no_api_to_read_nothing_is_read_written_or_claimed() {
    let host = FakeHost::new();
    let api = FakeApi::default();
    let effective = [
        ("PERMISSIONS_ENDPOINT", "effective"),
        ("PERMISSIONS_TTL", "300"),
    ];
    let outcome = once(&host, &api, &effective, user_event("auth0|three", None));
    assert_eq!(outcome, Outcome::Complete(vec![]));
    assert_eq!(
        api.claim(TokenKind::Id, "permissions"),
        None,
        "never an empty claim"
    );
    assert!(api.claim(TokenKind::Id, "roles").is_some());
    assert_eq!(host.count("/oauth/token"), 0);
    assert_eq!(host.count("/api/v2/"), 0);
    assert_eq!(written(&api), None, "nothing stored");
}

#[test]
fn the_effective_endpoint_applies_to_the_user_s_permissions_only() {
    // Through an Organization: the member's roles there, as with the other endpoint.
    let host = FakeHost::new();
    let api = FakeApi::default();
    let effective = [("PERMISSIONS_ENDPOINT", "effective")];
    let outcome = once(
        &host,
        &api,
        &effective,
        cached_event("auth0|three", &["editor"], Some("org_1"), None),
    );
    assert_eq!(outcome, Outcome::Complete(vec![]));
    assert_eq!(host.count("/effective-permissions"), 0);
    assert_eq!(host.count("/members/auth0%7Cthree/roles"), 1);
    // With PERMISSIONS_SOURCE=roles it does nothing, so ID_TOKEN_APIS=* is not refused.
    let roles = [
        ("PERMISSIONS_ENDPOINT", "effective"),
        ("PERMISSIONS_SOURCE", "roles"),
        ("ID_TOKEN_APIS", "*"),
    ];
    let host = FakeHost::new();
    let outcome = once(
        &host,
        &FakeApi::default(),
        &roles,
        user_event("auth0|three", Some(API_A)),
    );
    assert_eq!(outcome, Outcome::Complete(vec![]));
    assert_eq!(host.count("/effective-permissions"), 0);
    // An unknown value names both.
    let outcome = once(
        &FakeHost::new(),
        &FakeApi::default(),
        &[("PERMISSIONS_ENDPOINT", "user")],
        user_event("auth0|three", Some(API_A)),
    );
    assert_eq!(outcome, Outcome::Denied(Code::ConfigInvalid));
}
