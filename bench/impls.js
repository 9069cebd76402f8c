// The three implementations the benchmarks compare, loaded the way Auth0 loads an Action (source
// text in a vm context, see local/sandbox.js), and the events they are given.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { loadAction, builtinsOnly, createApi, createCache, makeEvent } = require('../local/sandbox');

const ROOT = path.join(__dirname, '..');
const NAMESPACE = 'https://bench.example.com';
// The SDK builds https://<domain>/… URLs; the benchmark rewrites that host to the loopback mock.
const SDK_HOST = 'tenant.bench.test';

const IMPLS = {
  ours: { label: '(a) auth0-rbac-claims', file: 'dist/action.js' },
  snippet: { label: '(b) forum snippet', file: 'bench/forum-snippet-action.js', sdk: true },
  handwritten: { label: '(c) hand-written JS', file: 'bench/handwritten-action.js' },
};

/** `require` for an Action: Node built-ins, plus the `auth0` SDK (reaching `mockUrl`) when asked. */
function actionRequire(mockUrl) {
  let shim;
  return (name) => {
    if (name !== 'auth0') return builtinsOnly(name);
    if (!shim) {
      const auth0 = require('auth0');
      const viaMock = (input, init) => {
        const url = String(input instanceof Request ? input.url : input).replace(`https://${SDK_HOST}`, mockUrl);
        return fetch(input instanceof Request ? new Request(url, input) : url, init);
      };
      // The only change to the client: its requests reach the mock (fetch and audience).
      class ManagementClient extends auth0.ManagementClient {
        constructor(options) {
          super({ ...options, audience: `${mockUrl}/api/v2/`, fetch: viaMock });
        }
      }
      shim = { ...auth0, ManagementClient };
    }
    return shim;
  };
}

/** One Action instance of `impl`, with its trigger-wide api.cache. */
function load(impl, mockUrl) {
  const spec = IMPLS[impl];
  const source = fs.readFileSync(path.join(ROOT, spec.file), 'utf8');
  const action = loadAction({ source, require: actionRequire(mockUrl), console: { log() {}, info() {}, warn() {}, error() {} } });
  return { impl, spec, action: action.exports, cache: createCache() };
}

/**
 * The login event for `userId` against the mock described by `tenant`. Ours runs with
 * PERMISSIONS_TTL=0 here: these figures compare fetching and reading permissions on every login,
 * which (b) and (c) always do; the permissions cache has its own figures (the login stream).
 */
function eventFor(instance, tenant, userId, audience = tenant.apis.orders) {
  const domain = instance.spec.sdk ? SDK_HOST : tenant.url;
  const ourSettings = instance.impl === 'ours' ? { PERMISSIONS_TTL: '0' } : {};
  return makeEvent({
    user: { user_id: userId, email: 'bench@example.com' },
    roles: ['bench'],
    audience,
    secrets: { CLAIM_NAMESPACE: NAMESPACE, AUTH0_DOMAIN: domain, AUTH0_CLIENT_ID: tenant.clientId, AUTH0_CLIENT_SECRET: tenant.clientSecret, ...ourSettings },
  });
}

/** Runs one login; returns { ms, denied, permissions (delivered on the access token) }. */
async function login(instance, tenant, userId, audience) {
  // One event per user and instance, built once: building it is not the Action's cost.
  instance.events ??= new Map();
  const key = `${userId} ${audience}`;
  if (!instance.events.has(key)) instance.events.set(key, eventFor(instance, tenant, userId, audience));
  const event = instance.events.get(key);
  const api = createApi({ cache: instance.cache });
  const started = performance.now();
  await instance.action.onExecutePostLogin(event, api);
  const ms = performance.now() - started;
  const outcome = api.finish();
  const delivered = outcome.accessToken[`${NAMESPACE}/permissions`];
  return { ms, denied: outcome.denied, permissions: Array.isArray(delivered) ? delivered.length : 0 };
}

/** The `p`th percentile of `xs` (nearest rank). */
function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

module.exports = { IMPLS, SDK_HOST, load, login, percentile };
