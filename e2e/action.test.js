// dist/action.js as Auth0 runs it: loaded from source in a vm context, only built-ins resolvable.
// Roles, settings, error policy and instance recovery (no network needed: PERMISSIONS_IN=none).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const vm = require('node:vm');
const { builtinModules } = require('node:module');
const { loadAction, createApi, makeEvent, builtinsOnly, invalidHandlerMessage, DEFAULT_ACTION, WASM_ALLOWED } = require('../local/sandbox');

const NS = 'https://myapp.example.com';
const INTERNALS = Symbol.for('auth0-rbac-claims.internals');
const source = fs.readFileSync(DEFAULT_ACTION, 'utf8');

const unhandled = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));
test.after(() => assert.deepEqual(unhandled, [], 'no unhandled rejection'));

// A fetch that records and refuses: these logins must not touch the network.
function noNetwork() {
  const calls = [];
  const fetch = async (url) => {
    calls.push(String(url));
    throw new TypeError('network disabled in this test');
  };
  return { calls, fetch };
}

async function login(action, event) {
  const api = createApi();
  const report = await action.execute('onExecutePostLogin', event, api);
  // The report comes from the Action's realm; compare it as plain data.
  return { report: JSON.parse(JSON.stringify(report)), ...api.finish() };
}

test('the Action needs only built-ins and reads no file; dist/action.js fits Auth0\'s source limit', () => {
  if (DEFAULT_ACTION.endsWith('action.js')) assert.ok(source.length <= 100_000, `${source.length} bytes`);
  const required = [];
  const action = loadAction({
    source,
    require: (name) => {
      required.push(name);
      if (name === 'fs' || name === 'node:fs') throw new Error('an Action reads no files');
      return builtinsOnly(name);
    },
  });
  action.exports[INTERNALS].instantiate();
  assert.ok(required.length > 0);
  for (const name of required) assert.ok(builtinModules.includes(name.replace(/^node:/, '')), name);
  assert.equal(typeof action.exports.onExecutePostLogin, 'function');
});

test('every handler passes Auth0\'s check: exports.onExecutePostLogin is an async function', async () => {
  const action = loadAction({ source });
  assert.equal(action.exports.onExecutePostLogin.constructor.name, 'AsyncFunction');
  const r = await login(action, makeEvent({ roles: ['a'], secrets: { CLAIM_NAMESPACE: NS, PERMISSIONS_IN: 'none' } }));
  assert.deepEqual(r.report, { outcome: 'complete', codes: [] });
});

test('the sandbox refuses a handler that is not async, with Auth0\'s message, as Auth0\'s loader does', () => {
  for (const handler of ['(event, api) => Promise.resolve()', 'function (event, api) { return Promise.resolve(); }']) {
    const action = loadAction({ source: `exports.onExecutePostLogin = ${handler};` });
    assert.throws(() => action.execute('onExecutePostLogin', {}, createApi()), { message: invalidHandlerMessage('onExecutePostLogin') });
  }
  assert.match(invalidHandlerMessage('onExecutePostLogin'), /^Invalid function signature for the "onExecutePostLogin" handler\. Use "exports\.onExecutePostLogin = async function\(event, api\) \{ \}" as the signature\.$/);
});

test('the shapes are what they claim: one realm in production, object literals from another realm under the test loader', () => {
  const probe = 'exports.sameRealm = () => Object.getPrototypeOf({}) === Object.prototype && [] instanceof Array;';
  assert.equal(loadAction({ source: probe, shape: 'production' }).exports.sameRealm(), true);
  assert.equal(loadAction({ source: probe, shape: 'test-loader' }).exports.sameRealm(), false);
  assert.equal(loadAction({ source: probe, shape: 'context' }).exports.sameRealm(), true);
});

