'use strict';

// The package as a user gets it. `npm pack` here (its prepack script builds the prebuilt addon
// with zig: scripts/prebuild.sh), then `npm install <tarball>` into a fresh project on what looks
// like a machine without Rust (PATH without cargo, HOME and CARGO_HOME elsewhere). The app
// requires turbo-dgram, moves a datagram, and runs under the drop-in hook; the shipped addon needs
// no glibc newer than 2.17. Then a platform without a prebuild: the app still runs on the builtin
// with one warning, and the source build (`npm explore turbo-dgram -- npm run build`) says what is
// missing without cargo and works with it, leaving a small stripped package; the bench then builds
// its load generator on first use. Hand-written expectations: node:dgram has no package.
// One tarball for every case. Loopback only; every child is bounded in time.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');

const REPO = path.join(__dirname, '..');
const PREBUILD = path.join('prebuilds', 'linux-x64', 'turbo-dgram.glibc.node');
const MAX_GLIBC = [2, 17];

const PACK_TIMEOUT_MS = 10 * 60_000;     // the zig build from nothing on a 2-core machine
const SOURCE_BUILD_TIMEOUT_MS = 10 * 60_000;
const NPM_TIMEOUT_MS = 120_000;
const APP_TIMEOUT_MS = 20_000;

// Moves one datagram between two turbo-dgram sockets and prints which implementation it got.
const APP = `'use strict';
const turbo = require('turbo-dgram');
const a = turbo.createSocket('udp4');
const b = turbo.createSocket('udp4');
b.on('message', (msg, rinfo) => {
  console.log(JSON.stringify({ implementation: turbo.implementation, msg: String(msg), fromA: rinfo.port === a.address().port }));
  a.close();
  b.close();
});
b.bind(0, '127.0.0.1', () => a.bind(0, '127.0.0.1', () => a.send('ping', b.address().port, '127.0.0.1')));
`;

// Under \`node -r turbo-dgram/register\`: both spellings of dgram are turbo-dgram, and carry a datagram.
const HOOKED_APP = `'use strict';
const dgram = require('dgram');
const nodeDgram = require('node:dgram');
const turbo = require('turbo-dgram');
const s = dgram.createSocket('udp4');
s.on('message', (msg) => {
  console.log(JSON.stringify({ dgram: dgram === turbo, nodeDgram: nodeDgram === turbo, turboSocket: s instanceof turbo.Socket, implementation: turbo.implementation, msg: String(msg) }));
  s.close();
});
s.bind(0, '127.0.0.1', () => s.send('hook', s.address().port, '127.0.0.1'));
`;

/** The environment of a machine without Rust: no cargo on PATH, nothing under HOME or CARGO_HOME. */
function envWithoutRust(home) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    // An outer `npm test` leaves its own settings and lifecycle state; the user's npm has none.
    if (key.startsWith('npm_') || key.startsWith('CARGO') || key.startsWith('RUSTUP')) continue;
    env[key] = value;
  }
  env.PATH = process.env.PATH.split(path.delimiter)
    .filter((dir) => dir && !fs.existsSync(path.join(dir, 'cargo')))
    .join(path.delimiter);
  env.HOME = home;
  env.CARGO_HOME = path.join(home, '.cargo');
  env.RUSTUP_HOME = path.join(home, '.rustup');
  env.npm_config_cache = path.join(home, '.npm');
  return env;
}

/** This machine's environment, as a developer's shell has it (cargo, zig), without an outer npm's. */
function envWithRust(home) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('npm_')) env[key] = value;
  }
  env.npm_config_cache = path.join(home, '.npm');
  return env;
}

/** The same for the source build in the installed copy, as a user runs it: no CARGO_TARGET_DIR,
 * so native-build.sh builds in a temporary directory of its own, here under `tmp` (TMPDIR), where
 * the test can see that it is gone afterwards. */
function envForSourceBuild(home, tmp) {
  const env = { ...envWithRust(home), TMPDIR: tmp };
  delete env.CARGO_TARGET_DIR;
  return env;
}

/** For the bench's build of its load generator: cargo's output in a directory of its own, kept
 * between runs under the repository's git-ignored target/ (only the first run compiles the
 * dependencies; the repository's own build is left alone). */
