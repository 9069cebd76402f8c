// The Actions endpoints of the mock tenant (auth0-facts.md §6): create and update an Action's
// draft, a build that passes through pending and building before built, deploy (refused until
// built, like Auth0), and the post-login bindings, which PATCH replaces as a whole.
'use strict';

const crypto = require('node:crypto');
const { json, apiError, readBody, MALFORMED } = require('./http');

const STEP_MS = 150; // pending → building → built, one step every 150 ms
const READ = ['read:actions'];
const WRITE = ['create:actions', 'update:actions'];

function createActions() {
  const actions = new Map(); // id → action (with the draft's build start)
  const versions = new Map(); // id → [version]
  let bindings = [];
  const id = () => crypto.randomUUID();
  const stamp = () => new Date().toISOString();

  function status(action) {
    const age = Date.now() - action.buildStartedAt;
    return age < STEP_MS ? 'pending' : age < 2 * STEP_MS ? 'building' : 'built';
  }

  // Values of secrets are write-only: never returned.
  function view(action) {
    const { buildStartedAt, secretValues, ...visible } = action;
    return { ...visible, status: status(action), secrets: Object.keys(secretValues).map((name) => ({ name, updated_at: action.updated_at })) };
  }

  function save(existing, body) {
    const action = existing || { id: id(), created_at: stamp(), secretValues: {}, deployed_version: null };
    for (const key of ['name', 'code', 'runtime', 'supported_triggers', 'dependencies']) {
      if (body[key] !== undefined) action[key] = body[key];
    }
    if (Array.isArray(body.secrets)) action.secretValues = Object.fromEntries(body.secrets.map((s) => [s.name, s.value]));
    action.runtime = action.runtime || 'node22';
    action.updated_at = stamp();
    action.buildStartedAt = Date.now();
    actions.set(action.id, action);
    return action;
  }

  function deploy(action) {
    const list = versions.get(action.id) || [];
    const version = {
      id: id(), action_id: action.id, number: list.length + 1, status: 'built', deployed: true,
      code: action.code, runtime: action.runtime, created_at: stamp(),
    };
    list.forEach((v) => (v.deployed = false));
    list.push(version);
    versions.set(action.id, list);
    action.deployed_version = version;
    return version;
  }

  function binding(action, displayName) {
    return {
      id: id(), trigger_id: 'post-login', display_name: displayName || action.name,
      action: { id: action.id, name: action.name, supported_triggers: action.supported_triggers }, created_at: stamp(), updated_at: stamp(),
    };
  }

  // A foreign Action, deployed and bound before ours: a deploy must keep it, in its place.
  const legacy = save(null, { name: 'legacy-mfa-rule', code: 'exports.onExecutePostLogin = async () => {};', runtime: 'node22', supported_triggers: [{ id: 'post-login', version: 'v3' }] });
  legacy.buildStartedAt = 0;
  deploy(legacy);
  bindings = [binding(legacy, 'Legacy MFA rule')];

  const find = (actionId) => actions.get(decodeURIComponent(actionId));
  const notFound = () => apiError(404, 'Not Found', 'The action does not exist.');
  const bodyOf = async (req) => {
    const body = await readBody(req);
    return body === MALFORMED || typeof body !== 'object' || body === null ? null : body;
  };

  const routes = () => [
    ['actions', 'GET', /^\/api\/v2\/actions\/actions$/, (req, m, query) => {
      const list = [...actions.values()].filter((a) => !query.actionName || a.name === query.actionName).map(view);
      return json(200, { actions: list, total: list.length, page: 0, per_page: 50 });
    }, READ],
    ['actions', 'GET', /^\/api\/v2\/actions\/actions\/([^/]+)$/, (req, m) => {
      const action = find(m[1]);
      return action ? json(200, view(action)) : notFound();
    }, READ],
    ['actions', 'POST', /^\/api\/v2\/actions\/actions$/, async (req) => {
      const body = await bodyOf(req);
      if (!body?.name || !Array.isArray(body.supported_triggers)) return apiError(400, 'Bad Request', 'Payload validation error: name and supported_triggers are required');
      if ([...actions.values()].some((a) => a.name === body.name)) return apiError(409, 'Conflict', `An action with the name '${body.name}' already exists.`);
      return json(201, view(save(null, body)));
    }, WRITE],
    ['actions', 'PATCH', /^\/api\/v2\/actions\/actions\/([^/]+)$/, async (req, m) => {
      const action = find(m[1]);
      if (!action) return notFound();
      const body = await bodyOf(req);
      if (!body) return apiError(400, 'Bad Request', 'Payload validation error');
      return json(200, view(save(action, body)));
    }, WRITE],
    ['deploy', 'POST', /^\/api\/v2\/actions\/actions\/([^/]+)\/deploy$/, (req, m) => {
      const action = find(m[1]);
      if (!action) return notFound();
      if (status(action) !== 'built') return apiError(400, 'Bad Request', "An action must be in the 'built' state to be deployed");
      return json(200, deploy(action));
    }, WRITE],
    ['bindings', 'GET', /^\/api\/v2\/actions\/triggers\/post-login\/bindings$/, () =>
      json(200, { bindings, total: bindings.length, page: 0, per_page: 50 }), READ],
    ['bindings', 'PATCH', /^\/api\/v2\/actions\/triggers\/post-login\/bindings$/, async (req) => {
      const body = await bodyOf(req);
      if (!Array.isArray(body?.bindings)) return apiError(400, 'Bad Request', 'Payload validation error: bindings is required');
      const next = [];
      for (const { ref, display_name: displayName } of body.bindings) {
        let action;
        if (ref?.type === 'action_id') action = actions.get(ref.value);
        else if (ref?.type === 'action_name') action = [...actions.values()].find((a) => a.name === ref.value);
        else if (ref?.type === 'binding_id') action = actions.get(bindings.find((b) => b.id === ref.value)?.action.id);
        if (!action) return apiError(404, 'Not Found', `No action found for ${ref?.type} '${ref?.value}'`);
        if (!action.deployed_version) return apiError(400, 'Bad Request', `The action '${action.name}' has not been deployed`);
        const kept = bindings.find((b) => b.action.id === action.id);
        next.push(kept ? { ...kept, display_name: displayName || kept.display_name, updated_at: stamp() } : binding(action, displayName));
      }
      bindings = next;
      return json(200, { bindings });
    }, WRITE],
  ];

  return {
    routes,
    state: {
      list: () => [...actions.values()].map(view),
      bindings: () => bindings.map((b) => ({ ...b })),
      versions: (actionId) => [...(versions.get(actionId) || [])],
      secrets: (actionId) => ({ ...(actions.get(actionId)?.secretValues || {}) }),
    },
  };
}

module.exports = { createActions };
