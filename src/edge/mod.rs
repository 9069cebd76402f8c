//! The WebAssembly edge: the only module that touches JavaScript.
//!
//! It implements [`Host`] over the runtime (the global `fetch` through gloo-net, `setTimeout`
//! through gloo-timers, `Date.now`, `Math.random`, `console.log`) and [`ActionApi`] over the Action's `api`
//! object, and exports the entry points the shim calls. The shim hands the `event` object over as
//! it is; serde-wasm-bindgen reads the fields the core's types declare straight from it, and JSON
//! answers are parsed by the engine ([`engine`]), so the module carries no JSON parser.
//! Every call into JavaScript that can throw is bound with `catch`, so a throwing `api` becomes an
//! `internal` error, never an exception unwinding through Rust frames. gloo-net's own bindings are
//! the one exception, and are kept to what cannot throw here: the headers are built with `catch`
//! (in `send`), and Node's `fetch` rejects only with `Error`s, which gloo-net hands back as values.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

pub mod engine;

use crate::claims::TokenKind;
use crate::error::{Code, Error};
use crate::event;
use crate::host::{
    ActionApi, CacheRecord, FetchError, Host, HttpRequest, HttpResponse, ResponseHeaders,
};
use crate::login::{self, Instance, Outcome};
use crate::settings::{Secret, SettingMap, Settings, Sources};

#[wasm_bindgen]
extern "C" {
    /// The Action's `api` object (post-login trigger v3).
    #[derive(Debug, Clone)]
    pub type Api;
    #[wasm_bindgen(method, getter, catch, js_name = idToken)]
    fn id_token(this: &Api) -> Result<TokenApi, JsValue>;
    #[wasm_bindgen(method, getter, catch, js_name = accessToken)]
    fn access_token(this: &Api) -> Result<TokenApi, JsValue>;
    #[wasm_bindgen(method, getter, catch)]
    fn access(this: &Api) -> Result<AccessApi, JsValue>;
    #[wasm_bindgen(method, getter, catch)]
    fn cache(this: &Api) -> Result<CacheApi, JsValue>;
    #[wasm_bindgen(method, getter, catch)]
    fn user(this: &Api) -> Result<UserApi, JsValue>;

    type UserApi;
    #[wasm_bindgen(method, catch, js_name = setAppMetadata)]
    fn set_app_metadata(this: &UserApi, key: &str, value: &JsValue) -> Result<JsValue, JsValue>;

    type TokenApi;
    #[wasm_bindgen(method, catch, js_name = setCustomClaim)]
    fn set_custom_claim(this: &TokenApi, name: &str, value: &JsValue) -> Result<JsValue, JsValue>;

    type AccessApi;
    #[wasm_bindgen(method, catch)]
    fn deny(this: &AccessApi, reason: &str) -> Result<JsValue, JsValue>;

    type CacheApi;
    #[wasm_bindgen(method, catch)]
    fn get(this: &CacheApi, key: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn set(this: &CacheApi, key: &str, value: &str, options: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = delete)]
    fn remove(this: &CacheApi, key: &str) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_namespace = console, js_name = log)]
    fn console_log(line: &str);

    /// `AbortSignal.timeout(ms)`: aborts the request and the reading of its body.
    #[wasm_bindgen(catch, js_namespace = AbortSignal, js_name = timeout)]
    fn abort_after(ms: u32) -> Result<web_sys::AbortSignal, JsValue>;

    // The cryptography the shim hands the module (`actionCrypto`, over Node's `crypto`):
    // HKDF-SHA256 key derivation, HMAC-SHA256, AES-256-GCM.
    #[wasm_bindgen(catch, js_namespace = actionCrypto, js_name = mac)]
    fn crypto_mac(secret: &str, purpose: &str, data: &str) -> Result<String, JsValue>;
    #[wasm_bindgen(catch, js_namespace = actionCrypto, js_name = seal)]
    fn crypto_seal(secret: &str, purpose: &str, plaintext: &str) -> Result<String, JsValue>;
    #[wasm_bindgen(catch, js_namespace = actionCrypto, js_name = open)]
    fn crypto_open(secret: &str, purpose: &str, sealed: &str) -> Result<Option<String>, JsValue>;
}

