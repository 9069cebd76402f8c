// An Auth0-like sandbox for post-login Actions (trigger v3), for local runs and tests.
//
// loadAction() loads an Action from its source text the way Auth0's loader does (the post-login
// v3 harness in Auth0's `auth0/auth0-actions` repository, generated from its runtime): the text
// inside a CommonJS wrapper compiled with `vm.compileFunction`, `module.createRequire(file)` as
// `require`, and a handler that must be an async function. Three shapes:
//   production   one realm, as Auth0's production runtime ("there's only one realm");
//   test-loader  `parsingContext = vm.createContext(globalThis)`, as Auth0's published test loader
//                on Node 20 and later: globals come from the main realm, object literals do not;
//   context      a fresh vm context holding only chosen globals: the strictest about globals,
//                and the only shape that can refuse WebAssembly code generation.
// createApi() builds the `api` object with Auth0's documented semantics (auth0-facts.md §2, §4):
// api.cache limits and `set` results, claim names Auth0 drops silently, the 100 KB custom-claims
// limit that fails a login, and access.deny. makeEvent() builds a complete, realistic event.
'use strict';

const vm = require('node:vm');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { builtinModules, createRequire } = require('node:module');

// The Action the sandbox loads by default, whether the runtime allows WebAssembly (context shape
// only), and the shape. The test suites run once per shape (AUTH0_RBAC_CLAIMS_SHAPE), and again
// with AUTH0_RBAC_CLAIMS_ACTION=dist/action-js-fallback.js and AUTH0_RBAC_CLAIMS_NO_WASM=1.
const DEFAULT_ACTION = path.resolve(process.env.AUTH0_RBAC_CLAIMS_ACTION || path.join(__dirname, '..', 'dist', 'action.js'));
const WASM_ALLOWED = process.env.AUTH0_RBAC_CLAIMS_NO_WASM !== '1';
const SHAPES = ['production', 'test-loader', 'context'];
const DEFAULT_SHAPE = process.env.AUTH0_RBAC_CLAIMS_SHAPE || 'production';
if (!SHAPES.includes(DEFAULT_SHAPE)) throw new Error(`AUTH0_RBAC_CLAIMS_SHAPE must be one of ${SHAPES.join(', ')}`);

// Globals of Auth0's Node runtime that an Action may use, for the context shape. Passing the
// host's own objects keeps fetch, its Response and its errors in one realm, as they are in a
// real Node process.
const NODE_GLOBALS = [
  'console', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate',
  'clearImmediate', 'queueMicrotask', 'structuredClone', 'fetch', 'Request', 'Response', 'Headers',
  'FormData', 'AbortController', 'AbortSignal', 'URL', 'URLSearchParams', 'TextEncoder',
  'TextDecoder', 'Buffer', 'DOMException', 'Event', 'EventTarget', 'performance', 'crypto', 'atob',
  'btoa', 'Error', 'TypeError', 'RangeError', 'SyntaxError',
];

// Where a pasted Action "lives": a directory without node_modules, so that `require` finds
// Node's built-ins and nothing else, as for an Action without dependencies.
const PASTED_FILENAME = path.join(os.tmpdir(), 'auth0-rbac-claims-pasted-action', 'action.js');

let testLoaderContext;
// Auth0's test loader contextifies the main realm's global object itself; doing it once per
// process is enough (a second createContext of the same object returns it).
function testLoaderParsingContext() {
  testLoaderContext = testLoaderContext || vm.createContext(globalThis);
  return testLoaderContext;
}

/** Auth0's message for a handler that is not an async function. */
function invalidHandlerMessage(name) {
  return `Invalid function signature for the ${JSON.stringify(name)} handler. Use "exports.${name} = async function(event, api) { }" as the signature.`;
}

