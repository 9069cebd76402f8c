// Deploying the Action: through the Management API (create or update, deploy, bind), or as the
// Auth0 Deploy CLI's directory layout. auth0-facts.md §6.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const TRIGGER = { id: 'post-login', version: 'v3' };
const RUNTIME = 'node22';
const SCOPES = 'read:actions create:actions update:actions';

/**
 * A Management API client for deploying: the official `auth0` SDK's ManagementClient (client
 * credentials, typed Actions endpoints, and its retries of 429 and 5xx, which wait for
 * `x-ratelimit-reset`). `domain` is a tenant domain, or an http(s) origin such as the local mock
 * tenant's, which the SDK's https://<domain> requests are sent to instead. `log` sees every
 * request: { method, path, status }.
 */
function managementClient({ domain, clientId, clientSecret, log = () => {}, maxRetries = 5 }) {
  const origin = /^https?:\/\//.test(domain) ? domain.replace(/\/+$/, '') : `https://${domain}`;
  const host = new URL(origin).host;
  const token = { status: null };
  const viaOrigin = async (input, init) => {
    const request = input instanceof Request ? input : null;
    const url = new URL(request ? request.url : String(input));
    const target = `${origin}${url.pathname}${url.search}`;
    const response = await fetch(request ? new Request(target, request) : target, init);
    if (url.pathname === '/oauth/token') {
      token.status = response.status;
      token.scope = await response.clone().json().then((answer) => answer.scope, () => undefined);
    }
    log({ method: (init?.method || request?.method || 'GET').toUpperCase(), path: url.pathname, status: response.status });
    return response;
  };
  const { ManagementClient } = require('auth0');
  const sdk = new ManagementClient({ domain: host, clientId, clientSecret, audience: `${origin}/api/v2/`, fetch: viaOrigin, maxRetries, timeoutInSeconds: 15 });
  return { origin, sdk, token };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** An Error for a failed step, with the tenant's message and never a request body (secrets). */
function stepError(client, what, error) {
  if (client.token.status !== null && client.token.status !== 200) {
    return new Error(`the token request was refused (HTTP ${client.token.status}): check the deploy application's client id, secret and its Management API authorisation (${SCOPES})`);
  }
  const status = error?.statusCode;
  const message = error?.body?.message || error?.body?.error_description || (status ? '' : error?.message) || '';
  return new Error(`${what} failed${status ? `: HTTP ${status}` : ''}${message ? ` (${message})` : ''}`);
}

/**
 * Creates or updates the Action, waits for its build, deploys it and waits until the new version
 * is live (Auth0 answers a deploy with 202 and deploys later), then binds it to the post-login
 * trigger after the existing bindings (their order kept), retrying while Auth0 still says the
 * Action is not deployed. A failed build or deploy stops at once (a failed deploy with the
 * version's errors). Polling stops after `timeoutMs`; the SDK retries Management API 429s after
 * the reported reset (a wait in progress may run past the budget). A second run changes nothing
 * but the version number. An update replaces all of the Action's secrets, and their values cannot
 * be read back: when the Action holds secrets that `secrets` does not name (set in the dashboard,
 * say), nothing is changed and the error names them, unless `replaceSecrets` is set.
 * Returns { action, version, bound: 'added' | 'kept' }.
 */
async function deploy({ client, name, code, secrets, replaceSecrets = false, pollMs = 250, timeoutMs = 120_000 }) {
  const { sdk } = client;
  const deadline = Date.now() + timeoutMs;
  const options = () => ({ abortSignal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) });
  const step = async (what, call) => {
    try {
      return await call();
    } catch (error) {
      throw stepError(client, what, error);
    }
  };
  // Polls `check` (→ a value when done, undefined to go on) with a growing pause, within the budget.
  const until = async (what, check) => {
    for (let wait = pollMs; ; wait = Math.min(wait * 2, 2_000)) {
      const done = await check();
      if (done !== undefined) return done;
      if (Date.now() + wait > deadline) throw new Error(`${what} did not finish within ${timeoutMs} ms`);
      await sleep(wait);
    }
  };

  const body = { name, code, runtime: RUNTIME, supported_triggers: [TRIGGER], dependencies: [], secrets };
  const lookUp = () => step('looking the Action up', async () => (await sdk.actions.list({ actionName: name, per_page: 100 }, options())).data.find((a) => a.name === name));
  const existing = await lookUp();
  // Each step needs its own scope; one missing would stop the deploy halfway (an Action
  // deployed but not bound), so the token's scopes are checked before anything changes.
  const granted = typeof client.token.scope === 'string' ? client.token.scope.split(' ') : null;
  const lacking = granted ? SCOPES.split(' ').filter((s) => !granted.includes(s)) : [];
  if (lacking.length) {
    throw new Error(`the deploy application lacks ${lacking.join(', ')}: authorise it for the Management API with ${SCOPES}. Nothing was changed`);
  }
  const dropped = (existing?.secrets || []).map((x) => x.name).filter((n) => !secrets.some((x) => x.name === n));
  if (dropped.length && !replaceSecrets) {
    throw new Error(`the Action '${name}' holds secrets this deploy does not send: ${dropped.join(', ')}. An update replaces all of an Action's secrets and their values cannot be read back: pass each again (--secret NAME=VALUE), or add --replace-secrets to remove them. Nothing was changed`);
  }
  const update = (id) => step('updating the Action', () => sdk.actions.update(id, body, options()));
  let action;
  if (existing) {
    action = await update(existing.id);
  } else {
    try {
      action = await sdk.actions.create(body, options());
    } catch (error) {
      // 409: the name is taken, most likely by this create itself, retried by the SDK after an
      // answer that was lost (a 5xx): the Action is there, so it is updated.
      if (error?.statusCode !== 409) throw stepError(client, 'creating the Action', error);
      const made = await lookUp();
      if (!made) throw stepError(client, 'creating the Action', error);
      action = await update(made.id);
    }
  }

  // The draft is built first (pending → building → built, or failed).
  await until('the Action\'s build', async () => {
    const draft = await step('reading the Action', () => sdk.actions.get(action.id, options()));
    if (draft.status === 'failed') throw new Error('the Action\'s build failed: open the Action in the Auth0 dashboard (Actions → Library) to see why, fix it and deploy again');
    return draft.status === 'built' ? draft : undefined;
  });
  // Auth0 may still refuse for a moment ("must be in the 'built' state"): asked again, briefly.
  const accepted = await until('deploying the Action', async () => {
    try {
      return await sdk.actions.deploy(action.id, options());
    } catch (error) {
      if (error?.statusCode === 400 && /built/.test(error?.body?.message || '')) return undefined;
      throw stepError(client, 'deploying the Action', error);
    }
  });
  // 202: the version is built and goes live later; binding before then is refused.
  const version = await until('the deployment', async () => {
    const v = await step('reading the new version', () => sdk.actions.versions.get(action.id, accepted.id, options()));
    if (v.status === 'failed') {
      const why = (v.errors || []).map((e) => e.msg).filter(Boolean).join('; ');
      throw new Error(`deploying version ${v.number ?? '?'} failed${why ? `: ${why}` : ''}`);
    }
    return v.deployed ? v : undefined;
  });

  const bindings = [];
  await step('reading the post-login bindings', async () => {
    for await (const binding of await sdk.actions.triggers.bindings.list(TRIGGER.id, { per_page: 50 }, options())) bindings.push(binding);
  });
  if (bindings.some((b) => b.action?.id === action.id)) return { action, version, bound: 'kept' };
  const refs = bindings.map((b) => ({ ref: { type: 'action_id', value: b.action.id }, display_name: b.display_name }));
  refs.push({ ref: { type: 'action_id', value: action.id }, display_name: name });
  await until('binding the Action', async () => {
    try {
      return (await sdk.actions.triggers.bindings.updateMany(TRIGGER.id, { bindings: refs }, options())) ?? true;
    } catch (error) {
      const notYet = error?.statusCode === 400 && /deployed/i.test(error?.body?.message || '');
      if (!notYet) throw stepError(client, 'binding the Action', error);
      return undefined;
    }
  });
  return { action, version, bound: 'added' };
}

