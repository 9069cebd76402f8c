//! The permissions cache: what a computed permission set is tied to, how it is stored in the
//! user's `app_metadata`, how long it is reused, and the per-instance memory in front of it.
//!
//! A set is reused only for the user and the login context that shaped it ([`Context`]: tenant,
//! M2M client, user, Organization, source and the sorted role names), so a change of roles is
//! never served from cache. The stored form is authenticated with a MAC under a key derived from
//! the Action's client secret: a value written by anyone else (an administrator, another
//! application allowed to update `app_metadata`, another Action) fails the check and is ignored,
//! never trusted. Pure logic; the MAC itself comes from [`Host::mac`](crate::host::Host::mac).

use std::cell::RefCell;
use std::hash::Hasher;
use std::rc::Rc;

use crate::permissions::{Permission, PermissionSet};
use crate::settings::{Freshness, ManagementSettings};

/// Version tag of the stored form; a value with another tag is ignored.
pub const FORMAT: &str = "p1";
/// The MAC key's purpose, fed to the key derivation with the client secret.
pub const MAC_PURPOSE: &str = "permissions-cache";
/// Largest stored value in bytes. Auth0 keeps user profiles small (10 KB is its stated limit)
/// and writes at most 32 kB of `app_metadata` per session; a larger set stays in memory only.
pub const STORED_LIMIT: usize = 5_000;
/// Users kept in one instance's memory at most; beyond it the oldest entries are dropped.
pub const MEMORY_USERS: usize = 10_000;
/// A stored time this far ahead of the clock is refused (clock skew between instances is less).
const FUTURE_SKEW_S: u64 = 300;

/// Writes `value` with `%`, `;`, `=` and `,` as `%25`, `%3B`, `%3D` and `%2C`, so that the
/// payload's separators are free. Everything else is kept: the value is stored as a JSON string.
fn escape(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '%' => out.push_str("%25"),
            ';' => out.push_str("%3B"),
            '=' => out.push_str("%3D"),
            ',' => out.push_str("%2C"),
            c => out.push(c),
        }
    }
}

/// Reads what [`escape`] wrote; `None` for any other `%` sequence.
fn unescape(value: &str) -> Option<String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('%') {
        out.push_str(rest.get(..at)?);
        out.push(match rest.get(at + 1..at + 3)? {
            "25" => '%',
            "3B" => ';',
            "3D" => '=',
            "2C" => ',',
            _ => return None,
        });
        rest = rest.get(at + 3..)?;
    }
    out.push_str(rest);
    Some(out)
}

/// Whose a computed set is and what shaped it. Two logins of one user with the same context get
/// the same permissions from the same source, so a set computed for one may serve the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context(String);

impl Context {
    /// The context of a login: tenant and M2M client, the user, the Organization, the source,
    /// the roles (sorted and distinct, as [`Event::roles`](crate::event::Event::roles) gives
    /// them). `source` names where the set comes from (`user`, `roles`, or the
    /// effective-permissions endpoint with its APIs). The user is in it so that a stored set
    /// copied into another user's `app_metadata` (by an administrator, an import, a merge of
    /// linked accounts) fails the check there, even when the two hold the same roles.
    pub fn new(
        management: &ManagementSettings,
        user_id: &str,
        organization: Option<&str>,
        source: &str,
        roles: &[String],
    ) -> Context {
        // Newline-separated: the free-form parts (the user id, role names) are escaped, so none
        // can hold a newline that changes the split.
        let mut text = format!(
            "{}\n{}\n{}\n{}\n{}",
            management.origin.as_str(),
            management.client_id,
            escaped(user_id),
            organization.unwrap_or(""),
            source
        );
        for role in roles {
            text.push('\n');
            text.push_str(&escaped(role));
        }
        Context(text)
    }

    /// The context as text (fed to the MAC; never stored).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A 64-bit digest, for memory lookups.
    pub fn digest(&self) -> u64 {
        fnv(self.0.as_bytes())
    }
}

/// `text` with its backslashes and newlines escaped, for one line of a [`Context`].
fn escaped(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h = fnv::FnvHasher::default();
    h.write(bytes);
    h.finish()
}

