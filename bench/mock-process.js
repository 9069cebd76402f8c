// The mock tenant in a process of its own, so that its CPU is not counted as the Action's.
//   node bench/mock-process.js '{"latencyMs":20,"users":{"bench|10":10}}'    (started with fork)
// Sends {ready: {url, clientId, clientSecret, apis}}; answers {op:'count', route} and {op:'reset'}.
'use strict';

const { startMockTenant } = require('../js-shim/local/mock');

(async () => {
  const { latencyMs = 0, users = {} } = JSON.parse(process.argv[2] || '{}');
  const tenant = await startMockTenant({ latencyMs });
  for (const [userId, count] of Object.entries(users)) tenant.addUser(userId, { count });
  process.on('message', (message) => {
    if (message.op === 'count') process.send({ id: message.id, count: tenant.count(message.route) });
    if (message.op === 'reset') {
      tenant.resetLog();
      process.send({ id: message.id });
    }
  });
  process.on('disconnect', () => tenant.close().finally(() => process.exit(0)));
  process.send({ ready: { url: tenant.url, clientId: tenant.clientId, clientSecret: tenant.clientSecret, apis: tenant.apis } });
})();