test('under Auth0\'s test loader (another realm) the module instantiates, a trap is reported and the next login recovers', async () => {
  const action = loadAction({ source, shape: 'test-loader' });
  const internals = action.exports[INTERNALS];
  assert.doesNotThrow(() => internals.instantiate());
  const good = makeEvent({ roles: ['b', 'a'], secrets: { CLAIM_NAMESPACE: NS, PERMISSIONS_IN: 'none' } });
  const first = await login(action, good);
  assert.deepEqual(first.report, { outcome: 'complete', codes: [] });
  assert.deepEqual(first.idToken, { [`${NS}/roles`]: ['a', 'b'] });
  internals.trapNextLogin();
  const trapped = await login(action, good);
  assert.deepEqual(trapped.report, { outcome: 'denied', codes: ['internal'] });
  assert.match(action.logs.at(-1), /internal: the (WebAssembly )?module trapped/);
  const after = await login(action, good);
  assert.deepEqual(after.report, { outcome: 'complete', codes: [] });
  assert.deepEqual(after.accessToken, { [`${NS}/roles`]: ['a', 'b'] });
});

test('it loads and instantiates in a bare vm context, without any Node global', () => {
  const action = loadAction({ source, bare: true });
  assert.equal(vm.runInContext('typeof WebAssembly', action.context), 'object');
  assert.equal(vm.runInContext('typeof fetch + typeof TextDecoder + typeof Buffer', action.context), 'undefinedundefinedundefined');
  assert.doesNotThrow(() => action.exports[INTERNALS].instantiate());
});

test('the engine is WebAssembly where it is allowed, the JavaScript translation where it is not', () => {
  const action = loadAction({ source, shape: 'context' });
  const fallback = DEFAULT_ACTION.endsWith('action-js-fallback.js');
  assert.equal(action.exports[INTERNALS].engine(), fallback ? 'javascript' : 'webassembly');
  assert.equal(vm.runInContext('(() => { try { new WebAssembly.Module(new Uint8Array([0,97,115,109,1,0,0,0])); return true } catch { return false } })()', action.context), WASM_ALLOWED);
});

test('dist/action.js in a runtime that refuses WebAssembly denies with internal, saying why', async () => {
  const action = loadAction({ filename: require('node:path').join(__dirname, '..', 'dist', 'action.js'), wasm: false });
  const r = await login(action, makeEvent({ roles: ['a'], secrets: { CLAIM_NAMESPACE: NS, PERMISSIONS_IN: 'none' } }));
  assert.deepEqual(r.report, { outcome: 'denied', codes: ['internal'] });
  assert.match(action.logs[0], /internal: the module cannot run here \(webassembly: .*\); use the npm package or dist\/action-js-fallback\.js/);
});

test('a complete, realistic event gets the roles claim on both tokens; unknown fields are ignored', async () => {
  const net = noNetwork();
  const action = loadAction({ source, globals: { fetch: net.fetch } });
  const event = makeEvent({
    roles: ['editor', 'admin', 'editor'],
    audience: 'https://api.example.com',
    secrets: { CLAIM_NAMESPACE: NS, PERMISSIONS_IN: 'none' },
  });
  const r = await login(action, event);
  assert.deepEqual(r.report, { outcome: 'complete', codes: [] });
  assert.equal(r.denied, null);
  assert.deepEqual(r.idToken, { [`${NS}/roles`]: ['admin', 'editor'] });
  assert.deepEqual(r.accessToken, { [`${NS}/roles`]: ['admin', 'editor'] });
  assert.deepEqual(r.dropped, []);
  assert.deepEqual(net.calls, []);
  assert.deepEqual(action.logs, []);
});

test('a minimal event (only user.user_id) gets an empty roles claim, never a crash', async () => {
  const action = loadAction({ source });
  const r = await login(action, { user: { user_id: 'auth0|min' }, secrets: { CLAIM_NAMESPACE: NS, PERMISSIONS_IN: 'none' } });
  assert.deepEqual(r.idToken, { [`${NS}/roles`]: [] });
  assert.deepEqual(r.accessToken, { [`${NS}/roles`]: [] });
  // Without any setting at all: a deny with config_invalid.
  const bare = await login(action, { user: { user_id: 'auth0|min' } });
  assert.match(bare.denied, /config_invalid/);
  assert.deepEqual(bare.report, { outcome: 'denied', codes: ['config_invalid'] });
});

