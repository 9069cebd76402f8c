// Runs logins through the Action in the Auth0-like sandbox and reports what each token would
// carry, the requests the login made and how long it took. Shared by the demo, the CLI and tests.
'use strict';

const { loadAction, createApi, createCache, makeEvent, claimBytes, applyAppMetadata } = require('./sandbox');

// Practical ceilings below Auth0's 100 KB (auth0-facts.md §4).
const LIMITS = [
  { name: 'Auth0 custom-claims limit', short: 'Auth0 100 KB', bytes: 100_000 },
  { name: 'typical HTTP header limit', short: 'headers 8 KB', bytes: 8_192 },
  { name: 'ID token in a URL fragment', short: 'URL fragment ~3.5 KB', bytes: 3_500, idTokenOnly: true },
];

/**
 * One Action instance (module loaded once, like Auth0's Node 22 runtime) with a trigger-wide
 * api.cache. `fetch` is wrapped to record every request the Action sends. `profiles` is the
 * tenant's user store as far as logins see it: user id → app_metadata, where Auth0 persists
 * what a login writes with api.user.setAppMetadata and from where it hands it to the user's next
 * login. Instances of one Action share it (and the cache); each instance has its own memory.
 */
function createInstance({ source, wasm, shape, cache = createCache(), profiles = new Map(), fetch: send = fetch } = {}) {
  const requests = [];
  const recordingFetch = async (input, init = {}) => {
    const url = new URL(typeof input === 'string' ? input : input.url);
    const method = init.method || (typeof input === 'object' && input.method) || 'GET';
    const entry = { method, host: url.host, path: url.pathname, query: url.search, status: null, ms: 0 };
    requests.push(entry);
    const started = performance.now();
    try {
      const response = await send(input, init);
      entry.status = response.status;
      return response;
    } catch (error) {
      entry.status = error.name === 'TimeoutError' ? 'timeout' : 'error';
      throw error;
    } finally {
      entry.ms = performance.now() - started;
    }
  };
  const action = loadAction({ source, wasm, shape, globals: { fetch: recordingFetch } });
  return { action, cache, requests, profiles, metadataWrites: 0 };
}

const INTERNALS = Symbol.for('auth0-rbac-claims.internals');

/**
 * Runs one login. `event` defaults to a realistic one for `userId` (profile from `user`).
 * `options` are settings given in code (they take precedence, as in the npm form).
 * Returns { report, denied, failed, tokens: { id_token, access_token }, requests, ms, logs }.
 */
async function runLogin(instance, { event, userId, user = {}, roles, audience, settings = {}, configuration, options, organization }) {
  const persisted = instance.profiles.get(event ? event.user?.user_id : userId);
  const profile = { ...user, user_id: userId };
  if (persisted) profile.app_metadata = persisted;
  const loginEvent = event
    ? persisted ? { ...event, user: { ...event.user, app_metadata: persisted } } : event
    : makeEvent({ user: profile, roles, audience, secrets: settings, configuration, extra: organization ? { organization } : {} });
  const api = createApi({ cache: instance.cache, event: loginEvent });
  const firstRequest = instance.requests.length;
  const firstLog = instance.action.logs.length;
  const started = performance.now();
  const withOptions = options && Object.keys(options).length > 0;
  const report = withOptions
    ? await instance.action.exports[INTERNALS].run(loginEvent, api, options)
    : await instance.action.execute('onExecutePostLogin', loginEvent, api);
  const ms = performance.now() - started;
  const outcome = api.finish();
  if (outcome.appMetadata.length > 0) {
    // Auth0 writes the batched changes once the flow ends (a deny does not roll them back).
    instance.profiles.set(loginEvent.user.user_id, applyAppMetadata(loginEvent.user.app_metadata, outcome.appMetadata));
    instance.metadataWrites += 1;
  }
  const token = (claims, kind) => ({
    claims,
    bytes: claimBytes(claims),
    limits: LIMITS.filter((l) => !l.idTokenOnly || kind === 'id').map((l) => ({ ...l, over: claimBytes(claims) > l.bytes })),
  });
  return {
    report: JSON.parse(JSON.stringify(report)),
    denied: outcome.denied,
    failed: outcome.failed,
    dropped: outcome.dropped,
    tokens: { id_token: token(outcome.idToken, 'id'), access_token: token(outcome.accessToken, 'access') },
    requests: instance.requests.slice(firstRequest),
    logs: instance.action.logs.slice(firstLog),
    appMetadata: outcome.appMetadata,
    ms,
  };
}

/** Human-readable report of one login. */
function formatLogin(title, result) {
  const lines = [];
  const verdict = result.denied !== null ? `DENIED: ${result.denied}` : result.failed ? `FAILED: ${result.failed}` : result.report.outcome;
  lines.push(`${title}: ${verdict}${result.report.codes.length ? ` [${result.report.codes.join(', ')}]` : ''} in ${result.ms.toFixed(1)} ms`);
  for (const [name, token] of Object.entries(result.tokens)) {
    const claims = Object.entries(token.claims);
    const against = token.limits.map((l) => `${l.short} ${l.over ? 'OVER' : 'ok'}`).join(' · ');
    lines.push(`  ${name}: ${claims.length ? `${token.bytes} bytes of custom claims (${against})` : 'no custom claims'}`);
    for (const [claim, value] of claims) {
      const values = Array.isArray(value) ? value : [value];
      const shown = values.length > 6 ? `${values.slice(0, 6).join(', ')}, … (${values.length})` : values.join(', ');
      lines.push(`    ${claim} = [${shown}]`);
    }
  }
  const requests = result.requests;
  lines.push(`  requests:${requests.length ? '' : ' none'}`);
  for (const r of requests) {
    lines.push(`    ${r.method} ${r.path}${r.query ? r.query.replace(/^\?/, '?') : ''} → ${r.status} (${r.ms.toFixed(1)} ms)`);
  }
  for (const [key, value] of result.appMetadata || []) {
    const shown = value === null ? 'deleted' : `${String(value).slice(0, 24)}… (${Buffer.byteLength(JSON.stringify(value))} bytes)`;
    lines.push(`  app_metadata.${key} ← ${shown}`);
  }
  for (const log of result.logs) lines.push(`  log: ${log}`);
  return lines.join('\n');
}

module.exports = { createInstance, runLogin, formatLogin, LIMITS };
