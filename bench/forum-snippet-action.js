// Benchmark implementation (b): the approach of the community answer most teams paste today,
// reproduced for measurement. On every login it builds the official `auth0` SDK's
// ManagementClient (so every login asks for a new Management API token), reads one page of 50
// permissions, puts their names on both tokens, and logs and carries on when anything fails.
// Added as a dependency of the Action in the Auth0 editor: "auth0".
exports.onExecutePostLogin = async (event, api) => {
  const namespace = event.secrets.CLAIM_NAMESPACE;
  const { ManagementClient } = require('auth0');
  const management = new ManagementClient({
    domain: event.secrets.AUTH0_DOMAIN,
    clientId: event.secrets.AUTH0_CLIENT_ID,
    clientSecret: event.secrets.AUTH0_CLIENT_SECRET,
  });
  try {
    const roles = event.authorization ? event.authorization.roles : [];
    const { data } = await management.users.permissions.list(event.user.user_id, { per_page: 50, page: 0 });
    const permissions = data.map((p) => p.permission_name);
    api.idToken.setCustomClaim(`${namespace}/roles`, roles);
    api.idToken.setCustomClaim(`${namespace}/permissions`, permissions);
    api.accessToken.setCustomClaim(`${namespace}/roles`, roles);
    api.accessToken.setCustomClaim(`${namespace}/permissions`, permissions);
  } catch (error) {
    console.log(error);
  }
};
