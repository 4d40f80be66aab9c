'use strict';

// bind() in all its forms, its errors, 'listening', address(), host names and the lookup option.

const { test } = require('node:test');
const { EventEmitter } = require('node:events');
const { assertSame, assertLogHas } = require('./helpers/differential');

const T = { timeout: 15000 };

// Binds with `args` and logs: bind's return value, events, the callback's `this` and arguments,
// and address() once listening (or after the error).
async function bindScenario(ctx, type, args, { cbIndex = -1 } = {}) {
  const s = ctx.socket('S', type);
  ctx.watch(s);
  const settled = new Promise((resolve) => {
    s.once('listening', resolve);
    s.once('error', resolve);
  });
  if (cbIndex >= 0) {
    const cb = args[cbIndex];
    args = args.slice();
    args[cbIndex] = function (...cbArgs) {
      ctx.log('bind callback', 'this is S', this === s, ...cbArgs);
      cb();
    };
  }
  ctx.call('bind', () => s.bind(...args));
  await ctx.within(settled, 'listening or error');
  ctx.call('address()', () => s.address());
  return s;
}

const forms = [
  ['bind(0, "127.0.0.1", cb)', 'udp4', [0, '127.0.0.1', () => {}], 2],
  ['bind(0, cb)', 'udp4', [0, () => {}], 1],
  ['bind(cb)', 'udp4', [() => {}], 0],
  ['bind()', 'udp4', [], -1],
  ['bind(0)', 'udp4', [0], -1],
  ['bind(0, "127.0.0.1")', 'udp4', [0, '127.0.0.1'], -1],
  ['bind({ port: 0, address: "127.0.0.1" }, cb)', 'udp4', [{ port: 0, address: '127.0.0.1' }, () => {}], 1],
  ['bind({ port: 0 }, cb)', 'udp4', [{ port: 0 }, () => {}], 1],
  ['bind({}, cb)', 'udp4', [{}, () => {}], 1],
  ['bind({ address: "127.0.0.1", exclusive: true })', 'udp4', [{ address: '127.0.0.1', exclusive: true }], -1],
  ['bind({ port: 0, address: "127.0.0.1", exclusive: false }, cb)', 'udp4', [{ port: 0, address: '127.0.0.1', exclusive: false }, () => {}], 1],
  ['bind(null, "127.0.0.1")', 'udp4', [null, '127.0.0.1'], -1],
  ['bind(undefined, "127.0.0.1", cb)', 'udp4', [undefined, '127.0.0.1', () => {}], 2],
  ['bind(0, "", cb)', 'udp4', [0, '', () => {}], 2],
  ['bind(0, null, cb)', 'udp4', [0, null, () => {}], 2],
  ['bind("0", "127.0.0.1")', 'udp4', ['0', '127.0.0.1'], -1],
  ['udp6 bind(0, "::1", cb)', 'udp6', [0, '::1', () => {}], 2],
  ['udp6 bind(cb)', 'udp6', [() => {}], 0],
  ['udp6 bind()', 'udp6', [], -1],
  ['udp6 bind({ port: 0, address: "::1" })', 'udp6', [{ port: 0, address: '::1' }], -1],
  ['udp6 bind(0, "127.0.0.1") (IPv4 literal on udp6)', 'udp6', [0, '127.0.0.1'], -1],
  ['udp6 bind(0, "::ffff:127.0.0.1")', 'udp6', [0, '::ffff:127.0.0.1'], -1],
  ['udp4 bind(0, "::1") (IPv6 literal on udp4)', 'udp4', [0, '::1'], -1],
  ['udp4 bind(0, "localhost")', 'udp4', [0, 'localhost'], -1],
  ['udp4 bind(0, "127.0.0.2")', 'udp4', [0, '127.0.0.2'], -1],
  // A TEST-NET-1 address is no local address: bind fails with EADDRNOTAVAIL (no packet is sent).
  ['udp4 bind(0, "192.0.2.1") EADDRNOTAVAIL', 'udp4', [0, '192.0.2.1'], -1],
];

for (const [name, type, args, cbIndex] of forms) {
  test(name, T, async () => {
    const log = await assertSame((ctx) => bindScenario(ctx, type, args, { cbIndex }));
    assertLogHas(log, 'bind');
  });
}

test('bind with bad ports throws (or fails) like the builtin', T, async () => {
  const log = await assertSame(async (ctx) => {
    const bad = [-1, 65536, 1.5, NaN, Infinity, -0.5, 'abc', '123abc', '', true, false, [], 2 ** 32,
      { port: -1 }, { port: 65536 }, { port: 'x' }, { port: 1.5 }, { port: NaN }, { port: null }];
    for (const port of bad) {
      const s = ctx.socket('S', 'udp4');
      ctx.watch(s, `S(${show(port)})`);
      const r = ctx.call(`bind(${show(port)}, '127.0.0.1')`, () => (
        typeof port === 'object' && port !== null && !Array.isArray(port) ? s.bind({ address: '127.0.0.1', ...port }) : s.bind(port, '127.0.0.1')));
      if (r) {
        await Promise.race([ctx.once(s, 'listening').catch(() => {}), ctx.delay(500)]);
        // Ports here are logged as 'ephemeral' (the kernel may hand one port out twice in a run).
        ctx.call(`address() after bind(${show(port)})`, () => ephemeral(s.address()));
      }
      s.close();
    }
  });
  assertLogHas(log, 'bind(-1', 'bind({"port":-1}');
});

