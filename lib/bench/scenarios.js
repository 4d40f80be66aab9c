'use strict';

// What is measured. Each cell is one (scenario, parameters) pair; run(ctx, subject) starts the
// processes of one repetition for one module, returns { values, raw } and leaves nothing running.
// The issue's numbering is kept in `group` so the report reads like the issue:
//   1 send throughput from one JS loop (counted by a fast receiver, not by the sender)
//   2 receive throughput under a flood one core cannot keep up with
//   3 CPU per datagram at fixed, evenly spaced offered rates
//   4 echo round trip, one datagram in flight
//   5 drops while the receiving JS thread stalls
//   6 peak RSS of the receiver during scenario 2 (measured in the scenario 2 runs)
//   7 both ends the module under test
//   8 a request/response server under many clients, 9 worker threads (scenarios-server.js)
//
// CPU placement: the process measured runs on ctx.cpus.subject, its load on ctx.cpus.load.

const { interpolate } = require('./stats');
const { sleep } = require('./procs');
const { M, metric, withChildren, subjectChild, windowSec, ratio, latencyValues, latencyMetrics } = require('./cell-kit');
const { serverCell, workersCell, echoFloorRun } = require('./scenarios-server');

// The module's echo server in a child of its own (scenarios 4 and 7), once it listens.
async function startEchoServer(ctx, subject, track, budget) {
  const srv = track(subjectChild(ctx, subject, 'echo-server', {}, ctx.cpus.subject, budget));
  const { ports } = await srv.wait('ready', 10000);
  return { srv, ports };
}

const GROUPS = {
  1: 'send throughput, one JS loop',
  2: 'receive under flood',
  3: 'CPU per datagram at a fixed rate',
  4: 'echo round trip (module = server)',
  5: 'receive while JS stalls 20 ms / 100 ms',
  6: 'peak RSS, receiver under flood',
  7: 'end to end (both ends the module)',
  8: 'request/response server (module = server)',
  9: 'worker threads, reusePort, under flood',
};

// 1 ---------------------------------------------------------------------------------------------

function sendCell({ size, dests, callbacks, connected }) {
  const parts = [`${size} B`, connected ? 'connected' : `${dests} dest${dests > 1 ? 's' : ''}`,
    callbacks ? 'callbacks' : 'no callback'];
  return {
    id: `send-${connected ? 'connected' : `${dests}dest`}-${callbacks ? 'cb' : 'nocb'}-${size}`,
    group: 1,
    title: parts.join(', '),
    params: { size, dests, callbacks, connected },
    metrics: [metric('deliveredPerSec', { chart: true }), metric('offeredPerSec'), metric('senderCpuUs'),
      metric('sinkDropFraction', { table: false })],
    async run(ctx, subject) {
      const { warmupMs, windowMs } = ctx.opts;
      const budget = warmupMs + windowMs + 15000;
      return withChildren(async (track) => {
        const sink = track(ctx.lg.sink({ ports: dests, cpu: ctx.cpus.load, timeoutMs: budget }));
        const { ports } = await sink.wait('ready', 10000);
        const tx = track(subjectChild(ctx, subject, 'sender',
          { ports, size, callbacks, connected, warmupMs, windowMs }, ctx.cpus.subject, budget));
        const d = await tx.wait('done', budget);
        await sleep(30); // the sink's next samples cover the window's end
        await sink.stop();
        const samples = sink.all('sample');
        const delivered = interpolate(samples, 'count', d.t1) - interpolate(samples, 'count', d.t0);
        const sinkDrops = (interpolate(samples, 'dropped', d.t1) || 0) - (interpolate(samples, 'dropped', d.t0) || 0);
        const secs = windowSec(d);
        return {
          values: {
            deliveredPerSec: delivered / secs,
            offeredPerSec: d.sent / secs,
            senderCpuUs: ratio(d.cpuUs, d.sent),
            sinkDropFraction: ratio(sinkDrops, delivered + sinkDrops) || 0,
          },
          raw: { sender: d, delivered, sinkDrops, sinkNative: ctx.lg.native },
        };
      });
    },
  };
}

