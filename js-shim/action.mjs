// The entry of dist/action.js, the file pasted into Auth0: the module travels inside the file
// (brotli, then basE91, in the generated `WASM`; `BASE91_DECODER` decodes it) and is compiled
// to WebAssembly.
//
// Auth0 loads the bundle as the body of a CommonJS module, so this entry fills that module's
// `exports` (the one free variable here): the bundle has no ES `export` of its own.
/* global exports */
import { brotliDecompressSync } from 'zlib';
import { BASE91_DECODER, WASM, createBindings } from 'auth0-rbac-claims:generated'; // build-tools/bundle.js
import { base91Decode } from './base91.mjs';
import { wasmEngine } from './engines.mjs';
import { INTERNALS, createAction } from './shim.mjs';

const action = createAction([wasmEngine(() => brotliDecompressSync(base91Decode(WASM, BASE91_DECODER)), createBindings)]);

exports.onExecutePostLogin = action.onExecutePostLogin;
exports[INTERNALS] = action.internals;
