// CPU per login of (a) when the permissions cache answers, in a process of its own (see cpu.js):
//   memory     the instance computed the user's set before (the steady state of a busy instance)
//   metadata   a fresh instance, the set handed back in app_metadata: read, MAC checked, decoded
//   node bench/cache-cpu.js <memory|metadata> '<tenant JSON>' <userId> <warmup> <logins>
// Prints {ms, delivered, requests: Management API requests made by the timed logins}.
'use strict';

const { loadAction, builtinsOnly, createApi, createCache, makeEvent } = require('../local/sandbox');
const path = require('node:path');

const NAMESPACE = 'https://bench.example.com';

(async () => {
  const [mode, tenantJson, userId, warmup, logins] = process.argv.slice(2);
  const tenant = JSON.parse(tenantJson);
  const file = path.join(__dirname, '..', 'dist', 'action.js');
  let requests = 0;
  const counting = (input, init) => {
    requests += 1;
    return fetch(input, init);
  };
  const load = () => ({ action: loadAction({ filename: file, require: builtinsOnly, globals: { fetch: counting }, console: { log() {} } }), cache: createCache() });
  const secrets = { CLAIM_NAMESPACE: NAMESPACE, AUTH0_DOMAIN: tenant.url, AUTH0_CLIENT_ID: tenant.clientId, AUTH0_CLIENT_SECRET: tenant.clientSecret };
  // Distinct user ids for the metadata mode (each login a memory miss), all the same tenant user.
  const ids = (n, tag) => Array.from({ length: n }, (_, i) => `${userId}#${tag}${i}`);
  const event = (id, appMetadata) => makeEvent({ user: { user_id: id, email: 'bench@example.com', app_metadata: appMetadata }, roles: ['bench'], audience: tenant.apis.orders, secrets });
  const run = async (instance, ev) => {
    const api = createApi({ cache: instance.cache, event: ev });
    await instance.action.execute('onExecutePostLogin', ev, api);
    return api.finish();
  };
  // The mock knows `userId` only: the Action's requests for the suffixed ids go to it by a fetch
  // that strips the suffix.
  const realFetch = globalThis.fetch;
  // (gloo-net hands fetch a Request.)
  const strip = (url) => url.replace(/%23[a-z]+\d+/, '');
  globalThis.fetch = (input, init) =>
    input instanceof Request ? realFetch(new Request(strip(input.url), input), init) : realFetch(strip(String(input)), init);

  let delivered = 0;
  if (mode === 'memory') {
    const instance = load();
    const ev = event(userId, {});
    for (let i = 0; i < Number(warmup); i++) await run(instance, ev);
    requests = 0;
    const before = process.cpuUsage();
    for (let i = 0; i < Number(logins); i++) delivered = (await run(instance, ev)).accessToken[`${NAMESPACE}/permissions`].length;
    const used = process.cpuUsage(before);
    process.stdout.write(JSON.stringify({ ms: (used.user + used.system) / Number(logins) / 1000, delivered, requests }));
    return;
  }
  // metadata: a first instance computes and stores each user's set; a second, warmed up on other
  // users, then serves every timed login from what app_metadata hands back.
  const writer = load();
  const timed = ids(Number(logins), 'm');
  const stored = new Map();
  for (const id of [...ids(Number(warmup), 'w'), ...timed]) {
    const out = await run(writer, event(id, {}));
    stored.set(id, Object.fromEntries(out.appMetadata));
  }
  const reader = load();
  for (const id of ids(Number(warmup), 'w')) await run(reader, event(id, stored.get(id)));
  const events = timed.map((id) => event(id, stored.get(id)));
  requests = 0;
  const before = process.cpuUsage();
  for (const ev of events) delivered = (await run(reader, ev)).accessToken[`${NAMESPACE}/permissions`].length;
  const used = process.cpuUsage(before);
  process.stdout.write(JSON.stringify({ ms: (used.user + used.system) / Number(logins) / 1000, delivered, requests }));
})();
