// Bundling step for dist/action.js: short names for what only the glue and the module share.
//
// wasm-bindgen names each import after its JS function and a hash (`__wbg_setCustomClaim_17cb…`),
// its closure shims after their full Rust types (one is 334 characters), and the import module
// after its file (`./auth0_rbac_claims_bg.js`). Each name is spelled out twice: in the module
// (brotli'd) and in the glue, which dist/action.js carries as plain text. Nothing else sees these
// names, so the module's imports and the glue's internal exports are renamed `a`, `b`, … in both:
// ~2.6 KB less of dist/action.js. The exports the shim or the glue's callers use (the entry
// points, `memory`) keep their names.
//
// Every renamed name must appear in the glue exactly where expected (an import as one object key,
// an export as `wasm.<name>`), or the build fails: a half-renamed glue would not link.
'use strict';

const { leb, encodeLeb, readName, skipImportDesc, sections: sectionsOf, exportEntries, encodeSection } = require('./wasm-binary.js');

// Exports the glue alone calls (allocator, closures, externref table, start): renamed.
const INTERNAL_EXPORT = /^(wasm_bindgen_[0-9a-f]{16}_|__wbindgen_|__externref_)/;

/** `a` … `z`, `A` … `Z`, then `a0` … `Z0`, `a1` …: distinct identifiers, shortest first. */
function shortName(index) {
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  return letters[index % letters.length] + (index < letters.length ? '' : String(Math.floor(index / letters.length) - 1));
}

const utf8 = (s) => Buffer.from(s, 'utf8');
const nameBytes = (s) => Buffer.concat([encodeLeb(utf8(s).length), utf8(s)]);

/**
 * Renames the module's imports (one import module) and internal exports, and the glue with them.
 * Returns `{ wasm, glue }`.
 */
function shortenNames(wasm, glue) {
  const sections = sectionsOf(wasm);
  const find = (id) => {
    const found = sections.filter((s) => s.id === id);
    if (found.length !== 1) throw new Error(`wasm: ${found.length} sections of id ${id}`);
    return found[0];
  };

  // Imports: every one from the same module; new names in order of appearance.
  const importSection = find(2);
  let [count, p] = leb(wasm, importSection.start);
  const imports = [];
  for (let i = 0; i < count; i++) {
    let module;
    let name;
    [module, p] = readName(wasm, p);
    [name, p] = readName(wasm, p);
    const descStart = p;
    [, p] = skipImportDesc(wasm, p);
    imports.push({ module, name, desc: wasm.subarray(descStart, p) });
  }
  const modules = new Set(imports.map((i) => i.module));
  if (modules.size !== 1) throw new Error(`wasm: imports from ${modules.size} modules, expected 1`);
  const [moduleName] = modules;
  let next = 0;
  const importNames = new Map(imports.map((i) => [i.name, shortName(next++)]));
  if (importNames.size !== imports.length) throw new Error('wasm: an import name is used twice');

  // Exports: internal ones get new names after the imports'.
  const exportSection = find(7);
  const exports = exportEntries(wasm, exportSection);
  const exportNames = new Map(exports.filter((e) => INTERNAL_EXPORT.test(e.name)).map((e) => [e.name, shortName(next++)]));
  const unused = new Set();

  // The glue: one object key per import, `wasm.<name>` for each renamed export.
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  let out = glue;
  const replaceCounted = (pattern, replacement, expected, what) => {
    const re = new RegExp(pattern, 'g');
    const n = (out.match(re) || []).length;
    if (expected === 'once' ? n !== 1 : n < 1) throw new Error(`glue: ${what} found ${n} times`);
    out = out.replace(re, replacement);
  };
  // An internal export the glue never names (`__wbindgen_free` when no string crosses back to
  // JavaScript with its ownership) is dropped rather than renamed; one the glue names in some
  // other way than `wasm.<name>` fails the build.
  for (const name of [...exportNames.keys()]) {
    if (new RegExp(`\\bwasm\\.${escape(name)}(?![\\w$])`).test(glue)) continue;
    if (glue.includes(name)) throw new Error(`glue: export ${name} named other than as wasm.${name}`);
    exportNames.delete(name);
    unused.add(name);
  }
  replaceCounted(`"${escape(moduleName)}":`, '"m":', 'once', `import module "${moduleName}"`);
  for (const [name, short] of importNames) {
    replaceCounted(`(?<![\\w$])${escape(name)}:`, `${short}:`, 'once', `import ${name}`);
  }
  for (const [name, short] of exportNames) {
    replaceCounted(`\\bwasm\\.${escape(name)}(?![\\w$])`, `wasm.${short}`, 'at least once', `export ${name}`);
  }
  // The module: the two sections rebuilt, the rest as it was.
  const newImports = encodeSection(2, imports.map((i) => Buffer.concat([nameBytes('m'), nameBytes(importNames.get(i.name)), i.desc])));
  const newExports = encodeSection(7, exports.filter((e) => !unused.has(e.name)).map((e) => Buffer.concat([nameBytes(exportNames.get(e.name) || e.name), e.desc])));
  const parts = [wasm.subarray(0, 8)];
  for (const s of sections) {
    if (s === importSection) parts.push(newImports);
    else if (s === exportSection) parts.push(newExports);
    else parts.push(wasm.subarray(s.from, s.end));
  }
  return { wasm: Buffer.concat(parts), glue: out };
}

module.exports = { shortenNames, shortName };
