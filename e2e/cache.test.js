// The permissions cache end to end: dist/action.js in the sandbox against the mock tenant over
// real HTTP, with app_metadata persisted from one login to the next as Auth0 does, several
// instances sharing one api.cache, and the tenant's Management API bucket enforced.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { startMockTenant } = require('../local/mock');
const { createInstance, runLogin } = require('../local/runner');
const { createCache, makeEvent } = require('../local/sandbox');

const NS = 'https://myapp.example.com';
const PERMS = `${NS}/permissions`;
const KEY = 'auth0_rbac_claims';

let tenant;
test.before(async () => {
  tenant = await startMockTenant();
});
test.after(() => tenant.close());
test.beforeEach(() => {
  tenant.clearFaults();
  tenant.resetLog();
  tenant.setRateLimit(null);
});

const unhandled = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));
test.after(() => assert.deepEqual(unhandled, []));

const settings = (extra = {}) => ({
  ...tenant.secrets({ CLAIM_NAMESPACE: NS }),
  ...extra,
});

/** Instances of one Action: one api.cache and one user store, each its own memory. */
function cluster(n = 1) {
  const cache = createCache();
  const profiles = new Map();
  return Array.from({ length: n }, () => createInstance({ cache, profiles }));
}

function login(instance, userId, { audience = tenant.apis.orders, extra, organization } = {}) {
  const user = tenant.users[userId];
  return runLogin(instance, { userId, user, roles: user.roles, audience, organization, settings: settings(extra) });
}

const management = (r) => r.requests.filter((q) => q.path.startsWith('/api/v2/'));
const expected = (userId, api = tenant.apis.orders) =>
  [...new Set(tenant.expectedPermissions(userId).filter((p) => p.resource_server_identifier === api).map((p) => p.permission_name))].sort();

test('a miss, then hits: from memory, and in another instance from app_metadata, with no request at all', async () => {
  const [a, b] = cluster(2);
  const first = await login(a, 'auth0|big');
  assert.deepEqual(first.report, { outcome: 'complete', codes: [] });
  assert.equal(management(first).length, 4);
  assert.deepEqual(first.tokens.access_token.claims[PERMS], expected('auth0|big'));
  assert.equal(first.appMetadata.length, 1);
  const [key, stored] = first.appMetadata[0];
  assert.equal(key, KEY);
  assert.match(stored, /^p1\.\d{10}\.[A-Za-z0-9_-]{43}\./);
  assert.ok(!stored.includes(tenant.clientSecret));

  const again = await login(a, 'auth0|big');
  assert.deepEqual(again.requests, [], 'memory');
  assert.deepEqual(again.appMetadata, [], 'nothing new to store');
  const elsewhere = await login(b, 'auth0|big');
  assert.deepEqual(elsewhere.requests, [], 'app_metadata: not even a token request');
  assert.deepEqual(elsewhere.tokens.access_token.claims[PERMS], expected('auth0|big'));
  assert.deepEqual(elsewhere.tokens.id_token.claims[PERMS], first.tokens.id_token.claims[PERMS]);
});

test('other app_metadata keys are left as they were', async () => {
  const [a] = cluster();
  const user = tenant.users['auth0|three-perms'];
  a.profiles.set(user.user_id, { plan: 'pro', nested: { deep: [1, 2] } });
  const r = await login(a, 'auth0|three-perms');
  assert.deepEqual(r.appMetadata.map(([k]) => k), [KEY]);
  const after = a.profiles.get(user.user_id);
  assert.deepEqual(Object.keys(after).sort(), [KEY, 'nested', 'plan']);
  assert.deepEqual(after.nested, { deep: [1, 2] });
});

