'use strict';

// `turbo-dgram-bench app [options] -- COMMAND [ARGS...]`: the user's own app, A/B. The plan is the
// bench's: subjects take turns within each repetition, progress and time left on stderr, a table
// of medians and per-repetition ratios on stdout, the JSON of every raw figure and an SVG chart
// in --out. The first failure of the app itself stops the run with exit code 1.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { parseAppArgs, USAGE, UsageError } = require('./options');
const { buildSubjects } = require('./subjects');
const { preparePayload } = require('./payloads');
const { runApp, AppError, REPLY_TIMEOUT_MS } = require('./run');
const { M } = require('../cell-kit');
const { LoadGen, findNative, NATIVE_NAME } = require('../loadgen');
const { cpuPlan, guardProcess } = require('../procs');
const { describeMachine } = require('../machine');
const { buildRows, buildDocument } = require('../report');
const { renderTable, renderNotes } = require('../table');
const { createProgress } = require('../progress');
const { renderSvg } = require('../svg');

const STARTUP_MS = 600; // start, bind and stop of a small Node app, for the first time estimate

function metricsFor(kind) {
  const m = (key, extra) => ({ key, ...M[key], ...extra });
  const replies = kind === 'echo' || kind === 'requests';
  return [
    m('deliveredPerSec', { label: replies ? 'replies/s' : 'delivered/s', chart: kind !== 'echo' }),
    ...(replies ? [m('p50Us', { chart: true }), m('p99Us', { chart: true }), m('p999Us'), m('lossFraction', { label: 'replies lost' })] :
      [m('offeredPerSec')]),
    m('dropFraction', { label: 'kernel drops' }),
    m('cpuPerDgramUs', { label: `app CPU us/${replies ? 'request' : 'dgram'}`, chart: true }),
    m('cpuUtil', { label: 'app CPU busy' }),
    m('peakRssMiB', { chart: true }),
  ];
}

const secs = (ms) => `${Math.max(0, Math.round(ms / 1000))} s`;

