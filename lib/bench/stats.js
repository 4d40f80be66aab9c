'use strict';

// Small, dependency-free statistics for the benchmark. Repetitions are few (2-7), so the summary
// is the median with the full min-max range rather than a mean and a standard deviation that a
// handful of noisy samples would not support.

function finite(values) {
  return values.filter((v) => typeof v === 'number' && Number.isFinite(v));
}

function median(values) {
  const v = finite(values).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** { median, min, max, n } of the finite values; nulls when there are none. */
function summarize(values) {
  const v = finite(values);
  if (v.length === 0) return { median: null, min: null, max: null, n: 0 };
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}

/**
 * Nearest-rank quantile of an ascending array (p in [0, 1]): the same definition as the native
 * pinger's, so JS and native round-trip percentiles are comparable.
 */
function quantile(sorted, p) {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length))) - 1;
  return sorted[idx];
}

/** Latency summary (values in ns) with the percentiles the report shows. */
function latencySummary(values) {
  const v = Float64Array.from(values).sort();
  let sum = 0;
  for (const x of v) sum += x;
  return {
    count: v.length,
    min: v.length ? v[0] : null,
    p50: quantile(v, 0.5),
    p90: quantile(v, 0.9),
    p99: quantile(v, 0.99),
    p999: quantile(v, 0.999),
    max: v.length ? v[v.length - 1] : null,
    mean: v.length ? sum / v.length : null,
  };
}

/**
 * The value of a cumulative counter at time t, linearly interpolated between the two samples
 * around t. Samples come from another process ({ t, [key] }, t in CLOCK_MONOTONIC ns), so a mark
 * taken in one process can be read off the counter of another without any message round trip.
 * Outside the sampled span the nearest sample is used (clamped, never extrapolated).
 */
function interpolate(samples, key, t) {
  if (!samples || samples.length === 0) return null;
  if (t <= samples[0].t) return samples[0][key];
  const last = samples[samples.length - 1];
  if (t >= last.t) return last[key];
  let lo = 0;
  let hi = samples.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (samples[mid].t <= t) lo = mid; else hi = mid;
  }
  const a = samples[lo];
  const b = samples[hi];
  if (b.t === a.t) return b[key];
  return a[key] + (b[key] - a[key]) * ((t - a.t) / (b.t - a.t));
}

/** Per-repetition ratios b[i] / a[i] where both are usable. */
function pairedRatios(a, b) {
  const out = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (typeof x === 'number' && typeof y === 'number' && Number.isFinite(x) && Number.isFinite(y) && x !== 0) {
      out.push(y / x);
    } else {
      out.push(null);
    }
  }
  return out;
}

module.exports = { median, summarize, quantile, latencySummary, interpolate, pairedRatios };
