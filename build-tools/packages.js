// The two npm packages as users install them, built by bundle.js (./build.sh build):
//   dist/npm    auth0-rbac-claims        the Action as an Action dependency, and the claim reader
//   dist/tools  auth0-rbac-claims-tools  the local tool (run, serve, token, doctor, deploy, export)
// Their READMEs are generated from marked sections of the repository README, so the two cannot
// say different things: README.md holds `<!-- package-readme:begin NAME -->` … `<!-- package-readme:end
// NAME -->` around each section a package README takes, and the package's template
// (js-shim/npm/README.md, local/package/README.md) says where, with `<!-- include NAME -->`.
// The tools package is built from the repository's own local files, copied with their
// layout (what cli.js requires, followed file by file), beside the dist/action.js they run and
// deploy: the same code runs from a clone and from the package.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const RUNTIME_NAME = 'auth0-rbac-claims';
const TOOLS_NAME = 'auth0-rbac-claims-tools';
const TOOLS_ENTRY = 'local/cli.js';

/** The repository URL: written once, in Cargo.toml (`repository`), and copied from there. */
function repositoryUrl(root = ROOT) {
  const manifest = fs.readFileSync(path.join(root, 'Cargo.toml'), 'utf8');
  const m = /^repository = "([^"]+)"$/m.exec(manifest);
  if (!m) throw new Error('Cargo.toml has no repository: the npm packages take theirs from it');
  return m[1];
}

/** GitHub's heading anchors, which the README's own links use: lower case, punctuation dropped. */
function slug(heading) {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

/** Every marked section of a README: { NAME: text between its markers }. */
function readmeSections(readme) {
  const sections = {};
  const marker = /^<!-- package-readme:(begin|end) ([a-z0-9-]+) -->$/gm;
  let open = null;
  for (const m of readme.matchAll(marker)) {
    const [, kind, name] = m;
    if (kind === 'begin') {
      if (open) throw new Error(`README.md: package-readme section '${name}' begins inside '${open.name}'`);
      if (name in sections) throw new Error(`README.md: package-readme section '${name}' is marked twice`);
      open = { name, from: m.index + m[0].length };
    } else {
      if (!open || open.name !== name) throw new Error(`README.md: package-readme:end ${name} without its begin`);
      sections[name] = readme.slice(open.from, m.index).replace(/^\n+|\n+$/g, '');
      if (!sections[name]) throw new Error(`README.md: package-readme section '${name}' is empty`);
      open = null;
    }
  }
  if (open) throw new Error(`README.md: package-readme section '${open.name}' is never ended`);
  return sections;
}

/**
 * A package's README: its template with each `<!-- include NAME -->` line replaced by that
 * section of the repository README, `replace` ([search, replacement] pairs) applied to the
 * included text, and links made to work in the package: a link to a heading the package README
 * lacks becomes plain text that points to the project README; a link to a file is kept only if
 * the package ships it (`files`), else the build fails.
 */
function packageReadme({ readme, template, replace = [], files = [] }) {
  const sections = readmeSections(readme);
  let text = template.replace(/^<!-- include ([a-z0-9-]+) -->$/gm, (_, name) => {
    if (!(name in sections)) throw new Error(`package README template: no section '${name}' is marked in README.md`);
    return replace.reduce((t, [search, replacement]) => t.split(search).join(replacement), sections[name]);
  });
  const headings = new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1])));
  text = text.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (link, label, target) => {
    if (/^[a-z]+:/i.test(target)) return link;
    if (target.startsWith('#')) return headings.has(target.slice(1)) ? link : `${label}, in the project README`;
    if (files.includes(target)) return link;
    throw new Error(`package README: the link ${link} points to a file the package does not ship`);
  });
  return `${text.trimEnd()}\n`;
}

/** The repository's files `entry` requires, followed through relative requires: [relative path]. */
function requiredFiles(root, entry) {
  const seen = new Set();
  const visit = (file) => {
    const relative = path.relative(root, file);
    if (seen.has(relative)) return;
    seen.add(relative);
    const source = fs.readFileSync(file, 'utf8');
    for (const m of source.matchAll(/require\('(\.{1,2}\/[^']*)'\)/g)) {
      const target = path.resolve(path.dirname(file), m[1]);
      const candidates = [target, `${target}.js`, path.join(target, 'index.js')];
      const found = candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
      if (!found) throw new Error(`${relative}: cannot resolve require('${m[1]}')`);
      visit(found);
    }
  };
  visit(path.join(root, entry));
  return [...seen].sort();
}

