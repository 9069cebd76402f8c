// dist/action.js says what it is in its first comment: the package, its version, the source
// revision it was built from and the sha256 of the WebAssembly module it carries; what it names
// is checked against the repository and against the module decoded from the file itself.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const vm = require('node:vm');
const { execFileSync } = require('node:child_process');
// The decoder and encoder the build uses (an ES module: loaded with import()), and the
// WebAssembly decoder module as the build assembles it from js-shim/base91.wat.
const base91 = () => import('../js-shim/base91.mjs');
const { assembleBase91Decoder } = require('../build-tools/base91-wasm.js');

const ROOT = path.join(__dirname, '..');
const source = fs.readFileSync(path.join(ROOT, 'dist', 'action.js'), 'utf8');
const banner = source.slice(0, source.indexOf('*/') + 2);
// The basE91 decoder the file carries: the one base64 literal that is a WebAssembly module.
const carriedDecoder = () => /["'](AGFzbQ[A-Za-z0-9+/]+=*)["']/.exec(source)?.[1];
const assembledDecoder = async () => Buffer.from(await assembleBase91Decoder()).toString('base64');

// basE91 decoded the way the JavaScript decoder did before base91.wat: the reference for texts
// that no encoder output need hit, such as lengths at the decoder's 64 KiB page boundaries.
function referenceDecode(alphabet, text) {
  const out = [];
  let bits = 0;
  let count = 0;
  let value = -1;
  for (const c of text) {
    const digit = alphabet.indexOf(c);
    if (value < 0) {
      value = digit;
      continue;
    }
    value += digit * 91;
    bits |= value << count;
    count += (value & 8191) > 88 ? 13 : 14;
    do {
      out.push(bits & 255);
      bits >>>= 8;
      count -= 8;
    } while (count > 7);
    value = -1;
  }
  if (value >= 0) out.push((bits | (value << count)) & 255);
  return Buffer.from(out);
}

test('the first comment names the package, its version and the source revision', () => {
  const version = /^version = "([^"]+)"/m.exec(fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8'))[1];
  assert.match(banner, new RegExp(`^/\\*! auth0-rbac-claims ${version.replace(/\./g, '\\.')} — Auth0 post-login Action`));
  const revision = /from source revision ([0-9a-z-]+)/.exec(banner)?.[1];
  assert.ok(revision, banner);
  let head;
  try {
    head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    head = 'unknown';
  }
  // Built from this checkout: its commit, marked when tracked files were changed.
  assert.ok(revision === head || revision === `${head}-modified`, `${revision} vs ${head}`);
  assert.match(banner, /\.\/build\.sh verify FILE/);
});

test('the sha256 the comment gives is the module inside the file', async () => {
  const { base91Decode } = await base91();
  const named = /module sha256 ([0-9a-f]{64})/.exec(banner)?.[1];
  assert.ok(named, banner);
  const literal = /\bWASM=("[^"]+")/.exec(source)?.[1];
  assert.ok(literal, 'the embedded module was not found');
  // The literal as the engine reads it: the minifier may escape a character sequence in it
  // (`-->` becomes `--\x3e`, as an HTML comment close), so its raw text is not the string.
  const text = vm.runInNewContext(literal);
  // Decoded by the decoder module the file carries.
  const decoder = carriedDecoder();
  assert.ok(decoder, 'the basE91 decoder module was not found');
  const module = zlib.brotliDecompressSync(base91Decode(text, decoder));
  assert.ok(WebAssembly.validate(module));
  assert.equal(crypto.createHash('sha256').update(module).digest('hex'), named);
});

test('the file carries the basE91 decoder that js-shim/base91.wat assembles to', async () => {
  const carried = carriedDecoder();
  assert.ok(carried, 'the basE91 decoder module was not found');
  assert.equal(carried, await assembledDecoder());
});

test('the basE91 decoder reads any text of the alphabet as the reference does, at page boundaries too', async () => {
  const { BASE91_ALPHABET, base91Decode } = await base91();
  const decoder = await assembledDecoder();
  for (const length of [0, 1, 2, 65_535, 65_536, 65_537, 131_071, 131_072, 131_073]) {
    const digits = crypto.randomBytes(length);
    const text = Array.from(digits, (d) => BASE91_ALPHABET[d % 91]).join('');
    assert.deepEqual(Buffer.from(base91Decode(text, decoder)), referenceDecode(BASE91_ALPHABET, text), `${length} characters`);
  }
});

test('basE91 round-trips any bytes, and its alphabet needs no escape in a string literal', async () => {
  const { BASE91_ALPHABET, base91Decode, base91Encode } = await base91();
  const decoder = await assembledDecoder();
  assert.equal(new Set(BASE91_ALPHABET).size, 91);
  for (const c of BASE91_ALPHABET) assert.equal(JSON.stringify(c), `"${c}"`, c);
  assert.ok(!/['"\\\s]/.test(BASE91_ALPHABET));
  // Past 65,536 characters the decoder's memory grows a page, and 2 pages hold 131,072.
  for (const length of [0, 1, 2, 3, 7, 13, 14, 255, 4096, 53_000, 54_000, 106_000, 120_000]) {
    for (const fill of [null, 0, 255]) {
      const bytes = fill === null ? crypto.randomBytes(length) : Buffer.alloc(length, fill);
      const text = base91Encode(bytes);
      assert.ok(text.length <= 2 * Math.floor((length * 8) / 13) + 2, `${length} bytes as ${text.length} characters`);
      assert.deepEqual(Buffer.from(base91Decode(text, decoder)), bytes, `${length} bytes of ${fill}`);
    }
  }
});
