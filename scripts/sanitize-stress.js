'use strict';

// The JS stress scripts/sanitize.sh runs under valgrind: every native path a user can reach,
// briefly (valgrind runs node some 30x slower). Exits 0 when every step finished.

const path = require('node:path');
const { Worker } = require('node:worker_threads');
const dgram = require(path.join(__dirname, '..'));

const closed = (s) => new Promise((resolve) => s.close(resolve));
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function churn(driver, cycles) {
  for (let i = 0; i < cycles; i++) {
    const r = dgram.createSocket({ type: i % 2 ? 'udp6' : 'udp4', driver });
    const s = dgram.createSocket({ type: i % 2 ? 'udp6' : 'udp4', driver });
    const host = i % 2 ? '::1' : '127.0.0.1';
    await new Promise((resolve) => r.bind(0, host, resolve));
    const got = new Promise((resolve) => r.once('message', resolve));
    const sizes = [0, 1, 1400, 1400, 1400, 65508, 9000];
    for (const size of sizes) s.send(Buffer.alloc(size, i), r.address().port, host, () => {});
    await got;
    await Promise.all([closed(r), closed(s)]);
  }
}

async function closeMidBatch(driver) {
  const r = dgram.createSocket({ type: 'udp4', driver });
  const s = dgram.createSocket({ type: 'udp4', driver });
  await new Promise((resolve) => r.bind(0, '127.0.0.1', resolve));
  let n = 0;
  r.on('message', () => { if (++n === 5) r.close(); });
  for (let i = 0; i < 200; i++) s.send('x', r.address().port, '127.0.0.1');
  await delay(200);
  await closed(s);
}

async function workerTerminated(driver) {
  const w = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const s = require(workerData.root).createSocket({ type: 'udp4', driver: workerData.driver });
    s.on('message', () => {});
    s.bind(0, '127.0.0.1', () => parentPort.postMessage(s.address().port));
  `, { eval: true, workerData: { root: path.join(__dirname, '..'), driver } });
  const port = await new Promise((resolve) => w.once('message', resolve));
  const s = dgram.createSocket({ type: 'udp4', driver });
  for (let i = 0; i < 500; i++) s.send('flood', port, '127.0.0.1');
  await delay(50);
  await w.terminate();
  await closed(s);
}

(async () => {
  for (const driver of ['thread', 'inline']) {
    await churn(driver, 30);
    await closeMidBatch(driver);
    await workerTerminated(driver);
  }
  console.log('sanitize-stress: done');
})().catch((err) => { console.error(err); process.exit(1); });
