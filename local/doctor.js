// `doctor`: checks a tenant and the Action's settings before a deploy, and says what to fix. Each
// check is { name, ok, detail, fix }; nothing printed or returned holds a secret (the client
// secret, the Management API token). The claim rules are not written again here: the namespace
// and the claim sizes come from running the built Action itself in the sandbox.
'use strict';

const { createInstance, runLogin } = require('./runner');
const { makeEvent } = require('./sandbox');

// Auth0's own tenant domains; anything else is a custom domain (or a local mock on loopback).
const CANONICAL = /\.(auth0\.com|auth0app\.com)$/i;
const LOOPBACK = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i;
// api.cache holds the token sealed (AES-256-GCM: 12-byte nonce, 16-byte tag) in base64url, and
// keeps values of at most 4 KB.
const CACHE_VALUE_LIMIT = 4096;
const sealedLength = (token) => Math.ceil(((28 + Buffer.byteLength(token)) * 4) / 3);

/** Whether `domain` is a canonical Auth0 domain (or a loopback mock): `{ ok, detail }`. */
function domainCheck(domain) {
  if (!domain) return { ok: false, detail: 'AUTH0_DOMAIN is not set', fix: 'set AUTH0_DOMAIN to the tenant domain, e.g. dev-abc123.us.auth0.com' };
  if (LOOPBACK.test(domain.replace(/\/+$/, ''))) return { ok: true, detail: `${domain} (a local mock tenant)` };
  const host = domain.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (CANONICAL.test(host)) return { ok: true, detail: `${host} is a canonical Auth0 domain` };
  return {
    ok: false,
    detail: `${host} looks like a custom domain`,
    fix: 'use the canonical tenant domain (Dashboard → Settings → Domain, e.g. dev-abc123.us.auth0.com): the Management API audience is always https://<canonical>/api/v2/',
  };
}

/** The scopes the settings need: `[scope, why]`. */
function neededScopes(settings, organization) {
  const needs = [];
  if (word(settings, 'PERMISSIONS_IN', '') === 'none') return needs;
  if (word(settings, 'PERMISSIONS_SOURCE', 'user') === 'roles') needs.push(['read:roles', 'PERMISSIONS_SOURCE=roles reads role definitions']);
  else if (word(settings, 'PERMISSIONS_ENDPOINT', 'user') === 'effective') needs.push(['read:user_effective_permissions', 'PERMISSIONS_ENDPOINT=effective reads the effective-permissions endpoint']);
  else needs.push(['read:users', "the user's permissions endpoint"]);
  if (organization) {
    needs.push(['read:organization_member_roles', "the member's roles within the Organization"]);
    if (!needs.some(([s]) => s === 'read:roles')) needs.push(['read:roles', "the permissions of the member's roles"]);
  }
  return needs;
}

function rateLimitOf(response) {
  const limit = Number(response.headers.get('x-ratelimit-limit'));
  const remaining = Number(response.headers.get('x-ratelimit-remaining') ?? Number.NaN);
  return limit > 0 && remaining >= 0 ? { limit, remaining } : null;
}

/** A GET with the token: { status, body } (body null when not a JSON object or array), or { error }. */
async function read(url, token) {
  try {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
    const body = await response.json().catch(() => null);
    return { status: response.status, body: body && typeof body === 'object' ? body : null, response };
  } catch (error) {
    return { error: error.name };
  }
}

// What the Action reads of a setting: trimmed, and lower-case where it is a fixed word.
const word = (settings, key, fallback) => String(settings[key] ?? fallback).trim().toLowerCase();

/**
 * Runs every check. `settings`: the Action's settings (CLAIM_NAMESPACE, AUTH0_DOMAIN, …);
 * `userId`, `audience`, `organization`: optional, for the permissions read and the claim sizes;
 * `source`: the Action's code. Returns { ok, checks }.
 */
