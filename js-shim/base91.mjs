// basE91 (Joachim Henke's scheme: 13 or 14 bits as two characters of a 91-character alphabet),
// with an alphabet of printable ASCII that needs no escape in a JavaScript string literal in
// either quote: no quotes, no backslash, no space. Binary then fits a string literal with about
// 23 % overhead (Z85: 25 %; base64: 33 %): 1.5 kB less of dist/action.js than Z85.
// The bundler keeps the decoder in dist/action.js; the encoder runs at build time only (unused by
// the Action, so the bundler leaves it out).

export const BASE91_ALPHABET = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i))
  .filter((c) => c !== '"' && c !== "'" && c !== '\\')
  .join('');

/** Decodes basE91 `text` (BASE91_ALPHABET) into bytes. */
export function base91Decode(text) {
  const digit = new Uint8Array(128);
  for (let i = 0; i < 91; i++) digit[BASE91_ALPHABET.charCodeAt(i)] = i;
  const out = new Uint8Array(text.length);
  let o = 0;
  let bits = 0;
  let count = 0;
  let value = -1;
  for (let i = 0; i < text.length; i++) {
    const d = digit[text.charCodeAt(i)];
    if (value < 0) {
      value = d;
      continue;
    }
    value += d * 91;
    bits |= value << count;
    count += (value & 8191) > 88 ? 13 : 14;
    do {
      out[o++] = bits & 255;
      bits >>>= 8;
      count -= 8;
    } while (count > 7);
    value = -1;
  }
  if (value >= 0) out[o++] = (bits | (value << count)) & 255;
  return out.subarray(0, o);
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
