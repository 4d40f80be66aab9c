'use strict';

// The drop-in hook (lib/register.js, lib/register.mjs) with a real, unmodified npm package that
// uses dgram: hot-shots, a StatsD client. A child process is started the way a user would start
// an app (`node -r turbo-dgram/register app.js`, `node --import turbo-dgram/register app.mjs`);
// the app sends one metric through hot-shots to a UDP receiver in this process and reports which
// dgram it got and which Socket class carried the send. With TURBO_DGRAM=off the same command
// line must use the builtin. Loopback only; every wait is bounded.

const test = require('node:test');
const assert = require('node:assert');
const dgram = require('node:dgram');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFile } = require('node:child_process');

const REPO = path.join(__dirname, '..');
const REGISTER_CJS = path.join(REPO, 'lib', 'register.js');

const CHILD_TIMEOUT_MS = 15_000;
const METRIC_TIMEOUT_MS = 10_000;

// What both apps do once they have `dgram` (as the app itself sees it) and `turbo`: count which
// Socket class carries hot-shots' sends, send one counter, close, print one JSON line.
// process.getBuiltinModule() reaches the builtin even while the hook is on (the hook leaves it).
const APP_BODY = `
const builtin = process.getBuiltinModule('node:dgram');
const sends = { turbo: 0, builtin: 0 };
for (const [name, mod] of [['turbo', turbo], ['builtin', builtin]]) {
  const send = mod.Socket.prototype.send;
  mod.Socket.prototype.send = function countedSend(...args) {
    sends[name] += 1;
    return Reflect.apply(send, this, args);
  };
}
const client = new StatsD({
  host: '127.0.0.1',
  port: Number(process.env.STATSD_PORT),
  protocol: 'udp',
  errorHandler(err) { console.error('statsd error', err); process.exitCode = 1; },
});
client.increment('turbo_dgram.register', 7, (err) => {
  if (err) { console.error('send failed', err); process.exitCode = 1; }
  client.close(() => {
    console.log(JSON.stringify({
      dgramIsTurbo: dgram === turbo,
      dgramIsBuiltin: dgram === builtin,
      socketIsTurbo: dgram.Socket === turbo.Socket,
      sends,
      extra,
    }));
  });
});
`;

// The apps are plain user code: hot-shots and turbo-dgram come from the app's node_modules (links
// to this repository's copies), exactly as in an installed project.
function cjsApp() {
  return `'use strict';
const StatsD = require('hot-shots');
const dgram = require('dgram');
const turbo = require('turbo-dgram');
const extra = {
  nodeDgramIsTurbo: require('node:dgram') === turbo,
  implementationIsTurbo: turbo.implementation === 'turbo-dgram',
};
${APP_BODY}`;
}

function esmApp() {
  return `import { createRequire } from 'node:module';
import StatsD from 'hot-shots';
import dgram, { Socket, createSocket } from 'dgram';
import * as nodeDgram from 'node:dgram';
import * as turboNs from 'turbo-dgram';
const turbo = createRequire(import.meta.url)('turbo-dgram');
const extra = {
  namedAreTurbo: Socket === turbo.Socket && createSocket === turbo.createSocket,
  nodeDgramIsTurbo: nodeDgram.Socket === turbo.Socket && nodeDgram.default === dgram,
  esmEntryIsTurbo: turboNs.Socket === turbo.Socket,
  implementationIsTurbo: turboNs.implementation === 'turbo-dgram',
};
${APP_BODY}`;
}

// A worker thread runs the preload too, and so is hooked by itself.
function workerApp() {
  return `'use strict';
const { Worker, isMainThread, parentPort } = require('node:worker_threads');
const check = async () => {
  const turbo = require('turbo-dgram');
  const esm = await import('node:dgram');
  return { require: require('dgram') === turbo, import: esm.Socket === turbo.Socket };
};
if (isMainThread) {
  const worker = new Worker(__filename);
  worker.once('message', async (inWorker) => {
    console.log(JSON.stringify({ main: await check(), worker: inWorker }));
  });
  worker.once('error', (err) => { console.error(err); process.exitCode = 1; });
} else {
  check().then((result) => parentPort.postMessage(result));
}
`;
}

