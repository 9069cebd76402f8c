//! The WebAssembly edge, in Node: event decoding, calls on a fake `api`, errors crossing into JS,
//! and the runtime bindings (fetch, cache). Run by `./build.sh test` through
//! `wasm-bindgen-test-runner`; on the host this file compiles to nothing.
#![cfg(target_arch = "wasm32")]
// Test code: a panic here is a failed test, not a failed login.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use auth0_rbac_claims::claims::TokenKind;
use auth0_rbac_claims::edge::{self, Api, JsApi, JsHost};
use auth0_rbac_claims::host::{ActionApi, FetchError, Host, HttpRequest, Method};
use auth0_rbac_claims::{Code, Error};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen(module = "/wasm-tests/fake_api.js")]
extern "C" {
    #[wasm_bindgen(js_name = makeApi)]
    fn make_api(options: &str) -> Api;
    #[wasm_bindgen(js_name = callsOf)]
    fn calls_of(api: &Api) -> String;
    #[wasm_bindgen(js_name = errorCode)]
    fn error_code(error: &JsValue) -> String;
}

/// A JSON value as the JavaScript value the shim hands over.
fn js(value: &Value) -> JsValue {
    js_sys::JSON::parse(&value.to_string()).unwrap()
}

/// Runs one login and returns (report, recorded calls).
async fn login(event: Value, api_options: Value) -> (Value, Vec<Value>) {
    let api = make_api(&api_options.to_string());
    let recorder = api.clone();
    let report = edge::on_execute_post_login(js(&event), api, JsValue::UNDEFINED, None)
        .await
        .unwrap_or_else(|e| panic!("login rejected: {}", error_code(&e)));
    let report: Value = serde_json::from_str(&report).unwrap();
    let calls: Vec<Value> = serde_json::from_str(&calls_of(&recorder)).unwrap();
    (report, calls)
}

fn roles_only(extra: Value) -> Value {
    let mut secrets =
        json!({"CLAIM_NAMESPACE": "https://myapp.example.com", "PERMISSIONS_IN": "none"});
    if let (Some(s), Some(e)) = (secrets.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    secrets
}

#[wasm_bindgen_test]
async fn roles_become_plain_json_arrays_on_both_tokens() {
    let event = json!({
        "user": {"user_id": "auth0|1", "app_metadata": {"deep": [[[{}]]]}},
        "authorization": {"roles": ["viewer", "admin", "viewer"]},
        "secrets": roles_only(json!({}))
    });
    let (report, calls) = login(event, json!({})).await;
    assert_eq!(report, json!({"outcome": "complete", "codes": []}));
    assert_eq!(
        calls,
        vec![
            json!([
                "idToken.setCustomClaim",
                "https://myapp.example.com/roles",
                ["admin", "viewer"],
                true
            ]),
            json!([
                "accessToken.setCustomClaim",
                "https://myapp.example.com/roles",
                ["admin", "viewer"],
                true
            ]),
        ]
    );
}

#[wasm_bindgen_test]
async fn a_missing_authorization_gives_an_empty_roles_claim_where_roles_in_says() {
    let event = json!({"user": {"user_id": "u"}, "secrets": roles_only(json!({"ROLES_IN": "access_token"}))});
    let (_, calls) = login(event, json!({})).await;
    assert_eq!(
        calls,
        vec![json!([
            "accessToken.setCustomClaim",
            "https://myapp.example.com/roles",
            [],
            true
        ])]
    );
}

#[wasm_bindgen_test]
async fn a_bad_namespace_denies_with_the_code_and_sets_nothing() {
    let event =
        json!({"user": {"user_id": "u"}, "secrets": {"CLAIM_NAMESPACE": "https://x.auth0.com"}});
    let (report, calls) = login(event, json!({})).await;
    assert_eq!(
        report,
        json!({"outcome": "denied", "codes": ["config_invalid"]})
    );
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0][0], "access.deny");
    let reason = calls[0][1].as_str().unwrap();
    assert!(reason.contains("config_invalid"), "{reason}");
    assert!(
        !reason.contains("auth0.com"),
        "the reason carries nothing internal: {reason}"
    );
}

#[wasm_bindgen_test]
async fn an_undecodable_event_follows_on_error_continue() {
    let event = json!({
        "user": {"user_id": "u"},
        "authorization": {"roles": ["a", 5]},
        "secrets": roles_only(json!({"ON_ERROR": "continue"}))
    });
    let (report, calls) = login(event, json!({})).await;
    assert_eq!(
        report,
        json!({"outcome": "degraded", "codes": ["event_invalid"]})
    );
    assert!(calls.is_empty(), "{calls:?}");
}

