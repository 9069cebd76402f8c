// A recording stand-in for the Action's `api` object, for the edge tests (wasm-tests/edge.rs).
// `options.throwOn` names a method that throws; `options.cacheSet` is what api.cache.set returns.

function makeApi(optionsJson) {
  const options = optionsJson ? JSON.parse(optionsJson) : {};
  const calls = [];
  const store = new Map();
  const maybeThrow = (name) => {
    if (options.throwOn === name) throw new TypeError(`${name} failed on purpose`);
  };
  const api = {
    idToken: {
      setCustomClaim(name, value) {
        maybeThrow('idToken.setCustomClaim');
        calls.push(['idToken.setCustomClaim', name, value, Array.isArray(value)]);
        return api;
      },
    },
    accessToken: {
      setCustomClaim(name, value) {
        maybeThrow('accessToken.setCustomClaim');
        calls.push(['accessToken.setCustomClaim', name, value, Array.isArray(value)]);
        return api;
      },
    },
    access: {
      deny(reason) {
        maybeThrow('access.deny');
        calls.push(['access.deny', reason]);
        return api;
      },
    },
    cache: {
      get(key) {
        calls.push(['cache.get', key]);
        return store.get(key);
      },
      set(key, value, opts) {
        calls.push(['cache.set', key, value, opts]);
        if (options.cacheSet) return options.cacheSet;
        const record = { value, expires_at: Date.now() + opts.ttl };
        store.set(key, record);
        return { type: 'success', record };
      },
      delete(key) {
        calls.push(['cache.delete', key]);
        store.delete(key);
        return { type: 'success' };
      },
    },
  };
  if (options.noCache) delete api.cache;
  Object.defineProperty(api, '__calls', { value: calls });
  return api;
}

function callsOf(api) {
  return JSON.stringify(api.__calls);
}

function errorCode(error) {
  return error instanceof Error ? `${error.code}|${error.message}` : 'not an Error';
}

module.exports = { makeApi, callsOf, errorCode };