const LOADGEN_TARGET_DIR = path.join(REPO, 'target', 'install-test');
function envForLoadgenBuild(home) {
  return { ...envWithRust(home), CARGO_TARGET_DIR: LOADGEN_TARGET_DIR };
}

/** Disk use of a directory tree in bytes, as du counts it (allocated blocks, links not followed). */
function diskUsage(dir) {
  let bytes = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    bytes += fs.lstatSync(full).blocks * 512;
    if (entry.isDirectory()) bytes += diskUsage(full);
  }
  return bytes;
}

/** The section names of an ELF file, from readelf (binutils). */
function elfSections(file) {
  const result = runOk('readelf', ['--section-headers', '--wide', file], { timeout: 30_000 });
  return [...result.stdout.matchAll(/^\s*\[\s*\d+\]\s+(\S+)/gm)].map((m) => m[1]);
}

/** A user's source build is stripped: no debug info and no symbol table (the dynamic symbols the
 * addon exports stay in .dynsym). */
function assertStripped(file) {
  const sections = elfSections(file);
  assert.ok(sections.includes('.dynsym'), `${file}: sections ${sections}`);
  const kept = sections.filter((name) => name.startsWith('.debug') || name === '.symtab');
  assert.deepStrictEqual(kept, [], `${file} is stripped`);
}

const MAX_INSTALL_BYTES = 20 * 1024 * 1024;

function run(command, args, options) {
  const result = spawnSync(command, args, { encoding: 'utf8', killSignal: 'SIGKILL', ...options });
  if (result.error) throw result.error;
  return result;
}

function runOk(command, args, options) {
  const result = run(command, args, options);
  assert.strictEqual(result.status, 0,
    `${command} ${args.join(' ')} exited ${result.status}\n${result.stdout}\n${result.stderr}`);
  return result;
}

function runApp(cwd, env, args) {
  const result = runOk(process.execPath, args, { cwd, env, timeout: APP_TIMEOUT_MS });
  return { report: JSON.parse(result.stdout.trim().split('\n').pop()), stderr: result.stderr };
}

function fallbackWarnings(stderr) {
  return stderr.split('\n').filter((line) => line.includes('[TURBO_DGRAM_FALLBACK]'));
}

/** The highest GLIBC_x.y symbol version a shared object asks for, from objdump or readelf. */
function highestGlibc(file) {
  const tools = [['objdump', ['-T', file]], ['readelf', ['--dyn-syms', '--wide', file]]];
  for (const [tool, args] of tools) {
    const result = spawnSync(tool, args, { encoding: 'utf8', timeout: 30_000 });
    if (result.error || result.status !== 0) continue;
    const versions = [...result.stdout.matchAll(/GLIBC_(\d+)\.(\d+)(?:\.(\d+))?/g)]
      .map((m) => [Number(m[1]), Number(m[2]), Number(m[3] || 0)]);
    assert.ok(versions.length > 0, `${tool} lists no GLIBC_ symbol versions in ${file}`);
    versions.sort((x, y) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2]);
    return versions[versions.length - 1];
  }
  throw new Error('neither objdump nor readelf runs here (binutils): cannot read the addon\'s symbol versions');
}

let work;      // temporary directory for everything below
let tarball;   // the packed package, shared by every case
let packedFiles;

before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-dgram-install-'));
  fs.mkdirSync(path.join(work, 'home'));
  const packDir = path.join(work, 'pack');
  fs.mkdirSync(packDir);
  // What `npm publish` would upload; prepack makes prebuilds/ (needs zig: pip install ziglang cargo-zigbuild).
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', packDir], {
    cwd: REPO, encoding: 'utf8', env: envWithRust(path.join(work, 'home')),
    timeout: PACK_TIMEOUT_MS, killSignal: 'SIGKILL', stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [info] = JSON.parse(out.slice(out.indexOf('[')));
  tarball = path.join(packDir, info.filename);
  packedFiles = info.files.map((f) => f.path);
}, { timeout: PACK_TIMEOUT_MS + 30_000 });