/**
 * Loads an Action from source. Options:
 *   source       the source text (default: the file `filename`, else dist/action.js)
 *   filename     its path: shown in stack traces, and where `require` resolves from
 *   shape        'production' | 'test-loader' | 'context' (default AUTH0_RBAC_CLAIMS_SHAPE, else
 *                production)
 *   wasm         false → WebAssembly code generation is refused (context shape only)
 *   bare         true → no Node globals at all (context shape only)
 *   console      object with log/warn/error (default: captures into `.logs`)
 *   globals      globals to add or replace: in the context shape, globals of the context; in the
 *                other two, parameters of the wrapper beside `console` (the way Auth0's loader
 *                hands the Action its console), e.g. a recording `fetch`
 *   require      replacement for `createRequire(filename)` (e.g. to record what is loaded)
 * Returns { exports, logs, context, shape, execute(name, event, api) }; `execute` refuses a
 * handler that is not an async function with Auth0's own message, then calls it.
 */
function loadAction(options = {}) {
  const shape = options.shape || (options.bare || options.wasm === false ? 'context' : DEFAULT_SHAPE);
  if (!SHAPES.includes(shape)) throw new Error(`unknown shape '${shape}' (use ${SHAPES.join(', ')})`);
  if (shape !== 'context' && (options.bare || options.wasm === false)) {
    throw new Error('only the context shape can refuse WebAssembly or leave out Node\'s globals');
  }
  const source = options.source ?? fs.readFileSync(options.filename || DEFAULT_ACTION, 'utf8');
  const filename = options.filename ? path.resolve(options.filename) : options.source === undefined ? DEFAULT_ACTION : PASTED_FILENAME;
  const logs = [];
  const capture = options.console || {
    log: (...args) => logs.push(args.map(String).join(' ')),
    info: (...args) => logs.push(args.map(String).join(' ')),
    warn: (...args) => logs.push(args.map(String).join(' ')),
    error: (...args) => logs.push(args.map(String).join(' ')),
  };
  const requireFn = options.require || createRequire(filename);
  const module = { exports: {} };
  let context;
  if (shape === 'context') {
    const globals = {};
    if (!options.bare) {
      for (const name of NODE_GLOBALS) globals[name] = globalThis[name];
      globals.console = capture;
    }
    Object.assign(globals, options.globals);
    context = vm.createContext(globals, {
      name: 'auth0-action',
      codeGeneration: { strings: true, wasm: options.wasm ?? WASM_ALLOWED },
    });
    const wrapper = vm.runInContext(
      `(function (exports, require, module, __filename, __dirname) {\n${source}\n})`,
      context,
      { filename, lineOffset: -1 },
    );
    wrapper(module.exports, requireFn, module, filename, path.dirname(filename));
  } else {
    // Auth0's two steps: compile `module.exports = function (module, exports, console) {…}` with
    // `module`, `exports` and `require` as parameters, then call what it exported with the
    // Action's own module object and a console.
    const extra = Object.keys(options.globals || {});
    const params = ['module', 'exports', 'console', ...extra].join(', ');
    const loader = { exports: {} };
    vm.compileFunction(`module.exports = function (${params}) {\n${source}\n};`, ['module', 'exports', 'require'], {
      filename,
      parsingContext: shape === 'test-loader' ? testLoaderParsingContext() : undefined,
    })(loader, loader.exports, requireFn);
    loader.exports(module, module.exports, capture, ...extra.map((name) => options.globals[name]));
  }
  return {
    exports: module.exports,
    logs,
    context,
    shape,
    /** Calls a handler the way Auth0 does: only an async function is accepted. */
    execute(name, ...args) {
      const exported = module.exports;
      if (typeof exported !== 'object' || exported === null) throw new Error('The Action must export an object.');
      const handler = exported[name];
      if (typeof handler !== 'function' || handler.constructor?.name !== 'AsyncFunction') throw new Error(invalidHandlerMessage(name));
      return handler(...args);
    },
  };
}

// Auth0 resolves npm dependencies it installed; a pasted single-file Action gets built-ins only.
function builtinsOnly(name) {
  const bare = name.startsWith('node:') ? name.slice(5) : name;
  if (!builtinModules.includes(bare)) {
    const error = new Error(`Cannot find module '${name}' (only Node built-ins are available)`);
    error.code = 'MODULE_NOT_FOUND';
    throw error;
  }
  return require(name);
}

