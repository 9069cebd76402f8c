//! Where a login's permissions come from, through the cache.
//!
//! `PERMISSIONS_SOURCE=user`: instance memory, then the set a previous login stored in the user's
//! `app_metadata` (checked with its MAC for this login's [`Context`]), then the user's
//! permissions endpoint; a fetched set goes back into memory and `app_metadata`.
//! `PERMISSIONS_SOURCE=roles`: each role's definition from instance memory, else the Management
//! API (every role's id at once when a name is new or the ids are `PERMISSIONS_TTL` old, then
//! the role's permissions); the union is the login's set. No per-user request, and nothing is
//! written to the user.
//!
//! Either way a value younger than `PERMISSIONS_TTL` is used without a request; when a refresh
//! fails for a reason that may pass (429, 5xx, a timeout, a failed connection), a value no older
//! than `PERMISSIONS_STALE_MAX`, computed for the same context, stands in and the login
//! completes with the warning `stale_permissions`. Concurrent logins in one instance that need
//! the same fetch share it.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use futures_channel::oneshot;
use futures_util::future::{FutureExt, Shared};

use crate::cache::{
    self, decode, encode, role_key, Age, Context, Remembered, RoleDefinition, RoleMemory,
    UserMemory, MAC_PURPOSE, STORED_LIMIT,
};
use crate::error::{Code, Error, Result, LOG_PREFIX};
use crate::event::APP_METADATA_KEY;
use crate::host::{ActionApi, Host};
use crate::mgmt::Client;
use crate::permissions::PermissionSet;
use crate::settings::{Freshness, PermissionsSource};

/// One fetch per key at a time in an instance: a second caller waits for the first one's result.
pub struct Flights<T: Clone>(RefCell<Vec<(String, Shared<oneshot::Receiver<T>>)>>);

impl<T: Clone> Default for Flights<T> {
    fn default() -> Self {
        Flights(RefCell::new(Vec::new()))
    }
}

impl<T: Clone> std::fmt::Debug for Flights<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flights")
            .field("in_flight", &self.0.borrow().len())
            .finish()
    }
}

impl<T: Clone> Flights<T> {
    /// The result of the fetch in flight for `key`, or of `fetch`, run now for it (when a fetch is
    /// in flight, `fetch` is dropped without being polled: nothing of it runs).
    pub async fn run(&self, key: &str, fetch: impl Future<Output = T>) -> T {
        let waiting = self
            .0
            .borrow()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, rx)| rx.clone());
        if let Some(rx) = waiting {
            // Canceled: the first caller went away without an answer; fetch here instead.
            if let Ok(value) = rx.await {
                return value;
            }
        }
        let (tx, rx) = oneshot::channel();
        {
            let mut flights = self.0.borrow_mut();
            flights.retain(|(k, _)| k != key);
            flights.push((key.to_owned(), rx.shared()));
        }
        let value = fetch.await;
        self.0.borrow_mut().retain(|(k, _)| k != key);
        // Nobody waiting is fine.
        let _ = tx.send(value.clone());
        value
    }
}

/// What one fetch yields: a role's id (empty for a user) and the permissions.
/// A fetch's result: a role's id (empty for a user's set), the set, and when the oldest read
/// it is made of was made (now, unless cached role definitions went into it).
type Fetched = Result<(Rc<str>, Rc<PermissionSet>, f64)>;

/// What an instance keeps of computed permissions between logins.
#[derive(Debug, Default)]
pub struct Caches {
    users: UserMemory,
    roles: RoleMemory,
    /// Fetches in flight, for users (`u` keys) and roles (`r` keys) alike.
    flights: Flights<Fetched>,
    write_warned: Cell<bool>,
}

impl Caches {
    /// Users whose sets are in memory.
    pub fn users_remembered(&self) -> usize {
        self.users.len()
    }
}

/// A login's permissions and how they were found.
#[derive(Debug, Clone)]
pub struct Found {
    /// The set.
    pub set: Rc<PermissionSet>,
    /// `stale_permissions`, when a cached set stood in for a refresh that failed.
    pub stale: Option<Error>,
}

impl Found {
    fn fresh(set: Rc<PermissionSet>) -> Found {
        Found { set, stale: None }
    }
}