/**
 * Writes the Auth0 Deploy CLI directory layout: actions/<name>.json and actions/<name>/code.js.
 * Secret values are `##NAME##` placeholders for the Deploy CLI's keyword replacement
 * (AUTH0_KEYWORD_REPLACE_MAPPINGS). The binding goes into triggers/triggers.json only when that
 * file exists (from `a0deploy export`), after the bindings it lists, in their order: `a0deploy
 * import` makes each trigger's bindings exactly the listed ones, so a file written from nothing
 * would unbind every other post-login Action of the tenant. Without it, `binding` is the entry to
 * add. Returns { files, triggers: 'updated' | 'missing', binding }.
 */
function exportDeployCli({ dir, name, code, secretNames }) {
  const actions = path.join(dir, 'actions');
  fs.mkdirSync(path.join(actions, name), { recursive: true });
  fs.writeFileSync(path.join(actions, name, 'code.js'), code);
  const definition = {
    name,
    code: `./actions/${name}/code.js`,
    runtime: RUNTIME,
    dependencies: [],
    secrets: secretNames.map((secret) => ({ name: secret, value: `##${secret}##` })),
    supported_triggers: [TRIGGER],
    deployed: true,
    status: 'built',
  };
  fs.writeFileSync(path.join(actions, `${name}.json`), JSON.stringify(definition, null, 2) + '\n');
  const files = [path.join(actions, `${name}.json`), path.join(actions, name, 'code.js')];
  const binding = { action_name: name, display_name: name };
  const triggersFile = path.join(dir, 'triggers', 'triggers.json');
  if (!fs.existsSync(triggersFile)) return { files, triggers: 'missing', binding, triggersFile };
  const triggers = JSON.parse(fs.readFileSync(triggersFile, 'utf8'));
  const postLogin = (triggers['post-login'] || []).filter((b) => b.action_name !== name);
  postLogin.push(binding);
  triggers['post-login'] = postLogin;
  fs.writeFileSync(triggersFile, JSON.stringify(triggers, null, 2) + '\n');
  return { files: [...files, triggersFile], triggers: 'updated', binding, triggersFile };
}

module.exports = { managementClient, deploy, exportDeployCli, TRIGGER, RUNTIME, SCOPES };
