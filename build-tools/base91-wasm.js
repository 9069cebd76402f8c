// Assembles the basE91 decoder (js-shim/base91.wat) with binaryen, the version pinned in
// package.json, optimised for size: the bytes dist/action.js carries as base64 (bundle.js), and
// that the tests decode with.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const SOURCE = path.join(__dirname, '..', 'js-shim', 'base91.wat');

/** The decoder module's bytes. */
async function assembleBase91Decoder() {
  const { default: binaryen } = await import('binaryen');
  const module = binaryen.parseText(fs.readFileSync(SOURCE, 'utf8'));
  try {
    if (!module.validate()) throw new Error(`${SOURCE} does not validate`);
    // Process-wide settings of binaryen's JS API; nothing else in the build uses that API.
    binaryen.setOptimizeLevel(2);
    binaryen.setShrinkLevel(2);
    module.optimize();
    return module.emitBinary();
  } finally {
    module.dispose();
  }
}

module.exports = { assembleBase91Decoder };
