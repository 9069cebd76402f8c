#!/usr/bin/env node
// The local tool: run the Action for a user against the mock tenant or a real one, serve the mock
// tenant, deploy the Action, export it for the Deploy CLI, mint dev tokens. `--help` for usage.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { startMockTenant } = require('./mock');
const { createInstance, runLogin, formatLogin } = require('./runner');
const { makeEvent, DEFAULT_ACTION, SHAPES } = require('./sandbox');
const { managementClient, deploy, exportDeployCli } = require('./deploy');
const { doctor, formatDoctor } = require('./doctor');

const DEFAULT_NAMESPACE = 'https://myapp.example.com';
const DEFAULT_NAME = 'auth0-rbac-claims';
const ACTION_SECRETS = ['CLAIM_NAMESPACE', 'AUTH0_DOMAIN', 'AUTH0_CLIENT_ID', 'AUTH0_CLIENT_SECRET'];

// The same file runs in a clone of the repository and installed from the tools package.
const USAGE = fs.existsSync(path.join(__dirname, '..', 'build.sh'))
  ? 'node local/cli.js <command> [options]   (or ./build.sh cli <command> …)'
  : 'auth0-rbac-claims-tools <command> [options]   (npx auth0-rbac-claims-tools … in a project that installed it)';

const HELP = `usage: ${USAGE}

commands
  run       run the Action for one login and show, per token, the claims, their bytes against the
            limits, the requests made and the time; exit status 1 when the login would be denied
              --user ID          a user: seeded in the mock tenant, or looked up in a real tenant
              --event FILE       or a complete post-login event (JSON)
              --tenant T         mock (default: started in-process) or real (AUTH0_DOMAIN,
                                 AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET, CLAIM_NAMESPACE from the
                                 environment; the application also needs read:roles for --user)
              --audience API     the API (resource server) the login asks a token for
              --set KEY=VALUE    any setting (repeatable; takes precedence like code options)
              --times N          run N logins in the same instance (shows the steady state; what
                                 a login stores in app_metadata reaches the next one, as in Auth0)
              --rate-limit B/R   the mock's Management API bucket: burst B, R requests/second
                                 (e.g. 10/2.5, Auth0's Essentials plan); default unlimited
              --action FILE      the Action to run (default dist/action.js)
              --shape S          how the Action is loaded: production (default: one realm, as
                                 Auth0 runs it), test-loader (Auth0's published test loader,
                                 another realm), or context (a fresh vm context)
              --json             machine-readable output
  serve     start the mock tenant and print its URL and credentials; Ctrl-C stops it
              --port N --latency MS --rate-limit B/R
  deploy    create or update the Action, wait for its build, deploy it, wait until the version
            is live, and bind it to the post-login trigger (after the existing bindings); a
            second run only makes a new version. Through the official auth0 SDK (429s retried
            after x-ratelimit-reset); 120 s in all
              --rate-limit B/R   the in-process mock's Management API bucket (Free: 2/2)
              --tenant T         mock (default, in-process: prints the requests it received) or
                                 real: AUTH0_DOMAIN plus AUTH0_DEPLOY_CLIENT_ID /
                                 AUTH0_DEPLOY_CLIENT_SECRET (an M2M application with
                                 read:actions create:actions update:actions); the Action's
                                 secrets come from the environment (${ACTION_SECRETS.join(', ')})
              --name NAME        Action name (default ${DEFAULT_NAME})
              --secret KEY=VALUE an Action secret (repeatable; over the environment's)
              --replace-secrets  remove the Action's secrets this deploy does not send
                                 (without it, such secrets stop the deploy)
              --action FILE      code to deploy (default dist/action.js)
  export    --format deploy-cli DIR [--name NAME]
            write the Auth0 Deploy CLI layout (actions/<name>.json, actions/<name>/code.js)
            with ##SECRET## placeholders for keyword replacement; the binding is added to
            DIR/triggers/triggers.json only if that file exists (from a0deploy export): one
            written from nothing would unbind the tenant's other post-login Actions
  token     run the Action for --user and --audience on a mock tenant and mint an RS256 access
            token and ID token carrying exactly the claims it produced
              --tenant URL       a mock tenant started with 'serve' (tokens stay verifiable
                                 against its JWKS); default: an in-process one
              --set KEY=VALUE    settings, as for run
  doctor    check a tenant and the settings before deploying: the namespace and other settings,
            the domain (canonical, not custom), the credentials (a token request), the token's
            scopes, whether it fits api.cache's 4 KB, a permissions read for --user, the rate-limit
            headroom, the claim sizes for that user. Exit 0 when all pass, 1 with each problem
            and its fix; never prints a secret
              --tenant T         mock (default, in-process) or real (the environment, as for run)
              --user ID --audience API --organization ORG_ID
              --set KEY=VALUE    settings, as for run
              --json             machine-readable output
  --help    this text
`;

