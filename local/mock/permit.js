// Permit.io's REST endpoints as the mock tenant serves them (peers.md §2.2, auth0-facts.md §9),
// with state: users and role assignments per tenant, some on a resource instance. Every /v2 route
// needs `Authorization: Bearer <api key>`; project and environment accept their id or their key.
// As the real API: role keys are slugs (a non-slug is refused with 422); PUT replaces a user
// whole (fields and attributes not sent are gone), PATCH changes only the fields it is given
// (404 for an unknown user), POST creates (409 when the key exists); listing a user's
// assignments includes those on resource instances; unassigning a role the user does not hold is
// 404 (documented). Assigning one it holds already is 409 here: Permit does not document that
// case, and 409 is the stricter of the two answers it could give (the Action accepts both).
// The bulk endpoints allow 100 requests per 10 minutes across the environment (Permit's API
// docs, "Rate Limiting"); past that they answer 429.
'use strict';

const crypto = require('node:crypto');
const { json, readBody, MALFORMED } = require('./http');

const KNOWN_ROLES = ['viewer', 'editor', 'admin', 'analyst', 'project-admin', 'project-manager', 'auditor'];
const SLUG = /^[A-Za-z0-9_-]+$/;
const USER_FIELDS = ['email', 'first_name', 'last_name', 'attributes'];
const TENANTS = ['default', 'acme'];
const MAX_PER_PAGE = 100;
const BULK_LIMIT = 100;
const BULK_WINDOW_MS = 10 * 60 * 1000;

const permitError = (status, code, message) => json(status, { error_code: code, message, title: message });