test('a role added or removed shows at the very next login', async () => {
  const [a, b] = cluster(2);
  const id = 'auth0|three-perms';
  try {
    await login(a, id);
    tenant.setRoles(id, ['viewer', 'admin']);
    const added = await login(b, id);
    assert.ok(management(added).length > 0, 'fetched again');
    assert.deepEqual(added.tokens.access_token.claims[PERMS], expected(id));
    assert.ok(added.tokens.access_token.claims[PERMS].includes('orders:op-00'));
    tenant.setRoles(id, ['viewer']);
    // b remembers the set of [viewer, admin] and app_metadata holds it: neither is used.
    const removed = await login(b, id);
    assert.ok(management(removed).length > 0, 'fetched again');
    assert.deepEqual(removed.tokens.access_token.claims[PERMS], ['read:customers', 'read:invoices', 'read:orders']);
  } finally {
    tenant.setRoles(id, ['viewer']);
  }
});

test('a direct grant and an edited role show within PERMISSIONS_TTL', async () => {
  const [a] = cluster();
  const id = 'auth0|pm';
  const extra = { PERMISSIONS_TTL: '1' };
  const api = tenant.apis.projects;
  try {
    assert.deepEqual((await login(a, id, { audience: api, extra })).tokens.access_token.claims[PERMS], ['read:project-list']);
    tenant.grant(id, api, 'write:project-list');
    tenant.defineRole('Project Manager', [{ api, name: 'read:project-list' }, { api, name: 'read:milestones' }]);
    const soon = await login(a, id, { audience: api, extra });
    assert.deepEqual(soon.requests, [], 'within the TTL the cached set is used');
    await new Promise((r) => setTimeout(r, 1100));
    const later = await login(a, id, { audience: api, extra });
    assert.deepEqual(later.tokens.access_token.claims[PERMS], ['read:milestones', 'read:project-list', 'write:project-list']);
  } finally {
    tenant.revoke(id, api, 'write:project-list');
    tenant.defineRole('Project Manager', [{ api, name: 'read:project-list' }]);
  }
});

test('Management API down after warm-up: users seen before log in on stale permissions, a newcomer follows ON_ERROR', async () => {
  const [a, b] = cluster(2);
  const extra = { PERMISSIONS_TTL: '1' };
  await login(a, 'auth0|three-perms', { extra });
  await new Promise((r) => setTimeout(r, 1100));
  tenant.inject('permissions', { status: 503 });
  for (const instance of [a, b]) {
    const r = await login(instance, 'auth0|three-perms', { extra });
    assert.deepEqual(r.report, { outcome: 'complete', codes: ['stale_permissions'] });
    assert.deepEqual(r.tokens.access_token.claims[PERMS], ['read:customers', 'read:invoices', 'read:orders']);
    assert.equal(r.logs.length, 1, r.logs.join('\n'));
    assert.match(r.logs[0], /^\[auth0-rbac-claims\] stale_permissions: refreshing the permissions failed \(management_api_error\); permissions computed [1-9]\d* s ago for the same roles were used/);
  }
  const newcomer = await login(a, 'auth0|pm', { extra });
  assert.deepEqual(newcomer.report, { outcome: 'denied', codes: ['management_api_error'] });
  const lenient = await login(b, 'auth0|pm', { extra: { ...extra, ON_ERROR: 'continue' } });
  assert.deepEqual(lenient.report, { outcome: 'degraded', codes: ['management_api_error'] });
});

