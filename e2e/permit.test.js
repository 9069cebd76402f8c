// Permit.io sync end to end: dist/action.js in the sandbox against the mock tenant's Permit
// endpoints (state: users, role assignments per tenant and on resource instances). Each mode, the
// role map and role keys (slugs), updates that keep what other tools set, assignments on resource
// instances left alone, both PERMIT_ON_ERROR values, and that the Permit key never appears in
// output.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { startMockTenant } = require('../local/mock');
const { createInstance, runLogin } = require('../local/runner');

const NS = 'https://myapp.example.com';
let tenant;

test.before(async () => {
  tenant = await startMockTenant();
});
test.after(() => tenant.close());
test.beforeEach(() => {
  tenant.clearFaults();
  tenant.resetLog();
  tenant.permit.reset();
});

function settings(extra = {}) {
  return {
    CLAIM_NAMESPACE: NS,
    PERMISSIONS_IN: 'none',
    PERMIT_API_KEY: tenant.permit.apiKey,
    PERMIT_API_URL: tenant.url,
    ...extra,
  };
}

function login(userId, { roles, extra, instance = createInstance(), user = tenant.users[userId] } = {}) {
  return runLogin(instance, { userId, user, roles: roles ?? user.roles, settings: settings(extra) });
}

const rolesIn = (userId, tenantKey = 'default') =>
  tenant.permit.assignments.filter((a) => a.user === userId && a.tenant === tenantKey).map((a) => a.role).sort();
const permitRequests = (result) => result.requests.filter((r) => r.path.startsWith('/v2/')).map((r) => `${r.method} ${r.path.replace(/\/v2\/facts\/[^/]+\/[^/]+/, '/v2/facts/…')}`);

test('reconcile (default with a key): the first login creates the user and assigns its roles', async () => {
  const r = await login('auth0|big');
  assert.deepEqual(r.report, { outcome: 'complete', codes: [] });
  const user = tenant.permit.users.get('auth0|big');
  assert.equal(user.email, tenant.users['auth0|big'].email);
  assert.equal(user.first_name, tenant.users['auth0|big'].given_name);
  assert.deepEqual(rolesIn('auth0|big'), [...tenant.users['auth0|big'].roles].sort());
  // Unknown to Permit: the update answers 404 and the user is created; then one assignment
  // per role.
  assert.deepEqual(permitRequests(r).slice(0, 4), [
    'GET /v2/api-key/scope',
    'PATCH /v2/facts/…/users/auth0%7Cbig',
    'GET /v2/facts/…/role_assignments',
    'POST /v2/facts/…/users',
  ]);
  assert.deepEqual(permitRequests(r).slice(4), tenant.users['auth0|big'].roles.map(() => 'POST /v2/facts/…/role_assignments'));
});

test('reconcile: steady state is two requests; a role removed in Permit comes back, one removed in Auth0 goes', async () => {
  const instance = createInstance();
  await login('auth0|big', { instance });
  tenant.resetLog();
  const steady = await login('auth0|big', { instance });
  assert.deepEqual(permitRequests(steady), ['PATCH /v2/facts/…/users/auth0%7Cbig', 'GET /v2/facts/…/role_assignments']);

  // Someone removes `editor` in Permit; Auth0 still has it: Auth0 is the source of truth.
  tenant.permit.assignments.splice(tenant.permit.assignments.findIndex((a) => a.user === 'auth0|big' && a.role === 'editor'), 1);
  await login('auth0|big', { instance });
  assert.ok(rolesIn('auth0|big').includes('editor'));

  // `admin` is removed in Auth0: the next login unassigns it.
  await login('auth0|big', { instance, roles: ['editor'] });
  assert.deepEqual(rolesIn('auth0|big'), ['editor']);
});

