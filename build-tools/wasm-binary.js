// Reading the WebAssembly binary format, for the build steps that rewrite the module
// (build-tools/snip.js, build-tools/short-names.js) and the size breakdown (bench/size-breakdown.js).
// Only what they need: LEB128 numbers, names, sections, imports and the name section.
'use strict';

/** Reads an unsigned LEB128 number at `at`: `[value, next position]`. */
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

/** An unsigned LEB128 number. */
function encodeLeb(value) {
  const out = [];
  let v = value;
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
}

/** Reads a name (length, then UTF-8) at `at`: `[name, next position]`. */
function readName(bytes, at) {
  const [len, p] = leb(bytes, at);
  return [Buffer.from(bytes.subarray(p, p + len)).toString('utf8'), p + len];
}

/** Skips an import's description after its two names: `[kind, next position]`. */
function skipImportDesc(bytes, at) {
  let p = at;
  const kind = bytes[p++];
  const limits = () => {
    const flags = bytes[p++];
    [, p] = leb(bytes, p);
    if (flags & 1) [, p] = leb(bytes, p);
  };
  if (kind === 0) [, p] = leb(bytes, p);
  else if (kind === 1) {
    p++; // reference type
    limits();
  } else if (kind === 2) limits();
  else if (kind === 3) p += 2; // value type, mutability
  else throw new Error(`import kind ${kind} not handled`);
  return [kind, p];
}

/** The module's sections in order: `{ id, from, start, end }` (`start`: after id and size). */
function sections(bytes) {
  const list = [];
  let pos = 8;
  while (pos < bytes.length) {
    const [size, start] = leb(bytes, pos + 1);
    list.push({ id: bytes[pos], from: pos, start, end: start + size });
    pos = start + size;
  }
  return list;
}

/** How many functions the import section `section` imports. */
function importedFunctions(bytes, section) {
  let [count, p] = leb(bytes, section.start);
  let functions = 0;
  for (let i = 0; i < count; i++) {
    [, p] = readName(bytes, p);
    [, p] = readName(bytes, p);
    let kind;
    [kind, p] = skipImportDesc(bytes, p);
    if (kind === 0) functions++;
  }
  return functions;
}

/**
 * The function names of a custom section, when it is the name section: `[index, name]` pairs
 * (an index counts imported functions first); `[]` for any other custom section.
 */
function functionNames(bytes, section) {
  let [title, p] = readName(bytes, section.start);
  const names = [];
  while (title === 'name' && p < section.end) {
    const sub = bytes[p];
    let size;
    [size, p] = leb(bytes, p + 1);
    if (sub === 1) {
      let [count, q] = leb(bytes, p);
      for (let i = 0; i < count; i++) {
        let index;
        let name;
        [index, q] = leb(bytes, q);
        [name, q] = readName(bytes, q);
        names.push([index, name]);
      }
    }
    p += size;
  }
  return names;
}

/** The entries of the export section `section`: `{ name, desc, entry }` (`desc`: kind and index;
 * `entry`: the whole entry's bytes). */
function exportEntries(bytes, section) {
  let [count, p] = leb(bytes, section.start);
  const entries = [];
  for (let i = 0; i < count; i++) {
    const from = p;
    let name;
    [name, p] = readName(bytes, p);
    const [, end] = leb(bytes, p + 1); // kind, then index
    entries.push({ name, desc: bytes.subarray(p, end), entry: bytes.subarray(from, end) });
    p = end;
  }
  return entries;
}

/** A section of id `id` holding `entries` (each already encoded). */
function encodeSection(id, entries) {
  const body = Buffer.concat([encodeLeb(entries.length), ...entries]);
  return Buffer.concat([Buffer.from([id]), encodeLeb(body.length), body]);
}

/** `bytes` without the exports named in `names` (each must be exported once). */
function withoutExports(bytes, names) {
  const exportSection = sections(bytes).find((s) => s.id === 7);
  if (!exportSection) throw new Error('no export section');
  const entries = exportEntries(bytes, exportSection);
  const kept = entries.filter((e) => !names.includes(e.name));
  const missing = names.filter((n) => entries.filter((e) => e.name === n).length !== 1);
  if (missing.length) throw new Error(`not exported once: ${missing.join(', ')}`);
  const section = encodeSection(7, kept.map((e) => e.entry));
  return Buffer.concat([bytes.subarray(0, exportSection.from), section, bytes.subarray(exportSection.end)]);
}

module.exports = { leb, encodeLeb, readName, skipImportDesc, sections, importedFunctions, functionNames, exportEntries, encodeSection, withoutExports };
