// Seeded tenant data: APIs, roles with their permissions, users. Deterministic, so tests can
// compute exactly what a user should get (expectedPermissions in index.js).
'use strict';

const APIS = {
  orders: 'https://orders.example.com',
  reports: 'https://reports.example.com',
  admin: 'https://admin.example.com',
  projects: 'https://projects.example.com/api',
};

const API_NAMES = {
  [APIS.orders]: 'Orders API',
  [APIS.reports]: 'Reports API',
  [APIS.admin]: 'Admin API',
  [APIS.projects]: 'Projects API',
};

const range = (n, f) => Array.from({ length: n }, (_, i) => f(i));
const pad = (i) => String(i).padStart(2, '0');
const perms = (api, names) => names.map((name) => ({ api, name }));

// Role name → permissions. `admin` and `editor` overlap on 20 orders permissions, and
// `read:settings` exists in two APIs, so the big user's listing has duplicates and a shared name.
const ROLES = {
  viewer: perms(APIS.orders, ['read:orders', 'read:customers', 'read:invoices']),
  admin: [
    ...perms(APIS.orders, range(50, (i) => `orders:op-${pad(i)}`)),
    ...perms(APIS.admin, [...range(29, (i) => `admin:task-${pad(i)}`), 'read:settings']),
  ],
  editor: [
    ...perms(APIS.orders, range(25, (i) => `orders:op-${pad(i + 30)}`)), // op-30…op-54: 20 shared with admin
    ...perms(APIS.reports, range(40, (i) => `reports:edit-${pad(i)}`)),
  ],
  analyst: perms(APIS.reports, ['read:reports', 'export:reports']),
  Administrator: perms(APIS.projects, ['read:project-list', 'read:user-list']),
  'Project Manager': perms(APIS.projects, ['read:project-list']),
  ...Object.fromEntries(range(12, (t) => [`team-${pad(t)}`, perms(APIS.orders, range(5, (i) => `team-${pad(t)}:task-${i}`))])),
};

function user(user_id, given_name, family_name, roles, directPermissions = []) {
  const local = user_id.replace(/[^a-z0-9]+/gi, '.').replace(/^\.|\.$/g, '').toLowerCase();
  return {
    user_id,
    email: `${local}@example.com`,
    name: `${given_name} ${family_name}`,
    given_name,
    family_name,
    roles,
    directPermissions,
  };
}

const USERS = [
  user('auth0|no-roles', 'Nora', 'Noroles', []),
  user('auth0|three-perms', 'Theo', 'Three', ['viewer']),
  user('auth0|big', 'Bea', 'Big', ['admin', 'editor'], [
    ...perms(APIS.reports, ['reports:edit-00', 'reports:edit-01', 'reports:audit', 'reports:share', 'reports:schedule']),
    ...perms(APIS.orders, ['read:settings']),
  ]),
  user('oauth2|corp-sso|jane/doe ?x', 'Jane', 'Doe', ['analyst']),
  user('auth0|admin', 'Ada', 'Admin', ['Administrator']),
  user('auth0|pm', 'Pat', 'Manager', ['Project Manager']),
  user('auth0|many-roles', 'Manu', 'Roles', range(12, (t) => `team-${pad(t)}`)),
];

// Organizations and the roles each member holds there. Through org_acme, auth0|big (admin and
// editor tenant-wide) is only a viewer: a login through it must get viewer's permissions only.
const ORGANIZATIONS = {
  org_acme: { name: 'acme', members: { 'auth0|big': ['viewer'], 'auth0|three-perms': ['viewer', 'analyst'] } },
};

module.exports = { APIS, API_NAMES, ROLES, USERS, ORGANIZATIONS };
