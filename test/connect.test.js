'use strict';

// connect() / disconnect() / remoteAddress() and send() on a connected socket.

const { test } = require('node:test');
const { assertSame, assertLogHas, receiver } = require('./helpers/differential');

const T = { timeout: 15000 };

test("connect(port, address, cb): 'connect', remoteAddress(), send without address", T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, port: rport } = await receiver(ctx);
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    ctx.call('remoteAddress() before connect', () => s.remoteAddress());
    const cb = ctx.callback('connect callback');
    ctx.call('connect', () => s.connect(rport, '127.0.0.1', cb));
    await cb.called;
    ctx.call('remoteAddress()', () => s.remoteAddress());
    ctx.call('address()', () => s.address());
    const got = ctx.once(r, 'message');
    s.send('connected send', ctx.callback('send callback'));
    await got;
  });
  assertLogHas(log, "'S', 'connect'", "'R', 'message'");
});

test('connect forms and errors', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { port: rport } = await receiver(ctx);
    const cases = [
      ['connect()', (s) => s.connect()],
      ['connect(0)', (s) => s.connect(0)],
      ['connect(-1)', (s) => s.connect(-1)],
      ['connect(65536)', (s) => s.connect(65536)],
      ['connect("abc")', (s) => s.connect('abc')],
      ['connect(port, 123)', (s) => s.connect(rport, 123)],
      ['connect(port) default address', (s) => s.connect(rport)],
      ['connect(port, cb)', (s) => s.connect(rport, () => ctx.log('connect(port, cb) callback'))],
      ['connect(port, "localhost")', (s) => s.connect(rport, 'localhost')],
    ];
    for (const [name, fn] of cases) {
      const s = ctx.socket(name, 'udp4');
      ctx.watch(s);
      let threw = true;
      ctx.call(name, () => { const ret = fn(s); threw = false; return ret; });
      if (!threw) {
        await Promise.race([ctx.once(s, 'connect').catch(() => {}), ctx.delay(300)]);
        ctx.call(`${name}: remoteAddress()`, () => s.remoteAddress());
        ctx.call(`${name}: connect again`, () => s.connect(rport, '127.0.0.1'));
      }
    }
  });
  assertLogHas(log, 'ERR_SOCKET_BAD_PORT', 'ERR_SOCKET_DGRAM_IS_CONNECTED');
});

test('send on a connected socket with an address throws ERR_SOCKET_DGRAM_IS_CONNECTED', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, port: rport } = await receiver(ctx);
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    await new Promise((resolve) => s.connect(rport, '127.0.0.1', resolve));
    ctx.call('send(msg, port, address)', () => s.send('x', rport, '127.0.0.1'));
    ctx.call('send(msg, port)', () => s.send('x', rport));
    ctx.call('send(msg, 0, 1, port)', () => s.send('xy', 0, 1, rport));
    ctx.call('send(msg, 0, 1, cb)', () => s.send('xy', 0, 1, ctx.callback('slice callback')));
    let received = 0;
    r.on('message', () => { received++; });
    await ctx.until(() => received === 3, 2000, 'three datagrams (as the builtin delivers)');
  });
  assertLogHas(log, 'ERR_SOCKET_DGRAM_IS_CONNECTED');
});

test('disconnect(): back to unconnected, then send needs an address again', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, port: rport } = await receiver(ctx);
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    ctx.call('disconnect() before connect', () => s.disconnect());
    await new Promise((resolve) => s.connect(rport, '127.0.0.1', resolve));
    ctx.call('disconnect()', () => s.disconnect());
    ctx.call('remoteAddress() after disconnect', () => s.remoteAddress());
    ctx.call('disconnect() again', () => s.disconnect());
    ctx.call('send(msg) without address', () => s.send('x'));
    const got = ctx.once(r, 'message');
    s.send('after disconnect', rport, '127.0.0.1', ctx.callback('send callback'));
    await got;
  });
  assertLogHas(log, 'ERR_SOCKET_DGRAM_NOT_CONNECTED');
});

test('connect on ::1 (udp6) and a lookup error during connect', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, port: rport } = await receiver(ctx, 'R', 'udp6');
    const s = ctx.socket('S', 'udp6');
    ctx.watch(s);
    await new Promise((resolve) => s.connect(rport, '::1', resolve));
    ctx.call('remoteAddress()', () => s.remoteAddress());
    const got = ctx.once(r, 'message');
    s.send('v6 connected');
    await got;
    const lookup = (host, opts, cb) => process.nextTick(typeof opts === 'function' ? opts : cb, Object.assign(new Error('nope'), { code: 'ENOTFOUND' }));
    const t = ctx.socket('T', { type: 'udp4', lookup });
    ctx.watch(t);
    const cb = ctx.callback('connect callback');
    t.connect(9, 'nowhere.test', cb);
    await Promise.race([ctx.once(t, 'error').catch(() => {}), ctx.delay(500)]);
  });
  assertLogHas(log, "'S', 'connect'");
});