impl From<Error> for JsValue {
    /// A JavaScript `Error` whose `code` property is the stable code and whose message is
    /// `<code>: <message>`.
    fn from(error: Error) -> JsValue {
        let js = js_sys::Error::new(&error.to_string());
        // Setting a property on a fresh Error cannot fail.
        let _ = Reflect::set(&js, &"code".into(), &error.code().as_str().into());
        if let Some(status) = error.status() {
            let _ = Reflect::set(&js, &"status".into(), &status.into());
        }
        js.into()
    }
}

/// The JavaScript runtime as a [`Host`].
#[derive(Debug, Clone, Copy, Default)]
pub struct JsHost;

impl Host for JsHost {
    fn now_ms(&self) -> f64 {
        js_sys::Date::now()
    }

    fn random(&self) -> f64 {
        js_sys::Math::random()
    }

    async fn sleep(&self, ms: u32) {
        gloo_timers::future::TimeoutFuture::new(ms).await
    }

    async fn fetch(&self, request: HttpRequest) -> Result<HttpResponse, FetchError> {
        let started = js_sys::Date::now();
        let (response, sent) = send(&request).await?;
        let headers = response.headers();
        let headers = ResponseHeaders {
            retry_after: headers.get("retry-after"),
            ratelimit_remaining: headers.get("x-ratelimit-remaining"),
            ratelimit_reset: headers.get("x-ratelimit-reset"),
        };
        let status = response.status();
        // The body is read as the engine's string and stays there (`json::Body`): gloo-net's
        // `text()` would copy it into the module only for `JSON.parse` to copy it out again.
        // A stalled body is a timeout too. undici's own request follows the abort signal of
        // ours through a weak reference only: once nothing holds our `Request`, the engine may
        // collect the link, and the signal then aborts nothing (the body would wait for undici's
        // five-minute body timeout, seen once in the test suite). So our `Request` is held (`sent`)
        // until the body is read, and the abort closes the connection; and the body also races a
        // timer for what is left of the request's time, in case the signal still aborts nothing.
        // The timer runs 100 ms past the signal, so that the signal, which also closes the
        // connection, normally ends the read first.
        let raw: web_sys::Response = response.into();
        let text = raw
            .text()
            .map_err(|_| FetchError::Network(UNREADABLE_BODY.into()))?;
        let left = f64::from(request.timeout_ms) - (js_sys::Date::now() - started);
        let timer = gloo_timers::future::TimeoutFuture::new(left.max(0.0) as u32 + 100);
        let read = wasm_bindgen_futures::JsFuture::from(text);
        let body = match futures_util::future::select(read, timer).await {
            futures_util::future::Either::Left((read, _)) => read.map_err(body_error)?,
            futures_util::future::Either::Right(_) => return Err(FetchError::Timeout),
        };
        drop(sent);
        Ok(HttpResponse {
            status,
            headers,
            body: crate::json::Body::from_engine(body.unchecked_into()),
        })
    }

    fn log(&self, line: &str) {
        console_log(line);
    }

    fn mac(&self, secret: &Secret, purpose: &str, data: &str) -> Option<String> {
        crypto_mac(secret.expose(), purpose, data).ok()
    }

    fn seal(&self, secret: &Secret, purpose: &str, plaintext: &str) -> Option<String> {
        crypto_seal(secret.expose(), purpose, plaintext).ok()
    }

    fn open(&self, secret: &Secret, purpose: &str, sealed: &str) -> Option<String> {
        crypto_open(secret.expose(), purpose, sealed).ok().flatten()
    }
}

