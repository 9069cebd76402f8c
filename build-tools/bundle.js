#!/usr/bin/env node
// Bundles the shipped modules (js-shim/, one entry per file, resolved by rollup) with what the
// build generated (the wasm-bindgen glue, the module or its translation) into the deliverables:
//   dist/action.js              one CommonJS file, the .wasm inlined (brotli + basE91), Node built-ins only
//   dist/action-js-fallback.js  the same Action with the module translated to JavaScript (wasm2js),
//                               for runtimes that refuse to compile WebAssembly
//   dist/npm/                   the runtime package: index.js, index.d.ts, the .wasm (brotli), the
//                               translated module (translated.js), used only if compiling fails,
//                               package.json, README.md (from README.md's marked sections), CHANGELOG.md
//   dist/tools/                 the tools package (packages.js): local as it is, and action.js
// Usage: node build-tools/bundle.js <version> <dist-dir> <build-dir> [<source revision>]
//   <build-dir>/{action,npm,mvp}/bindgen/auth0_rbac_claims.js   wasm-bindgen glue of each module
//   <build-dir>/{action,npm}/auth0_rbac_claims_opt.wasm         the optimised modules
//   <build-dir>/mvp/auth0_rbac_claims.wasm2js.js                the npm module for MVP, in JS
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { minify: terser } = require('terser');
const { rollup } = require('rollup');
const { shortenNames } = require('./short-names.js');
const { writeRuntimePackage, writeToolsPackage } = require('./packages.js');
const { assembleBase91Decoder } = require('./base91-wasm.js');

const [version, distDir, buildDir, revision = 'unknown'] = process.argv.slice(2);
if (!buildDir) {
  console.error('usage: bundle.js <version> <dist-dir> <build-dir>');
  process.exit(2);
}
const here = path.join(__dirname, '..', 'js-shim'); // the shipped sources
const CRATE = 'auth0_rbac_claims';
const read = (p) => fs.readFileSync(p, 'utf8');
const built = (variant, file) => path.join(buildDir, variant, file);

// Each patch of generated code must match exactly once: a patch that stops matching, or that
// would also change a second place, fails the build instead of shipping a half-patched glue.
function replaceOnce(text, search, replacement, what) {
  const count = text.split(search).length - 1;
  if (count !== 1) throw new Error(`unexpected ${what}: '${search.slice(0, 60)}' found ${count} times, expected once`);
  return text.replace(search, () => replacement);
}

