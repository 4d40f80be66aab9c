'use strict';

// connect() beyond the basics (test/connect.test.js): host names through lookup, the kernel's
// filtering of other peers, ECONNREFUSED after an ICMP port-unreachable, calls made while the
// connect is pending, and Node 26's bindSync() / connectSync().

const assert = require('node:assert');
const { test } = require('node:test');
const { assertSame, assertLogHas, loadBuiltin, loadSubject, receiver } = require('./helpers/differential');

const T = { timeout: 15000 };

test('connect to a host name goes through the lookup option (its arguments logged)', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, port } = await receiver(ctx);
    const lookup = (host, options, cb) => {
      ctx.log('lookup', host, typeof options === 'object' ? options : `family ${options}`, typeof cb);
      process.nextTick(cb, null, '127.0.0.1', 4);
    };
    const s = ctx.socket('S', { type: 'udp4', lookup });
    ctx.watch(s);
    const cb = ctx.callback('connect callback');
    ctx.call('connect(port, "peer.test", cb)', () => s.connect(port, 'peer.test', cb));
    await cb.called;
    ctx.call('remoteAddress()', () => s.remoteAddress());
    const got = ctx.once(r, 'message');
    ctx.call('send("via name")', () => s.send('via name'));
    await got;
  });
  assertLogHas(log, "'lookup', 'peer.test'", "'S', 'connect'", "'R', 'message'");
});

test('connect to "localhost" (dns.lookup) and to "::1" on udp6', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { port } = await receiver(ctx);
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    await new Promise((resolve) => s.connect(port, 'localhost', resolve));
    ctx.call('remoteAddress() udp4 localhost', () => s.remoteAddress());
    const { port: port6 } = await receiver(ctx, 'R6', 'udp6');
    const s6 = ctx.socket('S6', 'udp6');
    ctx.watch(s6);
    await new Promise((resolve) => s6.connect(port6, resolve));
    ctx.call('remoteAddress() udp6 default', () => s6.remoteAddress());
  });
  assertLogHas(log, "address: '127.0.0.1'", "address: '::1'");
});

test('a connected socket receives only from its peer (the kernel filters the others)', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r: peer, port: peerPort } = await receiver(ctx, 'P');
    const other = ctx.socket('O', 'udp4');
    await ctx.bound(other);
    const c = ctx.socket('C', 'udp4');
    ctx.watch(c);
    await ctx.bound(c);
    const cport = c.address().port;
    await new Promise((resolve) => c.connect(peerPort, '127.0.0.1', resolve));
    // The other socket's datagrams go first: if they were delivered they would come first.
    for (let i = 0; i < 3; i++) other.send(`from other ${i}`, cport, '127.0.0.1');
    await ctx.delay(50);
    const got = ctx.once(c, 'message');
    peer.send('from the peer', cport, '127.0.0.1');
    await got;
    await ctx.delay(100);
  });
  assertLogHas(log, `'C', 'message', 'Buffer<${Buffer.from('from the peer').toString('hex')}>'`);
  assert.ok(!log.some((line) => line.includes(Buffer.from('from other').toString('hex'))), 'the builtin filtered the other peer');
});

test("ECONNREFUSED: a send to a closed port on a connected socket, then 'error' (recvmsg)", T, async () => {
  const log = await assertSame(async (ctx) => {
    const gone = ctx.socket('G', 'udp4');
    const port = await ctx.bound(gone);
    await new Promise((resolve) => gone.close(resolve));
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    await new Promise((resolve) => s.connect(port, '127.0.0.1', resolve));
    const failed = ctx.once(s, 'error', 3000).catch((err) => err);
    const cb = ctx.callback('first send callback');
    s.send('anyone?', cb);
    await cb.called;
    await failed;
    ctx.call('remoteAddress() after the error', () => s.remoteAddress());
    // The pending error is consumed: the next send succeeds and the next ICMP errors again.
    const again = ctx.once(s, 'error', 3000).catch((err) => err);
    const cb2 = ctx.callback('second send callback');
    s.send('still nobody?', cb2);
    await cb2.called;
    await again;
  });
  assertLogHas(log, "'first send callback', null", "'S', 'error', { Error: { class: 'Error', name: 'Error', code: 'ECONNREFUSED', errno: -111, syscall: 'recvmsg'",
    "'second send callback', null", "'S', 'error'");
});

