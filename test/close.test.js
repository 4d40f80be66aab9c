'use strict';

// close([cb]) and 'close', every call after close, ref() / unref() return values.

const assert = require('node:assert');
const { test } = require('node:test');
const { assertSame, assertLogHas, receiver, receiverAndSender } = require('./helpers/differential');

const T = { timeout: 15000 };

test("close(cb): returns this; 'close' and the callback come after the current tick, in listener order", T, async () => {
  const log = await assertSame(async (ctx) => {
    const s = ctx.socket('S', 'udp4');
    await ctx.bound(s);
    await new Promise((resolve) => setImmediate(resolve));
    s.on('close', function () { ctx.log("'close' listener added before close", 'this is S', this === s, 'arguments', arguments.length); });
    const cb = ctx.callback('close callback');
    ctx.call('close(cb)', () => s.close(cb));
    s.on('close', () => ctx.log("'close' listener added after close"));
    ctx.log('close returned');
    process.nextTick(() => ctx.log('nextTick'));
    Promise.resolve().then(() => ctx.log('microtask'));
    setImmediate(() => ctx.log('setImmediate'));
    await cb.called;
    await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
  }, { settleMs: 0 });
  assertLogHas(log, "'close(cb)', 'returned', 'Socket<S>'", 'close callback');
});

test('close() on an unbound socket; close() while binding', T, async () => {
  const log = await assertSame(async (ctx) => {
    const a = ctx.socket('A', 'udp4');
    ctx.watch(a);
    ctx.call('A close() unbound', () => a.close());
    await ctx.once(a, 'close');
    const b = ctx.socket('B', 'udp4');
    ctx.watch(b);
    ctx.call('B bind', () => b.bind(0, '127.0.0.1', () => ctx.log('B bind callback')));
    ctx.call('B close() while binding', () => b.close());
    await ctx.once(b, 'close');
    await ctx.delay(100);
  });
  assertLogHas(log, "'A', 'close'", "'B', 'close'");
});

test('close twice throws ERR_SOCKET_DGRAM_NOT_RUNNING; close with a non-function argument', T, async () => {
  const log = await assertSame(async (ctx) => {
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    await ctx.bound(s);
    ctx.call('close("not a function")', () => s.close('not a function'));
    ctx.call('close() again, same tick', () => s.close());
    await ctx.once(s, 'close');
    ctx.call('close(cb) after close', () => s.close(() => ctx.log('never')));
    ctx.log('close listeners', s.listenerCount('close'));
  });
  assertLogHas(log, 'ERR_SOCKET_DGRAM_NOT_RUNNING');
});

test('every method after close: what throws, what returns', T, async () => {
  const log = await assertSame(async (ctx) => {
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    await ctx.bound(s);
    s.close();
    const calls = [
      ['address()', () => s.address()],
      ['bind(0)', () => s.bind(0)],
      ['send(msg, 9, "127.0.0.1")', () => s.send('x', 9, '127.0.0.1')],
      ['close()', () => s.close()],
      ['ref()', () => s.ref()],
      ['unref()', () => s.unref()],
      ['connect(9, "127.0.0.1")', () => s.connect(9, '127.0.0.1')],
      ['disconnect()', () => s.disconnect()],
      ['remoteAddress()', () => s.remoteAddress()],
      ['setBroadcast(true)', () => s.setBroadcast(true)],
      ['setTTL(10)', () => s.setTTL(10)],
      ['setMulticastTTL(2)', () => s.setMulticastTTL(2)],
      ['setMulticastLoopback(true)', () => s.setMulticastLoopback(true)],
      ['setMulticastInterface("127.0.0.1")', () => s.setMulticastInterface('127.0.0.1')],
      ['addMembership("239.255.0.1")', () => s.addMembership('239.255.0.1')],
      ['dropMembership("239.255.0.1")', () => s.dropMembership('239.255.0.1')],
      ['setRecvBufferSize(65536)', () => s.setRecvBufferSize(65536)],
      ['setSendBufferSize(65536)', () => s.setSendBufferSize(65536)],
      ['getRecvBufferSize()', () => s.getRecvBufferSize()],
      ['getSendBufferSize()', () => s.getSendBufferSize()],
      ['getSendQueueSize()', () => s.getSendQueueSize()],
      ['getSendQueueCount()', () => s.getSendQueueCount()],
    ];
    for (const [name, fn] of calls) ctx.call(name, fn);
    await ctx.once(s, 'close');
  });
  assertLogHas(log, "'address()', 'threw'", "'ref()', 'returned'");
});

