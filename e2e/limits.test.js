// Input limits: what Auth0 or a tenant's data could send at the edges. Each case ends correctly
// or with a clear, coded error; never a trap (which the shim would report as `internal`).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { startMockTenant } = require('../local/mock');
const { createInstance, runLogin } = require('../local/runner');
const { makeEvent } = require('../local/sandbox');

const NS = 'https://limits.example.com';
const ROLES = `${NS}/roles`;
const PERMS = `${NS}/permissions`;

let tenant;
let instance;
test.before(async () => {
  tenant = await startMockTenant();
  tenant.addUser('limits|10000', { count: 10000, roles: ['Everything'] });
  tenant.addUser('limits|10001', { count: 10001 });
  instance = createInstance();
});
test.after(() => tenant.close());
test.beforeEach(() => tenant.resetLog());

const unhandled = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));
test.after(() => assert.deepEqual(unhandled, []));

const secrets = (extra = {}) => tenant.secrets({ CLAIM_NAMESPACE: NS, ...extra });
const rolesOnly = (extra = {}) => ({ CLAIM_NAMESPACE: NS, PERMISSIONS_IN: 'none', ...extra });
const codeOf = (r) => (String(r.denied).match(/\(([a-z_]+)\)\.$/) || [])[1];
const noTrap = (r) => assert.ok(!r.logs.some((l) => l.includes('internal')), r.logs.join('\n'));

test('huge event fields (8 MB of app_metadata, a 1 MB name) are skipped; the login succeeds', async () => {
  const event = makeEvent({
    user: { user_id: 'auth0|huge', name: 'n'.repeat(1 << 20), app_metadata: { blob: 'x'.repeat(8 << 20), list: Array.from({ length: 50000 }, (_, i) => ({ i })) } },
    roles: ['admin'],
    secrets: rolesOnly(),
  });
  const r = await runLogin(instance, { event });
  noTrap(r);
  assert.equal(r.denied, null);
  assert.deepEqual(r.tokens.id_token.claims[ROLES], ['admin']);
});

test('10,000 permissions are all read (200 pages) and then refused as too large for a token', async () => {
  const user = tenant.users['limits|10000'];
  const deny = await runLogin(instance, { userId: 'limits|10000', user, roles: user.roles, audience: tenant.apis.orders, settings: secrets() });
  noTrap(deny);
  assert.equal(codeOf(deny), 'claims_too_large');
  assert.match(deny.logs.join('\n'), /claims_too_large: id_token claims would be \d+ bytes, over MAX_CLAIMS_BYTES=100000/);
  assert.equal(tenant.count('permissions'), 200);

  const carryOn = await runLogin(instance, { userId: 'limits|10000', user, roles: user.roles, audience: tenant.apis.orders, settings: secrets({ ON_ERROR: 'continue' }) });
  assert.equal(carryOn.denied, null);
  assert.deepEqual(carryOn.tokens.access_token.claims, { [ROLES]: ['Everything'] }, 'roles kept, the whole permissions claim dropped');
});

test('more than 10,000 permission entries: refused after the first page, saying what to do', async () => {
  const r = await runLogin(instance, { userId: 'limits|10001', user: tenant.users['limits|10001'], audience: tenant.apis.orders, settings: secrets() });
  noTrap(r);
  assert.equal(codeOf(r), 'management_api_error');
  assert.match(r.logs.join('\n'), /more than the 10000 permission entries this Action reads.*PERMISSIONS_IN=none/);
  assert.equal(tenant.count('permissions'), 1, 'no page read beyond the first');
});

test('deeply nested app_metadata (100,000 levels) does not stop the login', async () => {
  let deep = {};
  for (let i = 0; i < 100000; i++) deep = { d: deep };
  const event = makeEvent({ user: { user_id: 'auth0|deep' }, roles: ['viewer'], secrets: rolesOnly() });
  event.user.app_metadata = deep;
  const r = await runLogin(instance, { event });
  noTrap(r);
  assert.equal(r.denied, null);
  assert.deepEqual(r.tokens.access_token.claims[ROLES], ['viewer']);
});

