// basE91 (Joachim Henke's scheme: 13 or 14 bits as two characters of a 91-character alphabet),
// with an alphabet of printable ASCII that needs no escape in a JavaScript string literal in
// either quote: no quotes, no backslash, no space. Binary then fits a string literal with about
// 23 % overhead (Z85: 25 %; base64: 33 %): 1.5 kB less of dist/action.js than Z85.
// This file is the JavaScript side of the decoder, which runs in WebAssembly (base91.wat, which
// dist/action.js carries as base64: a cold start decodes ~71,000 characters, which took 2-4 ms
// in JavaScript and takes well under one there), and the encoder, which runs at build time only
// (unused by the Action, so the bundler leaves it out).
import { Buffer } from 'buffer';

// Printable ASCII from '!' (33) to '~' (126) without '"', "'" and '\' (base91.wat's `$digit`).
export const BASE91_ALPHABET = "!#$%&()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~";

/** Decodes basE91 `text` (BASE91_ALPHABET) into bytes, with the module base91.wat assembles to (`decoderBase64`). */
export function base91Decode(text, decoderBase64) {
  const { m: memory, d: decode } = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(decoderBase64, 'base64'))).exports;
  memory.grow(text.length >> 16); // it has one page of 64 KiB: room for the text, one byte per character
  const length = decode(Buffer.from(memory.buffer).write(text, 'latin1'));
  return new Uint8Array(memory.buffer, 0, length);
}

/** Encodes bytes as basE91 (BASE91_ALPHABET); for the build. */
export function base91Encode(bytes) {
  let text = '';
  let bits = 0;
  let count = 0;
  for (const byte of bytes) {
    bits |= byte << count;
    count += 8;
    if (count > 13) {
      let value = bits & 8191;
      if (value > 88) {
        bits >>>= 13;
        count -= 13;
      } else {
        value = bits & 16383;
        bits >>>= 14;
        count -= 14;
      }
      text += BASE91_ALPHABET[value % 91] + BASE91_ALPHABET[Math.floor(value / 91)];
    }
  }
  if (count > 0) {
    text += BASE91_ALPHABET[bits % 91];
    if (count > 7 || bits > 90) text += BASE91_ALPHABET[Math.floor(bits / 91)];
  }
  return text;
}
