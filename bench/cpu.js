// CPU per warm login, in a process of its own, so that nothing another Action left behind
// (garbage, background compilation) is counted: load the Action once, warm it up (the engine
// tiers its code up during the first logins), then time logins one after another.
//   node bench/cpu.js <impl> '<tenant JSON>' <userId> <warmup> <logins>
// Prints {ms: CPU milliseconds per login (user + system), delivered: permissions on the token}.
'use strict';

const { load, login } = require('./impls');

(async () => {
  const [impl, tenantJson, userId, warmup, logins] = process.argv.slice(2);
  const tenant = JSON.parse(tenantJson);
  const instance = load(impl, tenant.url);
  let delivered = 0;
  for (let i = 0; i < Number(warmup); i++) await login(instance, tenant, userId);
  const before = process.cpuUsage();
  for (let i = 0; i < Number(logins); i++) delivered = (await login(instance, tenant, userId)).permissions;
  const used = process.cpuUsage(before);
  process.stdout.write(JSON.stringify({ ms: (used.user + used.system) / Number(logins) / 1000, delivered }));
})();
