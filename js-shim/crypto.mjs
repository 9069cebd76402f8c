// The cryptography the module asks of the runtime, over Node's `crypto` (a built-in a pasted
// Action may require): keys derived from the Action's client secret with HKDF-SHA256, one per
// purpose; HMAC-SHA256 for the permissions cache stored in app_metadata; AES-256-GCM for the
// Management API token kept in api.cache, which every Action of the trigger can read.
import { Buffer } from 'buffer';
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'crypto';

const key = (secret, purpose) => Buffer.from(hkdfSync('sha256', secret, 'auth0-rbac-claims', purpose, 32));

/** What the module's `actionCrypto` imports call (src/edge.rs). */
export const actionCrypto = {
  mac: (secret, purpose, data) => createHmac('sha256', key(secret, purpose)).update(data).digest('base64url'),
  seal(secret, purpose, plaintext) {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key(secret, purpose), iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  },
  open(secret, purpose, sealed) {
    try {
      const bytes = Buffer.from(sealed, 'base64url');
      // The whole 16-byte tag, or nothing: GCM would check a shorter one, and a shorter one is
      // that much easier to forge.
      if (bytes.length < 28) return undefined;
      const decipher = createDecipheriv('aes-256-gcm', key(secret, purpose), bytes.subarray(0, 12), { authTagLength: 16 });
      decipher.setAuthTag(bytes.subarray(12, 28));
      return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      return undefined; // another key, an edit, or not ours at all
    }
  },
};