/// Sends the request through gloo-net (the global `fetch`) with its method, headers, body and a
/// timeout signal. The `Request` is built here and handed to gloo-net to send: gloo-net's own
/// builder makes a second `Request` and a `URL` per request only to merge query parameters,
/// which these URLs carry already. The `Request` comes back with the answer, for the caller to
/// hold while it reads the body: the abort signal reaches undici only while it is alive.
async fn send(
    request: &HttpRequest,
) -> Result<(gloo_net::http::Response, web_sys::Request), FetchError> {
    let signal = abort_after(request.timeout_ms)
        .map_err(|_| FetchError::Refused("AbortSignal.timeout is missing".into()))?;
    // The headers are built with `catch`: `Headers.append` throws on a value `fetch` refuses,
    // and its message would quote the value, a credential, so it is not repeated.
    let headers = web_sys::Headers::new().map_err(|_| bad_header())?;
    let mut pairs = vec![("accept", "application/json")];
    if let Some(auth) = &request.authorization {
        pairs.push(("authorization", auth));
    }
    if request.json_body.is_some() {
        pairs.push(("content-type", "application/json"));
    }
    for (name, value) in pairs {
        headers.append(name, value).map_err(|_| bad_header())?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method(request.method.as_str());
    init.set_headers(&headers);
    init.set_signal(Some(&signal));
    // A redirect is an answer like any other, never followed: `fetch` would send a 307 or 308
    // on with its body, the token request's client secret included, to wherever it points.
    init.set_redirect(web_sys::RequestRedirect::Manual);
    if let Some(body) = &request.json_body {
        init.set_body(&JsValue::from_str(body));
    }
    let raw = web_sys::Request::new_with_str_and_init(&request.url, &init)
        .map_err(|_| FetchError::Refused("fetch refused the request (is the URL valid?)".into()))?;
    // `Clone::clone`: a second handle to the same object (`Request::clone`, the JavaScript
    // method, would copy the request).
    let response = gloo_net::http::Request::from(Clone::clone(&raw))
        .send()
        .await
        .map_err(fetch_error)?;
    Ok((response, raw))
}

fn bad_header() -> FetchError {
    FetchError::Refused(
        "a header value is not valid in HTTP (a credential with characters other than visible ASCII?)"
            .into(),
    )
}

/// Sorts a fetch failure by the error's `name`: the abort signal's timeout, or a connection
/// failure described by its message alone (undici's messages for these carry no request data).
/// gloo-net hands over only what is an `Error` of this realm, which is all Node's `fetch` rejects
/// with: its `TypeError`s and `DOMException`s.
fn fetch_error(error: gloo_net::Error) -> FetchError {
    match error {
        gloo_net::Error::JsError(e) => failure(&e.name, &e.message),
        gloo_net::Error::GlooError(message) => failure("", &message),
    }
}

/// How a rejection of reading an answer's body is classified, as [`fetch_error`] classifies
/// those of `fetch`: by the rejection's `name`, read as a property whatever the value's realm
/// (`TimeoutError` or `AbortError`: the abort signal fired mid-body), else a connection failure
/// described by its `message` (undici's carry no request data), or by a fixed text when it has
/// none.
pub fn body_error(error: JsValue) -> FetchError {
    let text = |key: &str| {
        Reflect::get(&error, &JsValue::from_str(key))
            .ok()
            .and_then(|v| v.as_string())
    };
    failure(
        text("name").as_deref().unwrap_or_default(),
        text("message").as_deref().unwrap_or(UNREADABLE_BODY),
    )
}

/// What a body that cannot be read is, when the runtime says nothing better.
const UNREADABLE_BODY: &str = "the answer's body could not be read";

fn failure(name: &str, message: &str) -> FetchError {
    if name == "TimeoutError" || name == "AbortError" {
        FetchError::Timeout
    } else {
        FetchError::Network(message.chars().take(80).collect())
    }
}

/// One login's `api` object as an [`ActionApi`].
#[derive(Debug)]
pub struct JsApi(Api);

impl JsApi {
    /// Wraps an `api` object.
    pub fn new(api: Api) -> Self {
        JsApi(api)
    }

    fn cache(&self) -> Option<CacheApi> {
        self.0.cache().ok().filter(|c| c.is_object())
    }
}

fn api_error(what: &str) -> Error {
    Error::new(Code::Internal, format!("{what} threw"))
}

impl ActionApi for JsApi {
    fn cache_get(&self, key: &str) -> Option<CacheRecord> {
        let record = self.cache()?.get(key).ok()?;
        if !record.is_object() {
            return None;
        }
        let value = Reflect::get(&record, &"value".into()).ok()?.as_string()?;
        let expires_at_ms = Reflect::get(&record, &"expires_at".into())
            .ok()
            .and_then(|v| v.as_f64())
            // A record without an expiry is used for a minute; a stale token is refused (401) and replaced.
            .unwrap_or_else(|| js_sys::Date::now() + 60_000.0);
        Some(CacheRecord {
            value,
            expires_at_ms,
        })
    }

    fn cache_set(&self, key: &str, value: &str, ttl_ms: u64) -> Result<(), String> {
        let cache = self.cache().ok_or("api.cache is missing")?;
        let options = Object::new();
        let _ = Reflect::set(&options, &"ttl".into(), &(ttl_ms as f64).into());
        let result = cache
            .set(key, value, &options)
            .map_err(|_| "api.cache.set threw".to_string())?;
        let kind = Reflect::get(&result, &"type".into())
            .ok()
            .and_then(|v| v.as_string());
        if kind.as_deref() == Some("error") {
            let code = Reflect::get(&result, &"code".into())
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_else(|| "unknown".into());
            return Err(code.chars().take(40).collect());
        }
        Ok(())
    }

    fn cache_delete(&self, key: &str) {
        if let Some(cache) = self.cache() {
            let _ = cache.remove(key);
        }
    }

    fn set_claim(&self, token: TokenKind, name: &str, values: &[String]) -> Result<(), Error> {
        let target = match token {
            TokenKind::Id => self.0.id_token(),
            TokenKind::Access => self.0.access_token(),
        }
        .map_err(|_| api_error("reading api.idToken/api.accessToken"))?;
        let array: Array = values.iter().map(|v| JsValue::from_str(v)).collect();
        target
            .set_custom_claim(name, &array)
            .map(|_| ())
            .map_err(|_| api_error(&format!("api.{}.setCustomClaim", js_token_name(token))))
    }

    fn deny(&self, reason: &str) -> Result<(), Error> {
        self.0
            .access()
            .and_then(|a| a.deny(reason))
            .map(|_| ())
            .map_err(|_| api_error("api.access.deny"))
    }

    fn set_app_metadata(&self, key: &str, value: Option<&str>) -> Result<(), String> {
        let value = value.map_or(JsValue::NULL, JsValue::from_str);
        self.0
            .user()
            .and_then(|u| u.set_app_metadata(key, &value))
            .map(|_| ())
            // Auth0 throws when app_metadata is not an object, for one.
            .map_err(|_| "it threw".to_string())
    }
}

fn js_token_name(token: TokenKind) -> &'static str {
    match token {
        TokenKind::Id => "idToken",
        TokenKind::Access => "accessToken",
    }
}