// wasm-bindgen --target no-modules emits `let wasm_bindgen = (function(exports) { … })({…});`.
// Turn it into a factory so every call yields fresh glue state, and let the engines (engines.mjs)
// supply the few globals the glue needs at load time (a bare vm context has no TextDecoder) and
// the shim's microtask hook through which traps are caught. The glue's own loaders (`initSync`, `__wbg_init`) are
// replaced by `instantiate(createExports)`, which hands the glue the exports of a WebAssembly
// instance or of the module translated to JavaScript. `initSync` cannot be used: it tells its
// argument forms apart with `Object.getPrototypeOf(x) === Object.prototype`, which is false for
// an object literal compiled in another realm than the `Object` it names (Auth0's test loader
// does exactly that), and every login would then be denied. With the loaders no longer returned,
// the minifier drops them.
function bindingsFactory(glue, name) {
  const head = 'let wasm_bindgen = (function(exports) {';
  const tail = '})({ __proto__: null });';
  const body = glue.trimEnd();
  if (!body.startsWith(head) || !body.endsWith(tail)) {
    throw new Error('unexpected wasm-bindgen output: is wasm-bindgen still run with --target no-modules?');
  }
  // wasm-bindgen 0.2.130, crates/cli-support/src/js/mod.rs (`generate_no_modules` footer).
  const inner = replaceOnce(
    body.slice(head.length, body.length - tail.length),
    'return Object.assign(__wbg_init, { initSync }, exports);',
    [
      'function instantiate(createExports) {',
      '  if (wasm !== undefined) return wasm;',
      '  return __wbg_finalize_init({ exports: createExports(__wbg_get_imports()) }, undefined);',
      '}',
      'return Object.assign({ instantiate }, exports);',
    ].join('\n'),
    'wasm-bindgen output',
  );
  // Strings passed into the module (event JSON, every response body) are copied by the glue
  // one character at a time while they are ASCII; a 12 KB page of permissions costs more there
  // than in parsing it. Past 64 characters, take the glue's own other path: one native
  // TextEncoder.encode and one copy. Same bytes either way.
  // (wasm-bindgen 0.2.130, crates/cli-support/src/js/mod.rs, the `passStringToWasm0` intrinsic.)
  let patched = replaceOnce(inner, 'if (realloc === undefined) {', 'if (realloc === undefined || arg.length > 64) {', 'wasm-bindgen string passing');
  // The glue renews its cached views of the module's memory when the old buffer is detached,
  // which growing a WebAssembly memory does. The JavaScript translation grows by copying into a
  // new buffer and leaves the old one attached, so the views would go stale (and Node 22's
  // `detached === false` would keep the DataView stale too). Renew on any change of buffer.
  // (wasm-bindgen 0.2.130, crates/cli-support/src/js/mod.rs, `getUint8ArrayMemory0` and
  // `getDataViewMemory0` as generated for a memory that is not shared.)
  patched = replaceOnce(patched, 'cachedUint8ArrayMemory0.byteLength === 0', 'cachedUint8ArrayMemory0.buffer !== wasm.memory.buffer', 'wasm-bindgen memory view');
  patched = replaceOnce(
    patched,
    'cachedDataViewMemory0.buffer.detached === true || (cachedDataViewMemory0.buffer.detached === undefined && cachedDataViewMemory0.buffer !== wasm.memory.buffer)',
    'cachedDataViewMemory0.buffer !== wasm.memory.buffer',
    'wasm-bindgen memory view',
  );
  // The script URL the browser loader would fetch the module from: nothing in Node reads it.
  // (wasm-bindgen 0.2.130, crates/cli-support/src/js/mod.rs, the no-modules `script_src` lookup.)
  patched = replaceOnce(
    patched,
    "if (typeof document !== 'undefined' && document.currentScript !== null) {\n        script_src = new URL(document.currentScript.src, location.href).toString();\n    }",
    '',
    'wasm-bindgen script URL',
  );
  // Each import that may throw is `function() { return handleError(function (…) {…}, arguments); }`:
  // a wrapper written out in full around each of some thirty bodies. `catching(function (…) {…})`
  // makes the same wrapper once per import, at load: the same calls, ~0.7 kB less of the file.
  // (wasm-bindgen 0.2.130, crates/cli-support/src/js/mod.rs, imports marked `catch`.)
  const open = ': function() { return handleError(function (';
  const close = '}, arguments); },';
  const opened = patched.split(open).length - 1;
  const closed = patched.split(close).length - 1;
  if (opened === 0 || opened !== closed) {
    throw new Error(`unexpected wasm-bindgen output: ${opened} imports wrapped in handleError, ${closed} wrappers closed`);
  }
  patched = replaceOnce(
    patched.split(open).join(': catching(function (').split(close).join('}),'),
    'function handleError(f, args) {',
    'function catching(f) {\n        return function () { return handleError(f, arguments); };\n    }\n    function handleError(f, args) {',
    'wasm-bindgen handleError',
  );
  // Fallbacks for engines older than every Node the Action runs on (20 and 22 in the tests,
  // Auth0's 22 in production), where each of these exists in every realm, a bare vm context
  // included: TextEncoder#encodeInto (the shim passes util's TextEncoder), FinalizationRegistry,
  // and js-sys's `global()` looking past `globalThis` for `global`, `self` and `window`
  // (js-sys 0.3.107, src/lib.rs `global`; it asks for `globalThis` first and stops there).
  // wasm-bindgen 0.2.130, crates/cli-support/src/js/mod.rs.
  patched = replaceOnce(
    patched,
    "if (!('encodeInto' in cachedTextEncoder)) {\n        cachedTextEncoder.encodeInto = function (arg, view) {\n            const buf = cachedTextEncoder.encode(arg);\n            view.set(buf);\n            return {\n                read: arg.length,\n                written: buf.length\n            };\n        };\n    }",
    '',
    'wasm-bindgen encodeInto fallback',
  );
  patched = replaceOnce(
    patched,
    "(typeof FinalizationRegistry === 'undefined')\n        ? { register: () => {}, unregister: () => {} }\n        : new FinalizationRegistry(",
    'new FinalizationRegistry(',
    'wasm-bindgen FinalizationRegistry fallback',
  );
  for (const name of ['global', 'self', 'window']) {
    // `return 0` is the accessor's answer for an absent global; the minifier drops the rest.
    patched = replaceOnce(patched, `const ret = typeof ${name} === 'undefined' ? undefined : ${name};`, 'return 0;', `js-sys global() lookup of ${name}`);
  }
  return [
    `function ${name}(TextDecoder, TextEncoder, queueMicrotask, actionCrypto) {`,
    '  return (function (exports) {',
    patched,
    '  })({ __proto__: null });',
    '}',
  ].join('\n');
}

