// A login stream against a tenant whose Management API is one token bucket (auth0-facts.md §5.5):
// N Action instances sharing one api.cache and one user store (app_metadata is persisted from a
// login to the user's next one, as Auth0 does), logins arriving at a fixed rate for users drawn
// in turn from a population, the mock (in its own process) answering after 20 ms.
//
//   node bench/stream.js '{"impl":"ours","bucket":[10,2.5],"rate":30,"users":120,"warmup":120,"measure":30}'
//
// Used by bench/run.js for the "Login stream" table. Exports runStream(config) → figures.
'use strict';

const { createInstance, runLogin } = require('../local/runner');
const { createCache, createApi, makeEvent } = require('../local/sandbox');
const { load, SDK_HOST } = require('./impls');
const { population } = require('./population');
const { startMockProcess } = require('./mock-process');

const NAMESPACE = 'https://myapp.example.com';
const LATENCY_MS = 20;

function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : NaN;
}

function startStreamMock(config, people) {
  return startMockProcess({ latencyMs: LATENCY_MS, rateLimit: { burst: config.bucket[0], perSecond: config.bucket[1] }, population: people.size });
}

/** One login of `impl` for `user` on `instance`: { ms, failed, code, claims }. */
async function oneLogin(config, tenant, instance, user) {
  if (config.impl === 'ours') {
    const settings = {
      CLAIM_NAMESPACE: NAMESPACE,
      AUTH0_DOMAIN: tenant.url,
      AUTH0_CLIENT_ID: tenant.clientId,
      AUTH0_CLIENT_SECRET: tenant.clientSecret,
      ...(config.source === 'roles' ? { PERMISSIONS_SOURCE: 'roles' } : {}),
      ...config.settings,
    };
    const r = await runLogin(instance, { userId: user.id, user: { email: 'stream@example.com' }, roles: user.roles, audience: tenant.apis.orders, settings });
    const failed = r.denied !== null;
    return { ms: r.ms, failed, code: failed ? r.report.codes[0] : r.report.codes[0] || null, claims: r.tokens.access_token.claims[`${NAMESPACE}/permissions`] };
  }
  // (b) and (c): the same harness as the other benchmarks (their events name one role).
  const event = makeEvent({
    user: { user_id: user.id, email: 'stream@example.com' },
    roles: user.roles,
    audience: tenant.apis.orders,
    secrets: { CLAIM_NAMESPACE: NAMESPACE, AUTH0_DOMAIN: instance.spec.sdk ? SDK_HOST : tenant.url, AUTH0_CLIENT_ID: tenant.clientId, AUTH0_CLIENT_SECRET: tenant.clientSecret },
  });
  const api = createApi({ cache: instance.cache });
  const started = performance.now();
  let threw = false;
  try {
    await instance.action.onExecutePostLogin(event, api);
  } catch {
    threw = true;
  }
  const ms = performance.now() - started;
  const outcome = api.finish();
  const claims = outcome.accessToken[`${NAMESPACE}/permissions`];
  // (b) logs its errors and lets the login through without the claim: a failure all the same.
  const failed = threw || outcome.denied !== null || !Array.isArray(claims);
  return { ms, failed, code: failed ? 'denied' : null, claims };
}

/**
 * Runs one stream. config: { impl: ours|snippet|handwritten, source: user|roles, bucket: [burst,
 * perSecond], rate (logins/s), users, warmup (s), measure (s), outage (s with every Management
 * API request answered 503, after the measure), instances (4), settings }. Returns { warmup,
 * measured, outage: { logins, denied, stale, requestsPerLogin, p50, p99 }, firstMinuteRequests,
 * wrong (completed logins whose claims were not exactly the user's roles' permissions) }.
 */
async function runStream(config) {
  const people = population(config.users);
  const tenant = await startStreamMock(config, people);
  const expected = new Map(people.roles.map((r) => [r.name, r.permissions]));
  const instances = Array.from({ length: config.instances || 4 }, () => null);
  const cache = createCache();
  const profiles = new Map();
  for (let i = 0; i < instances.length; i++) {
    instances[i] = config.impl === 'ours' ? createInstance({ cache, profiles }) : { ...load(config.impl, tenant.url), cache };
  }
  const phases = { warmup: [], measured: [], outage: [] };
  let wrong = 0;
  let firstMinuteRequests = null;
  const started = Date.now();
  let phase = 'warmup';
  let atMeasure = 0;
  const outageSeconds = config.outage || 0;
  const total = config.warmup + config.measure + outageSeconds;
  let atOutage = null;
  const pending = [];
  let n = 0;
  const tick = 1000 / config.rate;
  let outage = false;
  while (Date.now() - started < total * 1000) {
    const elapsed = (Date.now() - started) / 1000;
    if (phase === 'warmup' && elapsed >= config.warmup) {
      phase = 'measured';
      atMeasure = await tenant.management();
    }
    if (phase === 'measured' && outageSeconds > 0 && elapsed >= config.warmup + config.measure && !outage) {
      // The Management API goes down: every request answers 503.
      outage = true;
      phase = 'outage';
      atOutage = await tenant.management();
      await tenant.inject('*management', { status: 503 });
    }
    if (firstMinuteRequests === null && elapsed >= 60) firstMinuteRequests = await tenant.management();
    const user = people.users[n % people.users.length];
    const instance = instances[n % instances.length];
    n += 1;
    const bucket = phases[phase];
    pending.push(oneLogin(config, tenant, instance, user).then((r) => {
      bucket.push(r);
      if (!r.failed) {
        const want = [...new Set(user.roles.flatMap((role) => expected.get(role)))].sort();
        if (JSON.stringify([...r.claims].sort()) !== JSON.stringify(want)) wrong += 1;
      }
    }));
    const due = started + n * tick;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  await Promise.all(pending);
  const end = await tenant.management();
  if (firstMinuteRequests === null) firstMinuteRequests = end;
  await tenant.close();
  const summary = (logins, requests) => ({
    logins: logins.length,
    denied: logins.filter((r) => r.failed).length,
    stale: logins.filter((r) => r.code === 'stale_permissions').length,
    requestsPerLogin: logins.length ? requests / logins.length : NaN,
    p50: percentile(logins.map((r) => r.ms), 50),
    p99: percentile(logins.map((r) => r.ms), 99),
  });
  return {
    config,
    warmup: summary(phases.warmup, atMeasure),
    measured: summary(phases.measured, (atOutage ?? end) - atMeasure),
    outage: outage ? summary(phases.outage, end - atOutage) : null,
    firstMinuteRequests,
    wrong,
  };
}

module.exports = { runStream, population };

if (require.main === module) {
  runStream(JSON.parse(process.argv[2] || '{}')).then((r) => console.log(JSON.stringify(r, null, 2)), (e) => {
    console.error(e);
    process.exit(1);
  });
}
