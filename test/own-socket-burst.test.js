'use strict';

// A JS thread that sends to a socket of its own process flat out (a node:dgram sender, one burst
// per loop iteration, numbered datagrams), then, after a quiet 30 ms, one datagram more. Every
// datagram must arrive, in order, as with the builtin, which reads up to 32 per poll phase between
// its own sends. Child processes, one per module and driver (the builtin ignores `driver`); the
// receiver is connected to the sender in one case (the read assist reads connected sockets too).
//
// - 400 x 32 datagrams: with the thread driver the reader is another thread, which on a small
//   machine can go milliseconds without CPU beside the sending thread (and V8's GC threads) while
//   the 256-datagram default receive queue overflows; before the JS thread's read assist
//   (UdpCore::needs_assist) this lost 1-60% here.
// - 160 x 8 datagrams into the inline and handover drivers: fast enough for their interrupt moderation
//   (src/moderation.rs: 50 us pauses above 40k/s, the reactor unwatched and a timer handle
//   resuming it) and fewer per iteration than a turn reads, so turns empty the queue and pause
//   (`perf stat -e syscalls:sys_enter_timerfd_settime` counted 9-69 pauses per run). The datagram
//   after the quiet shows the driver watches again once the rate has fallen.

const { test } = require('node:test');
const assert = require('node:assert');
const { runChild } = require('./helpers/child');
const { subjectSpec } = require('./helpers/differential');

const scenario = ({ driver, iterations, perIteration, connected }) => `
  const total = ${iterations * perIteration};
  const sender = require('node:dgram').createSocket('udp4');
  const r = dgram.createSocket({ type: 'udp4', driver: '${driver}' });
  let received = 0;
  let inOrder = true;
  r.on('message', (m) => {
    if (m.length !== 4) {
      out('after', String(m));
      r.close();
      sender.close();
      return;
    }
    inOrder = inOrder && m.readUInt32BE(0) === received;
    received++;
    if (received === total) {
      out('burst', received, inOrder);
      setTimeout(() => sender.send('after', r.address().port, '127.0.0.1'), 30);
    }
  });
  setTimeout(() => { out('stuck', received, inOrder); process.exit(1); }, 10000).unref();
  const bound = (socket) => new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  Promise.all([bound(r), bound(sender)]).then(async () => {
    if (${Boolean(connected)}) await new Promise((resolve) => r.connect(sender.address().port, '127.0.0.1', resolve));
    const port = r.address().port;
    let next = 0;
    const burst = () => {
      for (let i = 0; i < ${perIteration}; i++) {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(next++);
        sender.send(b, port, '127.0.0.1');
      }
      if (next < total) setImmediate(burst);
    };
    burst();
  });
`;

const CASES = [
  { driver: 'handover', iterations: 400, perIteration: 32 },
  { driver: 'handover', iterations: 160, perIteration: 8 },
  { driver: 'thread', iterations: 400, perIteration: 32 },
  { driver: 'thread', iterations: 400, perIteration: 32, connected: true },
  { driver: 'inline', iterations: 400, perIteration: 32 },
  { driver: 'inline', iterations: 160, perIteration: 8 },
];

// The builtin ignores `driver`: one reference run per scenario shape.
const references = new Map();
function reference(c) {
  const key = `${c.iterations} ${c.perIteration} ${Boolean(c.connected)}`;
  if (!references.has(key)) references.set(key, runChild('node:dgram', scenario(c), { timeoutMs: 15000 }));
  return references.get(key);
}

for (const c of CASES) {
  const total = c.iterations * c.perIteration;
  const receiver = c.connected ? 'a connected socket' : 'a socket';
  test(`${c.iterations} x ${c.perIteration} datagrams sent flat out to ${receiver} of the same process, then one more (${c.driver} driver): all arrive, in order`, { timeout: 30000 }, async () => {
    const builtin = await reference(c);
    // The builtin is the reference; this pins what it printed, so a scenario in which the
    // builtin itself lost datagrams (a test bug) does not pass unnoticed.
    assert.deepStrictEqual(builtin.stdout, [`["burst",${total},true]`, '["after","after"]'], builtin.stderr);
    const subject = await runChild(subjectSpec(), scenario(c), { timeoutMs: 15000 });
    assert.deepStrictEqual({ code: subject.code, stdout: subject.stdout }, { code: builtin.code, stdout: builtin.stdout }, subject.stderr);
  });
}