test('non-string role names: event_invalid naming the field; no claim is set', async () => {
  for (const roles of [['admin', 7], [null], [{ name: 'admin' }], 'admin']) {
    const event = makeEvent({ user: { user_id: 'auth0|odd' }, roles, secrets: rolesOnly() });
    const r = await runLogin(instance, { event });
    noTrap(r);
    assert.equal(codeOf(r), 'event_invalid', JSON.stringify(roles));
    assert.match(r.logs.join('\n'), /event_invalid: the login event cannot be read: .*role/);
    assert.deepEqual(r.tokens.id_token.claims, {});
  }
});

test('fractional numbers where the event has objects or strings: event_invalid quoting them, never a trap', async () => {
  // core's float formatting is not in the module (build-tools/snip.js): serde's message gets the
  // number from JavaScript's String(x) instead, and nothing traps.
  const cases = [
    [(e) => (e.user = 1.5), 'invalid type: floating point `1.5`, expected struct User'],
    [(e) => (e.authorization = 1e-7), 'invalid type: floating point `1e-7`, expected struct Authorization'],
    [(e) => (e.resource_server = -2.5e300), 'invalid type: floating point `-2.5e+300`, expected struct ResourceServer'],
    [(e) => (e.user.user_id = 2.25), 'event.user.user_id must be a string'],
    [(e) => (e.resource_server = { identifier: 0.5 }), 'event.resource_server.identifier must be a string'],
    [(e) => (e.authorization.roles = [1.5]), 'event.authorization.roles must be an array of role names (strings)'],
  ];
  for (const [change, message] of cases) {
    const event = makeEvent({ user: { user_id: 'auth0|float' }, roles: ['admin'], secrets: rolesOnly() });
    change(event);
    const r = await runLogin(instance, { event });
    noTrap(r);
    assert.equal(codeOf(r), 'event_invalid', message);
    assert.ok(r.logs.some((l) => l.endsWith(`event_invalid: the login event cannot be read: ${message}`)), r.logs.join('\n'));
  }
  // Elsewhere a float is skipped: the login completes.
  const event = makeEvent({ user: { user_id: 'auth0|float', email: 3.5 }, roles: ['admin'], secrets: rolesOnly({ DEADLINE_MS: 5000.0, X: 0.1 }) });
  const r = await runLogin(instance, { event });
  noTrap(r);
  assert.equal(r.denied, null);
});

test('lone surrogates: in a field the Action uses, event_invalid; elsewhere, ignored', async () => {
  const inRole = await runLogin(instance, { event: makeEvent({ user: { user_id: 'auth0|s' }, roles: ['ad\ud800min'], secrets: rolesOnly() }) });
  noTrap(inRole);
  assert.equal(codeOf(inRole), 'event_invalid');
  const inId = await runLogin(instance, { event: makeEvent({ user: { user_id: 'auth0|\udc00' }, roles: [], secrets: rolesOnly() }) });
  assert.equal(codeOf(inId), 'event_invalid');
  const event = makeEvent({ user: { user_id: 'auth0|s', nickname: 'x\ud800' }, roles: ['admin'], secrets: rolesOnly() });
  event.user.app_metadata = { note: '\udfff' };
  const elsewhere = await runLogin(instance, { event });
  noTrap(elsewhere);
  assert.equal(elsewhere.denied, null);
  assert.deepEqual(elsewhere.tokens.id_token.claims[ROLES], ['admin']);
});

test('a user id of 1,000 characters reaches its user, percent-encoded as one path segment', async () => {
  const userId = `auth0|${'a/b ?#%'.repeat(142)}`.slice(0, 1000);
  assert.equal(userId.length, 1000);
  tenant.addUser(userId, { count: 3, roles: ['long'] });
  const r = await runLogin(instance, { userId, user: tenant.users[userId], roles: ['long'], audience: tenant.apis.orders, settings: secrets() });
  noTrap(r);
  assert.equal(r.denied, null);
  assert.equal(r.tokens.access_token.claims[PERMS].length, 3);
  assert.equal(tenant.count('permissions'), 1);
});

test('a setting of 1 MB and a namespace of 100 KB are refused with config_invalid, not echoed', async () => {
  const long = `https://${'a'.repeat(100000)}.example.com`;
  const r = await runLogin(instance, { event: makeEvent({ user: { user_id: 'auth0|x' }, roles: [], secrets: rolesOnly({ CLAIM_NAMESPACE: long, ROLES_IN: 'x'.repeat(1 << 20) }) }) });
  noTrap(r);
  assert.equal(codeOf(r), 'config_invalid');
  assert.ok(r.logs.join('\n').length < 2000, 'the log line does not repeat the value');
});
