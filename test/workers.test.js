'use strict';

// worker_threads: the module loads and works in several workers at once; terminating a worker whose
// sockets are open, one of them in the middle of a flood, closes them (the port is free again) and
// leaves the other threads' sockets working. The same scenario runs with node:dgram and with
// turbo-dgram; the two logs must be equal, and the builtin's must show what the test is about.

const assert = require('node:assert');
const { Worker } = require('node:worker_threads');
const { test } = require('node:test');
const { PACKAGE_ROOT, loadBuiltin, loadSubject, subjectSpec, withTimeout } = require('./helpers/differential');

const T = { timeout: 30000 };

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const dgram = require(workerData.spec);
const sockets = [0, 1].map(() => dgram.createSocket('udp4'));
let bound = 0;
for (const s of sockets) {
  s.on('message', (m, r) => { if (String(m) === 'ping') s.send('pong ' + workerData.n, r.port, r.address); });
  s.bind(0, '127.0.0.1', () => { if (++bound === 2) parentPort.postMessage(sockets.map((x) => x.address().port)); });
}
`;

function startWorker(spec, n) {
  const w = new Worker(WORKER, { eval: true, workerData: { spec, n } });
  const ports = new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
  return { w, ports };
}

async function scenario(dgram, spec) {
  const log = [];
  const workers = [0, 1, 2].map((n) => startWorker(spec, n));
  const ports = await withTimeout(Promise.all(workers.map((x) => x.ports)), 10000, 'workers bound');
  log.push(['workers bound', ports.length, ports.every((p) => p.length === 2)]);
  const main = dgram.createSocket('udp4');
  await new Promise((resolve) => main.bind(0, '127.0.0.1', resolve));
  const pongs = [];
  main.on('message', (m) => pongs.push(String(m)));
  const pingAll = async (which) => {
    pongs.length = 0;
    for (const i of which) for (const p of ports[i]) main.send('ping', p, '127.0.0.1');
    const want = which.length * 2;
    await withTimeout(new Promise((resolve) => { const t = setInterval(() => { if (pongs.length >= want) { clearInterval(t); resolve(); } }, 5); }), 3000, 'pongs');
    return pongs.slice().sort();
  };
  log.push(['pongs from all', await pingAll([0, 1, 2])]);
  // Worker 0 is flooded while it is terminated.
  const flooder = dgram.createSocket('udp4');
  let flooding = true;
  const flood = () => {
    if (!flooding) return;
    for (let i = 0; i < 50; i++) flooder.send('flood', ports[0][0], '127.0.0.1');
    setImmediate(flood);
  };
  flood();
  await new Promise((resolve) => setTimeout(resolve, 100));
  log.push(['terminate', await workers[0].w.terminate()]);
  flooding = false;
  // Its ports are free: an exclusive bind to each succeeds.
  for (const p of ports[0]) {
    const probe = dgram.createSocket('udp4');
    const result = await new Promise((resolve) => {
      probe.once('error', (e) => resolve(e.code));
      probe.bind({ port: p, address: '127.0.0.1', exclusive: true }, () => resolve('bound'));
    });
    probe.close();
    log.push(['rebind a terminated worker port', result]);
  }
  log.push(['pongs from the others', await pingAll([1, 2])]);
  const again = dgram.createSocket('udp4');
  await new Promise((resolve) => again.bind(0, '127.0.0.1', resolve));
  const got = new Promise((resolve) => main.once('message', (m) => resolve(String(m))));
  again.send('main still receives', main.address().port, '127.0.0.1');
  log.push(['main', await withTimeout(got, 2000, 'main receive')]);
  for (const s of [main, flooder, again]) s.close();
  log.push(['exit codes', await Promise.all(workers.slice(1).map((x) => x.w.terminate()))]);
  return log;
}

test('sockets in three workers; terminating one mid-flood frees its ports; the others keep working', T, async () => {
  const builtin = await scenario(loadBuiltin(), 'node:dgram');
  const expected = [
    ['workers bound', 3, true],
    ['pongs from all', ['pong 0', 'pong 0', 'pong 1', 'pong 1', 'pong 2', 'pong 2']],
    ['terminate', 1],
    ['rebind a terminated worker port', 'bound'],
    ['rebind a terminated worker port', 'bound'],
    ['pongs from the others', ['pong 1', 'pong 1', 'pong 2', 'pong 2']],
    ['main', 'main still receives'],
    ['exit codes', [1, 1]],
  ];
  assert.deepStrictEqual(builtin, expected, 'the builtin run itself');
  const subject = await scenario(loadSubject(), subjectSpec() === 'node:dgram' ? 'node:dgram' : PACKAGE_ROOT);
  assert.deepStrictEqual(subject, builtin);
});
