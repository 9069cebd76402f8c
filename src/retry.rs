//! Sending a request within the Action's budget: per-request timeout, whole-login deadline, and
//! the retry rules.
//!
//! * 429 from the Management API: no retry. The instance's [`Gate`] closes until the reported
//!   reset, and no Management API request is sent before it (logins use their cache meanwhile):
//!   a retry would only spend a bucket the whole tenant shares. An answer reporting
//!   `x-ratelimit-remaining: 0` closes the gate too: the next request could only get a 429.
//! * 429 elsewhere: wait for `Retry-After` (seconds) or `x-ratelimit-reset` (UNIX seconds) when
//!   the wait fits the deadline, at most [`MAX_RATE_LIMIT_RETRIES`] times; otherwise `rate_limited`.
//! * 5xx and connection failures: one retry after a short random wait, unless the answer said
//!   the bucket is empty (`x-ratelimit-remaining: 0`).
//! * Everything else, timeouts included, is final: 401/403/404 cannot get better by repeating, and
//!   a request that timed out has already spent its share of the deadline.
//!
//! [`decide`] is the pure rule; [`send`] runs it against a [`Host`].

use std::cell::Cell;

use crate::error::{Code, Error, Result};
use crate::host::{FetchError, Host, HttpRequest, HttpResponse, ResponseHeaders};

/// Retries after a 429, at most.
pub const MAX_RATE_LIMIT_RETRIES: u32 = 2;
/// Retries after a 5xx or a connection failure, at most.
pub const MAX_SERVER_ERROR_RETRIES: u32 = 1;
/// A retry is only worth starting with at least this much of the deadline left after the wait.
const MIN_ATTEMPT_MS: f64 = 100.0;
/// Wait after a 429 that announces nothing.
pub const DEFAULT_RATE_LIMIT_WAIT_MS: f64 = 1_000.0;

/// A login's time for requests, one value for every client: each attempt at most `timeout_ms`
/// (`HTTP_TIMEOUT_MS`), all of them done by `deadline` (ms since the epoch: the login's start plus
/// `DEADLINE_MS`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// One attempt's timeout.
    pub timeout_ms: u32,
    /// The point in time at which the login must be done.
    pub deadline: f64,
}

impl Budget {
    /// Milliseconds left at `now`, never negative.
    pub fn remaining(self, now: f64) -> f64 {
        (self.deadline - now).max(0.0)
    }

    /// Whether, after waiting `wait` ms from `now`, an attempt is still worth starting.
    pub fn fits(self, now: f64, wait: f64) -> bool {
        now + wait + MIN_ATTEMPT_MS <= self.deadline
    }
}

/// Closed after a 429 until the rate limit's reset: while closed, requests through it fail at
/// once with `rate_limited` instead of being sent. One per instance, for the Management API.
#[derive(Debug, Default)]
pub struct Gate {
    until_ms: Cell<f64>,
}

impl Gate {
    /// When the gate opens again, if it is closed at `now`.
    pub fn closed_until(&self, now: f64) -> Option<f64> {
        let until = self.until_ms.get();
        (until > now).then_some(until)
    }

    /// Closes the gate until `until` (ms since the epoch), unless it already stays closed longer.
    pub fn close_until(&self, until: f64) {
        if until > self.until_ms.get() {
            self.until_ms.set(until);
        }
    }
}

/// Which call a failure belongs to; picks the error code for statuses and connection failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// `POST /oauth/token`.
    Token,
    /// The Management API.
    Management,
    /// Permit.io.
    Permit,
}

impl Stage {
    /// The error code for a failed answer or connection in this stage.
    pub fn code(self) -> Code {
        match self {
            Stage::Token => Code::TokenRequestFailed,
            Stage::Management => Code::ManagementApiError,
            Stage::Permit => Code::PermitSyncFailed,
        }
    }
}

/// Retries made so far for one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempts {
    /// After 429s.
    pub rate_limited: u32,
    /// After 5xx or connection failures.
    pub server_error: u32,
}

/// What to do with one outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Hand the answer to the caller (any status that is not retried).
    Done,
    /// Wait this long, then send again.
    RetryAfter(f64),
    /// Give up with this error.
    Fail(Error),
}

