// Permissions end to end: dist/action.js in the Auth0-like sandbox against the mock tenant over
// real HTTP. Token caching, paging, per-token filtering, faults and the error policy.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { startMockTenant } = require('../local/mock');
const { createInstance, runLogin } = require('../local/runner');
const { createCache } = require('../local/sandbox');

const NS = 'https://myapp.example.com';
const PERMS = `${NS}/permissions`;
const ROLES = `${NS}/roles`;

let tenant;
test.before(async () => {
  tenant = await startMockTenant();
});
test.after(() => tenant.close());
test.beforeEach(() => {
  tenant.clearFaults();
  tenant.resetLog();
});

const unhandled = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));
test.after(() => assert.deepEqual(unhandled, []));

// PERMISSIONS_TTL=0: these tests pin how permissions are fetched, which the permissions cache
// would skip on later logins (cache.test.js tests the cache).
function settings(extra = {}) {
  return {
    ...tenant.secrets({ CLAIM_NAMESPACE: NS }),
    PERMISSIONS_TTL: '0',
    ...extra,
  };
}

function login(instance, userId, { audience, extra } = {}) {
  const user = tenant.users[userId];
  return runLogin(instance, { userId, user, roles: user?.roles, audience, settings: settings(extra) });
}

const namesOf = (userId, api) =>
  [...new Set(tenant.expectedPermissions(userId).filter((p) => !api || p.resource_server_identifier === api).map((p) => p.permission_name))].sort();

test('the 3-permission user: token + one page on the first login, one page after', async () => {
  const instance = createInstance();
  const api = tenant.apis.orders;
  const first = await login(instance, 'auth0|three-perms', { audience: api });
  assert.deepEqual(first.report, { outcome: 'complete', codes: [] });
  assert.deepEqual(first.tokens.access_token.claims[PERMS], ['read:customers', 'read:invoices', 'read:orders']);
  assert.deepEqual(first.tokens.id_token.claims[PERMS], ['read:customers', 'read:invoices', 'read:orders']);
  assert.deepEqual(first.tokens.id_token.claims[ROLES], ['viewer']);
  assert.deepEqual(first.requests.map((r) => `${r.method} ${r.path}`), [
    'POST /oauth/token',
    'GET /api/v2/users/auth0%7Cthree-perms/permissions',
  ]);
  assert.match(first.requests[1].query, /per_page=50/);
  assert.match(first.requests[1].query, /include_totals=true/);
  const second = await login(instance, 'auth0|three-perms', { audience: api });
  assert.deepEqual(second.requests.map((r) => r.path), ['/api/v2/users/auth0%7Cthree-perms/permissions']);
  assert.equal(tenant.count('token'), 1);
});

test('a fresh instance with a warm api.cache makes no token request', async () => {
  const cache = createCache();
  await login(createInstance({ cache }), 'auth0|three-perms');
  await login(createInstance({ cache }), 'auth0|three-perms');
  assert.equal(tenant.count('token'), 1);
  assert.equal(tenant.count('permissions'), 2);
});

test('50 concurrent logins in a cold instance make one token request', async () => {
  const instance = createInstance();
  const results = await Promise.all(Array.from({ length: 50 }, () => login(instance, 'auth0|three-perms', { audience: tenant.apis.orders })));
  assert.ok(results.every((r) => r.report.outcome === 'complete'));
  assert.equal(tenant.count('token'), 1);
  assert.equal(tenant.count('permissions'), 50);
});

test('the big user arrives complete, de-duplicated, sorted and filtered per token', async () => {
  const instance = createInstance();
  const expected = tenant.expectedPermissions('auth0|big');
  assert.ok(expected.length > 100);
  for (const audience of [tenant.apis.orders, tenant.apis.reports, tenant.apis.admin]) {
    const r = await login(instance, 'auth0|big', { audience });
    assert.deepEqual(r.tokens.access_token.claims[PERMS], namesOf('auth0|big', audience), audience);
    assert.deepEqual(r.tokens.id_token.claims[PERMS], namesOf('auth0|big', audience));
  }
  // No API requested: no permissions on the access token; every API's in the ID token.
  const none = await login(instance, 'auth0|big');
  assert.equal(none.tokens.access_token.claims[PERMS], undefined);
  assert.deepEqual(none.tokens.id_token.claims[PERMS], namesOf('auth0|big'));
  // The audience https://<tenant>/userinfo (Auth0's user-profile endpoint, which apps ask for
  // when they want no API) is no API requested either, not an API without permissions.
  const userinfo = await login(instance, 'auth0|big', { audience: `${tenant.url}/userinfo` });
  assert.equal(userinfo.tokens.access_token.claims[PERMS], undefined);
  assert.deepEqual(userinfo.tokens.id_token.claims[PERMS], namesOf('auth0|big'));
  // Every page was read: the listing (with duplicates) needs several pages of 50.
  const pages = none.requests.filter((r) => r.path.endsWith('/permissions'));
  assert.ok(pages.length >= 3, `${pages.length} pages`);
  assert.deepEqual(pages.map((r) => Number(new URLSearchParams(r.query).get('page'))).sort((a, b) => a - b), pages.map((_, i) => i));
});

