'use strict';

// `turbo-dgram-bench app -- COMMAND` (lib/bench/app/): a tiny app measured in a tiny mode, and
// the app's failures. The figures are not checked (a 300 ms window on a shared machine proves
// nothing about speed): the JSON's shape, that each subject really ran its own dgram, and that a
// broken COMMAND ends the bench with a clear error, exit code 1 and no process left behind.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawn } = require('node:child_process');

const root = path.join(__dirname, '..');
const bin = path.join(root, 'bin', 'turbo-dgram-bench');
const fixture = path.join(__dirname, 'helpers', 'bench-app.js');

function runApp(args, env = {}, timeoutMs = 60000) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-dgram-bench-app-'));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'app', '--out', out, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, out, files: fs.readdirSync(out) });
    });
  });
}

/** Live processes whose command line holds `token` (the app's, wherever its group went). */
function processesWith(token) {
  const found = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    let cmd;
    let stat;
    try {
      cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8');
      stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue;
    }
    if (cmd.includes(token) && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z') found.push(Number(e));
  }
  return found;
}

async function leftBehind(token, graceMs = 2000) {
  const deadline = Date.now() + graceMs;
  let pids = processesWith(token);
  while (pids.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    pids = processesWith(token);
  }
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  return pids;
}

const token = () => `bench-app-test-${crypto.randomBytes(4).toString('hex')}`;
const tiny = ['--reps', '1', '--warmup-ms', '100', '--window-ms', '300'];

test('app --help shows the command and examples', async () => {
  const r = await runApp(['--help']);
  assert.strictEqual(r.status, 0);
  assert.match(r.stdout, /turbo-dgram-bench app \[options\] -- COMMAND/);
  assert.match(r.stdout, /--load/);
  assert.match(r.stdout, /Examples:/);
});

test('app without a COMMAND is a usage error (exit 2)', async () => {
  const r = await runApp(['--load', 'echo']);
  assert.strictEqual(r.status, 2);
  assert.match(r.stderr, /no COMMAND/);
});

test('a tiny app, tiny mode: table, JSON + SVG, and every subject really ran its own dgram', { timeout: 90000 }, async () => {
  const reports = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-app-reports-'));
  const tok = token();
  // No --port: the bench finds the port the app's tree binds in /proc.
  const r = await runApp([...tiny, '--load', 'echo', '--', process.execPath, fixture, 'echo', tok], { BENCH_APP_REPORT_DIR: reports });
  assert.deepStrictEqual(await leftBehind(tok), [], 'no app process left behind');
  assert.strictEqual(r.status, 0, r.stderr);
  const drivers = require(root).drivers;
  const labels = ['node:dgram', ...(drivers.length > 1 ? drivers.map((d) => `turbo-dgram[${d}]`) : ['turbo-dgram'])];
  assert.match(r.stdout, /RTT p50 us/);
  // The table fits 120 columns (narrowed: a driver's column is headed by the driver alone).
  assert.match(r.stdout, /ratio to node:dgram/);
  for (const d of drivers.length > 1 ? drivers : ['turbo-dgram']) assert.match(r.stdout, new RegExp(`\\b${d}\\b`));
  const table = r.stdout.slice(0, r.stdout.indexOf('\n\n'));
  for (const line of table.split('\n')) assert.ok(line.length <= 120, line);
  assert.match(r.stderr, /\[1\/\d+\] node:dgram \| rep 1\/1 \| ~\d+ s left/);

  const json = r.files.find((f) => f.endsWith('.json'));
  const svg = r.files.find((f) => f.endsWith('.svg'));
  assert.ok(json && svg, `files: ${r.files}`);
  const doc = JSON.parse(fs.readFileSync(path.join(r.out, json), 'utf8'));
  assert.strictEqual(doc.tool, 'turbo-dgram-bench app');
  assert.deepStrictEqual(doc.command, [process.execPath, fixture, 'echo', tok]);
  assert.deepStrictEqual(doc.subjects.map((s) => s.label), labels);
  assert.strictEqual(doc.cells.length, 1);
  const runs = doc.cells[0].runs;
  assert.deepStrictEqual(runs.map((x) => x.subject), labels, 'one run per subject, in turn');
  for (const run of runs) {
    assert.ok(run.ok, `${run.subject}: ${run.error}`);
    for (const k of ['deliveredPerSec', 'p50Us', 'p99Us', 'p999Us', 'lossFraction', 'dropFraction', 'cpuPerDgramUs', 'peakRssMiB']) {
      assert.ok(k in run.values, `${run.subject}: values.${k}`);
    }
    assert.ok(run.values.deliveredPerSec > 0, `${run.subject} got replies`);
    // What the bench detected from outside is what the app itself saw inside.
    const inside = JSON.parse(fs.readFileSync(path.join(reports, `${run.detected.pid}.json`), 'utf8'));
    const expected = run.subject === 'node:dgram' ? 'node:dgram' : 'turbo-dgram';
    assert.strictEqual(run.detected.dgram, expected, run.subject);
    assert.strictEqual(inside.turbo, expected === 'turbo-dgram', `${run.subject}: the app's own view`);
    assert.strictEqual(run.hookTookEffect, true);
    const driver = /\[(\w+)\]/.exec(run.subject);
    if (driver) assert.strictEqual(inside.driver, driver[1]);
  }
  const row = doc.summary.find((s) => s.metric === 'p50Us');
  assert.strictEqual(row.ratios.length, labels.length - 1);
  assert.match(fs.readFileSync(path.join(r.out, svg), 'utf8'), /<\/svg>\s*$/);
  fs.rmSync(r.out, { recursive: true, force: true });
  fs.rmSync(reports, { recursive: true, force: true });
});

test('a COMMAND that fails at once: clear error, exit 1, nothing left', { timeout: 30000 }, async () => {
  const tok = token();
  const r = await runApp([...tiny, '--', process.execPath, '-e', 'process.exit(3)', tok]);
  assert.strictEqual(r.status, 1, r.stderr);
  assert.match(r.stderr, /the app exited with code 3 before binding a UDP port/);
  assert.deepStrictEqual(await leftBehind(tok), []);
  const missing = await runApp([...tiny, '--', `/nonexistent/${tok}`]);
  assert.strictEqual(missing.status, 1, missing.stderr);
  assert.match(missing.stderr, /could not be started|exited with code 127/);
});

test('a COMMAND that never binds: clear error after --bind-timeout-ms, exit 1, nothing left', { timeout: 30000 }, async () => {
  const tok = token();
  const r = await runApp([...tiny, '--bind-timeout-ms', '800', '--', process.execPath, '-e', 'setInterval(() => {}, 1000)', tok]);
  assert.strictEqual(r.status, 1, r.stderr);
  assert.match(r.stderr, /did not bind a UDP port within 800 ms/);
  assert.deepStrictEqual(await leftBehind(tok), [], 'the idle app was stopped');
});

test('a COMMAND that crashes mid-run: clear error, exit 1, nothing left', { timeout: 30000 }, async () => {
  const tok = token();
  const r = await runApp(['--reps', '1', '--warmup-ms', '100', '--window-ms', '3000', '--', process.execPath, fixture, 'crash-after', '400', tok]);
  assert.strictEqual(r.status, 1, r.stderr);
  assert.match(r.stderr, /the app exited with code 7 during the run/);
  assert.deepStrictEqual(await leftBehind(tok), [], 'no app and no load generator left');
  assert.deepStrictEqual(r.files, [], 'no results written for a run that did not finish');
});
