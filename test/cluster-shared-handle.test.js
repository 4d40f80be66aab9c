'use strict';

// cluster (issue 13, item 3): a non-exclusive bind in a worker asks the primary for its shared
// handle through cluster._getServer, as the builtin's does. Compared in child processes (each the
// primary of its own cluster), node:dgram and turbo-dgram in turn:
//   - with cluster._getServer replaced, as Node's own cluster tests do: what the worker asks for,
//     an error code from the primary, a reply after the socket closed (error or handle), and which
//     binds never ask (exclusive, reusePort where the builtin knows it);
//   - with the real primary: two workers' bind(0) share one port, the primary sees their
//     'listening', a datagram reaches a worker, a bind the primary cannot make fails in the worker
//     with the primary's error, worker.disconnect() closes the sockets and the workers exit.
// Worker output travels to the primary over IPC and is printed per worker, so the lines of two
// processes never interleave.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const assert = require('node:assert');
const { test } = require('node:test');
const { childBoth, runChild } = require('./helpers/child');
const { subjectSpec } = require('./helpers/differential');

const T = { timeout: 30000 };

const WORKER_PRELUDE = `
'use strict';
const cluster = require('node:cluster');
const dgram = require(process.env.DGRAM_UNDER_TEST);
const out = (...args) => process.send(['out', ...args]);
const pick = (e) => e && { class: e.constructor.name, message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, address: e.address, port: e.port, keys: Object.keys(e) };
`;

// The primary: forks WORKERS workers running WORKER_FILE, prints each worker's output, its exit,
// and the cluster's 'listening' events (sorted: they come from two processes).
const PRIMARY = `
const cluster = require('node:cluster');
cluster.setupPrimary({ exec: process.env.WORKER_FILE, execArgv: [] });
const n = Number(process.env.WORKERS);
const logs = [];
const listening = [];
let exited = 0;
const ports = new Map(); // a worker-printed port -> its name (ports differ from run to run)
cluster.on('listening', (w, address) => listening.push({ ...address, port: typeof address.port }));
// The prefix may define beforeFork() -> Promise<env for the workers> and afterWorkers().
const forked = typeof beforeFork === 'function' ? beforeFork() : Promise.resolve({});
forked.then((env) => { for (let i = 0; i < n; i++) fork(i, env); });
function fork(i, env) {
  logs.push([]);
  const w = cluster.fork({ WORKER_INDEX: String(i), ...env });
  w.on('message', (m) => {
    if (m[0] === 'out') logs[i].push(m.slice(1));
    else onWorkerMessage(w, m);
  });
  w.on('exit', (code, signal) => {
    logs[i].push(['exit', code, signal]);
    if (++exited === n) {
      logs.forEach((log, j) => log.forEach((line) => out('worker', j, ...line)));
      out('cluster listening', listening.sort((a, b) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
      if (typeof afterWorkers === 'function') afterWorkers();
    }
  });
}
setTimeout(() => { out('timeout'); process.exit(1); }, 10000).unref();
`;

