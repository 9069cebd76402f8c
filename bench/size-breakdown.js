// Where the bytes of the Action's WebAssembly go: code size per crate (or part of std), read from
// the module's name section after the same wasm-opt passes the build runs, names kept.
//   node bench/size-breakdown.js <module-with-names.wasm>
'use strict';

const fs = require('node:fs');

function leb(bytes, at) {
  let value = 0;
  let shift = 0;
  let pos = at;
  for (;;) {
    const b = bytes[pos++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) return [value, pos];
  }
}

/** { name: bytes } of every defined function, and the sizes of the other sections. */
function functionSizes(bytes) {
  let pos = 8;
  let imported = 0;
  const bodies = [];
  const names = new Map();
  const sections = {};
  while (pos < bytes.length) {
    const id = bytes[pos];
    let size;
    [size, pos] = leb(bytes, pos + 1);
    const end = pos + size;
    sections[id] = (sections[id] || 0) + size;
    if (id === 2) {
      let [count, p] = leb(bytes, pos);
      for (let i = 0; i < count; i++) {
        let len;
        [len, p] = leb(bytes, p);
        p += len;
        [len, p] = leb(bytes, p);
        p += len;
        const kind = bytes[p++];
        const limits = () => {
          const flags = bytes[p++];
          [, p] = leb(bytes, p);
          if (flags & 1) [, p] = leb(bytes, p);
        };
        if (kind === 0) {
          imported++;
          [, p] = leb(bytes, p);
        } else if (kind === 1) {
          p++; // reference type
          limits();
        } else if (kind === 2) {
          limits();
        } else {
          p += 2; // value type, mutability
        }
      }
    } else if (id === 10) {
      let [count, p] = leb(bytes, pos);
      for (let i = 0; i < count; i++) {
        let len;
        [len, p] = leb(bytes, p);
        bodies.push(len);
        p += len;
      }
    } else if (id === 0) {
      let [len, p] = leb(bytes, pos);
      const name = Buffer.from(bytes.subarray(p, p + len)).toString();
      p += len;
      if (name === 'name') {
        while (p < end) {
          const sub = bytes[p];
          let subSize;
          [subSize, p] = leb(bytes, p + 1);
          if (sub === 1) {
            let [count, q] = leb(bytes, p);
            for (let i = 0; i < count; i++) {
              let index;
              let l;
              [index, q] = leb(bytes, q);
              [l, q] = leb(bytes, q);
              names.set(index, Buffer.from(bytes.subarray(q, q + l)).toString());
              q += l;
            }
          }
          p += subSize;
        }
      }
    }
    pos = end;
  }
  return { bodies: bodies.map((size, i) => ({ size, name: names.get(imported + i) || `#${imported + i}` })), sections };
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
  if (['wasm_bindgen', 'js_sys', 'web_sys', 'wasm_bindgen_futures', 'gloo_timers'].includes(crate) || name.startsWith('__wbg')) return 'wasm-bindgen, js-sys, web-sys, gloo-timers';
  if (['serde_json', 'serde', 'serde_core', 'zmij', 'itoa', 'memchr'].includes(crate)) return 'serde, serde_json';
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
