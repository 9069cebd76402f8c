// Fault injection for the mock tenant: per route, extra latency, error statuses, 429s with
// rate-limit headers, malformed bodies, hangs and bodies that stop halfway, optionally for a seeded fraction of requests.
'use strict';

// mulberry32: a small seeded PRNG, so a fault storm is the same storm on every run.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const latencyOnly = (f) => f.latencyMs !== undefined && !f.status && !f.hang && !f.stallBody && !f.malformed && !f.rateLimited;

function createFaults({ seed = 1 } = {}) {
  const random = prng(seed);
  let active = [];
  return {
    /**
     * Adds a fault on `route` ('*': every route). `times` bounds how many requests it hits;
     * `probability` makes it hit a seeded fraction; `rateLimited: { forMs }` answers 429 to every
     * request for that long, with the reset at its end, as an emptied bucket does.
     */
    add(route, fault) {
      const until = fault.rateLimited?.forMs !== undefined ? Date.now() + fault.rateLimited.forMs : undefined;
      active.push({ route, fault, until, left: fault.times ?? fault.rateLimited?.times ?? Infinity });
    },
    clear() {
      active = [];
    },
    /** The fault to apply to a request on `route`, if any (consumes one of its `times`). */
    pick(route) {
      for (const entry of active) {
        if (entry.route !== route && entry.route !== '*') continue;
        if (entry.until !== undefined) {
          if (Date.now() < entry.until) return { rateLimited: { ...entry.fault.rateLimited, resetAt: entry.until } };
          continue;
        }
        if (entry.left <= 0 || latencyOnly(entry.fault)) continue;
        if (entry.fault.probability !== undefined && random() >= entry.fault.probability) continue;
        entry.left -= 1;
        return entry.fault;
      }
      return null;
    },
    /** Extra latency for a request on `route`: every latency-only fault that applies to it. */
    latency(route) {
      let ms = 0;
      for (const { route: r, fault } of active) {
        if ((r !== route && r !== '*') || !latencyOnly(fault)) continue;
        if (fault.probability !== undefined && random() >= fault.probability) continue;
        ms += fault.latencyMs;
      }
      return ms;
    },
  };
}

module.exports = { createFaults };