// primaryPrefix defines onWorkerMessage(worker, message) for messages other than 'out'.
async function compareCluster(worker, { workers = 1, primaryPrefix = 'function onWorkerMessage() {}', env = {} } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-dgram-cluster-'));
  const workerFile = path.join(dir, 'worker.js');
  fs.writeFileSync(workerFile, WORKER_PRELUDE + worker);
  try {
    return await childBoth(primaryPrefix + PRIMARY, {
      timeoutMs: 15000, env: { WORKER_FILE: workerFile, WORKERS: String(workers), ...env },
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function assertBuiltinShows(r, fragment) {
  if (!r.builtin.stdout.some((line) => line.includes(fragment))) {
    throw new Error(`the builtin run did not do what the test means (no ${fragment}):\n${r.builtin.stdout.join('\n')}\n${r.builtin.stderr}`);
  }
}

test('cluster worker: bind asks cluster._getServer; error replies, replies after close, exclusive and reusePort binds', T, async () => {
  const r = await compareCluster(`
    const steps = {
      // The request's options, and an error code from the primary while the socket is open.
      async errorWhileOpen() {
        cluster._getServer = (self, options, cb) => { out('asked', options, self === s); setImmediate(cb, -98, null); };
        const s = dgram.createSocket('udp4');
        await new Promise((resolve) => { s.once('error', (e) => { out('error', pick(e)); resolve(); }); s.bind(41234, '127.0.0.1'); });
        // The socket is unbound again: a second bind is allowed (and asks again).
        cluster._getServer = (self, options, cb) => { out('asked again', options.port); setImmediate(cb, -13, null); };
        await new Promise((resolve) => { s.once('error', (e) => { out('error', pick(e)); resolve(); }); s.bind(0); });
        s.close();
      },
      // udp6 with reuseAddr and ipv6Only: the flags the primary binds with.
      async flags() {
        cluster._getServer = (self, options, cb) => { out('asked', options); setImmediate(cb, -98, null); };
        const s = dgram.createSocket({ type: 'udp6', reuseAddr: true, ipv6Only: true });
        await new Promise((resolve) => { s.once('error', (e) => { out('error', pick(e)); resolve(); }); s.bind({ port: 0 }); });
        s.close();
      },
      // The socket closes before the primary answers: an error is dropped, a handle released.
      async errorAfterClose() {
        const s = dgram.createSocket('udp4');
        s.on('error', (e) => out('unexpected error', pick(e)));
        await new Promise((resolve) => {
          cluster._getServer = (self, options, cb) => { s.close(() => { out('closed'); cb(-98, null); setTimeout(resolve, 20); }); };
          s.bind(0, '127.0.0.1');
        });
      },
      async handleAfterClose() {
        const s = dgram.createSocket('udp4');
        s.on('error', (e) => out('unexpected error', pick(e)));
        await new Promise((resolve) => {
          cluster._getServer = (self, options, cb) => {
            s.close(() => { out('closed'); cb(0, { close(...args) { out('handle closed', args.length); resolve(); } }); });
          };
          s.bind(0, '127.0.0.1');
        });
      },
      // bind({ fd }) in a worker: the primary opens it; its error names 'open'.
      async fd() {
        cluster._getServer = (self, options, cb) => { out('asked', options); setImmediate(cb, -9, null); };
        const s = dgram.createSocket('udp4');
        await new Promise((resolve) => { s.once('error', (e) => { out('error', pick(e)); resolve(); }); s.bind({ fd: 1000 }); });
        s.close();
      },
      // Binds that never ask: exclusive, and reusePort on a Node whose builtin knows it.
      async local() {
        cluster._getServer = (self, options, cb) => { out('asked', options.port); setImmediate(cb, -98, null); };
        const s = dgram.createSocket('udp4');
        await new Promise((resolve) => s.bind({ port: 0, address: '127.0.0.1', exclusive: true }, resolve));
        out('exclusive bound', typeof s.address().port);
        s.close();
        const t = dgram.createSocket({ type: 'udp4', reusePort: true });
        await new Promise((resolve) => {
          t.once('error', (e) => { out('reusePort error', pick(e)); resolve(); });
          t.bind({ port: 0, address: '127.0.0.1' }, () => { out('reusePort bound'); resolve(); });
        });
        t.close();
      },
    };
    (async () => {
      for (const [name, step] of Object.entries(steps)) { out('step', name); await step(); }
      process.disconnect();
    })();
  `);
  assertBuiltinShows(r, '"asked"');
});

// The primary sends a datagram once both workers listen, and disconnects them once one got it.
const SHARED_PORT_PRIMARY = `
const dgramInPrimary = require(process.env.DGRAM_UNDER_TEST);
const boundPorts = [];
let got = false;
function onWorkerMessage(worker, m) {
  if (m[0] === 'port') {
    boundPorts.push(m[1]);
    if (boundPorts.length < 2) return;
    out('one port for both workers', boundPorts[0] === boundPorts[1]);
    const c = dgramInPrimary.createSocket('udp4');
    c.send('hello', boundPorts[0], '127.0.0.1', () => c.close());
  } else if (m[0] === 'message' && !got) {
    got = true;
    out('a worker got', m[1]);
    for (const w of Object.values(cluster.workers)) w.disconnect();
  }
}
`;

test('cluster workers: bind(0) in two workers shares one port; a datagram arrives; disconnect closes the sockets', T, async () => {
  const r = await compareCluster(`
    const s = dgram.createSocket('udp4');
    s.on('close', () => out('close'));
    s.on('error', (e) => out('error', pick(e)));
    s.on('message', (m) => process.send(['message', String(m)]));
    s.bind(0, '127.0.0.1', () => {
      out('listening');
      process.send(['port', s.address().port]);
    });
  `, { workers: 2, primaryPrefix: SHARED_PORT_PRIMARY });
  assertBuiltinShows(r, '"one port for both workers",true');
  assertBuiltinShows(r, '"a worker got","hello"');
});

// The primary holds the port exclusively, so its bind of the shared handle fails: the workers get
// its error code.
const HOLDING_PRIMARY = `
const holder = require('node:dgram').createSocket('udp4');
function beforeFork() {
  return new Promise((resolve) => holder.bind(0, '127.0.0.1', () => resolve({ HELD: String(holder.address().port) })));
}
function afterWorkers() { holder.close(); }
function onWorkerMessage() {}
`;

test('cluster workers: a bind the primary cannot make fails in the worker with the primary\'s error', T, async () => {
  const r = await compareCluster(`
    const s = dgram.createSocket('udp4');
    s.on('error', (e) => { out('error', pick(e)); s.close(() => process.disconnect()); });
    s.bind(Number(process.env.HELD), '127.0.0.1', () => { out('listening'); s.close(() => process.disconnect()); });
  `, { workers: 1, primaryPrefix: HOLDING_PRIMARY });
  assertBuiltinShows(r, 'EADDRINUSE');
});

// child.send(message, socket) hands over builtin dgram sockets only: Node's child_process checks
// for its own dgram.Socket class. A turbo-dgram socket is refused with the builtin's error for
// a handle type it cannot send (ERR_INVALID_HANDLE_TYPE), before anything is sent.
test('child.send(message, socket) refuses a turbo-dgram socket with ERR_INVALID_HANDLE_TYPE', T, async () => {
  const body = `
    const { spawn } = require('node:child_process');
    // stdio ignored: a grandchild must not hold the test's pipes open.
    const child = spawn(process.execPath, ['-e', 'process.on("message", (m, h) => { process.send(["got", m, h && h.constructor.name]); process.disconnect(); })'],
      { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      try {
        child.send('socket', s);
        child.on('message', (m) => { out('child', m); s.close(); });
      } catch (e) {
        out('threw', { name: e.name, code: e.code, message: e.message });
        s.close();
        child.kill();
      }
    });
  `;
  const builtin = await runChild('node:dgram', body, { timeoutMs: 10000 });
  const subject = await runChild(subjectSpec(), body, { timeoutMs: 10000 });
  // The builtin hands its socket over; ours is refused as any handle child_process cannot send.
  assert.deepStrictEqual(builtin.stdout, ['["child",["got","socket","Socket"]]'], builtin.stderr);
  assert.deepStrictEqual(subject.stdout,
    ['["threw",{"name":"TypeError","code":"ERR_INVALID_HANDLE_TYPE","message":"This handle type cannot be sent"}]'], subject.stderr);
});
