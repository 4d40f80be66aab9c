'use strict';

// A flood into a 'message' handler that spends 10 us per datagram: memory stays under the
// pending-data cap (native.PENDING_CAP_BYTES) plus a margin, and the rest of the event loop keeps
// its turns: a setImmediate queued by a listener runs after at most native.STEPS_PER_CALLBACK
// more datagrams (counted, not timed).
// What cannot be kept stays in the kernel's queue, which drops it and counts it (getStats()
// kernelDrops): the reactor reads no more than fits under the cap, judged by the largest datagram
// seen, so with datagrams of one size nothing it has read is dropped (pendingDrops 0). 5 s in npm
// test; set TURBO_DGRAM_FLOOD_SECONDS=60 for the long run. Uses the receive driver of
// TURBO_DGRAM_DRIVER.

const { test } = require('node:test');
const assert = require('node:assert');
const { PACKAGE_ROOT } = require('./helpers/differential');
const { runNode } = require('./helpers/child');

const SECONDS = Number(process.env.TURBO_DGRAM_FLOOD_SECONDS || 5);
const MEMORY_MARGIN_BYTES = 48 * 1024 * 1024; // V8 heap, batch buffers in flight, allocator slack

const SENDER = `
const dgram = require('node:dgram');
const s = dgram.createSocket('udp4');
const payload = Buffer.alloc(512, 7);
const port = Number(process.argv[1]);
const burst = () => { for (let i = 0; i < 256; i++) s.send(payload, port, '127.0.0.1'); setImmediate(burst); };
s.bind(0, '127.0.0.1', burst);
`;

const RECEIVER = `
'use strict';
const { spawn } = require('node:child_process');
const dgram = require(process.env.PACKAGE_ROOT);
const native = require(process.env.PACKAGE_ROOT + '/lib/native.js');
const seconds = Number(process.env.SECONDS);
const spin = (us) => { const end = process.hrtime.bigint() + BigInt(us * 1000); while (process.hrtime.bigint() < end); };
const r = dgram.createSocket('udp4');
let received = 0;
// Yield probes: a listener queues a setImmediate and counts the datagrams emitted before it runs.
let probeFrom = -1;
let probes = 0;
let maxBeforeImmediate = 0;
const probeRan = () => {
  maxBeforeImmediate = Math.max(maxBeforeImmediate, received - probeFrom);
  probes++;
  probeFrom = -1;
};
r.on('message', () => {
  received++;
  if (probeFrom < 0) {
    probeFrom = received;
    setImmediate(probeRan);
  }
  spin(10);
});
r.bind(0, '127.0.0.1', async () => {
  global.gc();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const interval = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 10);
  const sender = spawn(process.execPath, ['-e', process.env.SENDER_SRC, String(r.address().port)], { stdio: 'ignore' });
  setTimeout(() => {
    sender.kill('SIGKILL');
    clearInterval(interval);
    const stats = typeof r.getStats === 'function' ? r.getStats() : null;
    process.stdout.write(JSON.stringify({ baseline, peak, cap: native.PENDING_CAP_BYTES, steps: native.STEPS_PER_CALLBACK, probes, maxBeforeImmediate, received, stats }) + '\\n');
    r.close();
  }, seconds * 1000);
});
`;

test(`a ${SECONDS} s flood into a 10 us/datagram handler: memory under the pending cap, drops counted, the loop keeps its turns`, { timeout: (SECONDS + 30) * 1000 }, async (t) => {
  const r = await runNode(['-e', RECEIVER], {
    nodeFlags: ['--expose-gc'],
    env: { PACKAGE_ROOT, SECONDS: String(SECONDS), SENDER_SRC: SENDER },
    timeoutMs: (SECONDS + 20) * 1000,
  });
  assert.strictEqual(r.code, 0, `receiver failed (signal ${r.signal}):\n${r.stderr}`);
  const m = JSON.parse(r.stdout);
  const grew = m.peak - m.baseline;
  t.diagnostic(`flood ${SECONDS} s: received ${m.received}, RSS baseline ${(m.baseline / 1048576).toFixed(1)} MiB, ` +
    `peak +${(grew / 1048576).toFixed(1)} MiB (cap ${(m.cap / 1048576).toFixed(1)} MiB), ${m.probes} yield probes, ` +
    `at most ${m.maxBeforeImmediate} datagrams before a setImmediate, stats ${JSON.stringify(m.stats)}`);
  assert.ok(m.received > 1000, `the flood did not reach the handler (${m.received} datagrams)`);
  assert.ok(grew < m.cap + MEMORY_MARGIN_BYTES, `RSS grew by ${(grew / 1048576).toFixed(1)} MiB under the flood`);
  assert.ok(m.probes > 10, `only ${m.probes} setImmediate probes ran during the flood`);
  // A socket emits at most STEPS_PER_CALLBACK events per loop callback (the inline driver reads
  // 32 per poll phase, as libuv does for the builtin: fewer).
  assert.ok(m.steps > 0 && m.maxBeforeImmediate <= m.steps,
    `a setImmediate waited for ${m.maxBeforeImmediate} datagrams (at most ${m.steps})`);
  assert.ok(m.stats, 'socket.getStats() is missing');
  assert.ok(m.stats.kernelDrops > 0,
    `a flood the handler cannot keep up with must overflow the kernel queue, and count it: ${JSON.stringify(m.stats)}`);
  assert.strictEqual(m.stats.pendingDrops, 0,
    `datagrams of one size: nothing read may be dropped for want of room under the cap: ${JSON.stringify(m.stats)}`);
});