/// The lifetime of a fresh value for `subject` (a user id or a role name): `ttl_s` shortened by
/// up to a fifth, by a fraction fixed per subject, so values computed together do not all
/// expire together, and every instance agrees on when one expires.
pub fn jittered_ttl_ms(ttl_s: u32, subject: &str) -> f64 {
    let fraction = (fnv(subject.as_bytes()) % 1000) as f64 / 1000.0;
    f64::from(ttl_s) * 1000.0 * (1.0 - fraction / 5.0)
}

/// How a cached value may be used at a given age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Age {
    /// Younger than the (jittered) TTL: used without a request.
    Fresh,
    /// Older, but within `PERMISSIONS_STALE_MAX`: used only when a refresh fails.
    Stale,
    /// Too old to use at all.
    Expired,
}

/// Classifies a value computed at `computed_ms` for `subject`.
pub fn age(freshness: Freshness, subject: &str, computed_ms: f64, now_ms: f64) -> Age {
    let age = now_ms - computed_ms;
    if freshness.ttl_s == 0 {
        Age::Expired
    } else if age < jittered_ttl_ms(freshness.ttl_s, subject) {
        Age::Fresh
    } else if age <= f64::from(freshness.stale_max_s) * 1000.0 {
        Age::Stale
    } else {
        Age::Expired
    }
}

/// The stored form: `p1.<computed, UNIX seconds>.<mac>.<payload>`, where the payload lists each
/// API followed by `=` and its comma-separated names, APIs separated by `;` (those characters and
/// `%` escaped in the values as `%XX`).
/// The MAC covers everything before it, the payload and the [`Context`].
///
/// `mac` is [`Host::mac`](crate::host::Host::mac) bound to the client secret and [`MAC_PURPOSE`];
/// without a MAC there is nothing to store (`None`).
pub fn encode(
    set: &PermissionSet,
    computed_s: u64,
    context: &Context,
    mac: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let mut payload = String::new();
    let mut api: Option<&str> = None;
    for p in set.iter() {
        if api == Some(p.api.as_str()) {
            payload.push(',');
        } else {
            if api.is_some() {
                payload.push(';');
            }
            escape(&p.api, &mut payload);
            payload.push('=');
            api = Some(&p.api);
        }
        escape(&p.name, &mut payload);
    }
    let head = format!("{FORMAT}.{computed_s}.");
    let tag = mac(&signed_text(&head, &payload, context)).filter(|t| !t.is_empty())?;
    Some(format!("{head}{tag}.{payload}"))
}

fn signed_text(head: &str, payload: &str, context: &Context) -> String {
    format!("{head}{payload}\n{}", context.as_str())
}

