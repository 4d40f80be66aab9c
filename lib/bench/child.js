'use strict';

// The Node side of every measurement: one process per role, started by procs.js as
//   node child.js <role> '<json config>'
// Roles: probe, receiver (cfg.reply: answers each datagram), sender, echo-server, echo-client.
// Each loads the module under test by its specifier (config.module: 'node:dgram', a path, a
// package name) and uses only the public dgram API, so any module exposing that API can be
// measured. (child-workers.js is the receiver spread over worker threads.)
//
// Messages are JSON lines on stdout (pipes are synchronous on Linux, so a line written right
// before process.exit() is not lost); the end of stdin means "stop". Times are
// process.hrtime.bigint() nanoseconds: CLOCK_MONOTONIC, the clock the native load generator
// stamps its samples with, so marks from here line up with its counters.

const path = require('node:path');

const role = process.argv[2];
const cfg = JSON.parse(process.argv[3] || '{}');

const hr = () => Number(process.hrtime.bigint());
const emit = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);

function fail(err) {
  emit({ type: 'error', message: String((err && err.stack) || err) });
  process.exit(1);
}
process.on('uncaughtException', fail);

// Our own bound: a child never outlives its run even if the parent forgets to stop it.
setTimeout(() => fail(new Error(`${role}: still running after ${cfg.maxMs} ms`)), cfg.maxMs || 60000).unref();

function loadModule(spec) {
  const m = require(spec);
  if (m && typeof m.createSocket === 'function') return m;
  if (m && m.default && typeof m.default.createSocket === 'function') return m.default;
  throw new Error(`${spec} does not export createSocket()`);
}

const dgram = role === 'probe' ? null : loadModule(cfg.module);

function createSocket() {
  const options = { type: cfg.family === 6 ? 'udp6' : 'udp4' };
  // The receive driver is an opt-in option of turbo-dgram; other modules never see it.
  if (cfg.driver) options.driver = cfg.driver;
  return dgram.createSocket(options);
}

/** getStats() counters when the module offers them (a turbo-dgram extra), else undefined. */
function statsOf(sock) {
  if (typeof sock.getStats !== 'function') return undefined;
  try {
    return sock.getStats();
  } catch (err) {
    return { error: String(err.message || err) };
  }
}

function bindLocal(sock) {
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, cfg.family === 6 ? '::1' : '127.0.0.1', () => {
      sock.removeListener('error', reject);
      resolve(sock.address().port);
    });
  });
}

function onStop(fn) {
  process.stdin.on('end', fn);
  process.stdin.on('error', fn);
  process.stdin.resume();
}

/** Closes the sockets (every run leaves nothing open), reports, exits. */
function finish(socks, msg) {
  let pending = socks.length;
  const done = () => {
    emit(msg);
    process.exit(0);
  };
  if (pending === 0) return done();
  // A module whose close() never calls back must not hang the run.
  const t = setTimeout(() => { msg.closeTimedOut = true; done(); }, 1000);
  for (const s of socks) {
    try {
      s.close(() => { if (--pending === 0) { clearTimeout(t); done(); } });
    } catch (err) {
      msg.closeError = String(err.message || err);
      if (--pending === 0) { clearTimeout(t); done(); }
    }
  }
}

function cpuNow() {
  const u = process.cpuUsage();
  return u.user + u.system; // microseconds, all threads of this process (a reactor thread too)
}

// ---------------------------------------------------------------------------------------------

async function probe() {
  const started = hr();
  const m = loadModule(cfg.module);
  const loadMs = (hr() - started) / 1e6;
  let version = null;
  if (path.isAbsolute(cfg.module)) {
    try { version = require(path.join(cfg.module, 'package.json')).version; } catch { /* not a package dir */ }
  }
  const options = { type: 'udp4' };
  if (cfg.driver) options.driver = cfg.driver;
  const sock = m.createSocket(options);
  await new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', resolve);
  });
  const info = {
    type: 'done',
    ok: true,
    version,
    loadMs,
    hasGetStats: typeof sock.getStats === 'function',
    // A module listing its receive drivers lets the tool measure each of them.
    drivers: Array.isArray(m.drivers) ? m.drivers.slice() : null,
    hasSendQueueCount: typeof sock.getSendQueueCount === 'function',
  };
  finish([sock], info);
}

