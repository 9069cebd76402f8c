// RS256 JSON Web Tokens for the mock tenant: Management API tokens, and dev access/ID tokens that
// backends verify against the tenant's JWKS. node:crypto only.
'use strict';

const crypto = require('node:crypto');
const { promisify } = require('node:util');

const b64url = (data) => Buffer.from(data).toString('base64url');

// The key pair is generated asynchronously: Node 20's generateKeyPairSync can deadlock when a
// garbage collection runs inside it (seen here: the process hung in the key job's destructor).
async function createSigner() {
  const { privateKey, publicKey } = await promisify(crypto.generateKeyPair)('rsa', { modulusLength: 2048 });
  const kid = crypto.randomBytes(8).toString('hex');
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
  return {
    kid,
    jwks: () => ({ keys: [jwk] }),
    sign(payload) {
      const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }));
      const body = b64url(JSON.stringify(payload));
      const signature = crypto.sign('sha256', Buffer.from(`${head}.${body}`), privateKey);
      return `${head}.${body}.${b64url(signature)}`;
    },
  };
}

module.exports = { createSigner };
