'use strict';

// A JS thread that sends to its own socket flat out: 400 loop iterations of 32 datagrams each, one
// socket of the same process receiving. The builtin reads up to 32 datagrams per poll phase between
// its own sends and keeps them all. With the thread driver the reader is another thread, which on a
// small machine can go milliseconds without CPU beside the sending thread (and V8's GC threads)
// while the 256-datagram default receive queue overflows: before the JS thread's read assist
// (UdpCore::needs_assist) this lost 1-60% here. Every datagram must arrive, in order, with either
// driver, as with the builtin. Child processes, one per module and driver.

const { test } = require('node:test');
const assert = require('node:assert');
const { childBoth } = require('./helpers/child');

const ITERATIONS = 400;
const PER_ITERATION = 32;
const TOTAL = ITERATIONS * PER_ITERATION;

const scenario = (driver) => `
  const sender = require('node:dgram').createSocket('udp4');
  const r = dgram.createSocket({ type: 'udp4', driver: '${driver}' });
  let received = 0;
  let inOrder = true;
  r.on('message', (m) => {
    inOrder = inOrder && m.readUInt32BE(0) === received;
    received++;
  });
  r.bind(0, '127.0.0.1', () => {
    const port = r.address().port;
    let next = 0;
    const burst = () => {
      for (let i = 0; i < ${PER_ITERATION}; i++) {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(next++);
        sender.send(b, port, '127.0.0.1');
      }
      if (next < ${TOTAL}) setImmediate(burst);
      else setTimeout(() => { out('received', received, inOrder); r.close(); sender.close(); }, 100);
    };
    burst();
  });
`;

for (const driver of ['thread', 'inline']) {
  test(`${TOTAL} datagrams sent flat out to a socket of the same process (${driver} driver): all arrive, in order`, { timeout: 30000 }, async () => {
    const { builtin } = await childBoth(scenario(driver), { timeoutMs: 15000 });
    assert.deepStrictEqual(builtin.stdout, [`["received",${TOTAL},true]`], 'the builtin itself kept them all');
  });
}
