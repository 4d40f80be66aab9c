'use strict';

// Buffer sizes and send-queue counters beyond test/options.test.js: what the counters read in the
// tick of a send (the builtin's libuv hands a datagram to the kernel at once when nothing waits),
// buffer sizes on udp6, after a failed bind, after close, and the createSocket size options.

const { test } = require('node:test');
const { assertSame, assertLogHas } = require('./helpers/differential');

const T = { timeout: 15000 };

test('getSendQueueSize / getSendQueueCount in the tick of sends on a connected socket', T, async () => {
  const log = await assertSame(async (ctx) => {
    const r = ctx.socket('R', 'udp4');
    const port = await ctx.bound(r);
    let received = 0;
    r.on('message', () => { received++; });
    const s = ctx.socket('S', 'udp4');
    await new Promise((resolve) => s.connect(port, '127.0.0.1', resolve));
    for (let i = 0; i < 4; i++) s.send(Buffer.alloc(200));
    ctx.log('same tick: size, count', s.getSendQueueSize(), s.getSendQueueCount());
    await new Promise((resolve) => setImmediate(resolve));
    ctx.log('next turn: size, count', s.getSendQueueSize(), s.getSendQueueCount());
    await ctx.until(() => received === 4, 2000, 'four datagrams');
  });
  assertLogHas(log, 'same tick: size, count');
});

test('getSendQueueSize / getSendQueueCount in the tick of sends that wait for the implicit bind', T, async () => {
  await assertSame(async (ctx) => {
    const r = ctx.socket('R', 'udp4');
    const port = await ctx.bound(r);
    const s = ctx.socket('S', 'udp4');
    s.send('one', port, '127.0.0.1');
    s.send('two', port, '127.0.0.1');
    ctx.log('same tick: size, count', s.getSendQueueSize(), s.getSendQueueCount());
    await ctx.once(r, 'message');
    ctx.log('after a delivery: size, count', s.getSendQueueSize(), s.getSendQueueCount());
  });
});

test('buffer sizes on udp6, after a failed bind (the fd stays), and after close', T, async () => {
  const log = await assertSame(async (ctx) => {
    const v6 = ctx.socket('V6', 'udp6');
    await ctx.bound(v6);
    ctx.call('udp6 setRecvBufferSize(8192)', () => v6.setRecvBufferSize(8192));
    ctx.call('udp6 getRecvBufferSize()', () => v6.getRecvBufferSize());
    ctx.call('udp6 setSendBufferSize(8192)', () => v6.setSendBufferSize(8192));
    ctx.call('udp6 getSendBufferSize()', () => v6.getSendBufferSize());
    const taken = ctx.socket('taken', 'udp4');
    const port = await ctx.bound(taken);
    const f = ctx.socket('F', 'udp4');
    ctx.watch(f);
    f.bind(port, '127.0.0.1');
    await ctx.once(f, 'error').catch(() => {});
    ctx.call('after EADDRINUSE: setRecvBufferSize(8192)', () => f.setRecvBufferSize(8192));
    ctx.call('after EADDRINUSE: getRecvBufferSize()', () => f.getRecvBufferSize());
    ctx.call('after EADDRINUSE: getSendQueueCount()', () => f.getSendQueueCount());
    const c = ctx.socket('C', 'udp4');
    await ctx.bound(c);
    c.close();
    ctx.call('closed getRecvBufferSize()', () => c.getRecvBufferSize());
    ctx.call('closed setSendBufferSize(8192)', () => c.setSendBufferSize(8192));
    ctx.call('closed getSendQueueSize()', () => c.getSendQueueSize());
    ctx.call('closed getSendQueueCount()', () => c.getSendQueueCount());
  });
  assertLogHas(log, "'udp6 getRecvBufferSize()', 'returned', 16384", 'after EADDRINUSE', 'closed getRecvBufferSize()');
});

test('createSocket recvBufferSize / sendBufferSize: values, bad values, applied when bound implicitly', T, async () => {
  const log = await assertSame(async (ctx) => {
    for (const v of [-1, 1.5, 'x', 2 ** 32, 0, true]) {
      ctx.call(`createSocket({ recvBufferSize: ${String(v)} })`, () => { ctx.socket('X', { type: 'udp4', recvBufferSize: v }); return 'created'; });
      ctx.call(`createSocket({ sendBufferSize: ${String(v)} })`, () => { ctx.socket('X', { type: 'udp4', sendBufferSize: v }); return 'created'; });
    }
    const r = ctx.socket('R', 'udp4');
    const port = await ctx.bound(r);
    const s = ctx.socket('S', { type: 'udp4', recvBufferSize: 12000, sendBufferSize: 9000 });
    ctx.watch(s);
    ctx.call('unbound getRecvBufferSize()', () => s.getRecvBufferSize());
    const got = ctx.once(r, 'message');
    s.send('implicit', port, '127.0.0.1');
    await got;
    ctx.call('getRecvBufferSize() once bound', () => s.getRecvBufferSize());
    ctx.call('getSendBufferSize() once bound', () => s.getSendBufferSize());
  });
  assertLogHas(log, "'getRecvBufferSize() once bound', 'returned', 24000");
});
