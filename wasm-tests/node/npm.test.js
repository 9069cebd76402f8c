// The npm package as users get it: `npm pack dist/npm`, `npm install <tarball>` into a scratch
// app, then an Action that requires it, run through the Auth0-like sandbox against the mock
// tenant — with WebAssembly, and in a context that refuses it (the JavaScript translation).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createRequire } = require('node:module');
const { execFileSync } = require('node:child_process');
const { startMockTenant } = require('../../js-shim/local/mock');
const { loadAction, createApi, makeEvent, builtinsOnly } = require('../../js-shim/local/sandbox');

const ROOT = path.join(__dirname, '..', '..');
const NS = 'https://myapp.example.com';
const INTERNALS = Symbol.for('auth0-rbac-claims.internals');
let app;
let packageDir;
let tenant;

test.before(async () => {
  app = fs.mkdtempSync(path.join(os.tmpdir(), 'rbac-npm-'));
  const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const tarball = npm(['pack', path.join(ROOT, 'dist', 'npm'), '--pack-destination', app, '--silent'], app).trim().split('\n').pop();
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true }));
  npm(['install', '--no-audit', '--no-fund', '--offline', path.join(app, tarball)], app);
  packageDir = path.join(app, 'node_modules', 'auth0-rbac-claims');
  tenant = await startMockTenant();
});
test.after(() => tenant?.close());

// Auth0 resolves an Action's npm dependencies; the rest is built-ins only.
function withPackage(name) {
  return name === 'auth0-rbac-claims' ? createRequire(path.join(app, 'x.js'))(name) : builtinsOnly(name);
}

const secrets = () => ({ AUTH0_DOMAIN: tenant.url, AUTH0_CLIENT_ID: tenant.clientId, AUTH0_CLIENT_SECRET: tenant.clientSecret });

test('the tarball holds the package files, types and the .wasm', () => {
  const files = fs.readdirSync(packageDir).sort();
  assert.deepEqual(files, ['README.md', 'auth0_rbac_claims_bg.wasm', 'index.d.ts', 'index.js', 'package.json', 'translated.js']);
  const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
  assert.deepEqual([pkg.name, pkg.main, pkg.types], ['auth0-rbac-claims', 'index.js', 'index.d.ts']);
  const types = fs.readFileSync(path.join(packageDir, 'index.d.ts'), 'utf8');
  for (const name of ['onExecutePostLogin', 'postLogin', 'readGrants', 'hasPermission', 'requirePermissions', 'keepClaims', 'withPermissions', 'claimNames']) {
    assert.match(types, new RegExp(`export declare (const|function) ${name}\\b`), name);
  }
});

test('postLogin(options) in an Action: settings in code over the event\'s, through the sandbox', async () => {
  const source = `
    const { postLogin } = require('auth0-rbac-claims');
    exports.onExecutePostLogin = postLogin({ CLAIM_NAMESPACE: '${NS}', ROLES_IN: 'access_token' });
  `;
  const action = loadAction({ source, require: withPackage });
  const api = createApi();
  const event = makeEvent({ user: { user_id: 'auth0|three-perms' }, roles: ['viewer'], audience: tenant.apis.orders, secrets: { ...secrets(), CLAIM_NAMESPACE: 'https://ignored.example.com', ROLES_IN: 'id_token' } });
  const report = await action.execute('onExecutePostLogin', event, api);
  assert.deepEqual(JSON.parse(JSON.stringify(report)), { outcome: 'complete', codes: [] });
  const r = api.finish();
  assert.deepEqual(r.accessToken[`${NS}/roles`], ['viewer']);
  assert.deepEqual(r.accessToken[`${NS}/permissions`], ['read:customers', 'read:invoices', 'read:orders']);
  assert.equal(r.idToken[`${NS}/roles`], undefined, 'ROLES_IN from code wins');
  assert.throws(() => require(packageDir).postLogin('nope'), TypeError);
});

test('onExecutePostLogin of the package reads settings from the event', async () => {
  const source = "exports.onExecutePostLogin = require('auth0-rbac-claims').onExecutePostLogin;";
  const action = loadAction({ source, require: withPackage });
  const api = createApi();
  await action.execute('onExecutePostLogin', makeEvent({ user: { user_id: 'auth0|pm' }, roles: ['Project Manager'], audience: tenant.apis.projects, secrets: { ...secrets(), CLAIM_NAMESPACE: NS } }), api);
  assert.deepEqual(api.finish().accessToken[`${NS}/permissions`], ['read:project-list']);
});

test('in a runtime that refuses WebAssembly the package runs its JavaScript translation', async () => {
  const file = path.join(packageDir, 'index.js');
  // The package's index.js is loaded here as if it were the Action's own code, in a context
  // that refuses WebAssembly; only the context shape can refuse it (and gives `__dirname`, which
  // Node's module loader gives the package when an Action requires it).
  const action = loadAction({ filename: file, wasm: false, require: createRequire(file) });
  assert.equal(action.exports[INTERNALS].engine(), 'javascript');
  const api = createApi();
  const report = await action.exports.postLogin({ CLAIM_NAMESPACE: NS })(makeEvent({ user: { user_id: 'auth0|big' }, roles: ['admin', 'editor'], audience: tenant.apis.admin, secrets: secrets() }), api);
  assert.equal(JSON.parse(JSON.stringify(report)).outcome, 'complete');
  assert.equal(api.finish().accessToken[`${NS}/permissions`].length, 30);
  const withWasm = loadAction({ filename: file, shape: 'context', require: createRequire(file) });
  assert.equal(withWasm.exports[INTERNALS].engine(), 'webassembly');
});

test('the reader exports read what the Action writes', () => {
  const pkg = require(packageDir);
  const payload = { [`${NS}/roles`]: ['Project Manager'], [`${NS}/permissions`]: ['read:project-list'], permissions: ['native:x'] };
  const grants = pkg.readGrants(payload, { namespace: `${NS}/` });
  assert.deepEqual(grants.permissions, ['native:x', 'read:project-list']);
  assert.ok(grants.hasAll(['read:project-list', 'native:x']));
  assert.ok(!grants.hasAny(['read:user-list']));
  assert.deepEqual(grants.missing(['read:user-list', 'read:project-list']), ['read:user-list']);
  assert.ok(grants.hasRole('Project Manager'));
  assert.ok(pkg.hasPermission(payload, 'read:project-list', { namespace: NS }));
  assert.deepEqual(pkg.claimNames({ namespace: 'urn:myapp:claims/' }), { roles: 'urn:myapp:claims/roles', permissions: 'urn:myapp:claims/permissions' });
  assert.throws(() => pkg.readGrants(payload, { namespace: 'https://auth0.com' }), (e) => e.code === 'config_invalid');
  assert.throws(() => pkg.readGrants(payload, {}), TypeError);
});