test('ID_TOKEN_APIS picks the ID token\'s APIs; PERMISSIONS_IN=none sends no request', async () => {
  const instance = createInstance();
  const r = await login(instance, 'auth0|big', { audience: tenant.apis.orders, extra: { ID_TOKEN_APIS: `${tenant.apis.reports},${tenant.apis.admin}` } });
  const both = [...new Set([...namesOf('auth0|big', tenant.apis.reports), ...namesOf('auth0|big', tenant.apis.admin)])].sort();
  assert.deepEqual(r.tokens.id_token.claims[PERMS], both);
  assert.deepEqual(r.tokens.access_token.claims[PERMS], namesOf('auth0|big', tenant.apis.orders));
  tenant.resetLog();
  const off = await login(createInstance(), 'auth0|big', { audience: tenant.apis.orders, extra: { PERMISSIONS_IN: 'none' } });
  assert.deepEqual(off.requests, []);
  assert.deepEqual(Object.keys(off.tokens.access_token.claims), [ROLES]);
});

test('the user id with |, /, a space and ? reaches the right user', async () => {
  const id = 'oauth2|corp-sso|jane/doe ?x';
  const r = await login(createInstance(), id, { audience: tenant.apis.reports });
  assert.equal(r.requests[1].path, `/api/v2/users/${encodeURIComponent(id).replace(/'/g, '%27')}/permissions`);
  assert.deepEqual(r.tokens.access_token.claims[PERMS], namesOf(id, tenant.apis.reports));
  assert.equal(r.tokens.access_token.claims[PERMS].length, 2);
});

test('a token the API rejects is dropped and fetched once more', async () => {
  const instance = createInstance();
  await login(instance, 'auth0|three-perms');
  tenant.revokeTokens();
  const r = await login(instance, 'auth0|three-perms');
  assert.equal(r.report.outcome, 'complete');
  assert.deepEqual(r.requests.map((x) => `${x.method} ${x.path.replace(/users\/.*\//, 'users/…/')} ${x.status}`), [
    'GET /api/v2/users/…/permissions 401',
    'POST /oauth/token 200',
    'GET /api/v2/users/…/permissions 200',
  ]);
});

// Each fault, under both policies: the code, the outcome, and well inside the deadline.
const FAULTS = [
  { name: 'latency', route: 'permissions', fault: { latencyMs: 150 }, code: null },
  // A Management API 429 is not retried: the bucket is the whole tenant's (cache.test.js has the rest).
  { name: '429 twice, reset in 1 s', route: 'permissions', fault: { rateLimited: { times: 2, resetIn: 1 } }, code: 'rate_limited' },
  { name: '429 with a long Retry-After', route: 'permissions', fault: { rateLimited: { times: 5, retryAfter: 60 } }, code: 'rate_limited' },
  { name: '5xx once', route: 'permissions', fault: { status: 503, times: 1 }, code: null },
  { name: '5xx always', route: 'permissions', fault: { status: 500 }, code: 'management_api_error' },
  { name: 'malformed body', route: 'permissions', fault: { malformed: 'text' }, code: 'response_invalid' },
  { name: 'wrong shape', route: 'permissions', fault: { malformed: 'shape' }, code: 'response_invalid' },
  { name: 'truncated body', route: 'permissions', fault: { malformed: 'truncated' }, code: 'response_invalid' },
  { name: 'hang', route: 'permissions', fault: { hang: true }, code: 'timeout' },
  { name: 'body stops halfway', route: 'permissions', fault: { stallBody: true }, code: 'timeout' },
  { name: 'token endpoint down', route: 'token', fault: { status: 503 }, code: 'token_request_failed' },
  { name: 'token endpoint hangs', route: 'token', fault: { hang: true }, code: 'timeout' },
];