test('ROLES_IN places the claim; none places it nowhere', async () => {
  const action = loadAction({ source });
  const event = (rolesIn) => makeEvent({ roles: ['a'], secrets: { CLAIM_NAMESPACE: NS, PERMISSIONS_IN: 'none', ROLES_IN: rolesIn } });
  let r = await login(action, event('id_token'));
  assert.deepEqual(Object.keys(r.idToken), [`${NS}/roles`]);
  assert.deepEqual(r.accessToken, {});
  r = await login(action, event('none'));
  assert.deepEqual([r.idToken, r.accessToken], [{}, {}]);
});

const BAD_NAMESPACES = [
  '', '   ', 'myapp', 'ftp://example.com', 'https://auth0.com', 'https://tenant.eu.auth0.com/claims',
  'https://webtask.io', 'https://x.webtask.io', 'https://webtask.run', 'urn:auth0', 'urn:auth0:claims',
  'https://example.com?x=1', 'https://user@example.com', 'https://exa mple.com',
];

for (const namespace of BAD_NAMESPACES) {
  test(`bad namespace ${JSON.stringify(namespace)}: deny with config_invalid, no request, no trap`, async () => {
    const net = noNetwork();
    const action = loadAction({ source, globals: { fetch: net.fetch } });
    const secrets = { CLAIM_NAMESPACE: namespace, AUTH0_DOMAIN: 'dev.example.com', AUTH0_CLIENT_ID: 'id', AUTH0_CLIENT_SECRET: 'topsecret' };
    const r = await login(action, makeEvent({ roles: ['a'], audience: 'https://api.example.com', secrets }));
    assert.deepEqual(r.report, { outcome: 'denied', codes: ['config_invalid'] });
    assert.match(r.denied, /\(config_invalid\)/);
    assert.deepEqual([r.idToken, r.accessToken], [{}, {}]);
    assert.deepEqual(net.calls, []);
    assert.equal(action.logs.length, 1, action.logs.join('\n'));
    assert.match(action.logs[0], /^\[auth0-rbac-claims\] config_invalid: CLAIM_NAMESPACE/);
    assert.doesNotMatch(action.logs[0] + r.denied, /topsecret/);
  });
}

test('ON_ERROR=deny (default) denies with a generic reason; continue logs and issues tokens', async () => {
  const action = loadAction({ source });
  const broken = { CLAIM_NAMESPACE: NS, AUTH0_DOMAIN: 'dev.example.com', AUTH0_CLIENT_SECRET: 'topsecret' };
  const denied = await login(action, makeEvent({ roles: ['a'], secrets: broken }));
  assert.equal(denied.denied, 'Authorization data for this login is unavailable (credentials_missing).');
  assert.deepEqual([denied.idToken, denied.accessToken], [{}, {}]);

  const continued = await login(action, makeEvent({ roles: ['a'], secrets: { ...broken, ON_ERROR: 'continue' } }));
  assert.equal(continued.denied, null);
  assert.deepEqual(continued.report, { outcome: 'degraded', codes: ['credentials_missing'] });
  assert.equal(action.logs.length, 2);
  for (const line of action.logs) {
    assert.match(line, /credentials_missing: permissions need the Management API but AUTH0_CLIENT_ID is not set/);
    assert.doesNotMatch(line, /topsecret/);
  }
  // An invalid ON_ERROR is itself refused, and the login is denied.
  const invalid = await login(action, makeEvent({ secrets: { CLAIM_NAMESPACE: NS, PERMISSIONS_IN: 'none', ON_ERROR: 'ignore' } }));
  assert.match(invalid.denied, /config_invalid/);
});

