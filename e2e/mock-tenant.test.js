// The mock tenant speaks Auth0's wire format: proven with the official `auth0` SDK and `jose` as
// clients, and with plain requests for the paging rules, headers, faults, the Actions endpoints
// and Permit's endpoints.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { ManagementClient } = require('auth0');
const jose = require('jose');
const { startMockTenant } = require('../local/mock');

let tenant;
test.before(async () => {
  tenant = await startMockTenant();
});
test.after(() => tenant.close());
test.beforeEach(() => {
  tenant.clearFaults();
  tenant.resetLog();
});

// The SDK builds https://<domain>/… URLs; its `fetch` option lets it reach the loopback tenant.
const HOST = 'tenant.mock.test';
const viaMock = (input, init) => fetch(String(input instanceof Request ? input.url : input).replace(`https://${HOST}`, tenant.url), init);
const sdk = (secret = tenant.clientSecret) =>
  new ManagementClient({ domain: HOST, clientId: tenant.clientId, clientSecret: secret, audience: `${tenant.url}/api/v2/`, fetch: viaMock, maxRetries: 0 });

async function managementToken(client = { clientId: tenant.clientId, clientSecret: tenant.clientSecret }) {
  const r = await fetch(`${tenant.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret, audience: `${tenant.url}/api/v2/` }),
  });
  return (await r.json()).access_token;
}

async function get(path, token) {
  const r = await fetch(`${tenant.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await r.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: r.status, headers: r.headers, body };
}

test('the auth0 SDK gets a token and pages through every permission of the big user', async () => {
  const client = sdk();
  let page = await client.users.permissions.list('auth0|big', { per_page: 50, page: 0, include_totals: true });
  const all = [...page.data];
  while (page.hasNextPage()) {
    page = await page.getNextPage();
    all.push(...page.data);
  }
  assert.equal(all.length, 151, 'one entry per way a permission is held');
  const distinct = new Set(all.map((p) => `${p.resource_server_identifier} ${p.permission_name}`));
  assert.equal(distinct.size, tenant.expectedPermissions('auth0|big').length);
  assert.equal(tenant.count('token'), 1);
  assert.equal(tenant.count('permissions'), 4);
});

test('the auth0 SDK pages the effective-permissions endpoint by its cursor, and sees group grants', async () => {
  tenant.grantThroughGroup('auth0|big', tenant.apis.orders, 'orders:via-group');
  let page = await sdk().users.effectivePermissions.list('auth0|big', { resource_server_identifier: tenant.apis.orders, take: 20 });
  const all = [...page.data];
  while (page.hasNextPage()) {
    page = await page.getNextPage();
    all.push(...page.data);
  }
  const expected = tenant.expectedPermissions('auth0|big').filter((p) => p.resource_server_identifier === tenant.apis.orders).map((p) => p.permission_name);
  assert.deepEqual(all.map((p) => p.permission_name), [...expected, 'orders:via-group'].sort());
  assert.ok(all.every((p) => p.resource_server_identifier === tenant.apis.orders && p.sources.every((s) => s === 'direct' || s === 'roles')));
  assert.equal(tenant.count('effective-permissions'), Math.ceil(all.length / 20));
  // The API is required, and the scope is its own.
  const token = await managementToken();
  assert.equal((await get('/api/v2/users/auth0%7Cbig/effective-permissions', token)).status, 400);
  const narrow = tenant.addClient('read:users');
  assert.equal((await get(`/api/v2/users/auth0%7Cbig/effective-permissions?resource_server_identifier=${encodeURIComponent(tenant.apis.orders)}`, await managementToken(narrow))).status, 403);
});

test('the auth0 SDK reaches the user whose id has |, /, a space and ?', async () => {
  const page = await sdk().users.permissions.list('oauth2|corp-sso|jane/doe ?x', { per_page: 50, page: 0, include_totals: true });
  assert.deepEqual(page.data.map((p) => p.permission_name).sort(), ['export:reports', 'read:reports']);
  assert.equal(tenant.requests.at(-1).path, '/api/v2/users/oauth2%7Ccorp-sso%7Cjane%2Fdoe%20%3Fx/permissions');
});

test('the auth0 SDK reads a member\'s roles within an Organization; unknown ones are 404', async () => {
  const roles = [];
  for await (const role of await sdk().organizations.members.roles.list('org_acme', 'auth0|big', { per_page: 1 })) roles.push(role);
  assert.deepEqual(roles.map((r) => r.name), ['viewer']);
  assert.match(roles[0].id, /^rol_/);
  assert.equal(tenant.requests.at(-1).path, '/api/v2/organizations/org_acme/members/auth0%7Cbig/roles');
  await assert.rejects(sdk().organizations.members.roles.list('org_nope', 'auth0|big'), (e) => e.statusCode === 404);
  await assert.rejects(sdk().organizations.members.roles.list('org_acme', 'auth0|pm'), (e) => e.statusCode === 404);
});

test('the auth0 SDK sees a 404 for an unknown user and a 401 for a wrong secret', async () => {
  await assert.rejects(sdk().users.permissions.list('auth0|nobody', { per_page: 50, page: 0 }), (e) => e.statusCode === 404);
  await assert.rejects(sdk('wrong').users.permissions.list('auth0|big', { per_page: 50, page: 0 }), (e) => /401|Unauthorized|access_denied/.test(`${e.statusCode} ${e.message}`));
});

test('paging: per_page is clamped to 50, no totals gives a bare array, no paging gives everything', async () => {
  const token = await managementToken();
  const clamped = await get('/api/v2/users/auth0%7Cbig/permissions?per_page=500&page=0&include_totals=true', token);
  assert.deepEqual([clamped.body.start, clamped.body.limit, clamped.body.total, clamped.body.permissions.length], [0, 50, 151, 50]);
  const bare = await get('/api/v2/users/auth0%7Cbig/permissions?per_page=50&page=3', token);
  assert.ok(Array.isArray(bare.body));
  assert.equal(bare.body.length, 1);
  const everything = await get('/api/v2/users/auth0%7Cbig/permissions', token);
  assert.equal(everything.body.length, 151);
  const roles = await get('/api/v2/users/auth0%7Cbig/roles?include_totals=true&page=0&per_page=1', token);
  assert.deepEqual([roles.body.total, roles.body.roles.length, roles.body.roles[0].name], [2, 1, 'admin']);
  for (const r of [clamped, bare, everything, roles]) {
    for (const h of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']) assert.match(r.headers.get(h), /^\d+$/, h);
  }
});

test('tokens: wrong secret 401, wrong audience 403, revoked or forged token 401, missing scope 403', async () => {
  const post = (body) => fetch(`${tenant.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
  const base = { grant_type: 'client_credentials', client_id: tenant.clientId, client_secret: tenant.clientSecret, audience: `${tenant.url}/api/v2/` };
  assert.equal((await post({ ...base, client_secret: 'nope' })).status, 401);
  const wrongAudience = await post({ ...base, audience: 'https://elsewhere/api/v2/' });
  assert.equal(wrongAudience.status, 403);
  assert.match((await wrongAudience.json()).error_description, /not authorized to access/);
  const token = await managementToken();
  assert.equal((await get('/api/v2/users/auth0%7Cbig/permissions', token)).status, 200);
  tenant.revokeTokens();
  assert.deepEqual((await get('/api/v2/users/auth0%7Cbig/permissions', token)).body, { statusCode: 401, error: 'Unauthorized', message: 'Invalid token' });
  const [h, p] = (await managementToken()).split('.');
  assert.equal((await get('/api/v2/users/auth0%7Cbig/permissions', `${h}.${p}.forged`)).status, 401);
  const deployToken = await managementToken(tenant.deployClient);
  const noScope = await get('/api/v2/users/auth0%7Cbig/permissions', deployToken);
  assert.equal(noScope.status, 403);
  assert.equal(noScope.body.errorCode, 'insufficient_scope');
});

test('the Management API token is an RS256 JWT that jose verifies against the tenant JWKS', async () => {
  const discovery = (await get('/.well-known/openid-configuration')).body;
  assert.equal(discovery.issuer, `${tenant.url}/`);
  const jwks = jose.createRemoteJWKSet(new URL(discovery.jwks_uri));
  const { payload, protectedHeader } = await jose.jwtVerify(await managementToken(), jwks, { issuer: discovery.issuer, audience: `${tenant.url}/api/v2/` });
  assert.equal(protectedHeader.alg, 'RS256');
  assert.equal(payload.gty, 'client-credentials');
  const minted = tenant.mintToken({ sub: 'auth0|pm', aud: 'https://projects.example.com/api', claims: { 'https://x/roles': ['pm'] } });
  const verified = await jose.jwtVerify(minted, jwks, { issuer: discovery.issuer, audience: 'https://projects.example.com/api' });
  assert.deepEqual(verified.payload['https://x/roles'], ['pm']);
});

test('faults: latency, 5xx n times, 429 with headers, malformed bodies, hangs, stalled bodies, probability', async () => {
  const token = await managementToken();
  const path = '/api/v2/users/auth0%7Cthree-perms/permissions';
  tenant.inject('permissions', { latencyMs: 120 });
  let started = Date.now();
  assert.equal((await get(path, token)).status, 200);
  assert.ok(Date.now() - started >= 115);
  tenant.clearFaults();

  tenant.inject('permissions', { status: 503, times: 2 });
  assert.deepEqual([(await get(path, token)).status, (await get(path, token)).status, (await get(path, token)).status], [503, 503, 200]);

  tenant.inject('permissions', { rateLimited: { times: 1, retryAfter: 3, resetIn: 7 } });
  const limited = await get(path, token);
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get('retry-after'), '3');
  assert.ok(Number(limited.headers.get('x-ratelimit-reset')) >= Math.floor(Date.now() / 1000) + 6);
  assert.equal((await get(path, token)).status, 200);

  for (const [kind, check] of [['text', (b) => typeof b === 'string' && b.startsWith('<html>')], ['shape', (b) => b.unexpected === true], ['truncated', (b) => typeof b === 'string']]) {
    tenant.clearFaults();
    tenant.inject('permissions', { malformed: kind });
    const r = await get(path, token);
    assert.equal(r.status, 200);
    assert.ok(check(r.body), kind);
  }

  tenant.clearFaults();
  tenant.inject('permissions', { hang: true, times: 1 });
  started = Date.now();
  await assert.rejects(fetch(`${tenant.url}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(200) }), { name: 'TimeoutError' });
  assert.ok(Date.now() - started < 1000);

  tenant.clearFaults();
  tenant.inject('permissions', { stallBody: true, times: 1 });
  const stalled = await fetch(`${tenant.url}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(300) });
  assert.equal(stalled.status, 200, 'the status and headers arrive');
  await assert.rejects(stalled.text(), { name: 'TimeoutError' });
  assert.equal((await get(path, token)).status, 200);

  tenant.clearFaults();
  tenant.inject('permissions', { status: 500, probability: 0.5 });
  const statuses = [];
  for (let i = 0; i < 40; i++) statuses.push((await get(path, token)).status);
  const failed = statuses.filter((s) => s === 500).length;
  assert.ok(failed > 5 && failed < 35, `${failed} of 40`);
});

test('a token bucket enforces rate limits with Auth0\'s headers', async () => {
  const limited = await startMockTenant({ rateLimit: { burst: 3, perSecond: 2 } });
  try {
    const token = await (await fetch(`${limited.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: limited.clientId, client_secret: limited.clientSecret, audience: `${limited.url}/api/v2/` }),
    })).json();
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${limited.url}/api/v2/users/auth0%7Cpm/permissions`, { headers: { authorization: `Bearer ${token.access_token}` } });
      statuses.push(`${r.status}:${r.headers.get('x-ratelimit-remaining')}`);
    }
    assert.deepEqual(statuses, ['200:2', '200:1', '200:0', '429:0', '429:0']);
  } finally {
    await limited.close();
  }
});

test('Actions: create, build states, deploy refused until built, 202 and live later, no binding before, bindings replaced as a whole', async () => {
  const token = await managementToken(tenant.deployClient);
  const call = async (method, path, body) => {
    const r = await fetch(`${tenant.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
    return { status: r.status, body: await r.json() };
  };
  const created = await call('POST', '/api/v2/actions/actions', { name: 'probe', code: 'x', runtime: 'node22', supported_triggers: [{ id: 'post-login', version: 'v3' }], secrets: [{ name: 'S', value: 'secret-value' }] });
  assert.equal(created.status, 201);
  assert.equal(created.body.status, 'pending');
  assert.deepEqual(created.body.secrets.map((s) => Object.keys(s).sort()), [['name', 'updated_at']]);
  assert.equal((await call('POST', '/api/v2/actions/actions', { name: 'probe', supported_triggers: [] })).status, 409);
  const early = await call('POST', `/api/v2/actions/actions/${created.body.id}/deploy`);
  assert.equal(early.status, 400);
  assert.match(early.body.message, /must be in the 'built' state/);
  const states = new Set();
  for (let i = 0; i < 40 && !states.has('built'); i++) {
    states.add((await call('GET', `/api/v2/actions/actions/${created.body.id}`)).body.status);
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.deepEqual([...states], ['pending', 'building', 'built']);
  tenant.actions.holdDeploys(true); // the new version stays pending until released below
  const deployed = await call('POST', `/api/v2/actions/actions/${created.body.id}/deploy`);
  assert.deepEqual([deployed.status, deployed.body.number, deployed.body.deployed], [202, 1, false], 'accepted, deployed later');
  const before = (await call('GET', '/api/v2/actions/triggers/post-login/bindings')).body.bindings;
  assert.deepEqual(before.map((b) => b.action.name), ['legacy-mfa-rule']);
  const tooEarly = await call('PATCH', '/api/v2/actions/triggers/post-login/bindings', { bindings: [{ ref: { type: 'action_name', value: 'probe' } }] });
  assert.equal(tooEarly.status, 400);
  assert.match(tooEarly.body.message, /binding for an action that has not been deployed/);
  tenant.actions.holdDeploys(false);
  const versionPath = `/api/v2/actions/actions/${created.body.id}/versions/${deployed.body.id}`;
  let version;
  for (let i = 0; i < 40 && !version?.deployed; i++) {
    version = (await call('GET', versionPath)).body;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.deepEqual([version.status, version.deployed], ['built', true]);
  assert.equal((await call('GET', `/api/v2/actions/actions/${created.body.id}`)).body.deployed_version.id, deployed.body.id);
  const paged = await call('GET', '/api/v2/actions/triggers/post-login/bindings?page=1&per_page=50');
  assert.deepEqual([paged.body.bindings, paged.body.total], [[], 1], 'a page past the end is empty');
  const patched = await call('PATCH', '/api/v2/actions/triggers/post-login/bindings', { bindings: [{ ref: { type: 'action_name', value: 'probe' } }] });
  assert.deepEqual(patched.body.bindings.map((b) => b.action.name), ['probe'], 'PATCH replaces the whole list');
  assert.equal((await call('PATCH', '/api/v2/actions/triggers/post-login/bindings', { bindings: [{ ref: { type: 'action_id', value: 'nope' } }] })).status, 404);
  // Put the foreign binding back for the other tests.
  await call('PATCH', '/api/v2/actions/triggers/post-login/bindings', { bindings: before.map((b) => ({ ref: { type: 'action_id', value: b.action.id }, display_name: b.display_name })) });
  assert.equal((await get('/api/v2/actions/actions', await managementToken())).status, 403, 'the Action\'s own client cannot read Actions');
});

