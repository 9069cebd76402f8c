// Deploying the Action: through the Management API (create or update, deploy, bind), or as the
// Auth0 Deploy CLI's directory layout. auth0-facts.md §6.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const TRIGGER = { id: 'post-login', version: 'v3' };
const RUNTIME = 'node22';

/** A small Management API client: client-credentials token, JSON requests, a request log. */
async function managementClient({ domain, clientId, clientSecret, log = () => {} }) {
  const origin = /^https?:\/\//.test(domain) ? domain.replace(/\/+$/, '') : `https://${domain}`;
  const call = async (method, pathname, body, token) => {
    const response = await fetch(origin + pathname, {
      method,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    log({ method, path: pathname.split('?')[0], status: response.status });
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, json };
  };
  const grant = await call('POST', '/oauth/token', {
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: clientSecret,
    audience: `${origin}/api/v2/`,
  });
  if (grant.status !== 200 || !grant.json?.access_token) {
    throw new Error(`the token request was refused (HTTP ${grant.status}): check the deploy application's client id, secret and its Management API authorisation (read:actions create:actions update:actions)`);
  }
  const token = grant.json.access_token;
  return {
    origin,
    request: (method, pathname, body) => call(method, pathname, body, token),
  };
}

function expect(response, ok, what) {
  if (!ok.includes(response.status)) {
    const message = response.json?.message || response.json?.error_description || '';
    throw new Error(`${what} failed: HTTP ${response.status}${message ? ` (${message})` : ''}`);
  }
  return response.json;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Creates or updates the Action, waits for its build, deploys it, and binds it to the post-login
 * trigger after the existing bindings (their order kept). A second run changes nothing but the
 * version number. Returns { action, version, bound: 'added' | 'kept' }.
 */
async function deploy({ client, name, code, secrets, pollMs = 250, timeoutMs = 120_000 }) {
  const body = { name, code, runtime: RUNTIME, supported_triggers: [TRIGGER], dependencies: [], secrets };
  const found = expect(
    await client.request('GET', `/api/v2/actions/actions?actionName=${encodeURIComponent(name)}`),
    [200],
    'looking the Action up',
  );
  const existing = (found?.actions || []).find((a) => a.name === name);
  const action = existing
    ? expect(await client.request('PATCH', `/api/v2/actions/actions/${encodeURIComponent(existing.id)}`, body), [200], 'updating the Action')
    : expect(await client.request('POST', '/api/v2/actions/actions', body), [200, 201], 'creating the Action');

  // A new draft is built before it can be deployed (pending → building → built).
  const deadline = Date.now() + timeoutMs;
  let version;
  for (let wait = pollMs; ; wait = Math.min(wait * 2, 2_000)) {
    const response = await client.request('POST', `/api/v2/actions/actions/${encodeURIComponent(action.id)}/deploy`);
    if (response.status === 200 || response.status === 201) {
      version = response.json;
      break;
    }
    const notBuilt = response.status === 400 && /built/.test(response.json?.message || '');
    if (!notBuilt) expect(response, [200, 201], 'deploying the Action');
    if (Date.now() + wait > deadline) throw new Error(`the Action was not built within ${timeoutMs} ms`);
    await sleep(wait);
  }

  const bindings = expect(await client.request('GET', '/api/v2/actions/triggers/post-login/bindings'), [200], 'reading the post-login bindings').bindings || [];
  if (bindings.some((b) => b.action?.id === action.id)) return { action, version, bound: 'kept' };
  const refs = bindings.map((b) => ({ ref: { type: 'action_id', value: b.action.id }, display_name: b.display_name }));
  refs.push({ ref: { type: 'action_id', value: action.id }, display_name: name });
  expect(await client.request('PATCH', '/api/v2/actions/triggers/post-login/bindings', { bindings: refs }), [200], 'binding the Action');
  return { action, version, bound: 'added' };
}

/**
 * Writes the Auth0 Deploy CLI directory layout: actions/<name>.json, actions/<name>/code.js and
 * triggers/triggers.json. Secret values are `##NAME##` placeholders for the Deploy CLI's keyword
 * replacement (AUTH0_KEYWORD_REPLACE_MAPPINGS).
 */
function exportDeployCli({ dir, name, code, secretNames }) {
  const actions = path.join(dir, 'actions');
  fs.mkdirSync(path.join(actions, name), { recursive: true });
  fs.mkdirSync(path.join(dir, 'triggers'), { recursive: true });
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
  const triggersFile = path.join(dir, 'triggers', 'triggers.json');
  const triggers = fs.existsSync(triggersFile) ? JSON.parse(fs.readFileSync(triggersFile, 'utf8')) : {};
  const postLogin = (triggers['post-login'] || []).filter((b) => b.action_name !== name);
  postLogin.push({ action_name: name, display_name: name });
  triggers['post-login'] = postLogin;
  fs.writeFileSync(triggersFile, JSON.stringify(triggers, null, 2) + '\n');
  return { files: [path.join(actions, `${name}.json`), path.join(actions, name, 'code.js'), triggersFile] };
}

module.exports = { managementClient, deploy, exportDeployCli, TRIGGER, RUNTIME };
