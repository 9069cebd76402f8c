//! The one error type of the crate, with stable string codes.
//!
//! Every failure of a login ends up as an [`Error`]: a [`Code`] that never changes between releases
//! (logs, deny reasons and JavaScript callers branch on it), a message that says what happened and
//! what to do, and, for HTTP failures, the status and the request path. Messages are written by
//! this crate only: they never quote a response body, a token or a secret.

use std::fmt;

/// Stable error codes. The string form (`Code::as_str`) is part of the public contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// A setting is missing or has a value the Action refuses (names the key and the fix).
    ConfigInvalid,
    /// Permissions are on but the Management API domain or M2M credentials are not set.
    CredentialsMissing,
    /// The login event lacks a field the Action needs, or has it with the wrong type.
    EventInvalid,
    /// `POST /oauth/token` failed: wrong credentials, the application is not authorised for the
    /// Management API, or the tenant answered with an error.
    TokenRequestFailed,
    /// The Management API answered with an error status (403 missing scope, 404 unknown user, 5xx).
    ManagementApiError,
    /// Rate limited (HTTP 429) and the announced wait does not fit the deadline, or retries ran out.
    RateLimited,
    /// A request exceeded `HTTP_TIMEOUT_MS`, or the whole Action exceeded `DEADLINE_MS`.
    Timeout,
    /// An answer was not the JSON the API documents.
    ResponseInvalid,
    /// The claims for one token would exceed `MAX_CLAIMS_BYTES`.
    ClaimsTooLarge,
    /// Keeping Permit.io in step failed (follows `PERMIT_ON_ERROR`).
    PermitSyncFailed,
    /// A warning, not a failure: refreshing the permissions failed (429, 5xx, timeout, connection)
    /// and a cached set computed for the same roles, younger than `PERMISSIONS_STALE_MAX`, was
    /// used; the login completes.
    StalePermissions,
    /// A warning, not a failure: Auth0 roles whose names are not Permit role keys (letters,
    /// digits, `-`, `_`) and that `PERMIT_ROLE_MAP` does not map were not synced to Permit.
    PermitRoleUnmapped,
    /// A call on the Action's `api` object threw, or the module itself failed (a bug: report it).
    Internal,
}

impl Code {
    /// The stable string form, e.g. `config_invalid`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::ConfigInvalid => "config_invalid",
            Code::CredentialsMissing => "credentials_missing",
            Code::EventInvalid => "event_invalid",
            Code::TokenRequestFailed => "token_request_failed",
            Code::ManagementApiError => "management_api_error",
            Code::RateLimited => "rate_limited",
            Code::Timeout => "timeout",
            Code::ResponseInvalid => "response_invalid",
            Code::ClaimsTooLarge => "claims_too_large",
            Code::PermitSyncFailed => "permit_sync_failed",
            Code::StalePermissions => "stale_permissions",
            Code::PermitRoleUnmapped => "permit_role_unmapped",
            Code::Internal => "internal",
        }
    }

    /// Every code, in documentation order.
    pub const ALL: [Code; 13] = [
        Code::ConfigInvalid,
        Code::CredentialsMissing,
        Code::EventInvalid,
        Code::TokenRequestFailed,
        Code::ManagementApiError,
        Code::RateLimited,
        Code::Timeout,
        Code::ResponseInvalid,
        Code::ClaimsTooLarge,
        Code::PermitSyncFailed,
        Code::StalePermissions,
        Code::PermitRoleUnmapped,
        Code::Internal,
    ];
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure with its stable [`Code`], a message written by this crate, and, for HTTP failures,
/// the status and the request (`GET /api/v2/users/…/permissions`).
// One pointer wide: the fields live behind a `Box`, so that every `Result` the login's futures
// hold and hand on stays small. Copying a 32-byte error field by field at each `?` of the async
// code cost 8.8 KB of the Action's WebAssembly (2.9 KB of `dist/action.js`); an error is built
// at most a few times per login, so the allocation costs nothing measurable.
#[derive(Clone, PartialEq, Eq)]
pub struct Error(Box<Inner>);

const _: () = assert!(std::mem::size_of::<Error>() == std::mem::size_of::<usize>());