test('a stored value that is corrupt, forged, edited, old, foreign or oversized is ignored and replaced', async () => {
  const id = 'auth0|three-perms';
  const [warm] = cluster();
  const genuine = (await login(warm, id)).appMetadata[0][1];
  const [head, time, mac, payload] = genuine.split('.', 4).concat(genuine.split('.').slice(4).join('.'));
  const forgedGrant = `${tenant.apis.orders}=admin:everything,read:orders`;
  const values = {
    corrupt: 'p1.x.y',
    'not a string': { permissions: ['admin:everything'] },
    'edited payload': `${head}.${time}.${mac}.${forgedGrant}`,
    'edited time': `${head}.${Number(time) + 1}.${mac}.${payload}`,
    'forged MAC': `${head}.${time}.${'A'.repeat(43)}.${forgedGrant}`,
    'empty MAC': `${head}.${time}..${forgedGrant}`,
    'older format': `p0.${time}.${mac}.${payload}`,
    'another tenant': null, // filled below
    oversized: `${head}.${time}.${mac}.${'x'.repeat(6000)}`,
    'deep garbage': [[[[[[{ a: 1 }]]]]]],
  };
  // Signed with another client secret (another tenant's, or another Action's): same shape.
  const other = await startMockTenant();
  try {
    const foreign = createInstance();
    const r = await runLogin(foreign, {
      userId: id,
      user: other.users[id],
      roles: other.users[id].roles,
      audience: other.apis.orders,
      settings: other.secrets({ CLAIM_NAMESPACE: NS }),
    });
    values['another tenant'] = r.appMetadata[0][1];
  } finally {
    await other.close();
  }
  for (const [what, value] of Object.entries(values)) {
    const [a] = cluster();
    a.profiles.set(id, { keep: 'me', [KEY]: value });
    const r = await login(a, id);
    assert.deepEqual(r.report, { outcome: 'complete', codes: [] }, what);
    assert.equal(management(r).length, 1, `${what}: fetched`);
    assert.deepEqual(r.tokens.access_token.claims[PERMS], ['read:customers', 'read:invoices', 'read:orders'], what);
    assert.match(r.appMetadata[0][1], /^p1\./, `${what}: replaced by a genuine value`);
    assert.equal(a.profiles.get(id).keep, 'me', what);
  }
});

