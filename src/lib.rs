//! # auth0-rbac-claims
//!
//! An Auth0 post-login Action, written in Rust and compiled to WebAssembly, that puts a user's
//! roles and permissions into the ID and access tokens as namespaced custom claims — and the same
//! claim layout, reused by backends that check those claims.
//!
//! The crate is a pure core, free of JavaScript types and tested on the host, plus one edge
//! module (feature `action`, wasm32 only) that binds it to the Action's `event`/`api`, `fetch` and
//! timers:
//!
//! | module | what it holds |
//! |---|---|
//! | [`settings`] | settings: their sources and precedence, the URL grammar, Permit's, the table of keys, validation |
//! | [`event`] | the part of the post-login `event` the Action reads |
//! | [`claims`] | the tokens, the claim layout (names), the claim plan and its size check |
//! | [`permissions`] | permission sets: de-duplicated, sorted, filtered per token (`ID_TOKEN_APIS`) |
//! | [`host`] | the traits the core talks through: [`host::Host`] and [`host::ActionApi`] |
//! | [`json`] | flat JSON objects: settings and small answers read as strings, request bodies written |
//! | [`retry`] | timeouts, deadline and retry rules for every request |
//! | [`mgmt`] | the Management API client: cached token, every page of permissions, role lookups |
//! | [`cache`] | the permissions cache: context, stored form and its MAC, freshness, instance memory |
//! | [`source`] | a login's permissions through the cache: the user's or its roles', stale on failure |
//! | [`permit`] | keeping Permit.io users and role assignments in step with Auth0 roles |
//! | [`login`] | one post-login execution, start to finish |
//! | [`error`] | the error type, its stable codes, and the error policies |
//!
//! No module imports one that imports it back (`tests/module_graph.rs` checks it).
//!
//! A Rust backend that only reads claims depends on the crate with `default-features = false`.

#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

#[cfg(test)]
mod agreement;
pub mod cache;
pub mod claims;
pub mod error;
pub mod event;
pub mod host;
pub mod json;
pub mod login;
pub mod mgmt;
pub mod permissions;
pub mod permit;
pub mod retry;
pub mod settings;
pub mod source;

#[cfg(all(feature = "action", target_arch = "wasm32"))]
pub mod edge;

/// The Action's allocator on wasm32: talc, in its configuration for single-threaded WebAssembly
/// (heap grown with `memory.grow`, no grow-in-place). About 4 KB less WebAssembly than std's
/// dlmalloc (2 KB of `dist/action.js`) at the same CPU per login, 1000 permissions included;
/// chosen over lol_alloc's smaller free list for its binning, so no allocation pattern makes it
/// walk a long list. Only the Action's module sets it: a crate that depends on this one keeps its own.
#[cfg(all(feature = "action", target_arch = "wasm32"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

pub use claims::ClaimLayout;
pub use error::{Code, Error, Result};

/// `items` joined with `sep`: `[String]::join`, which std writes for any separator and item
/// type at 1.3 KB of WebAssembly, for the few lists the Action writes into messages and bodies.
pub(crate) fn join<S: AsRef<str>>(items: &[S], sep: &str) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(item.as_ref());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn join_puts_the_separator_between_items_only() {
        assert_eq!(super::join::<&str>(&[], ", "), "");
        assert_eq!(super::join(&["a"], ", "), "a");
        assert_eq!(
            super::join(&["a".to_string(), "b".into(), "c".into()], "\n"),
            "a\nb\nc"
        );
    }
}