test('Permit: key check, scope, users, assignments (single and bulk), paging', async () => {
  const { apiKey, projectKey, environmentId } = tenant.permit;
  tenant.permit.reset();
  const call = async (method, path, body, key = apiKey) => {
    const r = await fetch(`${tenant.url}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined };
  };
  assert.equal((await call('GET', '/v2/api-key/scope', undefined, 'wrong')).status, 401);
  assert.equal((await call('GET', '/v2/api-key/scope')).body.environment_id, environmentId);
  const facts = `/v2/facts/${projectKey}/${environmentId}`;
  assert.equal((await call('GET', `${facts}/users/u1`)).status, 404);
  assert.equal((await call('PUT', `${facts}/users/u1`, { key: 'u1', email: 'u1@example.com' })).status, 201);
  assert.equal((await call('PUT', `${facts}/users/u1`, { key: 'u1', email: 'new@example.com' })).status, 200);
  assert.equal((await call('GET', `${facts}/users/u1`)).body.email, 'new@example.com');
  // PUT replaces whole; PATCH changes only what it is given; POST creates, once.
  await call('PUT', `${facts}/users/u1`, { key: 'u1', email: 'new@example.com', attributes: { plan: 'gold' } });
  assert.equal((await call('PATCH', `${facts}/users/u1`, { first_name: 'Uma' })).status, 200);
  assert.deepEqual((({ email, first_name, attributes }) => ({ email, first_name, attributes }))((await call('GET', `${facts}/users/u1`)).body), { email: 'new@example.com', first_name: 'Uma', attributes: { plan: 'gold' } });
  await call('PUT', `${facts}/users/u1`, { key: 'u1', email: 'new@example.com' });
  assert.deepEqual((await call('GET', `${facts}/users/u1`)).body.attributes, {}, 'PUT wipes what it does not send');
  assert.equal((await call('PATCH', `${facts}/users/nobody`, { email: 'x@example.com' })).status, 404);
  assert.equal((await call('POST', `${facts}/users`, { key: 'u2', email: 'u2@example.com' })).status, 201);
  assert.equal((await call('POST', `${facts}/users`, { key: 'u2' })).status, 409);
  assert.equal((await call('DELETE', `${facts}/users/u2`)).status, 204);
  // Role keys are slugs; assignments on a resource instance are listed with the others.
  assert.equal((await call('POST', `${facts}/role_assignments`, { user: 'u1', role: 'Project Manager', tenant: 'default' })).status, 422);
  assert.equal((await call('POST', `${facts}/role_assignments`, { user: 'u1', role: 'viewer', tenant: 'default' })).status, 201);
  assert.equal((await call('POST', `${facts}/role_assignments`, { user: 'u1', role: 'viewer', tenant: 'default' })).status, 409, 'held already');
  assert.equal((await call('POST', `${facts}/role_assignments`, { user: 'u1', role: 'no-such-role', tenant: 'default' })).status, 404);
  const bulk = await call('POST', `${facts}/role_assignments/bulk`, [{ user: 'u1', role: 'viewer', tenant: 'default' }, { user: 'u1', role: 'editor', tenant: 'default' }, { user: 'u1', role: 'admin', tenant: 'acme' }]);
  assert.deepEqual(bulk.body, { assignments_created: 2 });
  assert.deepEqual((await call('GET', `${facts}/role_assignments?user=u1&tenant=default`)).body.map((a) => a.role), ['viewer', 'editor']);
  tenant.permit.assignOnInstance('u1', 'auditor', 'document:1');
  const listed = (await call('GET', `${facts}/role_assignments?user=u1&tenant=default`)).body;
  assert.deepEqual(listed.map((a) => [a.role, a.resource_instance ?? null]), [['viewer', null], ['editor', null], ['auditor', 'document:1']]);
  tenant.permit.assignments.pop();
  assert.equal((await call('GET', `${facts}/role_assignments?user=u1&page=2&per_page=2`)).body.length, 1);
  assert.deepEqual((await call('DELETE', `${facts}/role_assignments/bulk`, [{ user: 'u1', role: 'editor', tenant: 'default' }, { user: 'u1', role: 'auditor', tenant: 'default' }])).body, { assignments_removed: 1 });
  assert.equal((await call('DELETE', `${facts}/role_assignments`, { user: 'u1', role: 'viewer', tenant: 'default' })).status, 204);
  assert.equal((await call('DELETE', `${facts}/role_assignments`, { user: 'u1', role: 'viewer', tenant: 'default' })).status, 404, 'not held');
  assert.equal((await call('DELETE', `${facts}/users/u1`)).status, 204);
  assert.deepEqual(tenant.permit.assignments, []);
  assert.equal((await call('GET', `/v2/facts/other/${environmentId}/users/u1`)).status, 404);
});

test('Permit: the bulk endpoints take 100 requests per 10 minutes, the single ones more', async () => {
  const { apiKey, projectKey, environmentId } = tenant.permit;
  tenant.permit.reset();
  const facts = `${tenant.url}/v2/facts/${projectKey}/${environmentId}`;
  const call = (method, path, body) =>
    fetch(`${facts}${path}`, { method, headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => (await r.text(), r.status));
  await call('POST', '/users', { key: 'u1' });
  const item = { user: 'u1', role: 'viewer', tenant: 'default' };
  const bulk = [];
  for (let i = 0; i < 100; i++) bulk.push(await call(i % 2 ? 'DELETE' : 'POST', '/role_assignments/bulk', [item]));
  assert.deepEqual([...new Set(bulk)], [200]);
  assert.equal(await call('POST', '/role_assignments/bulk', [item]), 429);
  assert.equal(await call('DELETE', '/role_assignments/bulk', [item]), 429);
  for (let i = 0; i < 150; i++) assert.equal(await call(i % 2 ? 'DELETE' : 'POST', '/role_assignments', item), i % 2 ? 204 : 201);
  tenant.permit.reset();
});

test('the request log holds no secret, token or key', async () => {
  const token = await managementToken();
  await get('/api/v2/users/auth0%7Cbig/permissions', token);
  await fetch(`${tenant.url}/v2/api-key/scope`, { headers: { authorization: `Bearer ${tenant.permit.apiKey}` } });
  const log = JSON.stringify(tenant.requests);
  assert.ok(tenant.requests.length >= 3);
  for (const secret of [tenant.clientSecret, token, tenant.permit.apiKey]) assert.ok(!log.includes(secret));
});
