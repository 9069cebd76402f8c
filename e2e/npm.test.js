// The npm packages as users get them. The runtime package: `npm pack dist/npm`, `npm install
// <tarball>` into a scratch app, then an Action that requires it, run through the Auth0-like
// sandbox against the mock tenant — with WebAssembly, and in a context that refuses it (the
// JavaScript translation); its size, metadata and README. The tools package: `npm pack
// dist/tools`, installed into another scratch app, then its `auth0-rbac-claims-tools` command
// (`run`, `token`, `deploy`) against the built-in mock tenant. Every install is offline: the
// runtime package has no dependencies, and the tools' `auth0` SDK comes from the npm cache
// `npm ci` filled, through a lockfile made from the repository's package-lock.json.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createRequire } = require('node:module');
const { execFileSync, execFile } = require('node:child_process');
const { promisify } = require('node:util');
const { startMockTenant } = require('../local/mock');
const { loadAction, createApi, makeEvent, builtinsOnly, DEFAULT_SHAPE } = require('../local/sandbox');
const { packageReadme, readmeSections, repositoryUrl, requiredFiles, RUNTIME_NAME, TOOLS_NAME, TOOLS_ENTRY } = require('../build-tools/packages');

const ROOT = path.join(__dirname, '..');
const NS = 'https://myapp.example.com';
const INTERNALS = Symbol.for('auth0-rbac-claims.internals');
const MAX_RUNTIME_UNPACKED = 600_000; // bytes: installed by every Action and backend that lists it
// The tools package's install takes a few seconds and does not depend on how the sandbox loads
// the Action: once per Node version, in the production shape.
const TOOLS = DEFAULT_SHAPE === 'production' ? {} : { skip: 'the tools package is tested in the production shape' };
let app;
let packageDir;
let tenant;
let packed; // `npm pack --json` of each package, by name