test('ECONNREFUSED on udp6 (::1)', T, async () => {
  const log = await assertSame(async (ctx) => {
    const gone = ctx.socket('G', 'udp6');
    const port = await ctx.bound(gone);
    await new Promise((resolve) => gone.close(resolve));
    const s = ctx.socket('S', 'udp6');
    ctx.watch(s);
    await new Promise((resolve) => s.connect(port, '::1', resolve));
    const failed = ctx.once(s, 'error', 3000).catch((err) => err);
    s.send('anyone?');
    await failed;
  });
  assertLogHas(log, "'S', 'connect'", "'S', 'error', { Error: { class: 'Error', name: 'Error', code: 'ECONNREFUSED'");
});

test('calls while a connect is pending: connect again, disconnect, remoteAddress, send forms', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, port } = await receiver(ctx);
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    ctx.call('connect', () => s.connect(port, '127.0.0.1', ctx.callback('connect callback')));
    ctx.call('connect again while connecting', () => s.connect(port, '127.0.0.1'));
    ctx.call('disconnect while connecting', () => s.disconnect());
    ctx.call('remoteAddress while connecting', () => s.remoteAddress());
    ctx.call('send(msg) while connecting', () => s.send('no port'));
    ctx.call('send(msg, cb) while connecting', () => s.send('no port', () => ctx.log('never')));
    await ctx.once(s, 'connect');
    const got = ctx.once(r, 'message');
    ctx.call('send(msg) once connected', () => s.send('connected'));
    await got;
  });
  assertLogHas(log, 'ERR_SOCKET_DGRAM_IS_CONNECTED', 'ERR_SOCKET_DGRAM_NOT_CONNECTED', "'S', 'connect'");
});

test('a send with an address issued in the same tick as connect(): what its callback gets', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, port } = await receiver(ctx);
    let received = 0;
    r.on('message', () => { received++; });
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    s.connect(port, '127.0.0.1');
    const cb = ctx.callback('addressed send callback');
    ctx.call('send(msg, port, address, cb)', () => s.send('addressed', port, '127.0.0.1', cb));
    await cb.called;
    await ctx.delay(100);
    ctx.log('received', received);
  });
  assertLogHas(log, 'addressed send callback');
});

test('connect on an already bound socket: address() keeps the port; disconnect and connect elsewhere', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r: a, port: pa } = await receiver(ctx, 'A');
    const { r: b, port: pb } = await receiver(ctx, 'B');
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    const sport = await ctx.bound(s, 0, '127.0.0.1');
    await new Promise((resolve) => s.connect(pa, '127.0.0.1', resolve));
    ctx.log('same local port', s.address().port === sport);
    let got = ctx.once(a, 'message');
    s.send('to A');
    await got;
    ctx.call('disconnect', () => s.disconnect());
    await new Promise((resolve) => s.connect(pb, '127.0.0.1', resolve));
    ctx.call('remoteAddress() now B', () => s.remoteAddress());
    got = ctx.once(b, 'message');
    s.send('to B');
    await got;
  });
  assertLogHas(log, "'A', 'message'", "'B', 'message'");
});

// ---------------------------------------------------------------------------------------------
// Node 26: bindSync(options) and connectSync(port[, address])

const builtinHasSync = typeof loadBuiltin().Socket.prototype.bindSync === 'function';
const SYNC_SKIP = builtinHasSync ? false :
  `node:dgram ${process.version} has no Socket.prototype.bindSync / connectSync (added in Node 26): compared on Node 26 only`;

test('bindSync(options): forms, return value, listening tick, errors', { ...T, skip: SYNC_SKIP }, async () => {
  const log = await assertSame(async (ctx) => {
    const forms = [
      ['bindSync()', []],
      ['bindSync({})', [{}]],
      ['bindSync({ port: 0, address: "127.0.0.1" })', [{ port: 0, address: '127.0.0.1' }]],
      ['bindSync({ address: "localhost" })', [{ address: 'localhost' }]],
      ['bindSync({ address: 123 })', [{ address: 123 }]],
      ['bindSync({ port: -1 })', [{ port: -1 }]],
      ['bindSync({ port: "x" })', [{ port: 'x' }]],
      ['bindSync(5)', [5]],
      ['bindSync(null)', [null]],
      ['bindSync({ address: "::1" }) on udp4', [{ address: '::1' }]],
      ['bindSync({ address: "192.0.2.1" })', [{ address: '192.0.2.1' }]],
    ];
    for (const [name, args] of forms) {
      const s = ctx.socket(name, 'udp4');
      ctx.watch(s);
      const order = [];
      s.on('listening', () => order.push('listening'));
      const r = ctx.call(name, () => {
        const v = s.bindSync(...args);
        return { ...v, port: v.port > 1023 ? 'ephemeral' : v.port };
      });
      order.push('returned');
      process.nextTick(() => order.push('nextTick'));
      await ctx.delay(10);
      ctx.log(name, 'order', order);
      if (r) ctx.call(`${name}: bindSync again`, () => s.bindSync());
      if (r) ctx.call(`${name}: bind again`, () => s.bind(0));
    }
    const taken = ctx.socket('taken', 'udp4');
    const port = await ctx.bound(taken);
    const t = ctx.socket('T', 'udp4');
    ctx.watch(t);
    ctx.call('bindSync on a port in use', () => t.bindSync({ port, address: '127.0.0.1' }));
    ctx.call('address() after the failed bindSync', () => t.address());
    const u = ctx.socket('U6', { type: 'udp6', ipv6Only: true });
    ctx.call('udp6 bindSync({ address: "::1" })', () => ({ ...u.bindSync({ address: '::1' }), port: 'ephemeral' }));
    const closed = ctx.socket('closed', 'udp4');
    closed.close();
    ctx.call('bindSync after close', () => closed.bindSync());
  });
  assertLogHas(log, 'bindSync()', 'ERR_INVALID_ARG_VALUE', 'EADDRINUSE');
});

