'use strict';

// What every scenario cell is built from: the metric catalogue, child bookkeeping (nothing
// outlives a run), the module's Node child, and the latency figures.

const { nodeChild } = require('./loadgen');

// Metric catalogue: label for the table, which way is better (null: context only, no verdict).
const M = {
  deliveredPerSec: { label: 'delivered/s', better: 'higher', fmt: 'rate' },
  offeredPerSec: { label: 'offered/s', better: null, fmt: 'rate' },
  senderCpuUs: { label: 'sender CPU us/dgram', better: 'lower', fmt: 'us' },
  dropFraction: { label: 'dropped', better: 'lower', fmt: 'pct' },
  lossFraction: { label: 'lost', better: 'lower', fmt: 'pct' },
  cpuPerDgramUs: { label: 'CPU us/dgram', better: 'lower', fmt: 'us' },
  cpuUtil: { label: 'CPU busy', better: 'lower', fmt: 'pct' },
  deliveredFraction: { label: 'delivered', better: 'higher', fmt: 'pct' },
  peakRssMiB: { label: 'peak RSS MiB', better: 'lower', fmt: 'mib' },
  p50Us: { label: 'RTT p50 us', better: 'lower', fmt: 'us' },
  p99Us: { label: 'RTT p99 us', better: 'lower', fmt: 'us' },
  p999Us: { label: 'RTT p99.9 us', better: 'lower', fmt: 'us' },
  sinkDropFraction: { label: 'sink dropped', better: null, fmt: 'pct' },
  cpuPerRequestUs: { label: 'server CPU us/request', better: 'lower', fmt: 'us' },
  replyP50Us: { label: 'reply p50 us', better: 'lower', fmt: 'us' },
  replyP99Us: { label: 'reply p99 us', better: 'lower', fmt: 'us' },
  replyP999Us: { label: 'reply p99.9 us', better: 'lower', fmt: 'us' },
  repliesLost: { label: 'replies lost', better: 'lower', fmt: 'pct' },
  oneWorkerPerSec: { label: '1 worker delivered/s', better: 'higher', fmt: 'rate' },
  workerScaling: { label: '2 workers / 1 worker', better: 'higher', fmt: 'x' },
};

function metric(key, extra = {}) {
  return { key, ...M[key], ...extra };
}

/** Runs fn(spawn) and afterwards stops (then kills) every child it spawned, whatever happened. */
async function withChildren(fn) {
  const kids = [];
  const track = (c) => { kids.push(c); return c; };
  try {
    return await fn(track);
  } finally {
    await Promise.all(kids.map((c) => c.stop(2000)));
  }
}

function subjectChild(ctx, subject, role, cfg, cpu, timeoutMs) {
  return nodeChild(ctx.node, role,
    { module: subject.module, driver: subject.driver, label: subject.label, ...cfg },
    { cpu, env: subject.env, timeoutMs });
}

const windowSec = (d) => (d.t1 - d.t0) / 1e9;
const ratio = (a, b) => (b > 0 ? a / b : null);

function latencyValues(d) {
  if (!d.count) throw new Error('no round trip completed');
  return { p50Us: d.p50 / 1e3, p99Us: d.p99 / 1e3, p999Us: d.p999 / 1e3 };
}

const latencyMetrics = () => [metric('p50Us', { chart: true }), metric('p99Us', { chart: true }), metric('p999Us')];

module.exports = { M, metric, withChildren, subjectChild, windowSec, ratio, latencyValues, latencyMetrics };
