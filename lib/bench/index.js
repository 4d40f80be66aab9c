'use strict';

// turbo-dgram-bench: A/B benchmark of dgram modules. This file is the driver: options, the
// modules compared, the run plan (cells x repetitions x modules, modules taking turns), progress
// on stderr (lib/bench/progress.js: in place on a terminal), then the table on stdout and the
// JSON + SVG files.

const fs = require('node:fs');
const path = require('node:path');

const { parseArgs, USAGE, UsageError } = require('./options');
const { buildCells, filterCells, GROUPS } = require('./scenarios');
const { LoadGen, buildNative, findNative, nodeChild, NATIVE_NAME, ROOT } = require('./loadgen');
const { cpuPlan, guardProcess } = require('./procs');
const { describeMachine } = require('./machine');
const { buildRows, buildNotes, buildDocument } = require('./report');
const { renderTable, renderNotes } = require('./table');
const { createProgress } = require('./progress');
const { renderSvg } = require('./svg');
const { buildFloor } = require('./floor');

// The C echo server's turns (lib/bench/floor.js): a reference beside the subjects, never one of them.
const FLOOR = { label: 'C floor', reference: true };

// Process start-up, module load and teardown around each run's warm-up and window, measured on a
// 2-core machine; only used for the time estimate before the first runs finish.
const RUN_OVERHEAD_MS = 250;
// --quick must finish within 90 s and the full run within 10 minutes: past these estimates
// (more modules or drivers than two), repetitions are reduced, unless --reps was given.
const BUDGET_MS = { quick: 70000, full: 500000 };
const MIN_REPS = { quick: 2, full: 3 };

/**
 * A module specifier the children can load from their own directory: paths become absolute, bare
 * package names are resolved from the current directory, builtins stay as they are.
 */
function resolveSpec(spec) {
  if (spec.startsWith('node:') || spec === 'dgram') return spec;
  if (spec.startsWith('.') || spec.startsWith('/')) return path.resolve(spec);
  try {
    return path.dirname(require.resolve(`${spec}/package.json`, { paths: [process.cwd()] }));
  } catch {
    try {
      return require.resolve(spec, { paths: [process.cwd()] });
    } catch {
      return spec;
    }
  }
}

function defaultLabel(spec) {
  if (spec === 'node:dgram' || spec === 'dgram') return 'node:dgram';
  if (path.resolve(spec) === ROOT) return 'turbo-dgram';
  return path.basename(spec);
}

/** Loads the module in a child (with the children's node) and reports what it offers. */
async function probe(node, module, driver) {
  const c = nodeChild(node, 'probe', { module, driver }, { cpu: null, timeoutMs: 20000 });
  try {
    return await c.wait('done', 20000);
  } finally {
    await c.stop(1000);
  }
}

function estimateRunMs(cell, o) {
  if (cell.group === 5) return Math.max(o.windowMs, o.quick ? 600 : 1000) + 300 + RUN_OVERHEAD_MS;
  if (cell.group === 9) return 2 * (o.warmupMs + o.windowMs + RUN_OVERHEAD_MS); // 1 worker, then 2
  return o.warmupMs + o.windowMs + RUN_OVERHEAD_MS;
}

function secs(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 90 ? `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s` : `${s} s`;
}

