// The Action's JavaScript side: instance lifecycle and the hand-over to Rust, nothing else.
//
// js-shim/bundle.js puts this file after a prelude that defines
//   loadWasm()                      -> the module's bytes (inlined in dist/action.js, a file in npm)
//   createBindings(TextDecoder, TextEncoder, queueMicrotask)
//                                   -> fresh wasm-bindgen glue (its own heap and instance slot)
// Settings, decisions, HTTP and every call on `api` happen in Rust.
/* global loadWasm, createBindings */

const { TextDecoder, TextEncoder } = require('util');

// Compiled once per Action instance; Auth0's Node 22 runtime reuses an instance across logins.
let compiled;
// The live glue + instance. Replaced after a trap, so one bad login cannot break the next.
let current;

function instance() {
  if (current) return current;
  compiled = compiled || new WebAssembly.Module(loadWasm());
  let reportTrap;
  const trapped = new Promise((_, reject) => {
    reportTrap = reject;
  });
  trapped.catch(() => {}); // observed through Promise.race below; never an unhandled rejection
  // Rust futures are polled from microtasks: a trap there must reach the logins of that
  // instance instead of escaping as an uncaught exception.
  const guardedQueueMicrotask = (task) =>
    queueMicrotask(() => {
      try {
        task();
      } catch (error) {
        if (!(error instanceof WebAssembly.RuntimeError)) throw error;
        retire(fresh, error);
      }
    });
  const fresh = createBindings(TextDecoder, TextEncoder, guardedQueueMicrotask);
  fresh.initSync({ module: compiled });
  fresh.trapped = trapped;
  fresh.reportTrap = reportTrap;
  current = fresh;
  return fresh;
}

function retire(bindings, error) {
  if (current === bindings) current = undefined;
  bindings.reportTrap(error);
}

// The event as JSON text. Only fields near the top are read, so when an event is too deep to
// stringify (JSON.stringify recurses) everything below 32 levels is left out.
function encodeEvent(event) {
  try {
    return JSON.stringify(event === undefined ? null : event);
  } catch {
    const depth = new WeakMap();
    return JSON.stringify(event, function (key, value) {
      if (typeof value === 'bigint') return String(value);
      if (value === null || typeof value !== 'object') return value;
      const level = (depth.get(this) || 0) + 1;
      if (level > 32) return undefined;
      depth.set(value, level);
      return value;
    });
  }
}

async function run(event, api, options) {
  const eventJson = encodeEvent(event);
  const optionsJson = options === undefined ? undefined : JSON.stringify(options);
  const bindings = instance();
  let report;
  try {
    report = await Promise.race([
      bindings.onExecutePostLogin(eventJson, api, optionsJson),
      bindings.trapped,
    ]);
  } catch (error) {
    if (!(error instanceof WebAssembly.RuntimeError)) throw error;
    retire(bindings, error);
    report = await instance().onExecutePostLogin(eventJson, api, optionsJson, true);
  }
  return JSON.parse(report);
}

/**
 * Auth0 post-login handler (trigger v3). Settings come from `event.configuration` and
 * `event.secrets`. Resolves to `{ outcome, codes }` for local tools; Auth0 ignores it.
 */
exports.onExecutePostLogin = (event, api) => run(event, api, undefined);

// For tests and the local runner only; not part of the Action's contract.
exports[Symbol.for('auth0-rbac-claims.internals')] = {
  run,
  instantiate: () => void instance(),
  trapNextLogin: () => instance().__trapNextLogin(),
};
