// The mock tenant in a process of its own, so that its CPU is not counted as the Action's.
//   startMockProcess({ latencyMs: 20, users: { 'bench|10': 10 } })    (forks this file)
// Options: latencyMs, users ({id: direct permission count}), rateLimit ({burst, perSecond}) and
// population (the login stream's users and roles, bench/population.js).
// Sends {ready: {url, clientId, clientSecret, apis}}; answers {op:'count', route},
// {op:'management'} (requests to /api/v2 so far), {op:'inject', route, fault} ('*management':
// every /api/v2 route) and {op:'reset'}.
'use strict';

const { fork } = require('node:child_process');
const { startMockTenant } = require('../local/mock');
const { population: makePopulation } = require('./population');

const MANAGEMENT_ROUTES = ['permissions', 'roles', 'role-permissions'];

/**
 * Starts the mock in a child process with these options; resolves to its `ready` description
 * plus `count(route)`, `management()`, `inject(route, fault)`, `reset()` and `close()`.
 */
async function startMockProcess(options) {
  const child = fork(__filename, [JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const tenant = await new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m.ready));
    child.once('exit', (code) => reject(new Error(`mock tenant exited (${code})`)));
  });
  let next = 0;
  const ask = (message) =>
    new Promise((resolve) => {
      const id = ++next;
      const onMessage = (m) => {
        if (m.id !== id) return;
        child.off('message', onMessage);
        resolve(m);
      };
      child.on('message', onMessage);
      child.send({ ...message, id });
    });
  return {
    ...tenant,
    count: async (route) => (await ask({ op: 'count', route })).count,
    management: async () => (await ask({ op: 'management' })).count,
    inject: (route, fault) => ask({ op: 'inject', route, fault }),
    reset: () => ask({ op: 'reset' }),
    close: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.disconnect();
      }),
  };
}

module.exports = { startMockProcess };

if (require.main === module) (async () => {
  const { latencyMs = 0, users = {}, rateLimit = null, population = 0 } = JSON.parse(process.argv[2] || '{}');
  const tenant = await startMockTenant({ latencyMs, rateLimit });
  for (const [userId, count] of Object.entries(users)) tenant.addUser(userId, { count });
  if (population > 0) {
    const people = makePopulation(population);
    for (const role of people.roles) tenant.defineRole(role.name, role.permissions.map((name) => ({ api: tenant.apis.orders, name })));
    for (const user of people.users) tenant.addUser(user.id, { roles: user.roles });
  }
  process.on('message', (message) => {
    if (message.op === 'count') process.send({ id: message.id, count: tenant.count(message.route) });
    if (message.op === 'management') {
      process.send({ id: message.id, count: tenant.requests.filter((r) => r.path.startsWith('/api/v2/')).length });
    }
    if (message.op === 'inject') {
      for (const route of message.route === '*management' ? MANAGEMENT_ROUTES : [message.route]) tenant.inject(route, message.fault);
      process.send({ id: message.id });
    }
    if (message.op === 'reset') {
      tenant.resetLog();
      process.send({ id: message.id });
    }
  });
  process.on('disconnect', () => tenant.close().finally(() => process.exit(0)));
  process.send({ ready: { url: tenant.url, clientId: tenant.clientId, clientSecret: tenant.clientSecret, apis: tenant.apis } });
})();
