'use strict';

// Faults, differential where the builtin can answer: close() from inside 'message' in the middle
// of a batch, close() with sends queued / in flight / waiting for DNS, kernel errors mid-batch
// (EMSGSIZE among good datagrams, ECONNREFUSED on a connected socket), and a full send buffer
// (EAGAIN -> the reactor finishes the send when writable) in a network namespace of its own whose
// loopback is slowed by a token bucket, so that the sender's queue really fills.

const { test } = require('node:test');
const { assertSame, assertLogHas, receiverAndSender } = require('./helpers/differential');
const { compareInSlowNamespace } = require('./helpers/slow-netns');

const T = { timeout: 20000 };

test("close() inside 'message' in the middle of a batch: no later 'message', no crash", T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx);
    let n = 0;
    r.on('message', (msg) => {
      n++;
      ctx.log('message', msg.toString());
      if (n === 3) ctx.call('close() in the third message', () => r.close());
    });
    r.on('close', () => ctx.log('R close'));
    // Twenty datagrams queued in the kernel before R reads any: one batch for both modules.
    const until = Date.now() + 30;
    for (let i = 0; i < 20; i++) s.send(`m${i}`, rport, '127.0.0.1');
    while (Date.now() < until) { /* let all twenty reach R's queue first */ }
    await ctx.once(r, 'close');
    await ctx.delay(100);
    ctx.log('messages seen', n);
  });
  assertLogHas(log, "'message', 'm2'", 'close() in the third message', "'messages seen', 3");
});

test('close() with sends queued in this tick, in flight after the lookup, and waiting for DNS: callbacks as the builtin', T, async () => {
  const log = await assertSame(async (ctx) => {
    const r = ctx.socket('R', 'udp4');
    const rport = await ctx.bound(r);
    const got = [];
    r.on('message', (msg) => got.push(msg.toString()));
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s, 'S', ['listening', 'error', 'close']);
    await ctx.bound(s);
    s.send('dns', rport, 'localhost', (...args) => ctx.log('dns send callback', ...args));
    s.send('literal', rport, '127.0.0.1', (...args) => ctx.log('literal send callback', ...args));
    process.nextTick(() => {
      // The literal send is resolved (in flight to the kernel) by now; the DNS one is not.
      s.send('after-tick', rport, '127.0.0.1', (...args) => ctx.log('after-tick send callback', ...args));
      ctx.call('close()', () => s.close(() => ctx.log('close callback')));
    });
    await ctx.once(s, 'close');
    await ctx.delay(200);
    ctx.log('received', got.sort());
  });
  assertLogHas(log, 'close()', 'close callback');
});

test('close() on an unbound socket with a send waiting for its implicit bind and lookup', T, async () => {
  const log = await assertSame(async (ctx) => {
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s, 'S', ['listening', 'error', 'close']);
    s.send('x', 9, 'localhost', (...args) => ctx.log('send callback', ...args));
    s.send('y', 9, '127.0.0.1', (...args) => ctx.log('send callback 2', ...args));
    ctx.call('close()', () => s.close());
    await ctx.once(s, 'close');
    await ctx.delay(150);
  });
  assertLogHas(log, "'S', 'close'");
});

test('EMSGSIZE mid-batch: the oversized datagram fails alone, the others are sent and arrive, in order', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx);
    ctx.watch(s, 'S', ['error']);
    const got = [];
    r.on('message', (msg) => got.push(msg.length));
    const sizes = [10, 20, 65508, 30, 65507, 40, 70000, 50];
    let done = 0;
    for (const [i, size] of sizes.entries()) {
      s.send(Buffer.alloc(size, i), rport, '127.0.0.1', (err, bytes) => {
        ctx.log('callback', i, err ? err.code : bytes);
        done++;
      });
    }
    await ctx.until(() => done === sizes.length && got.length >= 6, 3000, 'all callbacks and six datagrams');
    await ctx.delay(50);
    ctx.log('received sizes', got);
  });
  assertLogHas(log, "'callback', 2, 'EMSGSIZE'", "'callback', 6, 'EMSGSIZE'", "'received sizes', [ 10, 20, 30, 65507, 40, 50 ]");
});

test('ECONNREFUSED on a connected socket: the error event, then the socket keeps working', T, async () => {
  const log = await assertSame(async (ctx) => {
    const dead = ctx.socket('D', 'udp4');
    const deadPort = await ctx.bound(dead);
    dead.close();
    await ctx.once(dead, 'close');
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s, 'S', ['connect', 'error']);
    s.connect(deadPort, '127.0.0.1');
    await ctx.once(s, 'connect');
    s.send('one', (...args) => ctx.log('send one', ...args));
    await ctx.once(s, 'error').catch((err) => ctx.log('no error event', err.message));
    s.send('two', (...args) => ctx.log('send two', ...args));
    await ctx.delay(100);
    ctx.log('remote', s.remoteAddress());
  });
  assertLogHas(log, 'ECONNREFUSED');
});

// ---------------------------------------------------------------------------------------------
// A full send buffer, in a network namespace whose loopback is a 10 Mbit/s token bucket.

// The child sends 300 datagrams of 1200 bytes in one tick from a socket with a small send
// buffer, through the 10 Mbit/s loopback, and reports every callback's outcome in order.
const SENDER = `
const r = dgram.createSocket('udp4');
r.bind(0, '127.0.0.1', () => {
  const s = dgram.createSocket({ type: 'udp4', sendBufferSize: 4096 });
  s.bind(0, '127.0.0.1', () => {
    let received = 0;
    r.on('message', () => { received++; });
    const N = 300;
    const outcomes = [];
    let maxQueued = 0;
    for (let i = 0; i < N; i++) {
      s.send(Buffer.alloc(1200, i & 0xff), r.address().port, '127.0.0.1', (err, bytes) => {
        outcomes.push(err ? err.code : bytes);
        if (outcomes.length === N) {
          setTimeout(() => {
            out('outcomes', outcomes.length, [...new Set(outcomes)], 'in order', outcomes.every((o) => o === 1200));
            out('the send queue filled', maxQueued > 0);
            out('received some', received > 0, 'received at most sent', received <= N);
            s.close(); r.close();
          }, 300);
        }
      });
    }
    const poll = setInterval(() => {
      maxQueued = Math.max(maxQueued, s.getSendQueueCount());
      if (outcomes.length === N) clearInterval(poll);
    }, 1);
    setImmediate(() => { maxQueued = Math.max(maxQueued, s.getSendQueueCount()); });
  });
});
`;

test('a full send buffer (EAGAIN): every datagram gets its own callback, in order, as with the builtin', T, async (t) => {
  await compareInSlowNamespace(t, 'faults', SENDER, [
    '["outcomes",300,[1200],"in order",true]',
    '["the send queue filled",true]',
    '["received some",true,"received at most sent",true]',
  ], 'a full send queue');
});
