'use strict';

// Differential test harness: every scenario runs once against Node's builtin `node:dgram` (the
// reference) and once against turbo-dgram (the subject), and the two logs of what was observable
// must be equal.
//
//   const { assertSame } = require('./helpers/differential');
//   test('two sends arrive in order', () => assertSame(async (ctx) => {
//     const a = ctx.socket('A', 'udp4');            // tracked: closed after the scenario
//     ctx.watch(a, 'A');                            // logs listening / message / error / close
//     await ctx.bound(a);
//     ...
//     ctx.log('something', value);                  // one entry; values are normalised
//   }));
//
// What the harness normalises so that equal behaviour gives equal logs:
//   - Errors become { class, name, code, errno, syscall, address, port, message } (the keys that
//     are set), the first line of `stack` and the own enumerable keys (what console.log shows),
//     plus `info` and the util.inspect output (stack lines removed) for the errors that carry
//     `info` (ERR_SOCKET_BUFFER_SIZE and other SystemErrors).
//   - Buffers become 'Buffer<hex>' (long ones: length and sha256); other views likewise.
//   - A tracked socket becomes 'Socket<label>' (so `bind()` returning `this` is visible).
//   - Ephemeral ports: a number under a key named `port`, a ctx.port(n) value, and `:n` inside a
//     string (error messages) become '<port1>', '<port2>', ... in the order they first appear.
//     Both runs name the same port the same way only if they behave the same way.
// Each entry is then rendered on one line with util.inspect, so key order and types count and an
// assertion failure shows a line diff: `+ actual` is turbo-dgram, `- expected` is node:dgram.
//
// Rules the harness enforces, so that a test cannot pass by accident:
//   - The builtin run must finish without throwing and must log at least one entry; if not,
//     the test itself is wrong and fails with that error.
//   - If the subject's run throws (a callback never ran, an event never came, a timeout), that
//     becomes a final 'SCENARIO THREW' entry and so a difference.
//   - After the scenario, both runs wait `settleMs` for stray late events before the log is
//     sealed; sockets still open are closed after sealing.
//
// DIFF_DUMP=1 prints each builtin log to stderr (to read what a scenario exercises).
// TURBO_DGRAM_TEST_SUBJECT=node:dgram makes the builtin the subject too: a self-check of the
// tests and this harness on a new Node version. Refused under CI.

const assert = require('node:assert');
const crypto = require('node:crypto');
const path = require('node:path');
const util = require('node:util');
const { EventEmitter } = require('node:events');

const PACKAGE_ROOT = path.join(__dirname, '..', '..');

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_SETTLE_MS = 50;
const DEFAULT_WAIT_MS = 2000;

function loadBuiltin() {
  return require('node:dgram');
}

function subjectSpec() {
  const override = process.env.TURBO_DGRAM_TEST_SUBJECT;
  if (override) {
    if (override !== 'node:dgram') throw new Error(`TURBO_DGRAM_TEST_SUBJECT must be node:dgram, got ${override}`);
    if (process.env.CI) throw new Error('TURBO_DGRAM_TEST_SUBJECT is a local self-check and is refused under CI');
    return 'node:dgram';
  }
  return PACKAGE_ROOT;
}

// Loaded on first use, so that a missing addon or lib fails each test with the loader's error
// instead of failing to load the test file.
// turbo-dgram falls back to the builtin when its addon does not load (lib/fallback.js); here that
// must fail, or every differential test would compare the builtin with itself and pass.
function loadSubject() {
  const spec = subjectSpec();
  const subject = require(spec);
  if (spec === PACKAGE_ROOT && subject.implementation !== 'turbo-dgram') {
    const { error } = require(path.join(PACKAGE_ROOT, 'lib', 'native-load.js')).loadNative();
    throw new Error(`the subject fell back to the builtin (implementation ${subject.implementation}), ` +
      `its addon did not load: ${error && error.message}`);
  }
  return subject;
}

// ---------------------------------------------------------------------------------------------
// Normalisation

const ERROR_KEYS = ['name', 'code', 'errno', 'syscall', 'address', 'port', 'message'];

function stripStack(text) {
  return text.split('\n').filter((line) => !/^\s+at /.test(line) && !/^\s+\.\.\. \d+ lines? matching/.test(line)).join('\n');
}