test('a set over the stored bound stays in memory only; a failing setAppMetadata never fails a login', async () => {
  const [a] = cluster();
  const user = tenant.addUser('auth0|huge-cache', { count: 400 });
  const r = await runLogin(a, { userId: user.user_id, user, roles: [], audience: tenant.apis.orders, settings: settings() });
  assert.deepEqual(r.report, { outcome: 'complete', codes: [] });
  assert.deepEqual(r.appMetadata, [], 'too large to store');
  const again = await runLogin(a, { userId: user.user_id, user, roles: [], audience: tenant.apis.orders, settings: settings() });
  assert.deepEqual(again.requests, [], 'memory serves it');
  // app_metadata that is not an object: Auth0's setAppMetadata throws; the login goes on.
  const [b] = cluster();
  b.profiles.set('auth0|three-perms', 'not an object');
  const odd = await login(b, 'auth0|three-perms');
  assert.deepEqual(odd.report, { outcome: 'complete', codes: [] });
  assert.equal(odd.logs.length, 1);
  assert.match(odd.logs[0], /warning: api\.user\.setAppMetadata failed \(it threw\); permissions are cached in this instance's memory only/);
});

test('the Management API token in api.cache is encrypted, and a planted one is not used', async () => {
  const [a, b] = cluster(2);
  const first = await login(a, 'auth0|three-perms');
  const entries = [...a.cache.entries];
  assert.equal(entries.length, 1);
  const [cacheKey, record] = entries[0];
  const issued = tenant.requests.find((q) => q.route === 'token');
  assert.ok(issued);
  // Sealed: base64url only. A JWT's three parts are joined by dots, which base64url never has
  // (testing for "eyJ" would fail by chance once in a few hundred runs: it is base64url text).
  assert.match(record.value, /^[A-Za-z0-9_-]+$/, 'no JWT in the shared cache');
  assert.ok(record.value.length < 4096);
  // Another Action writes a token of its own choosing under the same key: it is not opened.
  a.cache.set(cacheKey, 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJldmlsIn0.', { ttl: 3_600_000 });
  tenant.resetLog();
  const planted = await login(b, 'auth0|pm', { audience: tenant.apis.projects });
  assert.deepEqual(planted.report, { outcome: 'complete', codes: [] });
  assert.deepEqual(planted.requests.map((q) => `${q.method} ${q.path}`).slice(0, 1), ['POST /oauth/token']);
  assert.ok(first.report);
});

test('a sealed value opens only with its key, its purpose and its whole 16-byte tag', async () => {
  const { actionCrypto } = await import('../js-shim/crypto.mjs');
  const crypto = require('node:crypto');
  const sealed = actionCrypto.seal('secret', 'token', 'the token');
  assert.equal(actionCrypto.open('secret', 'token', sealed), 'the token');
  assert.equal(actionCrypto.open('other', 'token', sealed), undefined);
  assert.equal(actionCrypto.open('secret', 'permissions', sealed), undefined);
  // Sealed with the right key but a 4-byte tag (GCM computes and checks short tags): refused.
  // With an empty plaintext the value is 16 bytes, which the old `open` read as a 4-byte tag.
  const key = crypto.hkdfSync('sha256', 'secret', 'auth0-rbac-claims', 'token', 32);
  for (const plaintext of ['', 'evil']) {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', Buffer.from(key), iv, { authTagLength: 4 });
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const short = Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
    assert.equal(actionCrypto.open('secret', 'token', short), undefined, JSON.stringify(plaintext));
  }
});

test('PERMISSIONS_TTL=0 is exact per login: every login fetches, nothing is stored', async () => {
  const [a] = cluster();
  for (let i = 0; i < 3; i++) {
    const r = await login(a, 'auth0|three-perms', { extra: { PERMISSIONS_TTL: '0' } });
    assert.equal(management(r).length, 1);
    assert.deepEqual(r.appMetadata, []);
  }
});

test('PERMISSIONS_SOURCE=roles: requests per role, never per user, and nothing written to users', async () => {
  const [a, b] = cluster(2);
  const extra = { PERMISSIONS_SOURCE: 'roles' };
  let seen = 0;
  for (const id of ['auth0|three-perms', 'auth0|big', 'auth0|pm', 'auth0|admin', 'auth0|many-roles']) {
    for (const instance of [a, b]) {
      const user = tenant.users[id];
      const r = await runLogin(instance, { userId: id, user, roles: user.roles, audience: tenant.apis.orders, settings: settings(extra) });
      assert.deepEqual(r.report, { outcome: 'complete', codes: [] }, id);
      assert.deepEqual(r.appMetadata, []);
      assert.ok(r.requests.every((q) => !q.path.startsWith('/api/v2/users/')), 'no per-user request');
      // Roles only: the big user's direct grants are not included.
      const fromRoles = [...new Set(user.roles.flatMap((role) => tenant.rolePermissions(role)).filter((p) => p.api === tenant.apis.orders).map((p) => p.name))].sort();
      assert.deepEqual(r.tokens.access_token.claims[PERMS] || [], fromRoles, id);
      seen += r.requests.filter((q) => q.path.startsWith('/api/v2/roles')).length;
    }
  }
  const roles = new Set(['viewer', 'admin', 'editor', 'Project Manager', 'Administrator', ...tenant.users['auth0|many-roles'].roles]);
  // Per instance: every role's id in one request, then one page of permissions per role.
  assert.equal(seen, 2 * (1 + roles.size));
  // Again in both instances: all from memory.
  const again = await login(a, 'auth0|many-roles', { extra });
  assert.deepEqual(again.requests, []);
});

test('a login stream against the tenant bucket: after warm-up no deny, almost no requests', async () => {
  tenant.setRateLimit({ burst: 10, perSecond: 2.5 });
  const instances = cluster(4);
  const users = ['auth0|no-roles', 'auth0|three-perms', 'auth0|big', 'auth0|admin', 'auth0|pm', 'auth0|many-roles'];
  const run = async (seconds, perSecond) => {
    const results = [];
    const started = Date.now();
    let n = 0;
    while (Date.now() - started < seconds * 1000) {
      const instance = instances[n % instances.length];
      const id = users[n % users.length];
      n += 1;
      results.push(login(instance, id));
      await new Promise((r) => setTimeout(r, 1000 / perSecond));
    }
    return Promise.all(results);
  };
  // Warm-up: every user's first logins may meet the empty bucket; retry until each has a set.
  let warm = await run(3, 10);
  for (let round = 0; round < 10 && warm.some((r) => r.denied); round++) {
    await new Promise((r) => setTimeout(r, 1000));
    warm = await run(1, 10);
  }
  const measured = await run(3, 10);
  const denied = measured.filter((r) => r.denied !== null);
  assert.deepEqual(denied.map((r) => r.report.codes), []);
  const requests = measured.reduce((sum, r) => sum + management(r).length, 0);
  assert.ok(requests / measured.length <= 0.05, `${requests} Management API requests for ${measured.length} logins`);
  for (const r of measured) assert.equal(r.report.outcome, 'complete');
});

// Organizations: a login through one gets the permissions of the roles the member holds there
// (tenant roles assigned there and Organization roles), never the user's tenant-wide ones.
const orgLogin = (instance, userId, organization, extra) => {
  const user = tenant.users[userId];
  const roles = tenant.memberRoles(organization, userId) || [];
  return runLogin(instance, { userId, user, roles, audience: tenant.apis.orders, organization: { id: organization, name: 'acme' }, settings: settings(extra) });
};
const roleNames = (names, api = tenant.apis.orders) =>
  [...new Set(names.flatMap((n) => tenant.rolePermissions(n)).filter((p) => p.api === api).map((p) => p.name))].sort();

test('through an Organization: the member\'s roles there, not tenant-wide (admin outside, viewer inside)', async () => {
  for (const extra of [{}, { PERMISSIONS_TTL: '0' }, { PERMISSIONS_SOURCE: 'roles' }]) {
    const [a] = cluster(1);
    const inside = await orgLogin(a, 'auth0|big', 'org_acme', extra);
    assert.deepEqual(inside.report, { outcome: 'complete', codes: [] }, JSON.stringify(extra));
    assert.deepEqual(inside.tokens.access_token.claims[PERMS], roleNames(['viewer']));
    assert.deepEqual(inside.tokens.access_token.claims[PERMS], ['read:customers', 'read:invoices', 'read:orders']);
    const paths = management(inside).map((q) => q.path);
    assert.ok(paths.includes('/api/v2/organizations/org_acme/members/auth0%7Cbig/roles'), paths.join('\n'));
    assert.ok(!paths.some((p) => p.startsWith('/api/v2/users/')), 'no tenant-wide read');
    // The same user outside the Organization: everything tenant-wide, not the Organization's set.
    const outside = await login(a, 'auth0|big', { extra });
    // (The roles source leaves out direct grants, as always.)
    const tenantWide = extra.PERMISSIONS_SOURCE === 'roles' ? roleNames(tenant.users['auth0|big'].roles) : expected('auth0|big');
    assert.deepEqual(outside.tokens.access_token.claims[PERMS], tenantWide);
    assert.ok(outside.tokens.access_token.claims[PERMS].length > 3);
  }
});

test('Organization sets are cached per user and Organization; a role changed there shows at the next login', async () => {
  const [a, b] = cluster(2);
  await orgLogin(a, 'auth0|three-perms', 'org_acme');
  tenant.resetLog();
  const again = await orgLogin(b, 'auth0|three-perms', 'org_acme');
  assert.equal(management(again).length, 0, 'from app_metadata, on another instance');
  assert.deepEqual(again.tokens.access_token.claims[PERMS], roleNames(['viewer', 'analyst']));
  // The member loses `analyst` in the Organization: event.authorization.roles changes with it.
  tenant.setMemberRoles('org_acme', 'auth0|three-perms', ['viewer']);
  try {
    const after = await orgLogin(b, 'auth0|three-perms', 'org_acme');
    assert.deepEqual(after.tokens.access_token.claims[PERMS], roleNames(['viewer']));
  } finally {
    tenant.setMemberRoles('org_acme', 'auth0|three-perms', ['viewer', 'analyst']);
  }
});

test('a login through an Organization the user is not a member of gets no permissions: ON_ERROR decides', async () => {
  const [a] = cluster(1);
  const denied = await orgLogin(a, 'auth0|pm', 'org_acme');
  assert.deepEqual(denied.report, { outcome: 'denied', codes: ['management_api_error'] });
  assert.match(denied.logs.join('\n'), /not a member of the login's Organization/);
  const lenient = await orgLogin(a, 'auth0|pm', 'org_acme', { ON_ERROR: 'continue' });
  assert.equal(lenient.denied, null);
  assert.equal(lenient.tokens.access_token.claims[PERMS], undefined, 'no permissions claim at all');
});