function fail(message) {
  console.error(`error: ${message}`);
  process.exit(2);
}

function pairs(list = []) {
  const out = {};
  for (const item of list) {
    const at = item.indexOf('=');
    if (at < 1) fail(`expected KEY=VALUE, got '${item}'`);
    out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

/** `--rate-limit BURST/PER_SECOND` → { burst, perSecond } (undefined when not given). */
function rateLimit(value) {
  if (value === undefined) return undefined;
  const m = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(value);
  if (!m || Number(m[1]) < 1 || Number(m[2]) <= 0) fail(`--rate-limit must be BURST/PER_SECOND, e.g. 10/2.5, not '${value}'`);
  return { burst: Number(m[1]), perSecond: Number(m[2]) };
}

function env(name) {
  const value = process.env[name];
  if (!value) fail(`${name} is not set`);
  return value;
}

function readAction(file) {
  const target = file || DEFAULT_ACTION;
  if (!fs.existsSync(target)) fail(`${target} does not exist: run ./build.sh build first`);
  return fs.readFileSync(target, 'utf8');
}

function mockSettings(tenant) {
  return tenant.secrets({ CLAIM_NAMESPACE: DEFAULT_NAMESPACE });
}

// A real user's profile and role names, the way Auth0 puts them into the event.
async function realUser(settings, userId) {
  const { sdk } = managementClient({
    domain: settings.AUTH0_DOMAIN,
    clientId: settings.AUTH0_CLIENT_ID,
    clientSecret: settings.AUTH0_CLIENT_SECRET,
  });
  const read = async (what, call) => {
    try {
      return await call();
    } catch (error) {
      return fail(`${what} answered ${error?.statusCode ?? error?.message}${what.endsWith('roles') ? ' (the application needs read:roles)' : ''}`);
    }
  };
  const user = await read(`GET /api/v2/users/${userId}`, () => sdk.users.get(userId));
  const roles = [];
  await read(`GET /api/v2/users/${userId}/roles`, async () => {
    for await (const role of await sdk.users.roles.list(userId, { per_page: 50 })) roles.push(role.name);
  });
  return { user, roles };
}

async function run(values) {
  if (!values.user === !values.event) fail('give exactly one of --user ID or --event FILE');
  const source = readAction(values.action);
  const overrides = pairs(values.set);
  const times = Number(values.times || 1);
  let tenant;
  let settings;
  let base;
  if ((values.tenant || 'mock') === 'mock') {
    tenant = await startMockTenant({ rateLimit: rateLimit(values['rate-limit']) });
    settings = mockSettings(tenant);
  } else if (values.tenant === 'real') {
    settings = Object.fromEntries(ACTION_SECRETS.map((k) => [k, process.env[k] || overrides[k] || env(k)]));
  } else {
    fail(`--tenant must be mock or real, not '${values.tenant}'`);
  }
  try {
    if (values.event) {
      base = { event: JSON.parse(fs.readFileSync(values.event, 'utf8')) };
    } else if (tenant) {
      const user = tenant.users[values.user];
      if (!user) fail(`no seeded user '${values.user}'; seeded: ${Object.keys(tenant.users).join(', ')}`);
      base = { userId: user.user_id, user, roles: user.roles };
    } else {
      const { user, roles } = await realUser(settings, values.user);
      base = { event: makeEvent({ user, roles, audience: values.audience, secrets: settings }) };
    }
    if (values.shape && !SHAPES.includes(values.shape)) fail(`--shape must be one of ${SHAPES.join(', ')}`);
    const instance = createInstance({ source, shape: values.shape || 'production' });
    const results = [];
    for (let i = 0; i < times; i++) {
      const login = base.event
        ? { event: withAudience(base.event, values.audience) }
        : { ...base, audience: values.audience, settings };
      results.push(await runLogin(instance, { ...login, options: overrides }));
    }
    if (values.json) {
      console.log(JSON.stringify(times === 1 ? results[0] : results, null, 2));
    } else {
      results.forEach((result, i) => {
        const who = values.user || values.event;
        console.log(`${i ? '\n' : ''}${formatLogin(`${who}${values.audience ? ` (audience ${values.audience})` : ''}${times > 1 ? ` #${i + 1}` : ''}`, result)}`);
      });
    }
    const last = results.at(-1);
    process.exitCode = last.denied !== null || last.failed ? 1 : 0;
  } finally {
    await tenant?.close();
  }
}

function withAudience(event, audience) {
  if (!audience) return event;
  return { ...event, resource_server: { identifier: audience } };
}

async function serve(values) {
  const tenant = await startMockTenant({ port: Number(values.port || 0), latencyMs: Number(values.latency || 0), rateLimit: rateLimit(values['rate-limit']) });
  console.log(`mock tenant listening on ${tenant.url}
  AUTH0_DOMAIN=${tenant.url}
  AUTH0_CLIENT_ID=${tenant.clientId}
  AUTH0_CLIENT_SECRET=${tenant.clientSecret}
  deploy client: AUTH0_DEPLOY_CLIENT_ID=${tenant.deployClient.clientId} AUTH0_DEPLOY_CLIENT_SECRET=${tenant.deployClient.clientSecret}
  Permit: PERMIT_API_URL=${tenant.url} PERMIT_API_KEY=${tenant.permit.apiKey}
  JWKS: ${tenant.url}/.well-known/jwks.json
  seeded users: ${Object.keys(tenant.users).join(', ')}
Ctrl-C to stop.`);
  const stop = async () => {
    await tenant.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function deployCommand(values) {
  const code = readAction(values.action);
  const name = values.name || DEFAULT_NAME;
  const given = pairs(values.secret);
  const requests = [];
  let tenant;
  let client;
  let secrets;
  if ((values.tenant || 'mock') === 'mock') {
    tenant = await startMockTenant({ rateLimit: rateLimit(values['rate-limit']) });
    const log = (r) => requests.push(r);
    client = managementClient({ domain: tenant.url, ...tenant.deployClient, log });
    secrets = { ...mockSettings(tenant), ...given };
  } else {
    const domain = values.tenant === 'real' ? env('AUTH0_DOMAIN') : values.tenant;
    client = managementClient({
      domain,
      clientId: env('AUTH0_DEPLOY_CLIENT_ID'),
      clientSecret: env('AUTH0_DEPLOY_CLIENT_SECRET'),
      log: (r) => requests.push(r),
    });
    // The four from the environment (or --secret), plus every --secret: an update replaces all
    // of an Action's secrets, so what is not sent is gone.
    secrets = { ...Object.fromEntries(ACTION_SECRETS.map((k) => [k, given[k] ?? env(k)])), ...given };
  }
  try {
    const result = await deploy({ client, name, code, secrets: Object.entries(secrets).map(([k, v]) => ({ name: k, value: v })), replaceSecrets: values['replace-secrets'] });
    console.log(`Action '${name}' (${result.action.id}) deployed as version ${result.version?.number ?? '?'}; binding ${result.bound === 'added' ? 'added after the existing ones' : 'already in place'}`);
    console.log('requests:');
    for (const r of requests) console.log(`  ${r.method} ${r.path} → ${r.status}`);
  } finally {
    await tenant?.close();
  }
}

async function doctorCommand(values) {
  const overrides = pairs(values.set);
  let tenant;
  let settings;
  if ((values.tenant || 'mock') === 'mock') {
    tenant = await startMockTenant({ rateLimit: rateLimit(values['rate-limit']) });
    settings = { ...mockSettings(tenant), ...overrides };
  } else if (values.tenant === 'real') {
    settings = { ...Object.fromEntries(ACTION_SECRETS.map((k) => [k, process.env[k] || ''])), ...overrides };
  } else {
    fail(`--tenant must be mock or real, not '${values.tenant}'`);
  }
  try {
    const result = await doctor({ settings, userId: values.user, audience: values.audience, organization: values.organization, source: readAction(values.action) });
    console.log(values.json ? JSON.stringify(result, null, 2) : formatDoctor(result));
    process.exitCode = result.ok ? 0 : 1;
  } finally {
    await tenant?.close();
  }
}

function exportCommand(values, positionals) {
  if (values.format !== 'deploy-cli') fail('--format deploy-cli is the only export format');
  const dir = positionals[0];
  if (!dir) fail('export needs a directory: export --format deploy-cli DIR');
  const written = exportDeployCli({ dir, name: values.name || DEFAULT_NAME, code: readAction(values.action), secretNames: ACTION_SECRETS });
  console.log(`wrote:\n${written.files.map((f) => `  ${f}`).join('\n')}`);
  if (written.triggers === 'missing') {
    console.log(`
${written.triggersFile} was not written: there is none in ${dir}, and \`a0deploy import\` makes each
trigger's bindings exactly those the file lists, so a file listing only this Action would unbind
every other post-login Action of the tenant. Either run \`a0deploy export\` into ${dir} first and
export again (the binding is then added after the existing ones), or add this entry to the
"post-login" list of your own triggers.json:
  ${JSON.stringify(written.binding)}`);
  }
}

async function tokenCommand(values) {
  if (!values.user || !values.audience) fail('token needs --user ID and --audience API');
  const source = readAction(values.action);
  const local = !values.tenant;
  const tenant = local ? await startMockTenant() : null;
  const url = local ? tenant.url : values.tenant.replace(/\/+$/, '');
  try {
    const seed = local ? tenant.users : (await (await fetch(`${url}/__dev/users`)).json());
    const user = seed[values.user];
    if (!user) fail(`no seeded user '${values.user}'`);
    const settings = local
      ? mockSettings(tenant)
      : { CLAIM_NAMESPACE: DEFAULT_NAMESPACE, ...(await (await fetch(`${url}/__dev/action-secrets`)).json()) };
    const result = await runLogin(createInstance({ source }), {
      userId: user.user_id, user, roles: user.roles, audience: values.audience, settings, options: pairs(values.set),
    });
    if (result.denied !== null) fail(`the Action denied the login: ${result.denied} ${result.logs.join(' ')}`);
    const mint = async (kind, aud, claims) => {
      if (local) return tenant.mintToken({ sub: user.user_id, aud, claims, kind });
      const r = await fetch(`${url}/__dev/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sub: user.user_id, aud, claims, kind }),
      });
      return (await r.json()).token;
    };
    const out = {
      issuer: `${url}/`,
      jwks_uri: `${url}/.well-known/jwks.json`,
      access_token: await mint('access', values.audience, result.tokens.access_token.claims),
      id_token: await mint('id', 'spa-client-id', result.tokens.id_token.claims),
      claims: { access_token: result.tokens.access_token.claims, id_token: result.tokens.id_token.claims },
    };
    console.log(JSON.stringify(out, null, 2));
    if (local) console.error('note: the in-process tenant stops now; start one with "serve" and pass --tenant URL to verify these tokens against its JWKS');
  } finally {
    await tenant?.close();
  }
}

async function main(argv) {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(HELP);
    return;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      user: { type: 'string' },
      event: { type: 'string' },
      tenant: { type: 'string' },
      audience: { type: 'string' },
      set: { type: 'string', multiple: true },
      secret: { type: 'string', multiple: true },
      'replace-secrets': { type: 'boolean' },
      times: { type: 'string' },
      action: { type: 'string' },
      json: { type: 'boolean' },
      port: { type: 'string' },
      latency: { type: 'string' },
      name: { type: 'string' },
      format: { type: 'string' },
      shape: { type: 'string' },
      organization: { type: 'string' },
      'rate-limit': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const commands = { run, serve, deploy: deployCommand, export: exportCommand, token: tokenCommand, doctor: doctorCommand };
  const handler = commands[command];
  if (!handler) fail(`unknown command '${command}' (see --help)`);
  await handler(values, positionals);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(`error: ${error.message}`);
    process.exit(1);
  });
}

module.exports = { main, HELP };