test('assignments go one per role, not through the bulk endpoints (100 requests per 10 minutes): 110 users new to Permit all get their roles', async () => {
  const instance = createInstance();
  const users = Array.from({ length: 110 }, (_, i) => `auth0|new-${i}`);
  for (const userId of users) {
    const r = await login(userId, { instance, roles: ['viewer', 'editor'], user: { user_id: userId, email: `${userId.slice(6)}@example.com` } });
    assert.deepEqual(r.report, { outcome: 'complete', codes: [] }, userId);
  }
  for (const userId of users) assert.deepEqual(rolesIn(userId), ['editor', 'viewer'], userId);
  assert.ok(!tenant.requests.some((r) => r.path.endsWith('/bulk')));
});

test('two logins of one user at once both complete: an assignment made meanwhile (409) or a removal made meanwhile (404) is what was asked', async () => {
  // Both send each request in the same tick, and every Permit answer is 100 ms late, so both
  // read the assignments before either changes them (checked below: the counts).
  tenant.inject('permit', { latencyMs: 100 });
  const both = (roles) => Promise.all([login('auth0|big', { roles }), login('auth0|big', { roles })]);
  const first = await both(['editor', 'auditor']);
  for (const r of first) assert.deepEqual(r.report, { outcome: 'complete', codes: [] });
  assert.deepEqual(rolesIn('auth0|big'), ['auditor', 'editor']);
  tenant.resetLog();
  const second = await both(['editor']);
  for (const r of second) assert.deepEqual(r.report, { outcome: 'complete', codes: [] });
  assert.deepEqual(rolesIn('auth0|big'), ['editor']);
  // The race did happen: each role was assigned twice the first time, unassigned twice the second.
  const sent = (results, line) => results.flatMap(permitRequests).filter((l) => l === line).length;
  assert.equal(sent(first, 'POST /v2/facts/…/role_assignments'), 4);
  assert.equal(sent(second, 'DELETE /v2/facts/…/role_assignments'), 2);
});

test('a role Permit refuses blocks neither the removals nor the other roles; the failure is reported', async () => {
  const instance = createInstance();
  await login('auth0|big', { instance, roles: ['editor', 'admin'] });
  // `support` is a role key, so it passes through unmapped, but Permit has no such role (404).
  const r = await login('auth0|big', { instance, roles: ['support', 'editor', 'auditor'] });
  assert.deepEqual(r.report, { outcome: 'degraded', codes: ['permit_sync_failed'] });
  assert.deepEqual(rolesIn('auth0|big'), ['auditor', 'editor'], 'admin removed and auditor assigned all the same');
});

test('add-only never unassigns', async () => {
  await login('auth0|big');
  const r = await login('auth0|big', { roles: ['editor'], extra: { PERMIT_SYNC: 'add-only' } });
  assert.equal(r.report.outcome, 'complete');
  assert.deepEqual(rolesIn('auth0|big'), ['admin', 'editor']);
  await login('auth0|big', { roles: ['editor', 'auditor'], extra: { PERMIT_SYNC: 'add-only' } });
  assert.deepEqual(rolesIn('auth0|big'), ['admin', 'auditor', 'editor']);
});

test('first-login creates a new user with its roles, then leaves it alone', async () => {
  const extra = { PERMIT_SYNC: 'first-login', PERMIT_ROLE_MAP: JSON.stringify({ 'Project Manager': 'project-manager' }) };
  const first = await login('auth0|pm', { extra });
  assert.deepEqual(rolesIn('auth0|pm'), ['project-manager']);
  assert.deepEqual(permitRequests(first).slice(1), [
    'GET /v2/facts/…/users/auth0%7Cpm',
    'POST /v2/facts/…/users',
    'POST /v2/facts/…/role_assignments',
  ]);
  tenant.resetLog();
  const later = await login('auth0|pm', { roles: ['auditor'], extra });
  assert.deepEqual(permitRequests(later).slice(-1), ['GET /v2/facts/…/users/auth0%7Cpm']);
  assert.deepEqual(rolesIn('auth0|pm'), ['project-manager']);
});

