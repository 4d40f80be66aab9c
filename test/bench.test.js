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
const { spawn, spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const bin = path.join(root, 'bin', 'turbo-dgram-bench');

// Runs the bench in a process group of its own (detached), so that what it spawned is still
// findable after it exits: a child it left behind is reparented, but keeps the group.
function runBench(args, timeoutMs = 60000) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-dgram-bench-'));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args, '--out', out], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => killGroup(child.pid), timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, pgid: child.pid, out, files: fs.readdirSync(out) });
    });
  });
}

function killGroup(pgid) {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // the group is empty already
  }
}

// The pids of the live (not zombie) processes of process group `pgid`, from /proc.
function groupMembers(pgid) {
  const members = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after its last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') members.push(Number(entry));
  }
  return members;
}

// The bench stops and waits for every child before it exits, and SIGKILLs any still running when
// it exits: a killed one may take a moment to go, a child left behind does not.
async function leftInGroup(pgid, graceMs = 2000) {
  const deadline = Date.now() + graceMs;
  let members = groupMembers(pgid);
  while (members.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    members = groupMembers(pgid);
  }
  return members;
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

test('tiny run: table on stdout, progress on stderr, JSON and SVG written, no child left behind', { timeout: 90000 }, async () => {
  const r = await runBench(['--module-b', 'node:dgram', '--label-b', 'builtin-again', '--reps', '2',
    '--window-ms', '100', '--warmup-ms', '50', '--only', 'send-1dest-nocb-64,flood-64,rate-10k-64,echo-64,e2e-send-64,server-10k-64,workers-64']);
  const left = await leftInGroup(r.pgid);
  killGroup(r.pgid); // whatever the verdict, nothing outlives the test
  assert.deepStrictEqual(left, [], 'no child process of the bench left behind (its process group is empty)');
  assert.strictEqual(r.status, 0, r.stderr);
  assert.strictEqual(r.signal, null, r.stderr);

  // stdout: the table, with both modules and the ratio column
  assert.match(r.stdout, /node:dgram/);
  assert.match(r.stdout, /ratio to node:dgram/);
  assert.match(r.stdout, /builtin-again/);
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
  assert.deepStrictEqual(doc.cells.map((c) => c.id).sort(),
    ['e2e-send-64', 'echo-64', 'flood-64', 'rate-10k-64', 'send-1dest-nocb-64', 'server-10k-64', 'workers-64']);
  // The C floor (compiled with cc when there is one) takes its turn after the modules in the
  // cells it applies to; without a compiler it is left out, and says so.
  const floor = doc.floor && doc.floor.label === 'C floor';
  if (!floor) assert.match(r.stderr, /no C floor reference/);
  for (const cell of doc.cells) {
    const withFloor = floor && (cell.id === 'echo-64' || cell.id === 'server-10k-64');
    const turn = withFloor ? ['node:dgram', 'builtin-again', 'C floor'] : ['node:dgram', 'builtin-again'];
    // taking turns: A B A B
    assert.deepStrictEqual(cell.runs.map((x) => x.subject), [...turn, ...turn], `${cell.id}: 2 reps, in turn`);
    for (const run of cell.runs) {
      assert.ok(run.ok, `${cell.id} rep ${run.rep} ${run.subject}: ${run.error}`);
      assert.ok(run.raw, 'raw child reports kept');
    }
  }
  const row = doc.summary.find((s) => s.cell === 'flood-64' && s.metric === 'deliveredPerSec');
  assert.ok(row.perSubject[0].median > 0);
  assert.strictEqual(row.ratios[0].perRep.length, 2);
  assert.ok(doc.summary.some((s) => s.group === 6 && s.metric === 'peakRssMiB'));
  // both ends run the module in group 7, but its CPU figure is the receiver's alone, and says so
  const e2eCpu = doc.cells.find((c) => c.id === 'e2e-send-64').metrics.find((m) => m.key === 'cpuPerDgramUs');
  assert.strictEqual(e2eCpu.label, 'receiver CPU us/dgram');
  assert.match(r.stdout, /receiver CPU us\/dgram/);
  // 8: the request/response server's figures; 9: one worker against two
  for (const m of ['cpuPerRequestUs', 'replyP99Us', 'repliesLost']) assert.ok(doc.summary.some((s) => s.cell === 'server-10k-64' && s.metric === m), m);
  for (const m of ['deliveredPerSec', 'oneWorkerPerSec', 'workerScaling']) assert.ok(doc.summary.some((s) => s.cell === 'workers-64' && s.metric === m), m);
  if (floor) {
    assert.match(r.stdout, /C floor/);
    assert.ok(doc.summary.find((s) => s.cell === 'echo-64' && s.metric === 'p50Us').floor.median > 0);
  }

  const text = fs.readFileSync(path.join(r.out, svg), 'utf8');
  assert.match(text, /^<\?xml/);
  assert.match(text, /<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(text, /<\/svg>\s*$/);
  assert.match(text, /<rect /);
  fs.rmSync(r.out, { recursive: true, force: true });
});
