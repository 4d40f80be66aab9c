'use strict';

// createSocket options and lifecycle edges: reusePort, bind({ fd }) around a UDP socket the process
// inherited, receiveBlockList / sendBlockList, sends issued before the bind or its lookup finishes,
// close while a lookup is pending.

const assert = require('node:assert');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');
const { assertSame, assertLogHas, loadBuiltin, loadSubject, receiver } = require('./helpers/differential');
const { childBoth } = require('./helpers/child');

const T = { timeout: 15000 };
const [MAJOR, MINOR] = process.versions.node.split('.').map(Number);

// SO_REUSEPORT and the block lists arrived in node:dgram 22.12 / 22.13 (23.1 / 23.4). An older
// builtin ignores the block list options, and turbo-dgram ignores them there too (compared on every
// Node); turbo-dgram's reusePort works on every Node (compared where the builtin has it).
const builtinHasReusePort = MAJOR > 23 || (MAJOR === 23 && MINOR >= 1) || (MAJOR === 22 && MINOR >= 12);
const builtinHasBlockLists = MAJOR > 23 || (MAJOR === 23 && MINOR >= 4) || (MAJOR === 22 && MINOR >= 13);
const REUSEPORT_SKIP = builtinHasReusePort ? false :
  `node:dgram ${process.version} ignores createSocket({ reusePort }) (SO_REUSEPORT came in Node 22.12): compared on Node 26`;

test('reusePort: two sockets bind one port; datagrams arrive; a third without it gets EADDRINUSE', { ...T, skip: REUSEPORT_SKIP }, async () => {
  const log = await assertSame(async (ctx) => {
    const a = ctx.socket('A', { type: 'udp4', reusePort: true });
    ctx.watch(a, 'A', ['listening', 'error']);
    const port = await ctx.bound(a);
    const b = ctx.socket('B', { type: 'udp4', reusePort: true });
    ctx.watch(b, 'B', ['listening', 'error']);
    await ctx.bound(b, port, '127.0.0.1');
    ctx.log('same port', a.address().port === b.address().port);
    const c = ctx.socket('C', 'udp4');
    ctx.watch(c, 'C', ['listening', 'error']);
    c.bind(port, '127.0.0.1');
    await ctx.once(c, 'error').catch(() => {});
    let arrived = 0;
    a.on('message', () => { arrived++; });
    b.on('message', () => { arrived++; });
    const s = ctx.socket('S', 'udp4');
    for (let i = 0; i < 10; i++) s.send(`d${i}`, port, '127.0.0.1');
    await ctx.until(() => arrived === 10, 2000, 'ten datagrams at A or B');
    ctx.log('arrived', arrived);
  });
  assertLogHas(log, "'same port', true", "'C', 'error'", "'arrived', 10");
});

test(`turbo-dgram's reusePort works on this Node too (hand-written check, ${process.version})`, T, async () => {
  const dgram = loadSubject();
  const a = dgram.createSocket({ type: 'udp4', reusePort: true });
  const b = dgram.createSocket({ type: 'udp4', reusePort: true });
  const s = dgram.createSocket('udp4');
  try {
    await new Promise((resolve, reject) => { a.once('error', reject); a.bind(0, '127.0.0.1', resolve); });
    const { port } = a.address();
    await new Promise((resolve, reject) => { b.once('error', reject); b.bind(port, '127.0.0.1', resolve); });
    assert.strictEqual(b.address().port, port);
    let arrived = 0;
    const all = new Promise((resolve, reject) => {
      const on = () => { if (++arrived === 10) resolve(); };
      a.on('message', on);
      b.on('message', on);
      setTimeout(() => reject(new Error(`${arrived} of 10 datagrams within 2 s`)), 2000).unref();
    });
    for (let i = 0; i < 10; i++) s.send(`d${i}`, port, '127.0.0.1');
    await all;
  } finally {
    a.close(); b.close(); s.close();
  }
});

test('receiveBlockList drops datagrams from blocked senders; sendBlockList fails send and connect with ERR_IP_BLOCKED (Node 22.13+; ignored before)', T, async () => {
  const log = await assertSame(async (ctx) => {
    const blockOne = new net.BlockList();
    blockOne.addAddress('127.0.0.2');
    const r = ctx.socket('R', { type: 'udp4', receiveBlockList: blockOne });
    ctx.watch(r);
    const port = await ctx.bound(r, 0, '0.0.0.0');
    const blocked = ctx.socket('X', 'udp4');
    await ctx.bound(blocked, 0, '127.0.0.2');
    const ok = ctx.socket('O', 'udp4');
    await ctx.bound(ok, 0, '127.0.0.1');
    blocked.send('from a blocked address', port, '127.0.0.1');
    await ctx.delay(50);
    const got = ctx.once(r, 'message');
    ok.send('from an allowed address', port, '127.0.0.1');
    await got;
    const blockLocal = new net.BlockList();
    blockLocal.addSubnet('127.0.0.0', 8);
    const s = ctx.socket('S', { type: 'udp4', sendBlockList: blockLocal });
    ctx.watch(s);
    const cb = ctx.callback('blocked send callback');
    ctx.call('send to a blocked address', () => s.send('no', port, '127.0.0.1', cb));
    await cb.called;
    ctx.call('send to a blocked address without callback', () => s.send('no', port, '127.0.0.1'));
    const ccb = ctx.callback('blocked connect callback');
    ctx.call('connect to a blocked address', () => s.connect(port, '127.0.0.1', ccb));
    await ccb.called;
    const t = ctx.socket('T', { type: 'udp4', sendBlockList: blockLocal });
    ctx.watch(t);
    t.connect(port, '127.0.0.1');
    await ctx.once(t, 'error').catch(() => {});
    await ctx.delay(100);
    for (const bad of [{}, 'x', [], new Map()]) {
      ctx.call(`createSocket({ receiveBlockList: ${bad.constructor.name} })`, () => ctx.socket('B', { type: 'udp4', receiveBlockList: bad }) && 'created');
      ctx.call(`createSocket({ sendBlockList: ${bad.constructor.name} })`, () => ctx.socket('B', { type: 'udp4', sendBlockList: bad }) && 'created');
    }
  });
  if (builtinHasBlockLists) assertLogHas(log, "'R', 'message'", "'blocked send callback', { Error", 'ERR_IP_BLOCKED', "'T', 'error'");
  else assertLogHas(log, "'R', 'message'", "'R', 'message'", "'blocked send callback', null", "'S', 'connect'");
});

