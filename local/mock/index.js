// The mock Auth0 tenant: a real HTTP server on 127.0.0.1 (ephemeral port) that speaks Auth0's
// wire format (auth0-facts.md §5–6): client-credentials tokens, users' permissions and roles with
// Auth0's paging and rate-limit headers, the Actions endpoints, OIDC discovery and JWKS, and
// Permit.io's endpoints (permit.js). Faults can be injected per route (faults.js). Node built-ins
// only. `startMockTenant()` resolves to the handle documented below.
'use strict';

const http = require('node:http');
const crypto = require('node:crypto');
const { APIS, API_NAMES, ROLES, USERS, ORGANIZATIONS } = require('./seed');
const { createSigner } = require('./jwt');
const { createFaults } = require('./faults');
const { createPermit } = require('./permit');
const { createActions } = require('./actions');
const { json, apiError, readBody, nowSeconds } = require('./http');

// Largest page per endpoint: a user's permissions 50 (Public Cloud, auth0-facts.md §5.4); roles
// and a role's permissions 100 (their OpenAPI description).
const MAX_PER_PAGE = 50;
const ROLES_MAX_PER_PAGE = 100;

const permissionEntry = ({ api, name }) => ({
  permission_name: name,
  description: `${name} on ${API_NAMES[api] || api}`,
  resource_server_name: API_NAMES[api] || api,
  resource_server_identifier: api,
});

/** One entry per way the user holds a permission: direct ones first, then each role's. */
function permissionEntries(user, roles) {
  const entry = (p, source) => ({ ...permissionEntry(p), sources: [source] });
  return [
    ...user.directPermissions.map((p) => entry(p, { source_id: '', source_name: '', source_type: 'DIRECT' })),
    ...user.roles.flatMap((role) => (roles.get(role) || []).map((p) => entry(p, { source_id: roleId(role), source_name: role, source_type: 'ROLE' }))),
  ];
}

const roleId = (name) => `rol_${crypto.createHash('sha256').update(name).digest('hex').slice(0, 16)}`;

/** Auth0's offset paging: no page/per_page → everything as a bare array. */
function paged(items, query, key, max = MAX_PER_PAGE) {
  if (query.page === undefined && query.per_page === undefined) return items;
  const perPage = Math.min(max, Math.max(1, Number.parseInt(query.per_page ?? max, 10) || max));
  const page = Math.max(0, Number.parseInt(query.page ?? 0, 10) || 0);
  const slice = items.slice(page * perPage, page * perPage + perPage);
  if (query.include_totals !== 'true') return slice;
  return { start: page * perPage, limit: perPage, total: items.length, [key]: slice };
}

/**
 * Starts the tenant. Options: latencyMs (every route), tokenLifetimeSeconds (default 86400),
 * rateLimit ({burst, perSecond} token bucket for /api/v2; off when null), seed (fault PRNG), port.
 */
