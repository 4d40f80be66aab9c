'use strict';

// Helpers of the extras suites (test/extras-*.test.js): the extras have no builtin answer, so
// these tests state their expectations by hand, from the kernel's own figures where there are any.

const fs = require('node:fs');
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const turbo = require(path.join(__dirname, '..', '..'));

function bound(socket, address) {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => {
      socket.removeListener('error', reject);
      resolve(socket.address().port);
    });
  });
}

async function until(predicate, ms, what) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

// The drops column (the last one) of the /proc/net/udp{,6} line of the socket bound to `port`,
// or undefined if no such line. local_address is HEXIP:HEXPORT, the port in upper-case hex.
function procUdpDrops(port, file = '/proc/net/udp') {
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length > 2 && fields[1].endsWith(suffix)) return Number(fields[fields.length - 1]);
  }
  return undefined;
}

// A node:dgram sender on a worker thread, so that it keeps sending while this thread is blocked.
// `ready` resolves once it is bound; blockWhileFlooding() starts it and busy-waits (this thread
// runs nothing else meanwhile) until it has sent `count` datagrams of `size` bytes to 127.0.0.1:port.
const FLOODER = `
const { workerData, parentPort } = require('node:worker_threads');
const dgram = require('node:dgram');
const { port, count, size, flag } = workerData;
const done = new Int32Array(flag);
const s = dgram.createSocket('udp4');
const buf = Buffer.alloc(size, 0x61);
let sent = 0;
let settled = 0;
let errors = 0;
function burst() {
  for (let i = 0; i < 256 && sent < count; i++, sent++) s.send(buf, port, '127.0.0.1', onSent);
}
function onSent(err) {
  if (err) errors++;
  settled++;
  if (settled === count) {
    Atomics.store(done, 1, errors);
    Atomics.store(done, 0, 1);
    s.close();
  } else if (settled === sent) {
    burst();
  }
}
s.bind(0, '127.0.0.1', () => parentPort.postMessage('ready'));
parentPort.once('message', burst);
`;

function flooder({ port, count, size }) {
  const flag = new SharedArrayBuffer(8);
  const done = new Int32Array(flag);
  const worker = new Worker(FLOODER, { eval: true, workerData: { port, count, size, flag } });
  const ready = new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    ready,
    // Returns { errors, blockedMs }; throws if the worker did not finish within limitMs.
    blockWhileFlooding(limitMs = 15000) {
      const start = Date.now();
      worker.postMessage('go');
      while (Atomics.load(done, 0) === 0) {
        if (Date.now() - start > limitMs) throw new Error('the flooding worker did not finish');
      }
      return { errors: Atomics.load(done, 1), blockedMs: Date.now() - start };
    },
    terminate: () => worker.terminate(),
  };
}

module.exports = { bound, flooder, procUdpDrops, turbo, until };