#[wasm_bindgen_test]
async fn a_throwing_api_becomes_an_internal_error_that_follows_the_policy() {
    let event = json!({"user": {"user_id": "u"}, "secrets": roles_only(json!({}))});
    let (report, calls) = login(event, json!({"throwOn": "accessToken.setCustomClaim"})).await;
    assert_eq!(report, json!({"outcome": "denied", "codes": ["internal"]}));
    assert_eq!(calls.last().unwrap()[0], "access.deny");
}

#[wasm_bindgen_test]
async fn when_deny_itself_throws_the_login_rejects_with_a_coded_error() {
    let api = make_api(&json!({"throwOn": "access.deny"}).to_string());
    let event = json!({"user": {"user_id": "u"}, "secrets": {}});
    let error = edge::on_execute_post_login(js(&event), api, JsValue::UNDEFINED, None)
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&error),
        "internal|internal: api.access.deny threw"
    );
}

#[wasm_bindgen_test]
async fn code_options_take_precedence_over_secrets() {
    let api = make_api("{}");
    let recorder = api.clone();
    let event =
        json!({"user": {"user_id": "u"}, "secrets": roles_only(json!({"ROLES_IN": "none"}))});
    let options = json!({"ROLES_IN": "id_token", "HTTP_TIMEOUT_MS": 2000});
    edge::on_execute_post_login(js(&event), api, js(&options), None)
        .await
        .unwrap();
    let calls: Vec<Value> = serde_json::from_str(&calls_of(&recorder)).unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0][0], "idToken.setCustomClaim");
}

#[wasm_bindgen_test]
fn errors_cross_into_js_as_errors_with_a_code_property() {
    let error = JsValue::from(Error::new(Code::RateLimited, "wait").with_status(429));
    assert_eq!(error_code(&error), "rate_limited|rate_limited: wait");
    let status = js_sys::Reflect::get(&error, &"status".into()).unwrap();
    assert_eq!(status.as_f64(), Some(429.0));
}

#[wasm_bindgen_test]
fn the_cache_binding_reads_records_and_reports_set_errors() {
    let api = make_api(
        &json!({"cacheSet": {"type": "error", "code": "CacheValueSizeExceeded"}}).to_string(),
    );
    let js = JsApi::new(api);
    assert_eq!(js.cache_get("k"), None);
    assert_eq!(
        js.cache_set("k", "v", 1000),
        Err("CacheValueSizeExceeded".to_string())
    );
    let api = make_api("{}");
    let js = JsApi::new(api);
    assert_eq!(js.cache_set("k", "token", 60_000), Ok(()));
    let record = js.cache_get("k").unwrap();
    assert_eq!(record.value, "token");
    assert!(record.expires_at_ms > js_sys::Date::now() + 50_000.0);
    let without = JsApi::new(make_api(&json!({"noCache": true}).to_string()));
    assert_eq!(without.cache_get("k"), None);
    assert!(without.cache_set("k", "v", 1).is_err());
    assert!(without.set_claim(TokenKind::Id, "n", &["a".into()]).is_ok());
}