test('the update keeps the attributes and fields other tools set in Permit', async () => {
  tenant.permit.users.set('auth0|big', { key: 'auth0|big', email: 'old@example.com', first_name: 'Set elsewhere', attributes: { plan: 'gold', region: 'eu' } });
  await login('auth0|big', { user: { ...tenant.users['auth0|big'], given_name: undefined } });
  const user = tenant.permit.users.get('auth0|big');
  assert.equal(user.email, tenant.users['auth0|big'].email);
  assert.deepEqual(user.attributes, { plan: 'gold', region: 'eu' });
  assert.equal(user.first_name, 'Set elsewhere', 'a field the profile lacks is not cleared');
});

test('assignments on a resource instance are neither counted as tenant roles nor removed', async () => {
  await login('auth0|big', { roles: ['editor'] });
  tenant.permit.assignOnInstance('auth0|big', 'admin', 'document:1');
  tenant.permit.assignOnInstance('auth0|big', 'viewer', 'document:2');
  // reconcile: `admin` on document:1 is not a tenant role to remove; tenant-wide `viewer` is still
  // missing although the user has `viewer` on document:2.
  await login('auth0|big', { roles: ['editor', 'viewer'] });
  const held = tenant.permit.assignments.filter((a) => a.user === 'auth0|big').map((a) => `${a.role}@${a.resource_instance ?? 'tenant'}`).sort();
  assert.deepEqual(held, ['admin@document:1', 'editor@tenant', 'viewer@document:2', 'viewer@tenant']);
});

test('PERMIT_SYNC=off and no key make no Permit request', async () => {
  for (const extra of [{ PERMIT_SYNC: 'off' }, { PERMIT_API_KEY: '' }]) {
    const r = await login('auth0|pm', { extra });
    assert.deepEqual(permitRequests(r), []);
  }
});

test('PERMIT_ROLE_MAP maps Auth0 role names; unmapped role keys pass through; PERMIT_TENANT picks the tenant', async () => {
  const extra = { PERMIT_ROLE_MAP: JSON.stringify({ Administrator: 'project-admin' }), PERMIT_TENANT: 'acme' };
  const r = await login('auth0|admin', { roles: ['Administrator', 'auditor'], extra });
  assert.deepEqual(r.report, { outcome: 'complete', codes: [] });
  assert.deepEqual(rolesIn('auth0|admin', 'acme'), ['auditor', 'project-admin']);
  assert.deepEqual(rolesIn('auth0|admin', 'default'), []);
});

test('an unmapped role name that is not a Permit role key is left out with one warning; the rest syncs', async () => {
  const r = await login('auth0|pm', { roles: ['Project Manager', 'auditor'] });
  assert.deepEqual(r.report, { outcome: 'complete', codes: ['permit_role_unmapped'] });
  assert.equal(r.denied, null);
  assert.deepEqual(rolesIn('auth0|pm'), ['auditor']);
  assert.equal(r.logs.length, 1);
  assert.match(r.logs[0], /^\[auth0-rbac-claims\] permit_role_unmapped: .*Project Manager.*PERMIT_ROLE_MAP/);
  // Mapped, it syncs and the warning is gone.
  const mapped = await login('auth0|pm', { roles: ['Project Manager', 'auditor'], extra: { PERMIT_ROLE_MAP: JSON.stringify({ 'Project Manager': 'project-manager' }) } });
  assert.deepEqual(mapped.report, { outcome: 'complete', codes: [] });
  assert.deepEqual(rolesIn('auth0|pm'), ['auditor', 'project-manager']);
  // A map whose target is not a role key is a configuration error, named.
  const bad = await login('auth0|pm', { extra: { PERMIT_ROLE_MAP: JSON.stringify({ 'Project Manager': 'Project Manager' }) } });
  assert.equal(bad.report.outcome, 'denied');
  assert.deepEqual(bad.report.codes, ['config_invalid']);
  assert.match(bad.logs[0], /PERMIT_ROLE_MAP must be .*role keys/);
});