/// Reads a stored value back: `Some((computed, UNIX seconds; the set))` only when the format is
/// this one, the MAC verifies for `context`, the time is not in the future and every part
/// decodes. Anything else (another format, another tenant, other roles, an edit, a forgery,
/// garbage) is `None`: ignored, never trusted, never a trap.
pub fn decode(
    value: &str,
    context: &Context,
    now_s: u64,
    mac: impl Fn(&str) -> Option<String>,
) -> Option<(u64, PermissionSet)> {
    if value.len() > STORED_LIMIT {
        return None;
    }
    let mut parts = value.splitn(4, '.');
    let (format, computed, tag, payload) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if format != FORMAT || computed.is_empty() || !computed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let computed_s: u64 = computed.parse().ok()?;
    if computed_s > now_s + FUTURE_SKEW_S {
        return None;
    }
    let head = format!("{FORMAT}.{computed}.");
    let expected = mac(&signed_text(&head, payload, context))?;
    if tag.is_empty() || !constant_time_eq(expected.as_bytes(), tag.as_bytes()) {
        return None;
    }
    let mut permissions = Vec::new();
    if !payload.is_empty() {
        for group in payload.split(';') {
            let (api, names) = group.split_once('=')?;
            let api = unescape(api)?;
            for name in names.split(',') {
                permissions.push(Permission::new(api.as_str(), unescape(name)?));
            }
        }
    }
    Some((computed_s, permissions.into_iter().collect()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One user's set in memory.
#[derive(Debug, Clone)]
pub struct Remembered {
    /// [`Context::digest`] of what shaped it.
    pub context: u64,
    /// When it was computed, ms since the epoch.
    pub computed_ms: f64,
    /// The set.
    pub set: Rc<PermissionSet>,
}

/// Per-instance memory of users' sets, in front of `app_metadata`: sorted by a hash of the user
/// id, at most [`MEMORY_USERS`] entries.
#[derive(Debug, Default)]
pub struct UserMemory(RefCell<Vec<(u64, String, Remembered)>>);

impl UserMemory {
    /// The set remembered for `user` in `context`, if any.
    pub fn get(&self, user: &str, context: u64) -> Option<Remembered> {
        let entries = self.0.borrow();
        let key = fnv(user.as_bytes());
        let start = entries.partition_point(|(k, _, _)| *k < key);
        entries
            .get(start..)?
            .iter()
            .take_while(|(k, _, _)| *k == key)
            .find(|(_, u, r)| u == user && r.context == context)
            .map(|(_, _, r)| r.clone())
    }

    /// Remembers `set` for `user`, replacing what was there for that user.
    pub fn put(&self, user: &str, remembered: Remembered) {
        let mut entries = self.0.borrow_mut();
        let key = fnv(user.as_bytes());
        entries.retain(|(k, u, _)| !(*k == key && u == user));
        if entries.len() >= MEMORY_USERS {
            // Full: drop the older half of the time span in one go (everything, if all entries
            // are equally old), rather than one entry per insert.
            let (oldest, newest) = entries.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), e| {
                (lo.min(e.2.computed_ms), hi.max(e.2.computed_ms))
            });
            let cut = oldest + (newest - oldest) / 2.0;
            entries.retain(|(_, _, r)| r.computed_ms > cut);
        }
        let at = entries.partition_point(|(k, _, _)| *k < key);
        entries.insert(at, (key, user.to_owned(), remembered));
    }

    /// How many users are remembered.
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }

    /// Whether no user is remembered.
    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }
}

/// One role's definition in memory (`PERMISSIONS_SOURCE=roles`).
#[derive(Debug, Clone)]
pub struct RoleDefinition {
    /// The role id (`rol_…`) its permissions were read from.
    pub id: Rc<str>,
    /// When its permissions were read, ms since the epoch.
    pub read_ms: f64,
    /// Its permissions.
    pub permissions: Rc<PermissionSet>,
}

/// Per-instance memory of role definitions and role ids, keyed by tenant, client and role name.
#[derive(Debug, Default)]
pub struct RoleMemory {
    definitions: RefCell<Vec<(String, RoleDefinition)>>,
    /// Role ids by key, each with when the listing that gave it was read (ms since the epoch).
    ids: RefCell<Vec<(String, Rc<str>, f64)>>,
}

impl RoleMemory {
    /// The definition remembered under `key`.
    pub fn get(&self, key: &str) -> Option<RoleDefinition> {
        self.definitions
            .borrow()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, d)| d.clone())
    }

    /// Remembers a definition under `key`.
    pub fn put(&self, key: &str, definition: RoleDefinition) {
        let mut entries = self.definitions.borrow_mut();
        match entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = definition,
            None => entries.push((key.to_owned(), definition)),
        }
    }

    /// The role id remembered under `key`, and when it was listed. A role keeps its id, but a
    /// name may pass to another role (renamed, and another created under the old name), so the
    /// caller trusts an id only as long as a cached set.
    pub fn id(&self, key: &str) -> Option<(Rc<str>, f64)> {
        self.ids
            .borrow()
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, id, listed_ms)| (id.clone(), *listed_ms))
    }

    /// Remembers the ids of a tenant's roles as listed at `listed_ms`, replacing those known
    /// under the same keys.
    pub fn put_ids(&self, ids: impl IntoIterator<Item = (String, Rc<str>)>, listed_ms: f64) {
        let mut known = self.ids.borrow_mut();
        for (key, id) in ids {
            known.retain(|(k, _, _)| *k != key);
            known.push((key, id, listed_ms));
        }
    }
}