// --- api.cache ---------------------------------------------------------------------------------

const CACHE_MAX_ENTRIES = 20;
const CACHE_MAX_KEY_BYTES = 64;
const CACHE_MAX_VALUE_BYTES = 4096;
const CACHE_MAX_TOTAL_BYTES = 8192;
const CACHE_DEFAULT_TTL_MS = 15 * 60 * 1000;
const CACHE_MAX_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * The trigger-wide cache behind `api.cache`: shared by the api objects of every login that is
 * given it. `failures` (0..1) makes `set` fail at random with FailedToSetCacheRecord.
 */
function createCache({ now = Date.now, failures = 0, random = Math.random } = {}) {
  const entries = new Map();
  const bytes = (s) => Buffer.byteLength(s, 'utf8');
  const live = (key) => {
    const record = entries.get(key);
    if (record && record.expires_at <= now()) entries.delete(key);
    return entries.get(key);
  };
  const ops = [];
  return {
    entries,
    ops,
    get(key) {
      ops.push(['get', key]);
      const record = live(key);
      return record ? { value: record.value, expires_at: record.expires_at } : undefined;
    },
    set(key, value, options = {}) {
      ops.push(['set', key]);
      if (typeof key !== 'string' || bytes(key) > CACHE_MAX_KEY_BYTES) return { type: 'error', code: 'CacheKeySizeExceeded' };
      if (typeof value !== 'string' || bytes(value) > CACHE_MAX_VALUE_BYTES) return { type: 'error', code: 'CacheValueSizeExceeded' };
      if (failures > 0 && random() < failures) return { type: 'error', code: 'FailedToSetCacheRecord' };
      let expiresAt = now() + CACHE_DEFAULT_TTL_MS;
      const candidates = [];
      if (options.ttl !== undefined) candidates.push(now() + options.ttl);
      if (options.expires_at !== undefined) candidates.push(options.expires_at);
      if (candidates.length) expiresAt = Math.min(...candidates); // both given: the earlier wins
      if (!Number.isFinite(expiresAt)) return { type: 'error', code: 'InvalidExpiry' };
      if (expiresAt <= now()) return { type: 'error', code: 'ItemAlreadyExpired' };
      expiresAt = Math.min(expiresAt, now() + CACHE_MAX_TTL_MS);
      for (const k of [...entries.keys()]) live(k);
      const others = [...entries].filter(([k]) => k !== key);
      if (others.length >= CACHE_MAX_ENTRIES) return { type: 'error', code: 'CacheSizeExceeded' };
      const total = others.reduce((sum, [k, r]) => sum + bytes(k) + bytes(r.value), 0) + bytes(key) + bytes(value);
      if (total > CACHE_MAX_TOTAL_BYTES) return { type: 'error', code: 'CacheSizeExceeded' };
      const record = { value, expires_at: expiresAt };
      entries.set(key, record);
      return { type: 'success', record: { ...record } };
    },
    delete(key) {
      ops.push(['delete', key]);
      if (!entries.delete(key)) return { type: 'error', code: 'CacheKeyDoesNotExist' };
      return { type: 'success' };
    },
  };
}

// --- claims ------------------------------------------------------------------------------------

// Names Auth0 never lets an Action set (auth0-facts.md §4); they are dropped without an error.
const RESTRICTED_CLAIMS = new Set(('acr act active amr at_hash ath attest aud auth_time authorization_details azp ' +
  'c_hash client_id cnf cty dest entitlements events exp groups gty htm htu iat internalService iss jcard jku ' +
  'jti jwe jwk kid may_act mky nbf nonce object_id org_id org_name orig origid permissions roles rph s_hash sid ' +
  'sip_callid sip_cseq_num sip_date sip_from_tag sip_via_branch sub sub_jwk toe txn typ uuid vot vtm x5t#S256').split(' '));
const CUSTOM_CLAIMS_LIMIT = 100 * 1000;