/// A role's permissions, with `(age in ms, cause)` when a stale definition stood in.
type RoleFound = (Rc<PermissionSet>, Option<(f64, Error)>);

/// One login's lookup.
pub struct Lookup<'a, H: Host, A: ActionApi> {
    /// The Management API, with this login's budget.
    pub client: Client<'a, H, A>,
    /// The instance's caches.
    pub caches: &'a Caches,
    /// `PERMISSIONS_TTL`, `PERMISSIONS_STALE_MAX`.
    pub freshness: Freshness,
    /// `PERMISSIONS_SOURCE`.
    pub source: PermissionsSource,
    /// `event.user.user_id`.
    pub user_id: &'a str,
    /// The login's role names, sorted and distinct.
    pub roles: &'a [String],
    /// `event.organization.id`.
    pub organization: Option<&'a str>,
    /// With `PERMISSIONS_ENDPOINT=effective`, the APIs the tokens need (read one at a time).
    pub effective_apis: Option<Vec<String>>,
    /// What a previous login stored in `app_metadata`, if anything.
    pub stored: Option<&'a str>,
}

impl<H: Host, A: ActionApi> std::fmt::Debug for Lookup<'_, H, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lookup")
            .field("source", &self.source)
            .field("freshness", &self.freshness)
            .finish_non_exhaustive()
    }
}