/// The retry rule. `gated`: the request goes through a [`Gate`], so a 429 is final. `jitter` is a
/// number in `[0, 1)`.
pub fn decide(
    outcome: &std::result::Result<HttpResponse, FetchError>,
    attempts: Attempts,
    now: f64,
    budget: Budget,
    stage: Stage,
    gated: bool,
    jitter: f64,
) -> Step {
    let fits = |wait: f64| budget.fits(now, wait);
    match outcome {
        Err(FetchError::Timeout) => Step::Fail(Error::new(
            Code::Timeout,
            "no answer within HTTP_TIMEOUT_MS (or the DEADLINE_MS budget ran out)",
        )),
        // Not retried, and not transient: the same request would be refused again, and no cached
        // value should stand in for what is a setting to fix.
        Err(FetchError::Refused(why)) => Step::Fail(Error::new(
            stage.code(),
            format!("the request was not sent: {why}"),
        )),
        Err(FetchError::Network(why)) => {
            let wait = server_error_wait(jitter);
            if attempts.server_error < MAX_SERVER_ERROR_RETRIES && fits(wait) {
                Step::RetryAfter(wait)
            } else {
                Step::Fail(
                    Error::new(stage.code(), format!("connection failed: {why}")).connection_failed(),
                )
            }
        }
        Ok(r) if r.status == 429 && gated => Step::Fail(
            Error::new(
                Code::RateLimited,
                "the tenant's Management API rate limit is reached; this instance sends no request before its reset",
            )
            .with_status(429),
        ),
        Ok(r) if r.status == 429 => {
            let wait = rate_limit_wait(&r.headers, now);
            if attempts.rate_limited >= MAX_RATE_LIMIT_RETRIES {
                Step::Fail(
                    Error::new(
                        Code::RateLimited,
                        format!("still rate limited after {MAX_RATE_LIMIT_RETRIES} retries"),
                    )
                    .with_status(429),
                )
            } else if !fits(wait) {
                Step::Fail(
                    Error::new(
                        Code::RateLimited,
                        format!(
                            "rate limited; the announced wait of {} ms does not fit DEADLINE_MS",
                            wait as u64
                        ),
                    )
                    .with_status(429),
                )
            } else {
                Step::RetryAfter(wait)
            }
        }
        Ok(r) if r.status >= 500 => {
            let wait = server_error_wait(jitter);
            let bucket_empty = r
                .headers
                .ratelimit_remaining
                .as_deref()
                .is_some_and(|v| v.trim() == "0");
            if attempts.server_error < MAX_SERVER_ERROR_RETRIES && fits(wait) && !bucket_empty {
                Step::RetryAfter(wait)
            } else {
                Step::Done
            }
        }
        Ok(_) => Step::Done,
    }
}

/// 100–300 ms: long enough for a restarted backend, short against the deadline.
fn server_error_wait(jitter: f64) -> f64 {
    100.0 + 200.0 * jitter.clamp(0.0, 1.0)
}

/// How long a 429 asks us to wait, in ms: `Retry-After` seconds, else `x-ratelimit-reset`, else 1 s.
pub fn rate_limit_wait(headers: &ResponseHeaders, now: f64) -> f64 {
    // Both are whole seconds on the wire (RFC 9110 delta-seconds; Auth0's UNIX-seconds reset).
    let seconds = |v: &Option<String>| v.as_deref().and_then(|s| s.trim().parse::<u32>().ok());
    if let Some(s) = seconds(&headers.retry_after) {
        return f64::from(s) * 1000.0;
    }
    if let Some(reset) = seconds(&headers.ratelimit_reset) {
        // The bucket refills at `reset`; a little after it the next request is safe.
        return (f64::from(reset) * 1000.0 - now).max(0.0) + 50.0;
    }
    DEFAULT_RATE_LIMIT_WAIT_MS
}

