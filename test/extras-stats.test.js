'use strict';

// socket.getStats() (an extra): counters since bind, checked against what the test sent and
// received and against the kernel's own drop counter in /proc/net/udp.

const { test } = require('node:test');
const assert = require('node:assert');
const dgram = require('node:dgram');
const { bound, flooder, procUdpDrops, turbo, until } = require('./helpers/extras');

const T = { timeout: 30000 };

const KEYS = ['receivedDatagrams', 'receivedBytes', 'sentDatagrams', 'sentBytes', 'sendErrors',
  'kernelDrops', 'pendingDrops', 'receiveBatches', 'meanBatchSize', 'takeovers'];

test('getStats(): zeros before bind, then the datagrams and bytes sent and received', T, async (t) => {
  const r = turbo.createSocket('udp4');
  const s = turbo.createSocket('udp4');
  t.after(() => { for (const x of [r, s]) try { x.close(); } catch {} });
  assert.deepStrictEqual(Object.keys(r.getStats()), KEYS);
  assert.deepStrictEqual(Object.values(r.getStats()), KEYS.map(() => 0));
  const rport = await bound(r, '127.0.0.1');
  let got = 0;
  r.on('message', () => got++);
  for (let i = 0; i < 10; i++) s.send(Buffer.alloc(10 + i), rport, '127.0.0.1');
  await until(() => got === 10, 3000, '10 datagrams');
  const rs = r.getStats();
  assert.strictEqual(rs.receivedDatagrams, 10);
  assert.strictEqual(rs.receivedBytes, 10 * 10 + 45);
  assert.ok(rs.receiveBatches >= 1 && rs.receiveBatches <= 10, `${rs.receiveBatches} batches`);
  assert.strictEqual(rs.meanBatchSize, 10 / rs.receiveBatches);
  assert.strictEqual(rs.sentDatagrams, 0);
  const ss = s.getStats();
  assert.strictEqual(ss.sentDatagrams, 10);
  assert.strictEqual(ss.sentBytes, 145);
  assert.strictEqual(ss.sendErrors, 0);
  assert.strictEqual(ss.receivedDatagrams, 0);
});

test('getStats(): a datagram the kernel refuses is a send error, and the counters survive close()', T, async () => {
  const s = turbo.createSocket('udp4');
  await bound(s, '127.0.0.1');
  const errors = [];
  await new Promise((resolve) => s.send(Buffer.alloc(70000), 9, '127.0.0.1', (err) => { errors.push(err); resolve(); }));
  await new Promise((resolve) => s.send(Buffer.alloc(5), 9, '127.0.0.1', resolve));
  assert.strictEqual(errors[0].code, 'EMSGSIZE');
  s.close();
  const after = s.getStats();
  assert.strictEqual(after.sendErrors, 1);
  assert.strictEqual(after.sentDatagrams, 1);
  assert.strictEqual(after.sentBytes, 5);
});

// The kernel reports its drop counter (SO_RXQ_OVFL) with each datagram it queues, so the figure
// is current once a datagram queued after the drops has been read: the marker below.
async function floodBlocked(t, driver, { count, size, recvBufferSize }) {
  const r = turbo.createSocket({ type: 'udp4', driver, recvBufferSize });
  const marker = dgram.createSocket('udp4');
  t.after(() => { r.close(); marker.close(); });
  const rport = await bound(r, '127.0.0.1');
  let got = 0;
  let markerSeen = false;
  r.on('message', (msg) => {
    got++;
    if (msg.toString() === 'marker') markerSeen = true;
  });
  const flood = flooder({ port: rport, count, size });
  t.after(() => flood.terminate());
  await flood.ready;
  const { errors } = flood.blockWhileFlooding();
  const procDrops = procUdpDrops(rport);
  assert.strictEqual(errors, 0);
  assert.strictEqual(got, 0, 'nothing is delivered while the JS thread is blocked');
  await new Promise((resolve) => setTimeout(resolve, 100)); // what was queued is read
  marker.send('marker', rport, '127.0.0.1');
  await until(() => markerSeen, 5000, 'the marker');
  const stats = r.getStats();
  assert.strictEqual(procUdpDrops(rport), procDrops, 'no drops after the flood');
  return { stats, procDrops, got };
}

test('getStats().kernelDrops equals /proc/net/udp\'s drops after a flood while JS is blocked (inline driver)', T, async (t) => {
  const count = 20000;
  const { stats, procDrops, got } = await floodBlocked(t, 'inline', { count, size: 100, recvBufferSize: 65536 });
  // The inline driver does not read while JS is blocked: the receive buffer overflows.
  assert.ok(procDrops > count / 2, `the kernel dropped ${procDrops} of ${count}`);
  assert.strictEqual(stats.kernelDrops, procDrops);
  assert.strictEqual(stats.pendingDrops, 0);
  assert.strictEqual(stats.receivedDatagrams, got);
  assert.strictEqual(stats.receivedDatagrams + stats.kernelDrops, count + 1);
  t.diagnostic(`inline: ${JSON.stringify(stats)}`);
});

test('a blocked JS thread: the thread driver stops reading at the pending cap and the kernel counts the rest', T, async (t) => {
  const count = 30000;
  const size = 200; // 6 MB: three times the pending-data cap
  const { stats, procDrops, got } = await floodBlocked(t, 'thread', { count, size, recvBufferSize: 4 << 20 });
  // The reactor pauses a socket whose mail reaches half the cap, so what it read but could not
  // hold is at most one recvmmsg batch (64 datagrams); the kernel queue takes the rest.
  assert.ok(stats.pendingDrops <= 64, `pendingDrops ${stats.pendingDrops}`);
  assert.ok(stats.kernelDrops > 0, 'the kernel queue overflowed while JS was blocked');
  assert.strictEqual(stats.kernelDrops, procDrops);
  assert.strictEqual(stats.receivedDatagrams, got);
  // Every datagram sent is accounted for: delivered, or dropped by the kernel or by the cap.
  assert.strictEqual(stats.receivedDatagrams + stats.kernelDrops + stats.pendingDrops, count + 1);
  // Blocked JS lets the batches grow: far fewer deliveries than datagrams.
  assert.ok(stats.meanBatchSize > 10, `mean batch ${stats.meanBatchSize}`);
  t.diagnostic(`thread: ${JSON.stringify(stats)}`);
});