// wasm2js emits an ES module (`import * as … from './…_bg.js'`, `export var …`); make it a
// factory taking the imports object, and make its traps recognisable (name 'WasmTrap').
// (binaryen, the version pinned in package.json: src/wasm2js.h, the `wasm2js_trap` helper and
// the `retasmFunc` footer.)
function translatedModuleFactory(source) {
  let body = source.replace(/^import \* as .*$/m, '');
  body = replaceOnce(
    body,
    "function wasm2js_trap() { throw new Error('abort'); }",
    "function wasm2js_trap() { const trap = new Error('unreachable executed'); trap.name = 'WasmTrap'; throw trap; }",
    'wasm2js output',
  );
  const start = body.indexOf('var retasmFunc = asmFunc(');
  if (start < 0) throw new Error('unexpected wasm2js output: no retasmFunc');
  return `function createTranslatedModule(imports) {\n${body.slice(0, start)}\nreturn asmFunc(imports);\n}`;
}

// The shipped sources are ES modules in js-shim/ with explicit imports; rollup resolves them into
// one CommonJS file per entry (Node built-ins stay `require`s). What the build generates (the
// wasm-bindgen glue, the module itself or its translation) is the one module the entries import
// by the name below; every rollup warning fails the build.
const GENERATED = 'auth0-rbac-claims:generated';
const BUILTINS = ['buffer', 'crypto', 'fs', 'path', 'util', 'zlib'];

async function bundleEntry(entry, generated) {
  const bundle = await rollup({
    input: path.join(here, entry),
    external: BUILTINS,
    plugins: [
      {
        name: 'generated',
        resolveId: (id) => (id === GENERATED ? `\0${GENERATED}` : null),
        load: (id) => (id === `\0${GENERATED}` ? generated : null),
      },
    ],
    onwarn(warning) {
      throw new Error(`rollup, bundling ${entry}: ${warning.message}`);
    },
  });
  try {
    const { output } = await bundle.generate({ format: 'cjs', esModule: false, generatedCode: 'es2015' });
    // One file per deliverable: a dynamic import() would split off a chunk that nothing ships.
    if (output.length !== 1) throw new Error(`rollup, bundling ${entry}: ${output.length} chunks, expected one file`);
    return output[0].code;
  } finally {
    await bundle.close();
  }
}

// The first comment says what the file is: package, version, the source revision it was built
// from and the sha256 of the module inside, so that an administrator can check what they paste
// (./build.sh verify FILE rebuilds that revision and compares).
function banner(kind, module) {
  const sha = module ? `; module sha256 ${crypto.createHash('sha256').update(module).digest('hex')}` : '';
  return [
    `/*! auth0-rbac-claims ${version} — ${kind}. Built by build.sh from source revision ${revision}${sha};`,
    ' *  do not edit: readable sources and `./build.sh verify FILE` in the repository. MIT licence. */',
  ].join('\n');
}

// Top-level names are the file's own (Auth0 wraps the file in a function; only `exports` leaves
// it), so they are mangled too; `WASM` keeps its name, so that the module is easy to find in the
// file (`WASM="…"`, after the `require`s of the built-ins). Function expressions that use
// neither `this` nor `arguments` become arrows (terser's unsafe_arrows), and object properties
// holding a function become methods, which keep their own `this` and `arguments`
// (unsafe_methods). Both are "unsafe" only for a function something constructs with `new`,
// which nothing in these files does; every suite runs against the minified files. ~1.4 kB less
// of dist/action.js, most of it the glue's hundred imports.
async function minify(source, passes = 3) {
  const result = await terser(source, {
    ecma: 2020,
    compress: { passes, unsafe_arrows: true, unsafe_methods: true },
    mangle: { toplevel: true, reserved: ['WASM'] },
    format: { comments: /^!/ },
  });
  return result.code;
}

