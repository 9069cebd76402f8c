// Logins all started at once on one cold instance, in a fresh Node process: the Action is loaded
// and N logins for the same user start together. Each login's time runs from before the load to
// its end, so loading and instantiating the Action (done by the first login, which the others
// then wait behind) is part of every login's wait, as for logins that reach an instance Auth0
// has just started. Prints {p50, p99, denied} (milliseconds) as JSON.
//   node bench/concurrent.js <impl> '<tenant JSON>' <userId> <N>
'use strict';

const { load, login, percentile } = require('./impls');

(async () => {
  const [impl, tenantJson, userId, n] = process.argv.slice(2);
  const tenant = JSON.parse(tenantJson);
  const started = performance.now();
  const instance = load(impl, tenant.url);
  const finish = (r) => ({ ...r, ms: performance.now() - started });
  const results = await Promise.all(Array.from({ length: Number(n) }, () => login(instance, tenant, userId).then(finish)));
  const times = results.map((r) => r.ms);
  process.stdout.write(JSON.stringify({ p50: percentile(times, 50), p99: percentile(times, 99), denied: results.filter((r) => r.denied !== null).length }));
})();
