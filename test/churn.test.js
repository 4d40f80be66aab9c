'use strict';

// 10,000 cycles of create, bind, send, receive, close, in a child process per receive driver: the
// process's open fds (/proc/self/fd) come back exactly to where they were after a warm-up, and
// its RSS to within a generous margin after global.gc().

const { test } = require('node:test');
const assert = require('node:assert');
const { PACKAGE_ROOT } = require('./helpers/differential');
const { runNode } = require('./helpers/child');

const CYCLES = 10000;
const RSS_MARGIN_BYTES = 32 * 1024 * 1024; // GC and allocator noise; a leak per cycle would show

const CHILD = `
'use strict';
const fs = require('node:fs');
const dgram = require(process.env.PACKAGE_ROOT);
const driver = process.env.DRIVER;
const fds = () => fs.readdirSync('/proc/self/fd').length;
const settle = async () => {
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    global.gc();
  }
};
const closed = (s) => new Promise((resolve) => s.close(resolve));
async function cycle(i) {
  const r = dgram.createSocket({ type: 'udp4', driver });
  const s = dgram.createSocket({ type: 'udp4', driver });
  await new Promise((resolve) => r.bind(0, '127.0.0.1', resolve));
  const got = new Promise((resolve) => r.once('message', resolve));
  await new Promise((resolve, reject) => s.send('cycle ' + i, r.address().port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  const msg = await got;
  if (msg.toString() !== 'cycle ' + i) throw new Error('wrong datagram ' + msg);
  await Promise.all([closed(r), closed(s)]);
}
(async () => {
  for (let i = 0; i < 200; i++) await cycle(i); // warm-up: the reactor, its thread, lazily made state
  await settle();
  const before = { fds: fds(), rss: process.memoryUsage().rss };
  const started = Date.now();
  for (let i = 0; i < Number(process.env.CYCLES); i++) await cycle(i);
  const elapsedMs = Date.now() - started;
  await settle();
  const after = { fds: fds(), rss: process.memoryUsage().rss };
  process.stdout.write(JSON.stringify({ before, after, elapsedMs }) + '\\n');
})().catch((err) => { console.error(err); process.exit(1); });
`;

function runChurn(driver) {
  return runNode(['-e', CHILD], {
    nodeFlags: ['--expose-gc'],
    env: { PACKAGE_ROOT, DRIVER: driver, CYCLES: String(CYCLES) },
    timeoutMs: 50000,
  });
}

for (const driver of ['handover', 'thread', 'inline']) {
  test(`${CYCLES} create/bind/send/receive/close cycles (${driver} driver): fds exactly back, RSS within ${RSS_MARGIN_BYTES >> 20} MiB`, { timeout: 60000 }, async (t) => {
    const r = await runChurn(driver);
    assert.strictEqual(r.code, 0, `child failed (signal ${r.signal}):\n${r.stderr}`);
    const { before, after, elapsedMs } = JSON.parse(r.stdout);
    t.diagnostic(`churn ${driver}: ${CYCLES} cycles in ${elapsedMs} ms; fds ${before.fds} -> ${after.fds}; ` +
      `RSS ${(before.rss / 1048576).toFixed(1)} -> ${(after.rss / 1048576).toFixed(1)} MiB`);
    assert.strictEqual(after.fds, before.fds, 'open file descriptors after the cycles');
    assert.ok(after.rss - before.rss < RSS_MARGIN_BYTES,
      `RSS grew by ${((after.rss - before.rss) / 1048576).toFixed(1)} MiB over ${CYCLES} cycles`);
  });
}
