// The rules written on both sides, Rust and JavaScript, against one table (agreement.json; the
// Rust side is src/agreement.rs): the shim's log prefix and internal deny text, the sandbox's
// reserved hosts and claim byte count, and the npm package's grants checks.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { claimBytes, RESERVED_HOSTS, RESERVED_URN_PREFIX } = require('../local/sandbox');

const ROOT = path.join(__dirname, '..');
const table = JSON.parse(fs.readFileSync(path.join(__dirname, 'agreement.json'), 'utf8'));

test("the shim's log prefix and internal deny text are the module's", () => {
  const shim = fs.readFileSync(path.join(ROOT, 'js-shim', 'shim.mjs'), 'utf8');
  assert.ok(shim.includes(`\`${table.log_prefix} internal: `), 'the internal log line');
  assert.ok(shim.includes(`api.access.deny('${table.internal_deny}')`), 'the internal deny');
  // And the built file carries them.
  const built = fs.readFileSync(path.join(ROOT, 'dist', 'action.js'), 'utf8');
  assert.ok(built.includes(table.internal_deny));
});

test('the sandbox reserves the hosts the module refuses as namespaces', () => {
  assert.deepEqual(RESERVED_HOSTS, table.reserved_hosts);
  assert.equal(RESERVED_URN_PREFIX, table.reserved_urn_prefix);
});

test('the sandbox counts claim bytes as the module does', () => {
  for (const { claims, bytes } of table.claim_bytes) assert.equal(claimBytes(claims), bytes, JSON.stringify(claims));
});

test("the npm package's grants checks answer as the Rust reader's", () => {
  const { readGrants } = require(path.join(ROOT, 'dist', 'npm'));
  const namespace = 'https://myapp.example.com';
  for (const c of table.grants) {
    const grants = readGrants({ [`${namespace}/roles`]: c.roles, [`${namespace}/permissions`]: c.permissions }, { namespace });
    for (const [permission, held] of Object.entries(c.has_permission)) assert.equal(grants.hasPermission(permission), held, permission);
    for (const [role, held] of Object.entries(c.has_role)) assert.equal(grants.hasRole(role), held, role);
    for (const [asked, answer] of c.has_all) assert.equal(grants.hasAll(asked), answer, `hasAll ${asked}`);
    for (const [asked, answer] of c.has_any) assert.equal(grants.hasAny(asked), answer, `hasAny ${asked}`);
    for (const [asked, answer] of c.missing) assert.deepEqual(grants.missing(asked), answer, `missing ${asked}`);
  }
});
