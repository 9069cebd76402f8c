// The local CLI end to end (as a user runs it, in a child process) and the deploy flow against the
// mock tenant, which behaves as the real Actions API does: create/update, build wait, a deploy
// answered 202 and live later, bindings refused until then and kept in order, a second deploy, a
// failed build or deploy, and a Free-plan bucket (2 requests/s) answering 429s.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFile } = require('node:child_process');
const { promisify } = require('node:util');
const jose = require('jose');
const { startMockTenant } = require('../local/mock');
const { managementClient, deploy } = require('../local/deploy');
const { doctor, domainCheck, sealedLength } = require('../local/doctor');
const { makeEvent } = require('../local/sandbox');

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'local', 'cli.js');
const NS = 'https://myapp.example.com';

async function cli(args, env = {}) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    return { code: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}

test('--help describes every command', async () => {
  const r = await cli(['--help']);
  assert.equal(r.code, 0);
  for (const command of ['run', 'serve', 'deploy', 'export', 'token', 'doctor']) assert.match(r.stdout, new RegExp(`^  ${command} `, 'm'));
});

test('run --json for a seeded user: the claims per token, requests and timing', async () => {
  const r = await cli(['run', '--user', 'auth0|big', '--audience', 'https://reports.example.com', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.report, { outcome: 'complete', codes: [] });
  assert.equal(out.tokens.access_token.claims[`${NS}/permissions`].length, 43);
  assert.ok(out.tokens.access_token.bytes > 0);
  assert.deepEqual(out.tokens.id_token.limits.map((l) => l.bytes), [100_000, 8_192, 3_500]);
  assert.deepEqual(out.requests.map((q) => q.method), ['POST', 'GET', 'GET', 'GET', 'GET']);
  assert.ok(out.ms > 0);
});

test('run prints human output and exits 1 when the login would be denied', async () => {
  const ok = await cli(['run', '--user', 'auth0|three-perms', '--times', '2']);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /auth0\|three-perms #2: complete/);
  assert.match(ok.stdout, /bytes of custom claims \(Auth0 100 KB ok · headers 8 KB ok · URL fragment ~3\.5 KB ok\)/);
  const denied = await cli(['run', '--user', 'auth0|three-perms', '--set', 'CLAIM_NAMESPACE=https://x.webtask.io']);
  assert.equal(denied.code, 1);
  assert.match(denied.stdout, /DENIED: .*\(config_invalid\)/);
  const unknown = await cli(['run', '--user', 'auth0|nobody-here']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no seeded user/);
});

test('run --times 3: a miss stored in app_metadata, then hits; --rate-limit gives the mock a bucket', async () => {
  const r = await cli(['run', '--user', 'auth0|big', '--times', '3', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const [first, second, third] = JSON.parse(r.stdout);
  assert.equal(first.requests.filter((q) => q.path.startsWith('/api/v2/')).length, 4);
  assert.deepEqual(first.appMetadata.map(([key]) => key), ['auth0_rbac_claims']);
  for (const hit of [second, third]) {
    assert.deepEqual(hit.requests, []);
    assert.deepEqual(hit.tokens.id_token.claims, first.tokens.id_token.claims);
  }
  // A bucket of 2 (then 1 a minute): the first login's four pages do not fit, and the rest wait.
  const limited = await cli(['run', '--user', 'auth0|big', '--rate-limit', '2/0.01', '--json']);
  assert.equal(limited.code, 1);
  assert.deepEqual(JSON.parse(limited.stdout).report, { outcome: 'denied', codes: ['rate_limited'] });
  const bad = await cli(['run', '--user', 'auth0|big', '--rate-limit', 'fast']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--rate-limit must be BURST\/PER_SECOND/);
});

test('run --event FILE takes a complete event (its own settings)', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rbac-')), 'event.json');
  fs.writeFileSync(file, JSON.stringify(makeEvent({ roles: ['a', 'b'], secrets: { CLAIM_NAMESPACE: NS, PERMISSIONS_IN: 'none' } })));
  const r = await cli(['run', '--event', file, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).tokens.id_token.claims, { [`${NS}/roles`]: ['a', 'b'] });
});

const idless = (r) => `${r.method} ${r.path.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '{id}')} ${r.status}`;

test('deploy twice on a Free-plan bucket: 202, live before bound, then an update; the foreign binding keeps its place', async () => {
  const tenant = await startMockTenant({ rateLimit: { burst: 2, perSecond: 2 } });
  try {
    const requests = [];
    const client = managementClient({ domain: tenant.url, ...tenant.deployClient, log: (r) => requests.push(idless(r)) });
    const code = fs.readFileSync(path.join(ROOT, 'dist', 'action.js'), 'utf8');
    const secrets = [{ name: 'CLAIM_NAMESPACE', value: NS }, { name: 'AUTH0_CLIENT_SECRET', value: 'deployed-secret' }];
    const first = await deploy({ client, name: 'auth0-rbac-claims', code, secrets });
    assert.equal(first.bound, 'added');
    assert.equal(first.version.number, 1);
    assert.equal(first.version.deployed, true);
    const before = tenant.actions.bindings().map((b) => b.action.name);
    assert.deepEqual(before, ['legacy-mfa-rule', 'auth0-rbac-claims']);
    // The deploy was accepted (202), the version read until live, and only then bound.
    const deployAt = requests.indexOf('POST /api/v2/actions/actions/{id}/deploy 202');
    const bindAt = requests.indexOf('PATCH /api/v2/actions/triggers/post-login/bindings 200');
    assert.ok(deployAt > 0 && bindAt > deployAt, requests.join('\n'));
    assert.ok(requests.slice(deployAt, bindAt).includes('GET /api/v2/actions/actions/{id}/versions/{id} 200'));
    // The bucket ran dry and the SDK waited for its reset: 429s, and no request failed otherwise.
    assert.ok(requests.some((r) => r.endsWith(' 429')), 'the Free bucket never answered 429');
    assert.ok(requests.every((r) => / (200|201|202|429)$/.test(r)), requests.join('\n'));

    const second = await deploy({ client, name: 'auth0-rbac-claims', code, secrets });
    assert.equal(second.action.id, first.action.id);
    assert.equal(second.version.number, 2);
    assert.equal(second.bound, 'kept');
    assert.deepEqual(tenant.actions.bindings().map((b) => b.action.name), before);
    assert.deepEqual(tenant.actions.versions(first.action.id).map((v) => [v.number, v.deployed]), [[1, false], [2, true]]);
    assert.equal(tenant.actions.list().filter((a) => a.name === 'auth0-rbac-claims').length, 1);
    assert.deepEqual(tenant.actions.secrets(first.action.id), { CLAIM_NAMESPACE: NS, AUTH0_CLIENT_SECRET: 'deployed-secret' });
    const stored = tenant.actions.list().find((a) => a.id === first.action.id);
    assert.equal(stored.code, code);
    assert.equal(stored.runtime, 'node22');
    assert.deepEqual(stored.supported_triggers, [{ id: 'post-login', version: 'v3' }]);
    // Second run: an update and a deploy, no new Action and no bindings change.
    const secondRun = requests.slice(requests.lastIndexOf('GET /api/v2/actions/actions 200'));
    assert.ok(secondRun.includes('PATCH /api/v2/actions/actions/{id} 200'));
    assert.ok(!secondRun.some((r) => r.startsWith('PATCH /api/v2/actions/triggers')));
    assert.ok(!secondRun.some((r) => r.startsWith('POST /api/v2/actions/actions 201')));
    assert.ok(!requests.join('\n').includes('deployed-secret'));
  } finally {
    await tenant.close();
  }
});

test('a deploy that would drop secrets the Action holds (set in the dashboard, say) changes nothing and names them, unless told to replace them', async () => {
  const tenant = await startMockTenant();
  try {
    const client = managementClient({ domain: tenant.url, ...tenant.deployClient });
    const code = 'exports.onExecutePostLogin = async () => {};';
    const first = await deploy({ client, name: 'auth0-rbac-claims', code, secrets: [{ name: 'CLAIM_NAMESPACE', value: NS }, { name: 'ON_ERROR', value: 'continue' }] });
    const versions = tenant.actions.versions(first.action.id).length;
    await assert.rejects(
      deploy({ client, name: 'auth0-rbac-claims', code, secrets: [{ name: 'CLAIM_NAMESPACE', value: NS }] }),
      /holds secrets this deploy does not send: ON_ERROR\b.*--replace-secrets.*Nothing was changed/,
    );
    assert.deepEqual(tenant.actions.secrets(first.action.id), { CLAIM_NAMESPACE: NS, ON_ERROR: 'continue' });
    assert.equal(tenant.actions.versions(first.action.id).length, versions);
    // Sent again, or replaced on purpose: the deploy goes through.
    await deploy({ client, name: 'auth0-rbac-claims', code, secrets: [{ name: 'CLAIM_NAMESPACE', value: NS }, { name: 'ON_ERROR', value: 'deny' }] });
    assert.deepEqual(tenant.actions.secrets(first.action.id), { CLAIM_NAMESPACE: NS, ON_ERROR: 'deny' });
    await deploy({ client, name: 'auth0-rbac-claims', code, secrets: [{ name: 'CLAIM_NAMESPACE', value: NS }], replaceSecrets: true });
    assert.deepEqual(tenant.actions.secrets(first.action.id), { CLAIM_NAMESPACE: NS });
  } finally {
    await tenant.close();
  }
});

test('a deploy application without every scope the deploy needs is refused before anything changes', async () => {
  const tenant = await startMockTenant();
  try {
    const code = 'exports.onExecutePostLogin = async () => {};';
    const secrets = [{ name: 'CLAIM_NAMESPACE', value: NS }];
    for (const [scope, lacking] of [['read:actions create:actions', 'update:actions'], ['read:actions update:actions', 'create:actions']]) {
      const client = managementClient({ domain: tenant.url, ...tenant.addClient(scope) });
      await assert.rejects(deploy({ client, name: 'auth0-rbac-claims', code, secrets }), new RegExp(`lacks ${lacking}\\b.*Nothing was changed`));
    }
    const { sdk } = managementClient({ domain: tenant.url, ...tenant.deployClient });
    assert.deepEqual((await sdk.actions.list({ actionName: 'auth0-rbac-claims' })).data, []);
    // The mock answers as Auth0 does: creating needs create:actions, binding update:actions.
    const { sdk: createOnly } = managementClient({ domain: tenant.url, ...tenant.addClient('read:actions create:actions') });
    const created = await createOnly.actions.create({ name: 'create-only', code, supported_triggers: [{ id: 'post-login', version: 'v3' }] });
    await assert.rejects(createOnly.actions.update(created.id, { code }), (error) => error.statusCode === 403);
  } finally {
    await tenant.close();
  }
});

test('a create whose answer was lost (the SDK retries it and meets 409) ends as an update of the Action it made', async () => {
  const tenant = await startMockTenant();
  try {
    const client = managementClient({ domain: tenant.url, ...tenant.deployClient });
    tenant.actions.loseNextCreate();
    const r = await deploy({ client, name: 'auth0-rbac-claims', code: 'exports.onExecutePostLogin = async () => {};', secrets: [{ name: 'CLAIM_NAMESPACE', value: NS }] });
    assert.equal(r.version.deployed, true);
    const { sdk } = managementClient({ domain: tenant.url, ...tenant.deployClient });
    assert.equal((await sdk.actions.list({ actionName: 'auth0-rbac-claims' })).data.length, 1);
  } finally {
    await tenant.close();
  }
});

test('deploy to a tenant with --secret sends the environment\'s secrets too', async () => {
  const tenant = await startMockTenant();
  try {
    const action = path.join(os.tmpdir(), `deploy-secret-${process.pid}.js`);
    fs.writeFileSync(action, 'exports.onExecutePostLogin = async () => {};');
    const env = {
      CLAIM_NAMESPACE: NS,
      AUTH0_DOMAIN: tenant.url,
      AUTH0_CLIENT_ID: tenant.clientId,
      AUTH0_CLIENT_SECRET: tenant.clientSecret,
      AUTH0_DEPLOY_CLIENT_ID: tenant.deployClient.clientId,
      AUTH0_DEPLOY_CLIENT_SECRET: tenant.deployClient.clientSecret,
    };
    const r = await cli(['deploy', '--tenant', tenant.url, '--action', action, '--secret', 'ON_ERROR=continue'], env);
    fs.rmSync(action, { force: true });
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.match(/\(([^)]+)\) deployed/)[1];
    assert.deepEqual(tenant.actions.secrets(id), {
      CLAIM_NAMESPACE: NS,
      AUTH0_DOMAIN: tenant.url,
      AUTH0_CLIENT_ID: tenant.clientId,
      AUTH0_CLIENT_SECRET: tenant.clientSecret,
      ON_ERROR: 'continue',
    });
  } finally {
    await tenant.close();
  }
});

test('the mock refuses to bind an Action that has no deployed version, as Auth0 does', async () => {
  const tenant = await startMockTenant();
  try {
    const { sdk } = managementClient({ domain: tenant.url, ...tenant.deployClient });
    const action = await sdk.actions.create({ name: 'never-deployed', code: 'exports.onExecutePostLogin = async () => {};', supported_triggers: [{ id: 'post-login', version: 'v3' }] });
    await assert.rejects(
      sdk.actions.triggers.bindings.updateMany('post-login', { bindings: [{ ref: { type: 'action_id', value: action.id }, display_name: 'x' }] }),
      (error) => error.statusCode === 400 && /has not been deployed/.test(error.body.message),
    );
    assert.deepEqual(tenant.actions.bindings().map((b) => b.action.name), ['legacy-mfa-rule']);
  } finally {
    await tenant.close();
  }
});

for (const [what, message, expected] of [
  ['build', 'npm install failed', /the Action's build failed: open the Action in the Auth0 dashboard/],
  ['deploy', 'version could not be packaged', /deploying version 1 failed: version could not be packaged/],
]) {
  test(`a failed ${what} stops the deploy at once with its message, and nothing is bound`, async () => {
    const tenant = await startMockTenant();
    try {
      tenant.actions.failNext(what, message);
      const client = managementClient({ domain: tenant.url, ...tenant.deployClient });
      const started = Date.now();
      await assert.rejects(deploy({ client, name: 'auth0-rbac-claims', code: 'exports.onExecutePostLogin = async () => {};', secrets: [] }), expected);
      assert.ok(Date.now() - started < 5_000, 'the failure was polled past its end');
      assert.deepEqual(tenant.actions.bindings().map((b) => b.action.name), ['legacy-mfa-rule']);
    } finally {
      await tenant.close();
    }
  });
}

test('deploy with wrong credentials says which application and scopes, and no secret', async () => {
  const tenant = await startMockTenant();
  try {
    const client = managementClient({ domain: tenant.url, clientId: tenant.deployClient.clientId, clientSecret: 'not-the-secret' });
    await assert.rejects(deploy({ client, name: 'auth0-rbac-claims', code: 'x', secrets: [{ name: 'AUTH0_CLIENT_SECRET', value: 'deployed-secret' }] }), (error) => {
      assert.match(error.message, /the token request was refused \(HTTP 401\).*read:actions create:actions update:actions/);
      assert.ok(!error.message.includes('not-the-secret') && !error.message.includes('deployed-secret'));
      return true;
    });
  } finally {
    await tenant.close();
  }
});

test('deploy --tenant mock prints the request sequence', async () => {
  const r = await cli(['deploy']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /deployed as version 1; binding added after the existing ones/);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('  ')).map((l) => l.trim().replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '{id}'));
  assert.equal(lines[0], 'POST /oauth/token → 200');
  assert.equal(lines[1], 'GET /api/v2/actions/actions → 200');
  assert.equal(lines[2], 'POST /api/v2/actions/actions → 201');
  assert.ok(lines.includes('POST /api/v2/actions/actions/{id}/deploy → 202'), lines.join('\n'));
  assert.equal(lines.at(-3), 'GET /api/v2/actions/actions/{id}/versions/{id} → 200');
  assert.deepEqual(lines.slice(-2), ['GET /api/v2/actions/triggers/post-login/bindings → 200', 'PATCH /api/v2/actions/triggers/post-login/bindings → 200']);
});

