'use strict';

// The scenarios that look like a deployed service (issue 12):
//   8 a request/response server: 64 clients (source ports) sending requests at a fixed total rate,
//     the module's JS server answering each; server CPU per request, reply latency, replies lost
//   9 worker threads: 2 workers, each with a reusePort socket on one port, under a flood from 64
//     source ports, against 1 worker
// and the C floor of the echo-shaped ones (lib/bench/floor.js), run by index.js beside the
// subjects: cell.floorRun(ctx) measures the same thing against a C echo server.

const { interpolate } = require('./stats');
const { metric, withChildren, subjectChild, windowSec, ratio } = require('./cell-kit');
const { Child } = require('./procs');

// A reply not back within this long is lost (a stalled JS server answers late, not never).
const REPLY_TIMEOUT_MS = 500;
const CLIENTS = 64;
// Each request carries its client's sequence number in its first bytes and the echo brings it
// back, so a reply is matched to its own request. Matched oldest-first instead, one lost request
// shifted every later reply of that client onto an earlier send time until the loss timed out:
// a few drops made p50 read 6-180 ms for any module.
const TAG_BYTES = 8;

/**
 * One repetition against a server started by startServer(track, budget) (a module's JS server or
 * the C floor): the native clients at `rate`; the server reports its own window's CPU and count.
 */
async function requestResponse(ctx, startServer, { rate, size }) {
  const { warmupMs, windowMs } = ctx.opts;
  const budget = warmupMs + windowMs + REPLY_TIMEOUT_MS + 15000;
  return withChildren(async (track) => {
    const srv = track(startServer(budget));
    const { ports } = await srv.wait('ready', 10000);
    const cl = track(ctx.lg.clients({ port: ports[0], ports: CLIENTS, rate, size, warmupMs, windowMs,
      tagBytes: Math.min(TAG_BYTES, size), replyTimeoutMs: REPLY_TIMEOUT_MS, cpu: ctx.cpus.load, timeoutMs: budget }));
    const c = await cl.wait('done', budget);
    await srv.stop();
    const s = srv.all('done')[0];
    if (!s || s.t0 == null) throw new Error('the server reported no window (did it receive anything?)');
    // No reply in the window (all later than the timeout) is a measurement: 100% lost, no latency.
    const us = (ns) => (c.count ? ns / 1e3 : null);
    return {
      values: {
        cpuPerRequestUs: ratio(s.cpuUs, s.count),
        replyP50Us: us(c.p50),
        replyP99Us: us(c.p99),
        replyP999Us: us(c.p999),
        repliesLost: c.sent > 0 ? c.lost / c.sent : null,
        deliveredPerSec: s.count / windowSec(s),
      },
      raw: { clients: c, server: s },
    };
  });
}

function serverCell({ size, rate }) {
  return {
    id: `server-${rate / 1000}k-${size}`,
    group: 8,
    title: `${CLIENTS} clients, ${rate / 1000}k requests/s, ${size} B`,
    params: { size, rate, clients: CLIENTS, replyTimeoutMs: REPLY_TIMEOUT_MS },
    floor: true,
    metrics: [metric('cpuPerRequestUs', { chart: true }), metric('replyP50Us'), metric('replyP99Us', { chart: true }),
      metric('replyP999Us'), metric('repliesLost'), metric('deliveredPerSec', { table: false })],
    run(ctx, subject) {
      const { warmupMs, windowMs } = ctx.opts;
      return requestResponse(ctx, (budget) => subjectChild(ctx, subject, 'receiver',
        { reply: true, startOnFirst: true, warmupMs, windowMs }, ctx.cpus.subject, budget), { rate, size });
    },
    floorRun(ctx) {
      const { warmupMs, windowMs } = ctx.opts;
      return requestResponse(ctx, (budget) => floorServer(ctx, warmupMs, windowMs, budget), { rate, size });
    },
  };
}

/** The C echo server as a child, on the measured process's CPU. */
function floorServer(ctx, warmupMs, windowMs, budget) {
  return new Child('C floor', ctx.floor.path, [String(warmupMs), String(windowMs)], { cpu: ctx.cpus.subject, timeoutMs: budget });
}

/** The echo cell's floor: the native pinger against the C echo server. */
async function echoFloorRun(ctx, size) {
  const { warmupMs, windowMs } = ctx.opts;
  const budget = warmupMs + windowMs + 15000;
  return withChildren(async (track) => {
    const srv = track(floorServer(ctx, 0, 0, budget));
    const { ports } = await srv.wait('ready', 10000);
    const ping = track(ctx.lg.ping({ port: ports[0], size, warmupMs, windowMs, cpu: ctx.cpus.load, timeoutMs: budget }));
    const d = await ping.wait('done', budget);
    if (!d.count) throw new Error('no round trip completed');
    return { values: { p50Us: d.p50 / 1e3, p99Us: d.p99 / 1e3, p999Us: d.p999 / 1e3 }, raw: { pinger: d } };
  });
}

// 9 ---------------------------------------------------------------------------------------------

/** One run of `workers` worker threads under the flood; resolves with the receiver's report. */
async function floodWorkers(ctx, subject, workers, size) {
  const { warmupMs, windowMs } = ctx.opts;
  const budget = warmupMs + windowMs + 15000;
  return withChildren(async (track) => {
    // Every CPU but the load's: the workers may spread (on 2 CPUs that is still one).
    const rx = track(subjectChild(ctx, subject, 'workers', { workers, warmupMs, windowMs }, ctx.cpus.subjectSet, budget));
    const { ports } = await rx.wait('ready', 10000);
    const fl = track(ctx.lg.flood({ port: ports[0], size, sources: CLIENTS, durationMs: warmupMs + windowMs + 5000,
      cpu: ctx.cpus.load, timeoutMs: budget }));
    const d = await rx.wait('done', budget);
    await fl.stop();
    if (d.t0 == null) throw new Error('the receiver got no datagram');
    const samples = fl.all('sample');
    const offered = interpolate(samples, 'sent', d.t1) - interpolate(samples, 'sent', d.t0);
    return { deliveredPerSec: d.count / windowSec(d), offeredPerSec: offered / windowSec(d), cpuPerDgramUs: ratio(d.cpuUs, d.count), report: d };
  });
}

function workersCell({ size }) {
  return {
    id: `workers-${size}`,
    group: 9,
    title: `2 workers, reusePort, flood from ${CLIENTS} ports, ${size} B`,
    params: { size, workers: 2, sources: CLIENTS },
    metrics: [metric('deliveredPerSec', { label: '2 workers delivered/s', chart: true }), metric('oneWorkerPerSec'),
      metric('workerScaling'), metric('cpuPerDgramUs', { label: '2 workers CPU us/dgram' })],
    async run(ctx, subject) {
      const one = await floodWorkers(ctx, subject, 1, size);
      const values = { oneWorkerPerSec: one.deliveredPerSec };
      const raw = { one };
      try {
        const two = await floodWorkers(ctx, subject, 2, size);
        Object.assign(values, { deliveredPerSec: two.deliveredPerSec, workerScaling: ratio(two.deliveredPerSec, one.deliveredPerSec),
          cpuPerDgramUs: two.cpuPerDgramUs });
        raw.two = two;
      } catch (err) {
        // One worker measured, two not (e.g. a builtin without reusePort): a partial result.
        raw.twoError = String(err.message || err);
      }
      return { values, raw };
    },
  };
}

module.exports = { serverCell, workersCell, echoFloorRun };
