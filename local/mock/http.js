// Small HTTP helpers shared by the mock tenant's route modules.
'use strict';

const MALFORMED = Symbol('malformed body');

/** A JSON answer. */
const json = (status, body, headers = {}) => ({ status, body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });

/** Auth0's Management API error shape. */
const apiError = (status, error, message, errorCode) => json(status, { statusCode: status, error, message, ...(errorCode ? { errorCode } : {}) });

/** The request body: JSON, form-encoded, undefined when empty, MALFORMED when unreadable. */
async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  if ((req.headers['content-type'] || '').includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  try {
    return JSON.parse(text);
  } catch {
    return MALFORMED;
  }
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

module.exports = { json, apiError, readBody, nowSeconds, MALFORMED };
