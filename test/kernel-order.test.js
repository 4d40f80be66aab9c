'use strict';

// The builtin hands a datagram to the kernel inside send() (connected socket) or on the lookup's
// tick (an address), before anything later in the program. turbo-dgram queues the tick's datagrams
// and flushes them with one sendmmsg, so every later change of kernel state (any socket's options,
// memberships, connect, bind, close) must find them already sent. Each scenario changes state
// right after a send and compares what the peer receives.

const { test } = require('node:test');
const { assertSame, assertLogHas } = require('./helpers/differential');

const T = { timeout: 15000 };
const GROUP = '239.255.43.29';

// A receiver on the wildcard address (multicast needs it) and a sender whose multicast leaves on lo.
async function multicastPair(ctx) {
  const r = ctx.socket('R', 'udp4');
  ctx.watch(r);
  await ctx.bound(r, 0, '0.0.0.0');
  const s = ctx.socket('S', 'udp4');
  ctx.watch(s);
  await ctx.bound(s, 0, '127.0.0.1');
  s.setMulticastInterface('127.0.0.1');
  return { r, s, port: r.address().port };
}

// Sends a last datagram the receiver gets in every case, and waits for it: whatever was to arrive
// before it has arrived by then (one sender, one path, in order).
async function sendLastAndWait(ctx, r, send) {
  const last = new Promise((resolve) => r.on('message', (msg) => { if (String(msg) === 'last') resolve(); }));
  send();
  await ctx.within(last, "the 'last' datagram");
}

test('a connected send, then the receiver joins the group in the same tick: the datagram was already sent', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, port } = await multicastPair(ctx);
    await new Promise((resolve) => s.connect(port, GROUP, resolve));
    s.send('before the join');
    ctx.call('addMembership', () => r.addMembership(GROUP, '127.0.0.1'));
    await sendLastAndWait(ctx, r, () => s.send('last'));
  });
  assertLogHas(log, "'addMembership', 'returned'", "'R', 'message'");
});

test('a connected send, then the receiver leaves the group in the same tick: the datagram arrives', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, port } = await multicastPair(ctx);
    r.addMembership(GROUP, '127.0.0.1');
    await new Promise((resolve) => s.connect(port, GROUP, resolve));
    s.send('before the drop');
    ctx.call('dropMembership', () => r.dropMembership(GROUP, '127.0.0.1'));
    // The receiver no longer gets the group: the last datagram goes to it directly.
    const direct = ctx.socket('D', 'udp4');
    await ctx.bound(direct, 0, '127.0.0.1');
    await sendLastAndWait(ctx, r, () => direct.send('last', port, '127.0.0.1'));
  });
  assertLogHas(log, "'dropMembership', 'returned'", "'R', 'message'");
});

test('a send to an address, then a join on the next tick: the lookup tick sent it first', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, port } = await multicastPair(ctx);
    s.send('before the join', port, GROUP);
    process.nextTick(() => ctx.call('addMembership', () => r.addMembership(GROUP, '127.0.0.1')));
    await ctx.delay(20);
    await sendLastAndWait(ctx, r, () => s.send('last', port, GROUP));
  });
  assertLogHas(log, "'addMembership', 'returned'", "'R', 'message'");
});

test('a broadcast send to an address, then setBroadcast(false) on the next tick: the lookup tick sent it first', T, async () => {
  const log = await assertSame(async (ctx) => {
    const r = ctx.socket('R', 'udp4');
    ctx.watch(r);
    await ctx.bound(r, 0, '0.0.0.0');
    const port = r.address().port;
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    await ctx.bound(s, 0, '127.0.0.1');
    s.setBroadcast(true);
    s.send('broadcast', port, '127.255.255.255', ctx.callback('send callback'));
    process.nextTick(() => ctx.call('setBroadcast(false)', () => s.setBroadcast(false)));
    await ctx.delay(20);
    await sendLastAndWait(ctx, r, () => s.send('last', port, '127.0.0.1'));
  });
  assertLogHas(log, "'setBroadcast(false)', 'returned'", "'send callback', null", "'R', 'message'");
});

test("membership calls with an empty interface string: the builtin's EINVAL", T, async () => {
  const log = await assertSame(async (ctx) => {
    const s = ctx.socket('S', 'udp4');
    ctx.call("addMembership(group, '')", () => s.addMembership(GROUP, ''));
    ctx.call("dropMembership(group, '')", () => s.dropMembership(GROUP, ''));
    ctx.call("addSourceSpecificMembership(source, group, '')",
      () => s.addSourceSpecificMembership('127.0.0.1', '232.43.1.29', ''));
    ctx.call("dropSourceSpecificMembership(source, group, '')",
      () => s.dropSourceSpecificMembership('127.0.0.1', '232.43.1.29', ''));
    ctx.call('addMembership(group) without an interface', () => s.addMembership(GROUP));
  });
  assertLogHas(log, "addMembership(group, '')", 'threw');
});