test('a trap inside a login is reported under ON_ERROR and the next login runs on a fresh instance', async () => {
  const action = loadAction({ source });
  const internals = action.exports[INTERNALS];
  const good = makeEvent({ roles: ['a'], secrets: { CLAIM_NAMESPACE: NS, PERMISSIONS_IN: 'none' } });

  internals.trapNextLogin();
  const trapped = await login(action, good);
  assert.deepEqual(trapped.report, { outcome: 'denied', codes: ['internal'] });
  assert.match(trapped.denied, /\(internal\)/);
  assert.match(action.logs.at(-1), /internal: the WebAssembly module trapped/);

  const after = await login(action, good);
  assert.deepEqual(after.report, { outcome: 'complete', codes: [] });
  assert.deepEqual(after.idToken, { [`${NS}/roles`]: ['a'] });

  internals.trapNextLogin();
  const lenient = await login(action, makeEvent({ roles: ['a'], secrets: { CLAIM_NAMESPACE: NS, PERMISSIONS_IN: 'none', ON_ERROR: 'continue' } }));
  assert.deepEqual(lenient.report, { outcome: 'degraded', codes: ['internal'] });
  assert.equal(lenient.denied, null);
});

test('an exception thrown while the module runs is reported like a trap, never escapes, and the next login recovers', async () => {
  const action = loadAction({ source });
  const good = makeEvent({ roles: ['a'], secrets: { CLAIM_NAMESPACE: NS, PERMISSIONS_IN: 'none' } });
  // event.secrets whose every read throws: the module meets the exception inside a call it
  // makes, where no Rust code can catch it.
  const hostile = makeEvent({ roles: ['a'], secrets: { CLAIM_NAMESPACE: NS, PERMISSIONS_IN: 'none' } });
  hostile.secrets = new Proxy({}, { ownKeys() { throw new Error('no secrets today'); } });
  const thrown = await login(action, hostile);
  assert.deepEqual(thrown.report, { outcome: 'denied', codes: ['internal'] });
  assert.match(thrown.denied, /\(internal\)/);
  const after = await login(action, good);
  assert.deepEqual(after.report, { outcome: 'complete', codes: [] });
  assert.deepEqual(after.idToken, { [`${NS}/roles`]: ['a'] });
});

test('logins leave nothing behind on their instance: memory stays flat over thousands of them', { timeout: 120_000 }, async () => {
  require('node:v8').setFlagsFromString('--expose-gc');
  const gc = require('node:vm').runInNewContext('gc');
  const action = loadAction({ source });
  const good = makeEvent({ roles: ['a'], secrets: { CLAIM_NAMESPACE: NS, PERMISSIONS_IN: 'none' } });
  const heapAfter = async (logins) => {
    for (let i = 0; i < logins; i++) await login(action, good);
    gc();
    return process.memoryUsage().heapUsed;
  };
  await heapAfter(2000); // the instance, its caches and the engine's code warmed up
  const before = await heapAfter(0);
  const logins = 8000;
  const perLogin = ((await heapAfter(logins)) - before) / logins;
  // A login raced against a promise that lives as long as the instance kept ~300 bytes each.
  // The heap's own variation is up to ~0.5 MB here, i.e. ~70 bytes a login over this many.
  assert.ok(perLogin < 300, `${perLogin.toFixed(0)} bytes retained per login`);
});

test('an event too deep for JSON.stringify is still read (the module reads only the fields it uses)', async () => {
  const action = loadAction({ source });
  let deep = {};
  const root = deep;
  for (let i = 0; i < 20000; i++) deep = deep.next = {};
  const event = makeEvent({ roles: ['a'], secrets: { CLAIM_NAMESPACE: NS, PERMISSIONS_IN: 'none' } });
  event.user.app_metadata = root;
  const r = await login(action, event);
  assert.deepEqual(r.report, { outcome: 'complete', codes: [] });
});

test('settings from event.configuration take precedence over event.secrets', async () => {
  const action = loadAction({ source });
  const event = makeEvent({
    roles: ['a'],
    secrets: { CLAIM_NAMESPACE: 'https://secret.example.com', PERMISSIONS_IN: 'none', ROLES_IN: 'id_token' },
    configuration: { CLAIM_NAMESPACE: NS, ROLES_IN: 'access_token' },
  });
  const r = await login(action, event);
  assert.deepEqual(r.idToken, {});
  assert.deepEqual(r.accessToken, { [`${NS}/roles`]: ['a'] });
});