/** The domains Auth0 owns, and its URN prefix: custom claims namespaced under them are dropped. */
const RESERVED_HOSTS = ['auth0.com', 'webtask.io', 'webtask.run'];
const RESERVED_URN_PREFIX = 'urn:auth0';

function droppedReason(name) {
  if (RESTRICTED_CLAIMS.has(name)) return 'restricted claim name';
  const lower = name.toLowerCase();
  if (lower.startsWith(RESERVED_URN_PREFIX)) return 'urn:auth0 namespace';
  const host = /^https?:\/\/([^/:?#]+)/.exec(lower)?.[1];
  if (host && RESERVED_HOSTS.some((d) => host === d || host.endsWith('.' + d))) {
    return 'Auth0-owned namespace';
  }
  return null;
}

/** Bytes of a token's custom claims: names plus JSON values (how the Action counts them too). */
function claimBytes(claims) {
  return Object.entries(claims).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(JSON.stringify(v)), 0);
}

/**
 * The `api` object of one login. `cache` is shared between logins when the same one is passed;
 * `event` is the login's event (`api.user.setAppMetadata` refuses to work when its
 * `user.app_metadata` is not an object, as Auth0's does). After the handler resolves, call
 * `finish()` to apply what Auth0 does once the trigger ends (the 100 KB custom-claims limit)
 * and get { denied, failed, idToken, accessToken, dropped, appMetadata }, where `appMetadata`
 * lists the metadata writes in order, as [key, value] (value null: delete), which Auth0 makes
 * once at the end of the flow and hands back in the user's next event.
 */
function createApi({ cache = createCache(), throwOn = null, event } = {}) {
  const state = { idToken: {}, accessToken: {}, dropped: [], denied: null, calls: [], appMetadata: [] };
  const tokenApi = (which) => ({
    setCustomClaim(name, value) {
      if (throwOn === `${which}.setCustomClaim`) throw new Error(`${which}.setCustomClaim failed`);
      state.calls.push([`${which}.setCustomClaim`, name]);
      const why = droppedReason(String(name));
      if (why) state.dropped.push({ token: which, name, why });
      else state[which][name] = JSON.parse(JSON.stringify(value));
      return api;
    },
  });
  const api = {
    idToken: tokenApi('idToken'),
    accessToken: {
      ...tokenApi('accessToken'),
      addScope() {},
      removeScope() {},
    },
    access: {
      deny(reason) {
        state.calls.push(['access.deny']);
        if (state.denied === null) state.denied = String(reason);
        return api;
      },
    },
    cache: {
      get: (key) => cache.get(key),
      set: (key, value, options) => cache.set(key, value, options),
      delete: (key) => cache.delete(key),
    },
    user: {
      setAppMetadata(key, value) {
        state.calls.push(['user.setAppMetadata', key]);
        if (throwOn === 'user.setAppMetadata') throw new Error('user.setAppMetadata failed');
        const current = event?.user?.app_metadata;
        if (event && (current === null || typeof current !== 'object' || Array.isArray(current))) {
          throw new Error('Unexpected app_metadata format: it must be a JSON object');
        }
        state.appMetadata.push([String(key), value === null ? null : JSON.parse(JSON.stringify(value))]);
        return api;
      },
      setUserMetadata() {
        return api;
      },
    },
    multifactor: { enable() {} },
    redirect: { sendUserTo() {}, canRedirect: () => false },
    transaction: { setMetadata() {} },
  };
  Object.defineProperty(api, 'finish', {
    value() {
      const sizes = { idToken: claimBytes(state.idToken), accessToken: claimBytes(state.accessToken) };
      const failed = state.denied === null && (sizes.idToken > CUSTOM_CLAIMS_LIMIT || sizes.accessToken > CUSTOM_CLAIMS_LIMIT)
        ? 'custom claims over 100 KB: Auth0 fails the login'
        : null;
      return { denied: state.denied, failed, idToken: state.idToken, accessToken: state.accessToken, sizes, dropped: state.dropped, calls: state.calls, appMetadata: state.appMetadata };
    },
  });
  return api;
}

// --- events ------------------------------------------------------------------------------------

/**
 * A complete post-login event (every field Auth0 documents for trigger v3, plus a few it may add
 * later). `audience` sets event.resource_server; `roles` event.authorization.
 */
function makeEvent({ user = {}, roles, audience, secrets = {}, configuration, extra = {} } = {}) {
  const now = new Date().toISOString();
  const event = {
    authentication: { methods: [{ name: 'pwd', timestamp: now }], riskAssessment: { confidence: 'high', version: '1', assessments: {} } },
    authorization: roles === undefined ? undefined : { roles },
    client: { client_id: 'spa-client-id', name: 'My SPA', metadata: { tier: 'gold' } },
    connection: { id: 'con_123', name: 'Username-Password-Authentication', strategy: 'auth0', metadata: {} },
    custom_domain: { domain: 'login.example.com', domain_metadata: {} },
    organization: undefined,
    prompt: undefined,
    request: {
      ip: '203.0.113.7',
      method: 'POST',
      hostname: 'login.example.com',
      language: 'en',
      user_agent: 'Mozilla/5.0',
      asn: '64496',
      query: { audience, scope: 'openid profile email', response_type: 'code' },
      body: {},
      geoip: { cityName: 'Oslo', continentCode: 'EU', countryCode: 'NO', countryCode3: 'NOR', countryName: 'Norway', latitude: 59.9, longitude: 10.7, subdivisionCode: '03', subdivisionName: 'Oslo', timeZone: 'Europe/Oslo' },
    },
    resource_server: audience === undefined ? undefined : { identifier: audience },
    secrets,
    configuration,
    session: { id: 'sess_1', created_at: now, authenticated_at: now, device: { initial_ip: '203.0.113.7', last_ip: '203.0.113.7' } },
    stats: { logins_count: 5 },
    tenant: { id: 'dev-tenant' },
    transaction: {
      id: 'txn_1', acr_values: [], locale: 'en', login_hint: undefined, prompt: [], protocol: 'oidc-basic-profile',
      redirect_uri: 'https://app.example.com/callback', requested_scopes: ['openid', 'profile', 'email'],
      response_mode: 'query', response_type: ['code'], state: 'xyz', ui_locales: [], metadata: {},
    },
    user: {
      app_metadata: { plan: 'pro', nested: { deeper: { deepest: [1, 2, { x: true }] } } },
      created_at: '2024-01-01T00:00:00.000Z',
      email: 'jane@example.com',
      email_verified: true,
      family_name: 'Doe',
      given_name: 'Jane',
      identities: [{ connection: 'Username-Password-Authentication', isSocial: false, provider: 'auth0', user_id: '1', userId: '1' }],
      last_password_reset: undefined,
      multifactor: [],
      name: 'Jane Doe',
      nickname: 'jane',
      phone_number: undefined,
      phone_verified: false,
      picture: 'https://example.com/jane.png',
      updated_at: now,
      user_id: 'auth0|1',
      user_metadata: { theme: 'dark' },
      username: 'jane',
      ...user,
    },
    // Fields newer than this sandbox, to prove unknown fields are ignored.
    security_context: { ja3: 'abc', ja4: 'def' },
    some_future_field: { anything: [1, 'two', { three: null }] },
    ...extra,
  };
  return JSON.parse(JSON.stringify(event));
}

/** `app_metadata` after Auth0 applies a login's writes (a new object; null deletes a key). */
function applyAppMetadata(appMetadata, writes) {
  const next = { ...(appMetadata && typeof appMetadata === 'object' ? appMetadata : {}) };
  for (const [key, value] of writes) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return next;
}

module.exports = { applyAppMetadata, builtinsOnly, loadAction, invalidHandlerMessage, SHAPES, DEFAULT_SHAPE, createApi, createCache, makeEvent, claimBytes, RESTRICTED_CLAIMS, RESERVED_HOSTS, RESERVED_URN_PREFIX, DEFAULT_ACTION, WASM_ALLOWED };
