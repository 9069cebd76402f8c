// The Actions endpoints of the mock tenant, as the real Management API behaves (auth0-facts.md §6
// and §9): create (201) and update (200) an Action's draft, whose build passes through pending and
// building before built (or failed); deploy, refused until the draft is built, answers 202 and the
// new version goes live later; binding an Action that has no deployed version is refused; the
// post-login bindings, which PATCH replaces as a whole; lists paged with page/per_page.
'use strict';

const crypto = require('node:crypto');
const { json, apiError, readBody, MALFORMED } = require('./http');

const STEP_MS = 150; // a build: pending → building → built, one step every 150 ms; a deploy likewise
// One scope per kind of request (auth0-facts.md §9): create:actions creates and deploys,
// update:actions updates an Action and replaces the bindings.
const READ = ['read:actions'];
const CREATE = ['create:actions'];
const UPDATE = ['update:actions'];

/** One page of `items` for `query` (page from 0, per_page 50 by default, at most 100). */
function paged(key, items, query) {
  const perPage = Math.min(100, Math.max(1, Number.parseInt(query.per_page ?? '50', 10) || 50));
  const page = Math.max(0, Number.parseInt(query.page ?? '0', 10) || 0);
  return { [key]: items.slice(page * perPage, (page + 1) * perPage), total: items.length, page, per_page: perPage };
}