test('export --format deploy-cli writes the Deploy CLI layout with placeholders, and no triggers.json of its own', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbac-export-'));
  const r = await cli(['export', '--format', 'deploy-cli', dir]);
  assert.equal(r.code, 0, r.stderr);
  const action = JSON.parse(fs.readFileSync(path.join(dir, 'actions', 'auth0-rbac-claims.json'), 'utf8'));
  assert.equal(action.code, './actions/auth0-rbac-claims/code.js');
  assert.deepEqual(action.supported_triggers, [{ id: 'post-login', version: 'v3' }]);
  assert.ok(action.secrets.every((s) => s.value === `##${s.name}##`));
  assert.equal(fs.readFileSync(path.join(dir, 'actions', 'auth0-rbac-claims', 'code.js'), 'utf8'), fs.readFileSync(path.join(ROOT, 'dist', 'action.js'), 'utf8'));
  // A triggers.json listing only this Action would unbind the tenant's others on `a0deploy import`.
  assert.ok(!fs.existsSync(path.join(dir, 'triggers', 'triggers.json')));
  assert.match(r.stdout, /was not written/);
  assert.match(r.stdout, /a0deploy export/);
  assert.match(r.stdout, /\{"action_name":"auth0-rbac-claims","display_name":"auth0-rbac-claims"\}/);
});