test('sends before the bind finishes (slow lookup) are flushed in order once listening', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, port } = await receiver(ctx);
    const lookup = (host, family, cb) => {
      ctx.log('lookup', host);
      setTimeout(() => cb(null, '127.0.0.1', 4), host === 'slow.bind' ? 100 : 0);
    };
    const s = ctx.socket('S', { type: 'udp4', lookup });
    ctx.watch(s);
    s.bind(0, 'slow.bind');
    for (let i = 0; i < 5; i++) s.send(`n${i}`, port, i % 2 ? 'peer.test' : '127.0.0.1', ctx.callback(`send ${i} callback`));
    ctx.log('queued; address() while binding', (() => { try { return s.address(); } catch (e) { return e.code; } })());
    await ctx.until(() => ctx.entries.filter((e) => e[0] === 'R' && e[1] === 'message').length === 5, 3000, 'five datagrams');
  });
  assertLogHas(log, "'lookup', 'slow.bind'", "'S', 'listening'", "'R', 'message', 'Buffer<6e30>'", "'R', 'message', 'Buffer<6e34>'");
});

test('close() while the bind lookup is pending, and while a send lookup is pending', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, port } = await receiver(ctx);
    const lookup = (host, family, cb) => {
      ctx.log('lookup', host);
      setTimeout(() => { ctx.log('lookup answers', host); cb(null, '127.0.0.1', 4); }, 50);
    };
    const a = ctx.socket('A', { type: 'udp4', lookup });
    ctx.watch(a);
    a.bind(0, 'bind.test');
    a.send('queued', port, '127.0.0.1', ctx.callback('A send callback'));
    ctx.call('A close() while binding', () => a.close(ctx.callback('A close callback')));
    const b = ctx.socket('B', { type: 'udp4', lookup });
    ctx.watch(b);
    await ctx.bound(b, 0, '127.0.0.1');
    b.send('never', port, 'send.test', ctx.callback('B send callback'));
    ctx.call('B close() while the send lookup runs', () => b.close());
    await ctx.delay(200);
  });
  assertLogHas(log, 'A close() while binding', "'A', 'close'", 'B close()');
});

// bind({ fd }): the process inherits a UDP socket as fd 3 (bash's /dev/udp makes one, connected to
// a peer), and the module wraps it. The peer echoes to the port the child names, so the echo comes
// from the connected peer and passes the kernel's filter. Run with an IPv4 fd and with an IPv6 fd,
// both in a udp4 socket: address() and rinfo say the fd's family, whatever the socket's type.
for (const { family, loopback } of [{ family: 'udp4', loopback: '127.0.0.1' }, { family: 'udp6', loopback: '::1' }]) {
  test(`bind({ fd }) wraps an inherited ${family} socket (connected by its creator) in a udp4 socket: address, receive, sends`, T, async () => {
    const dgram = loadBuiltin();
    const peer = dgram.createSocket(family);
    await new Promise((resolve) => peer.bind(0, loopback, resolve));
    peer.on('message', (msg, rinfo) => {
      const m = /^ping (\d+)$/.exec(String(msg));
      if (m) peer.send('pong', Number(m[1]), loopback);
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-dgram-fd-'));
    const wrapper = path.join(dir, 'node-with-udp-fd3');
    fs.writeFileSync(wrapper, '#!/bin/bash\nexec 3<>"/dev/udp/$PEER_HOST/$PEER_PORT" || exit 97\nexec "$REAL_NODE" "$@"\n', { mode: 0o755 });
    try {
      const { builtin } = await childBoth(`
        const host = process.env.PEER_HOST;
        const peerType = host.includes(':') ? 'udp6' : 'udp4';
        const s = dgram.createSocket('udp4');
        s.on('error', (e) => out('error', e.code, e.syscall));
        s.on('listening', () => {
          const a = s.address();
          out('listening', a.address, a.family, a.port === Number(process.env.PEER_PORT) ? 'peer port?' : 'own port');
          try { out('remoteAddress', s.remoteAddress()); } catch (e) { out('remoteAddress threw', e.code); }
          s.send('addressed', Number(process.env.PEER_PORT), host, (e, n) => out('addressed send', e ? e.code : n));
          const h = dgram.createSocket(peerType);
          h.send('ping ' + a.port, Number(process.env.PEER_PORT), host, () => h.close());
        });
        s.on('message', (m, r) => { out('message', String(m), r.address, r.family, r.port === Number(process.env.PEER_PORT)); s.close(); });
        s.on('close', () => out('close'));
        out('bind returned this', s.bind({ fd: 3 }) === s);
        setTimeout(() => { out('timeout'); process.exit(1); }, 3000).unref();
      `, { execPath: wrapper, env: { REAL_NODE: process.execPath, PEER_HOST: loopback, PEER_PORT: String(peer.address().port) } });
      assert.ok(builtin.stdout.some((line) => line.includes('"message","pong"')), builtin.stdout.join('\n') + builtin.stderr);
    } finally {
      peer.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
