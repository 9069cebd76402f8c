// One cold start, in a fresh Node process: load the Action, run its first login (empty api.cache,
// so it includes the Management API token request). Prints {ms, denied, permissions} as JSON.
//   node bench/cold-start.js <impl> '<tenant JSON>' <userId>
'use strict';

const { load, login } = require('./impls');

(async () => {
  const [impl, tenantJson, userId] = process.argv.slice(2);
  const tenant = JSON.parse(tenantJson);
  const started = performance.now();
  const instance = load(impl, tenant.url);
  const first = await login(instance, tenant, userId);
  const ms = performance.now() - started;
  process.stdout.write(JSON.stringify({ ms, loginMs: first.ms, denied: first.denied, permissions: first.permissions }));
})();