// 2 and 6 ---------------------------------------------------------------------------------------

// Two floods. GSO (sendmmsg of UDP_SEGMENT super-datagrams) is the one a single core can make
// fast enough to swamp any receiver; but a socket with UDP_GRO on receives those super-datagrams
// whole, 64 datagrams per receive, which real traffic from many senders would rarely give it.
// The plain flood (sendmmsg of single datagrams, ~0.6M/s here) is what a per-datagram receive path
// meets; a receiver faster than it is reported as "kept up" under the table.
function floodCell({ size, gso = true }) {
  return {
    id: `flood-${size}${gso ? '' : '-nogso'}`,
    group: 2,
    title: gso ? `${size} B, GSO flood (sendmmsg+UDP_SEGMENT)` : `${size} B, plain flood (sendmmsg, no GSO)`,
    params: { size, gso },
    metrics: [metric('deliveredPerSec', { chart: true }), metric('dropFraction'), metric('cpuPerDgramUs', { chart: true }),
      metric('offeredPerSec'),
      ...(gso ? [metric('peakRssMiB', { group: 6, title: `receiver under GSO flood, ${size} B`, chart: true })] : [])],
    run: (ctx, subject) => receiveUnderFlood(ctx, subject, { size, gso }, { saturating: ctx.lg.native, gso }),
  };
}

/**
 * One repetition of the module's receiver under a load: startLoad(ports, budget) starts the load's
 * child once the receiver is ready. Resolves with the receiver's report and the load's child,
 * stopped.
 */
function receiveUnder(ctx, subject, startLoad) {
  const { warmupMs, windowMs } = ctx.opts;
  const budget = warmupMs + windowMs + 15000;
  return withChildren(async (track) => {
    const rx = track(subjectChild(ctx, subject, 'receiver',
      { startOnFirst: true, warmupMs, windowMs }, ctx.cpus.subject, budget));
    const { ports } = await rx.wait('ready', 10000);
    const load = track(startLoad(ports, budget));
    const d = await rx.wait('done', budget);
    await load.stop();
    return { d, load };
  });
}

/** receiveUnder the load generator's flood (`flood`: size and gso, or size and rate). */
async function receiveUnderFlood(ctx, subject, flood, raw) {
  const { warmupMs, windowMs } = ctx.opts;
  const { d, load } = await receiveUnder(ctx, subject, (ports, budget) => ctx.lg.flood({ port: ports[0], ...flood,
    durationMs: warmupMs + windowMs + 5000, cpu: ctx.cpus.load, timeoutMs: budget }));
  return floodResult(d, load.all('sample'), { ...raw, warmupMs });
}

function floodResult(d, samples, extra) {
  if (d.t0 == null) throw new Error('the receiver got no datagram');
  const offered = interpolate(samples, 'sent', d.t1) - interpolate(samples, 'sent', d.t0);
  if (!(offered > 0)) {
    // The window's timer fired only after the load had stopped: the event loop was blocked
    // (e.g. by one endless delivery of 'message' events). A measurement, not a zero.
    const lateMs = d.firstAt ? Math.round((d.t0 - d.firstAt) / 1e6) : null;
    throw new Error(`no load during the receiver's window: it opened ${lateMs} ms after the first datagram ` +
      `(warm-up ${extra.warmupMs} ms), so the receiver's event loop was blocked that long`);
  }
  const secs = windowSec(d);
  return {
    values: {
      deliveredPerSec: d.count / secs,
      offeredPerSec: offered / secs,
      dropFraction: offered > 0 ? Math.max(0, 1 - d.count / offered) : null,
      deliveredFraction: offered > 0 ? Math.min(1, d.count / offered) : null,
      cpuPerDgramUs: ratio(d.cpuUs, d.count),
      cpuUtil: d.cpuUs / (secs * 1e6),
      peakRssMiB: d.maxRssKiB / 1024,
    },
    raw: { receiver: d, offered, ...extra },
  };
}

