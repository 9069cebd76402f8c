// ./build.sh demo: the Action (dist/action.js, in the Auth0-like sandbox) against the built-in mock
// tenant, for each seeded user; per token the claims and their bytes, the requests, the time.
'use strict';

const { startMockTenant } = require('./mock');
const { createInstance, runLogin, formatLogin } = require('./runner');

const NAMESPACE = 'https://myapp.example.com';

async function main() {
  const tenant = await startMockTenant();
  try {
    const settings = tenant.secrets({ CLAIM_NAMESPACE: NAMESPACE });
    const instance = createInstance();
    console.log(`mock tenant ${tenant.url}; one Action instance; settings: CLAIM_NAMESPACE=${NAMESPACE}, AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET`);
    for (const user of Object.values(tenant.users)) {
      // Each user's own API as the audience (the first it holds a permission of).
      const audience = tenant.expectedPermissions(user.user_id)[0]?.resource_server_identifier ?? tenant.apis.orders;
      const result = await runLogin(instance, { userId: user.user_id, user, roles: user.roles, audience, settings });
      console.log(`\n${formatLogin(`${user.user_id} (audience ${audience})`, result)}`);
    }
    const big = tenant.users['auth0|big'];
    const again = await runLogin(instance, { userId: big.user_id, user: big, roles: big.roles, settings });
    console.log(`\n${formatLogin(`${big.user_id} again, no audience (steady state: cached token)`, again)}`);
    console.log(`\ntoken requests for ${Object.keys(tenant.users).length + 1} logins: ${tenant.count('token')}`);
  } finally {
    await tenant.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