async function doctor({ settings, userId, audience, organization, source }) {
  const checks = [];
  const add = (name, { ok, detail, fix }) => checks.push({ name, ok, detail, ...(ok ? {} : { fix }) });
  const domain = String(settings.AUTH0_DOMAIN ?? '').trim().replace(/\/+$/, '');
  const origin = domain && (/^https?:\/\//i.test(domain) ? domain.replace(/^https?/i, (m) => m.toLowerCase()) : `https://${domain}`);
  const managementOn = word(settings, 'PERMISSIONS_IN', '') !== 'none';

  // The namespace and every other setting, as the Action itself reads them: one login whose
  // requests all fail at once (nothing leaves the machine), so only its refusals of settings count.
  const offline = async () => {
    throw new TypeError('fetch failed');
  };
  const probe = await runLogin(createInstance({ source, fetch: offline }), {
    event: makeEvent({ user: { user_id: userId || 'auth0|doctor' }, roles: [], audience, secrets: settings }),
  });
  const refusal = probe.report.codes.find((c) => c === 'config_invalid' || c === 'credentials_missing');
  add('settings', refusal
    ? { ok: false, detail: (probe.logs.find((l) => l.includes(refusal)) || refusal).replace(/^\[auth0-rbac-claims\] /, ''), fix: 'correct the setting the line names' }
    : { ok: true, detail: `CLAIM_NAMESPACE ${settings.CLAIM_NAMESPACE} and the other settings are accepted` });
  if (!managementOn) {
    add('management api', { ok: true, detail: 'PERMISSIONS_IN=none: the Action makes no Management API request' });
    return { ok: checks.every((c) => c.ok), checks };
  }

  const domainResult = domainCheck(domain);
  add('domain', domainResult);
  // A custom domain cannot mint a Management API token: the rest waits for the fix.
  if (!domainResult.ok || refusal) return { ok: false, checks };

  // Credentials: the token request the Action makes.
  let token;
  let scopes = [];
  try {
    const response = await fetch(`${origin}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: settings.AUTH0_CLIENT_ID, client_secret: settings.AUTH0_CLIENT_SECRET, audience: `${origin}/api/v2/` }),
      signal: AbortSignal.timeout(10_000),
    });
    const parsed = await response.json().catch(() => null);
    const body = parsed && typeof parsed === 'object' ? parsed : {};
    if (response.status === 200 && typeof body.access_token === 'string') {
      token = body.access_token;
      scopes = String(body.scope || '').split(/\s+/).filter(Boolean);
      add('credentials', { ok: true, detail: `a Management API token for client ${settings.AUTH0_CLIENT_ID}` });
    } else {
      const why = typeof body.error_description === 'string' ? body.error_description.slice(0, 200) : `HTTP ${response.status}`;
      add('credentials', {
        ok: false,
        detail: `the token request was refused (HTTP ${response.status}: ${why})`,
        fix: response.status === 403
          ? 'authorise the application for the Auth0 Management API (Applications → APIs → Auth0 Management API → Machine to Machine Applications), and check AUTH0_DOMAIN is the canonical domain'
          : 'check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (a Machine to Machine application of this tenant)',
      });
    }
  } catch (error) {
    add('credentials', { ok: false, detail: `no answer from ${origin}/oauth/token (${error.name})`, fix: 'check AUTH0_DOMAIN and that the tenant is reachable' });
  }
  if (!token) return { ok: false, checks };

  const missing = neededScopes(settings, organization).filter(([scope]) => !scopes.includes(scope));
  add('scopes', missing.length
    ? { ok: false, detail: `the token lacks ${missing.map(([s, why]) => `${s} (${why})`).join(', ')}; it has: ${scopes.join(' ') || 'none'}`, fix: `grant the application ${missing.map(([s]) => s).join(' and ')} on the Auth0 Management API` }
    : { ok: true, detail: `the token has ${neededScopes(settings, organization).map(([s]) => s).join(', ')}` });

  const sealed = sealedLength(token);
  add('token size', sealed <= CACHE_VALUE_LIMIT
    ? { ok: true, detail: `the token (${Buffer.byteLength(token)} bytes, ${sealed} sealed) fits api.cache's 4 KB` }
    : { ok: false, detail: `the token is ${Buffer.byteLength(token)} bytes, ${sealed} sealed: over api.cache's 4 KB, so every instance requests its own`, fix: 'remove scopes the Action does not need from the application' });

  // A permissions read, the one the Action makes, and the bucket's headroom from its answer.
  const from = word(settings, 'PERMISSIONS_SOURCE', 'user');
  const user = userId && encodeURIComponent(userId);
  // The effective endpoint reads one API a time: the audience given, else the first listed one.
  const listed = String(settings.ID_TOKEN_APIS || '').split(',').map((a) => a.trim()).filter((a) => a && a !== '*');
  const api = audience || listed[0];
  const effective = !organization && from !== 'roles' && word(settings, 'PERMISSIONS_ENDPOINT', 'user') === 'effective';
  const path = organization && user
    ? `/api/v2/organizations/${encodeURIComponent(organization)}/members/${user}/roles`
    : from === 'roles' ? '/api/v2/roles'
      : effective ? user && api && `/api/v2/users/${user}/effective-permissions`
        : user && `/api/v2/users/${user}/permissions`;
  if (path) {
    const query = effective ? `resource_server_identifier=${encodeURIComponent(api)}&take=50` : 'per_page=50&page=0&include_totals=true';
    const answer = await read(`${origin}${path}?${query}`, token);
    const what = organization || from === 'roles' ? 'roles' : 'permission entries';
    add('permissions read', answer.error
      ? { ok: false, detail: `GET ${path}: no answer (${answer.error})`, fix: 'check that the tenant is reachable' }
      : answer.status === 200
        ? { ok: true, detail: `GET ${path}: ${answer.body?.total ?? (effective ? `${answer.body?.permissions?.length ?? '?'} on the first page of` : '?')} ${what}` }
        : { ok: false, detail: `GET ${path} answered HTTP ${answer.status}`, fix: answer.status === 404 ? 'check the user id (and the Organization membership)' : 'check the scopes above' });
    const headroom = answer.response && rateLimitOf(answer.response);
    if (headroom) {
      const low = headroom.remaining < headroom.limit / 5;
      add('rate limit', { ok: !low, detail: `${headroom.remaining} of ${headroom.limit} Management API requests left in the bucket`, fix: 'the tenant is near its Management API rate limit: keep PERMISSIONS_TTL on (the default) and consider PERMISSIONS_SOURCE=roles' });
    }
  }

  // The claims this user would get, and their sizes against the limits that matter.
  if (userId) {
    const roles = await rolesOf(origin, token, userId, organization);
    const login = await runLogin(createInstance({ source }), {
      event: makeEvent({ user: { user_id: userId }, roles: roles.names, audience, secrets: settings, extra: organization ? { organization: { id: organization } } : {} }),
    });
    const over = Object.entries(login.tokens).flatMap(([kind, t]) => t.limits.filter((l) => l.over).map((l) => `${kind} over ${l.name}`));
    const sizes = Object.entries(login.tokens).map(([kind, t]) => `${kind} ${t.bytes} bytes`).join(', ');
    const note = roles.status === 200 ? '' : ` (the user's roles could not be read: HTTP ${roles.status ?? roles.error}; sizes without them)`;
    add('claims', login.report.outcome !== 'complete'
      ? { ok: false, detail: `the login would be ${login.report.outcome} (${login.report.codes.join(', ')})${note}`, fix: 'see the code in the README (Error codes)' }
      : over.length
        ? { ok: false, detail: `${sizes}: ${over.join('; ')}${note}`, fix: 'narrow ID_TOKEN_APIS, or PERMISSIONS_IN=access_token' }
        : { ok: true, detail: `${sizes} of custom claims, within every limit${note}` });
  }
  return { ok: checks.every((c) => c.ok), checks };
}

// The role names Auth0 would put into event.authorization.roles for this login:
// { names, status } (or { names: [], error }).
async function rolesOf(origin, token, userId, organization) {
  const user = encodeURIComponent(userId);
  const path = organization ? `/api/v2/organizations/${encodeURIComponent(organization)}/members/${user}/roles` : `/api/v2/users/${user}/roles`;
  const answer = await read(`${origin}${path}?per_page=100&page=0`, token);
  const list = Array.isArray(answer.body) ? answer.body : Array.isArray(answer.body?.roles) ? answer.body.roles : [];
  const names = list.map((r) => r && r.name).filter((n) => typeof n === 'string');
  return answer.error ? { names, error: answer.error } : { names, status: answer.status };
}

/** The report as text: one line per check, the fix under each failed one. */
function formatDoctor({ ok, checks }) {
  const lines = checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}${c.ok ? '' : `\n     fix: ${c.fix}`}`);
  lines.push(ok ? 'all checks passed' : `${checks.filter((c) => !c.ok).length} problem(s)`);
  return lines.join('\n');
}

module.exports = { doctor, formatDoctor, domainCheck, neededScopes, sealedLength };