for (const { name, route, fault, code } of FAULTS) {
  for (const policy of ['deny', 'continue']) {
    test(`fault "${name}" under ON_ERROR=${policy}: ${code || 'recovered'}`, async () => {
      tenant.inject(route, fault);
      const extra = { ON_ERROR: policy, HTTP_TIMEOUT_MS: '400', DEADLINE_MS: '3000' };
      const r = await login(createInstance(), 'auth0|three-perms', { audience: tenant.apis.orders, extra });
      assert.ok(r.ms < 3000 + 500, `${r.ms} ms`);
      if (!code) {
        assert.deepEqual(r.report, { outcome: 'complete', codes: [] });
        assert.equal(r.tokens.access_token.claims[PERMS].length, 3);
        return;
      }
      assert.equal(r.logs.length, 1, r.logs.join('\n'));
      assert.match(r.logs[0], new RegExp(`^\\[auth0-rbac-claims\\] ${code}: `));
      if (policy === 'deny') {
        assert.deepEqual(r.report, { outcome: 'denied', codes: [code] });
        assert.equal(r.denied, `Authorization data for this login is unavailable (${code}).`);
        assert.deepEqual([r.tokens.id_token.claims, r.tokens.access_token.claims], [{}, {}]);
      } else {
        assert.deepEqual(r.report, { outcome: 'degraded', codes: [code] });
        assert.equal(r.denied, null);
        assert.deepEqual(r.tokens.id_token.claims, { [ROLES]: ['viewer'] });
        assert.deepEqual(r.tokens.access_token.claims, { [ROLES]: ['viewer'] });
      }
    });
  }
}

// undici's fetch follows the abort signal through weak references only: once the engine
// collects the objects in between, a timeout that fires aborts nothing, and a server that never
// answers holds the login until undici's own five-minute timeouts. Garbage collection is forced
// while the answer is awaited (before its headers, then halfway through its body), as a busy
// instance would collect: the login must still end at HTTP_TIMEOUT_MS, and the connection must
// be closed then, not left open until undici's own timeout.
const gc = (() => {
  require('node:v8').setFlagsFromString('--expose-gc');
  return require('node:vm').runInNewContext('gc');
})();
for (const fault of [{ hang: true }, { stallBody: true }]) {
  test(`an answer that stalls (${Object.keys(fault)[0]}) ends at HTTP_TIMEOUT_MS while the engine collects garbage`, { timeout: 20_000 }, async () => {
    tenant.inject('permissions', fault);
    const collecting = setInterval(gc, 25);
    try {
      const extra = { HTTP_TIMEOUT_MS: '400', DEADLINE_MS: '3000' };
      const r = await login(createInstance(), 'auth0|three-perms', { audience: tenant.apis.orders, extra });
      assert.deepEqual(r.report, { outcome: 'denied', codes: ['timeout'] });
      assert.ok(r.ms < 3000, `${r.ms} ms`);
      const stalled = tenant.requests.filter((x) => x.route === 'permissions');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(stalled.length >= 1);
      for (const x of stalled) assert.ok(x.abandonedMs !== undefined && x.abandonedMs < 1000, `closed after ${x.abandonedMs} ms`);
    } finally {
      clearInterval(collecting);
    }
  });
}

test('a redirect is not followed: the client secret and the token stay with the tenant', async () => {
  for (const [route, code] of [['token', 'token_request_failed'], ['permissions', 'management_api_error']]) {
    tenant.clearFaults();
    tenant.resetLog();
    tenant.inject(route, { status: 307, headers: { location: `${tenant.url}/elsewhere` } });
    const r = await login(createInstance(), 'auth0|three-perms');
    assert.deepEqual(r.report, { outcome: 'denied', codes: [code] }, route);
    assert.match(r.logs[0], /HTTP 307/, r.logs[0]);
    assert.deepEqual(tenant.requests.filter((x) => x.path === '/elsewhere'), [], route);
  }
});

test('claims over MAX_CLAIMS_BYTES: deny, or drop the whole permissions claim under continue', async () => {
  const denied = await login(createInstance(), 'auth0|big', { audience: tenant.apis.orders, extra: { MAX_CLAIMS_BYTES: '500' } });
  assert.deepEqual(denied.report, { outcome: 'denied', codes: ['claims_too_large'] });
  const continued = await login(createInstance(), 'auth0|big', { audience: tenant.apis.orders, extra: { MAX_CLAIMS_BYTES: '500', ON_ERROR: 'continue' } });
  assert.deepEqual(continued.report, { outcome: 'degraded', codes: ['claims_too_large'] });
  assert.deepEqual(Object.keys(continued.tokens.access_token.claims), [ROLES]);
  assert.ok(continued.tokens.access_token.bytes <= 500);
});

test('wrong credentials and a missing scope are reported with what to fix', async () => {
  const wrong = await login(createInstance(), 'auth0|three-perms', { extra: { AUTH0_CLIENT_SECRET: 'not-the-secret' } });
  assert.match(wrong.logs[0], /token_request_failed: the token request was refused \(access_denied\): check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET \(HTTP 401, POST \/oauth\/token\)/);
  const unknown = await runLogin(createInstance(), { userId: 'auth0|nobody', settings: settings() });
  assert.match(unknown.logs[0], /management_api_error: the user does not exist in this tenant/);
  assert.match(unknown.logs[0], /HTTP 404, GET \/api\/v2\/users\/auth0%7Cnobody\/permissions/);
});