const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test.before(async () => {
  app = fs.mkdtempSync(path.join(os.tmpdir(), 'rbac-npm-'));
  const dirs = [path.join(ROOT, 'dist', 'npm'), ...(TOOLS.skip ? [] : [path.join(ROOT, 'dist', 'tools')])];
  packed = Object.fromEntries(JSON.parse(npm(['pack', ...dirs, '--pack-destination', app, '--json'], app)).map((p) => [p.name, p]));
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true }));
  npm(['install', '--no-audit', '--no-fund', '--offline', path.join(app, packed[RUNTIME_NAME].filename)], app);
  packageDir = path.join(app, 'node_modules', 'auth0-rbac-claims');
  tenant = await startMockTenant();
});
test.after(async () => {
  await tenant?.close();
  for (const dir of [app, toolsApp]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

// Auth0 resolves an Action's npm dependencies; the rest is built-ins only.
function withPackage(name) {
  return name === 'auth0-rbac-claims' ? createRequire(path.join(app, 'x.js'))(name) : builtinsOnly(name);
}

const secrets = () => tenant.secrets();

test('the tarball holds the package files, types and the .wasm', () => {
  const files = fs.readdirSync(packageDir).sort();
  assert.deepEqual(files, ['CHANGELOG.md', 'LICENSE', 'README.md', 'auth0_rbac_claims_bg.wasm.br', 'index.d.ts', 'index.js', 'package.json', 'translated.js']);
  const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
  assert.deepEqual([pkg.name, pkg.main, pkg.types], ['auth0-rbac-claims', 'index.js', 'index.d.ts']);
  assert.deepEqual(pkg.exports, { '.': { types: './index.d.ts', default: './index.js' }, './package.json': './package.json' });
  assert.equal(pkg.dependencies, undefined, 'the runtime package has no dependencies');
  assert.equal(pkg.license, 'MIT');
  assert.equal(pkg.repository.url, `git+${repositoryUrl()}.git`, 'the repository URL comes from Cargo.toml');
  assert.ok(pkg.keywords.includes('auth0') && pkg.keywords.includes('rbac'));
  assert.equal(pkg.version, /^version = "([^"]+)"$/m.exec(fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8'))[1]);
  const types = fs.readFileSync(path.join(packageDir, 'index.d.ts'), 'utf8');
  for (const name of ['onExecutePostLogin', 'postLogin', 'readGrants', 'hasPermission', 'requirePermissions', 'keepClaims', 'withPermissions', 'claimNames']) {
    assert.match(types, new RegExp(`export declare (const|function) ${name}\\b`), name);
  }
});

test('postLogin(options) in an Action: settings in code over the event\'s, through the sandbox', async () => {
  const source = `
    const { postLogin } = require('auth0-rbac-claims');
    exports.onExecutePostLogin = postLogin({ CLAIM_NAMESPACE: '${NS}', ROLES_IN: 'access_token' });
  `;
  const action = loadAction({ source, require: withPackage });
  const api = createApi();
  const event = makeEvent({ user: { user_id: 'auth0|three-perms' }, roles: ['viewer'], audience: tenant.apis.orders, secrets: { ...secrets(), CLAIM_NAMESPACE: 'https://ignored.example.com', ROLES_IN: 'id_token' } });
  const report = await action.execute('onExecutePostLogin', event, api);
  assert.deepEqual(JSON.parse(JSON.stringify(report)), { outcome: 'complete', codes: [] });
  const r = api.finish();
  assert.deepEqual(r.accessToken[`${NS}/roles`], ['viewer']);
  assert.deepEqual(r.accessToken[`${NS}/permissions`], ['read:customers', 'read:invoices', 'read:orders']);
  assert.equal(r.idToken[`${NS}/roles`], undefined, 'ROLES_IN from code wins');
  assert.throws(() => require(packageDir).postLogin('nope'), TypeError);
});

test('onExecutePostLogin of the package reads settings from the event', async () => {
  const source = "exports.onExecutePostLogin = require('auth0-rbac-claims').onExecutePostLogin;";
  const action = loadAction({ source, require: withPackage });
  const api = createApi();
  await action.execute('onExecutePostLogin', makeEvent({ user: { user_id: 'auth0|pm' }, roles: ['Project Manager'], audience: tenant.apis.projects, secrets: { ...secrets(), CLAIM_NAMESPACE: NS } }), api);
  assert.deepEqual(api.finish().accessToken[`${NS}/permissions`], ['read:project-list']);
});

test('in a runtime that refuses WebAssembly the package runs its JavaScript translation', async () => {
  const file = path.join(packageDir, 'index.js');
  // The package's index.js is loaded here as if it were the Action's own code, in a context
  // that refuses WebAssembly; only the context shape can refuse it (and gives `__dirname`, which
  // Node's module loader gives the package when an Action requires it).
  // translated.js is required only when the module cannot be compiled, not when the package loads.
  const requests = [];
  const recording = () => {
    const real = createRequire(file);
    return Object.assign((name) => (requests.push(name), real(name)), { resolve: real.resolve });
  };
  const action = loadAction({ filename: file, wasm: false, require: recording() });
  assert.ok(!requests.includes('./translated.js'), `required at load: ${requests}`);
  assert.equal(action.exports[INTERNALS].engine(), 'javascript');
  assert.ok(requests.includes('./translated.js'));
  const api = createApi();
  const report = await action.exports.postLogin({ CLAIM_NAMESPACE: NS })(makeEvent({ user: { user_id: 'auth0|big' }, roles: ['admin', 'editor'], audience: tenant.apis.admin, secrets: secrets() }), api);
  assert.equal(JSON.parse(JSON.stringify(report)).outcome, 'complete');
  assert.equal(api.finish().accessToken[`${NS}/permissions`].length, 30);
  requests.length = 0;
  const withWasm = loadAction({ filename: file, shape: 'context', require: recording() });
  assert.equal(withWasm.exports[INTERNALS].engine(), 'webassembly');
  assert.ok(!requests.includes('./translated.js'), `with WebAssembly: ${requests}`);
});

test('the reader exports read what the Action writes', () => {
  const pkg = require(packageDir);
  const payload = { [`${NS}/roles`]: ['Project Manager'], [`${NS}/permissions`]: ['read:project-list'], permissions: ['native:x'] };
  const grants = pkg.readGrants(payload, { namespace: `${NS}/` });
  assert.deepEqual(grants.permissions, ['native:x', 'read:project-list']);
  assert.ok(grants.hasAll(['read:project-list', 'native:x']));
  assert.ok(!grants.hasAny(['read:user-list']));
  assert.deepEqual(grants.missing(['read:user-list', 'read:project-list']), ['read:user-list']);
  assert.ok(grants.hasRole('Project Manager'));
  assert.ok(pkg.hasPermission(payload, 'read:project-list', { namespace: NS }));
  assert.deepEqual(pkg.claimNames({ namespace: 'urn:myapp:claims/' }), { roles: 'urn:myapp:claims/roles', permissions: 'urn:myapp:claims/permissions' });
  assert.throws(() => pkg.readGrants(payload, { namespace: 'https://auth0.com' }), (e) => e.code === 'config_invalid');
  assert.throws(() => pkg.readGrants(payload, {}), TypeError);
});

test(`the runtime package unpacks to at most ${MAX_RUNTIME_UNPACKED} bytes, its JavaScript minified`, () => {
  const { size, unpackedSize, files } = packed[RUNTIME_NAME];
  assert.ok(unpackedSize <= MAX_RUNTIME_UNPACKED, `unpacked ${unpackedSize} bytes (packed ${size})`);
  const installed = files.reduce((sum, f) => sum + fs.statSync(path.join(packageDir, f.path)).size, 0);
  assert.equal(installed, unpackedSize, 'npm pack counts what is installed');
  for (const file of ['index.js', 'translated.js']) {
    const text = fs.readFileSync(path.join(packageDir, file), 'utf8');
    assert.ok(text.split('\n').length < 20, `${file} is minified (${text.split('\n').length} lines)`);
    assert.match(text, /^\/\*! auth0-rbac-claims /, `${file} keeps its first comment (what it is, its revision)`);
  }
  // The .wasm is brotli-compressed: what index.js unpacks is the module the build optimised.
  const zlib = require('node:zlib');
  const wasm = zlib.brotliDecompressSync(fs.readFileSync(path.join(packageDir, 'auth0_rbac_claims_bg.wasm.br')));
  assert.ok(WebAssembly.validate(wasm));
  assert.ok(wasm.equals(fs.readFileSync(path.join(ROOT, 'target', 'shipped', 'npm', 'auth0_rbac_claims_opt.wasm'))));
});

test('ES modules import the runtime package by name, through its exports map', () => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `
    import { readGrants, postLogin, onExecutePostLogin, requirePermissions } from 'auth0-rbac-claims';
    import pkg from 'auth0-rbac-claims/package.json' with { type: 'json' };
    const grants = readGrants({ 'https://a.example.com/roles': ['r'] }, { namespace: 'https://a.example.com' });
    console.log(JSON.stringify([typeof postLogin, onExecutePostLogin.constructor.name, typeof requirePermissions, grants.roles, pkg.name]));
  `], { cwd: app, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), ['function', 'AsyncFunction', 'function', ['r'], 'auth0-rbac-claims']);
  // Only what the exports map names can be required by name.
  assert.throws(() => createRequire(path.join(app, 'x.js'))('auth0-rbac-claims/translated.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
});

// Each package's README is generated from the repository README's marked sections: the one in
// the tarball is exactly what the README gives now, and every section it names is in it.
function checkReadme(installedDir, template) {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const templateText = fs.readFileSync(path.join(ROOT, template), 'utf8');
  const files = JSON.parse(fs.readFileSync(path.join(installedDir, 'package.json'), 'utf8')).files;
  const replace = template.startsWith('local') ? [['node local/cli.js', `npx ${TOOLS_NAME}`]] : [];
  const shipped = fs.readFileSync(path.join(installedDir, 'README.md'), 'utf8');
  const generated = packageReadme({ readme, template: templateText, replace, files }).split('\n');
  const lines = shipped.split('\n');
  const at = lines.findIndex((line, i) => line !== generated[i]);
  assert.ok(at < 0 && lines.length === generated.length, `the packaged README is not what README.md gives now, from line ${at + 1}: ${JSON.stringify(lines[at])} where README.md gives ${JSON.stringify(generated[at])} (./build.sh build)`);
  const sections = readmeSections(readme);
  const names = [...templateText.matchAll(/^<!-- include ([a-z0-9-]+) -->$/gm)].map((m) => m[1]);
  assert.ok(names.length >= 2);
  for (const name of names) {
    const firstLine = sections[name].split('\n').find((line) => line.trim() && !line.includes('](')).replaceAll('node local/cli.js', `npx ${TOOLS_NAME}`);
    assert.ok(shipped.includes(firstLine), `section ${name} is in the packaged README`);
  }
  assert.doesNotMatch(shipped, /package-readme:|<!-- include/, 'no marker left');
  assert.doesNotMatch(shipped, /\]\((?!https?:|#|CHANGELOG\.md\))/, 'no link to a file the package lacks');
  return shipped;
}

test('the runtime README is the user\'s documentation, generated from README.md', () => {
  const shipped = checkReadme(packageDir, 'js-shim/npm/README.md');
  for (const heading of ['## As an Action dependency', '## Settings', '## Error codes', '## Checking the claims in your backend', '## Limits', '## Versioning']) {
    assert.ok(shipped.includes(`\n${heading}\n`), heading);
  }
  assert.match(shipped, /require\('auth0-rbac-claims'\)/);
});

test('the README generator refuses what would break a package README', () => {
  const readme = '# R\n<!-- package-readme:begin a -->\n## A\nsee [B](#b) and [the log](CHANGELOG.md) and [x](docs/x.md)\n<!-- package-readme:end a -->\n## B\n';
  assert.throws(() => packageReadme({ readme, template: '<!-- include a -->', files: ['CHANGELOG.md'] }), /docs\/x\.md/);
  const ok = packageReadme({ readme: readme.replace(' and [x](docs/x.md)', ''), template: '<!-- include a -->', files: ['CHANGELOG.md'] });
  assert.equal(ok, '## A\nsee B, in the project README and [the log](CHANGELOG.md)\n');
  assert.throws(() => packageReadme({ readme, template: '<!-- include nope -->' }), /no section 'nope'/);
  assert.throws(() => readmeSections('<!-- package-readme:begin a -->\ntext\n'), /never ended/);
  assert.throws(() => readmeSections('<!-- package-readme:begin a -->\n<!-- package-readme:end a -->\n'), /empty/);
});

// --- the tools package ---------------------------------------------------------------------------

let toolsApp;
// The tools package installed from its tarball into a scratch app, offline: its dependencies'
// lockfile entries (version and integrity) come from the repository's package-lock.json, so npm
// takes them from the cache `npm ci` filled instead of asking a registry.
function installTools() {
  if (toolsApp) return toolsApp;
  toolsApp = fs.mkdtempSync(path.join(os.tmpdir(), 'rbac-tools-'));
  const tarball = path.join(app, packed[TOOLS_NAME].filename);
  const tools = JSON.parse(execFileSync('tar', ['-xOzf', tarball, 'package/package.json'], { encoding: 'utf8' }));
  const repoLock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')).packages;
  const packages = { '': { name: 'scratch-tools' } };
  const visit = (from, name, spec) => {
    // Node's resolution: the nearest node_modules/<name> from `from` upward.
    let at = from;
    for (;;) {
      const key = `${at ? `${at}/` : ''}node_modules/${name}`;
      if (repoLock[key]) {
        if (spec && !packages[key] && /^\d+\.\d+\.\d+$/.test(spec)) assert.equal(repoLock[key].version, spec, `${name} is pinned as in package.json`);
        if (packages[key]) return;
        const { dev, ...entry } = repoLock[key];
        packages[key] = entry;
        for (const dep of Object.keys(entry.dependencies || {})) visit(key, dep);
        return;
      }
      if (!at) throw new Error(`${name} is not in package-lock.json`);
      at = at.includes('/node_modules/') ? at.slice(0, at.lastIndexOf('/node_modules/')) : '';
    }
  };
  for (const [name, spec] of Object.entries(tools.dependencies)) visit('', name, spec);
  fs.writeFileSync(path.join(toolsApp, 'package.json'), JSON.stringify({ name: 'scratch-tools', private: true }));
  fs.writeFileSync(path.join(toolsApp, 'package-lock.json'), JSON.stringify({ name: 'scratch-tools', lockfileVersion: 3, requires: true, packages }));
  try {
    npm(['install', '--no-audit', '--no-fund', '--offline', tarball], toolsApp);
  } catch (error) {
    if (!/ENOTCACHED/.test(error.stderr)) throw error;
    throw new Error(`the npm cache lacks a dependency of the tools package (${Object.keys(packages).slice(1).join(', ')}): \`npm ci\` in the repository fills it\n${error.stderr}`);
  }
  return toolsApp;
}

async function tools(args) {
  const bin = path.join(installTools(), 'node_modules', '.bin', TOOLS_NAME);
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], { cwd: toolsApp, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    return { code: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}

test('the tools package: a bin, local as it is in the repository, the Action, the auth0 SDK pinned', TOOLS, () => {
  const dir = path.join(installTools(), 'node_modules', TOOLS_NAME);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  assert.deepEqual(pkg.bin, { [TOOLS_NAME]: TOOLS_ENTRY });
  assert.deepEqual(pkg.dependencies, { auth0: JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).devDependencies.auth0 });
  assert.equal(pkg.repository.url, `git+${repositoryUrl()}.git`);
  assert.equal(pkg.license, 'MIT');
  const local = requiredFiles(ROOT, TOOLS_ENTRY);
  assert.ok(local.includes('local/mock/index.js') && local.includes('local/deploy.js'));
  for (const file of [...local, 'dist/action.js']) {
    assert.ok(fs.readFileSync(path.join(dir, file)).equals(fs.readFileSync(path.join(ROOT, file))), `${file} is the repository's`);
  }
  assert.equal(require(path.join(toolsApp, 'node_modules', 'auth0', 'package.json')).version, pkg.dependencies.auth0);
  checkReadme(dir, 'local/package/README.md');
});

test('npx auth0-rbac-claims-tools run --user: claims from the built-in mock tenant, offline', TOOLS, async () => {
  installTools();
  const out = execFileSync('npx', ['--offline', '--no-install', TOOLS_NAME, 'run', '--user', 'auth0|three-perms', '--audience', 'https://orders.example.com'], { cwd: toolsApp, encoding: 'utf8' });
  assert.match(out, /^auth0\|three-perms \(audience https:\/\/orders\.example\.com\): complete in /);
  assert.match(out, /access_token: 126 bytes of custom claims/);
  assert.match(out, /https:\/\/myapp\.example\.com\/permissions = \[read:customers, read:invoices, read:orders\]/);
  const r = await tools(['run', '--user', 'auth0|big', '--audience', 'https://orders.example.com', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.denied, null);
  assert.deepEqual(result.tokens.access_token.claims[`${NS}/roles`], ['admin', 'editor']);
  assert.equal(result.tokens.access_token.claims[`${NS}/permissions`].length, 56);
  const help = await tools(['--help']);
  assert.match(help.stdout, /^usage: auth0-rbac-claims-tools <command>/);
  const denied = await tools(['run', '--user', 'auth0|three-perms', '--set', 'CLAIM_NAMESPACE=https://x.auth0.com']);
  assert.equal(denied.code, 1, 'a denied login exits 1');
  assert.match(denied.stdout, /config_invalid/);
});

test('auth0-rbac-claims-tools token: tokens signed by the mock tenant with the Action\'s claims', TOOLS, async () => {
  const r = await tools(['token', '--user', 'auth0|pm', '--audience', 'https://projects.example.com/api']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const payload = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
  const access = payload(out.access_token);
  assert.equal(access.sub, 'auth0|pm');
  assert.equal(access.aud, 'https://projects.example.com/api');
  assert.equal(access.iss, out.issuer);
  assert.deepEqual(access[`${NS}/roles`], ['Project Manager']);
  assert.deepEqual(access[`${NS}/permissions`], ['read:project-list']);
  assert.deepEqual(payload(out.id_token)[`${NS}/roles`], ['Project Manager']);
  // What a backend reads from it, with the runtime package's reader.
  assert.ok(require(packageDir).readGrants(access, { namespace: NS }).hasAll(['read:project-list']));
});

test('auth0-rbac-claims-tools deploy: the auth0 SDK it depends on deploys its Action to the mock tenant', TOOLS, async () => {
  const r = await tools(['deploy']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Action 'auth0-rbac-claims' \(.+\) deployed as version 1; binding added after the existing ones/);
  assert.match(r.stdout, /POST \/api\/v2\/actions\/actions → 201/);
});
