// Where the bytes of the Action's WebAssembly go: code size per crate (or part of std), read from
// the module's name section after the same wasm-opt passes the build runs, names kept.
//   node bench/size-breakdown.js <module-with-names.wasm>
'use strict';

const fs = require('node:fs');
const { leb, sections, importedFunctions, functionNames } = require('../build-tools/wasm-binary.js');

/** { name: bytes } of every defined function, and the sizes of the other sections. */
function functionSizes(bytes) {
  let imported = 0;
  const bodies = [];
  const names = new Map();
  const sizes = {};
  for (const section of sections(bytes)) {
    const { id, start, end } = section;
    sizes[id] = (sizes[id] || 0) + (end - start);
    if (id === 2) {
      imported = importedFunctions(bytes, section);
    } else if (id === 10) {
      let [count, p] = leb(bytes, start);
      for (let i = 0; i < count; i++) {
        let len;
        [len, p] = leb(bytes, p);
        bodies.push(len);
        p += len;
      }
    } else if (id === 0) {
      for (const [index, name] of functionNames(bytes, section)) names.set(index, name);
    }
  }
  return { bodies: bodies.map((size, i) => ({ size, name: names.get(imported + i) || `#${imported + i}` })), sections: sizes };
}

// A function counts for our module named first in it: generic code instantiated for our types
// (serde decoders, futures' state machines) counts as ours, and so does the async login that
// wasm-bindgen-futures' future_to_promise inlines whole (under `edge`). Otherwise it counts for
// the first crate its name starts with.
function groupOf(name) {
  const ours = name.match(/auth0_rbac_claims(?:\[[0-9a-f]+\])?::([a-z_]+)/);
  if (ours) return `auth0-rbac-claims::${ours[1]}`;
  const crate = (name.replace(/^[<&* ]+/, '').match(/^([a-z_][a-z0-9_]*)/) || [])[1];
  if (!crate) return 'unnamed';
  if (['wasm_bindgen', 'js_sys', 'web_sys', 'wasm_bindgen_futures', 'gloo_timers', 'gloo_net', 'gloo_utils', 'http'].includes(crate) || name.startsWith('__wbg')) return 'wasm-bindgen, js-sys, web-sys, gloo-net, gloo-timers';
  if (['serde_wasm_bindgen', 'serde_json', 'serde', 'serde_core', 'zmij', 'itoa', 'memchr'].includes(crate)) return 'serde, serde-wasm-bindgen';
  if (crate.startsWith('futures')) return 'futures';
  if (['dlmalloc', 'talc', 'alloc'].includes(crate)) return 'alloc (allocator, Vec, String)';
  if (['core', 'std', 'f64', 'f32', 'str', 'char', 'u8', 'u32', 'u64', 'usize', 'i64', 'bool', '__rustc'].includes(crate)) return 'core, std (fmt, str, number formatting)';
  return crate;
}

/** Code bytes per group, largest first, and the largest functions. */
function breakdown(file) {
  const { bodies, sections } = functionSizes(new Uint8Array(fs.readFileSync(file)));
  const totals = new Map();
  for (const { size, name } of bodies) totals.set(groupOf(name), (totals.get(groupOf(name)) || 0) + size);
  const code = bodies.reduce((n, b) => n + b.size, 0);
  return {
    codeBytes: code,
    dataBytes: sections[11] || 0,
    functions: bodies.length,
    groups: [...totals].sort((a, b) => b[1] - a[1]).map(([group, bytes]) => ({ group, bytes })),
    largest: [...bodies].sort((a, b) => b.size - a.size).slice(0, 8).map((b) => ({ size: b.size, name: b.name.replace(/\[[0-9a-f]{16}\]/g, '') })),
  };
}

if (require.main === module) console.log(JSON.stringify(breakdown(process.argv[2]), null, 1));

module.exports = { breakdown };