test('export into a Deploy CLI export adds the binding after the existing ones, once', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbac-export-'));
  fs.mkdirSync(path.join(dir, 'triggers'));
  const existing = { 'post-login': [{ action_name: 'mfa', display_name: 'MFA' }, { action_name: 'auth0-rbac-claims', display_name: 'old place' }, { action_name: 'geo', display_name: 'Geo' }], 'pre-user-registration': [{ action_name: 'x', display_name: 'x' }] };
  fs.writeFileSync(path.join(dir, 'triggers', 'triggers.json'), JSON.stringify(existing));
  for (let i = 0; i < 2; i++) assert.equal((await cli(['export', '--format', 'deploy-cli', dir])).code, 0);
  const triggers = JSON.parse(fs.readFileSync(path.join(dir, 'triggers', 'triggers.json'), 'utf8'));
  assert.deepEqual(triggers['post-login'].map((b) => b.action_name), ['mfa', 'geo', 'auth0-rbac-claims']);
  assert.deepEqual(triggers['pre-user-registration'], existing['pre-user-registration']);
});

test('serve + token: dev tokens carry exactly the Action\'s claims and verify against the JWKS', async (t) => {
  const server = spawn(process.execPath, [CLI, 'serve'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => server.kill());
  const url = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    server.on('exit', () => reject(new Error(`serve exited: ${out}`)));
  });
  const audience = 'https://projects.example.com/api';
  const r = await cli(['token', '--tenant', url, '--user', 'auth0|pm', '--audience', audience]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const jwks = jose.createRemoteJWKSet(new URL(out.jwks_uri));
  const access = await jose.jwtVerify(out.access_token, jwks, { issuer: `${url}/`, audience });
  assert.equal(access.payload.sub, 'auth0|pm');
  assert.deepEqual(access.payload[`${NS}/permissions`], ['read:project-list']);
  assert.deepEqual(access.payload[`${NS}/roles`], ['Project Manager']);
  for (const [claim, value] of Object.entries(out.claims.access_token)) assert.deepEqual(access.payload[claim], value);
  const id = await jose.jwtVerify(out.id_token, jwks, { issuer: `${url}/`, audience: 'spa-client-id' });
  assert.deepEqual(id.payload[`${NS}/permissions`], ['read:project-list']);

  // run --tenant real reads the user and their roles through the SDK, as against a real tenant.
  const secrets = await (await fetch(`${url}/__dev/action-secrets`)).json();
  const real = await cli(['run', '--tenant', 'real', '--user', 'auth0|pm', '--audience', audience, '--json'], { ...secrets, CLAIM_NAMESPACE: NS });
  assert.equal(real.code, 0, real.stderr);
  const login = JSON.parse(real.stdout);
  assert.deepEqual(login.tokens.access_token.claims[`${NS}/roles`], ['Project Manager']);
  assert.deepEqual(login.tokens.access_token.claims[`${NS}/permissions`], ['read:project-list']);
});