#[wasm_bindgen_test]
async fn fetch_failures_are_classified_without_request_data() {
    let request = HttpRequest {
        method: Method::Post,
        url: "http://127.0.0.1:9/oauth/token".into(),
        authorization: Some("Bearer very-secret".into()),
        json_body: Some("{\"client_secret\":\"s3cr3t\"}".into()),
        timeout_ms: 2_000,
    };
    match JsHost.fetch(request).await {
        Err(FetchError::Network(why)) => {
            assert!(
                !why.contains("s3cr3t") && !why.contains("very-secret"),
                "{why}"
            );
        }
        other => panic!("expected a connection failure, got {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn a_credential_fetch_refuses_is_a_refusal_that_does_not_quote_it() {
    for authorization in ["Bearer s3cr3t\u{2019}", "Bearer s3cr3t\nx"] {
        let request = HttpRequest {
            method: Method::Get,
            url: "http://127.0.0.1:9/api/v2/users".into(),
            authorization: Some(authorization.into()),
            json_body: None,
            timeout_ms: 2_000,
        };
        match JsHost.fetch(request).await {
            Err(FetchError::Refused(why)) => {
                assert!(why.contains("header value"), "{why}");
                assert!(!why.contains("s3cr3t"), "{why}");
            }
            other => panic!("expected a refused header, got {other:?}"),
        }
    }
}

#[wasm_bindgen_test]
async fn a_request_fetch_cannot_build_is_a_refusal_that_says_so() {
    let request = HttpRequest {
        method: Method::Get,
        url: "https://exa mple.invalid/api/v2/users?token=s3cr3t".into(),
        authorization: None,
        json_body: None,
        timeout_ms: 2_000,
    };
    match JsHost.fetch(request).await {
        Err(FetchError::Refused(why)) => {
            assert!(why.contains("fetch refused the request"), "{why}");
            assert!(!why.contains("s3cr3t"), "{why}");
        }
        other => panic!("expected a refused request, got {other:?}"),
    }
}

#[wasm_bindgen_test]
fn flat_objects_read_by_the_engine_refuse_arrays() {
    use auth0_rbac_claims::json::{parse, FlatObject};
    let object: FlatObject = parse(r#"{"a":"b","n":5,"x":null}"#).unwrap();
    assert_eq!(object.text("a"), Some("b"));
    assert_eq!(object.text("n"), Some("5"));
    assert!(object.contains_key("x") && object.text("x").is_none());
    // serde-wasm-bindgen would read an array's items as key/value pairs through deserialize_map.
    for text in ["[null]", r#"["ab"]"#, r#"[["a","b"]]"#, "[1]", "\"a\"", "{"] {
        assert!(parse::<FlatObject>(text).is_err(), "{text}");
    }
}

#[wasm_bindgen_test]
fn bodies_held_by_the_engine_are_told_apart_and_read_in_place() {
    use auth0_rbac_claims::json::{parse_body, Body, ReadError};
    use auth0_rbac_claims::mgmt::parse_page;
    // What the edge hands over: the engine's string, as `Response.text()` resolves.
    let engine = |text: &str| Body::from_engine(js_sys::JsString::from(text));
    assert_eq!(engine(" \n\t\r[1]").first_char(), Some('['));
    assert_eq!(engine("{}").first_char(), Some('{'));
    assert_eq!(engine("").first_char(), None);
    assert_eq!(engine("   ").first_char(), None);
    // Only JSON's whitespace is skipped, as `JSON.parse` skips it (and the host build does).
    assert_eq!(engine("\u{feff}[1]").first_char(), Some('\u{feff}'));
    assert_eq!(engine("\u{85}[1]").first_char(), Some('\u{85}'));
    // A character outside the BMP is one character, not half of a pair.
    assert_eq!(engine(" \u{1f600}").first_char(), Some('\u{1f600}'));
    // A lone surrogate, which no Rust string can hold, is no character.
    let lone = js_sys::JSON::parse(r#""\ud800x""#).unwrap();
    assert_eq!(Body::from_engine(lone.unchecked_into()).first_char(), None);
    assert_eq!(parse_body::<Vec<u32>>(&engine("[1,2]")), Ok(vec![1, 2]));
    assert_eq!(
        parse_body::<Vec<u32>>(&engine("[1,")),
        Err(ReadError::Malformed)
    );
    assert!(matches!(
        parse_body::<Vec<u32>>(&engine("{}")),
        Err(ReadError::Shape(_))
    ));
    let bare = parse_page(&engine(
        r#" [{"permission_name":"read:a","resource_server_identifier":"https://a"}]"#,
    ))
    .unwrap();
    assert_eq!((bare.count, bare.total), (1, None));
    let totals = parse_page(&engine(
        r#"{"limit":50,"total":1,"permissions":[{"permission_name":"read:a","resource_server_identifier":"https://a"}]}"#,
    ))
    .unwrap();
    assert_eq!(
        (totals.count, totals.total, totals.limit),
        (1, Some(1), Some(50))
    );
    let html = parse_page(&engine("<html>")).unwrap_err();
    assert_eq!(html.code(), Code::ResponseInvalid);
    assert_eq!(html.message(), "the permissions answer is not JSON");
}

#[wasm_bindgen_test]
fn a_body_that_fails_to_arrive_is_classified_by_name_whatever_its_realm() {
    let named = |name: &str, message: &str| {
        let error = js_sys::Error::new(message);
        error.set_name(name);
        JsValue::from(error)
    };
    let timeout = named("TimeoutError", "The operation was aborted due to timeout");
    assert_eq!(edge::body_error(timeout), FetchError::Timeout);
    assert_eq!(
        edge::body_error(named("AbortError", "aborted")),
        FetchError::Timeout
    );
    // Named like the abort signal's DOMException but no Error of this realm (another realm's is not).
    let foreign = js_sys::Object::new();
    js_sys::Reflect::set(&foreign, &"name".into(), &"TimeoutError".into()).unwrap();
    assert_eq!(edge::body_error(foreign.into()), FetchError::Timeout);
    assert_eq!(
        edge::body_error(named("TypeError", "terminated")),
        FetchError::Network("terminated".into())
    );
    assert_eq!(
        edge::body_error(JsValue::from_str("odd")),
        FetchError::Network("the answer's body could not be read".into())
    );
    match edge::body_error(named("TypeError", &"x".repeat(200))) {
        FetchError::Network(message) => assert_eq!(message.chars().count(), 80),
        other => panic!("expected a connection failure, got {other:?}"),
    }
}
