// The login stream's tenant: `users` users holding 1–3 of 20 roles, each role 10–49 permissions
// of the orders API (1–3 pages a user). Deterministic, built the same in the benchmark and in the
// mock's process.
'use strict';

const ROLES = 20;

function population(users) {
  const roles = Array.from({ length: ROLES }, (_, r) => ({
    name: `stream-role-${String(r).padStart(2, '0')}`,
    permissions: Array.from({ length: 10 + ((r * 13) % 40) }, (_, i) => `stream:r${r}-p${i}`),
  }));
  const list = Array.from({ length: users }, (_, u) => {
    const held = 1 + (u % 3);
    return { id: `stream|${String(u).padStart(5, '0')}`, roles: Array.from({ length: held }, (_, k) => roles[(u * 7 + k * 5) % ROLES].name) };
  });
  return { size: users, roles, users: list };
}

module.exports = { population };
