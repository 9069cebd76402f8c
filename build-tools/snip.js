// Build step between wasm-bindgen and wasm-opt: empties the body of each function listed in
// SNIP, so that wasm-opt drops the code only that function reached.
//   node build-tools/snip.js <module.wasm>      (rewritten in place; needs the name section)
//
// Only for code the module never runs but the compiler cannot prove dead:
//
// - `<f64 as Display>::fmt` (core's float formatting: Grisu, Dragon, their tables; ~8.5 KB of
//   WebAssembly, ~4.9 KB of dist/action.js). No code of this crate formats a float (every
//   message prints whole numbers); serde reaches it only through `WithDecimalPoint`, to quote a
//   float in an error message ("invalid type: floating point `1.5`, expected a string"), which
//   serde-wasm-bindgen writes when a float is found where the event or an answer has a string or
//   an object. Emptied: it writes nothing and returns `Ok`, like every `Debug` under
//   `-Zfmt-debug=none`, so a float formatted by mistake later prints as nothing rather than
//   trapping.
// - `<serde_core::de::WithDecimalPoint as Display>::fmt`, its only caller: its body becomes a
//   call to `auth0_rbac_claims_format_float` (src/edge/engine.rs), a Rust function of the same
//   signature that asks JavaScript for the digits, so those messages still quote the number.
//   That function is exported only so that the linker keeps it; the export is removed here.
//   e2e/limits.test.js checks the messages with floats in them.
//
// A listed function (or the function called instead) that is not in the module once, or not of
// the listed type, fails the build:
// the list is to be checked again on a toolchain or serde update.
'use strict';

const fs = require('node:fs');
const { leb, encodeLeb, sections, importedFunctions, functionNames, withoutExports } = require('./wasm-binary.js');

// name (crate disambiguators left out) → its type and the body that replaces it.
const FMT = { params: [0x7f, 0x7f], results: [0x7f] }; // (self: &T, f: &mut Formatter) -> fmt::Result
const WRITES_NOTHING = { type: FMT, body: [0x41, 0x00] /* i32.const 0: Ok(()) */ };
const SNIP = new Map([
  ['<f64 as core::fmt::Display>::fmt', WRITES_NOTHING],
  ['<serde_core::de::WithDecimalPoint as core::fmt::Display>::fmt', { type: FMT, calls: 'auth0_rbac_claims_format_float' }],
]);

/** `bytes` with the body of each function named in `targets` (see SNIP) replaced. */
function snip(bytes, targets) {
  let imported = 0;
  let code = null;
  const types = [];
  const typeOf = []; // type index of each defined function
  const byName = new Map();
  for (const section of sections(bytes)) {
    const { id, start } = section;
    if (id === 1) {
      let [count, p] = leb(bytes, start);
      for (let i = 0; i < count; i++) {
        if (bytes[p++] !== 0x60) throw new Error('type section: only function types are handled');
        const valueTypes = () => {
          let n;
          [n, p] = leb(bytes, p);
          const list = [...bytes.subarray(p, p + n)]; // one byte each: numeric and reference types
          p += n;
          return list;
        };
        types.push({ params: valueTypes(), results: valueTypes() });
      }
    } else if (id === 2) {
      imported = importedFunctions(bytes, section);
    } else if (id === 3) {
      let [count, p] = leb(bytes, start);
      for (let i = 0; i < count; i++) {
        let type;
        [type, p] = leb(bytes, p);
        typeOf.push(type);
      }
    } else if (id === 10) {
      code = { section: section.from, start, end: section.end };
    } else if (id === 0) {
      for (const [index, name] of functionNames(bytes, section)) {
        // Crate disambiguators ("core[5f7e0585b7128936]") change with the toolchain.
        const fn = name.replace(/\[[0-9a-f]{16}\]/g, '');
        byName.set(fn, [...(byName.get(fn) || []), index]);
      }
    }
  }
  if (!code) throw new Error('no code section');
  if (byName.size === 0) throw new Error('no function names: snip runs on wasm-bindgen output, before wasm-opt');
  const replaced = new Map(); // defined function index → new body
  const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  for (const [target, { type, body, calls }] of targets) {
    const found = byName.get(target) || [];
    if (found.length !== 1) throw new Error(`${target}: ${found.length} functions of that name (expected 1); check the SNIP list in build-tools/snip.js`);
    const index = found[0] - imported;
    const actual = types[typeOf[index]];
    if (!actual || !same(actual.params, type.params) || !same(actual.results, type.results)) {
      throw new Error(`${target}: not of the listed type; check the SNIP list in build-tools/snip.js`);
    }
    let instructions = body;
    if (calls) {
      // Both arguments passed on to the named function, whose result is returned.
      const callee = byName.get(calls) || [];
      if (callee.length !== 1) throw new Error(`${calls}: ${callee.length} functions of that name (expected 1)`);
      const calleeType = types[typeOf[callee[0] - imported]];
      if (!calleeType || !same(calleeType.params, type.params) || !same(calleeType.results, type.results)) {
        throw new Error(`${calls}: not of the type of ${target}`);
      }
      instructions = [0x20, 0x00, 0x20, 0x01, 0x10, ...encodeLeb(callee[0])];
    }
    const newBody = Buffer.from([0x00 /* no locals */, ...instructions, 0x0b /* end */]);
    replaced.set(index, Buffer.concat([encodeLeb(newBody.length), newBody]));
  }
  let [count, p] = leb(bytes, code.start);
  if (count !== typeOf.length) throw new Error('code and function sections disagree');
  const parts = [bytes.subarray(code.start, p)];
  for (let i = 0; i < count; i++) {
    const [len, body] = leb(bytes, p);
    parts.push(replaced.get(i) || bytes.subarray(p, body + len));
    p = body + len;
  }
  const section = Buffer.concat(parts);
  const rewritten = Buffer.concat([bytes.subarray(0, code.section), Buffer.from([10]), encodeLeb(section.length), section, bytes.subarray(code.end)]);
  // A function called instead of a snipped one was exported only so that the linker kept it:
  // nothing outside the module calls it, so the export goes.
  const callees = [...targets.values()].filter((t) => t.calls).map((t) => t.calls);
  return callees.length ? withoutExports(rewritten, callees) : rewritten;
}

if (require.main === module) {
  const file = process.argv[2];
  fs.writeFileSync(file, snip(fs.readFileSync(file), SNIP));
}

module.exports = { snip, SNIP };
