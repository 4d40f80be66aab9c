'use strict';

// One run of the user's app: start COMMAND in a process group of its own, wait until its tree
// binds the UDP port, drive it with the native load generator, read its CPU, drops and memory
// from /proc around the window, and stop the whole group. Anything wrong with the app itself
// (does not start, never binds, exits early or mid-run) is an AppError: the bench stops there.

const { spawn } = require('node:child_process');
const { interpolate } = require('../stats');
const { taskset, sleep } = require('../procs');
const pt = require('./proctree');

class AppError extends Error {}

const hr = () => Number(process.hrtime.bigint());
// Replies later than this are lost (and the closed-loop echo sends the next request).
const REPLY_TIMEOUT_MS = 500;
const SOURCES = 64;

// Apps running now: whatever ends the bench (an error, Ctrl-C through guardProcess's handlers)
// kills their process groups on the way out.
const liveApps = new Set();
process.on('exit', () => {
  for (const app of liveApps) { try { process.kill(-app.pid, 'SIGKILL'); } catch { /* gone */ } }
});

function startApp(command, env, cpu) {
  const [cmd, ...args] = command;
  const pinned = cpu != null && taskset();
  const proc = spawn(pinned ? taskset() : cmd, pinned ? ['-c', String(cpu), cmd, ...args] : args,
    { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const app = { proc, pid: proc.pid, output: '', exit: null };
  if (proc.pid) liveApps.add(app);
  const keep = (d) => { app.output = (app.output + d).slice(-4000); };
  proc.stdout.setEncoding('utf8').on('data', keep);
  proc.stderr.setEncoding('utf8').on('data', keep);
  app.exited = new Promise((resolve) => {
    proc.on('error', (err) => { app.spawnError = err; });
    proc.on('close', (code, signal) => { app.exit = { code, signal }; resolve(app.exit); });
  });
  return app;
}

function tail(app) {
  const t = app.output.trim().split('\n').slice(-8).join('\n  ');
  return t ? `\n  its last output:\n  ${t}` : ' (it printed nothing)';
}

function exitText(app) {
  if (app.spawnError) return `could not be started (${app.spawnError.code || app.spawnError.message})`;
  return app.exit.signal ? `was killed by ${app.exit.signal}` : `exited with code ${app.exit.code}`;
}

/** Stops the app's whole process group (and any of its tree that left the group). */
async function stopApp(app) {
  const pids = app.exit ? [] : pt.treeOf(app.pid);
  const signal = (sig) => {
    try { process.kill(-app.pid, sig); } catch { /* group gone */ }
    for (const pid of pids) { try { process.kill(pid, sig); } catch { /* gone */ } }
  };
  signal('SIGTERM');
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline && (!app.exit || pids.some((p) => pt.statFields(p)))) await sleep(20);
  signal('SIGKILL');
  await Promise.race([app.exited, sleep(1000)]);
  liveApps.delete(app);
}

/** The port to drive and the process holding it, once the app's tree has bound it. */
async function waitForPort(app, o) {
  const deadline = Date.now() + o.bindTimeoutMs;
  const { lo, hi } = pt.ephemeralRange();
  for (;;) {
    if (app.exit || app.spawnError) throw new AppError(`the app ${exitText(app)} before binding a UDP port${tail(app)}`);
    const bound = pt.boundPorts(pt.treeOf(app.pid));
    if (o.port != null) {
      const hit = bound.find((b) => b.port === o.port);
      if (hit) return hit;
    } else {
      const ports = [...new Set(bound.map((b) => b.port))];
      const fixed = ports.filter((p) => p < lo || p > hi);
      const pick = ports.length === 1 ? ports : fixed;
      if (pick.length === 1) return bound.find((b) => b.port === pick[0]);
      if (pick.length > 1) throw new AppError(`the app binds several UDP ports (${ports.join(', ')}): choose one with --port`);
    }
    if (Date.now() > deadline) {
      throw new AppError(`the app did not bind ${o.port != null ? `UDP port ${o.port}` : 'a UDP port'} within ${o.bindTimeoutMs} ms ` +
        `(--bind-timeout-ms)${tail(app)}`);
    }
    await sleep(50);
  }
}

/** Resolves at CLOCK_MONOTONIC time `t` (ns), or rejects if the app exits first. */
async function until(app, t) {
  const ms = Math.max(0, (t - hr()) / 1e6);
  const r = await Promise.race([sleep(ms).then(() => 'time'), app.exited.then(() => 'exit')]);
  if (r === 'exit') throw new AppError(`the app ${exitText(app)} during the run${tail(app)}`);
}

function mark(app, port) {
  return { t: hr(), cpuUs: pt.cpuUs(pt.treeOf(app.pid)), drops: pt.portDrops(port) };
}

function startLoad(o, lg, port, payload, cpus, budget) {
  const { kind, rate } = o.loadSpec;
  const common = { port, payloadFile: payload.file, cpu: cpus.load, timeoutMs: budget };
  if (kind === 'echo' || kind === 'requests') {
    return lg.clients({ ...common, ports: kind === 'echo' ? 1 : SOURCES, rate, tagBytes: payload.tagBytes,
      warmupMs: o.warmupMs, windowMs: o.windowMs, replyTimeoutMs: REPLY_TIMEOUT_MS });
  }
  return lg.flood({ ...common, rate, sources: SOURCES, durationMs: o.warmupMs + o.windowMs + 3000 });
}

/** One run: { values, raw }; throws AppError for the app's own failures. */
async function runApp({ o, subject, cpus, lg, payload }) {
  const budget = o.bindTimeoutMs + o.warmupMs + o.windowMs + REPLY_TIMEOUT_MS + 20000;
  const app = startApp(o.command, subject.env, cpus.subject);
  let load = null;
  try {
    const bound = await waitForPort(app, o);
    const detected = pt.detectDgram(bound.pid);
    load = startLoad(o, lg, bound.port, payload, cpus, budget);
    const ready = await Promise.race([load.wait('ready', 10000), app.exited.then(() => null)]);
    if (!ready) throw new AppError(`the app ${exitText(app)} during the run${tail(app)}`);
    const from = ready.t + o.warmupMs * 1e6;
    await until(app, from);
    const a = mark(app, bound.port);
    await until(app, from + o.windowMs * 1e6);
    const b = mark(app, bound.port);
    const replies = o.loadSpec.kind === 'echo' || o.loadSpec.kind === 'requests';
    const done = replies ? await load.wait('done', budget) : (await load.stop(), null);
    if (app.exit) throw new AppError(`the app ${exitText(app)} during the run${tail(app)}`);
    const peakRssKiB = pt.peakRssKiB(bound.pid);
    const detectedEnd = pt.detectDgram(bound.pid);
    const secs = (b.t - a.t) / 1e9;
    const samples = load.all('sample');
    const cpuUs = b.cpuUs - a.cpuUs;
    const drops = b.drops - a.drops;
    const values = { peakRssMiB: peakRssKiB / 1024, cpuUtil: cpuUs / (secs * 1e6) };
    if (replies) {
      const answered = interpolate(samples, 'replies', b.t) - interpolate(samples, 'replies', a.t);
      Object.assign(values, {
        deliveredPerSec: answered / secs,
        lossFraction: done.sent > 0 ? done.lost / done.sent : null,
        cpuPerDgramUs: answered > 0 ? cpuUs / answered : null,
        p50Us: done.count ? done.p50 / 1e3 : null,
        p99Us: done.count ? done.p99 / 1e3 : null,
        p999Us: done.count ? done.p999 / 1e3 : null,
        dropFraction: done.sent > 0 ? drops / done.sent : null,
      });
    } else {
      const offered = interpolate(samples, 'sent', b.t) - interpolate(samples, 'sent', a.t);
      Object.assign(values, {
        offeredPerSec: offered / secs,
        deliveredPerSec: Math.max(0, offered - drops) / secs,
        dropFraction: offered > 0 ? drops / offered : null,
        cpuPerDgramUs: offered - drops > 0 ? cpuUs / (offered - drops) : null,
      });
    }
    return {
      values,
      detected: { ...detected, reactorThreadsAtEnd: detectedEnd.reactorThreads, pid: bound.pid },
      raw: { port: bound.port, window: { a, b }, kernelDrops: drops, cpuUs, peakRssKiB, load: done || samples[samples.length - 1] },
    };
  } finally {
    if (load) await load.stop(1000);
    await stopApp(app);
  }
}

module.exports = { runApp, AppError, stopApp, startApp, REPLY_TIMEOUT_MS };