/// The memory key of a role: tenant, M2M client and name.
pub fn role_key(management: &ManagementSettings, name: &str) -> String {
    format!(
        "{}\n{}\n{}",
        management.origin.as_str(),
        management.client_id,
        name
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::PermissionsSource;
    use crate::settings::{Secret, TenantOrigin};

    fn management(domain: &str, client: &str) -> ManagementSettings {
        ManagementSettings {
            origin: TenantOrigin::parse(domain).unwrap(),
            client_id: client.into(),
            client_secret: Secret::new("s"),
        }
    }

    fn context(roles: &[&str]) -> Context {
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        Context::new(
            &management("t.auth0.com", "cid"),
            "auth0|1",
            None,
            PermissionsSource::User.as_str(),
            &roles,
        )
    }

    // A keyed stand-in for HMAC: enough to tell keys and texts apart in these tests (the real
    // MAC is Node's HMAC-SHA256, tested against dist/ in Node).
    fn mac_with(key: &'static str) -> impl Fn(&str) -> Option<String> {
        move |text| Some(format!("{:016x}", fnv(format!("{key}|{text}").as_bytes())))
    }

    fn set(items: &[(&str, &str)]) -> PermissionSet {
        items.iter().map(|(a, n)| Permission::new(*a, *n)).collect()
    }

    #[test]
    fn a_stored_set_reads_back_exactly_for_the_same_context() {
        let s = set(&[
            ("https://a.example.com", "read:x"),
            ("https://a.example.com", "write:x"),
            ("urn:b api;=,%", "odd name,=;"),
            ("https://c", "ünïcode"),
        ]);
        let ctx = context(&["admin", "viewer"]);
        let stored = encode(&s, 1_700_000_000, &ctx, mac_with("k")).unwrap();
        assert!(stored.starts_with("p1.1700000000."), "{stored}");
        assert!(
            stored.contains("https://a.example.com=read:x,write:x"),
            "{stored}"
        );
        let (computed, back) = decode(&stored, &ctx, 1_700_000_100, mac_with("k")).unwrap();
        assert_eq!(computed, 1_700_000_000);
        assert_eq!(back, s);
        let empty = encode(&PermissionSet::new(), 5, &ctx, mac_with("k")).unwrap();
        assert_eq!(
            decode(&empty, &ctx, 10, mac_with("k")).unwrap().1,
            PermissionSet::new()
        );
    }

    #[test]
    fn another_context_key_or_edit_is_ignored() {
        let s = set(&[("https://a", "read")]);
        let ctx = context(&["admin"]);
        let stored = encode(&s, 100, &ctx, mac_with("k")).unwrap();
        // Other roles, another tenant, another client, another user, an Organization, the
        // other source; each differs from `ctx` in one part.
        let admin = |domain, client, user, organization, source: PermissionsSource| {
            Context::new(
                &management(domain, client),
                user,
                organization,
                source.as_str(),
                &["admin".into()],
            )
        };
        let user = PermissionsSource::User;
        let others = [
            // Another user with the same roles: a value copied into their app_metadata.
            admin("t.auth0.com", "cid", "auth0|2", None, user),
            // A user id with a newline cannot pass for another split of the lines.
            admin("t.auth0.com", "cid", "auth0|1\nt", None, user),
            context(&["admin", "viewer"]),
            context(&[]),
            admin("u.auth0.com", "cid", "auth0|1", None, user),
            admin("t.auth0.com", "other", "auth0|1", None, user),
            admin("t.auth0.com", "cid", "auth0|1", Some("org_1"), user),
            admin(
                "t.auth0.com",
                "cid",
                "auth0|1",
                None,
                PermissionsSource::Roles,
            ),
        ];
        for other in &others {
            assert!(
                decode(&stored, other, 200, mac_with("k")).is_none(),
                "{other:?}"
            );
        }
        // Another key (another client secret): a value written by anyone else.
        assert!(decode(&stored, &ctx, 200, mac_with("other-secret")).is_none());
        // Any edit: a granted permission, a changed time, a truncation.
        let granted = stored.replace("read", "read,admin:everything");
        let older = stored.replacen("p1.100.", "p1.1.", 1);
        for edited in [granted, older, stored[..stored.len() - 1].to_string()] {
            assert!(
                decode(&edited, &ctx, 200, mac_with("k")).is_none(),
                "{edited}"
            );
        }
        assert!(decode(&stored, &ctx, 200, mac_with("k")).is_some());
    }

    #[test]
    fn garbage_old_formats_future_times_and_oversized_values_are_ignored() {
        let ctx = context(&["a"]);
        let mac = mac_with("k");
        let future = encode(&set(&[("x", "y")]), 10_000, &ctx, &mac).unwrap();
        let oversized = format!(
            "p1.1.{}.{}",
            mac("p1.1.").unwrap(),
            "a".repeat(STORED_LIMIT)
        );
        for value in [
            "",
            ".",
            "p1",
            "p1...",
            "p0.1.abc.x=y",
            "p1.-1.abc.x=y",
            "p1.1e3.abc.x=y",
            "p1.99999999999999999999999.abc.x=y",
            "{\"permissions\":[\"admin\"]}",
            &future,
            &oversized,
        ] {
            assert!(decode(value, &ctx, 1_000, &mac).is_none(), "{value}");
        }
        // A correctly signed payload that does not decode is ignored too.
        let head = "p1.1.";
        let bad = format!(
            "{head}{}.%FF=a",
            mac(&signed_text(head, "%FF=a", &ctx)).unwrap()
        );
        assert!(decode(&bad, &ctx, 1_000, &mac).is_none());
        let no_names = format!(
            "{head}{}.api",
            mac(&signed_text(head, "api", &ctx)).unwrap()
        );
        assert!(decode(&no_names, &ctx, 1_000, &mac).is_none());
        // Without a MAC (the runtime failed to compute one) nothing is stored or trusted, and an
        // empty tag never matches.
        let no_mac = |_: &str| None;
        assert!(encode(&set(&[("x", "y")]), 1, &ctx, no_mac).is_none());
        assert!(decode("p1.1..x=y", &ctx, 1_000, no_mac).is_none());
        assert!(decode("p1.1..x=y", &ctx, 1_000, |_: &str| Some(String::new())).is_none());
    }

    #[test]
    fn freshness_follows_ttl_with_jitter_then_stale_max() {
        let f = Freshness {
            ttl_s: 300,
            stale_max_s: 3600,
        };
        let ttl = jittered_ttl_ms(300, "auth0|1");
        assert!((240_000.0..=300_000.0).contains(&ttl), "{ttl}");
        assert_eq!(age(f, "auth0|1", 0.0, ttl - 1.0), Age::Fresh);
        assert_eq!(age(f, "auth0|1", 0.0, ttl), Age::Stale);
        assert_eq!(age(f, "auth0|1", 0.0, 3_600_000.0), Age::Stale);
        assert_eq!(age(f, "auth0|1", 0.0, 3_600_001.0), Age::Expired);
        let off = Freshness {
            ttl_s: 0,
            stale_max_s: 3600,
        };
        assert_eq!(age(off, "auth0|1", 0.0, 0.0), Age::Expired);
        // Users cached together expire spread over the last fifth of the TTL.
        let ttls: Vec<f64> = (0..200)
            .map(|i| jittered_ttl_ms(300, &format!("auth0|{i}")))
            .collect();
        let min = ttls.iter().copied().fold(f64::INFINITY, f64::min);
        let max = ttls.iter().copied().fold(0.0, f64::max);
        assert!(min < 250_000.0 && max > 290_000.0, "{min} {max}");
    }

    #[test]
    fn memory_keeps_one_entry_per_user_and_context_and_stays_bounded() {
        let memory = UserMemory::default();
        let remembered = |context, at| Remembered {
            context,
            computed_ms: at,
            set: Rc::new(set(&[("a", "b")])),
        };
        memory.put("u1", remembered(1, 10.0));
        memory.put("u2", remembered(1, 11.0));
        assert_eq!(memory.get("u1", 1).unwrap().computed_ms, 10.0);
        assert!(memory.get("u1", 2).is_none(), "another context");
        memory.put("u1", remembered(2, 12.0));
        assert!(memory.get("u1", 1).is_none(), "replaced");
        assert_eq!(memory.len(), 2);
        for i in 0..MEMORY_USERS + 5 {
            memory.put(&format!("user-{i}"), remembered(1, 100.0 + i as f64));
        }
        assert!(memory.len() <= MEMORY_USERS);
        assert!(
            memory
                .get(&format!("user-{}", MEMORY_USERS + 4), 1)
                .is_some(),
            "the newest stays"
        );
        assert!(memory.get("u1", 2).is_none(), "the oldest went first");
    }
}
