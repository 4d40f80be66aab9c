'use strict';

// From raw runs to the figures reported: one row per (cell, metric) with each module's median and
// min-max over the repetitions, and the ratio module/baseline taken per repetition (A_r and B_r
// ran back to back, so their ratio cancels slow drifts of the machine that medians alone keep).

const { summarize, pairedRatios } = require('./stats');

/** Value of metric `key` in repetition order for one subject; null where a run failed. */
function series(result, label, key, reps) {
  const out = new Array(reps).fill(null);
  for (const run of result.runs) {
    if (run.subject === label && run.ok && run.values[key] != null) out[run.rep] = run.values[key];
  }
  return out;
}

function buildRows(results, subjects, reps) {
  const rows = [];
  const [base, ...others] = subjects;
  for (const result of results) {
    const { cell } = result;
    for (const m of cell.metrics) {
      const perSubject = subjects.map((s) => {
        const values = series(result, s.label, m.key, reps);
        return { label: s.label, values, ...summarize(values) };
      });
      const baseValues = perSubject[0].values;
      const ratios = others.map((s, i) => {
        const perRep = pairedRatios(baseValues, perSubject[i + 1].values);
        return { label: s.label, over: base.label, perRep, ...summarize(perRep) };
      });
      // The C floor's figure for this metric (scenarios 4 and 8), beside the subjects.
      const floor = cell.floor ? summarize(series(result, 'C floor', m.key, reps)) : null;
      rows.push({
        cell: cell.id,
        group: m.group || cell.group,
        title: m.title || cell.title,
        metric: m.key,
        label: m.label,
        better: m.better,
        fmt: m.fmt,
        chart: Boolean(m.chart),
        table: m.table !== false,
        perSubject,
        ratios,
        ...(floor && floor.n > 0 ? { floor } : {}),
      });
    }
  }
  // Issue order: scenario 6 (measured inside 2's runs) is listed after 5.
  return rows.map((r, i) => [r, i]).sort((a, b) => a[0].group - b[0].group || a[1] - b[1]).map(([r]) => r);
}

/**
 * Warnings about the measurement itself, printed under the table and kept in the JSON: a result
 * is only what it claims to be if the load side was not the limit.
 */
function buildNotes(rows, { nativeLoadgen, results = [] }) {
  const notes = [];
  if (!nativeLoadgen) {
    notes.push('The native load generator was not built: Node stand-ins made the load, so the flood (2, 6) ' +
      'may not exceed the receiver, the fixed rates (3, 5) are not evenly spaced, and 1 is counted by a Node receiver.');
  }
  notes.push(...receiverStatsNotes(results));
  for (const { cell, runs } of results) {
    const failed = new Map();
    for (const run of runs) if (run.ok && run.raw && run.raw.twoError) failed.set(run.subject, run.raw.twoError);
    for (const [subject, why] of failed) notes.push(`${cell.id} ${subject}: 2 workers not measured: ${why}`);
  }
  for (const r of rows) {
    const worst = Math.max(...r.perSubject.map((s) => s.max ?? 0));
    if (r.metric === 'sinkDropFraction' && worst > 0.01) {
      notes.push(`${r.cell}: the counting receiver dropped up to ${(worst * 100).toFixed(1)}% (it, not the sender, may be the limit).`);
    }
    if (r.metric === 'dropFraction' && r.group === 2) {
      const least = Math.min(...r.perSubject.map((s) => s.min ?? 1));
      if (least < 0.05) notes.push(`${r.cell}: a receiver kept up with the flood (dropped ${(least * 100).toFixed(1)}%): its delivered/s is the flooder's rate, a lower bound.`);
    }
  }
  return notes;
}

/**
 * The flood receivers' own counters (getStats(), a turbo-dgram extra; in the JSON as
 * raw.receiver.stats), summed over the repetitions: where the datagrams the receiver missed went.
 */
function receiverStatsNotes(results) {
  const notes = [];
  for (const { cell, runs } of results) {
    if (cell.group !== 2) continue;
    const bySubject = new Map();
    for (const run of runs) {
      const st = run.ok ? run.raw?.receiver?.stats : undefined;
      if (!st || st.error) continue;
      const sum = bySubject.get(run.subject) ?? { receivedDatagrams: 0, kernelDrops: 0, pendingDrops: 0, receiveBatches: 0 };
      for (const key of Object.keys(sum)) sum[key] += st[key] ?? 0;
      bySubject.set(run.subject, sum);
    }
    for (const [subject, sum] of bySubject) {
      const mean = sum.receiveBatches ? (sum.receivedDatagrams / sum.receiveBatches).toFixed(1) : '-';
      notes.push(`${cell.id} ${subject} getStats(): ${sum.receivedDatagrams} received, ${sum.kernelDrops} kernel drops, ` +
        `${sum.pendingDrops} pending-cap drops, ${mean} datagrams per batch (all repetitions).`);
    }
  }
  return notes;
}

/** The JSON document: everything measured, raw child reports included, plus the machine. */
function buildDocument({ options, machine, subjects, floor = null, loadgen, cpus, results, rows, notes, started, finished, groups }) {
  return {
    tool: 'turbo-dgram-bench',
    schema: 1,
    started: new Date(started).toISOString(),
    finished: new Date(finished).toISOString(),
    seconds: Math.round((finished - started) / 100) / 10,
    options,
    machine,
    pinning: cpus,
    loadgen,
    subjects,
    floor,
    groups,
    notes,
    cells: results.map(({ cell, runs }) => ({
      id: cell.id,
      group: cell.group,
      title: cell.title,
      params: cell.params,
      metrics: cell.metrics.map(({ key, label, better, group }) => ({ key, label, better, group: group || cell.group })),
      runs,
    })),
    summary: rows.map(({ chart, table, fmt, ...rest }) => rest),
  };
}

module.exports = { buildRows, buildNotes, buildDocument };