let appDir;
test.before(() => {
  appDir = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-dgram-register-'));
  fs.mkdirSync(path.join(appDir, 'node_modules'));
  fs.symlinkSync(REPO, path.join(appDir, 'node_modules', 'turbo-dgram'), 'dir');
  fs.symlinkSync(path.join(REPO, 'node_modules', 'hot-shots'),
    path.join(appDir, 'node_modules', 'hot-shots'), 'dir');
  fs.writeFileSync(path.join(appDir, 'app.js'), cjsApp());
  fs.writeFileSync(path.join(appDir, 'app.mjs'), esmApp());
  fs.writeFileSync(path.join(appDir, 'worker.js'), workerApp());
});
test.after(() => {
  if (appDir) fs.rmSync(appDir, { recursive: true, force: true });
});

function runChild(args, env) {
  return new Promise((resolve) => {
    execFile(process.execPath, args, {
      cwd: appDir,
      env: { ...process.env, ...env },
      timeout: CHILD_TIMEOUT_MS,
    }, (error, stdout, stderr) => resolve({ error, stdout, stderr }));
  });
}

// Binds a builtin receiver, runs the app against it, and returns the app's report and the
// datagram the receiver got.
async function runApp(preload, app, turboDgramEnv) {
  const receiver = dgram.createSocket('udp4');
  await new Promise((resolve) => receiver.bind(0, '127.0.0.1', resolve));
  const metric = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no metric arrived')), METRIC_TIMEOUT_MS);
    receiver.once('message', (msg) => {
      clearTimeout(timer);
      resolve(msg.toString());
    });
  });
  try {
    // An empty TURBO_DGRAM means "hook on", whatever this process inherited.
    const env = { STATSD_PORT: String(receiver.address().port), TURBO_DGRAM: turboDgramEnv };
    const child = await runChild([...preload, app], env);
    assert.ifError(child.error);
    assert.match(child.stdout, /\S/, 'the app prints its report');
    const report = JSON.parse(child.stdout.trim().split('\n').pop());
    return { report, metric: await metric, stderr: child.stderr };
  } finally {
    receiver.close();
  }
}

// The command lines users type, resolved from the app's directory as they would be.
const CASES = [
  { name: '-r turbo-dgram/register, CommonJS app', preload: ['-r', 'turbo-dgram/register'], app: 'app.js' },
  { name: '--import turbo-dgram/register, ES module app', preload: ['--import', 'turbo-dgram/register'], app: 'app.mjs' },
  { name: '--import turbo-dgram/register, CommonJS app', preload: ['--import', 'turbo-dgram/register'], app: 'app.js' },
  { name: '-r turbo-dgram/register, ES module app', preload: ['-r', 'turbo-dgram/register'], app: 'app.mjs' },
];

for (const { name, preload, app } of CASES) {
  test(`${name}: hot-shots sends through turbo-dgram`, { timeout: 30_000 }, async () => {
    const { report, metric, stderr } = await runApp(preload, app, '');
    assert.strictEqual(stderr, '', 'the app writes nothing to stderr (no warning either)');
    assert.strictEqual(metric, 'turbo_dgram.register:7|c');
    assert.strictEqual(report.dgramIsTurbo, true);
    assert.strictEqual(report.socketIsTurbo, true);
    assert.deepStrictEqual(report.sends, { turbo: 1, builtin: 0 });
    for (const [key, value] of Object.entries(report.extra)) {
      assert.strictEqual(value, true, key);
    }
  });

  test(`${name}: TURBO_DGRAM=off keeps the builtin`, { timeout: 30_000 }, async () => {
    const { report, metric, stderr } = await runApp(preload, app, 'off');
    assert.strictEqual(stderr, '');
    assert.strictEqual(metric, 'turbo_dgram.register:7|c');
    assert.strictEqual(report.dgramIsBuiltin, true);
    assert.strictEqual(report.dgramIsTurbo, false);
    assert.deepStrictEqual(report.sends, { turbo: 0, builtin: 1 });
    for (const [key, value] of Object.entries(report.extra)) {
      assert.strictEqual(value, key === 'esmEntryIsTurbo' || key === 'implementationIsTurbo', key);
    }
  });
}

