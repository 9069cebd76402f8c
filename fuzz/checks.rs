//! What every fuzz target checks, shared by the `cargo fuzz` targets (`fuzz/fuzz_targets/`) and
//! by `tests/fuzz_regressions.rs`, which replays the committed corpora and regressions on stable.
//!
//! Each check feeds outside data to one decoder and asserts more than "no panic": the decoded
//! value keeps the invariants the rest of the Action relies on, and no error repeats a secret.

// Both users include this file; not every one calls every check.
#![allow(dead_code)]

use auth0_rbac_claims::cache::{self, Context};
use auth0_rbac_claims::claims::{ClaimKind, ClaimPlan, TokenKind};
use auth0_rbac_claims::event::{self, Event};
use auth0_rbac_claims::json::Body;
use auth0_rbac_claims::mgmt::{parse_page, parse_roles_page, parse_token_answer};
use auth0_rbac_claims::permissions::{ApiSelection, Permission, PermissionSet};
use auth0_rbac_claims::permit::parse_assignments;
use auth0_rbac_claims::settings::{
    ManagementSettings, Namespace, PermissionsSource, Secret, SettingMap, SettingValue, Settings,
    Sources, TenantOrigin,
};
use auth0_rbac_claims::{ClaimLayout, Error};

/// A target's check: panics when an invariant breaks.
pub type Check = fn(&[u8]);

/// The targets by name, for the regression replay.
pub const TARGETS: [(&str, Check); 7] = [
    ("settings", settings),
    ("event", event),
    ("mgmt_answers", mgmt_answers),
    ("permit_answers", permit_answers),
    ("claims_read", claims_read),
    ("claims_roundtrip", claims_roundtrip),
    ("cache_value", cache_value),
];

/// Secret setting keys: their values must never be repeated by an error.
const CREDENTIALS: [&str; 2] = ["AUTH0_CLIENT_SECRET", "PERMIT_API_KEY"];

fn text(data: &[u8]) -> &str {
    std::str::from_utf8(data).unwrap_or("")
}

fn assert_sorted_distinct_nonempty(values: &[String], what: &str) {
    assert!(
        values.iter().all(|v| !v.is_empty()),
        "{what}: an empty name"
    );
    assert!(
        values.windows(2).all(|w| w[0] < w[1]),
        "{what}: not sorted and distinct"
    );
}

/// A credential value no fixed message contains.
const CANARY: &str = "Zq7-canary-credential-9xW";

fn assert_no_canary(error: &Error) {
    for output in [
        error.message().to_owned(),
        error.log_line(),
        error.deny_reason(),
    ] {
        assert!(
            !output.contains(CANARY),
            "an error repeats a credential: {output}"
        );
    }
}

/// Settings: the event's `secrets` and `configuration`, validated as one login would. A valid
/// result keeps its namespace rules; an error never repeats a credential's value.
pub fn settings(data: &[u8]) {
    let text = text(data);
    let (found, _) = event::from_json(text);
    let sources = found.clone();
    let _ = Settings::error_policy(&sources);
    match Settings::from_sources(&sources) {
        Ok(settings) => {
            let ns = settings.namespace.as_str();
            assert_eq!(Namespace::parse(ns).as_ref().map(Namespace::as_str), Ok(ns));
            let lower = ns.to_ascii_lowercase();
            assert!(
                !lower.starts_with("urn:auth0"),
                "a reserved namespace was accepted"
            );
            assert!(settings.http_timeout_ms > 0 && settings.deadline_ms > 0);
            assert!(settings.max_claims_bytes <= 100_000);
            if let Some(m) = &settings.management {
                let origin = m.origin.as_str();
                assert_eq!(
                    TenantOrigin::parse(origin)
                        .as_ref()
                        .map(TenantOrigin::as_str),
                    Ok(origin)
                );
                assert!(!m.client_secret.expose().is_empty());
            }
        }
        Err(_) => {
            // Each credential the input sets, replaced by a canary: the error must not repeat it.
            for key in CREDENTIALS {
                let swap = |map: Option<&SettingMap>| {
                    map.map(|m| {
                        let mut m = m.clone();
                        if m.contains_key(key) {
                            m.insert(key.to_owned(), SettingValue::from(CANARY));
                        }
                        m
                    })
                };
                let (secrets, configuration) = (
                    swap(found.secrets.as_ref()),
                    swap(found.configuration.as_ref()),
                );
                let swapped = Sources {
                    options: None,
                    configuration,
                    secrets,
                };
                if let Err(error) = Settings::from_sources(&swapped) {
                    assert_no_canary(&error);
                }
            }
        }
    }
    // The two parsers on the raw text as well.
    if let Ok(ns) = Namespace::parse(text) {
        assert_eq!(
            Namespace::parse(ns.as_str())
                .as_ref()
                .map(Namespace::as_str),
            Ok(ns.as_str())
        );
    }
    if let Ok(origin) = TenantOrigin::parse(text) {
        assert!(origin.as_str().starts_with("https://") || origin.as_str().starts_with("http://"));
    }
}