function brotli(bytes) {
  return zlib.brotliCompressSync(bytes, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
}

async function main() {
  const { base91Encode } = await import('../js-shim/base91.mjs');
  const translated = translatedModuleFactory(read(built('mvp', `${CRATE}.wasm2js.js`)));
  const translatedGlue = bindingsFactory(read(built('mvp', `bindgen/${CRATE}.js`)), 'createTranslatedBindings');

  // dist/action.js — brotli at its densest, then basE91 (2 characters per 13 or 14 bits, none of
  // them a quote or a backslash) rather than base64 (4 per 3) or Z85 (5 per 4): about 6.5 kB less
  // than base64 inside the 100 kB limit.
  // The module is unpacked once per instance, in a few milliseconds: basE91 by a 217-byte
  // WebAssembly decoder (js-shim/base91.wat) that the file carries as base64, brotli by node:zlib.
  // Imports and glue-only exports renamed a, b, … in the module and its glue (short-names.js).
  const short = shortenNames(fs.readFileSync(built('action', `${CRATE}_opt.wasm`)), read(built('action', `bindgen/${CRATE}.js`)));
  const wasm = short.wasm;
  const compressed = brotli(wasm);
  const action = await minify(
    [
      banner('Auth0 post-login Action (paste as is, or deploy with `node local/cli.js deploy`)', wasm),
      await bundleEntry(
        'action.mjs',
        [
          `export const WASM = '${base91Encode(compressed)}';`,
          `export const BASE91_DECODER = '${Buffer.from(await assembleBase91Decoder()).toString('base64')}';`,
          `export ${bindingsFactory(short.glue, 'createBindings')}`,
        ].join('\n'),
      ),
    ].join('\n'),
  );
  fs.mkdirSync(path.join(distDir, 'npm'), { recursive: true });
  fs.writeFileSync(path.join(distDir, 'action.js'), action);

  // dist/action-js-fallback.js — no WebAssembly at all.
  const fallback = await minify(
    [
      banner('Auth0 post-login Action, module translated to JavaScript for runtimes without WebAssembly'),
      await bundleEntry('action-js-fallback.mjs', [`export ${translated}`, `export ${translatedGlue}`].join('\n')),
    ].join('\n'),
    1,
  );
  fs.writeFileSync(path.join(distDir, 'action-js-fallback.js'), fallback);

  // dist/npm — installed by every Action and backend that lists it, so kept small (unpacked at
  // most 600 KB, checked by e2e/npm.test.js): the module brotli-compressed (a third
  // of its size; unpacked once per instance in about a millisecond), index.js and the
  // translation minified. The translated module is a separate file, loaded only when compiling
  // the .wasm is refused.
  const npmDir = path.join(distDir, 'npm');
  const wasmName = `${CRATE}_bg.wasm.br`;
  fs.writeFileSync(
    path.join(npmDir, 'translated.js'),
    await minify(`${banner('module translated to JavaScript')}\n'use strict';\n${translated}\nmodule.exports = createTranslatedModule;\n`, 1),
  );
  const npmIndex = [
    banner('npm package form'),
    await bundleEntry(
      'npm/index.mjs',
      [
        `export const WASM_FILE = '${wasmName}';`,
        `export ${bindingsFactory(read(built('npm', `bindgen/${CRATE}.js`)), 'createBindings')}`,
        `export ${translatedGlue}`,
      ].join('\n'),
    ),
  ].join('\n');
  fs.writeFileSync(path.join(npmDir, 'index.js'), await minify(npmIndex));
  fs.writeFileSync(path.join(npmDir, wasmName), brotli(fs.readFileSync(built('npm', `${CRATE}_opt.wasm`))));
  fs.copyFileSync(path.join(here, 'npm', 'index.d.ts'), path.join(npmDir, 'index.d.ts'));
  const readme = read(path.join(here, '..', 'README.md'));
  writeRuntimePackage({ npmDir, version, readme });
  writeToolsPackage({ distDir, version, readme });

  checkHandlers([
    path.join(distDir, 'action.js'),
    path.join(distDir, 'action-js-fallback.js'),
    path.join(npmDir, 'index.js'),
  ]);
}

// Auth0's loader refuses a handler that is not an async function (`fn.constructor.name ===
// 'AsyncFunction'`), and a minifier may turn `async function` into something else. Load each
// built file as CommonJS and check every handler it exports, including what `postLogin(options)`
// returns in the package form. Loading defines functions only: nothing is instantiated.
function checkHandlers(files) {
  const vm = require('node:vm');
  const { createRequire } = require('node:module');
  for (const file of files.map((f) => path.resolve(f))) {
    const module = { exports: {} };
    vm.compileFunction(read(file), ['module', 'exports', 'require'], { filename: file })(module, module.exports, createRequire(file));
    const handlers = { onExecutePostLogin: module.exports.onExecutePostLogin };
    if (typeof module.exports.postLogin === 'function') handlers['postLogin(options)'] = module.exports.postLogin({});
    for (const [name, fn] of Object.entries(handlers)) {
      if (typeof fn !== 'function' || fn.constructor.name !== 'AsyncFunction') {
        throw new Error(`${file}: ${name} is not an async function after the build; Auth0's loader would refuse it`);
      }
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