for (const preload of [['-r', 'turbo-dgram/register'], ['--import', 'turbo-dgram/register']]) {
  test(`${preload.join(' ')}: a worker thread is hooked too`, { timeout: 30_000 }, async () => {
    const child = await runChild([...preload, 'worker.js'], { TURBO_DGRAM: '' });
    assert.ifError(child.error);
    assert.strictEqual(child.stderr, '');
    const both = { require: true, import: true };
    assert.deepStrictEqual(JSON.parse(child.stdout), { main: both, worker: both });
  });
}

test('the hook module reports whether it is active', { timeout: 30_000 }, async () => {
  const probe = `console.log(JSON.stringify(require(${JSON.stringify(REGISTER_CJS)})))`;
  for (const [value, active] of [['', true], ['off', false], ['OFF', false], ['0', false]]) {
    const { error, stdout } = await runChild(['-e', probe], { TURBO_DGRAM: value });
    assert.ifError(error);
    assert.deepStrictEqual(JSON.parse(stdout), { active }, `TURBO_DGRAM=${value}`);
  }
});

// Node's permission model without --allow-addons: loading any addon throws ERR_DLOPEN_DISABLED.
// The app must keep running on the builtin, with one warning naming the flag. The flags are asked
// of the running Node: --permission was --experimental-permission before Node 22, and from Node
// 25 the model also guards the network unless --allow-net is given.
function permissionFlags() {
  const has = (flag) => process.allowedNodeEnvironmentFlags.has(flag);
  const flags = [has('--permission') ? '--permission' : '--experimental-permission', '--allow-fs-read=*'];
  if (has('--allow-net')) flags.push('--allow-net');
  return flags;
}

const FALLBACK_CASES = [
  { name: '-r turbo-dgram/register, CommonJS app', preload: ['-r', 'turbo-dgram/register'], app: 'app.js' },
  { name: '--import turbo-dgram/register, ES module app', preload: ['--import', 'turbo-dgram/register'], app: 'app.mjs' },
  { name: 'no hook, CommonJS app', preload: [], app: 'app.js' },
];

for (const { name, preload, app } of FALLBACK_CASES) {
  test(`${name} under the permission model without --allow-addons: the builtin, one warning`, { timeout: 30_000 }, async () => {
    const { report, metric, stderr } = await runApp([...permissionFlags(), ...preload], app, '');
    // The metric went out, through the builtin: the app kept running.
    assert.strictEqual(metric, 'turbo_dgram.register:7|c');
    assert.strictEqual(report.dgramIsBuiltin, true);
    assert.strictEqual(report.socketIsTurbo, true, 'turbo-dgram hands out the builtin Socket');
    assert.deepStrictEqual(report.sends, { turbo: 1, builtin: 1 }, 'one Socket class: both counters saw the send');
    assert.strictEqual(report.extra.implementationIsTurbo, false);
    const warnings = stderr.split('\n').filter((line) => line.includes('[TURBO_DGRAM_FALLBACK]'));
    assert.strictEqual(warnings.length, 1, stderr);
    assert.match(stderr, /--allow-addons/);
    assert.match(stderr, /using the builtin node:dgram/);
  });
}

test('under the permission model the hook module says it is not active, and the package says node:dgram', { timeout: 30_000 }, async () => {
  const probe = `const r = require('turbo-dgram/register');
    import('turbo-dgram').then((esm) => console.log(JSON.stringify({
      active: r.active, cjs: require('turbo-dgram').implementation, esm: esm.implementation,
      drivers: require('turbo-dgram').drivers,
    })));`;
  const { error, stdout, stderr } = await runChild([...permissionFlags(), '-e', probe], { TURBO_DGRAM: '' });
  assert.ifError(error);
  assert.deepStrictEqual(JSON.parse(stdout),
    { active: false, cjs: 'node:dgram', esm: 'node:dgram', drivers: [] });
  assert.strictEqual(stderr.split('\n').filter((line) => line.includes('[TURBO_DGRAM_FALLBACK]')).length, 1, stderr);
});
