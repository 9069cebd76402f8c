//! Permit.io's settings (`PERMIT_*`): whether and how a login keeps Permit in step, and the map
//! from Auth0 role names to Permit role keys. The client is [`crate::permit`].

use crate::error::{Code, Error, ErrorPolicy, Result};
use crate::settings::origin::{parse_base_url, TenantOrigin};
use crate::settings::sources::{Secret, SettingMap, SettingValue, Sources};

/// What a login does to Permit (`PERMIT_SYNC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Upsert the user, assign missing roles, unassign extra ones. Default when a key is set.
    Reconcile,
    /// Upsert the user and assign missing roles; never unassign.
    AddOnly,
    /// Create the user with its roles the first time it is seen; then leave it alone.
    FirstLogin,
}

/// Validated Permit settings (present when `PERMIT_SYNC` is not `off`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermitSettings {
    /// `PERMIT_API_KEY`, an environment-level key.
    pub api_key: Secret,
    /// `PERMIT_PROJECT` (id or key); resolved from the key when absent.
    pub project: Option<String>,
    /// `PERMIT_ENVIRONMENT` (id or key); resolved from the key when absent.
    pub environment: Option<String>,
    /// `PERMIT_TENANT`. Defaults to `default`.
    pub tenant: String,
    /// `PERMIT_API_URL`. Defaults to `https://api.permit.io`.
    pub api_url: TenantOrigin,
    /// `PERMIT_SYNC`.
    pub mode: SyncMode,
    /// `PERMIT_ROLE_MAP`: Auth0 role name → Permit role key; unmapped names pass through when
    /// they are role keys themselves, and are left out otherwise.
    pub role_map: Vec<(String, String)>,
    /// `PERMIT_ON_ERROR`. Defaults to `continue`.
    pub on_error: ErrorPolicy,
}

impl PermitSettings {
    /// Reads the `PERMIT_*` settings; `None` when sync is off (the default without a key).
    pub fn from_sources(s: &Sources) -> Result<Option<PermitSettings>> {
        let api_key = s.credential("PERMIT_API_KEY")?;
        let mode = match s.plain("PERMIT_SYNC")?.map(str::to_ascii_lowercase) {
            None if api_key.is_some() => SyncMode::Reconcile,
            None => return Ok(None),
            Some(m) => match m.as_str() {
                "off" => return Ok(None),
                "reconcile" => SyncMode::Reconcile,
                "add-only" => SyncMode::AddOnly,
                "first-login" => SyncMode::FirstLogin,
                _ => {
                    return Err(Error::config(
                        "PERMIT_SYNC must be off, reconcile, add-only or first-login".into(),
                    ))
                }
            },
        };
        let api_key = api_key.ok_or_else(|| {
            Error::config("PERMIT_SYNC is on but PERMIT_API_KEY is not set: add the secret, or PERMIT_SYNC=off".into())
        })?;
        let api_url = match s.plain("PERMIT_API_URL")? {
            Some(url) => parse_base_url("PERMIT_API_URL", url)?,
            None => TenantOrigin::parse("https://api.permit.io")
                .map_err(|_| Error::new(Code::Internal, "default PERMIT_API_URL"))?,
        };
        let role_map = match s.plain("PERMIT_ROLE_MAP")? {
            None => Vec::new(),
            Some(json) => parse_role_map(json)?,
        };
        let on_error = match s.plain("PERMIT_ON_ERROR")? {
            None => ErrorPolicy::Continue,
            Some(p) => ErrorPolicy::parse("PERMIT_ON_ERROR", p)?,
        };
        let owned = |key| s.plain(key).map(|v| v.map(str::to_owned));
        Ok(Some(PermitSettings {
            api_key: Secret::new(api_key),
            project: owned("PERMIT_PROJECT")?,
            environment: owned("PERMIT_ENVIRONMENT")?,
            tenant: owned("PERMIT_TENANT")?.unwrap_or_else(|| "default".into()),
            api_url,
            mode,
            role_map,
            on_error,
        }))
    }

    /// The Permit role keys for Auth0 role names, mapped or passed through, sorted and distinct;
    /// and the names left out: unmapped, and not role keys themselves.
    pub fn permit_roles(&self, auth0_roles: &[String]) -> (Vec<String>, Vec<String>) {
        let mut roles = Vec::new();
        let mut unmapped = Vec::new();
        for name in auth0_roles {
            match self.role_map.iter().find(|(from, _)| from == name) {
                Some((_, to)) => roles.push(to.clone()),
                None if is_role_key(name) => roles.push(name.clone()),
                None if unmapped.contains(name) => {}
                None => unmapped.push(name.clone()),
            }
        }
        roles.sort_unstable();
        roles.dedup();
        (roles, unmapped)
    }
}

/// Whether `s` can be a Permit role key: a slug of ASCII letters, digits, `-` and `_`.
pub fn is_role_key(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn parse_role_map(json: &str) -> Result<Vec<(String, String)>> {
    let invalid = || {
        Error::config(r#"PERMIT_ROLE_MAP must be a JSON object of role names to Permit role keys (letters, digits, '-' and '_'), e.g. {"Project Manager":"project-manager"}"#.into())
    };
    let map: SettingMap = crate::json::parse(json).map_err(|_| invalid())?;
    map.into_entries()
        .map(|(from, to)| match to {
            SettingValue::Text(to) if is_role_key(&to) => Ok((from, to)),
            _ => Err(invalid()),
        })
        .collect()
}