test('explicit PERMIT_PROJECT and PERMIT_ENVIRONMENT (keys) skip the scope lookup', async () => {
  const r = await login('auth0|big', { extra: { PERMIT_PROJECT: tenant.permit.projectKey, PERMIT_ENVIRONMENT: tenant.permit.environmentKey } });
  assert.equal(r.report.outcome, 'complete');
  assert.ok(!permitRequests(r).includes('GET /v2/api-key/scope'));
  assert.deepEqual(rolesIn('auth0|big'), [...tenant.users['auth0|big'].roles].sort());
});

test('PERMIT_ON_ERROR=continue (default) logs and issues the tokens; deny denies', async () => {
  tenant.inject('permit', { status: 500 });
  const lenient = await login('auth0|pm');
  assert.deepEqual(lenient.report, { outcome: 'degraded', codes: ['permit_sync_failed'] });
  assert.equal(lenient.denied, null);
  assert.deepEqual(lenient.tokens.id_token.claims, { [`${NS}/roles`]: ['Project Manager'] });
  assert.equal(lenient.logs.length, 1);
  assert.match(lenient.logs[0], /^\[auth0-rbac-claims\] permit_sync_failed: /);

  const strict = await login('auth0|pm', { extra: { PERMIT_ON_ERROR: 'deny' } });
  assert.deepEqual(strict.report, { outcome: 'denied', codes: ['permit_sync_failed'] });
  assert.match(strict.denied, /permit_sync_failed/);
  // ON_ERROR for the claims is independent: continue there does not soften a Permit deny.
  const both = await login('auth0|pm', { extra: { PERMIT_ON_ERROR: 'deny', ON_ERROR: 'continue' } });
  assert.equal(both.report.outcome, 'denied');
});

test('a wrong Permit key is permit_sync_failed with what to check; an unknown role too', async () => {
  const wrongKey = await login('auth0|pm', { extra: { PERMIT_API_KEY: 'permit_key_wrong_0000000000' } });
  assert.match(wrongKey.logs[0], /permit_sync_failed: check PERMIT_API_KEY/);
  const unknownRole = await login('auth0|pm', { roles: ['no-such-role'] });
  assert.match(unknownRole.logs[0], /permit_sync_failed: unknown project, environment, tenant or role/);
});

test('a Permit key fetch cannot send (a character outside visible ASCII) is permit_sync_failed, never quoted', async () => {
  const key = 'permit_key_curly\u2019quote';
  const r = await login('auth0|pm', { extra: { PERMIT_API_KEY: key } });
  assert.deepEqual(r.report, { outcome: 'degraded', codes: ['permit_sync_failed'] });
  // Refused by fetch before anything is sent: not retried, nothing reaches Permit.
  assert.match(r.logs[0], /permit_sync_failed: the request was not sent: a header value/);
  assert.deepEqual(permitRequests(r), []);
  assert.ok(!r.logs.join('\n').includes('curly'), r.logs.join('\n'));
});

test('Permit runs beside the permissions fetch, and retries like it', async () => {
  tenant.inject('permit', { status: 503, times: 1 });
  const extra = tenant.secrets({ PERMISSIONS_IN: 'id_token,access_token' });
  const r = await login('auth0|three-perms', { extra });
  assert.deepEqual(r.report, { outcome: 'complete', codes: [] });
  assert.equal(r.tokens.id_token.claims[`${NS}/permissions`].length, 3);
  assert.deepEqual(rolesIn('auth0|three-perms'), ['viewer']);
});

test('the Permit key never appears in any output', async () => {
  const outputs = [];
  for (const fault of [null, { status: 500 }, { malformed: 'text' }, { status: 401 }]) {
    tenant.clearFaults();
    if (fault) tenant.inject('permit', fault);
    for (const extra of [{}, { PERMIT_ON_ERROR: 'deny' }, { PERMIT_SYNC: 'bogus' }]) {
      const r = await login('auth0|pm', { extra });
      outputs.push(...r.logs, String(r.denied), JSON.stringify(r.report));
    }
  }
  assert.ok(!outputs.join('\n').includes(tenant.permit.apiKey));
  assert.ok(!JSON.stringify(tenant.requests).includes(tenant.permit.apiKey));
});
