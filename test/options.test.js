'use strict';

// Socket options: buffer sizes (ERR_SOCKET_BUFFER_SIZE), TTL, broadcast, multicast settings and
// membership on the loopback interface, send queue counters, and their argument errors.

const { test } = require('node:test');
const { assertSame, assertLogHas } = require('./helpers/differential');

const T = { timeout: 15000 };
const GROUP = '239.255.42.99';

test('buffer sizes before bind throw ERR_SOCKET_BUFFER_SIZE (util.inspect compared too)', T, async () => {
  const log = await assertSame((ctx) => {
    const s = ctx.socket('S', 'udp4');
    ctx.call('getRecvBufferSize() unbound', () => s.getRecvBufferSize());
    ctx.call('getSendBufferSize() unbound', () => s.getSendBufferSize());
    ctx.call('setRecvBufferSize(65536) unbound', () => s.setRecvBufferSize(65536));
    ctx.call('setSendBufferSize(65536) unbound', () => s.setSendBufferSize(65536));
  });
  assertLogHas(log, 'ERR_SOCKET_BUFFER_SIZE', 'inspect:');
});

test('buffer sizes once bound: set, get (the kernel doubles), bad values', T, async () => {
  const log = await assertSame(async (ctx) => {
    const s = ctx.socket('S', 'udp4');
    await ctx.bound(s);
    ctx.call('setRecvBufferSize(65536)', () => s.setRecvBufferSize(65536));
    ctx.call('getRecvBufferSize()', () => s.getRecvBufferSize());
    ctx.call('setSendBufferSize(32768)', () => s.setSendBufferSize(32768));
    ctx.call('getSendBufferSize()', () => s.getSendBufferSize());
    for (const bad of [-1, 1.5, 'big', null, undefined, 2 ** 32, NaN]) {
      ctx.call(`setRecvBufferSize(${String(bad)})`, () => s.setRecvBufferSize(bad));
      ctx.call(`setSendBufferSize(${String(bad)})`, () => s.setSendBufferSize(bad));
    }
    ctx.call('setRecvBufferSize(0)', () => s.setRecvBufferSize(0));
    ctx.call('getRecvBufferSize() after 0', () => s.getRecvBufferSize());
  });
  assertLogHas(log, "'getRecvBufferSize()', 'returned', 131072");
});

test('setTTL / setBroadcast / setMulticastTTL / setMulticastLoopback: values and errors, unbound and bound', T, async () => {
  const log = await assertSame(async (ctx) => {
    const s = ctx.socket('S', 'udp4');
    const run = (when) => {
      for (const v of [1, 64, 255, 0, 256, -1, 1.5, '64', null, undefined]) {
        ctx.call(`${when} setTTL(${String(v)})`, () => s.setTTL(v));
        ctx.call(`${when} setMulticastTTL(${String(v)})`, () => s.setMulticastTTL(v));
      }
      for (const v of [true, false, 1, 0, 'yes', undefined]) {
        ctx.call(`${when} setBroadcast(${String(v)})`, () => s.setBroadcast(v));
        ctx.call(`${when} setMulticastLoopback(${String(v)})`, () => s.setMulticastLoopback(v));
      }
    };
    run('unbound');
    await ctx.bound(s);
    run('bound');
  });
  assertLogHas(log, "'bound setTTL(64)', 'returned', 64");
});

test('getSendQueueSize / getSendQueueCount: zero when idle, unbound and bound', T, async () => {
  await assertSame(async (ctx) => {
    const s = ctx.socket('S', 'udp4');
    ctx.call('getSendQueueSize() unbound', () => s.getSendQueueSize());
    ctx.call('getSendQueueCount() unbound', () => s.getSendQueueCount());
    await ctx.bound(s);
    ctx.call('getSendQueueSize() bound', () => s.getSendQueueSize());
    ctx.call('getSendQueueCount() bound', () => s.getSendQueueCount());
  });
});

test('multicast on lo: join 239.255.x.x on 127.0.0.1, loopback on, the member receives', T, async () => {
  const log = await assertSame(async (ctx) => {
    const r = ctx.socket('R', { type: 'udp4', reuseAddr: true });
    ctx.watch(r);
    await ctx.bound(r, 0, '0.0.0.0');
    const port = r.address().port;
    ctx.call('addMembership', () => r.addMembership(GROUP, '127.0.0.1'));
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    await ctx.bound(s, 0, '127.0.0.1');
    ctx.call('setMulticastInterface', () => s.setMulticastInterface('127.0.0.1'));
    ctx.call('setMulticastLoopback(true)', () => s.setMulticastLoopback(true));
    ctx.call('setMulticastTTL(1)', () => s.setMulticastTTL(1));
    const got = ctx.once(r, 'message', 3000);
    s.send('to the group', port, GROUP, ctx.callback('send callback'));
    await got;
    ctx.call('dropMembership', () => r.dropMembership(GROUP, '127.0.0.1'));
    ctx.call('dropMembership again', () => r.dropMembership(GROUP, '127.0.0.1'));
  });
  assertLogHas(log, "'R', 'message', 'Buffer<746f207468652067726f7570>'");
});

test('multicast argument errors: addMembership, dropMembership, setMulticastInterface, source-specific', T, async () => {
  const log = await assertSame(async (ctx) => {
    // Two sockets: some of these calls give an unbound socket an fd (libuv binds it implicitly).
    const calls = (s, when) => [
      [`${when} addMembership()`, () => s.addMembership()],
      [`${when} addMembership(123)`, () => s.addMembership(123)],
      [`${when} addMembership("not an ip", "127.0.0.1")`, () => s.addMembership('not an ip', '127.0.0.1')],
      [`${when} addMembership("127.0.0.1", "127.0.0.1") (not multicast)`, () => s.addMembership('127.0.0.1', '127.0.0.1')],
      [`${when} dropMembership(GROUP) (never joined)`, () => s.dropMembership(GROUP, '127.0.0.1')],
      [`${when} dropMembership()`, () => s.dropMembership()],
      [`${when} setMulticastInterface()`, () => s.setMulticastInterface()],
      [`${when} setMulticastInterface(1)`, () => s.setMulticastInterface(1)],
      [`${when} setMulticastInterface("nonsense")`, () => s.setMulticastInterface('nonsense')],
      [`${when} addSourceSpecificMembership()`, () => s.addSourceSpecificMembership()],
      [`${when} addSourceSpecificMembership("127.0.0.1", 1)`, () => s.addSourceSpecificMembership('127.0.0.1', 1)],
      [`${when} addSourceSpecificMembership("127.0.0.1", "232.1.1.1", "127.0.0.1")`, () => s.addSourceSpecificMembership('127.0.0.1', '232.1.1.1', '127.0.0.1')],
      [`${when} dropSourceSpecificMembership("127.0.0.1", "232.1.1.1", "127.0.0.1")`, () => s.dropSourceSpecificMembership('127.0.0.1', '232.1.1.1', '127.0.0.1')],
    ];
    const u = ctx.socket('U', 'udp4');
    ctx.watch(u);
    for (const [name, fn] of calls(u, 'unbound')) ctx.call(name, fn);
    ctx.call('U address() after those calls', () => u.address());
    const b = ctx.socket('B', 'udp4');
    ctx.watch(b);
    await ctx.bound(b, 0, '0.0.0.0');
    for (const [name, fn] of calls(b, 'bound')) ctx.call(name, fn);
  });
  assertLogHas(log, 'ERR_MISSING_ARGS');
});