async function appMain(argv, io = { stdout: process.stdout, stderr: process.stderr }) {
  const progress = createProgress(io.stderr);
  const log = progress.log;
  let o;
  try {
    o = parseAppArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    log(`turbo-dgram-bench app: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (o.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  guardProcess();
  const nativePath = findNative(null);
  if (!nativePath) {
    log(`turbo-dgram-bench app: needs the native load generator (${NATIVE_NAME}): npm run build`);
    return 1;
  }
  const started = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-dgram-app-'));
  process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
  let payload;
  let plan;
  try {
    payload = preparePayload(o.payload, tmp);
    plan = buildSubjects(o);
  } catch (err) {
    log(`turbo-dgram-bench app: ${err.message}`);
    return 1;
  }
  const { subjects } = plan;
  const cpus = cpuPlan(o.pin);
  const lg = new LoadGen({ nativePath, node: process.execPath });
  const machine = describeMachine({ node: process.execPath });
  const cell = {
    id: `app-${o.loadSpec.kind}`,
    group: 1,
    title: `${o.loadSpec.text}, ${payload.describe}`,
    params: { load: o.loadSpec, payload: { name: payload.name, bytes: payload.bytes.length, tagBytes: payload.tagBytes } },
    metrics: metricsFor(o.loadSpec.kind),
  };
  const total = o.reps * subjects.length;
  const perRunMs = o.warmupMs + o.windowMs + STARTUP_MS;
  log(`turbo-dgram-bench app: ${o.command.join(' ')}\n  ${subjects.map((s) => s.label).join(' vs ')}; ${o.reps} reps x ` +
    `${subjects.length} subjects = ${total} runs, about ${secs(total * perRunMs)}; load ${o.loadSpec.text}, payload ${payload.describe}; ` +
    `hook ${plan.hook.option} via NODE_OPTIONS${cpus.pinned ? `; app on CPU ${cpus.subject}, load on CPU ${cpus.load}` : ''}`);

  const result = { cell, runs: [] };
  let done = 0;
  let spent = 0;
  for (let rep = 0; rep < o.reps; rep++) {
    for (const subject of subjects) {
      const left = done ? (spent / done) * (total - done) : total * perRunMs;
      const step = `[${done + 1}/${total}] ${subject.label} | rep ${rep + 1}/${o.reps}`;
      progress.status(`${step} | ~${secs(left)} left`);
      const t = Date.now();
      const run = { subject: subject.label, rep, ok: false };
      try {
        const r = await runApp({ o, subject, cpus, lg, payload });
        Object.assign(run, { ok: true, values: r.values, raw: r.raw, detected: r.detected, hookTookEffect: r.detected.dgram === subject.expect });
        // What this run really used: a step like the others, unless it is not what was asked.
        const inUse = `${step}: dgram in use: ${r.detected.dgram} (pid ${r.detected.pid}${r.detected.reactorThreads ? ', reactor thread running' : ''})`;
        if (run.hookTookEffect) progress.status(inUse);
        else log(`${inUse} -- expected ${subject.expect}!`);
      } catch (err) {
        if (err instanceof AppError) {
          log(`turbo-dgram-bench app: ${subject.label}, rep ${rep + 1}: ${err.message}`);
          log('turbo-dgram-bench app: stopped; the app and the load were stopped too.');
          return 1;
        }
        run.error = String(err.message || err);
        log(`${step} failed:\n    ${run.error.split('\n').join('\n    ')}`);
      }
      run.ms = Date.now() - t;
      result.runs.push(run);
      spent += run.ms;
      done++;
    }
  }

  const groups = { 1: `app: ${o.command.join(' ')}` };
  progress.end();
  const rows = buildRows([result], subjects, o.reps);
  io.stdout.write(renderTable(rows, groups, { wide: o.wide }));
  const notes = appNotes(result, subjects);
  io.stdout.write(renderNotes(notes, { wide: o.wide }));
  const finished = Date.now();
  const doc = buildDocument({
    options: { ...o, payload: payload.name },
    machine,
    subjects: subjects.map(({ env, ...s }) => ({ ...s, nodeOptions: env.NODE_OPTIONS || null, turboDgramDriver: env.TURBO_DGRAM_DRIVER || null })),
    loadgen: { native: nativePath, saturating: true },
    cpus,
    results: [result],
    rows,
    notes,
    started,
    finished,
    groups,
  });
  doc.tool = 'turbo-dgram-bench app';
  doc.command = o.command;
  doc.hook = plan.hook;
  fs.mkdirSync(o.out, { recursive: true });
  const stamp = new Date(started).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const base = path.join(o.out, `app-${stamp}`);
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(doc, null, 2)}\n`);
  fs.writeFileSync(`${base}.svg`, renderSvg(rows, { groups, subjects, machine }));
  log(`turbo-dgram-bench app: done in ${secs(finished - started)}; wrote ${base}.json and ${base}.svg`);
  return result.runs.every((r) => !r.ok) ? 1 : 0;
}

/** Which dgram each subject really ran (detected per run), and what the figures cannot say. */
function appNotes(result, subjects) {
  const notes = [];
  const parts = subjects.map((s) => {
    const runs = result.runs.filter((r) => r.subject === s.label && r.ok);
    const used = runs.filter((r) => r.hookTookEffect).length;
    return `${s.label}: ${s.expect} in ${used}/${runs.length} runs`;
  });
  notes.push(`dgram in use, detected in the process holding the port (turbo_dgram.node in /proc/PID/maps): ${parts.join('; ')}.`);
  for (const s of subjects) {
    const bad = result.runs.filter((r) => r.subject === s.label && r.ok && !r.hookTookEffect);
    if (bad.length) notes.push(`${s.label}: the app did not run ${s.expect} in ${bad.length} run(s) (found ${bad[0].detected.dgram}): its figures are not ${s.expect}'s.`);
  }
  const asked = result.cell.params.load.rate;
  const short = result.runs.filter((r) => r.ok && r.values.offeredPerSec != null && r.values.offeredPerSec < 0.9 * asked);
  if (short.length) {
    notes.push(`In ${short.length} run(s) the load generator offered under 90% of the ${asked}/s asked: it did not get its CPU ` +
      '(a busy machine), so those runs measured a lighter load.');
  }
  const unanswered = result.runs.filter((r) => r.ok && r.values.p50Us === null);
  const late = unanswered.filter((r) => r.raw.load.stale > 0);
  if (late.length) {
    notes.push(`${late.map((r) => `${r.subject} rep ${r.rep + 1}`).join(', ')}: every reply in the window came after the ` +
      `${REPLY_TIMEOUT_MS} ms timeout (counted lost): the app fell that far behind the load.`);
  }
  if (unanswered.length > late.length) {
    notes.push(`${unanswered.length - late.length} run(s) got no reply at all: for an app that does not answer, use --load rate=N or --load flood.`);
  }
  notes.push('This machine may be shared and noisy: read the min-max ranges, not only the medians.');
  return notes;
}

module.exports = { appMain };