/// Event decoding: roles come out sorted, distinct and non-empty; a requested API is never
/// empty; an unreadable event is an `event_invalid` error.
pub fn event(data: &[u8]) {
    let (_, decoded) = event::from_json(text(data));
    match decoded {
        Ok(event) => {
            assert_sorted_distinct_nonempty(&event.roles(), "roles");
            assert!(event.requested_api() != Some(""));
        }
        Err(error) => assert_eq!(error.code().as_str(), "event_invalid"),
    }
}

/// Asserts that an answer decoder's `error` is `response_invalid` with one of the decoder's
/// fixed messages, whatever the body: a message that varied with the body could repeat a token
/// from it. The fixed messages are those for one body of each serde_json error class (syntax,
/// end of input, data) after each kind of start, and for bodies without the fields.
fn assert_fixed_message(error: &Error, decode: impl Fn(&str) -> Option<Error>) {
    assert_eq!(error.code().as_str(), "response_invalid");
    // Each class after each kind of start (an object, an array, anything else).
    let bodies = [
        "x",
        "",
        "1",
        "{",
        "[",
        "{x",
        "[x",
        "{}",
        "[1]",
        "[{}]",
        r#"{"total":"x"}"#,
        "null",
    ];
    let known = bodies
        .into_iter()
        .filter_map(decode)
        .any(|e| e.message() == error.message());
    assert!(
        known,
        "a message that varies with the body: {}",
        error.message()
    );
}

/// Management API answers: a permissions page and a token answer. A page counts what it holds;
/// a token is never empty and has a finite expiry; an error has a fixed message, which
/// therefore cannot repeat the body (which may hold a token).
pub fn mgmt_answers(data: &[u8]) {
    let body = Body::from(text(data));
    match parse_page(&body) {
        Ok(page) => assert_eq!(page.items.len(), page.count),
        Err(error) => assert_fixed_message(&error, |b| parse_page(&b.into()).err()),
    }
    match parse_roles_page(&body) {
        Ok(page) => assert!(page.roles.len() <= data.len()),
        Err(error) => assert_fixed_message(&error, |b| parse_roles_page(&b.into()).err()),
    }
    let sent_at = 1_700_000_000_000.0;
    match parse_token_answer(&body, sent_at) {
        Ok(token) => {
            assert!(token.use_until_ms().is_finite());
            assert!(token.use_until_ms() > sent_at);
        }
        Err(error) => {
            assert_fixed_message(&error, |b| parse_token_answer(&b.into(), sent_at).err())
        }
    }
}

/// Permit answers: role assignments of one page. Kept roles are at most the page's entries.
pub fn permit_answers(data: &[u8]) {
    if let Some((roles, count)) = parse_assignments(&text(data).into(), "default") {
        assert!(roles.len() <= count);
    }
}

fn layout() -> ClaimLayout {
    match ClaimLayout::parse("https://fuzz.example.com") {
        Ok(layout) => layout,
        Err(e) => panic!("the fuzz namespace is refused: {}", e.message()),
    }
}

/// Claim reading: any JSON payload reads as sorted, distinct, non-empty grants, and the grants
/// answer their own questions consistently.
pub fn claims_read(data: &[u8]) {
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let grants = layout().read(&payload);
    assert_sorted_distinct_nonempty(grants.roles(), "roles");
    assert_sorted_distinct_nonempty(grants.permissions(), "permissions");
    for p in grants.permissions() {
        assert!(grants.has_permission(p));
    }
    for r in grants.roles() {
        assert!(grants.has_role(r));
    }
    let all: Vec<&str> = grants.permissions().iter().map(String::as_str).collect();
    assert!(grants.has_all(all.iter().copied()));
    assert!(grants.missing(all.iter().copied()).is_empty());
}