test('no message, listening or error event after close', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, port: rport } = await receiver(ctx);
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    await ctx.bound(s);
    for (let i = 0; i < 20; i++) s.send(`m${i}`, rport, '127.0.0.1');
    r.close(); // same tick as the sends: none may be delivered after this
    await ctx.once(r, 'close');
    await ctx.delay(100);
  });
  assertLogHas(log, "'R', 'close'");
});

// send() does not write during the call: a bound socket passes even a literal address through its
// lookup, which answers in a later tick, and an unbound one first waits for its implicit bind. A
// close() in the same tick comes first, so the builtin drops the datagram (nothing reaches R) and
// never calls the send callback.
for (const bound of [false, true]) {
  test(`close right after send on ${bound ? 'a bound' : 'an unbound'} socket: the datagram is dropped, no send callback`, T, async () => {
    const log = await assertSame(async (ctx) => {
      const { port: rport } = await receiver(ctx);
      const s = ctx.socket('S', 'udp4');
      ctx.watch(s);
      if (bound) await ctx.bound(s);
      s.send('queued before close', rport, '127.0.0.1', ctx.callback('send callback'));
      ctx.call('close()', () => s.close(ctx.callback('close callback')));
      await ctx.once(s, 'close');
      await ctx.delay(200);
    });
    assertLogHas(log, "'close()', 'returned', 'Socket<S>'", "'S', 'close'", "'close callback'");
    const delivered = log.filter((line) => line.includes("'R', 'message'") || line.includes("'send callback'"));
    assert.deepStrictEqual(delivered, [], `node:dgram delivered the datagram or called back:\n${log.join('\n')}`);
  });
}

test('ref() and unref() return this: unbound, bound, closed', T, async () => {
  const log = await assertSame(async (ctx) => {
    const s = ctx.socket('S', 'udp4');
    ctx.call('unref() unbound', () => s.unref());
    ctx.call('ref() unbound', () => s.ref());
    await ctx.bound(s);
    ctx.call('unref() bound', () => s.unref());
    ctx.call('unref() again', () => s.unref());
    ctx.call('ref() bound', () => s.ref());
    ctx.call('ref() again', () => s.ref());
    ctx.call('ref(123) ignores arguments', () => s.ref(123));
    s.close();
    ctx.call('unref() closed', () => s.unref());
    ctx.call('ref() closed', () => s.ref());
  });
  assertLogHas(log, "'unref() unbound', 'returned', 'Socket<S>'");
});

test('an unref()ed socket still receives while something else keeps the loop alive', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, port: rport } = await receiver(ctx);
    r.unref();
    const s = ctx.socket('S', 'udp4');
    await ctx.bound(s);
    const got = ctx.once(r, 'message');
    s.send('to an unref socket', rport, '127.0.0.1');
    await got;
  });
  assertLogHas(log, "'R', 'message'");
});

test('close() in the same tick as ten sends with callbacks: which callbacks run, in what order with close', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx);
    let received = 0;
    r.on('message', () => { received++; });
    for (let i = 0; i < 10; i++) s.send(`d${i}`, rport, '127.0.0.1', (err, n) => ctx.log(`send callback ${i}`, err, n));
    s.close(() => ctx.log('close callback'));
    ctx.log('close returned');
    await ctx.delay(300);
    ctx.log('the peer received', received);
  });
  assertLogHas(log, "'close returned'", "'close callback'");
});
