// The Action's JavaScript side: instance lifecycle and the hand-over to Rust, nothing else.
// Settings, decisions, HTTP and every call on `api` happen in Rust. Each entry module (action.mjs,
// action-js-fallback.mjs, npm/index.mjs) calls `createAction` with its engines (engines.mjs): the
// ways to get the module's bindings, tried in order until one works.

/**
 * The handler over `engines`; `run(event, api, options)` and `instance()` (the live bindings)
 * for the npm helpers; `internals` for tests and the local runner.
 */
export function createAction(engines) {
  // The live bindings. Replaced after a trap, so one bad login cannot break the next. Auth0's Node
  // 22 runtime reuses an Action instance across logins, so this lives as long as the instance.
  let current;

  // A trap: a WebAssembly RuntimeError, or the JavaScript translation's equivalent. Told by name,
  // not by `instanceof`: under Auth0's test loader the error may come from another realm than the
  // `WebAssembly` this code names.
  function isTrap(error) {
    return error?.name === 'RuntimeError' || error?.name === 'WasmTrap';
  }

  function instance() {
    if (current) return current;
    // Rust futures are polled from microtasks: a trap there, or an exception thrown by a call
    // the module makes (one that unwinds through its frames leaves it as unusable as a trap),
    // must reach the logins of that instance instead of escaping as an uncaught exception.
    const guardedQueueMicrotask = (task) =>
      queueMicrotask(() => {
        try {
          task();
        } catch (error) {
          retire(fresh, error);
        }
      });
    const refusals = [];
    let fresh;
    for (const engine of engines) {
      try {
        fresh = engine.create(guardedQueueMicrotask);
        fresh.engine = engine.name;
        break;
      } catch (error) {
        refusals.push(`${engine.name}: ${error.message}`);
      }
    }
    if (!fresh) {
      throw new Error(`the module cannot run here (${refusals.join('; ')}); use the npm package or dist/action-js-fallback.js`);
    }
    // The logins running on this instance, each as the function that ends it with a crash.
    fresh.running = new Set();
    current = fresh;
    return fresh;
  }

  function retire(bindings, error) {
    if (current === bindings) current = undefined;
    for (const crash of bindings.running) crash(error);
  }

  // One login on `bindings`: `{ report }`; `{ crash }` when the instance trapped or threw while
  // it ran (the instance is retired); `{ rejected }`, the module's own rejection. A login is
  // known to its instance only while it runs: raced against a promise that lives as long as the
  // instance, every login would leave a reaction on it (~300 bytes each, never freed).
  function attempt(bindings, event, api, options, afterTrap) {
    return new Promise((resolve) => {
      const crash = (error) => resolve({ crash: error });
      const settled = (then) => (value) => {
        bindings.running.delete(crash);
        then(value);
      };
      bindings.running.add(crash);
      new Promise((started) => started(bindings.onExecutePostLogin(event, api, options, afterTrap))).then(
        settled((report) => resolve({ report })),
        settled((error) => {
          if (!isTrap(error)) return resolve({ rejected: error });
          retire(bindings, error);
          crash(error);
        }),
      );
    });
  }

  async function run(event, api, options) {
    let result;
    try {
      result = await attempt(instance(), event, api, options);
      // The instance trapped or threw mid-login: a fresh one reports this login under ON_ERROR.
      if ('crash' in result) result = await attempt(instance(), event, api, options, true);
    } catch (error) {
      result = { crash: error }; // no instance could be created
    }
    if ('rejected' in result) throw result.rejected; // the module's coded rejection: it could not even deny
    if ('crash' in result) {
      // No module to read the settings with (it cannot be created, or failed again): fail
      // closed, whatever ON_ERROR says.
      console.log(`[auth0-rbac-claims] internal: ${result.crash?.message}`);
      api.access.deny('Authorization data for this login is unavailable (internal).');
      return { outcome: 'denied', codes: ['internal'] };
    }
    return JSON.parse(result.report);
  }

  /**
   * Auth0 post-login handler (trigger v3). Settings come from `event.configuration` and
   * `event.secrets`. Resolves to `{ outcome, codes }` for local tools; Auth0 ignores it.
   * It must stay an `async function`: Auth0's loader refuses any other handler
   * (`fn.constructor.name === 'AsyncFunction'`), and the build checks the minified files for it.
   */
  async function onExecutePostLogin(event, api) {
    return run(event, api, undefined);
  }

  return {
    onExecutePostLogin,
    run,
    instance,
    // Exported under INTERNALS for tests and the local runner; not the Action's contract.
    internals: {
      run,
      instantiate: () => void instance(),
      engine: () => instance().engine,
      trapNextLogin: () => instance().__trapNextLogin(),
    },
  };
}

/** The key of `createAction(…).internals` on an entry's exports: tests and the local runner. */
export const INTERNALS = Symbol.for('auth0-rbac-claims.internals');
