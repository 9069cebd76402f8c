//! A Rust backend checking the claims the Action wrote: verify the access token with
//! `jsonwebtoken` against the tenant's JWKS (signature, issuer, audience, expiry), then read it
//! with the same [`ClaimLayout`] the Action writes with.
//!
//! ```text
//! cargo run --example rust_backend -- <jwks.json> <issuer> <audience> <namespace> <token> <permission>...
//! ```
//!
//! Prints `{"roles":[…],"permissions":[…],"missing":[…]}` and exits 0 when every permission is
//! held, 3 when one is missing (your API answers 403), 2 when the token is not valid (401).
//! `./build.sh test` runs it against a dev token minted by the mock tenant.
// Test code: a panic here is a failed test, not a failed login.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    std::process::exit(native::run(std::env::args().skip(1).collect()));
}

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use auth0_rbac_claims::ClaimLayout;
    use jsonwebtoken::jwk::JwkSet;
    use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};

    pub fn run(args: Vec<String>) -> i32 {
        let [jwks, issuer, audience, namespace, token, required @ ..] = args.as_slice() else {
            eprintln!("usage: rust_backend <jwks.json> <issuer> <audience> <namespace> <token> <permission>...");
            return 64;
        };
        let payload = match verify(jwks, issuer, audience, token) {
            Ok(payload) => payload,
            Err(why) => {
                eprintln!("401: {why}");
                return 2;
            }
        };
        let layout = match ClaimLayout::parse(namespace) {
            Ok(layout) => layout,
            Err(e) => {
                eprintln!("{e}");
                return 64;
            }
        };
        let grants = layout.read(&payload);
        let missing = grants.missing(required.iter().map(String::as_str));
        println!(
            "{}",
            serde_json::json!({ "roles": grants.roles(), "permissions": grants.permissions(), "missing": missing })
        );
        if missing.is_empty() {
            0
        } else {
            3
        }
    }

    /// The verified payload, or why the token is refused.
    fn verify(
        jwks_file: &str,
        issuer: &str,
        audience: &str,
        token: &str,
    ) -> Result<serde_json::Value, String> {
        let text =
            std::fs::read_to_string(jwks_file).map_err(|e| format!("reading {jwks_file}: {e}"))?;
        let jwks: JwkSet = serde_json::from_str(&text).map_err(|e| format!("JWKS: {e}"))?;
        let header = decode_header(token).map_err(|e| format!("token header: {e}"))?;
        let kid = header.kid.ok_or("the token has no kid")?;
        let jwk = jwks.find(&kid).ok_or("no key with the token's kid")?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("key: {e}"))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.leeway = 5;
        decode::<serde_json::Value>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| format!("token: {e}"))
    }
}