impl<H: Host, A: ActionApi> Lookup<'_, H, A> {
    /// The login's permissions.
    pub async fn permissions(&self) -> Result<Found> {
        match (self.source, self.organization) {
            (PermissionsSource::Roles, None) => self.roles_set().await,
            // Through an Organization the roles are the member's there, read per user.
            _ => self.users_set().await,
        }
    }

    /// The user's permissions from the Management API: all the user holds, or, for a login
    /// through an Organization, those of the roles assigned to the member within it (each
    /// role's permissions cached per instance, like `PERMISSIONS_SOURCE=roles`).
    async fn user_set(&self) -> Result<(PermissionSet, f64)> {
        let now = self.client.host.now_ms();
        let Some(org) = self.organization else {
            let set = match &self.effective_apis {
                Some(apis) => {
                    self.client
                        .effective_permissions(self.user_id, apis)
                        .await?
                }
                None => self.client.user_permissions(self.user_id).await?,
            };
            return Ok((set, now));
        };
        // A set is as old as the oldest role definition in it: fresh ones only are reused.
        let mut oldest = now;
        let settings = self.client.settings;
        let mut all = Vec::new();
        for role in self.client.member_roles(org, self.user_id).await? {
            let key = role_key(settings, &role.name);
            let known = self.caches.roles.get(&key).filter(|d| {
                *d.id == *role.id
                    && cache::age(self.freshness, &role.name, d.read_ms, now) == Age::Fresh
            });
            let permissions = match known {
                Some(known) => {
                    oldest = oldest.min(known.read_ms);
                    known.permissions
                }
                None => {
                    let read = self.client.role_permissions(&role.id).await?;
                    let permissions: Rc<PermissionSet> = Rc::new(read.into_iter().collect());
                    if self.freshness.ttl_s > 0 {
                        let definition = RoleDefinition {
                            id: Rc::from(role.id),
                            read_ms: now,
                            permissions: permissions.clone(),
                        };
                        self.caches.roles.put(&key, definition);
                    }
                    permissions
                }
            };
            all.extend(permissions.iter().cloned());
        }
        Ok((all.into_iter().collect(), oldest))
    }

    async fn users_set(&self) -> Result<Found> {
        if self.freshness.ttl_s == 0 {
            return Ok(Found::fresh(Rc::new(self.user_set().await?.0)));
        }
        let host = self.client.host;
        let settings = self.client.settings;
        let source = match &self.effective_apis {
            // The count first: API identifiers and role names are both listed, one a line.
            Some(apis) => format!("effective\n{}\n{}", apis.len(), crate::join(apis, "\n")),
            None => self.source.as_str().to_owned(),
        };
        let context = Context::new(
            settings,
            self.user_id,
            self.organization,
            &source,
            self.roles,
        );
        let digest = context.digest();
        let now = host.now_ms();
        let mac = |text: &str| host.mac(&settings.client_secret, MAC_PURPOSE, text);
        let stored = self
            .stored
            .and_then(|value| decode(value, &context, (now / 1000.0) as u64, mac))
            .map(|(computed_s, set)| Remembered {
                context: digest,
                computed_ms: computed_s as f64 * 1000.0,
                set: Rc::new(set),
            });
        let best = match (self.caches.users.get(self.user_id, digest), stored) {
            (Some(memory), Some(stored)) if stored.computed_ms <= memory.computed_ms => {
                Some(memory)
            }
            (_, Some(stored)) => {
                // Another instance computed it more recently: keep it here too.
                self.caches.users.put(self.user_id, stored.clone());
                Some(stored)
            }
            (memory, None) => memory,
        };
        let age = best
            .as_ref()
            .map(|b| cache::age(self.freshness, self.user_id, b.computed_ms, now));
        if let (Some(best), Some(Age::Fresh)) = (&best, age) {
            return Ok(Found::fresh(best.set.clone()));
        }
        let key = format!("u{digest}\n{}", self.user_id);
        let fetched = self.caches.flights.run(&key, self.fetch(None, now)).await;
        match fetched {
            Ok((_, set, read_ms)) => {
                self.caches.users.put(
                    self.user_id,
                    Remembered {
                        context: digest,
                        computed_ms: read_ms,
                        set: set.clone(),
                    },
                );
                self.store(&context, &set, read_ms);
                Ok(Found::fresh(set))
            }
            Err(e) => match (best, age) {
                (Some(best), Some(Age::Stale)) if e.is_transient() => Ok(Found {
                    set: best.set,
                    stale: Some(stale(&e, now - best.computed_ms)),
                }),
                _ => Err(e),
            },
        }
    }

    /// Writes the set into `app_metadata` for the next login, on any instance. Too large a set
    /// stays in memory only (and an older stored one is removed); a failed write is logged once
    /// per instance and never fails the login.
    fn store(&self, context: &Context, set: &PermissionSet, computed_ms: f64) {
        let host = self.client.host;
        let secret = &self.client.settings.client_secret;
        let value = encode(set, (computed_ms / 1000.0) as u64, context, |text| {
            host.mac(secret, MAC_PURPOSE, text)
        });
        let result = match value {
            None => Err("the runtime computed no MAC".to_string()),
            Some(value) if value.len() <= STORED_LIMIT => self
                .client
                .api
                .set_app_metadata(APP_METADATA_KEY, Some(&value)),
            Some(_) if self.stored.is_some() => {
                self.client.api.set_app_metadata(APP_METADATA_KEY, None)
            }
            Some(_) => Ok(()),
        };
        if let Err(why) = result {
            if !self.caches.write_warned.replace(true) {
                host.log(&format!(
                    "{LOG_PREFIX} warning: api.user.setAppMetadata failed ({why}); permissions are cached in this instance's memory only"
                ));
            }
        }
    }

    async fn roles_set(&self) -> Result<Found> {
        let now = self.client.host.now_ms();
        let mut all = Vec::new();
        let mut oldest: Option<(f64, Error)> = None;
        // One role after the other: a warm instance has them all in memory, and a cold one
        // fetches each role once for every login waiting on it.
        for name in self.roles {
            let (permissions, stale_for) = self.role(name, now).await?;
            all.extend(permissions.iter().cloned());
            if let Some((age, e)) = stale_for {
                if oldest.as_ref().is_none_or(|(a, _)| age > *a) {
                    oldest = Some((age, e));
                }
            }
        }
        Ok(Found {
            set: Rc::new(all.into_iter().collect()),
            stale: oldest.map(|(age, e)| stale(&e, age)),
        })
    }

    /// One fetch from the Management API: the user's permissions (`role` `None`), or a role's
    /// id (unless known) and permissions. One function for both, so the single flight around it
    /// is one piece of code. `since_ms`: when the login began.
    async fn fetch(&self, role: Option<&str>, since_ms: f64) -> Fetched {
        let Some(name) = role else {
            let (set, read_ms) = self.user_set().await?;
            return Ok((Rc::from(""), Rc::new(set), read_ms));
        };
        let key = role_key(self.client.settings, name);
        // A name's id is trusted for PERMISSIONS_TTL after the listing that gave it, as a cached
        // set is, or for the rest of the login that listed it. Trusted for ever, a role renamed
        // and another created under its old name would keep getting the old role's permissions.
        let trusted = |(id, listed_ms): (Rc<str>, f64)| {
            (listed_ms >= since_ms
                || cache::age(self.freshness, name, listed_ms, since_ms) == Age::Fresh)
                .then_some(id)
        };
        let id = match self.caches.roles.id(&key).and_then(trusted) {
            Some(id) => id,
            None => {
                // A name new to the instance, or its id due: learn every role's id at once (one
                // request per 100 roles).
                let listed_ms = self.client.host.now_ms();
                let roles = self.client.roles().await?;
                let settings = self.client.settings;
                self.caches.roles.put_ids(
                    roles
                        .into_iter()
                        .map(|r| (role_key(settings, &r.name), Rc::from(r.id))),
                    listed_ms,
                );
                // From this listing only: an older entry is a role no longer listed under the name.
                let unlisted = || {
                    Error::new(
                        Code::ManagementApiError,
                        "a role of the login is not among the tenant's roles (renamed or deleted since the login began?)",
                    )
                };
                self.caches
                    .roles
                    .id(&key)
                    .filter(|(_, at)| *at == listed_ms)
                    .map(|(id, _)| id)
                    .ok_or_else(unlisted)?
            }
        };
        let permissions = self.client.role_permissions(&id).await?;
        let now = self.client.host.now_ms();
        Ok((id, Rc::new(permissions.into_iter().collect()), now))
    }

    /// One role's permissions, and `(age, cause)` when a stale definition stood in.
    async fn role(&self, name: &str, now: f64) -> Result<RoleFound> {
        let key = role_key(self.client.settings, name);
        let known = self.caches.roles.get(&key);
        let age = known
            .as_ref()
            .map(|d| cache::age(self.freshness, name, d.read_ms, now));
        if let (Some(known), Some(Age::Fresh)) = (&known, age) {
            return Ok((known.permissions.clone(), None));
        }
        let fetched = self
            .caches
            .flights
            .run(&format!("r{key}"), self.fetch(Some(name), now))
            .await;
        match fetched {
            Ok((id, permissions, _)) => {
                if self.freshness.ttl_s > 0 {
                    let definition = RoleDefinition {
                        id,
                        read_ms: now,
                        permissions: permissions.clone(),
                    };
                    self.caches.roles.put(&key, definition);
                }
                Ok((permissions, None))
            }
            Err(e) => match (known, age) {
                (Some(known), Some(Age::Stale)) if e.is_transient() => {
                    Ok((known.permissions, Some((now - known.read_ms, e))))
                }
                _ => Err(e),
            },
        }
    }
}