test('doctor on a good setup: every check passes, exit 0, and no secret in the output', async () => {
  const r = await cli(['doctor', '--user', 'auth0|big', '--audience', 'https://orders.example.com', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.ok, true);
  assert.deepEqual(out.checks.map((c) => c.name), ['settings', 'domain', 'credentials', 'scopes', 'token size', 'permissions read', 'rate limit', 'claims']);
  assert.ok(out.checks.every((c) => c.ok && !c.fix));
  const human = await cli(['doctor']);
  assert.equal(human.code, 0);
  assert.match(human.stdout, /all checks passed/);
  assert.doesNotMatch(human.stdout + r.stdout, /eyJ[\w-]+\.eyJ/, 'no token');
});

test('doctor names each misconfiguration with its fix and exits 1', async () => {
  const tenant = await startMockTenant();
  try {
    const code = fs.readFileSync(path.join(ROOT, 'dist', 'action.js'), 'utf8');
    const good = tenant.secrets({ CLAIM_NAMESPACE: NS });
    const failing = async (settings, extra = {}) => {
      const result = await doctor({ settings, source: code, ...extra });
      assert.equal(result.ok, false);
      const text = JSON.stringify(result);
      for (const secret of [tenant.clientSecret, tenant.deployClient.clientSecret]) assert.ok(!text.includes(secret), 'a secret in the report');
      return Object.fromEntries(result.checks.filter((c) => !c.ok).map((c) => [c.name, c]));
    };
    assert.match((await failing({ ...good, CLAIM_NAMESPACE: 'https://x.webtask.io' })).settings.detail, /CLAIM_NAMESPACE is refused/);
    assert.match((await failing({ ...good, AUTH0_DOMAIN: 'login.example.com' })).domain.fix, /canonical tenant domain/);
    assert.match((await failing({ ...good, PERMISSIONS_IN: 'both' })).settings.detail, /PERMISSIONS_IN must be/);
    // The roles source: the read the Action makes is the role listing.
    const roles = await doctor({ settings: { ...good, PERMISSIONS_SOURCE: ' Roles ' }, source: code, userId: 'auth0|big' });
    assert.equal(roles.ok, true, JSON.stringify(roles));
    assert.match(roles.checks.find((c) => c.name === 'permissions read').detail, /^GET \/api\/v2\/roles: \d+ roles/);
    assert.match(roles.checks.find((c) => c.name === 'scopes').detail, /read:roles/);
    assert.match((await failing({ ...good, AUTH0_CLIENT_SECRET: 'wrong' })).credentials.detail, /HTTP 401/);
    // The deploy application has only the Actions scopes.
    const scopes = (await failing({ ...good, AUTH0_CLIENT_ID: tenant.deployClient.clientId, AUTH0_CLIENT_SECRET: tenant.deployClient.clientSecret })).scopes;
    assert.match(scopes.detail, /lacks read:users/);
    assert.match(scopes.fix, /grant the application read:users/);
    const orgScopes = await doctor({ settings: { ...good, AUTH0_CLIENT_ID: tenant.deployClient.clientId, AUTH0_CLIENT_SECRET: tenant.deployClient.clientSecret }, source: code, organization: 'org_acme' });
    assert.match(orgScopes.checks.find((c) => c.name === 'scopes').detail, /read:organization_member_roles/);
    // The effective endpoint needs its own scope, and the read is the one the Action makes.
    const effective = { ...good, PERMISSIONS_ENDPOINT: 'effective' };
    const readUsersOnly = tenant.addClient('read:users');
    const lacking = await failing({ ...effective, AUTH0_CLIENT_ID: readUsersOnly.clientId, AUTH0_CLIENT_SECRET: readUsersOnly.clientSecret }, { userId: 'auth0|big', audience: tenant.apis.orders });
    assert.match(lacking.scopes.detail, /lacks read:user_effective_permissions/);
    assert.match(lacking['permissions read'].detail, /effective-permissions answered HTTP 403/);
    const fine = await doctor({ settings: effective, source: code, userId: 'auth0|big', audience: tenant.apis.orders });
    assert.equal(fine.ok, true, JSON.stringify(fine));
    assert.match(fine.checks.find((c) => c.name === 'permissions read').detail, /^GET \/api\/v2\/users\/auth0%7Cbig\/effective-permissions: 50 on the first page of permission entries/);
    assert.match((await failing(good, { userId: 'auth0|nobody-here' }))['permissions read'].detail, /HTTP 404/);
    // Nearly out of Management API requests.
    tenant.setRateLimit({ burst: 10, perSecond: 0.01 });
    for (let i = 0; i < 8; i++) await fetch(`${tenant.url}/api/v2/roles`);
    assert.match((await failing(good, { userId: 'auth0|big' }))['rate limit'].detail, /of 10 Management API requests left/);
  } finally {
    await tenant.close();
  }
  // A token too large for api.cache's 4 KB once sealed.
  assert.ok(sealedLength('x'.repeat(3000)) <= 4096);
  assert.ok(sealedLength('x'.repeat(3100)) > 4096);
  assert.deepEqual([domainCheck('dev-abc.us.auth0.com').ok, domainCheck('https://tenant.eu.auth0.com/').ok, domainCheck('auth.example.com').ok, domainCheck('').ok], [true, true, false, false]);
});
