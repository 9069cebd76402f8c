// Checking the claims in a backend, end to end: the Action runs against the mock tenant, the
// tenant mints RS256 dev tokens carrying exactly the claims it produced, and the example Express
// API (express-oauth2-jwt-bearer against the tenant's JWKS + our middleware), the Rust example
// (jsonwebtoken + ClaimLayout) and the Next.js helpers decide.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { promisify } = require('node:util');
const { startMockTenant } = require('../local/mock');
const { createInstance, runLogin } = require('../local/runner');

const ROOT = path.join(__dirname, '..');
const NS = 'https://myapp.example.com';
const AUDIENCE = 'https://projects.example.com/api';
let tenant;
let api; // the example API's base URL
let server;
const tokens = {};
const results = {};

// The example app with its dependencies resolved like an installed app: auth0-rbac-claims from
// dist/npm, express and express-oauth2-jwt-bearer from the repository's dev dependencies.
function loadExample() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbac-example-'));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(path.join(ROOT, 'dist', 'npm'), path.join(dir, 'node_modules', 'auth0-rbac-claims'));
  for (const dep of ['express', 'express-oauth2-jwt-bearer']) fs.symlinkSync(path.join(ROOT, 'node_modules', dep), path.join(dir, 'node_modules', dep));
  fs.copyFileSync(path.join(ROOT, 'examples', 'express-api', 'server.js'), path.join(dir, 'server.js'));
  return require(path.join(dir, 'server.js'));
}

test.before(async () => {
  tenant = await startMockTenant();
  const instance = createInstance();
  const settings = tenant.secrets({ CLAIM_NAMESPACE: NS });
  for (const [who, userId] of [['admin', 'auth0|admin'], ['pm', 'auth0|pm']]) {
    const user = tenant.users[userId];
    results[who] = await runLogin(instance, { userId, user, roles: user.roles, audience: AUDIENCE, settings });
    tokens[who] = tenant.mintToken({ sub: userId, aud: AUDIENCE, claims: results[who].tokens.access_token.claims });
  }
  tokens.expired = tenant.mintToken({ sub: 'auth0|admin', aud: AUDIENCE, claims: results.admin.tokens.access_token.claims, expiresIn: -120 });
  tokens.wrongAudience = tenant.mintToken({ sub: 'auth0|admin', aud: 'https://other.example.com', claims: results.admin.tokens.access_token.claims });
  const { createApp } = loadExample();
  server = createApp({ issuerBaseURL: tenant.url, audience: AUDIENCE, namespace: NS }).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  api = `http://127.0.0.1:${server.address().port}`;
});
test.after(async () => {
  server?.close();
  await tenant?.close();
});