/// The warning for a stale set used in place of a refresh that failed with `cause`.
fn stale(cause: &Error, age_ms: f64) -> Error {
    Error::new(
        Code::StalePermissions,
        format!(
            "refreshing the permissions failed ({}); permissions computed {} s ago for the same roles were used",
            cause.code(),
            (age_ms / 1000.0).max(0.0) as u64
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_executor::LocalPool;
    use futures_util::task::LocalSpawnExt;

    #[test]
    fn concurrent_callers_share_one_fetch_and_a_later_one_fetches_again() {
        let flights: Rc<Flights<u32>> = Rc::default();
        let runs = Rc::new(Cell::new(0));
        let (release, released) = oneshot::channel::<()>();
        let released = released.shared();
        let mut pool = LocalPool::new();
        let results = Rc::new(RefCell::new(Vec::new()));
        for _ in 0..3 {
            let (flights, runs, released, results) = (
                flights.clone(),
                runs.clone(),
                released.clone(),
                results.clone(),
            );
            pool.spawner()
                .spawn_local(async move {
                    let value = flights
                        .run("u", async {
                            runs.set(runs.get() + 1);
                            let _ = released.await;
                            7
                        })
                        .await;
                    results.borrow_mut().push(value);
                })
                .unwrap();
        }
        pool.run_until_stalled();
        assert_eq!(runs.get(), 1, "one fetch for three callers");
        release.send(()).unwrap();
        pool.run_until_stalled();
        assert_eq!(*results.borrow(), [7, 7, 7]);
        let again = pool.run_until(flights.run("u", async { 8 }));
        assert_eq!(again, 8, "nothing in flight: a new fetch");
    }
}
