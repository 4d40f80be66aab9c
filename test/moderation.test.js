'use strict';

// Interrupt moderation of the inline driver (src/moderation.rs): above 40k datagrams/s it pauses
// 50 us after a turn that emptied the kernel queue, to gather a batch: it stops watching its
// reactor and a timer handle resumes it. Whatever the pauses, every datagram arrives, in order, and
// a datagram sent after the burst, when the rate has fallen, arrives too. Runs in a child process
// per module (the builtin ignores the `driver` option); the burst (1,280 datagrams, 8 per loop
// iteration: fewer than the driver reads per turn, so turns empty the queue) is fast enough to
// moderate and small enough for the kernel queue, so the builtin loses none either. The pauses
// happen: `perf stat -e syscalls:sys_enter_timerfd_settime` counted 9-69 per run of this burst.
//
// Not run with the thread driver: there the reader is another thread, and a JS thread that sends
// to its own socket flat out can outrun it (README, "Receive drivers").

const { test } = require('node:test');
const assert = require('node:assert');
const { childBoth } = require('./helpers/child');

const BURSTS = 160;
const PER_BURST = 8;

const scenario = (driver) => `
  const sender = require('node:dgram').createSocket('udp4');
  const r = dgram.createSocket({ type: 'udp4', driver: '${driver}' });
  const total = ${BURSTS * PER_BURST};
  let received = 0;
  let inOrder = true;
  let last = false;
  r.on('message', (m) => {
    if (m.length === 4) {
      inOrder = inOrder && m.readUInt32BE(0) === received;
      received++;
      if (received === total) {
        out('burst', received, inOrder);
        // Quiet, then one more: the rate estimate falls, the driver must still be watching.
        setTimeout(() => sender.send('after', r.address().port, '127.0.0.1'), 30);
      }
    } else if (!last) {
      last = true;
      out('after', String(m));
      r.close();
      sender.close();
    }
  });
  const timeout = setTimeout(() => { out('stuck', received, inOrder); process.exit(1); }, 10000);
  timeout.unref();
  r.bind(0, '127.0.0.1', () => {
    const port = r.address().port;
    let next = 0;
    const burst = () => {
      for (let i = 0; i < ${PER_BURST}; i++) {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(next++);
        sender.send(b, port, '127.0.0.1');
      }
      if (next < total) setImmediate(burst);
    };
    burst();
  });
  process.on('exit', (code) => out('exit', code));
`;

test('a fast burst and a datagram after it (inline driver): all arrive, in order', { timeout: 30000 }, async () => {
  const { builtin } = await childBoth(scenario('inline'), { timeoutMs: 15000 });
  // The builtin is the reference; this pins what it printed, so a scenario that lost datagrams
  // under the builtin itself (a test bug) does not pass unnoticed.
  assert.deepStrictEqual(builtin.stdout, [`["burst",${BURSTS * PER_BURST},true]`, '["after","after"]', '["exit",0]']);
});