async function receiver() {
  const nports = cfg.ports || 1;
  const socks = [];
  let count = 0;
  let bytes = 0;
  let zeroPort = 0;
  const onMessage = (msg, rinfo) => {
    count++;
    bytes += msg.length;
    // Read the peer like a real server would; a module that builds rinfo lazily pays for it here.
    if (rinfo.port === 0) zeroPort++;
    // A request/response server (cfg.reply): answers each request to its sender.
    if (cfg.reply) socks[0].send(msg, rinfo.port, rinfo.address);
  };
  const ports = [];
  for (let i = 0; i < nports; i++) {
    const s = createSocket();
    s.on('message', onMessage);
    ports.push(await bindLocal(s));
    socks.push(s);
  }
  let errors = 0;
  for (const s of socks) s.on('error', () => { errors++; });

  let stalls = 0;
  if (cfg.stall) {
    // Block the event loop, as a slow request handler or a GC pause would.
    setInterval(() => {
      const end = hr() + cfg.stall.forMs * 1e6;
      while (hr() < end) { /* stall */ }
      stalls++;
    }, cfg.stall.everyMs);
  }
  if (cfg.sampleMs) setInterval(() => emit({ type: 'sample', t: hr(), count }), cfg.sampleMs);

  let mark0 = null;
  let firstAt = null;
  let finished = false;
  const markStart = () => {
    mark0 = { t: hr(), count, bytes, cpu: cpuNow() };
    if (cfg.windowMs) setTimeout(end, cfg.windowMs);
  };
  const end = () => {
    if (finished) return;
    finished = true;
    const t1 = hr();
    const msg = {
      type: 'done',
      firstAt,
      total: count,
      totalBytes: bytes,
      errors,
      stalls,
      zeroPort,
      maxRssKiB: process.resourceUsage().maxRSS,
      stats: socks.map(statsOf)[0],
    };
    if (mark0) {
      msg.t0 = mark0.t;
      msg.t1 = t1;
      msg.count = count - mark0.count;
      msg.bytes = bytes - mark0.bytes;
      msg.cpuUs = cpuNow() - mark0.cpu;
    }
    finish(socks, msg);
  };
  if (cfg.startOnFirst) {
    // The window opens a warm-up after the first datagram, not after start-up: the load
    // generator starts a little after we report ready.
    const first = () => {
      firstAt = hr();
      for (const s of socks) s.removeListener('message', first);
      setTimeout(markStart, cfg.warmupMs || 0);
    };
    for (const s of socks) s.on('message', first);
    // A receiver that never receives fails in seconds, not at the run's deadline.
    setTimeout(() => { if (firstAt === null) fail(new Error('no datagram received within 5 s')); }, 5000).unref();
  } else {
    setTimeout(markStart, cfg.warmupMs || 0);
  }
  onStop(end);
  emit({ type: 'ready', ports, t: hr() });
}