async function call(path, token) {
  const r = await fetch(`${api}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: r.status, challenge: r.headers.get('www-authenticate'), body: await r.json() };
}

test('the dev tokens carry exactly the claims the Action produced', () => {
  assert.deepEqual(results.admin.tokens.access_token.claims, { [`${NS}/roles`]: ['Administrator'], [`${NS}/permissions`]: ['read:project-list', 'read:user-list'] });
  assert.deepEqual(results.pm.tokens.access_token.claims, { [`${NS}/roles`]: ['Project Manager'], [`${NS}/permissions`]: ['read:project-list'] });
});

test('Express: the administrator reads projects and users', async () => {
  assert.equal((await call('/api/v1/projects', tokens.admin)).status, 200);
  const users = await call('/api/v1/users', tokens.admin);
  assert.equal(users.status, 200);
  assert.deepEqual(users.body, { users: [{ id: 'auth0|admin' }] });
});

test('Express: the project manager reads projects, and gets 403 insufficient_scope for users', async () => {
  assert.equal((await call('/api/v1/projects', tokens.pm)).status, 200);
  const denied = await call('/api/v1/users', tokens.pm);
  assert.equal(denied.status, 403);
  assert.equal(denied.challenge, 'Bearer error="insufficient_scope", error_description="missing permission: read:user-list"');
  assert.equal(denied.body.error, 'insufficient_scope');
});

test('Express: 401 without a token, with an expired one, with one for another API', async () => {
  for (const [why, token] of [['none', undefined], ['expired', tokens.expired], ['wrong audience', tokens.wrongAudience], ['garbage', 'not.a.jwt']]) {
    const r = await call('/api/v1/projects', token);
    assert.equal(r.status, 401, why);
    assert.match(r.challenge, /^Bearer/, why);
  }
});

test('the middleware alone: 401 when no verified token reached it', async () => {
  const { requirePermissions } = require(path.join(ROOT, 'dist', 'npm'));
  const res = { headers: {}, status(code) { this.code = code; return this; }, set(k, v) { this.headers[k] = v; return this; }, json(b) { this.body = b; } };
  let nextCalled = false;
  requirePermissions(['read:user-list'], { namespace: NS })({}, res, () => (nextCalled = true));
  assert.deepEqual([res.code, res.headers['WWW-Authenticate'], nextCalled], [401, 'Bearer', false]);
});

test('Rust: the example verifies the token with jsonwebtoken and checks it with ClaimLayout', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbac-rust-'));
  const jwks = path.join(dir, 'jwks.json');
  fs.writeFileSync(jwks, JSON.stringify(await (await fetch(`${tenant.url}/.well-known/jwks.json`)).json()));
  const run = async (token, ...permissions) => {
    const args = ['run', '--quiet', '--example', 'rust_backend', '--', jwks, `${tenant.url}/`, AUDIENCE, NS, token, ...permissions];
    try {
      const { stdout } = await promisify(execFile)('cargo', args, { cwd: ROOT, timeout: 600_000 });
      return { code: 0, out: JSON.parse(stdout) };
    } catch (error) {
      return { code: error.code, out: error.stdout ? JSON.parse(error.stdout) : error.stderr };
    }
  };
  const admin = await run(tokens.admin, 'read:project-list', 'read:user-list');
  assert.equal(admin.code, 0);
  assert.deepEqual(admin.out, { roles: ['Administrator'], permissions: ['read:project-list', 'read:user-list'], missing: [] });
  const pm = await run(tokens.pm, 'read:user-list');
  assert.equal(pm.code, 3);
  assert.deepEqual(pm.out.missing, ['read:user-list']);
  const expired = await run(tokens.expired, 'read:project-list');
  assert.equal(expired.code, 2);
  assert.match(expired.out, /401: token: ExpiredSignature/);
});

test('Next.js (nextjs-auth0 v4): keepClaims keeps ours in the session, withPermissions guards a route', async () => {
  const { keepClaims, withPermissions } = require(path.join(ROOT, 'dist', 'npm'));
  const idTokenClaims = { sub: 'auth0|pm', name: 'Pat', email: 'pat@example.com', nonce: 'x', sid: 'y', iss: tenant.url, ...results.pm.tokens.id_token.claims };
  const session = await keepClaims({ namespace: NS })({ user: idTokenClaims, tokenSet: { accessToken: 'a' } });
  assert.deepEqual(Object.keys(session.user).sort(), ['email', 'name', `${NS}/permissions`, `${NS}/roles`, 'sub'].sort());
  assert.deepEqual(session.tokenSet, { accessToken: 'a' });

  const handler = async (request, { grants }) => Response.json({ ok: true, roles: grants.roles });
  const projects = withPermissions(['read:project-list'], { namespace: NS, getSession: async () => session }, handler);
  const users = withPermissions(['read:user-list'], { namespace: NS, getSession: async () => session }, handler);
  const anonymous = withPermissions(['read:project-list'], { namespace: NS, getSession: async () => null }, handler);
  const ok = await projects(new Request('http://app/api/projects'), {});
  assert.deepEqual([ok.status, await ok.json()], [200, { ok: true, roles: ['Project Manager'] }]);
  const forbidden = await users(new Request('http://app/api/users'), {});
  assert.equal(forbidden.status, 403);
  assert.match(forbidden.headers.get('www-authenticate'), /insufficient_scope/);
  assert.equal((await anonymous(new Request('http://app/api/projects'), {})).status, 401);
});