test('bind with a bad address type throws like the builtin', T, async () => {
  const log = await assertSame(async (ctx) => {
    for (const address of [123, true, {}, [], Symbol('x')]) {
      const s = ctx.socket('S', 'udp4');
      ctx.watch(s, `S(${show(address)})`);
      const r = ctx.call(`bind(0, ${show(address)})`, () => s.bind(0, address));
      if (r) await Promise.race([ctx.once(s, 'listening').catch(() => {}), ctx.delay(500)]);
      s.close();
    }
  });
  assertLogHas(log, 'bind(0, 123)');
});

test('bind twice throws ERR_SOCKET_ALREADY_BOUND, while binding and once bound', T, async () => {
  const log = await assertSame(async (ctx) => {
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    const listening = ctx.once(s, 'listening');
    ctx.call('first bind', () => s.bind(0, '127.0.0.1'));
    ctx.call('second bind while binding', () => s.bind(0, '127.0.0.1'));
    await listening;
    ctx.call('third bind once bound', () => s.bind(0, '127.0.0.1'));
    ctx.call('bind(cb) once bound', () => s.bind(() => ctx.log('never')));
    ctx.call('address()', () => s.address());
  });
  assertLogHas(log, 'ERR_SOCKET_ALREADY_BOUND');
});

test('bind to a port in use emits error "bind EADDRINUSE 127.0.0.1:PORT", then can bind again', T, async () => {
  const log = await assertSame(async (ctx) => {
    const a = ctx.socket('A', 'udp4');
    ctx.watch(a);
    const port = await ctx.bound(a);
    ctx.log('A port', ctx.port(port));
    const b = ctx.socket('B', 'udp4');
    ctx.watch(b);
    const cb = ctx.callback('B bind callback');
    const err = ctx.once(b, 'error');
    ctx.call('B bind(A port)', () => b.bind(port, '127.0.0.1', cb));
    await err;
    ctx.call('B address() after the error', () => b.address());
    // The failed bind leaves the socket unbound: binding again works.
    const listening = ctx.once(b, 'listening');
    ctx.call('B bind(0) again', () => b.bind(0, '127.0.0.1'));
    await listening;
    ctx.log('B bound again on another port', b.address().port !== port);
  });
  assertLogHas(log, 'EADDRINUSE', "'B', 'listening'");
});

// Where bind() hangs the cleanup of its callback differs between Nodes of one major line: on
// 'error' (which then counts as a listener, so a bind error is emitted into it) or on
// events.errorMonitor (which does not). lib/ asks the builtin which; this shows it asked right.
test("bind(port, address, cb): the listeners it adds ('error' or errorMonitor) and removes", T, async () => {
  const log = await assertSame(async (ctx) => {
    const counts = (s) => ({
      error: s.listenerCount('error'),
      errorMonitor: s.listenerCount(EventEmitter.errorMonitor),
      listening: s.listenerCount('listening'),
    });
    const a = ctx.socket('A', 'udp4');
    ctx.log('A before bind', counts(a));
    const cb = ctx.callback('A bind callback');
    a.bind(0, '127.0.0.1', cb);
    ctx.log('A while binding', counts(a));
    await cb.called;
    ctx.log('A once listening', counts(a));
    const b = ctx.socket('B', 'udp4');
    const err = ctx.once(b, 'error');
    ctx.log('B with an error listener', counts(b));
    b.bind(a.address().port, '127.0.0.1', ctx.callback('never: B bind callback'));
    ctx.log('B while binding', counts(b));
    await err;
    ctx.log('B after EADDRINUSE', counts(b));
  });
  assertLogHas(log, 'A while binding', 'B after EADDRINUSE');
});

test('bind EADDRINUSE on ::1 (udp6)', T, async () => {
  const log = await assertSame(async (ctx) => {
    const a = ctx.socket('A', 'udp6');
    const port = await ctx.bound(a);
    ctx.log('A port', ctx.port(port));
    const b = ctx.socket('B', 'udp6');
    ctx.watch(b);
    const err = ctx.once(b, 'error');
    b.bind({ port, address: '::1' });
    await err;
  });
  assertLogHas(log, 'bind EADDRINUSE ::1:<port1>');
});

test('reuseAddr lets two sockets bind one port', T, async () => {
  const log = await assertSame(async (ctx) => {
    const a = ctx.socket('A', { type: 'udp4', reuseAddr: true });
    ctx.watch(a);
    const port = await ctx.bound(a);
    const b = ctx.socket('B', { type: 'udp4', reuseAddr: true });
    ctx.watch(b);
    b.bind(port, '127.0.0.1');
    await Promise.race([ctx.once(b, 'listening').catch(() => {}), ctx.delay(500)]);
    ctx.call('B address()', () => b.address());
  });
  assertLogHas(log, "'B', 'listening'");
});