async function startMockTenant({ latencyMs = 0, tokenLifetimeSeconds = 86400, rateLimit: initialRateLimit = null, seed = 1, port = 0 } = {}) {
  let rateLimit = initialRateLimit;
  const signer = await createSigner();
  const faults = createFaults({ seed });
  const clients = new Map();
  const newClient = (scope) => {
    const client = { clientId: crypto.randomBytes(16).toString('hex'), clientSecret: crypto.randomBytes(32).toString('base64url'), scope };
    clients.set(client.clientId, client);
    return client;
  };
  const actionClient = newClient('read:users read:roles read:organization_member_roles read:user_effective_permissions');
  const deployClient = newClient('read:actions create:actions update:actions');
  const users = new Map(USERS.map((u) => [u.user_id, { ...u, roles: [...u.roles], directPermissions: [...u.directPermissions] }]));
  const roles = new Map(Object.entries(ROLES).map(([name, permissions]) => [name, [...permissions]]));
  // Organization id → member id → role names held there.
  const organizations = new Map(Object.entries(ORGANIZATIONS).map(([id, o]) => [id, new Map(Object.entries(o.members).map(([u, r]) => [u, [...r]]))]));
  const issued = new Map(); // token → { exp, scope, revoked }
  const requests = [];
  const counts = new Map();
  const open = new Set(); // sockets, so close() ends hung requests too
  let url;
  let bucket = rateLimit ? { tokens: rateLimit.burst, at: Date.now() } : null;

  const permit = createPermit();
  const actions = createActions();

  function issueToken(client, audience) {
    const iat = nowSeconds();
    const token = signer.sign({
      iss: `${url}/`, sub: `${client.clientId}@clients`, aud: audience, iat, exp: iat + tokenLifetimeSeconds,
      scope: client.scope, gty: 'client-credentials', azp: client.clientId,
    });
    issued.set(token, { exp: iat + tokenLifetimeSeconds, scope: client.scope.split(' '), revoked: false });
    return token;
  }

  // Token bucket of the Management API (auth0-facts.md §5.5).
  function rateLimitHeaders(take) {
    if (!bucket) return { allowed: true, headers: { 'x-ratelimit-limit': '50', 'x-ratelimit-remaining': '49', 'x-ratelimit-reset': String(nowSeconds() + 1) } };
    const elapsed = (Date.now() - bucket.at) / 1000;
    bucket = { tokens: Math.min(rateLimit.burst, bucket.tokens + elapsed * rateLimit.perSecond), at: Date.now() };
    const allowed = !take || bucket.tokens >= 1;
    if (take && allowed) bucket.tokens -= 1;
    const reset = nowSeconds() + Math.max(1, Math.ceil((1 - (bucket.tokens % 1)) / rateLimit.perSecond));
    return { allowed, headers: { 'x-ratelimit-limit': String(rateLimit.burst), 'x-ratelimit-remaining': String(Math.floor(bucket.tokens)), 'x-ratelimit-reset': String(reset) } };
  }

  function authorise(req, scopes) {
    const token = (req.headers.authorization || '').replace(/^Bearer\s+/i, '');
    const grant = issued.get(token);
    if (!grant || grant.revoked || grant.exp < nowSeconds()) return apiError(401, 'Unauthorized', 'Invalid token');
    if (!scopes.some((s) => grant.scope.includes(s))) {
      return apiError(403, 'Forbidden', `Insufficient scope, expected any of: ${scopes.join(',')}`, 'insufficient_scope');
    }
    return null;
  }

  const routes = [
    ['token', 'POST', /^\/oauth\/token$/, async (req) => {
      const body = await readBody(req);
      if (!body || typeof body !== 'object' || body.grant_type !== 'client_credentials') {
        return json(400, { error: 'invalid_request', error_description: 'grant_type must be client_credentials' });
      }
      const client = clients.get(body.client_id);
      if (!client || client.clientSecret !== body.client_secret) return json(401, { error: 'access_denied', error_description: 'Unauthorized' });
      if (body.audience !== `${url}/api/v2/`) {
        return json(403, { error: 'access_denied', error_description: `Client is not authorized to access "${body.audience}". You need to create a "client-grant" associated to this API.` });
      }
      return json(200, { access_token: issueToken(client, body.audience), token_type: 'Bearer', expires_in: tokenLifetimeSeconds, scope: client.scope });
    }],
    // Effective permissions (auth0-facts.md §9; the SDKs' types): one API per request
    // (resource_server_identifier is required), checkpoint paging with `take` (default 50) and
    // the `next` cursor, direct, role and group grants, each once with its sources. Group grants
    // are seen here only (whether the older endpoint sees them is not documented).
    ['effective-permissions', 'GET', /^\/api\/v2\/users\/([^/]+)\/effective-permissions$/, (req, m, query) => {
      const user = users.get(decodeURIComponent(m[1]));
      if (!user) return unknownUser();
      const api = query.resource_server_identifier;
      if (!api) return apiError(400, 'Bad Request', 'Query validation error: resource_server_identifier is required', 'invalid_query_string');
      const take = Math.max(1, Number.parseInt(query.take ?? '50', 10) || 50);
      const sources = new Map();
      const add = (p, source) => {
        if (p.api !== api) return;
        const key = p.name;
        if (!sources.has(key)) sources.set(key, { ...permissionEntry(p), sources: [] });
        const entry = sources.get(key);
        if (!entry.sources.includes(source)) entry.sources.push(source);
      };
      // The SDKs' source enum has two values: a role held through a group is a role source.
      user.directPermissions.forEach((p) => add(p, 'direct'));
      user.roles.forEach((role) => (roles.get(role) || []).forEach((p) => add(p, 'roles')));
      (user.groupPermissions || []).forEach((p) => add(p, 'roles'));
      const all = [...sources.values()].sort((a, b) => (a.permission_name < b.permission_name ? -1 : 1));
      // The cursor is opaque to clients (here, the offset in base64url): only `next` is echoed.
      const start = query.from ? Number(Buffer.from(String(query.from), 'base64url').toString()) : 0;
      if (!Number.isInteger(start) || start < 0 || start > all.length) return apiError(400, 'Bad Request', 'Invalid from cursor', 'invalid_query_string');
      const body = { permissions: all.slice(start, start + take) };
      if (start + take < all.length) body.next = Buffer.from(String(start + take)).toString('base64url');
      return json(200, body);
    }, ['read:user_effective_permissions']],
    ['permissions', 'GET', /^\/api\/v2\/users\/([^/]+)\/permissions$/, (req, m, query) => {
      const user = users.get(decodeURIComponent(m[1]));
      return user ? json(200, paged(permissionEntries(user, roles), query, 'permissions')) : unknownUser();
    }, ['read:users']],
    // name_filter: Auth0 documents only "case-insensitive"; a substring match is the looser reading,
    // so the Action must (and does) look for the exact name among the answers.
    ['roles', 'GET', /^\/api\/v2\/roles$/, (req, m, query) => {
      const filter = (query.name_filter || '').toLowerCase();
      const list = [...roles.keys()]
        .filter((name) => name.toLowerCase().includes(filter))
        .map((name) => ({ id: roleId(name), name, description: `${name} role` }));
      return json(200, paged(list, query, 'roles', ROLES_MAX_PER_PAGE));
    }, ['read:roles']],
    ['role-permissions', 'GET', /^\/api\/v2\/roles\/([^/]+)\/permissions$/, (req, m, query) => {
      const name = [...roles.keys()].find((n) => roleId(n) === decodeURIComponent(m[1]));
      if (name === undefined) return apiError(404, 'Not Found', 'The role does not exist.');
      return json(200, paged(roles.get(name).map(permissionEntry), query, 'permissions', ROLES_MAX_PER_PAGE));
    }, ['read:roles']],
    ['roles', 'GET', /^\/api\/v2\/users\/([^/]+)\/roles$/, (req, m, query) => {
      const user = users.get(decodeURIComponent(m[1]));
      if (!user) return unknownUser();
      const roles = user.roles.map((name) => ({ id: roleId(name), name, description: `${name} role` }));
      return json(200, paged(roles, query, 'roles'));
    }, ['read:users', 'read:roles']],
    // A member's roles within an Organization (tenant roles assigned there and Organization
    // roles). An unknown Organization is 404, as Auth0 documents; so is a user who is not a
    // member here (Auth0 does not let a non-member log in through an Organization at all).
    ['organizations', 'GET', /^\/api\/v2\/organizations\/([^/]+)\/members\/([^/]+)\/roles$/, (req, m, query) => {
      const members = organizations.get(decodeURIComponent(m[1]));
      if (!members) return apiError(404, 'Not Found', 'No organization found by that id or name');
      const held = members.get(decodeURIComponent(m[2]));
      if (!held) return apiError(404, 'Not Found', 'The user is not a member of the organization');
      const list = held.map((name) => ({ id: roleId(name), name, description: `${name} role` }));
      return json(200, paged(list, query, 'roles', ROLES_MAX_PER_PAGE));
    }, ['read:organization_member_roles']],
    ['users', 'GET', /^\/api\/v2\/users\/([^/]+)$/, (req, m) => {
      const user = users.get(decodeURIComponent(m[1]));
      if (!user) return unknownUser();
      const { roles, directPermissions, groupPermissions, ...profile } = user;
      return json(200, { ...profile, email_verified: true, app_metadata: {}, user_metadata: {}, identities: [] });
    }, ['read:users']],
    ...actions.routes(),
    ['openid', 'GET', /^\/\.well-known\/openid-configuration$/, () => json(200, {
      issuer: `${url}/`, jwks_uri: `${url}/.well-known/jwks.json`, token_endpoint: `${url}/oauth/token`,
      authorization_endpoint: `${url}/authorize`, userinfo_endpoint: `${url}/userinfo`,
      id_token_signing_alg_values_supported: ['RS256'], response_types_supported: ['code'], subject_types_supported: ['public'],
    })],
    ['jwks', 'GET', /^\/\.well-known\/jwks\.json$/, () => json(200, signer.jwks())],
    ...permit.routes(),
    // Development helpers for a tenant started with `cli.js serve` (never part of Auth0's API).
    ['dev', 'GET', /^\/__dev\/users$/, () => json(200, Object.fromEntries(users))],
    ['dev', 'GET', /^\/__dev\/action-secrets$/, () => json(200, { AUTH0_DOMAIN: url, AUTH0_CLIENT_ID: actionClient.clientId, AUTH0_CLIENT_SECRET: actionClient.clientSecret })],
    ['dev', 'POST', /^\/__dev\/tokens$/, async (req) => json(200, { token: handle.mintToken((await readBody(req)) || {}) })],
  ];
  const unknownUser = () => apiError(404, 'Not Found', 'The user does not exist.', 'inexistent_user');

  function dispatch(method, rawPath) {
    for (const [name, routeMethod, pattern, handler, scopes] of routes) {
      const m = pattern.exec(rawPath);
      if (m && method === routeMethod) return { name, handler, m, scopes };
    }
    return null;
  }

  const server = http.createServer(async (req, res) => {
    const startedAt = Date.now();
    const [rawPath, rawQuery = ''] = req.url.split('?');
    const query = Object.fromEntries(new URLSearchParams(rawQuery));
    const match = dispatch(req.method, rawPath);
    const route = match ? match.name : 'unknown';
    const entry = { route, method: req.method, path: rawPath, query, status: null, startedAt, ms: 0 };
    requests.push(entry);
    counts.set(route, (counts.get(route) || 0) + 1);
    // A client that gives up on an answer (its timeout) closes the connection before the answer
    // ends: when, in ms after the request arrived.
    res.on('close', () => {
      if (!res.writableFinished) entry.abandonedMs = Date.now() - startedAt;
    });
    // `stall`: the status, the headers and at most half the body (never all of it: an empty body
    // is announced as one byte), then nothing; the socket stays open until the client aborts or
    // close(), as a server that stops sending mid-answer leaves it.
    const finish = (answer, stall = false) => {
      entry.status = answer.status;
      entry.ms = Date.now() - startedAt;
      if (res.writableEnded || res.destroyed) return;
      if (!stall) {
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
        return;
      }
      const body = Buffer.from(answer.body);
      res.writeHead(answer.status, { ...answer.headers, 'content-length': String(Math.max(body.length, 1)) });
      res.write(body.subarray(0, Math.floor(body.length / 2)));
    };
    const delay = latencyMs + faults.latency(route);
    if (delay) await new Promise((r) => setTimeout(r, delay));
    if (!match) return finish(apiError(404, 'Not Found', 'Not Found'));

    const isManagement = rawPath.startsWith('/api/v2/');
    const fault = faults.pick(route);
    if (fault?.latencyMs) await new Promise((r) => setTimeout(r, fault.latencyMs));
    if (fault?.hang) return; // never answered; the socket stays open until the client aborts or close()
    if (fault?.rateLimited) {
      const { retryAfter, resetIn = 1, resetAt } = fault.rateLimited;
      const reset = resetAt !== undefined ? Math.ceil(resetAt / 1000) : nowSeconds() + resetIn;
      const headers = { 'x-ratelimit-limit': '50', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) };
      if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
      return finish(json(429, { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached' }, headers));
    }
    if (fault?.status) {
      const answer = fault.body !== undefined ? { status: fault.status, body: String(fault.body), headers: { 'content-type': 'text/plain' } } : json(fault.status, { statusCode: fault.status, error: http.STATUS_CODES[fault.status] || 'Error', message: 'injected failure' });
      return finish({ ...answer, headers: { ...answer.headers, ...fault.headers } }); // `headers`: e.g. a redirect's location
    }

    let limitHeaders = {};
    if (isManagement) {
      const limited = rateLimitHeaders(true);
      limitHeaders = limited.headers;
      if (!limited.allowed) {
        return finish(json(429, { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached' }, limitHeaders));
      }
      const denied = match.scopes && authorise(req, match.scopes);
      if (denied) return finish({ ...denied, headers: { ...denied.headers, ...limitHeaders } });
    }
    let answer;
    try {
      answer = await match.handler(req, match.m, query);
    } catch (error) {
      answer = apiError(500, 'Internal Server Error', error.message);
    }
    answer.headers = { ...answer.headers, ...limitHeaders };
    if (fault?.malformed === 'text') answer = { ...answer, status: 200, body: '<html><body>Bad gateway</body></html>', headers: { ...answer.headers, 'content-type': 'text/html' } };
    if (fault?.malformed === 'shape') answer = { ...answer, status: 200, body: JSON.stringify({ unexpected: true }) };
    if (fault?.malformed === 'truncated') answer = { ...answer, status: 200, body: answer.body.slice(0, Math.max(1, Math.floor(answer.body.length / 2))) };
    finish(answer, Boolean(fault?.stallBody));
  });
  server.on('connection', (socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${server.address().port}`;

  const handle = {
    url,
    clientId: actionClient.clientId,
    clientSecret: actionClient.clientSecret,
    deployClient: { clientId: deployClient.clientId, clientSecret: deployClient.clientSecret },
    /**
     * The Action's settings for this tenant: `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID` and
     * `AUTH0_CLIENT_SECRET` (of the Action's application, or of `client`), then `extra`.
     */
    secrets(extra = {}, client = actionClient) {
      return { AUTH0_DOMAIN: url, AUTH0_CLIENT_ID: client.clientId, AUTH0_CLIENT_SECRET: client.clientSecret, ...extra };
    },
    /** A further M2M application with exactly these scopes (space-separated): `{ clientId, clientSecret }`. */
    addClient(scope) {
      const { clientId, clientSecret } = newClient(scope);
      return { clientId, clientSecret };
    },
    apis: { ...APIS },
    users: Object.fromEntries(users),
    /** Distinct {resource_server_identifier, permission_name} of a user, sorted by (api, name). */
    expectedPermissions(userId) {
      const user = users.get(userId);
      const seen = new Map();
      for (const e of user ? permissionEntries(user, roles) : []) seen.set(`${e.resource_server_identifier}\n${e.permission_name}`, { resource_server_identifier: e.resource_server_identifier, permission_name: e.permission_name });
      return [...seen.values()].sort((a, b) => a.resource_server_identifier.localeCompare(b.resource_server_identifier) || (a.permission_name < b.permission_name ? -1 : a.permission_name > b.permission_name ? 1 : 0));
    },
    /** Adds a user with `count` distinct permissions of `api` (directly assigned), for benchmarks. */
    addUser(userId, { count = 0, api = APIS.orders, roles = [], duplicates = false } = {}) {
      const direct = Array.from({ length: count }, (_, i) => ({ api, name: `bench:perm-${String(i).padStart(4, '0')}` }));
      const created = { user_id: userId, email: 'bench@example.com', name: 'Bench User', given_name: 'Bench', family_name: 'User', roles, directPermissions: duplicates ? [...direct, ...direct] : direct };
      users.set(userId, created);
      handle.users[userId] = created;
      return created;
    },
    /** A role's permissions: [{ api, name }] ([] for an unknown role). */
    rolePermissions: (name) => (roles.get(name) || []).map((p) => ({ ...p })),
    /** The roles `userId` holds within the Organization `orgId` (making them a member), or none. */
    setMemberRoles(orgId, userId, names) {
      if (!organizations.has(orgId)) organizations.set(orgId, new Map());
      if (names) organizations.get(orgId).set(userId, [...names]);
      else organizations.get(orgId).delete(userId);
    },
    /** The role names `userId` holds within `orgId` (undefined when not a member). */
    memberRoles: (orgId, userId) => organizations.get(orgId)?.get(userId),
    /** Replaces a role's permissions (creating the role): [{ api, name }]. */
    defineRole(name, permissions) {
      roles.set(name, permissions.map(({ api, name: permission }) => ({ api, name: permission })));
    },
    /** Sets a user's roles (what Auth0 then puts into event.authorization.roles). */
    setRoles(userId, names) {
      users.get(userId).roles = [...names];
    },
    /** Grants a user a permission through a group's role: only the effective endpoint sees it. */
    grantThroughGroup(userId, api, name) {
      const user = users.get(userId);
      user.groupPermissions = [...(user.groupPermissions || []), { api, name }];
    },
    /** Grants a user a permission directly; `revoke` removes a direct grant. */
    grant(userId, api, name) {
      users.get(userId).directPermissions.push({ api, name });
    },
    revoke(userId, api, name) {
      const user = users.get(userId);
      user.directPermissions = user.directPermissions.filter((p) => p.api !== api || p.name !== name);
    },
    /** Changes the Management API bucket: {burst, perSecond}, or null for none. */
    setRateLimit(limit) {
      rateLimit = limit;
      bucket = limit ? { tokens: limit.burst, at: Date.now() } : null;
    },
    inject: (route, fault) => faults.add(route, fault),
    clearFaults: () => faults.clear(),
    requests,
    count: (route) => (route === '*' ? requests.length : counts.get(route) || 0),
    resetLog() {
      requests.length = 0;
      counts.clear();
    },
    revokeTokens() {
      for (const grant of issued.values()) grant.revoked = true;
    },
    /** An RS256 JWT from this tenant (kind 'access', or 'id' for an ID token). */
    mintToken({ sub, aud, claims = {}, expiresIn = 3600, kind = 'access' } = {}) {
      const iat = nowSeconds();
      const base = { iss: `${url}/`, sub, aud, iat, exp: iat + expiresIn };
      const extra = kind === 'id' ? { nonce: crypto.randomBytes(8).toString('hex') } : { azp: 'spa-client-id', scope: 'openid profile email' };
      return signer.sign({ ...base, ...extra, ...claims });
    },
    permit: permit.state,
    actions: actions.state,
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return handle;
}

module.exports = { startMockTenant };
