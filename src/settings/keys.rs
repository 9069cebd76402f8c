//! Every setting key in one table: its name, aliases, whether it is a credential, its default and
//! one line of documentation. Tests check the code, the README's settings tables and the npm
//! package's `index.d.ts` against it, so a key added in one place and forgotten in another fails
//! the build.

/// One setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The key, as set in Auth0 (secret or configuration) or passed in code.
    pub name: &'static str,
    /// Other accepted names (the npm form's camelCase), lower precedence than `name`.
    pub aliases: &'static [&'static str],
    /// Read only from secrets or code options, never from `event.configuration`.
    pub credential: bool,
    /// The default, in words.
    pub default: &'static str,
    /// What it does.
    pub doc: &'static str,
}

const fn key(name: &'static str, default: &'static str, doc: &'static str) -> Key {
    Key {
        name,
        aliases: &[],
        credential: false,
        default,
        doc,
    }
}

/// Every key the Action reads, in the README's order.
pub const KEYS: &[Key] = &[
    key(
        "CLAIM_NAMESPACE",
        "required",
        "the claims' namespace: an http(s) URL or URN you own",
    ),
    Key {
        aliases: &["domain"],
        ..key(
            "AUTH0_DOMAIN",
            "required if permissions are on",
            "the canonical tenant domain",
        )
    },
    Key {
        aliases: &["clientId"],
        credential: true,
        ..key(
            "AUTH0_CLIENT_ID",
            "required if permissions are on",
            "the M2M application's client id",
        )
    },
    Key {
        aliases: &["clientSecret"],
        credential: true,
        ..key(
            "AUTH0_CLIENT_SECRET",
            "required if permissions are on",
            "the M2M application's client secret",
        )
    },
    key(
        "ROLES_IN",
        "id_token,access_token",
        "the tokens that get the roles claim",
    ),
    key(
        "PERMISSIONS_IN",
        "id_token,access_token",
        "the tokens that get the permissions claim; none turns the Management API off",
    ),
    key(
        "ID_TOKEN_APIS",
        "requested API, else all",
        "the APIs whose permissions go into the ID token",
    ),
    key(
        "ON_ERROR",
        "deny",
        "what a failure does to the login: deny or continue",
    ),
    key("HTTP_TIMEOUT_MS", "3000", "per outbound request"),
    key("DEADLINE_MS", "10000", "for the whole Action"),
    key("MAX_CLAIMS_BYTES", "100000", "per token"),
    key(
        "PERMISSIONS_SOURCE",
        "user",
        "user's permissions endpoint, or the login's role definitions",
    ),
    key(
        "PERMISSIONS_ENDPOINT",
        "permissions",
        "the user's permissions endpoint, or the effective-permissions endpoint (group roles)",
    ),
    key("PERMISSIONS_TTL", "300", "seconds a computed set is reused"),
    key(
        "PERMISSIONS_STALE_MAX",
        "86400",
        "seconds a cached set may stand in when a refresh fails",
    ),
    key(
        "PERMIT_SYNC",
        "reconcile when a key is set, else off",
        "how logins keep Permit.io in step",
    ),
    Key {
        credential: true,
        ..key(
            "PERMIT_API_KEY",
            "none",
            "a Permit environment-level API key",
        )
    },
    key(
        "PERMIT_API_URL",
        "https://api.permit.io",
        "Permit's API (a PDP or a local mock)",
    ),
    key(
        "PERMIT_PROJECT",
        "resolved from the key",
        "Permit project id or key",
    ),
    key(
        "PERMIT_ENVIRONMENT",
        "resolved from the key",
        "Permit environment id or key",
    ),
    key(
        "PERMIT_TENANT",
        "default",
        "Permit tenant of the role assignments",
    ),
    key(
        "PERMIT_ROLE_MAP",
        "none",
        "Auth0 role names to Permit role keys, as JSON",
    ),
    key(
        "PERMIT_ON_ERROR",
        "continue",
        "what a failed Permit sync does to the login",
    ),
];

/// The key named `name` (not an alias), if the Action reads it.
pub fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `UPPER_CASE` names in backticks in the first cell of every table row of `text`.
    fn table_keys(text: &str) -> Vec<String> {
        let mut found = Vec::new();
        for line in text.lines().filter(|l| l.starts_with("| `")) {
            let cell = line.split('|').nth(1).unwrap_or_default();
            for part in cell.split('`').skip(1).step_by(2) {
                if part.starts_with(|c: char| c.is_ascii_uppercase())
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                {
                    found.push(part.to_string());
                }
            }
        }
        found
    }

    /// String literals in `source` that look like setting keys (`"UPPER_CASE"`, an underscore in
    /// them), outside its tests.
    fn literal_keys(source: &str) -> Vec<String> {
        let code = source.split("#[cfg(test)]").next().unwrap_or_default();
        code.split('"')
            .skip(1)
            .step_by(2)
            .filter(|s| {
                s.len() > 3
                    && s.contains('_')
                    && s.starts_with(|c: char| c.is_ascii_uppercase())
                    && s.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            })
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn every_key_the_code_reads_is_in_the_table() {
        for (file, source) in [
            ("settings/mod.rs", include_str!("mod.rs")),
            ("settings/permit.rs", include_str!("permit.rs")),
        ] {
            for name in literal_keys(source) {
                assert!(
                    find(&name).is_some(),
                    "{file} reads {name}, which KEYS lacks"
                );
            }
        }
        // And the table lists nothing the code does not read.
        let code = [include_str!("mod.rs"), include_str!("permit.rs")].concat();
        for k in KEYS {
            assert!(
                code.contains(&format!("\"{}\"", k.name)),
                "{} is never read",
                k.name
            );
            for alias in k.aliases {
                assert!(
                    code.contains(&format!("\"{alias}\"")),
                    "alias {alias} is never read"
                );
            }
        }
    }

    /// The part of `text` from the heading `heading` to the next heading of its level.
    fn section<'a>(text: &'a str, heading: &str) -> &'a str {
        let start = text.find(heading).unwrap();
        let rest = &text[start + heading.len()..];
        &rest[..rest.find("\n## ").unwrap_or(rest.len())]
    }

    #[test]
    fn the_readme_settings_tables_list_exactly_the_keys() {
        let readme = include_str!("../../README.md");
        let mut listed = table_keys(section(readme, "\n## Settings\n"));
        listed.extend(table_keys(section(
            readme,
            "\n## Keeping Permit.io in step\n",
        )));
        listed.sort();
        let mut keys: Vec<String> = KEYS.iter().map(|k| k.name.to_string()).collect();
        keys.sort();
        assert_eq!(listed, keys, "the README's settings tables and KEYS differ");
        for k in KEYS {
            for alias in k.aliases {
                assert!(
                    readme.contains(&format!("`{alias}`")),
                    "the README lacks alias {alias}"
                );
            }
        }
    }

    #[test]
    fn the_npm_settings_type_has_every_key() {
        let types = include_str!("../../js-shim/npm/index.d.ts");
        let start = types.find("export interface Settings {").unwrap();
        let body = &types[start..start + types[start..].find('}').unwrap()];
        for k in KEYS {
            assert!(
                body.contains(&format!("  {}?:", k.name)),
                "index.d.ts Settings lacks {}",
                k.name
            );
        }
    }
}
