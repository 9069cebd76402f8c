// The entry of dist/action-js-fallback.js: the same Action with the module translated to
// JavaScript (wasm2js), for runtimes that refuse to compile WebAssembly. Like action.mjs, it
// fills the `exports` of the CommonJS module Auth0 loads.
/* global exports */
import { createTranslatedBindings, createTranslatedModule } from 'auth0-rbac-claims:generated'; // build-tools/bundle.js
import { jsEngine } from './engines.mjs';
import { INTERNALS, createAction } from './shim.mjs';

const action = createAction([jsEngine(() => createTranslatedModule, createTranslatedBindings)]);

exports.onExecutePostLogin = action.onExecutePostLogin;
exports[INTERNALS] = action.internals;