after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** A fresh project with the tarball installed, without Rust; returns its directory. */
function installFresh(name) {
  const project = path.join(work, name);
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
  fs.writeFileSync(path.join(project, 'app.js'), APP);
  fs.writeFileSync(path.join(project, 'hooked-app.js'), HOOKED_APP);
  const env = envWithoutRust(path.join(work, 'home'));
  const result = runOk('npm', ['install', tarball, '--offline', '--no-audit', '--no-fund'],
    { cwd: project, env, timeout: NPM_TIMEOUT_MS });
  // No install script at all: nothing for npm to ask approval for, nothing built.
  assert.doesNotMatch(result.stdout + result.stderr, /install-scripts|native-build|cargo/);
  return project;
}

/** Both apps run on turbo-dgram's addon, silently: plain, and under the drop-in hook. */
function assertRunsOnTurbo(project, env) {
  const plain = runApp(project, env, ['app.js']);
  assert.deepStrictEqual(plain.report, { implementation: 'turbo-dgram', msg: 'ping', fromA: true });
  assert.strictEqual(plain.stderr, '');
  const hooked = runApp(project, env, ['-r', 'turbo-dgram/register', 'hooked-app.js']);
  assert.deepStrictEqual(hooked.report,
    { dgram: true, nodeDgram: true, turboSocket: true, implementation: 'turbo-dgram', msg: 'hook' });
  assert.strictEqual(hooked.stderr, '');
}