function createActions() {
  const actions = new Map(); // id → action (with the draft's build start)
  const versions = new Map(); // id → [version]
  let bindings = [];
  const failNext = { build: null, deploy: null }; // a message: the next build or deploy fails with it
  let loseNextCreate = false; // the next create is made, but its answer is a 503
  let held = false; // versions deployed meanwhile stay pending until released
  const id = () => crypto.randomUUID();
  const stamp = () => new Date().toISOString();

  function stage(startedAt, failure) {
    const age = Date.now() - startedAt;
    if (age < STEP_MS) return 'pending';
    if (age < 2 * STEP_MS) return 'building';
    return failure ? 'failed' : 'built';
  }
  const status = (action) => stage(action.buildStartedAt, action.buildFailure);

  // A deployed version goes live once its own build is over: then it is the Action's
  // deployed_version, and the one before it is no longer deployed.
  function settle(actionId) {
    const action = actions.get(actionId);
    for (const version of versions.get(actionId) || []) {
      if (version.live !== undefined) continue;
      if (held) {
        version.startedAt = Date.now();
        continue;
      }
      version.status = stage(version.startedAt, version.failure);
      if (version.status === 'failed') {
        version.live = false;
        version.errors = [{ id: 'deploy_failed', msg: version.failure, url: '' }];
      } else if (version.status === 'built') {
        version.live = true;
        for (const other of versions.get(actionId)) if (other !== version) other.deployed = false;
        version.deployed = true;
        version.built_at = stamp();
        action.deployed_version = versionView(version);
      }
    }
  }
  const versionView = ({ startedAt, failure, live, ...visible }) => ({ ...visible });

  // Values of secrets are write-only: never returned.
  function view(action) {
    const { buildStartedAt, buildFailure, secretValues, ...visible } = action;
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
    action.buildFailure = failNext.build;
    failNext.build = null;
    actions.set(action.id, action);
    return action;
  }

  // Deploying creates a version whose build runs like a draft's; it is live only once built.
  function deploy(action) {
    const list = versions.get(action.id) || [];
    const version = {
      id: id(), action_id: action.id, number: list.length + 1, status: 'pending', deployed: false,
      code: action.code, runtime: action.runtime, supported_triggers: action.supported_triggers, created_at: stamp(),
      startedAt: Date.now(), failure: failNext.deploy,
    };
    failNext.deploy = null;
    list.push(version);
    versions.set(action.id, list);
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
  deploy(legacy).startedAt = 0;
  settle(legacy.id);
  bindings = [binding(legacy, 'Legacy MFA rule')];

  const find = (actionId) => {
    const action = actions.get(decodeURIComponent(actionId));
    if (action) settle(action.id);
    return action;
  };
  const settleAll = () => actions.forEach((a) => settle(a.id));
  const notFound = () => apiError(404, 'Not Found', 'The action does not exist.');
  const bodyOf = async (req) => {
    const body = await readBody(req);
    return body === MALFORMED || typeof body !== 'object' || body === null ? null : body;
  };

  const routes = () => [
    ['actions', 'GET', /^\/api\/v2\/actions\/actions$/, (req, m, query) => {
      settleAll();
      const list = [...actions.values()].filter((a) => !query.actionName || a.name === query.actionName).map(view);
      return json(200, paged('actions', list, query));
    }, READ],
    ['actions', 'GET', /^\/api\/v2\/actions\/actions\/([^/]+)$/, (req, m) => {
      const action = find(m[1]);
      return action ? json(200, view(action)) : notFound();
    }, READ],
    ['actions', 'POST', /^\/api\/v2\/actions\/actions$/, async (req) => {
      const body = await bodyOf(req);
      if (!body?.name || !Array.isArray(body.supported_triggers)) return apiError(400, 'Bad Request', 'Payload validation error: name and supported_triggers are required');
      if ([...actions.values()].some((a) => a.name === body.name)) return apiError(409, 'Conflict', `An action with the name '${body.name}' already exists.`);
      const created = view(save(null, body));
      if (loseNextCreate) {
        loseNextCreate = false;
        return apiError(503, 'Service Unavailable', 'The service is unavailable');
      }
      return json(201, created);
    }, CREATE],
    ['actions', 'PATCH', /^\/api\/v2\/actions\/actions\/([^/]+)$/, async (req, m) => {
      const action = find(m[1]);
      if (!action) return notFound();
      const body = await bodyOf(req);
      if (!body) return apiError(400, 'Bad Request', 'Payload validation error');
      return json(200, view(save(action, body)));
    }, UPDATE],
    ['deploy', 'POST', /^\/api\/v2\/actions\/actions\/([^/]+)\/deploy$/, (req, m) => {
      const action = find(m[1]);
      if (!action) return notFound();
      if (status(action) !== 'built') return apiError(400, 'Bad Request', "A draft must be in the 'built' state before it can be deployed");
      return json(202, versionView(deploy(action)));
    }, CREATE],
    ['actions', 'GET', /^\/api\/v2\/actions\/actions\/([^/]+)\/versions\/([^/]+)$/, (req, m) => {
      const action = find(m[1]);
      const version = action && (versions.get(action.id) || []).find((v) => v.id === decodeURIComponent(m[2]));
      return version ? json(200, versionView(version)) : apiError(404, 'Not Found', 'The action version does not exist.');
    }, READ],
    ['bindings', 'GET', /^\/api\/v2\/actions\/triggers\/post-login\/bindings$/, (req, m, query) =>
      json(200, paged('bindings', bindings, query)), READ],
    ['bindings', 'PATCH', /^\/api\/v2\/actions\/triggers\/post-login\/bindings$/, async (req) => {
      const body = await bodyOf(req);
      if (!Array.isArray(body?.bindings)) return apiError(400, 'Bad Request', 'Payload validation error: bindings is required');
      settleAll();
      const next = [];
      for (const { ref, display_name: displayName } of body.bindings) {
        let action;
        if (ref?.type === 'action_id') action = actions.get(ref.value);
        else if (ref?.type === 'action_name') action = [...actions.values()].find((a) => a.name === ref.value);
        else if (ref?.type === 'binding_id') action = actions.get(bindings.find((b) => b.id === ref.value)?.action.id);
        if (!action) return apiError(404, 'Not Found', `No action found for ${ref?.type} '${ref?.value}'`);
        if (!action.deployed_version) return apiError(400, 'Bad Request', `Trying to create a binding for an action that has not been deployed: '${action.name}'`);
        const kept = bindings.find((b) => b.action.id === action.id);
        next.push(kept ? { ...kept, display_name: displayName || kept.display_name, updated_at: stamp() } : binding(action, displayName));
      }
      bindings = next;
      return json(200, { bindings });
    }, UPDATE],
  ];

  return {
    routes,
    state: {
      list: () => [...actions.values()].map(view),
      bindings: () => bindings.map((b) => ({ ...b })),
      versions: (actionId) => {
        settle(actionId);
        return (versions.get(actionId) || []).map(versionView);
      },
      /** While held, deployed versions stay pending (their build starts again on release). */
      holdDeploys(hold) {
        held = hold;
      },
      /** The next create is made, but answered 503: what a client sees when an answer is lost. */
      loseNextCreate() {
        loseNextCreate = true;
      },
      /** The next draft build ('build') or version deploy ('deploy') ends `failed` with `message`. */
      failNext(what, message) {
        failNext[what] = message;
      },
      secrets: (actionId) => ({ ...(actions.get(actionId)?.secretValues || {}) }),
    },
  };
}

module.exports = { createActions };
