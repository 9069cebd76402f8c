// The entry of dist/npm/index.js, the npm package: the Action's `onExecutePostLogin` and the
// helpers for backends (typed in index.d.ts). The .wasm (brotli) ships beside index.js; the module
// translated to JavaScript (translated.js) is loaded only if compiling it is refused. The claim
// reading itself is Rust (ClaimLayout::read, through `readGrants` in the package's WebAssembly):
// the layout that writes the claims in the Action reads them here.
//
// The bundle is the package's CommonJS index.js: this entry fills that module's `exports` and
// loads its neighbours with its `require` and `__dirname` (the free variables here).
/* global exports, require, __dirname */
import { readFileSync } from 'fs';
import { join } from 'path';
import { brotliDecompressSync } from 'zlib';
import { WASM_FILE, createBindings, createTranslatedBindings } from 'auth0-rbac-claims:generated'; // build-tools/bundle.js
import { jsEngine, wasmEngine } from '../engines.mjs';
import { INTERNALS, createAction } from '../shim.mjs';

const { onExecutePostLogin, run, instance, internals } = createAction([
  wasmEngine(() => brotliDecompressSync(readFileSync(join(__dirname, WASM_FILE))), createBindings),
  jsEngine(() => require('./translated.js'), createTranslatedBindings),
]);
exports.onExecutePostLogin = onExecutePostLogin;
exports[INTERNALS] = internals;

/**
 * A post-login handler with settings given in code; they take precedence over
 * `event.configuration` and `event.secrets`.
 */
exports.postLogin = (options) => {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('postLogin(options): options must be an object of settings');
  }
  const frozen = JSON.parse(JSON.stringify(options));
  // An async function, as Auth0's loader requires of the handler it is exported as.
  return async function onExecutePostLogin(event, api) {
    return run(event, api, frozen);
  };
};

function namespaceOf(options) {
  const namespace = options && options.namespace;
  if (typeof namespace !== 'string') {
    throw new TypeError('options.namespace is required: the CLAIM_NAMESPACE the Action writes with');
  }
  return namespace;
}

/** The claim names the Action writes for `options.namespace`: `{ roles, permissions }`. */
exports.claimNames = (options) => JSON.parse(instance().claimNames(namespaceOf(options)));

/**
 * The roles and permissions a verified token payload carries, with the claim layout of
 * `options.namespace` (the Action's CLAIM_NAMESPACE). Permissions include Auth0's own
 * `permissions` claim. Throws an Error with `code: 'config_invalid'` for a refused namespace.
 */
function readGrants(payload, options) {
  const namespace = namespaceOf(options);
  const json = JSON.stringify(payload && typeof payload === 'object' ? payload : {});
  const { roles, permissions } = JSON.parse(instance().readGrants(json, namespace));
  const held = new Set(permissions);
  const list = (items) => (Array.isArray(items) ? items : [items]);
  return {
    roles,
    permissions,
    hasPermission: (permission) => held.has(permission),
    hasAll: (required) => list(required).every((p) => held.has(p)),
    hasAny: (wanted) => list(wanted).some((p) => held.has(p)),
    hasRole: (role) => roles.includes(role),
    missing: (required) => list(required).filter((p) => !held.has(p)),
  };
}
exports.readGrants = readGrants;

/** Whether a verified token payload carries `permission`. */
exports.hasPermission = (payload, permission, options) => readGrants(payload, options).hasPermission(permission);

function challenge(error, description) {
  return `Bearer error="${error}", error_description="${description.replace(/"/g, "'")}"`;
}

/**
 * Express middleware: requires every permission in `permissions` on the token that
 * `express-oauth2-jwt-bearer`'s `auth()` verified (`req.auth.payload`). No verified token → 401;
 * a permission missing → 403 with `WWW-Authenticate: Bearer error="insufficient_scope"`.
 */
exports.requirePermissions = (permissions, options) => {
  const required = Array.isArray(permissions) ? permissions : [permissions];
  namespaceOf(options);
  return (req, res, next) => {
    const payload = req.auth && req.auth.payload;
    if (!payload) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'invalid_token', error_description: 'no verified access token' });
      return;
    }
    const missing = readGrants(payload, options).missing(required);
    if (missing.length > 0) {
      const description = `missing permission: ${missing.join(' ')}`;
      res.status(403).set('WWW-Authenticate', challenge('insufficient_scope', description)).json({ error: 'insufficient_scope', error_description: description });
      return;
    }
    next();
  };
};

// What @auth0/nextjs-auth0 v4 keeps of the ID token in `session.user` by default.
const NEXTJS_DEFAULT_CLAIMS = ['sub', 'name', 'nickname', 'given_name', 'family_name', 'picture', 'email', 'email_verified', 'org_id'];

/**
 * For @auth0/nextjs-auth0 v4's `beforeSessionSaved`: v4 drops custom claims from `session.user`
 * unless this hook keeps them. Keeps v4's default claims plus `<namespace>/roles` and
 * `<namespace>/permissions`.
 */
exports.keepClaims = (options) => {
  const names = JSON.parse(instance().claimNames(namespaceOf(options)));
  const keep = new Set([...NEXTJS_DEFAULT_CLAIMS, names.roles, names.permissions]);
  return async (session) => ({
    ...session,
    user: Object.fromEntries(Object.entries(session.user || {}).filter(([claim]) => keep.has(claim))),
  });
};

/**
 * Wraps a Next.js route handler: `getSession()` is your `auth0.getSession()`. No session → 401,
 * a permission missing from the session's claims → 403, else the handler runs with the grants.
 */
exports.withPermissions = (permissions, options, handler) => {
  const required = Array.isArray(permissions) ? permissions : [permissions];
  namespaceOf(options);
  if (typeof options.getSession !== 'function') throw new TypeError('options.getSession is required, e.g. () => auth0.getSession()');
  return async (request, context) => {
    const session = await options.getSession(request);
    if (!session || !session.user) {
      return Response.json({ error: 'unauthorized' }, { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } });
    }
    const grants = readGrants(session.user, options);
    const missing = grants.missing(required);
    if (missing.length > 0) {
      const description = `missing permission: ${missing.join(' ')}`;
      return Response.json({ error: 'insufficient_scope', error_description: description }, { status: 403, headers: { 'WWW-Authenticate': challenge('insufficient_scope', description) } });
    }
    return handler(request, { ...context, grants });
  };
};
