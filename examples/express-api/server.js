// Example API: two endpoints protected by express-oauth2-jwt-bearer (signature, issuer, audience,
// expiry, against the tenant's JWKS) and by auth0-rbac-claims' permission check, which reads the
// claims the Action wrote with the same layout.
//
//   ISSUER_BASE_URL=https://dev-abc.us.auth0.com AUDIENCE=https://projects.example.com/api \
//   CLAIM_NAMESPACE=https://myapp.example.com node server.js
'use strict';

const express = require('express');
const { auth } = require('express-oauth2-jwt-bearer');
const { requirePermissions } = require('auth0-rbac-claims');

function createApp({ issuerBaseURL, audience, namespace }) {
  const app = express();
  const options = { namespace };
  // Every /api route needs a valid access token for this API…
  app.use('/api', auth({ issuerBaseURL, audience, tokenSigningAlg: 'RS256' }));
  // …and each endpoint its permission.
  app.get('/api/v1/projects', requirePermissions(['read:project-list'], options), (req, res) => {
    res.json({ projects: [{ id: 1, name: 'Apollo' }] });
  });
  app.get('/api/v1/users', requirePermissions(['read:user-list'], options), (req, res) => {
    res.json({ users: [{ id: 'auth0|admin' }] });
  });
  // express-oauth2-jwt-bearer reports invalid tokens as errors with a status and headers.
  app.use((error, req, res, next) => {
    if (!error.status) return next(error);
    res.status(error.status).set(error.headers || {}).json({ error: error.code || 'invalid_token', error_description: error.message });
  });
  return app;
}

module.exports = { createApp };

if (require.main === module) {
  const app = createApp({
    issuerBaseURL: process.env.ISSUER_BASE_URL,
    audience: process.env.AUDIENCE,
    namespace: process.env.CLAIM_NAMESPACE,
  });
  const port = Number(process.env.PORT || 3001);
  app.listen(port, () => console.log(`example API on http://localhost:${port}`));
}
