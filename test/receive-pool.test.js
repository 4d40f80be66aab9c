'use strict';

// turbo-dgram copies a datagram that arrives alone into a per-thread receive pool and hands JS a
// view of it (src/bindings/pool.rs), where the builtin gives each datagram an ArrayBuffer of its
// own (README "Differences": msg.buffer is shared). What a user sees of the bytes must not depend
// on that, compared with the builtin in the same run:
// - a kept msg never changes while later datagrams arrive (a pool is never written twice);
// - a msg whose ArrayBuffer the user transfers away (postMessage / structuredClone with transfer)
//   is gone, as with the builtin, and the datagrams after it still arrive whole (a detached pool
//   is replaced, not written through).

const { test } = require('node:test');
const assert = require('node:assert');
const { loadBuiltin, loadSubject } = require('./helpers/differential');

const T = { timeout: 20000 };

// Sends `count` datagrams one at a time (each after the previous arrived) and returns what each
// 'message' got, as kept Buffers; `onEach(msg, i)` runs inside the listener.
async function receiveOneByOne(dgram, count, onEach = () => {}) {
  const r = dgram.createSocket('udp4');
  const s = dgram.createSocket('udp4');
  try {
    await new Promise((resolve) => r.bind(0, '127.0.0.1', resolve));
    const port = r.address().port;
    const kept = [];
    for (let i = 0; i < count; i++) {
      const got = new Promise((resolve) => r.once('message', (msg) => { onEach(msg, i); resolve(msg); }));
      s.send(Buffer.alloc(100 + i, 65 + (i % 26)), port, '127.0.0.1');
      kept.push(await got);
    }
    return kept;
  } finally {
    r.close();
    s.close();
  }
}

const view = (msgs) => msgs.map((m) => (m.buffer.byteLength === 0 ? 'detached' : `${m.length}:${m.toString('latin1')}`));

test('datagrams received one at a time and kept: their bytes never change as more arrive', T, async () => {
  const builtin = view(await receiveOneByOne(loadBuiltin(), 400));
  const subject = view(await receiveOneByOne(loadSubject(), 400));
  assert.deepStrictEqual(subject, builtin);
});

test("a msg's ArrayBuffer transferred away: that msg is gone, and the next datagrams arrive whole", T, async () => {
  const transferFirst = (msg, i) => { if (i === 0) structuredClone(msg.buffer, { transfer: [msg.buffer] }); };
  const builtin = await receiveOneByOne(loadBuiltin(), 5, transferFirst);
  const subject = await receiveOneByOne(loadSubject(), 5, transferFirst);
  // The builtin's other datagrams are untouched; turbo-dgram's later ones are too (a new pool).
  assert.deepStrictEqual(view(subject).slice(1), view(builtin).slice(1));
  assert.strictEqual(view(builtin)[0], 'detached');
  assert.strictEqual(view(subject)[0], 'detached');
});