/// What an [`Error`] holds.
#[derive(Clone, PartialEq, Eq)]
struct Inner {
    code: Code,
    message: String,
    status: Option<u16>,
    request: Option<String>,
    connection: bool,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error. `message` must not contain secrets; it is logged as is.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error(Box::new(Inner {
            code,
            message: message.into(),
            status: None,
            request: None,
            connection: false,
        }))
    }

    /// A `config_invalid` error: a setting is wrong, and `message` names it and the fix.
    pub fn config(message: String) -> Self {
        Error::new(Code::ConfigInvalid, message)
    }

    /// Marks the error as a failed connection (no answer at all).
    pub fn connection_failed(mut self) -> Self {
        self.0.connection = true;
        self
    }

    /// Whether trying again later may succeed: rate limiting, a timeout, a 5xx answer or a failed
    /// connection. A cached value may stand in for the answer then (`stale_permissions`); never
    /// for a refusal (401, 403, 404) or an answer that could not be read.
    pub fn is_transient(&self) -> bool {
        matches!(self.0.code, Code::RateLimited | Code::Timeout)
            || self.0.connection
            || self.0.status.is_some_and(|s| s >= 500)
    }

    /// Attaches the HTTP status of the failed answer.
    pub fn with_status(mut self, status: u16) -> Self {
        self.0.status = Some(status);
        self
    }

    /// Attaches the failed request as `METHOD path` (no query values that could be secret).
    pub fn with_request(mut self, request: impl Into<String>) -> Self {
        self.0.request = Some(request.into());
        self
    }

    /// The stable code.
    pub fn code(&self) -> Code {
        self.0.code
    }

    /// What happened and what to do.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// HTTP status of the failed answer, if any.
    pub fn status(&self) -> Option<u16> {
        self.0.status
    }

    /// The failed request (`METHOD path`), if any.
    pub fn request(&self) -> Option<&str> {
        self.0.request.as_deref()
    }

    /// The single log line for this error: `[auth0-rbac-claims] <code>: <message> (<status>, <request>)`.
    /// Auth0 keeps 256 characters of an Action's log output, so the code comes first.
    pub fn log_line(&self) -> String {
        let mut line = format!("{LOG_PREFIX} {}: {}", self.0.code, self.0.message);
        match (self.0.status, &self.0.request) {
            (Some(status), Some(req)) => line.push_str(&format!(" (HTTP {status}, {req})")),
            (Some(status), None) => line.push_str(&format!(" (HTTP {status})")),
            (None, Some(req)) => line.push_str(&format!(" ({req})")),
            (None, None) => {}
        }
        line
    }

    /// The reason given to `api.access.deny`: generic, with the code and nothing internal. It
    /// reaches the application as `error_description`.
    pub fn deny_reason(&self) -> String {
        deny_reason(self.0.code)
    }
}

/// What a failure does to the login (`ON_ERROR`, `PERMIT_ON_ERROR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorPolicy {
    /// `api.access.deny` with a generic reason carrying the code.
    Deny,
    /// Log the code and issue the tokens without the failed claims.
    Continue,
}

impl ErrorPolicy {
    /// Reads `deny` or `continue` (any case) given for `key`.
    pub fn parse(key: &str, value: &str) -> Result<ErrorPolicy> {
        match value.to_ascii_lowercase().as_str() {
            "deny" => Ok(ErrorPolicy::Deny),
            "continue" => Ok(ErrorPolicy::Continue),
            _ => Err(Error::config(format!("{key} must be deny or continue"))),
        }
    }
}

/// Prefix of every log line the Action writes.
pub const LOG_PREFIX: &str = "[auth0-rbac-claims]";

/// The reason given to `api.access.deny` for a code.
pub fn deny_reason(code: Code) -> String {
    format!("Authorization data for this login is unavailable ({code}).")
}

// As the struct it was before the fields moved behind the `Box`: `Error { code: …, … }`.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Inner {
            code,
            message,
            status,
            request,
            connection,
        } = &*self.0;
        f.debug_struct("Error")
            .field("code", code)
            .field("message", message)
            .field("status", status)
            .field("request", request)
            .field("connection", connection)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.0.code, self.0.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_snake_case_strings() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
            assert!(seen.insert(s), "duplicate code {s}");
        }
    }

    #[test]
    fn log_line_leads_with_the_code_and_carries_status_and_request() {
        let e = Error::new(Code::ManagementApiError, "user not found")
            .with_status(404)
            .with_request("GET /api/v2/users/auth0%7C1/permissions");
        assert_eq!(
            e.log_line(),
            "[auth0-rbac-claims] management_api_error: user not found (HTTP 404, GET /api/v2/users/auth0%7C1/permissions)"
        );
    }

    #[test]
    fn debug_shows_the_fields_as_one_struct() {
        let e = Error::new(Code::Timeout, "slow").with_status(504);
        assert_eq!(
            format!("{e:?}"),
            r#"Error { code: Timeout, message: "slow", status: Some(504), request: None, connection: false }"#
        );
    }

    #[test]
    fn deny_reason_is_generic_and_names_only_the_code() {
        let e = Error::new(Code::TokenRequestFailed, "client secret abc was refused");
        let reason = e.deny_reason();
        assert!(reason.contains("token_request_failed"));
        assert!(!reason.contains("abc"));
    }
}
