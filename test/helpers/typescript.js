'use strict';

// Type checks with the repository's TypeScript (a devDependency): tsc on a project, and throwaway
// projects laid out as a user's would be, against any of the @types/node versions the
// devDependencies install (test/types-node-versions.test.js, test/types-readme.test.js).

const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFile } = require('node:child_process');

const REPO = path.join(__dirname, '..', '..');
const MODULES = path.join(REPO, 'node_modules');
// typescript's "exports" hide bin/, so the launcher is found by path.
const TSC = path.join(MODULES, 'typescript', 'bin', 'tsc');
const TSC_TIMEOUT_MS = 120_000;

// The @types/node majors users may have, and where package.json's devDependencies install each:
// the newest as @types/node itself, the others under npm aliases ("@types/node20": "npm:@types/node@^20").
const TYPES_NODE = { 20: '@types/node20', 22: '@types/node22', 24: '@types/node24', 26: '@types/node' };

/** `tsc --noEmit -p project`: resolves with the exit code and everything it printed. */
function tsc(project, cwd = REPO) {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSC, '--noEmit', '--pretty', 'false', '-p', project], {
      cwd,
      timeout: TSC_TIMEOUT_MS,
    }, (error, stdout, stderr) => resolve({ code: error ? error.code ?? error.signal : 0, output: stdout + stderr }));
  });
}

/** The installed @types/node of a major (its directory), checked to be that major. */
function typesNodeDir(major) {
  const dir = path.join(MODULES, ...TYPES_NODE[major].split('/'));
  const manifest = path.join(dir, 'package.json');
  assert.ok(fs.existsSync(manifest), `${TYPES_NODE[major]} is not installed: run \`npm install\` (package.json devDependencies)`);
  const { name, version } = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  assert.strictEqual(name, '@types/node', `${dir} holds ${name}`);
  assert.strictEqual(Number(version.split('.')[0]), major, `${dir} holds @types/node ${version}`);
  return dir;
}

// The package's type files as npm would install them: package.json, and every .d.ts / .d.mts /
// .d.cts among the paths its "files" names.
function copyPackageTypes(to) {
  const manifest = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
  const isTypes = (name) => /\.d\.[cm]?ts$/.test(name);
  const copy = (relative) => {
    const from = path.join(REPO, relative);
    if (!fs.existsSync(from)) return;
    if (fs.statSync(from).isDirectory()) {
      for (const entry of fs.readdirSync(from)) copy(path.join(relative, entry));
    } else if (isTypes(relative)) {
      fs.mkdirSync(path.dirname(path.join(to, relative)), { recursive: true });
      fs.copyFileSync(from, path.join(to, relative));
    }
  };
  for (const entry of manifest.files) copy(entry.replace(/\/$/, ''));
  fs.writeFileSync(path.join(to, 'package.json'), JSON.stringify(manifest, null, 2));
}

/**
 * A throwaway project in a temporary directory: node_modules/turbo-dgram holds the package's type
 * files, node_modules/@types/node links to the devDependency of that major, and `files` (name ->
 * text) are its sources, type-checked with `--strict` (and JavaScript too: checkJs), every file a
 * module. Returns the directory; remove it with removeProject().
 */
function makeProject(typesNodeMajor, files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `turbo-dgram-types-node${typesNodeMajor}-`));
  const modules = path.join(dir, 'node_modules');
  fs.mkdirSync(path.join(modules, '@types'), { recursive: true });
  fs.symlinkSync(typesNodeDir(typesNodeMajor), path.join(modules, '@types', 'node'), 'dir');
  copyPackageTypes(path.join(modules, 'turbo-dgram'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'a-user', private: true, type: 'commonjs' }));
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true,
      noEmit: true,
      allowJs: true,
      checkJs: true,
      module: 'nodenext',
      moduleResolution: 'nodenext',
      moduleDetection: 'force',
      target: 'es2022',
      types: ['node'],
      skipLibCheck: false,
    },
    files: Object.keys(files),
  }, null, 2));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

function removeProject(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** tsc on a throwaway project (makeProject's arguments), removed afterwards. */
async function checkProject(typesNodeMajor, files) {
  const dir = makeProject(typesNodeMajor, files);
  try {
    return await tsc(path.join(dir, 'tsconfig.json'), dir);
  } finally {
    removeProject(dir);
  }
}

module.exports = { REPO, TYPES_NODE, TSC_TIMEOUT_MS, checkProject, tsc };
