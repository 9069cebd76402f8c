// Z85 (ZeroMQ RFC 32/Z85): 4 bytes as 5 characters from an alphabet without quotes or backslashes,
// so binary fits a JavaScript string literal with 25% overhead (base64: 33%).
// The decoder is inlined into dist/action.js; the encoder runs at build time.
'use strict';

const Z85_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

/** Decodes Z85 `text` into its first `length` bytes (the encoder pads to a multiple of 4). */
function z85Decode(text, length) {
  const digit = new Uint8Array(128);
  for (let i = 0; i < 85; i++) digit[Z85_ALPHABET.charCodeAt(i)] = i;
  const out = new Uint8Array((text.length / 5) * 4);
  for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
    let value = 0;
    for (let j = 0; j < 5; j++) value = value * 85 + digit[text.charCodeAt(i + j)];
    out[o] = value >>> 24;
    out[o + 1] = (value >>> 16) & 255;
    out[o + 2] = (value >>> 8) & 255;
    out[o + 3] = value & 255;
  }
  return out.subarray(0, length);
}

// --- build side (not inlined) ------------------------------------------------------------------

/** Encodes bytes as Z85, zero-padded to a multiple of 4. */
function z85Encode(bytes) {
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  padded.set(bytes);
  let text = '';
  for (let i = 0; i < padded.length; i += 4) {
    let value = ((padded[i] << 24) | (padded[i + 1] << 16) | (padded[i + 2] << 8) | padded[i + 3]) >>> 0;
    let chunk = '';
    for (let j = 0; j < 5; j++) {
      chunk = Z85_ALPHABET[value % 85] + chunk;
      value = Math.floor(value / 85);
    }
    text += chunk;
  }
  return text;
}

module.exports = { Z85_ALPHABET, z85Decode, z85Encode };