test("address() before bind, while binding, once bound; 'listening' comes once", T, async () => {
  await assertSame(async (ctx) => {
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    ctx.call('address() before bind', () => s.address());
    s.bind(0, '127.0.0.1');
    ctx.call('address() right after bind()', () => s.address());
    process.nextTick(() => ctx.call('address() next tick', () => s.address()));
    await ctx.once(s, 'listening');
    ctx.call('address() once listening', () => s.address());
    ctx.call('address() has exactly these keys', () => Object.keys(s.address()));
    await ctx.delay(50);
  });
});

test("the order of 'listening', the bind callback, nextTick and setImmediate", T, async () => {
  const log = await assertSame(async (ctx) => {
    const s = ctx.socket('S', 'udp4');
    s.on('listening', () => ctx.log('listening listener (added before bind)'));
    const cb = ctx.callback('bind callback');
    s.bind(0, '127.0.0.1', cb);
    s.on('listening', () => ctx.log('listening listener (added after bind)'));
    ctx.log('bind returned');
    process.nextTick(() => ctx.log('nextTick'));
    Promise.resolve().then(() => ctx.log('microtask'));
    setImmediate(() => ctx.log('setImmediate'));
    await cb.called;
    await new Promise((resolve) => setImmediate(resolve));
  });
  assertLogHas(log, 'bind returned', 'bind callback');
});

test('bind to "localhost" goes through dns.lookup (127.0.0.1)', T, async () => {
  await assertSame(async (ctx) => {
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    await ctx.bound(s, 0, 'localhost');
    ctx.call('address()', () => s.address());
  });
});

test('the lookup option resolves bind addresses: its arguments and its result', T, async () => {
  const log = await assertSame(async (ctx) => {
    const lookup = function (hostname, options, callback) {
      ctx.log('lookup called', hostname, typeof options === 'function' ? 'function' : options, typeof callback, 'arguments', arguments.length);
      const cb = typeof options === 'function' ? options : callback;
      process.nextTick(cb, null, '127.0.0.1', 4);
    };
    const s = ctx.socket('S', { type: 'udp4', lookup });
    ctx.watch(s);
    await ctx.bound(s, 0, 'my-host.test');
    ctx.call('address()', () => s.address());
    const t = ctx.socket('T', { type: 'udp4', lookup });
    ctx.watch(t);
    await ctx.bound(t, { port: 0 });
    ctx.call('T address() (bind without address: is lookup asked?)', () => t.address());
  });
  assertLogHas(log, "'lookup called', 'my-host.test'");
});

test('a lookup error becomes the bind error event, unchanged', T, async () => {
  const log = await assertSame(async (ctx) => {
    const lookup = (hostname, options, callback) => {
      const err = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      err.code = 'ENOTFOUND';
      err.errno = -3008;
      err.syscall = 'getaddrinfo';
      err.hostname = hostname;
      process.nextTick(callback, err);
    };
    const s = ctx.socket('S', { type: 'udp4', lookup });
    ctx.watch(s);
    const cb = ctx.callback('bind callback');
    s.bind(0, 'nowhere.test', cb);
    await ctx.once(s, 'error');
    ctx.call('address() after the error', () => s.address());
  });
  assertLogHas(log, 'ENOTFOUND');
});

test('a lookup that returns an address of the other family', T, async () => {
  await assertSame(async (ctx) => {
    const lookup = (hostname, options, callback) => process.nextTick(callback, null, '::1', 6);
    const s = ctx.socket('S', { type: 'udp4', lookup });
    ctx.watch(s);
    s.bind(0, 'v6-only.test');
    await Promise.race([ctx.once(s, 'listening').catch(() => {}), ctx.delay(500)]);
    ctx.call('address()', () => s.address());
  });
});

test('bind after close throws ERR_SOCKET_DGRAM_NOT_RUNNING', T, async () => {
  const log = await assertSame(async (ctx) => {
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    s.close();
    ctx.call('bind after close', () => s.bind(0, '127.0.0.1'));
    await ctx.once(s, 'close').catch(() => {});
  });
  assertLogHas(log, 'ERR_SOCKET_DGRAM_NOT_RUNNING');
});

function ephemeral(address) {
  return { ...address, port: address.port > 1023 ? 'ephemeral' : address.port };
}

function show(v) {
  if (v === undefined) return 'undefined';
  if (typeof v === 'symbol') return v.toString();
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return JSON.stringify(v);
}

test('bind({ fd }) with bad descriptors', T, async () => {
  const log = await assertSame(async (ctx) => {
    for (const fd of [-1, 1.5, 'x', 2 ** 31, null]) {
      const s = ctx.socket(`S(${show(fd)})`, 'udp4');
      ctx.watch(s);
      let threw = true;
      ctx.call(`bind({ fd: ${show(fd)} })`, () => { const r = s.bind({ fd }); threw = false; return r; });
      if (!threw) await Promise.race([ctx.once(s, 'listening').catch(() => {}), ctx.delay(300)]);
    }
  });
  assertLogHas(log, 'bind({ fd: -1 })');
});
