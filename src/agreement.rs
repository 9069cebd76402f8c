//! The rules written on both sides, Rust and JavaScript, checked against one table
//! (`e2e/agreement.json`; `e2e/agreement.test.js` checks the shim, the sandbox and the npm package
//! against the same table): the log prefix and the deny text of an internal failure, the hosts
//! Auth0 reserves, the claim byte count, and the grants checks of the backend helpers.

use serde_json::Value;

use crate::claims::{ClaimKind, ClaimPlan, Grants, TokenKind};
use crate::error::{deny_reason, Code, LOG_PREFIX};
use crate::settings::origin::{Namespace, RESERVED_HOSTS, RESERVED_URN_PREFIX};

fn table() -> Value {
    serde_json::from_str(include_str!("../e2e/agreement.json")).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_log_prefix_deny_text_and_reserved_hosts_are_the_table_s() {
    let t = table();
    assert_eq!(t["log_prefix"], LOG_PREFIX);
    assert_eq!(t["internal_deny"], deny_reason(Code::Internal));
    assert_eq!(strings(&t["reserved_hosts"]), RESERVED_HOSTS);
    assert_eq!(t["reserved_urn_prefix"], RESERVED_URN_PREFIX);
    // A prefix, not an identifier: what starts with it is refused.
    assert!(Namespace::parse(&format!("{RESERVED_URN_PREFIX}x:claims")).is_err());
}

#[test]
fn claims_are_counted_as_the_table_counts_them() {
    for case in table()["claim_bytes"].as_array().unwrap() {
        let mut plan = ClaimPlan::new();
        for (name, values) in case["claims"].as_object().unwrap() {
            plan.push(TokenKind::Id, ClaimKind::Roles, name, strings(values));
        }
        assert_eq!(
            plan.bytes(TokenKind::Id) as u64,
            case["bytes"].as_u64().unwrap(),
            "{case}"
        );
    }
}

#[test]
fn grants_answer_as_the_table_does() {
    for case in table()["grants"].as_array().unwrap() {
        let grants = Grants::new(strings(&case["roles"]), strings(&case["permissions"]));
        for (permission, held) in case["has_permission"].as_object().unwrap() {
            assert_eq!(grants.has_permission(permission), held.as_bool().unwrap());
        }
        for (role, held) in case["has_role"].as_object().unwrap() {
            assert_eq!(grants.has_role(role), held.as_bool().unwrap());
        }
        for check in ["has_all", "has_any", "missing"] {
            for pair in case[check].as_array().unwrap() {
                let asked = strings(&pair[0]);
                let asked = asked.iter().map(String::as_str);
                let answer = match check {
                    "has_all" => Value::from(grants.has_all(asked)),
                    "has_any" => Value::from(grants.has_any(asked)),
                    _ => Value::from(grants.missing(asked)),
                };
                assert_eq!(answer, pair[1], "{check} {}", pair[0]);
            }
        }
    }
}
