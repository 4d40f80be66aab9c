'use strict';

// The builtin hands a datagram to the kernel inside send() (connected socket) or on the lookup's
// tick (an address), before anything later in the program. turbo-dgram queues the tick's datagrams
// and flushes them with one sendmmsg, so every later change of kernel state (any socket's options,
// memberships, connect, bind, close) must find them already sent. Each scenario changes state
// right after a send and compares what the peer receives.

const { test } = require('node:test');
const { assertSame, assertLogHas, loSender, wildcardReceiver } = require('./helpers/differential');
const assert = require('node:assert');

const T = { timeout: 15000 };
const GROUP = '239.255.43.29';

// A receiver on the wildcard address (multicast needs it) and a sender whose multicast leaves on lo.
async function multicastPair(ctx) {
  const { r, port } = await wildcardReceiver(ctx);
  const s = await loSender(ctx);
  return { r, s, port };
}

// What the receiver got, as the log shows a payload.
const payload = (text) => `Buffer<${Buffer.from(text).toString('hex')}>`;
const received = (log, text) => log.some((line) => line.includes("'R', 'message'") && line.includes(payload(text)));

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
  assert.ok(!received(log, 'before the join'), 'the builtin sent it before the join: not received');
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
  assertLogHas(log, "'dropMembership', 'returned'", `'R', 'message', '${payload('before the drop')}'`);
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
  assert.ok(!received(log, 'before the join'), 'the builtin sent it on the lookup tick, before the join: not received');
});

test('a broadcast send to an address, then setBroadcast(false) on the next tick: the lookup tick sent it first', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, port } = await wildcardReceiver(ctx);
    const s = await loSender(ctx);
    s.setBroadcast(true);
    s.send('broadcast', port, '127.255.255.255', ctx.callback('send callback'));
    process.nextTick(() => ctx.call('setBroadcast(false)', () => s.setBroadcast(false)));
    await ctx.delay(20);
    await sendLastAndWait(ctx, r, () => s.send('last', port, '127.0.0.1'));
  });
  assertLogHas(log, "'setBroadcast(false)', 'returned'", "'send callback', null", `'R', 'message', '${payload('broadcast')}'`);
});
