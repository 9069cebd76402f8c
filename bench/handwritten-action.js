// Benchmark implementation (c): a careful hand-written JavaScript post-login Action with the same
// behaviour as auth0-rbac-claims for the benchmarked paths — token cached in module memory and in
// api.cache (one request shared by concurrent logins), every page (first, then the rest at once
// within x-ratelimit-remaining, at most 10), per-API filtering, de-duplication and sorting,
// timeouts, one retry on 5xx, 429 waits that fit the deadline, deny on error. Only Node built-ins.
'use strict';

const PER_PAGE = 50;
const CONCURRENCY = 10;
const tokens = new Map(); // cache key → { value, until } | { pending: Promise }

function settingsOf(event) {
  const s = { ...(event.secrets || {}), ...(event.configuration || {}) };
  if (!/^(https?:\/\/|urn:)/i.test(s.CLAIM_NAMESPACE || '')) throw coded('config_invalid', 'CLAIM_NAMESPACE is invalid');
  const domain = s.AUTH0_DOMAIN || '';
  return {
    namespace: s.CLAIM_NAMESPACE.replace(/\/$/, ''),
    origin: /^https?:\/\//.test(domain) ? domain.replace(/\/$/, '') : `https://${domain}`,
    clientId: s.AUTH0_CLIENT_ID,
    clientSecret: s.AUTH0_CLIENT_SECRET,
    timeout: Number(s.HTTP_TIMEOUT_MS || 3000),
    deadline: Date.now() + Number(s.DEADLINE_MS || 10000),
  };
}

function coded(code, message) {
  return Object.assign(new Error(message), { code });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function send(url, init, cfg) {
  let rateLimited = 0;
  let serverErrors = 0;
  for (;;) {
    const left = cfg.deadline - Date.now();
    if (left < 1) throw coded('timeout', 'deadline');
    let response;
    try {
      response = await fetch(url, { ...init, signal: AbortSignal.timeout(Math.min(cfg.timeout, left)) });
    } catch (error) {
      if (error.name === 'TimeoutError') throw coded('timeout', 'request timed out');
      if (serverErrors++ < 1) {
        await sleep(100 + Math.random() * 200);
        continue;
      }
      throw coded('management_api_error', 'connection failed');
    }
    if (response.status === 429) {
      const retryAfter = Number(response.headers.get('retry-after'));
      const reset = Number(response.headers.get('x-ratelimit-reset'));
      const wait = retryAfter >= 0 && response.headers.has('retry-after') ? retryAfter * 1000 : reset ? Math.max(0, reset * 1000 - Date.now()) + 50 : 1000;
      if (rateLimited++ >= 2 || Date.now() + wait + 100 > cfg.deadline) throw coded('rate_limited', 'rate limited');
      await sleep(wait);
      continue;
    }
    if (response.status >= 500 && serverErrors++ < 1) {
      await sleep(100 + Math.random() * 200);
      continue;
    }
    return response;
  }
}

async function token(cfg, api) {
  const key = `hw-mgmt/${cfg.origin}/${cfg.clientId}`.slice(0, 64);
  const held = tokens.get(key);
  if (held?.value && held.until > Date.now()) return held.value;
  if (held?.pending) return held.pending;
  const cached = api.cache?.get(key);
  if (cached?.value && cached.expires_at > Date.now()) {
    tokens.set(key, { value: cached.value, until: cached.expires_at });
    return cached.value;
  }
  const pending = (async () => {
    const response = await send(`${cfg.origin}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: cfg.clientId, client_secret: cfg.clientSecret, audience: `${cfg.origin}/api/v2/` }),
    }, cfg);
    if (response.status !== 200) throw coded('token_request_failed', `token request refused (${response.status})`);
    const body = await response.json();
    const lifetime = (body.expires_in || 600) * 1000;
    return { value: body.access_token, until: Date.now() + lifetime - Math.min(lifetime / 10, 300_000) };
  })();
  tokens.set(key, { pending: pending.then((t) => t.value) });
  try {
    const fresh = await pending;
    tokens.set(key, fresh);
    const result = api.cache?.set(key, fresh.value, { ttl: fresh.until - Date.now() });
    if (result?.type === 'error') console.log(`cache write failed: ${result.code}`);
    return fresh.value;
  } catch (error) {
    tokens.delete(key);
    throw error;
  }
}

async function page(cfg, api, path, n) {
  const url = `${cfg.origin}${path}?per_page=${PER_PAGE}&page=${n}&include_totals=true`;
  const response = await send(url, { headers: { authorization: `Bearer ${await token(cfg, api)}` } }, cfg);
  if (response.status !== 200) throw coded('management_api_error', `permissions request refused (${response.status})`);
  const body = await response.json();
  const items = Array.isArray(body) ? body : body.permissions;
  if (!Array.isArray(items)) throw coded('response_invalid', 'unexpected answer');
  return { items, total: body.total, limit: body.limit, remaining: Number(response.headers.get('x-ratelimit-remaining')) };
}

async function permissions(cfg, api, userId) {
  const path = `/api/v2/users/${encodeURIComponent(userId)}/permissions`;
  const first = await page(cfg, api, path, 0);
  const all = [...first.items];
  const pages = Math.ceil(first.total / (first.limit || PER_PAGE));
  const parallel = Math.max(1, Math.min(CONCURRENCY, Number.isFinite(first.remaining) ? first.remaining : CONCURRENCY));
  const rest = Array.from({ length: Math.max(0, pages - 1) }, (_, i) => i + 1);
  while (rest.length) {
    const batch = rest.splice(0, parallel);
    for (const p of await Promise.all(batch.map((n) => page(cfg, api, path, n)))) all.push(...p.items);
  }
  return all;
}

const names = (list, keep) => [...new Set(list.filter(keep).map((p) => p.permission_name))].sort();

exports.onExecutePostLogin = async (event, api) => {
  try {
    const cfg = settingsOf(event);
    const roles = [...new Set(event.authorization?.roles || [])].sort();
    const requested = event.resource_server?.identifier;
    const all = await permissions(cfg, api, event.user.user_id);
    const idNames = names(all, (p) => !requested || p.resource_server_identifier === requested);
    api.idToken.setCustomClaim(`${cfg.namespace}/roles`, roles);
    api.idToken.setCustomClaim(`${cfg.namespace}/permissions`, idNames);
    api.accessToken.setCustomClaim(`${cfg.namespace}/roles`, roles);
    if (requested) api.accessToken.setCustomClaim(`${cfg.namespace}/permissions`, idNames);
  } catch (error) {
    console.log(`${error.code || 'internal'}: ${error.message}`);
    api.access.deny(`Authorization data for this login is unavailable (${error.code || 'internal'}).`);
  }
};