// 3 ---------------------------------------------------------------------------------------------

function rateCell({ size, rate }) {
  return {
    id: `rate-${rate / 1000}k-${size}`,
    group: 3,
    title: `${size} B at ${rate / 1000}k/s evenly spaced`,
    params: { size, rate },
    metrics: [metric('cpuPerDgramUs', { chart: true }), metric('cpuUtil'), metric('deliveredFraction')],
    run: (ctx, subject) => receiveUnderFlood(ctx, subject, { size, rate }, { evenlySpaced: ctx.lg.native }),
  };
}

// 4 ---------------------------------------------------------------------------------------------

function echoCell({ size }) {
  return {
    id: `echo-${size}`,
    group: 4,
    title: `${size} B, native pinger -> module's echo server`,
    params: { size },
    metrics: latencyMetrics(),
    floor: true,
    floorRun: (ctx) => echoFloorRun(ctx, size),
    async run(ctx, subject) {
      const { warmupMs, windowMs } = ctx.opts;
      const budget = warmupMs + windowMs + 15000;
      return withChildren(async (track) => {
        const { srv, ports } = await startEchoServer(ctx, subject, track, budget);
        const ping = track(ctx.lg.ping({ port: ports[0], size, warmupMs, windowMs, cpu: ctx.cpus.load, timeoutMs: budget }));
        const d = await ping.wait('done', budget);
        await srv.stop();
        const s = srv.all('done')[0];
        return { values: latencyValues(d), raw: { pinger: d, server: s, pingerNative: ctx.lg.native } };
      });
    },
  };
}

// 5 ---------------------------------------------------------------------------------------------

function stallCell({ size, rate, everyMs, forMs }) {
  return {
    id: `stall-${size}`,
    group: 5,
    title: `${size} B at ${rate / 1000}k/s, JS blocked ${forMs} ms every ${everyMs} ms`,
    params: { size, rate, everyMs, forMs },
    metrics: [metric('deliveredFraction', { chart: true })],
    async run(ctx, subject) {
      // At least ten stall periods whatever the window (six in --quick): with fewer, where the
      // first stall falls relative to the start of the flood moves the result by several percent.
      const floodMs = Math.max(ctx.opts.windowMs, (ctx.opts.quick ? 6 : 10) * everyMs);
      const budget = floodMs + 15000;
      return withChildren(async (track) => {
        const rx = track(subjectChild(ctx, subject, 'receiver',
          { warmupMs: 0, windowMs: null, stall: { everyMs, forMs } }, ctx.cpus.subject, budget));
        const { ports } = await rx.wait('ready', 10000);
        const fl = track(ctx.lg.flood({ port: ports[0], size, rate, durationMs: floodMs, cpu: ctx.cpus.load, timeoutMs: budget }));
        const f = await fl.wait('done', budget);
        await sleep(forMs + 250); // a stall in progress ends, then what is buffered drains
        await rx.stop();
        const d = rx.all('done')[0];
        if (!d) throw new Error('the receiver did not report');
        const sent = f.totalSent ?? f.sent;
        return {
          values: { deliveredFraction: sent > 0 ? Math.min(1, d.total / sent) : null },
          raw: { receiver: d, flood: f, evenlySpaced: ctx.lg.native },
        };
      });
    },
  };
}

// 7 ---------------------------------------------------------------------------------------------

function e2eThroughputCell({ size }) {
  return {
    id: `e2e-send-${size}`,
    group: 7,
    title: `${size} B, JS sender -> JS receiver`,
    params: { size },
    // cpuPerDgramUs is the receiving end's CPU only (the sender's report is kept in raw).
    metrics: [metric('deliveredPerSec', { chart: true }), metric('lossFraction'),
      metric('cpuPerDgramUs', { label: 'receiver CPU us/dgram' })],
    async run(ctx, subject) {
      const { d, load: tx } = await receiveUnder(ctx, subject, (ports, budget) => subjectChild(ctx, subject, 'sender',
        { ports, size, sampleMs: 10, warmupMs: 0, windowMs: null }, ctx.cpus.load, budget));
      const r = floodResult(d, tx.all('sample'), { warmupMs: ctx.opts.warmupMs });
      const s = tx.all('done')[0];
      return {
        values: {
          deliveredPerSec: r.values.deliveredPerSec,
          lossFraction: r.values.dropFraction,
          cpuPerDgramUs: r.values.cpuPerDgramUs,
        },
        raw: { receiver: d, sender: s, offered: r.raw.offered },
      };
    },
  };
}