test('the tarball holds what a user needs and nothing else', () => {
  for (const file of ['LICENSE', 'README.md', 'package.json', 'index.d.ts', 'lib/index.js', 'lib/register.js', PREBUILD, 'native-build.sh', 'Cargo.toml', 'Cargo.lock', 'src/lib.rs', 'bin/turbo-dgram-bench']) {
    assert.ok(packedFiles.includes(file), `${file} is packed`);
  }
  const unwanted = packedFiles.filter((f) => /^(test|tests|target|build|scripts|docs|\.ci|node_modules)\//.test(f));
  assert.deepStrictEqual(unwanted, []);
});

test('installed without Rust: the prebuilt addon loads, moves a datagram, and the hook takes both spellings', { timeout: 3 * NPM_TIMEOUT_MS }, () => {
  const env = envWithoutRust(path.join(work, 'home'));
  assert.notStrictEqual(run('sh', ['-c', 'command -v cargo'], { env, timeout: 5000 }).status, 0, 'cargo is hidden');
  const project = installFresh('prebuilt');
  const pkg = path.join(project, 'node_modules', 'turbo-dgram');
  assert.ok(fs.existsSync(path.join(pkg, PREBUILD)));
  assert.ok(!fs.existsSync(path.join(pkg, 'build')), 'nothing was built');

  assertRunsOnTurbo(project, env);
});

test('the shipped addon needs glibc 2.17 at most', () => {
  const tmp = path.join(work, 'unpacked');
  fs.mkdirSync(tmp);
  runOk('tar', ['-xzf', tarball, '-C', tmp], { timeout: 30_000 });
  const highest = highestGlibc(path.join(tmp, 'package', PREBUILD));
  const [major, minor] = MAX_GLIBC;
  assert.ok(highest[0] < major || (highest[0] === major && highest[1] <= minor),
    `the prebuilt addon asks for GLIBC_${highest.join('.')}, more than ${MAX_GLIBC.join('.')}`);
});

test('no prebuild for the platform: the app runs on the builtin with one warning, then builds from source', { timeout: 3 * SOURCE_BUILD_TIMEOUT_MS + 4 * NPM_TIMEOUT_MS }, () => {
  const noRust = envWithoutRust(path.join(work, 'home'));
  const project = installFresh('from-source');
  const pkg = path.join(project, 'node_modules', 'turbo-dgram');
  // What linux-arm64 or musl get from the same tarball: no prebuild that matches.
  fs.rmSync(path.join(pkg, 'prebuilds'), { recursive: true });

  const fallback = runApp(project, noRust, ['app.js']);
  assert.deepStrictEqual(fallback.report, { implementation: 'node:dgram', msg: 'ping', fromA: true });
  assert.strictEqual(fallbackWarnings(fallback.stderr).length, 1, fallback.stderr);
  assert.match(fallback.stderr, /TURBO_DGRAM_NOT_BUILT/);
  assert.match(fallback.stderr, /npm explore turbo-dgram -- npm run build/);

  const hookedFallback = runApp(project, noRust, ['-r', 'turbo-dgram/register', 'hooked-app.js']);
  assert.deepStrictEqual(hookedFallback.report,
    { dgram: false, nodeDgram: false, turboSocket: true, implementation: 'node:dgram', msg: 'hook' });
  assert.strictEqual(fallbackWarnings(hookedFallback.stderr).length, 1, hookedFallback.stderr);

  // The source build, as the warning says to run it: without Rust it says what is missing ...
  const explore = ['explore', 'turbo-dgram', '--', 'npm', 'run', 'build'];
  const missing = run('npm', explore, { cwd: project, env: noRust, timeout: NPM_TIMEOUT_MS });
  assert.notStrictEqual(missing.status, 0);
  assert.match(missing.stderr, /`cargo` was not found/);
  assert.match(missing.stderr, /rustup\.rs/);

  // ... and with it, builds the addon that is then loaded: stripped, the load generator not built,
  // cargo's target directory gone, the package well under 20 MB (it was 113 MB with target/ inside).
  const home = path.join(work, 'home');
  const tmp = path.join(work, 'build-tmp');
  fs.mkdirSync(tmp);
  runOk('npm', explore, { cwd: project, env: envForSourceBuild(home, tmp), timeout: SOURCE_BUILD_TIMEOUT_MS });
  const addon = path.join(pkg, 'build', 'turbo_dgram.node');
  assert.ok(fs.existsSync(addon));
  assertStripped(addon);
  assert.deepStrictEqual(fs.readdirSync(path.join(pkg, 'build')), ['turbo_dgram.node']);
  assert.ok(!fs.existsSync(path.join(pkg, 'target')), 'no cargo target directory in the package');
  assert.deepStrictEqual(fs.readdirSync(tmp), [], 'the temporary target directory is removed');
  const bytes = diskUsage(pkg);
  assert.ok(bytes < MAX_INSTALL_BYTES, `the source-built package takes ${(bytes / 2 ** 20).toFixed(1)} MiB`);
  assertRunsOnTurbo(project, noRust);

  // The bench builds its load generator on first use: without Rust it says so and measures with
  // Node stand-ins; with Rust it builds it (stripped, into build/) and uses it.
  const bench = (env) => {
    const out = fs.mkdtempSync(path.join(work, 'bench-out-'));
    const result = runOk(process.execPath, [path.join(pkg, 'bin', 'turbo-dgram-bench'),
      '--module-b', 'node:dgram', '--label-b', 'builtin-again', '--no-floor', '--reps', '1',
      '--window-ms', '100', '--warmup-ms', '50', '--only', 'flood-64', '--out', out],
    { cwd: project, env, timeout: SOURCE_BUILD_TIMEOUT_MS });
    const json = fs.readdirSync(out).find((f) => f.endsWith('.json'));
    return { stderr: result.stderr, doc: JSON.parse(fs.readFileSync(path.join(out, json), 'utf8')) };
  };
  const flooder = path.join(pkg, 'build', 'turbo-dgram-flood');
  const standIns = bench(noRust);
  assert.match(standIns.stderr, /cannot build the benchmark's load generator \(turbo-dgram-flood\): Rust's `cargo` was\s+not found/);
  assert.match(standIns.stderr, /Node\s+stand-ins make the load/);
  assert.strictEqual(standIns.doc.loadgen.native, null);
  assert.ok(!fs.existsSync(flooder));

  // The bench also looks in CARGO_TARGET_DIR for a binary; the previous run's must not be found.
  fs.rmSync(path.join(LOADGEN_TARGET_DIR, 'release', 'turbo-dgram-flood'), { force: true });
  const built = bench(envForLoadgenBuild(home));
  assert.match(built.stderr, /load generator ready at build\/turbo-dgram-flood/);
  assert.strictEqual(fs.realpathSync(built.doc.loadgen.native), fs.realpathSync(flooder));
  assertStripped(flooder);
  assert.ok(diskUsage(pkg) < MAX_INSTALL_BYTES);
});