function stamp(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

async function main(argv, io = { stdout: process.stdout, stderr: process.stderr }) {
  if (argv[0] === 'app') return require('./app').appMain(argv.slice(1), io);
  const progress = createProgress(io.stderr);
  const log = progress.log;
  let o;
  try {
    o = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    log(`turbo-dgram-bench: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (o.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const cells = filterCells(buildCells(o), o.only);
  if (o.list) {
    for (const c of cells) io.stdout.write(`${c.group}  ${c.id.padEnd(26)} ${c.title}\n`);
    return 0;
  }
  if (cells.length === 0) {
    log(`turbo-dgram-bench: --only ${o.only} selects no scenario (see --list)`);
    return 2;
  }
  guardProcess();
  const started = Date.now();
  const node = o.node.includes('/') ? path.resolve(o.node) : o.node;
  const machine = describeMachine({ node });

  // The modules compared. B's receive drivers, when there are several, are each a column.
  const specA = resolveSpec(o.moduleA);
  const specB = resolveSpec(o.moduleB || ROOT);
  const subjects = [];
  for (const [spec, label, role] of [[specA, o.labelA, 'A'], [specB, o.labelB, 'B']]) {
    try {
      const info = await probe(node, spec, null);
      subjects.push({ label: label || defaultLabel(spec), module: spec, driver: null, probe: info, role });
    } catch (err) {
      log(`turbo-dgram-bench: module ${role} (${spec}) does not load:\n  ${String(err.message).split('\n').join('\n  ')}`);
      if (spec === ROOT) log('  Build turbo-dgram first (npm run build), or compare other modules with --module-b SPEC.');
      return 1;
    }
  }
  if (subjects[0].label === subjects[1].label) subjects[1].label += ' (B)';
  const drivers = o.drivers || (subjects[1].probe.drivers && subjects[1].probe.drivers.length > 1 ? subjects[1].probe.drivers : null);
  if (drivers) {
    const b = subjects.pop();
    for (const driver of drivers) {
      subjects.push({ ...b, label: `${b.label}[${driver}]`, driver, env: { ...process.env, TURBO_DGRAM_DRIVER: driver } });
    }
    for (const s of subjects.slice(1)) {
      try {
        s.probe = await probe(node, s.module, s.driver);
      } catch (err) {
        log(`turbo-dgram-bench: driver '${s.driver}' does not work: ${err.message}`);
        return 1;
      }
    }
  }

  const cpus = cpuPlan(o.pin);
  // The native load generator, built on first use (an installed package does not build it before).
  let nativePath = findNative(o.flooder);
  if (!nativePath) {
    log(`turbo-dgram-bench: the native load generator (${NATIVE_NAME}) is not built yet: building it (once)...`);
    if (await buildNative((chunk) => io.stderr.write(chunk))) nativePath = findNative(null);
  }
  const lg = new LoadGen({ nativePath, node, fallbackModule: subjects[subjects.length - 1].module });
  if (!nativePath) {
    log(`turbo-dgram-bench: the native load generator (${NATIVE_NAME}) could not be built (see above): Node`);
    log('  stand-ins make the load, so the flood scenarios may not saturate the receiver. Once Rust is');
    log(`  installed, the next run builds it (or: bash ${path.join(ROOT, 'native-build.sh')} --loadgen).`);
  }
  if (!cpus.pinned) log(`turbo-dgram-bench: children are not pinned (${cpus.cpus} CPU(s), taskset ${o.pin ? 'unavailable' : 'disabled'})`);

  const floor = o.floor && cells.some((c) => c.floorRun) ? buildFloor() : null;
  if (floor && floor.skipped) log(`turbo-dgram-bench: no C floor reference: ${floor.skipped}`);
  const turnsOf = (cell) => (cell.floorRun && floor && floor.path ? [...subjects, FLOOR] : subjects);

  // The plan, and a repetition count that keeps the full run inside its time budget.
  let reps = o.reps;
  const perRound = cells.reduce((t, c) => t + estimateRunMs(c, o) * turnsOf(c).length, 0);
  if (!argv.some((a) => a.startsWith('--reps'))) {
    const kind = o.quick ? 'quick' : 'full';
    while (reps > MIN_REPS[kind] && perRound * reps > BUDGET_MS[kind]) reps--;
  }
  const total = cells.reduce((t, c) => t + turnsOf(c).length, 0) * reps;
  log(`turbo-dgram-bench: ${subjects.map((s) => s.label).join(' vs ')}; ${cells.length} cells x ${reps} reps x ` +
    `${subjects.length} modules = ${total} runs, about ${secs(perRound * reps)}; children on node ${machine.node}` +
    `${cpus.pinned ? `, measured process on CPU ${cpus.subject}, load on CPU ${cpus.load}` : ''}`);

  const results = cells.map((cell) => ({ cell, runs: [] }));
  let done = 0;
  let spentMs = 0;
  let plannedLeft = perRound * reps;
  for (const result of results) {
    const { cell } = result;
    for (let rep = 0; rep < reps; rep++) {
      for (const subject of turnsOf(cell)) { // taking turns: A B A B ... within each cell
        const planned = estimateRunMs(cell, o);
        const leftMs = done > 0 ? (spentMs / done) * (total - done) : plannedLeft;
        progress.status(`[${String(done + 1).padStart(String(total).length)}/${total}] ${cell.group} ${cell.id} | ${subject.label} | ` +
          `rep ${rep + 1}/${reps} | ~${secs(leftMs)} left`);
        const t = Date.now();
        const run = { subject: subject.label, rep, ok: false };
        try {
          const ctx = { opts: o, cpus, lg, node, floor };
          const { values, raw } = await (subject.reference ? cell.floorRun(ctx) : cell.run(ctx, subject));
          Object.assign(run, { ok: true, values, raw });
        } catch (err) {
          run.error = String(err.message || err);
          log(`[${done + 1}/${total}] ${cell.id} | ${subject.label} | rep ${rep + 1} failed:\n    ${run.error.split('\n').join('\n    ')}`);
        }
        run.ms = Date.now() - t;
        result.runs.push(run);
        spentMs += run.ms;
        plannedLeft -= planned;
        done++;
      }
    }
  }

  progress.end();
  const rows = buildRows(results, subjects, reps);
  io.stdout.write(renderTable(rows, GROUPS, { wide: o.wide }));
  const notes = buildNotes(rows, { nativeLoadgen: Boolean(nativePath), results });
  io.stdout.write(renderNotes(notes, { wide: o.wide }));

  const finished = Date.now();
  const doc = buildDocument({
    options: { ...o, reps, moduleA: specA, moduleB: specB },
    machine,
    subjects: subjects.map(({ env, ...s }) => s),
    floor: floor && (floor.path ? { label: FLOOR.label, source: 'lib/bench/floor-echo.c', compiler: floor.compiler } : floor),
    loadgen: { native: nativePath, saturating: Boolean(nativePath) },
    cpus,
    results,
    rows,
    notes,
    started,
    finished,
    groups: GROUPS,
  });
  fs.mkdirSync(o.out, { recursive: true });
  const base = path.join(o.out, `bench-${stamp(new Date(started))}`);
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(doc, null, 2)}\n`);
  fs.writeFileSync(`${base}.svg`, renderSvg(rows, { groups: GROUPS, subjects, machine }));
  log(`turbo-dgram-bench: done in ${secs(finished - started)}; wrote ${base}.json and ${base}.svg`);
  const failed = results.reduce((n, r) => n + r.runs.filter((x) => !x.ok).length, 0);
  if (failed) log(`turbo-dgram-bench: ${failed} of ${total} runs failed (see "error" in the JSON)`);
  return failed === total ? 1 : 0;
}

module.exports = { main, resolveSpec };
