'use strict';

// Smoke test of the benchmark tool (bin/turbo-dgram-bench, lib/bench/): a tiny run of a few
// cells, node:dgram against itself (so it does not depend on the addon being built), checking the
// shape of the table, the JSON and the SVG, and that no child process is left behind. The numbers
// themselves are not checked: a 100 ms window on a shared machine proves nothing about speed.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync, execFileSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const bin = path.join(root, 'bin', 'turbo-dgram-bench');

function runBench(args, timeout = 60000) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-dgram-bench-'));
  const r = spawnSync(process.execPath, [bin, ...args, '--out', out], { encoding: 'utf8', timeout });
  const files = fs.readdirSync(out);
  return { ...r, out, files };
}

function childrenOf(pid) {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when there is none
  }
}

test('--help and --list exit 0 and print something', () => {
  const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8', timeout: 10000 });
  assert.strictEqual(help.status, 0);
  assert.match(help.stdout, /--module-a/);
  const list = spawnSync(process.execPath, [bin, '--list', '--quick'], { encoding: 'utf8', timeout: 10000 });
  assert.strictEqual(list.status, 0);
  for (const g of ['1', '2', '3', '4', '5', '7']) assert.match(list.stdout, new RegExp(`^${g} `, 'm'));
});

test('a bad option is a usage error (exit 2)', () => {
  const r = spawnSync(process.execPath, [bin, '--reps', 'x'], { encoding: 'utf8', timeout: 10000 });
  assert.strictEqual(r.status, 2);
  assert.match(r.stderr, /--reps/);
});

test('tiny run: table on stdout, progress on stderr, JSON and SVG written', { timeout: 90000 }, () => {
  const r = runBench(['--module-b', 'node:dgram', '--label-b', 'builtin-again', '--reps', '2',
    '--window-ms', '100', '--warmup-ms', '50', '--only', 'send-1dest-nocb-64,flood-64,echo-64']);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.strictEqual(r.error, undefined);

  // stdout: the table, with both modules and the ratio column
  assert.match(r.stdout, /node:dgram/);
  assert.match(r.stdout, /builtin-again \/ node:dgram/);
  assert.match(r.stdout, /delivered\/s/);
  assert.match(r.stdout, /RTT p99\.9/);
  // stderr: progress with repetition and time left
  assert.match(r.stderr, /rep 2\/2 \| ~\d+ s left/);

  const json = r.files.find((f) => f.endsWith('.json'));
  const svg = r.files.find((f) => f.endsWith('.svg'));
  assert.ok(json && svg, `files: ${r.files}`);
  assert.strictEqual(json.replace(/\.json$/, ''), svg.replace(/\.svg$/, ''), 'the SVG sits next to the JSON');

  const doc = JSON.parse(fs.readFileSync(path.join(r.out, json), 'utf8'));
  assert.strictEqual(doc.tool, 'turbo-dgram-bench');
  for (const k of ['node', 'kernel', 'cpuCount', 'rmemMax']) assert.ok(k in doc.machine, `machine.${k}`);
  assert.deepStrictEqual(doc.subjects.map((s) => s.label), ['node:dgram', 'builtin-again']);
  assert.deepStrictEqual(doc.cells.map((c) => c.id).sort(), ['echo-64', 'flood-64', 'send-1dest-nocb-64']);
  for (const cell of doc.cells) {
    assert.strictEqual(cell.runs.length, 4, `${cell.id}: 2 reps x 2 modules`);
    // taking turns: A B A B
    assert.deepStrictEqual(cell.runs.map((x) => x.subject), ['node:dgram', 'builtin-again', 'node:dgram', 'builtin-again']);
    for (const run of cell.runs) {
      assert.ok(run.ok, `${cell.id} rep ${run.rep} ${run.subject}: ${run.error}`);
      assert.ok(run.raw, 'raw child reports kept');
    }
  }
  const row = doc.summary.find((s) => s.cell === 'flood-64' && s.metric === 'deliveredPerSec');
  assert.ok(row.perSubject[0].median > 0);
  assert.strictEqual(row.ratios[0].perRep.length, 2);
  assert.ok(doc.summary.some((s) => s.group === 6 && s.metric === 'peakRssMiB'));

  const text = fs.readFileSync(path.join(r.out, svg), 'utf8');
  assert.match(text, /^<\?xml/);
  assert.match(text, /<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(text, /<\/svg>\s*$/);
  assert.match(text, /<rect /);
  fs.rmSync(r.out, { recursive: true, force: true });

  assert.deepStrictEqual(childrenOf(process.pid), [], 'no child process left behind');
});
