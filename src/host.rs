//! The small traits through which the pure core reaches the outside world.
//!
//! [`Host`] is the runtime (HTTP, clock, timers, randomness, logging); [`ActionApi`] is the
//! Action's `api` object of one login (cache, claims, deny). The WebAssembly edge implements both
//! over JavaScript; host-side tests implement them with fakes.

use std::future::Future;

use crate::claims::TokenKind;
use crate::error::Error;
use crate::settings::Secret;

/// HTTP methods the Action uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The method name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// An outbound request.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// `Authorization` header value, if any (a secret: never logged).
    pub authorization: Option<String>,
    /// JSON body, if any (may hold a secret: never logged).
    pub json_body: Option<String>,
    /// Give up after this many milliseconds (headers and body).
    pub timeout_ms: u32,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("timeout_ms", &self.timeout_ms)
            .finish_non_exhaustive()
    }
}

impl HttpRequest {
    /// `METHOD /path` without the query string, for logs and errors.
    pub fn describe(&self) -> String {
        // After the first `://`, found by comparing bytes: searching for a `&str` would bring
        // core's two-way string searcher into the module for this one line.
        let after_scheme = self
            .url
            .as_bytes()
            .windows(3)
            .position(|w| w == b"://")
            .and_then(|i| self.url.get(i + 3..))
            .unwrap_or(&self.url);
        let path = after_scheme
            .find('/')
            .and_then(|i| after_scheme.get(i..))
            .unwrap_or("/");
        let path = path.split('?').next().unwrap_or(path);
        format!("{} {}", self.method.as_str(), path)
    }
}

/// The headers of an answer that the Action acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseHeaders {
    /// `Retry-After`.
    pub retry_after: Option<String>,
    /// `x-ratelimit-remaining`.
    pub ratelimit_remaining: Option<String>,
    /// `x-ratelimit-reset` (UNIX seconds).
    pub ratelimit_reset: Option<String>,
}

/// An answer, with its body read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// The headers the Action acts on.
    pub headers: ResponseHeaders,
    /// The body, as the runtime holds it.
    pub body: crate::json::Body,
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The request's timeout fired (no answer, or the body did not arrive in time).
    Timeout,
    /// The connection failed; a short description without request data.
    Network(String),
    /// The runtime would not send the request (a header value or a URL that `fetch` refuses, or
    /// no `AbortSignal.timeout`): nothing left, and sending it again would fail the same way. A
    /// short description without request data.
    Refused(String),
}

/// The runtime: HTTP, time, randomness and logging. Cloned into shared futures, so keep it cheap.
pub trait Host: Clone + 'static {
    /// Milliseconds since the UNIX epoch.
    fn now_ms(&self) -> f64;
    /// A number in `[0, 1)`, for retry jitter.
    fn random(&self) -> f64;
    /// Resolves after `ms` milliseconds.
    fn sleep(&self, ms: u32) -> impl Future<Output = ()>;
    /// Sends a request, enforcing `request.timeout_ms`.
    fn fetch(&self, request: HttpRequest)
        -> impl Future<Output = Result<HttpResponse, FetchError>>;
    /// Writes one log line (the Action's `console.log`).
    fn log(&self, line: &str);
    /// The base64url HMAC-SHA256 of `data` under a key derived from `secret` for `purpose`
    /// (HKDF-SHA256): only a holder of the secret can compute it. `None` when the runtime cannot.
    fn mac(&self, secret: &Secret, purpose: &str, data: &str) -> Option<String>;
    /// `plaintext` encrypted and authenticated (AES-256-GCM) under a key derived from `secret`
    /// for `purpose`; `None` when the runtime cannot.
    fn seal(&self, secret: &Secret, purpose: &str, plaintext: &str) -> Option<String>;
    /// What [`Host::seal`] produced with the same secret and purpose, decrypted; `None` for
    /// anything else (another key, an edit, garbage).
    fn open(&self, secret: &Secret, purpose: &str, sealed: &str) -> Option<String>;
}

/// An `api.cache` record.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheRecord {
    /// The stored string.
    pub value: String,
    /// When it expires, milliseconds since the UNIX epoch.
    pub expires_at_ms: f64,
}

/// The Action's `api` object for one login.
pub trait ActionApi {
    /// `api.cache.get(key)`.
    fn cache_get(&self, key: &str) -> Option<CacheRecord>;
    /// `api.cache.set(key, value, { ttl })`; `Err` carries Auth0's error code
    /// (e.g. `CacheValueSizeExceeded`).
    fn cache_set(&self, key: &str, value: &str, ttl_ms: u64) -> Result<(), String>;
    /// `api.cache.delete(key)`.
    fn cache_delete(&self, key: &str);
    /// `api.idToken.setCustomClaim` / `api.accessToken.setCustomClaim` with a JSON array of strings.
    fn set_claim(&self, token: TokenKind, name: &str, values: &[String]) -> Result<(), Error>;
    /// `api.access.deny(reason)`.
    fn deny(&self, reason: &str) -> Result<(), Error>;
    /// `api.user.setAppMetadata(key, value)`, `None` deleting the key. Auth0 writes it once at
    /// the end of the flow; `Err` says why the call failed (it never fails a login).
    fn set_app_metadata(&self, key: &str, value: Option<&str>) -> Result<(), String>;
}