/** package.json: name, version, the template's description and keywords, then the rest. */
function packageJson(name, version, template, rest = {}) {
  const { description, keywords, ...more } = template;
  return {
    name,
    version,
    description,
    keywords,
    license: 'MIT',
    repository: { type: 'git', url: `git+${repositoryUrl()}.git` },
    engines: { node: '>=20' },
    ...more,
    ...rest,
  };
}

/** dist/npm's package.json, README.md, CHANGELOG.md and LICENSE (its code is bundle.js's). */
function writeRuntimePackage({ npmDir, version, readme }) {
  const template = JSON.parse(fs.readFileSync(path.join(ROOT, 'js-shim', 'npm', 'package.json'), 'utf8'));
  const pkg = packageJson(RUNTIME_NAME, version, template);
  fs.writeFileSync(path.join(npmDir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  fs.writeFileSync(
    path.join(npmDir, 'README.md'),
    packageReadme({ readme, template: fs.readFileSync(path.join(ROOT, 'js-shim', 'npm', 'README.md'), 'utf8'), files: pkg.files }),
  );
  fs.copyFileSync(path.join(ROOT, 'CHANGELOG.md'), path.join(npmDir, 'CHANGELOG.md'));
  fs.copyFileSync(path.join(ROOT, 'LICENSE'), path.join(npmDir, 'LICENSE'));
}

/**
 * dist/tools: local's files that cli.js requires, at the same paths, and the Action they
 * run and deploy at dist/action.js (where sandbox.js looks for it), with the `auth0` SDK pinned as
 * in the repository's package.json.
 */
function writeToolsPackage({ distDir, version, readme }) {
  const toolsDir = path.join(distDir, 'tools');
  fs.rmSync(toolsDir, { recursive: true, force: true });
  const files = requiredFiles(ROOT, TOOLS_ENTRY);
  for (const file of files) {
    fs.mkdirSync(path.join(toolsDir, path.dirname(file)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, file), path.join(toolsDir, file));
  }
  fs.mkdirSync(path.join(toolsDir, 'dist'));
  fs.copyFileSync(path.join(distDir, 'action.js'), path.join(toolsDir, 'dist', 'action.js'));
  const dev = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).devDependencies;
  const template = JSON.parse(fs.readFileSync(path.join(ROOT, 'local', 'package', 'package.json'), 'utf8'));
  const pkg = packageJson(TOOLS_NAME, version, template, {
    bin: { [TOOLS_NAME]: TOOLS_ENTRY },
    files: [...files, 'dist/action.js', 'CHANGELOG.md', 'LICENSE'],
    dependencies: Object.fromEntries(Object.keys(template.dependencies).map((name) => {
      if (!dev[name]) throw new Error(`local/package/package.json: ${name} is not pinned in package.json`);
      return [name, dev[name]];
    })),
  });
  fs.writeFileSync(path.join(toolsDir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  fs.writeFileSync(
    path.join(toolsDir, 'README.md'),
    packageReadme({
      readme,
      template: fs.readFileSync(path.join(ROOT, 'local', 'package', 'README.md'), 'utf8'),
      replace: [['node local/cli.js', `npx ${TOOLS_NAME}`]],
      files: pkg.files,
    }),
  );
  fs.copyFileSync(path.join(ROOT, 'CHANGELOG.md'), path.join(toolsDir, 'CHANGELOG.md'));
  fs.copyFileSync(path.join(ROOT, 'LICENSE'), path.join(toolsDir, 'LICENSE'));
}

module.exports = {
  RUNTIME_NAME,
  TOOLS_NAME,
  TOOLS_ENTRY,
  packageReadme,
  readmeSections,
  repositoryUrl,
  requiredFiles,
  slug,
  writeRuntimePackage,
  writeToolsPackage,
};
