// Logins all started at once on one cold instance, in a fresh Node process: load the Action, then
// N logins for the same user at once (the first one instantiates it; the others wait for that).
// Prints {p50, p99, denied} (per-login milliseconds) as JSON.
//   node bench/concurrent.js <impl> '<tenant JSON>' <userId> <N>
'use strict';

const { load, login, percentile } = require('./impls');

(async () => {
  const [impl, tenantJson, userId, n] = process.argv.slice(2);
  const tenant = JSON.parse(tenantJson);
  const instance = load(impl, tenant.url);
  const results = await Promise.all(Array.from({ length: Number(n) }, () => login(instance, tenant, userId)));
  const times = results.map((r) => r.ms);
  process.stdout.write(JSON.stringify({ p50: percentile(times, 50), p99: percentile(times, 99), denied: results.filter((r) => r.denied !== null).length }));
})();