thread_local! {
    static INSTANCE: Rc<Instance> = Rc::new(Instance::default());
    static TRAP_NEXT_LOGIN: Cell<bool> = const { Cell::new(false) };
}

/// Reads a login's inputs straight from the `event` object: the settings sources (never failing:
/// odd sources count as absent) and the event.
fn inputs(event: JsValue, options: JsValue) -> (Sources, crate::Result<event::Event>) {
    let mut sources: Sources = serde_wasm_bindgen::from_value(event.clone()).unwrap_or_default();
    let event =
        serde_wasm_bindgen::from_value(event).map_err(|e| event::invalid(engine::message(e)));
    sources.options = if options.is_undefined() {
        None
    } else {
        serde_wasm_bindgen::from_value::<SettingMap>(options).ok()
    };
    (sources, event)
}

/// The result handed back to JavaScript, as JSON: `{"outcome":…,"codes":[…]}` (codes are
/// fixed snake_case words, so no escaping is needed).
fn report(outcome: &Outcome) -> String {
    let (outcome, codes): (&str, &[Code]) = match outcome {
        Outcome::Complete(codes) => ("complete", codes),
        Outcome::Degraded(codes) => ("degraded", codes),
        Outcome::Denied(code) => ("denied", std::slice::from_ref(code)),
    };
    let codes: Vec<String> = codes.iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        "{{\"outcome\":\"{outcome}\",\"codes\":[{}]}}",
        crate::join(&codes, ",")
    )
}