test('the client secret and the token never appear in any output', async () => {
  const instance = createInstance();
  const outputs = [];
  const faults = [{ status: 500 }, { malformed: 'text' }, { hang: true }, { rateLimited: { times: 9, retryAfter: 99 } }];
  for (const fault of [null, ...faults]) {
    tenant.clearFaults();
    if (fault) tenant.inject('permissions', fault);
    const r = await login(instance, 'auth0|big', { audience: tenant.apis.orders, extra: { ON_ERROR: 'continue', HTTP_TIMEOUT_MS: '300' } });
    outputs.push(...r.logs, String(r.denied), JSON.stringify(r.report));
  }
  const text = outputs.join('\n');
  assert.ok(outputs.length > 5);
  assert.ok(!text.includes(tenant.clientSecret));
  assert.doesNotMatch(text, /eyJ[\w-]+\.eyJ[\w-]+/, 'no JWT (the Management API token) in any output');
  assert.ok(!JSON.stringify(tenant.requests).includes(tenant.clientSecret));
});

test('PERMISSIONS_ENDPOINT=effective: one API per read, cursor paging, group grants included', async () => {
  const own = await startMockTenant();
  try {
    own.grantThroughGroup('auth0|big', tenant.apis.orders, 'orders:via-group');
    const api = own.apis.orders;
    const r = await runLogin(createInstance(), {
      userId: 'auth0|big',
      user: own.users['auth0|big'],
      roles: own.users['auth0|big'].roles,
      audience: api,
      settings: { ...settings({ PERMISSIONS_ENDPOINT: 'effective' }), ...own.secrets() },
    });
    assert.deepEqual(r.report, { outcome: 'complete', codes: [] });
    const legacy = [...new Set(own.expectedPermissions('auth0|big').filter((p) => p.resource_server_identifier === api).map((p) => p.permission_name))];
    assert.deepEqual(r.tokens.access_token.claims[PERMS], [...legacy, 'orders:via-group'].sort());
    const reads = r.requests.filter((q) => q.path.includes('/effective-permissions'));
    assert.equal(reads.length, 2, 'more than 50 names: a second page after the cursor');
    const queries = reads.map((q) => new URLSearchParams(q.query));
    assert.ok(queries.every((q) => q.get('resource_server_identifier') === api && q.get('take') === '50'));
    assert.equal(queries[0].get('from'), null);
    assert.ok(queries[1].get('from'), 'the second page starts at the cursor');
    assert.ok(!r.requests.some((q) => /\/permissions$/.test(q.path)), 'not the other endpoint');
    // The other endpoint does not see the group grant.
    const older = await runLogin(createInstance(), {
      userId: 'auth0|big', user: own.users['auth0|big'], roles: own.users['auth0|big'].roles, audience: api,
      settings: { ...settings(), ...own.secrets() },
    });
    assert.ok(!older.tokens.access_token.claims[PERMS].includes('orders:via-group'));
    // ID_TOKEN_APIS=* cannot be read one API at a time: refused, named.
    const star = await login(createInstance(), 'auth0|big', { audience: api, extra: { PERMISSIONS_ENDPOINT: 'effective', ID_TOKEN_APIS: '*' } });
    assert.deepEqual(star.report, { outcome: 'denied', codes: ['config_invalid'] });
    assert.match(star.logs[0], /ID_TOKEN_APIS=\* cannot be read with PERMISSIONS_ENDPOINT=effective/);
    // An application without read:user_effective_permissions: denied, and told which scope to grant.
    const narrow = own.addClient('read:users read:roles');
    const refused = await runLogin(createInstance(), {
      userId: 'auth0|big', user: own.users['auth0|big'], roles: own.users['auth0|big'].roles, audience: api,
      settings: { ...settings({ PERMISSIONS_ENDPOINT: 'effective' }), ...own.secrets({}, narrow) },
    });
    assert.deepEqual(refused.report, { outcome: 'denied', codes: ['management_api_error'] });
    assert.match(refused.logs.join('\n'), /authorise it for the Management API with read:user_effective_permissions/);
    const bad = await login(createInstance(), 'auth0|big', { audience: api, extra: { PERMISSIONS_ENDPOINT: 'groups' } });
    assert.match(bad.logs[0], /PERMISSIONS_ENDPOINT must be permissions or effective/);
  } finally {
    await own.close();
  }
});