function normaliseError(err, sockets) {
  if (!(err instanceof Error) && (err === null || typeof err !== 'object')) return normalise(err, sockets);
  const out = { class: err && err.constructor ? err.constructor.name : typeof err };
  for (const key of ERROR_KEYS) {
    if (err[key] !== undefined) out[key] = normalise(err[key], sockets);
  }
  // What console.log(err) shows besides the stack: the first stack line and the own enumerable keys.
  if (typeof err.stack === 'string') out.stackHead = err.stack.split('\n')[0];
  out.keys = Object.keys(err);
  if (err.info !== undefined) {
    out.info = normalise(err.info, sockets);
    out.inspect = stripStack(util.inspect(err, { depth: 4 }));
  }
  return { Error: out };
}

class PortRef {
  constructor(port) { this.port = port; }
}

function describeView(view) {
  const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  const kind = Buffer.isBuffer(view) ? 'Buffer' : view.constructor.name;
  if (bytes.length <= 64) return `${kind}<${bytes.toString('hex')}>`;
  const digest = crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  return `${kind}<${bytes.length} bytes, sha256 ${digest}>`;
}

function normalise(value, sockets, depth = 0) {
  if (depth > 8) return '<too deep>';
  if (value instanceof PortRef) return value;
  if (value === null || value === undefined) return value;
  switch (typeof value) {
    case 'string': case 'number': case 'boolean': case 'bigint': return value;
    case 'symbol': return value.toString();
    case 'function': return `[Function ${value.name || '(anonymous)'}]`;
    default: break;
  }
  if (sockets && sockets.has(value)) return `Socket<${sockets.get(value)}>`;
  if (value instanceof Error) return normaliseError(value, sockets);
  if (ArrayBuffer.isView(value)) return describeView(value);
  if (value instanceof ArrayBuffer) return `ArrayBuffer<${value.byteLength}>`;
  if (value instanceof EventEmitter) return `${value.constructor.name}<untracked>`;
  if (Array.isArray(value)) return value.map((v) => normalise(v, sockets, depth + 1));
  const out = {};
  for (const key of Object.keys(value)) out[key] = normalise(value[key], sockets, depth + 1);
  return out;
}

// Replaces ephemeral ports by '<portN>' in order of first appearance (see the header).
function canonicalisePorts(entries) {
  const aliases = new Map();
  const alias = (port) => {
    if (!aliases.has(port)) aliases.set(port, `<port${aliases.size + 1}>`);
    return aliases.get(port);
  };
  const isEphemeralish = (n) => typeof n === 'number' && Number.isInteger(n) && n > 1023 && n < 65536;
  // Pass 1: collect ports from `port` keys and PortRefs, in order.
  const collect = (v, key) => {
    if (v instanceof PortRef) { if (isEphemeralish(v.port)) alias(v.port); return; }
    if (key === 'port' && isEphemeralish(v)) { alias(v); return; }
    if (Array.isArray(v)) v.forEach((x) => collect(x));
    else if (v && typeof v === 'object') for (const k of Object.keys(v)) collect(v[k], k);
  };
  entries.forEach((e) => collect(e));
  // Pass 2: rewrite.
  const rewrite = (v, key) => {
    if (v instanceof PortRef) return isEphemeralish(v.port) ? alias(v.port) : v.port;
    if (key === 'port' && isEphemeralish(v)) return alias(v);
    if (typeof v === 'string' && aliases.size > 0) {
      return v.replace(/:(\d{4,5})(?!\d)/g, (m, digits) => {
        const n = Number(digits);
        return aliases.has(n) ? `:${aliases.get(n)}` : m;
      });
    }
    if (Array.isArray(v)) return v.map((x) => rewrite(x));
    if (v && typeof v === 'object') {
      const out = {};
      for (const k of Object.keys(v)) out[k] = rewrite(v[k], k);
      return out;
    }
    return v;
  };
  return entries.map((e) => rewrite(e));
}

function render(entry) {
  return util.inspect(entry, { depth: 12, breakLength: Infinity, compact: true, maxArrayLength: 200, maxStringLength: 2000 });
}

// ---------------------------------------------------------------------------------------------
// Timing helpers

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Resolves with the listener arguments of the next `event`; rejects after `ms`, or when 'error' is
// emitted first (unless `event` is 'error').
function once(emitter, event, ms = DEFAULT_WAIT_MS) {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      emitter.removeListener(event, onEvent);
      if (event !== 'error') emitter.removeListener('error', onError);
    };
    const onEvent = (...args) => { cleanup(); resolve(args); };
    const onError = (err) => { cleanup(); reject(err); };
    const timer = setTimeout(() => { cleanup(); reject(new Error(`timed out after ${ms} ms waiting for '${event}'`)); }, ms);
    emitter.on(event, onEvent);
    if (event !== 'error') emitter.on('error', onError);
  });
}