/// Sends `request` under the rules above. The answer is returned whatever its status (the caller
/// knows what a 401 or 404 means for it); errors are timeouts, rate limiting and connection
/// failures. Each attempt's timeout is the budget's `timeout_ms` or what is left of its
/// deadline, if less.
/// With a `gate`, nothing is sent while it is closed, and a 429 closes it until the reset.
pub async fn send<H: Host>(
    host: &H,
    mut request: HttpRequest,
    budget: Budget,
    stage: Stage,
    gate: Option<&Gate>,
) -> Result<HttpResponse> {
    let described = request.describe();
    let mut attempts = Attempts::default();
    loop {
        let now = host.now_ms();
        if let Some(until) = gate.and_then(|g| g.closed_until(now)) {
            return Err(Error::new(
                Code::RateLimited,
                format!(
                    "the tenant's Management API rate limit was reached; no request is sent for another {} s",
                    ((until - now) / 1000.0).ceil() as u64
                ),
            )
            .with_request(described));
        }
        let left = budget.remaining(now);
        if left < 1.0 {
            return Err(
                Error::new(Code::Timeout, "the DEADLINE_MS budget ran out").with_request(described)
            );
        }
        request.timeout_ms = f64::from(budget.timeout_ms).min(left).ceil() as u32;
        let outcome = host.fetch(request.clone()).await;
        let now = host.now_ms();
        if let (Some(gate), Ok(r)) = (gate, &outcome) {
            // A 429, or an answer that took the bucket's last token: nothing more can go through
            // before the reset, so nothing more is sent.
            let emptied = r
                .headers
                .ratelimit_remaining
                .as_deref()
                .is_some_and(|v| v.trim() == "0");
            if r.status == 429 || emptied {
                gate.close_until(now + rate_limit_wait(&r.headers, now));
            }
        }
        match decide(
            &outcome,
            attempts,
            now,
            budget,
            stage,
            gate.is_some(),
            host.random(),
        ) {
            Step::Done => {
                // `decide` only answers Done for an answer.
                return outcome
                    .map_err(|_| Error::new(Code::Internal, "retry rule accepted a failed fetch"));
            }
            Step::Fail(e) => return Err(e.with_request(described)),
            Step::RetryAfter(wait) => {
                match &outcome {
                    Ok(r) if r.status == 429 => attempts.rate_limited += 1,
                    _ => attempts.server_error += 1,
                }
                host.sleep(wait.ceil() as u32).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(
        status: u16,
        headers: ResponseHeaders,
    ) -> std::result::Result<HttpResponse, FetchError> {
        Ok(HttpResponse {
            status,
            headers,
            body: Default::default(),
        })
    }

    const NOW: f64 = 1_700_000_000_000.0;

    fn budget(ms: f64) -> Budget {
        Budget {
            timeout_ms: 3_000,
            deadline: NOW + ms,
        }
    }

    #[test]
    fn success_and_client_errors_are_final() {
        for status in [200, 201, 204, 400, 401, 403, 404, 409] {
            let step = decide(
                &answer(status, Default::default()),
                Attempts::default(),
                NOW,
                budget(10_000.0),
                Stage::Management,
                false,
                0.5,
            );
            assert_eq!(step, Step::Done, "{status}");
        }
    }

    #[test]
    fn rate_limit_waits_for_retry_after_or_reset_when_it_fits() {
        let retry_after = ResponseHeaders {
            retry_after: Some("2".into()),
            ratelimit_reset: Some(format!("{}", NOW as u64 / 1000 + 9)),
            ..Default::default()
        };
        assert_eq!(
            decide(
                &answer(429, retry_after),
                Attempts::default(),
                NOW,
                budget(10_000.0),
                Stage::Management,
                false,
                0.0
            ),
            Step::RetryAfter(2000.0)
        );
        let reset = ResponseHeaders {
            ratelimit_reset: Some(format!("{}", NOW as u64 / 1000 + 3)),
            ..Default::default()
        };
        assert_eq!(
            decide(
                &answer(429, reset.clone()),
                Attempts::default(),
                NOW,
                budget(10_000.0),
                Stage::Management,
                false,
                0.0
            ),
            Step::RetryAfter(3050.0)
        );
        match decide(
            &answer(429, reset),
            Attempts::default(),
            NOW,
            budget(2_000.0),
            Stage::Management,
            false,
            0.0,
        ) {
            Step::Fail(e) => {
                assert_eq!(e.code(), Code::RateLimited);
                assert_eq!(e.status(), Some(429));
                assert!(e.message().contains("does not fit DEADLINE_MS"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rate_limit_gives_up_after_two_retries() {
        let attempts = Attempts {
            rate_limited: 2,
            server_error: 0,
        };
        match decide(
            &answer(429, Default::default()),
            attempts,
            NOW,
            budget(60_000.0),
            Stage::Permit,
            false,
            0.0,
        ) {
            Step::Fail(e) => assert_eq!(e.code(), Code::RateLimited),
            other => panic!("{other:?}"),
        }
        let once = Attempts {
            rate_limited: 1,
            server_error: 0,
        };
        assert_eq!(
            decide(
                &answer(429, Default::default()),
                once,
                NOW,
                budget(60_000.0),
                Stage::Permit,
                false,
                0.0
            ),
            Step::RetryAfter(DEFAULT_RATE_LIMIT_WAIT_MS)
        );
    }

    #[test]
    fn a_request_the_runtime_refuses_fails_at_once_and_is_not_transient() {
        let refused = Err(FetchError::Refused("a header value is not valid".into()));
        match decide(
            &refused,
            Attempts::default(),
            NOW,
            budget(10_000.0),
            Stage::Permit,
            false,
            0.5,
        ) {
            Step::Fail(e) => {
                assert_eq!(e.code(), Code::PermitSyncFailed);
                assert!(e.message().contains("not sent: a header value"), "{e:?}");
                assert!(
                    !e.is_transient(),
                    "a stale set must not stand in for a setting to fix"
                );
            }
            step => panic!("expected a failure, got {step:?}"),
        }
    }

    #[test]
    fn server_errors_and_connection_failures_retry_once_with_jitter() {
        for outcome in [
            answer(503, Default::default()),
            Err(FetchError::Network("reset".into())),
        ] {
            assert_eq!(
                decide(
                    &outcome,
                    Attempts::default(),
                    NOW,
                    budget(10_000.0),
                    Stage::Token,
                    false,
                    0.5
                ),
                Step::RetryAfter(200.0)
            );
            let retried = Attempts {
                rate_limited: 0,
                server_error: 1,
            };
            let step = decide(
                &outcome,
                retried,
                NOW,
                budget(10_000.0),
                Stage::Token,
                false,
                0.5,
            );
            match (&outcome, step) {
                (Ok(_), Step::Done) => {}
                (Err(_), Step::Fail(e)) => assert_eq!(e.code(), Code::TokenRequestFailed),
                (_, other) => panic!("{other:?}"),
            }
        }
        // No retry when the jittered wait would not leave time for the attempt.
        assert_eq!(
            decide(
                &answer(500, Default::default()),
                Attempts::default(),
                NOW,
                budget(150.0),
                Stage::Token,
                false,
                0.0
            ),
            Step::Done
        );
    }

    #[test]
    fn a_gated_429_is_final_and_an_empty_bucket_stops_server_error_retries() {
        let reset = ResponseHeaders {
            ratelimit_reset: Some(format!("{}", NOW as u64 / 1000 + 3)),
            ..Default::default()
        };
        match decide(
            &answer(429, reset),
            Attempts::default(),
            NOW,
            budget(60_000.0),
            Stage::Management,
            true,
            0.0,
        ) {
            Step::Fail(e) => {
                assert_eq!(e.code(), Code::RateLimited);
                assert!(e.message().contains("sends no request before its reset"));
            }
            other => panic!("{other:?}"),
        }
        let empty = ResponseHeaders {
            ratelimit_remaining: Some("0".into()),
            ..Default::default()
        };
        assert_eq!(
            decide(
                &answer(503, empty),
                Attempts::default(),
                NOW,
                budget(60_000.0),
                Stage::Management,
                true,
                0.0
            ),
            Step::Done
        );
        let gate = Gate::default();
        assert_eq!(gate.closed_until(NOW), None);
        gate.close_until(NOW + 2_000.0);
        gate.close_until(NOW + 1_000.0);
        assert_eq!(gate.closed_until(NOW), Some(NOW + 2_000.0));
        assert_eq!(gate.closed_until(NOW + 2_000.0), None);
    }

    #[test]
    fn timeouts_are_final() {
        match decide(
            &Err(FetchError::Timeout),
            Attempts::default(),
            NOW,
            budget(10_000.0),
            Stage::Management,
            false,
            0.0,
        ) {
            Step::Fail(e) => assert_eq!(e.code(), Code::Timeout),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_rate_limit_headers_fall_back_to_one_second() {
        let junk = ResponseHeaders {
            retry_after: Some("Wed, 21 Oct 2015 07:28:00 GMT".into()),
            ratelimit_reset: Some("-5".into()),
            ratelimit_remaining: Some("x".into()),
        };
        assert_eq!(rate_limit_wait(&junk, NOW), DEFAULT_RATE_LIMIT_WAIT_MS);
        let past = ResponseHeaders {
            ratelimit_reset: Some(format!("{}", NOW as u64 / 1000 - 10)),
            ..Default::default()
        };
        assert_eq!(rate_limit_wait(&past, NOW), 50.0);
    }

    #[test]
    fn describe_drops_scheme_host_and_query() {
        let r = HttpRequest {
            method: crate::host::Method::Get,
            url: "https://t.auth0.com/api/v2/users/a%7Cb/permissions?per_page=50&page=0".into(),
            authorization: Some("Bearer secret".into()),
            json_body: None,
            timeout_ms: 1,
        };
        assert_eq!(r.describe(), "GET /api/v2/users/a%7Cb/permissions");
        assert!(!format!("{r:?}").contains("secret"));
        let at = |url: &str| {
            HttpRequest {
                url: url.into(),
                ..r.clone()
            }
            .describe()
        };
        assert_eq!(at("http://127.0.0.1:8080/v2/x?y=1"), "GET /v2/x");
        assert_eq!(at("https://t.auth0.com"), "GET /");
        assert_eq!(at("/relative/path?q"), "GET /relative/path");
        assert_eq!(at("x:y://h/p"), "GET /p");
        assert_eq!(at("/a:b?r=http://h/p"), "GET /p");
    }
}