async function sender() {
  const s = createSocket();
  let errors = 0;
  s.on('error', () => { errors++; }); // send errors without a callback arrive here
  await bindLocal(s);
  const ports = cfg.ports;
  const host = cfg.family === 6 ? '::1' : '127.0.0.1';
  if (cfg.connected) {
    await new Promise((resolve, reject) => {
      s.once('error', reject);
      s.connect(ports[0], host, () => { s.removeListener('error', reject); resolve(); });
    });
  }
  const payload = Buffer.alloc(cfg.size, 0x61);
  const batch = cfg.batch || 128;
  const maxInflight = cfg.maxInflight || 1024;
  const queueLimit = cfg.queueLimit || 4096;
  const hasQueueCount = typeof s.getSendQueueCount === 'function';
  let sent = 0;
  let completed = 0;
  let inflight = 0;
  let rr = 0;
  const onSent = (err) => {
    inflight--;
    completed++;
    if (err) errors++;
  };
  if (cfg.sampleMs) setInterval(() => emit({ type: 'sample', t: hr(), sent }), cfg.sampleMs);

  const start = hr();
  const rateStart = start;
  let mark0 = null;
  let stopped = false;
  const pump = () => {
    if (stopped) return;
    const now = hr();
    if (!mark0 && now - start >= (cfg.warmupMs || 0) * 1e6) {
      mark0 = { t: now, sent, completed, cpu: cpuNow() };
    }
    if (mark0 && cfg.windowMs && now - mark0.t >= cfg.windowMs * 1e6) return end();
    let n = batch;
    if (cfg.rate) n = Math.min(batch, Math.floor(((now - rateStart) / 1e9) * cfg.rate) - sent);
    // Bound what is queued: a loop faster than the kernel would otherwise grow memory without
    // limit and measure the allocator. Callbacks bound it exactly, getSendQueueCount() otherwise.
    if (cfg.callbacks) n = Math.min(n, maxInflight - inflight);
    else if (hasQueueCount && s.getSendQueueCount() > queueLimit) n = 0;
    for (let i = 0; i < n; i++) {
      sent++;
      if (cfg.connected) {
        if (cfg.callbacks) { inflight++; s.send(payload, onSent); } else s.send(payload);
      } else {
        const port = ports[rr++ % ports.length];
        if (cfg.callbacks) { inflight++; s.send(payload, port, host, onSent); } else s.send(payload, port, host);
      }
    }
    setImmediate(pump);
  };
  const end = () => {
    if (stopped) return;
    stopped = true;
    const t1 = hr();
    const msg = {
      type: 'done',
      totalSent: sent,
      errors,
      hasQueueCount,
      stats: statsOf(s),
    };
    if (mark0) {
      msg.t0 = mark0.t;
      msg.t1 = t1;
      msg.sent = sent - mark0.sent;
      msg.completed = completed - mark0.completed;
      msg.cpuUs = cpuNow() - mark0.cpu;
    }
    // Let queued datagrams leave before closing (close() may discard them), but not for long.
    const deadline = hr() + 300e6;
    const drain = () => {
      const queued = cfg.callbacks ? inflight : (hasQueueCount ? s.getSendQueueCount() : 0);
      if (queued > 0 && hr() < deadline) return setTimeout(drain, 5);
      msg.stats = statsOf(s) || msg.stats;
      finish([s], msg);
    };
    drain();
  };
  onStop(end);
  emit({ type: 'ready', t: start });
  setImmediate(pump);
}

async function echoServer() {
  const s = createSocket();
  let count = 0;
  s.on('message', (msg, rinfo) => {
    count++;
    s.send(msg, rinfo.port, rinfo.address);
  });
  let errors = 0;
  s.on('error', () => { errors++; });
  const port = await bindLocal(s);
  const cpu0 = cpuNow();
  onStop(() => finish([s], { type: 'done', count, errors, cpuUs: cpuNow() - cpu0, stats: statsOf(s) }));
  emit({ type: 'ready', ports: [port] });
}

async function echoClient() {
  const s = createSocket();
  let errors = 0;
  s.on('error', () => { errors++; });
  await bindLocal(s);
  // Connected, as a latency-minded client would be (and as the native pinger is): no per-send
  // address resolution.
  await new Promise((resolve) => s.connect(cfg.port, cfg.family === 6 ? '::1' : '127.0.0.1', resolve));
  const buf = Buffer.alloc(Math.max(8, cfg.size || 64), 0x62);
  const rtts = [];
  let seq = 0;
  let sentAt = 0;
  let lost = 0;
  let stale = 0;
  const t0 = hr();
  const measureFrom = t0 + (cfg.warmupMs || 0) * 1e6;
  const endAt = measureFrom + (cfg.windowMs || 1000) * 1e6;
  let done = false;
  const ping = () => {
    if (hr() >= endAt) return end();
    seq++;
    buf.writeUInt32LE(seq, 0);
    sentAt = hr();
    s.send(buf);
  };
  s.on('message', (msg) => {
    const back = hr();
    if (msg.length < 4 || msg.readUInt32LE(0) !== seq) { stale++; return; }
    if (sentAt >= measureFrom) rtts.push(back - sentAt);
    ping();
  });
  // One checker instead of a timer per ping: a lost datagram is re-sent after timeoutMs.
  const timeoutNs = (cfg.timeoutMs || 200) * 1e6;
  const watch = setInterval(() => {
    if (!done && hr() - sentAt > timeoutNs) { lost++; ping(); }
  }, 20);
  const end = () => {
    if (done) return;
    done = true;
    clearInterval(watch);
    const { latencySummary } = require('./stats');
    finish([s], { type: 'done', ...latencySummary(rtts), lost, stale, errors, stats: statsOf(s) });
  };
  onStop(end);
  emit({ type: 'ready', t: t0 });
  ping();
}

const roles = { probe, receiver, sender, 'echo-server': echoServer, 'echo-client': echoClient };
if (!roles[role]) fail(new Error(`unknown role '${role}'`));
roles[role]().catch(fail);