function e2eEchoCell({ size }) {
  return {
    id: `e2e-echo-${size}`,
    group: 7,
    title: `${size} B echo round trip, JS client -> JS server`,
    params: { size },
    metrics: latencyMetrics(),
    async run(ctx, subject) {
      const { warmupMs, windowMs } = ctx.opts;
      const budget = warmupMs + windowMs + 15000;
      return withChildren(async (track) => {
        const { srv, ports } = await startEchoServer(ctx, subject, track, budget);
        const cl = track(subjectChild(ctx, subject, 'echo-client',
          { port: ports[0], size, warmupMs, windowMs }, ctx.cpus.load, budget));
        const d = await cl.wait('done', budget);
        await srv.stop();
        return { values: latencyValues(d), raw: { client: d, server: srv.all('done')[0] } };
      });
    },
  };
}

// -----------------------------------------------------------------------------------------------

/**
 * The cells of one run. quick: 64 B only and fewer send variants, so that `--quick` fits in 90 s
 * on a 2-core machine; the full run covers 64, 512 and 1200 B where size changes the cost.
 */
function buildCells({ quick }) {
  const sizes = quick ? [64] : [64, 512, 1200];
  const cells = [];
  for (const size of sizes) cells.push(sendCell({ size, dests: 1, callbacks: false, connected: false }));
  cells.push(sendCell({ size: 64, dests: 1, callbacks: true, connected: false }));
  cells.push(sendCell({ size: 64, dests: 16, callbacks: false, connected: false }));
  if (!quick) cells.push(sendCell({ size: 64, dests: 16, callbacks: true, connected: false }));
  cells.push(sendCell({ size: 64, dests: 1, callbacks: false, connected: true }));
  if (!quick) cells.push(sendCell({ size: 1200, dests: 1, callbacks: false, connected: true }));
  for (const size of sizes) cells.push(floodCell({ size }));
  cells.push(floodCell({ size: 64, gso: false }));
  cells.push(rateCell({ size: 64, rate: 10000 }));
  cells.push(rateCell({ size: 64, rate: 100000 }));
  cells.push(echoCell({ size: 64 }));
  if (!quick) cells.push(echoCell({ size: 1200 }));
  cells.push(stallCell({ size: 64, rate: 50000, everyMs: 100, forMs: 20 }));
  cells.push(e2eThroughputCell({ size: 64 }));
  if (!quick) cells.push(e2eThroughputCell({ size: 1200 }));
  cells.push(e2eEchoCell({ size: 64 }));
  cells.push(serverCell({ size: 64, rate: 10000 }));
  cells.push(serverCell({ size: 64, rate: 50000 }));
  cells.push(workersCell({ size: 64 }));
  return cells;
}

/**
 * Keeps the cells selected by a comma-separated list of terms: a scenario number (1-9), an exact
 * cell id, or else a fragment of ids ("echo" selects echo-64 and e2e-echo-64, "echo-64" only it).
 */
function filterCells(cells, only) {
  if (!only) return cells;
  const terms = String(only).split(',').map((s) => s.trim()).filter(Boolean);
  const ids = new Set(cells.map((c) => c.id));
  const selects = (t, c) => {
    if (/^\d+$/.test(t)) return c.group === Number(t) || c.metrics.some((m) => m.group === Number(t));
    return ids.has(t) ? c.id === t : c.id.includes(t);
  };
  return cells.filter((c) => terms.some((t) => selects(t, c)));
}

module.exports = { buildCells, filterCells, GROUPS, METRICS: M };