// ---------------------------------------------------------------------------------------------
// The per-run context a scenario gets.

class Context {
  constructor(dgram, which) {
    this.dgram = dgram;
    this.which = which; // 'builtin' | 'subject'
    this.entries = [];
    this.sealed = false;
    this.sockets = new Map(); // socket -> label
  }

  // Appends one entry; every argument is normalised now (errors, buffers, sockets).
  log(...entry) {
    if (this.sealed) return;
    this.entries.push(entry.map((v) => normalise(v, this.sockets)));
  }

  // Marks a number as a port, to be named '<portN>' like the ports under `port` keys.
  port(n) {
    return new PortRef(n);
  }

  // Names a socket for the log, and closes it after the scenario if it is still open.
  track(socket, label) {
    this.sockets.set(socket, label);
    return socket;
  }

  // dgram.createSocket(...args), tracked under `label`.
  socket(label, ...args) {
    return this.track(this.dgram.createSocket(...args), label);
  }

  // Logs every listed event of `socket` with its arguments, as [label, event, ...args].
  watch(socket, label = this.sockets.get(socket), events = ['listening', 'connect', 'message', 'error', 'close']) {
    for (const event of events) socket.on(event, (...args) => this.log(label, event, ...args));
    return socket;
  }

  // Runs fn() and logs [label, 'returned', value] or [label, 'threw', error].
  call(label, fn) {
    try {
      const value = fn();
      this.log(label, 'returned', value);
      return value;
    } catch (err) {
      this.log(label, 'threw', err);
      return undefined;
    }
  }

  // A callback that logs [label, ...args] each time it runs; `.called` resolves on the first call
  // and rejects if it has not run within `ms`.
  callback(label, ms = DEFAULT_WAIT_MS) {
    let resolveCalled;
    const called = new Promise((resolve) => { resolveCalled = resolve; });
    const fn = (...args) => {
      this.log(label, ...args);
      resolveCalled(args);
    };
    fn.called = withTimeout(called, ms, `callback '${label}'`);
    fn.called.catch(() => {}); // observed by whoever awaits it
    return fn;
  }

  once(emitter, event, ms) {
    return once(emitter, event, ms);
  }

  // `promise`, or a rejection naming `what` after `ms`.
  within(promise, what, ms = DEFAULT_WAIT_MS) {
    return withTimeout(promise, ms, what);
  }

  // Binds (if `bindArgs` given, with them; else to 127.0.0.1 / ::1 port 0) and waits for
  // 'listening'. Returns the bound port.
  async bound(socket, ...bindArgs) {
    const listening = once(socket, 'listening');
    if (bindArgs.length === 0) bindArgs = [0, socket.type === 'udp6' ? '::1' : '127.0.0.1'];
    socket.bind(...bindArgs);
    await listening;
    return socket.address().port;
  }

  // Waits until fn() is true, polling every few ms; rejects after `ms`.
  async until(fn, ms = DEFAULT_WAIT_MS, what = 'a condition') {
    const start = Date.now();
    while (!fn()) {
      if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await delay(5);
    }
  }

  delay(ms) {
    return delay(ms);
  }

  // Closes every tracked socket still open (errors ignored: it may be closed already).
  async cleanup() {
    const closing = [];
    for (const socket of this.sockets.keys()) {
      try {
        socket.close();
      } catch {
        continue; // closed already
      }
      closing.push(new Promise((resolve) => {
        const timer = setTimeout(resolve, 200);
        socket.once('close', () => { clearTimeout(timer); resolve(); });
      }));
    }
    await Promise.all(closing);
  }
}

async function runOne(dgram, which, scenario, opts) {
  const ctx = new Context(dgram, which);
  let thrown;
  try {
    await withTimeout(Promise.resolve().then(() => scenario(ctx, dgram)), opts.timeout, `the scenario (${which})`);
    await delay(opts.settleMs);
  } catch (err) {
    thrown = err;
  }
  ctx.sealed = true;
  await ctx.cleanup();
  return { entries: ctx.entries, thrown };
}

