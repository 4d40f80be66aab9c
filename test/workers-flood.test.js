'use strict';

// 8 worker_threads, each receiving a flood on its own socket, terminated abruptly while the flood
// goes on: the process does not crash, the workers' fds are released, and the main thread's
// socket keeps receiving. In a child process per receive driver (a crash must not take the test
// runner down with it).

const { test } = require('node:test');
const assert = require('node:assert');
const { subjectSpec } = require('./helpers/differential');
const { runNode } = require('./helpers/child');

const CHILD = `
'use strict';
const fs = require('node:fs');
const { Worker } = require('node:worker_threads');
const dgram = require(process.env.DGRAM_UNDER_TEST);
const driver = process.env.DRIVER;
const fds = () => fs.readdirSync('/proc/self/fd').length;
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const WORKER = \`
  const { parentPort, workerData } = require('node:worker_threads');
  const dgram = require(workerData.root);
  const s = dgram.createSocket({ type: 'udp4', driver: workerData.driver });
  let n = 0;
  s.on('message', () => { n++; if (n === 100) parentPort.postMessage({ flooded: true }); });
  s.bind(0, '127.0.0.1', () => parentPort.postMessage({ port: s.address().port }));
\`;
(async () => {
  // The main thread's own socket, receiving all along.
  const main = dgram.createSocket({ type: 'udp4', driver });
  let mainReceived = 0;
  main.on('message', () => { mainReceived++; });
  await new Promise((resolve) => main.bind(0, '127.0.0.1', resolve));
  const sender = dgram.createSocket({ type: 'udp4', driver });
  await new Promise((resolve) => sender.bind(0, '127.0.0.1', resolve));
  // Warm up (reactor, thread, lazily made state) before counting fds.
  await new Promise((resolve) => sender.send('warm', main.address().port, '127.0.0.1', resolve));
  await delay(50);
  const fdsBefore = fds();

  const workers = [];
  const ports = [];
  const flooded = [];
  for (let i = 0; i < 8; i++) {
    const w = new Worker(WORKER, { eval: true, workerData: { root: process.env.DGRAM_UNDER_TEST, driver } });
    workers.push(w);
    w.on('error', (err) => { console.error('worker error', err); process.exitCode = 1; });
    ports.push(new Promise((resolve) => w.on('message', (m) => { if (m.port) resolve(m.port); })));
    flooded.push(new Promise((resolve) => w.on('message', (m) => { if (m.flooded) resolve(); })));
  }
  const targets = await Promise.all(ports);
  let flooding = true;
  let sent = 0;
  const payload = Buffer.alloc(200, 1);
  const flood = () => {
    if (!flooding) return;
    for (const port of targets) for (let k = 0; k < 20; k++) sender.send(payload, port, '127.0.0.1');
    sent += targets.length * 20;
    sender.send('main', main.address().port, '127.0.0.1');
    setImmediate(flood);
  };
  flood();
  await Promise.all(flooded); // every worker is receiving
  const receivedBeforeTerminate = mainReceived;
  await Promise.all(workers.map((w) => w.terminate())); // abruptly, mid-flood
  const afterTerminate = mainReceived;
  await delay(200); // the flood goes on at the dead ports and at the main socket
  const mainKeptReceiving = mainReceived > afterTerminate;
  flooding = false;
  await delay(100);
  const fdsAfter = fds();
  process.stdout.write(JSON.stringify({ fdsBefore, fdsAfter, receivedBeforeTerminate, mainKeptReceiving, mainReceived, sent }) + '\\n');
  main.close();
  sender.close();
})().catch((err) => { console.error(err); process.exit(1); });
`;

// driver undefined: createSocket gets no driver option.
function runScenario(spec, driver) {
  return runNode(['-e', CHILD], { env: { DGRAM_UNDER_TEST: spec, DRIVER: driver }, timeoutMs: 25000 });
}

// The builtin in the same scenario is the reference for what terminating workers leaves open
// (Node's own worker machinery may keep an fd for reuse). It has no receive driver, so it runs
// once, for the first test that needs it, and must itself succeed.
let referenceRun;
function reference() {
  referenceRun ??= runScenario('node:dgram', undefined).then((r) => {
    assert.strictEqual(r.signal, null, `node:dgram's child died by ${r.signal} (a test bug):\n${r.stderr}`);
    assert.strictEqual(r.code, 0, `node:dgram's child failed (a test bug):\n${r.stderr}`);
    return JSON.parse(r.stdout);
  });
  return referenceRun;
}

for (const driver of ['handover', 'thread', 'inline']) {
  test(`8 flooded workers terminated abruptly (${driver} driver): no crash, their fds released, the main socket keeps receiving`, { timeout: 30000 }, async (t) => {
    // The subject must not leave more fds open than the builtin.
    const ref = await reference();
    const r = await runScenario(subjectSpec(), driver);
    assert.strictEqual(r.signal, null, `the child died by ${r.signal}:\n${r.stderr}`);
    assert.strictEqual(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    t.diagnostic(`workers ${driver}: ${JSON.stringify(result)}; node:dgram: ${JSON.stringify(ref)}`);
    assert.ok(ref.mainKeptReceiving, 'node:dgram: the scenario did not flood the main socket (a test bug)');
    assert.strictEqual(result.fdsAfter - result.fdsBefore, ref.fdsAfter - ref.fdsBefore,
      'fds left open by terminated workers, compared with node:dgram');
    assert.ok(result.mainKeptReceiving, 'the main thread socket received nothing after the workers were terminated');
  });
}
