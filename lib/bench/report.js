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
      });
    }
  }
  // Issue order: scenario 6 (measured inside 2's runs) is listed after 5.
  return rows.map((r, i) => [r, i]).sort((a, b) => a[0].group - b[0].group || a[1] - b[1]).map(([r]) => r);
}

/** The JSON document: everything measured, raw child reports included, plus the machine. */
function buildDocument({ options, machine, subjects, loadgen, cpus, results, rows, started, finished, groups }) {
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
    groups,
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

module.exports = { buildRows, buildDocument };