/// What the Action writes, a backend reads back exactly: names drawn from the input become an
/// event's roles and a permission set; the claims the Action would set, put into a payload as
/// JSON, read back as the same roles and permissions.
pub fn claims_roundtrip(data: &[u8]) {
    let text = text(data);
    // Names: NUL-separated pieces; the first byte of each picks role or permission.
    let mut roles = Vec::new();
    let mut set = PermissionSet::new();
    for piece in text.split('\0') {
        let mut chars = piece.chars();
        match chars.next() {
            Some('r') => roles.push(chars.as_str().to_owned()),
            Some(_) => set.extend([Permission::new("https://api.example.com", chars.as_str())]),
            None => {}
        }
    }
    let event_json = serde_json::json!({
        "user": { "user_id": "auth0|fuzz" },
        "authorization": { "roles": roles },
    });
    let parsed: Result<Event, _> = serde_json::from_value(event_json);
    // U+FFFD stands for a lone surrogate the engine replaced: refused in a role name.
    if roles.iter().any(|r| r.contains('\u{FFFD}')) {
        assert!(parsed.is_err(), "a role name with U+FFFD is accepted");
        return;
    }
    let event = match parsed {
        Ok(event) => event,
        Err(e) => panic!("an event built from strings is refused: {e}"),
    };
    let layout = layout();
    let roles = event.roles();
    let permissions = set.names_for_id_token(
        &ApiSelection::RequestedElseAll,
        Some("https://api.example.com"),
    );
    let mut plan = ClaimPlan::new();
    plan.push(
        TokenKind::Id,
        ClaimKind::Roles,
        layout.roles_claim(),
        roles.clone(),
    );
    plan.push(
        TokenKind::Id,
        ClaimKind::Permissions,
        layout.permissions_claim(),
        permissions.clone(),
    );
    let mut payload = serde_json::Map::new();
    for claim in plan.claims() {
        payload.insert(claim.name.clone(), serde_json::json!(claim.values));
    }
    // The size the plan predicts is the size serde_json writes.
    let written: usize = plan
        .claims()
        .iter()
        .map(|c| c.name.len() + serde_json::to_string(&c.values).map_or(0, |s| s.len()))
        .sum();
    assert_eq!(plan.bytes(TokenKind::Id), written);
    let grants = layout.read(&serde_json::Value::Object(payload));
    assert_eq!(grants.roles(), roles.as_slice());
    assert_eq!(grants.permissions(), permissions.as_slice());
}

/// A keyed stand-in for the runtime's HMAC: deterministic, different per key.
fn keyed_mac(key: &'static str) -> impl Fn(&str) -> Option<String> {
    move |text| {
        use std::hash::{DefaultHasher, Hasher};
        let mut h = DefaultHasher::new();
        h.write(key.as_bytes());
        h.write(text.as_bytes());
        Some(format!("{:016x}", h.finish()))
    }
}

fn fuzz_context(roles: &[String]) -> Context {
    let management = ManagementSettings {
        origin: match TenantOrigin::parse("fuzz.example.com") {
            Ok(origin) => origin,
            Err(why) => panic!("the fuzz tenant is refused: {why}"),
        },
        client_id: "fuzz-client".into(),
        client_secret: Secret::new("fuzz-secret"),
    };
    Context::new(
        &management,
        "auth0|fuzz",
        None,
        PermissionsSource::User.as_str(),
        roles,
    )
}

/// The permissions cache stored in `app_metadata`: any value decodes without a panic, and only to
/// what was signed for this context with this key; a set built from the input is stored and read
/// back exactly (when it fits the bound); and changing any one byte of a stored value makes it
/// unreadable, so an edit can never grant a permission.
pub fn cache_value(data: &[u8]) {
    let text = text(data);
    let context = fuzz_context(&[]);
    let now_s = 1_800_000_000;
    if let Some((computed, set)) = cache::decode(text, &context, now_s, keyed_mac("k")) {
        // Only a correctly signed input gets here: it must re-encode to a value that decodes the same.
        let again = cache::encode(&set, computed, &context, keyed_mac("k"));
        let back = again.and_then(|v| cache::decode(&v, &context, now_s, keyed_mac("k")));
        assert_eq!(back.map(|(_, s)| s), Some(set));
    }
    // A set from the input: NUL-separated pieces, an API switch on a leading '@'.
    let mut set = PermissionSet::new();
    let mut api = "https://api.example.com".to_owned();
    for piece in text.split('\0') {
        match piece.strip_prefix('@') {
            Some(next) => api = next.to_owned(),
            None => set.extend([Permission::new(api.clone(), piece)]),
        }
    }
    let roles: Vec<String> = text.split('\0').take(2).map(str::to_owned).collect();
    let context = fuzz_context(&roles);
    let Some(stored) = cache::encode(&set, now_s - 5, &context, keyed_mac("k")) else {
        panic!("a MAC was given, so there is something to store");
    };
    let read = cache::decode(&stored, &context, now_s, keyed_mac("k"));
    if stored.len() <= cache::STORED_LIMIT {
        assert_eq!(read, Some((now_s - 5, set)));
    } else {
        assert!(read.is_none(), "over the bound: never read");
    }
    assert!(cache::decode(&stored, &context, now_s, keyed_mac("another key")).is_none());
    assert!(cache::decode(
        &stored,
        &fuzz_context(&["other".into()]),
        now_s,
        keyed_mac("k")
    )
    .is_none());
    // Any one byte changed (at a place the input picks): unreadable.
    let at = data.len() % stored.len().max(1);
    let mut edited = stored.clone().into_bytes();
    if let Some(byte) = edited.get_mut(at) {
        *byte = if *byte == b'0' { b'1' } else { b'0' };
    }
    if let Ok(edited) = String::from_utf8(edited) {
        if edited != stored {
            let back = cache::decode(&edited, &context, now_s, keyed_mac("k"));
            assert!(back.is_none(), "an edit at {at} was read: {edited}");
        }
    }
}