function createPermit() {
  const apiKey = `permit_key_${crypto.randomBytes(24).toString('hex')}`;
  const project = { id: crypto.randomUUID(), key: 'rbac-claims' };
  const environment = { id: crypto.randomUUID(), key: 'production' };
  const users = new Map(); // key → user
  const assignments = []; // { id, user, role, tenant, resource_instance?, created_at }

  const bulkTimes = []; // when each bulk request of the last 10 minutes came
  const stamp = () => new Date().toISOString();
  const scopeMatches = (proj, env) =>
    [project.id, project.key].includes(decodeURIComponent(proj)) && [environment.id, environment.key].includes(decodeURIComponent(env));
  // Tenant-wide assignments; one on a resource instance is a different assignment.
  const exists = (a) => assignments.findIndex((x) => x.user === a.user && x.role === a.role && x.tenant === a.tenant && (x.resource_instance ?? null) === (a.resource_instance ?? null));
  function validate(a) {
    if (!a || typeof a.user !== 'string' || typeof a.role !== 'string') return permitError(422, 'UNPROCESSABLE_ENTITY', 'user and role are required');
    const tenant = a.tenant || 'default';
    if (!SLUG.test(a.role)) return permitError(422, 'UNPROCESSABLE_ENTITY', `role: '${a.role}' is not a valid key (a slug: letters, digits, '-' and '_')`);
    if (!users.has(a.user)) return permitError(404, 'NOT_FOUND', `User '${a.user}' not found`);
    if (!KNOWN_ROLES.includes(a.role)) return permitError(404, 'NOT_FOUND', `Role '${a.role}' not found`);
    if (!TENANTS.includes(tenant)) return permitError(404, 'NOT_FOUND', `Tenant '${tenant}' not found`);
    return null;
  }
  const assign = ({ user, role, tenant = 'default' }) => {
    if (exists({ user, role, tenant }) >= 0) return false;
    assignments.push({ id: crypto.randomUUID(), user, role, tenant, created_at: stamp() });
    return true;
  };
  const unassign = ({ user, role, tenant = 'default' }) => {
    const at = exists({ user, role, tenant });
    if (at < 0) return false;
    assignments.splice(at, 1);
    return true;
  };

  // Wraps a handler with the key check and the project/environment check.
  const guarded = (handler, { scoped = true } = {}) => async (req, m, query) => {
    if ((req.headers.authorization || '') !== `Bearer ${apiKey}`) return permitError(401, 'NOT_AUTHORIZED', 'Invalid API key');
    if (scoped && !scopeMatches(m[1], m[2])) return permitError(404, 'NOT_FOUND', 'Project or environment not found');
    return handler(req, m, query);
  };
  const body = async (req) => {
    const parsed = await readBody(req);
    return parsed === MALFORMED ? undefined : parsed;
  };
  // The bulk endpoints' own limit, counted once the key and scope are checked.
  const bulkLimited = (handler) => (req, m, query) => {
    const now = Date.now();
    while (bulkTimes.length && bulkTimes[0] <= now - BULK_WINDOW_MS) bulkTimes.shift();
    if (bulkTimes.length >= BULK_LIMIT) return permitError(429, 'TOO_MANY_REQUESTS', 'Rate limit exceeded for bulk requests');
    bulkTimes.push(now);
    return handler(req, m, query);
  };
  const FACTS = '^\\/v2\\/facts\\/([^/]+)\\/([^/]+)';
  const route = (method, path, handler, options) => ['permit', method, new RegExp(`${FACTS}${path}$`), guarded(handler, options)];

  const routes = () => [
    ['permit', 'GET', /^\/v2\/api-key\/scope$/, guarded(() => json(200, { organization_id: 'org_mock', project_id: project.id, environment_id: environment.id }), { scoped: false })],
    // Replace User: created (201) or replaced whole (200).
    route('PUT', '\\/users\\/([^/]+)', async (req, m) => {
      const key = decodeURIComponent(m[3]);
      const given = (await body(req)) || {};
      if (given.key !== undefined && given.key !== key) return permitError(422, 'UNPROCESSABLE_ENTITY', 'key does not match the path');
      const existed = users.has(key);
      const user = { key, email: given.email, first_name: given.first_name, last_name: given.last_name, attributes: given.attributes || {}, updated_at: stamp() };
      users.set(key, user);
      return json(existed ? 200 : 201, user);
    }),
    // Update User: only the fields given change.
    route('PATCH', '\\/users\\/([^/]+)', async (req, m) => {
      const user = users.get(decodeURIComponent(m[3]));
      if (!user) return permitError(404, 'NOT_FOUND', 'User not found');
      const given = (await body(req)) || {};
      for (const field of USER_FIELDS) if (given[field] !== undefined) user[field] = given[field];
      user.updated_at = stamp();
      return json(200, user);
    }),
    // Create User.
    route('POST', '\\/users', async (req) => {
      const given = await body(req);
      if (!given || typeof given.key !== 'string' || !given.key) return permitError(422, 'UNPROCESSABLE_ENTITY', 'key is required');
      if (users.has(given.key)) return permitError(409, 'DUPLICATE_ENTITY', `User '${given.key}' already exists`);
      const user = { key: given.key, attributes: {}, updated_at: stamp() };
      for (const field of USER_FIELDS) if (given[field] !== undefined) user[field] = given[field];
      users.set(user.key, user);
      return json(201, user);
    }),
    route('GET', '\\/users\\/([^/]+)', (req, m) => {
      const user = users.get(decodeURIComponent(m[3]));
      return user ? json(200, user) : permitError(404, 'NOT_FOUND', 'User not found');
    }),
    route('DELETE', '\\/users\\/([^/]+)', (req, m) => {
      const key = decodeURIComponent(m[3]);
      if (!users.delete(key)) return permitError(404, 'NOT_FOUND', 'User not found');
      for (let i = assignments.length - 1; i >= 0; i--) if (assignments[i].user === key) assignments.splice(i, 1);
      return { status: 204, body: '', headers: {} };
    }),
    route('GET', '\\/role_assignments', (req, m, query) => {
      const perPage = Math.min(MAX_PER_PAGE, Math.max(1, Number(query.per_page) || 30));
      const page = Math.max(1, Number(query.page) || 1);
      const list = assignments.filter((a) => (!query.user || a.user === query.user) && (!query.tenant || a.tenant === query.tenant));
      return json(200, list.slice((page - 1) * perPage, page * perPage));
    }),
    route('POST', '\\/role_assignments', async (req) => {
      const a = await body(req);
      const invalid = validate(a);
      if (invalid) return invalid;
      if (!assign(a)) return permitError(409, 'DUPLICATE_ENTITY', `User '${a.user}' already has role '${a.role}'`);
      return json(201, assignments[exists({ tenant: 'default', ...a })]);
    }),
    route('DELETE', '\\/role_assignments', async (req) => {
      const a = await body(req);
      if (!a || !unassign(a)) return permitError(404, 'NOT_FOUND', 'Role assignment not found');
      return { status: 204, body: '', headers: {} };
    }),
    // Bulk: all or nothing — every item is checked before any is applied.
    route('POST', '\\/role_assignments\\/bulk', bulkLimited(async (req) => {
      const list = await body(req);
      if (!Array.isArray(list)) return permitError(422, 'UNPROCESSABLE_ENTITY', 'a list of assignments is required');
      for (const a of list) {
        const invalid = validate(a);
        if (invalid) return invalid;
      }
      return json(200, { assignments_created: list.filter(assign).length });
    })),
    route('DELETE', '\\/role_assignments\\/bulk', bulkLimited(async (req) => {
      const list = await body(req);
      if (!Array.isArray(list)) return permitError(422, 'UNPROCESSABLE_ENTITY', 'a list of assignments is required');
      return json(200, { assignments_removed: list.filter(unassign).length });
    })),
  ];

  return {
    routes,
    state: {
      apiKey,
      projectId: project.id,
      projectKey: project.key,
      environmentId: environment.id,
      environmentKey: environment.key,
      users,
      assignments,
      /** An assignment on a resource instance (`type:key`), made by another tool. */
      assignOnInstance(user, role, resourceInstance, tenant = 'default') {
        assignments.push({ id: crypto.randomUUID(), user, role, tenant, resource_instance: resourceInstance, created_at: stamp() });
      },
      reset() {
        users.clear();
        assignments.length = 0;
        bulkTimes.length = 0;
      },
    },
  };
}

module.exports = { createPermit };