// Runs `scenario(ctx, dgram)` against node:dgram, then against turbo-dgram, and returns both
// logs (rendered lines) without comparing them.
async function runBoth(scenario, options = {}) {
  const opts = { timeout: DEFAULT_TIMEOUT_MS, settleMs: DEFAULT_SETTLE_MS, ...options };
  const builtin = await runOne(loadBuiltin(), 'builtin', scenario, opts);
  if (builtin.thrown) {
    const lines = canonicalisePorts(builtin.entries).map(render);
    throw new Error(`the scenario failed against node:dgram itself (a test bug): ${builtin.thrown && builtin.thrown.stack}\n` +
      `node:dgram log so far:\n${lines.join('\n')}`);
  }
  if (builtin.entries.length === 0) throw new Error('the scenario logged nothing against node:dgram (a test bug)');
  const subjectModule = loadSubject();
  const subject = await runOne(subjectModule, 'subject', scenario, opts);
  const subjectEntries = subject.entries.slice();
  if (subject.thrown) subjectEntries.push(['SCENARIO THREW', normaliseError(subject.thrown)]);
  return {
    builtin: canonicalisePorts(builtin.entries).map(render),
    subject: canonicalisePorts(subjectEntries).map(render),
  };
}

// runBoth, then asserts the logs are equal (actual = turbo-dgram, expected = node:dgram).
// Returns the builtin's log so that a test can also check the scenario did what it meant to.
async function assertSame(scenario, options) {
  const { builtin, subject } = await runBoth(scenario, options);
  if (process.env.DIFF_DUMP) process.stderr.write(`--- node:dgram log\n${builtin.join('\n')}\n`);
  // No message argument: node's line diff is the message (+ turbo-dgram actual, - node:dgram expected).
  assert.deepStrictEqual(subject, builtin);
  return builtin;
}

// A socket of `type` named `label`, watched (ctx.watch) and bound to the loopback address of its
// family: the peer most scenarios send to. Resolves with { r, port }.
async function receiver(ctx, label = 'R', type = 'udp4') {
  const r = ctx.socket(label, type);
  ctx.watch(r);
  const port = await ctx.bound(r);
  return { r, port };
}

// A receiver R bound to the loopback address of its family and a sender S of the same `type`,
// bound too unless `bindSender` is false. With `watch` both are logged (ctx.watch), the receiver
// not when `watchReceiver` is false. The set-up of most send and receive scenarios. Resolves with
// { r, s, rport }.
async function receiverAndSender(ctx, { type = 'udp4', watch = false, watchReceiver = watch, bindSender = true } = {}) {
  const r = ctx.socket('R', type);
  if (watchReceiver) ctx.watch(r);
  const rport = await ctx.bound(r);
  const s = ctx.socket('S', type);
  if (watch) ctx.watch(s);
  if (bindSender) await ctx.bound(s);
  return { r, s, rport };
}

// A udp4 receiver on 0.0.0.0 (multicast and broadcast need the wildcard), logged as `label`, with
// createSocket `options`. Resolves with { r, port }.
async function wildcardReceiver(ctx, label = 'R', options = {}) {
  const r = ctx.socket(label, { type: 'udp4', ...options });
  ctx.watch(r);
  const port = await ctx.bound(r, 0, '0.0.0.0');
  return { r, port };
}

// A udp4 sender bound to `address` whose multicast goes out on lo.
async function loSender(ctx, label = 'S', address = '127.0.0.1') {
  const s = ctx.socket(label, 'udp4');
  ctx.watch(s);
  await ctx.bound(s, 0, address);
  s.setMulticastInterface('127.0.0.1');
  return s;
}

// Asserts that `lines` (a rendered log) has an entry containing each of `needles`, in order:
// the test's own check that the reference run exercised what the test is about.
function assertLogHas(lines, ...needles) {
  let from = 0;
  for (const needle of needles) {
    const i = lines.findIndex((line, idx) => idx >= from && line.includes(needle));
    assert.ok(i >= 0, `expected the node:dgram log to contain ${JSON.stringify(needle)} (after entry ${from}):\n${lines.join('\n')}`);
    from = i + 1;
  }
}

module.exports = {
  loSender,
  wildcardReceiver,
  PACKAGE_ROOT,
  assertLogHas,
  assertSame,
  canonicalisePorts,
  delay,
  loadBuiltin,
  loadSubject,
  normalise,
  normaliseError,
  once,
  receiver,
  receiverAndSender,
  render,
  runBoth,
  subjectSpec,
  withTimeout,
};