/// The post-login handler: `onExecutePostLogin(event, api, options?, afterTrap?)`.
///
/// `event` is Auth0's event object, read where the core's types have fields (nothing else is
/// touched, however deep); `options` the settings given in code (npm form),
/// which take precedence over `event.configuration` and `event.secrets`. `afterTrap` is set by the
/// shim when this login's first instance trapped: the login is then reported as `internal` under
/// `ON_ERROR` on the fresh instance. Resolves to the JSON text `{"outcome":…,"codes":[…]}` where
/// `outcome` is `complete`, `degraded` (`ON_ERROR=continue` left claims out) or `denied`. Rejects
/// with a coded `Error` only when the failure could not be reported through `api.access.deny`.
#[wasm_bindgen(js_name = onExecutePostLogin)]
pub async fn on_execute_post_login(
    event: JsValue,
    api: Api,
    options: JsValue,
    after_trap: Option<bool>,
) -> Result<String, JsValue> {
    if TRAP_NEXT_LOGIN.with(|t| t.replace(false)) {
        // Deliberate trap, armed only by `__trapNextLogin` (tests of the shim's recovery).
        core::arch::wasm32::unreachable();
    }
    let (input, event) = inputs(event, options);
    let api = JsApi::new(api);
    let outcome = if after_trap == Some(true) {
        let error = Error::new(
            Code::Internal,
            "the WebAssembly module trapped or threw; a fresh instance serves the next login (please report this)",
        );
        login::give_up(&JsHost, &api, Settings::error_policy(&input), error)?
    } else {
        let instance = INSTANCE.with(Rc::clone);
        login::post_login(&JsHost, &api, &instance, &input, event).await?
    };
    Ok(report(&outcome))
}

/// Makes the next login trap before doing anything: lets tests prove that the shim recovers.
#[wasm_bindgen(js_name = __trapNextLogin)]
pub fn trap_next_login() {
    TRAP_NEXT_LOGIN.with(|t| t.set(true));
}

/// Reads the roles and permissions of a verified token payload (JSON text) with the claim layout
/// of `namespace`: `{"roles":[…],"permissions":[…]}`. Throws `config_invalid` for a refused
/// namespace. npm package only (feature `npm`): the Action's single file does not carry it.
#[cfg(feature = "npm")]
#[wasm_bindgen(js_name = readGrants)]
pub fn read_grants(payload_json: &str, namespace: &str) -> Result<String, JsValue> {
    let layout = crate::claims::ClaimLayout::parse(namespace)?;
    let payload: serde_json::Value = serde_json::from_str(payload_json)
        .map_err(|_| Error::new(Code::Internal, "the token payload could not be read"))?;
    let grants = layout.read(&payload);
    let list = |items: &[String]| serde_json::to_string(items).unwrap_or_else(|_| "[]".into());
    Ok(format!(
        "{{\"roles\":{},\"permissions\":{}}}",
        list(grants.roles()),
        list(grants.permissions())
    ))
}

/// The claim names of `namespace`, as the Action writes them: `{"roles":…,"permissions":…}`.
/// Throws `config_invalid` for a refused namespace. npm package only (feature `npm`).
#[cfg(feature = "npm")]
#[wasm_bindgen(js_name = claimNames)]
pub fn claim_names(namespace: &str) -> Result<String, JsValue> {
    let layout = crate::claims::ClaimLayout::parse(namespace)?;
    Ok(crate::json::json_object(&[
        ("roles", Some(layout.roles_claim())),
        ("permissions", Some(layout.permissions_claim())),
    ]))
}
