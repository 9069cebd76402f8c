//! The WebAssembly edge: the only module that touches JavaScript.
//!
//! It implements [`Host`] over the runtime (`fetch` through gloo-net, `setTimeout` through
//! gloo-timers, `Date.now`, `Math.random`, `console.log`) and [`ActionApi`] over the Action's `api`
//! object, and exports the entry points the shim calls. The shim hands the `event` over as JSON
//! text, which the core reads with serde_json: the same decoder as the host tests and fuzzing,
//! and about 40 KB less WebAssembly than serde-wasm-bindgen with the float formatting its
//! error messages pull in.
//! Every call into JavaScript that can throw is bound with `catch`, so a throwing `api` becomes an
//! `internal` error, never an exception unwinding through Rust frames.

use std::cell::Cell;
use std::rc::Rc;

use gloo_net::http::RequestBuilder;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::error::{Code, Error};
use crate::event;
use crate::host::{
    ActionApi, CacheRecord, FetchError, Host, HttpRequest, HttpResponse, Method, ResponseHeaders,
};
use crate::login::{self, Outcome, SettingsInput};
use crate::mgmt::TokenStore;
use crate::settings::{SettingMap, Settings, TokenKind};

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
        let method = match request.method {
            Method::Get => gloo_net::http::Method::GET,
            Method::Post => gloo_net::http::Method::POST,
            Method::Put => gloo_net::http::Method::PUT,
            Method::Delete => gloo_net::http::Method::DELETE,
        };
        // The signal aborts the request and the reading of its body alike.
        let signal = web_sys::AbortSignal::timeout_with_u32(request.timeout_ms);
        let mut builder = RequestBuilder::new(&request.url)
            .method(method)
            .abort_signal(Some(&signal))
            .header("accept", "application/json");
        if let Some(auth) = &request.authorization {
            builder = builder.header("authorization", auth);
        }
        let built = match request.json_body {
            Some(body) => builder
                .header("content-type", "application/json")
                .body(body),
            None => builder.build(),
        };
        let response = built
            .map_err(fetch_error)?
            .send()
            .await
            .map_err(fetch_error)?;
        let headers = response.headers();
        let headers = ResponseHeaders {
            retry_after: headers.get("retry-after"),
            ratelimit_remaining: headers.get("x-ratelimit-remaining"),
            ratelimit_reset: headers.get("x-ratelimit-reset"),
        };
        let status = response.status();
        let body = response.text().await.map_err(fetch_error)?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    fn log(&self, line: &str) {
        console_log(line);
    }
}

/// Sorts a fetch failure: the abort signal's timeout, or a connection failure described by the
/// error's name and message only (undici's messages carry no request data).
fn fetch_error(error: gloo_net::Error) -> FetchError {
    match error {
        gloo_net::Error::JsError(e) if e.name == "TimeoutError" || e.name == "AbortError" => {
            FetchError::Timeout
        }
        gloo_net::Error::JsError(e) => FetchError::Network(e.message.chars().take(80).collect()),
        other => FetchError::Network(other.to_string().chars().take(80).collect()),
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
}

fn js_token_name(token: TokenKind) -> &'static str {
    match token {
        TokenKind::Id => "idToken",
        TokenKind::Access => "accessToken",
    }
}

thread_local! {
    static STORE: Rc<TokenStore> = Rc::new(TokenStore::new());
    static TRAP_NEXT_LOGIN: Cell<bool> = const { Cell::new(false) };
}

/// Reads a login's inputs: the settings sources (never failing: odd sources count as absent) and
/// the event.
fn inputs(
    event_json: &str,
    options_json: Option<String>,
) -> (SettingsInput, crate::Result<event::Event>) {
    let (settings, event) = event::from_json(event_json);
    let options = options_json.and_then(|text| serde_json::from_str::<SettingMap>(&text).ok());
    let input = SettingsInput {
        options,
        configuration: settings.configuration,
        secrets: settings.secrets,
    };
    (input, event)
}

/// The result handed back to JavaScript, as JSON: `{"outcome":…,"codes":[…]}` (codes are
/// fixed snake_case words, so no escaping is needed).
fn report(outcome: &Outcome) -> String {
    let (outcome, codes): (&str, &[Code]) = match outcome {
        Outcome::Complete => ("complete", &[]),
        Outcome::Degraded(codes) => ("degraded", codes),
        Outcome::Denied(code) => ("denied", std::slice::from_ref(code)),
    };
    let codes: Vec<String> = codes.iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        "{{\"outcome\":\"{outcome}\",\"codes\":[{}]}}",
        codes.join(",")
    )
}

/// The post-login handler: `onExecutePostLogin(eventJson, api, optionsJson?)`.
///
/// `eventJson` is `JSON.stringify(event)`; `optionsJson` the settings given in code (npm form),
/// which take precedence over `event.configuration` and `event.secrets`. Resolves to the JSON text
/// `{"outcome":…,"codes":[…]}` where `outcome` is `complete`, `degraded` (`ON_ERROR=continue`
/// left claims out) or `denied`. Rejects with a coded `Error` only when the failure could not be
/// reported through `api.access.deny`.
#[wasm_bindgen(js_name = onExecutePostLogin)]
pub async fn on_execute_post_login(
    event_json: String,
    api: Api,
    options_json: Option<String>,
) -> Result<String, JsValue> {
    if TRAP_NEXT_LOGIN.with(|t| t.replace(false)) {
        // Deliberate trap, armed only by `__trapNextLogin` (tests of the shim's recovery).
        core::arch::wasm32::unreachable();
    }
    let (input, event) = inputs(&event_json, options_json);
    let store = STORE.with(Rc::clone);
    let outcome = login::post_login(&JsHost, &JsApi::new(api), &store, &input, event).await?;
    Ok(report(&outcome))
}

/// Reports a trap of a previous instance for this login (called by the shim on a fresh instance):
/// logs one `internal` line and follows `ON_ERROR`.
#[wasm_bindgen(js_name = failAfterTrap)]
pub fn fail_after_trap(
    event_json: &str,
    api: Api,
    options_json: Option<String>,
) -> Result<String, JsValue> {
    let (input, _) = inputs(event_json, options_json);
    let policy = Settings::error_policy(&input.sources());
    let error = Error::new(
        Code::Internal,
        "the WebAssembly module trapped; a fresh instance serves the next login (please report this)",
    );
    let outcome = login::give_up(&JsHost, &JsApi::new(api), policy, error)?;
    Ok(report(&outcome))
}

/// Makes the next login trap before doing anything: lets tests prove that the shim recovers.
#[wasm_bindgen(js_name = __trapNextLogin)]
pub fn trap_next_login() {
    TRAP_NEXT_LOGIN.with(|t| t.set(true));
}