test('connectSync(port[, address]): binds if needed, connect tick, errors, then sends', { ...T, skip: SYNC_SKIP }, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, port } = await receiver(ctx);
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    const order = [];
    s.on('connect', () => order.push('connect'));
    s.on('listening', () => order.push('listening'));
    ctx.call('connectSync(port)', () => s.connectSync(port));
    order.push('returned');
    process.nextTick(() => order.push('nextTick'));
    ctx.call('remoteAddress() right away', () => s.remoteAddress());
    ctx.call('address() right away', () => s.address());
    await ctx.delay(10);
    ctx.log('order', order);
    ctx.call('connectSync again', () => s.connectSync(port));
    const got = ctx.once(r, 'message');
    s.send('sync connected');
    await got;
    const cases = [
      ['connectSync()', (x) => x.connectSync()],
      ['connectSync(0)', (x) => x.connectSync(0)],
      ['connectSync(port, "localhost")', (x) => x.connectSync(port, 'localhost')],
      ['connectSync(port, 1)', (x) => x.connectSync(port, 1)],
      ['connectSync(port, "::1") on udp4', (x) => x.connectSync(port, '::1')],
      ['connectSync(port, "127.0.0.1") while binding', (x) => { x.bind(0, '127.0.0.1'); return x.connectSync(port, '127.0.0.1'); }],
    ];
    for (const [name, fn] of cases) {
      const x = ctx.socket(name, 'udp4');
      ctx.watch(x);
      ctx.call(name, () => fn(x));
      await ctx.delay(10);
    }
    const closed = ctx.socket('closed', 'udp4');
    closed.close();
    ctx.call('connectSync after close', () => closed.connectSync(port));
  });
  assertLogHas(log, "'connectSync(port)', 'returned'", 'ERR_SOCKET_DGRAM_IS_CONNECTED', 'ERR_INVALID_ARG_VALUE');
});

test(`turbo-dgram's bindSync / connectSync work on this Node too (hand-written check, ${process.version})`, T, async () => {
  const dgram = loadSubject();
  const r = dgram.createSocket('udp4');
  const s = dgram.createSocket('udp4');
  try {
    const local = r.bindSync({ address: '127.0.0.1' });
    assert.strictEqual(local.address, '127.0.0.1');
    assert.ok(local.port > 0);
    let connected = false;
    s.on('connect', () => { connected = true; });
    assert.strictEqual(s.connectSync(local.port, '127.0.0.1'), undefined);
    assert.strictEqual(connected, false, "'connect' comes on a later tick");
    assert.deepStrictEqual(s.remoteAddress(), { address: '127.0.0.1', family: 'IPv4', port: local.port });
    const got = new Promise((resolve, reject) => {
      r.once('message', (msg) => resolve(String(msg)));
      setTimeout(() => reject(new Error('no datagram within 2 s')), 2000).unref();
    });
    s.send('hello');
    assert.strictEqual(await got, 'hello');
    assert.strictEqual(connected, true);
    assert.throws(() => s.connectSync(local.port), { code: 'ERR_SOCKET_DGRAM_IS_CONNECTED' });
    assert.throws(() => r.bindSync(), { code: 'ERR_SOCKET_ALREADY_BOUND' });
    assert.throws(() => dgram.createSocket('udp4').bindSync({ address: 'localhost' }), { code: 'ERR_INVALID_ARG_VALUE' });
  } finally {
    r.close();
    s.close();
  }
});
