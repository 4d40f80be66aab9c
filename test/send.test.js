'use strict';

// send(): payload kinds, offset/length, addresses, implicit bind, errors, callbacks and their tick,
// and what the peer receives ('message' with rinfo).

const { test } = require('node:test');
const { assertSame, assertLogHas, receiver, receiverAndSender } = require('./helpers/differential');

const T = { timeout: 20000 };

// Resolves once `socket` has emitted `n` more 'message' events.
function messages(ctx, socket, n, ms = 3000) {
  let seen = 0;
  return ctx.within(new Promise((resolve) => {
    const on = () => {
      if (++seen >= n) {
        socket.removeListener('message', on);
        resolve();
      }
    };
    socket.on('message', on);
  }), `${n} message(s)`, ms);
}

const payloads = [
  ['a Buffer', () => Buffer.from('hello')],
  ['a Uint8Array', () => new Uint8Array([1, 2, 3, 250])],
  ['a Uint16Array (its bytes)', () => new Uint16Array([0x0102, 0x0304])],
  ['a Float64Array', () => new Float64Array([1.5])],
  ['a DataView over part of an ArrayBuffer', () => new DataView(new Uint8Array([9, 8, 7, 6, 5]).buffer, 1, 3)],
  ['a Buffer that is a slice of a larger one', () => Buffer.from('0123456789').subarray(3, 7)],
  ['a string', () => 'hello'],
  ['a string with multi-byte UTF-8', () => 'héllo wörld ☃'],
  ['an array [header, payload] (one datagram)', () => [Buffer.from('HDR:'), Buffer.from('payload')]],
  ['an array of a string and a Uint8Array', () => ['ab', new Uint8Array([0x63, 0x64])]],
  ['an array of three Buffers, one empty', () => [Buffer.from('a'), Buffer.alloc(0), Buffer.from('b')]],
  ['an empty Buffer (empty datagram)', () => Buffer.alloc(0)],
  ['an empty string (empty datagram)', () => ''],
  ['an empty array (empty datagram)', () => []],
  ['a 1472-byte Buffer', () => Buffer.alloc(1472, 7)],
  ['a 9000-byte Buffer', () => Buffer.alloc(9000, 0x5a)],
  ['a 65507-byte Buffer (the IPv4 maximum)', () => Buffer.alloc(65507, 1)],
];

for (const [name, make] of payloads) {
  test(`send ${name}: callback(null, bytes) and the peer gets the same bytes`, T, async () => {
    const log = await assertSame(async (ctx) => {
      const { r, s, rport } = await receiverAndSender(ctx, { watch: true });
      const got = messages(ctx, r, 1);
      const cb = ctx.callback('send callback');
      ctx.call('send', () => s.send(make(), rport, '127.0.0.1', cb));
      await cb.called;
      await got;
    });
    assertLogHas(log, "'send callback', null", "'R', 'message'");
  });
}

test('send(msg, offset, length, ...) sends the slice, for Buffer, TypedArray, DataView and string', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx, { watch: true });
    const cases = [
      ['Buffer 2..5', Buffer.from('abcdefgh'), 2, 3],
      ['Buffer offset 0 length 0', Buffer.from('abc'), 0, 0],
      ['Buffer offset = length', Buffer.from('abc'), 3, 0],
      ['Uint8Array 1..3', new Uint8Array([1, 2, 3, 4]), 1, 2],
      ['Uint16Array offset 1 length 2 (bytes)', new Uint16Array([0x0102, 0x0304, 0x0506]), 1, 2],
      ['DataView 1..4', new DataView(Buffer.from('wxyz01').buffer, Buffer.from('wxyz01').byteOffset, 6), 1, 3],
      ['string 1..3', 'hello', 1, 2],
      ['multi-byte string 1..3 (bytes)', 'é€x', 1, 3],
    ];
    const got = messages(ctx, r, cases.length);
    for (const [name, msg, offset, length] of cases) {
      ctx.call(`send(${name})`, () => s.send(msg, offset, length, rport, '127.0.0.1', ctx.callback(`callback ${name}`)));
    }
    await got;
  });
  assertLogHas(log, "'R', 'message', 'Buffer<636465>'");
});

test('two sends arrive in order, callbacks run in order', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx, { watch: true });
    const got = messages(ctx, r, 2);
    s.send('first', rport, '127.0.0.1', ctx.callback('callback first'));
    s.send('second', rport, '127.0.0.1', ctx.callback('callback second'));
    await got;
  });
  assertLogHas(log, 'callback first', 'callback second');
});

test('a burst of 200 sends: all arrive, in order, callbacks in order', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx, { watch: true });
    const seen = [];
    const callbacks = [];
    r.on('message', (msg) => seen.push(msg.toString()));
    const got = messages(ctx, r, 200);
    for (let i = 0; i < 200; i++) s.send(`m${i}`, rport, '127.0.0.1', (err, n) => callbacks.push([i, err, n]));
    await got;
    await ctx.until(() => callbacks.length === 200);
    ctx.log('received in order', seen.join(',') === Array.from({ length: 200 }, (_, i) => `m${i}`).join(','));
    ctx.log('callbacks in order with (null, bytes)', callbacks.every(([i, err, n], k) => i === k && err === null && n === `m${i}`.length));
  }, { timeout: 10000 });
  assertLogHas(log, "'received in order', true", "'callbacks in order with (null, bytes)', true");
});

test('a burst of 5 in one tick, then one datagram per tick: each arrives once, in order, nothing stale', T, async () => {
  // lib/send-queue.js keeps a socket's queue arrays from flush to flush (longer than what they
  // hold after a burst): a later flush must send only its own datagrams.
  const log = await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx, { watch: true });
    const seen = [];
    r.on('message', (msg) => seen.push(msg.toString()));
    const got = messages(ctx, r, 8);
    for (let i = 0; i < 5; i++) s.send(`b${i}`, rport, '127.0.0.1');
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      s.send(`t${i}`, rport, '127.0.0.1');
    }
    await got;
    await new Promise((resolve) => setTimeout(resolve, 50));
    ctx.log('received', seen.join(','));
  }, { timeout: 10000 });
  assertLogHas(log, "'received', 'b0,b1,b2,b3,b4,t0,t1,t2'");
});

test('send without an address goes to 127.0.0.1 (udp4) and ::1 (udp6)', T, async () => {
  const log = await assertSame(async (ctx) => {
    for (const type of ['udp4', 'udp6']) {
      const r = ctx.socket(`R${type}`, type);
      ctx.watch(r);
      const rport = await ctx.bound(r);
      const s = ctx.socket(`S${type}`, type);
      ctx.watch(s);
      await ctx.bound(s);
      const got = messages(ctx, r, 3);
      s.send(`no address ${type}`, rport, ctx.callback(`callback send(msg, port, cb) ${type}`));
      s.send(`undefined address ${type}`, rport, undefined, ctx.callback(`callback send(msg, port, undefined, cb) ${type}`));
      s.send(`null address ${type}`, 0, 4, rport, null, ctx.callback(`callback send(msg, 0, 4, port, null, cb) ${type}`));
      await got;
    }
  });
  assertLogHas(log, "'Rudp4', 'message'", "'Rudp6', 'message'");
});

test('send on an unbound socket binds it implicitly (listening, then the datagram)', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx, { watch: true, bindSender: false });
    const got = messages(ctx, r, 2);
    ctx.call('address() before send', () => s.address());
    const cb = ctx.callback('send callback');
    ctx.call('send', () => s.send('implicit', rport, '127.0.0.1', cb));
    ctx.call('send again before listening', () => s.send('implicit 2', rport, '127.0.0.1', ctx.callback('send callback 2')));
    ctx.call('address() right after send', () => s.address());
    await cb.called;
    await got;
    // The implicit bind is to the wildcard address on an ephemeral port; the peer sees the sender's port.
    ctx.call('address() after', () => s.address());
  });
  assertLogHas(log, "'S', 'listening'", "'R', 'message'");
});

test('send to "localhost" resolves through dns.lookup', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx, { watch: true });
    const got = messages(ctx, r, 1);
    s.send('to localhost', rport, 'localhost', ctx.callback('send callback'));
    await got;
  });
  assertLogHas(log, "'R', 'message'");
});

test('a dns.lookup replaced before or after createSocket: which sends it sees (literals and names)', T, async () => {
  const dns = require('node:dns');
  const original = dns.lookup;
  try {
    const log = await assertSame(async (ctx) => {
      // Each run (builtin, then turbo-dgram) starts with Node's own dns.lookup.
      dns.lookup = original;
      const { r, port: rport } = await receiver(ctx);
      // Made before the replacement: Node < 26 took dns.lookup already; Node 26 reads it per call.
      const before = ctx.socket('B', 'udp4');
      ctx.watch(before);
      dns.lookup = function (hostname, options, callback) {
        ctx.log('replaced dns.lookup', hostname, options);
        return original.call(this, hostname, options, callback);
      };
      const after = ctx.socket('A', 'udp4');
      ctx.watch(after);
      // Literals, then names, each awaited: a name's answer comes from the thread pool, at no
      // fixed time relative to other datagrams.
      const literals = messages(ctx, r, 4);
      for (const [label, s] of [['B', before], ['A', after]]) {
        s.send(`${label} literal`, rport, '127.0.0.1', ctx.callback(`${label} send literal`));
        s.send(`${label} literal again`, rport, '127.0.0.1', ctx.callback(`${label} send literal again`));
      }
      await literals;
      for (const [label, s] of [['B', before], ['A', after]]) { // one at a time: the pool answers in any order
        const name = messages(ctx, r, 1);
        s.send(`${label} name`, rport, 'localhost', ctx.callback(`${label} send name`));
        await name;
      }
      dns.lookup = original;
    });
    assertLogHas(log, "'replaced dns.lookup', 'localhost'", "'R', 'message'");
  } finally {
    dns.lookup = original;
  }
});

test('send with the lookup option: lookup arguments, then the datagram', T, async () => {
  const log = await assertSame(async (ctx) => {
    const lookup = function (hostname, options, callback) {
      ctx.log('lookup called', hostname, typeof options === 'function' ? 'function' : options, typeof callback, arguments.length);
      ctx.log('lookup this', this === undefined ? 'undefined' : typeof this);
      const cb = typeof options === 'function' ? options : callback;
      process.nextTick(cb, null, '127.0.0.1', 4);
    };
    const { r, port: rport } = await receiver(ctx);
    const s = ctx.socket('S', { type: 'udp4', lookup });
    ctx.watch(s);
    const got = messages(ctx, r, 2);
    s.send('via lookup', rport, 'peer.test', ctx.callback('send callback'));
    s.send('default address via lookup', rport, ctx.callback('send callback (no address)'));
    await got;
  });
  assertLogHas(log, "'lookup called', 'peer.test'", "'R', 'message'");
});

test('a lookup error goes to the send callback, or to error without one', T, async () => {
  const log = await assertSame(async (ctx) => {
    const lookup = (hostname, options, callback) => {
      const cb = typeof options === 'function' ? options : callback;
      if (hostname !== 'nowhere.test') return process.nextTick(cb, null, '127.0.0.1', 4);
      const err = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      err.code = 'ENOTFOUND';
      err.syscall = 'getaddrinfo';
      process.nextTick(cb, err);
    };
    const s = ctx.socket('S', { type: 'udp4', lookup });
    ctx.watch(s);
    await ctx.bound(s, 0, '127.0.0.1');
    const cb = ctx.callback('send callback');
    s.send('x', 9999, 'nowhere.test', cb);
    await cb.called;
    const err = ctx.once(s, 'error');
    s.send('y', 9999, 'nowhere.test');
    await err.catch((e) => ctx.log('no error event', e.message));
  });
  assertLogHas(log, "'send callback', { Error: { class: 'Error', name: 'Error', code: 'ENOTFOUND'", "'S', 'error', { Error: { class: 'Error', name: 'Error', code: 'ENOTFOUND'");
});

test('IPv6: send and receive on ::1, rinfo family IPv6', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx, { type: 'udp6', watch: true });
    const got = messages(ctx, r, 2);
    s.send('over ::1', rport, '::1', ctx.callback('send callback'));
    s.send([Buffer.from('v6 '), Buffer.from('array')], rport, '::1', ctx.callback('send callback array'));
    await got;
  });
  assertLogHas(log, "family: 'IPv6'");
});

test('IPv6 socket sending to an IPv4 literal / IPv4-mapped address', T, async () => {
  await assertSame(async (ctx) => {
    const { r, port: rport } = await receiver(ctx);
    const s = ctx.socket('S', 'udp6');
    ctx.watch(s);
    await ctx.bound(s, 0, '::');
    const cb1 = ctx.callback('callback to 127.0.0.1');
    s.send('v4 literal', rport, '127.0.0.1', cb1);
    await cb1.called;
    const cb2 = ctx.callback('callback to ::ffff:127.0.0.1');
    s.send('v4 mapped', rport, '::ffff:127.0.0.1', cb2);
    await cb2.called;
    await ctx.delay(100);
  });
});

test('IPv4 socket sending to ::1 fails like the builtin', T, async () => {
  await assertSame(async (ctx) => {
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    await ctx.bound(s);
    const cb = ctx.callback('send callback');
    ctx.call('send to ::1', () => s.send('x', 9, '::1', cb));
    await cb.called;
  });
});

test('a 70,000-byte send fails with EMSGSIZE in the callback; the next send still works', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx, { watch: true });
    const got = messages(ctx, r, 2);
    s.send('before', rport, '127.0.0.1', ctx.callback('callback before'));
    const cb = ctx.callback('callback 70000');
    s.send(Buffer.alloc(70000), rport, '127.0.0.1', cb);
    s.send('after', rport, '127.0.0.1', ctx.callback('callback after'));
    await cb.called;
    await got;
  });
  assertLogHas(log, "'callback 70000', { Error: { class: 'Error', name: 'Error', code: 'EMSGSIZE', errno: -90, syscall: 'send', address: '127.0.0.1', port: '<port1>', message: 'send EMSGSIZE 127.0.0.1:<port1>'");
});

test('EMSGSIZE without a callback: the error goes where the builtin sends it; the socket stays usable', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx, { watch: true });
    s.send(Buffer.alloc(70000), rport, '127.0.0.1');
    await ctx.delay(50);
    const got = messages(ctx, r, 1);
    s.send('still open', rport, '127.0.0.1');
    await got;
  });
  assertLogHas(log, "'R', 'message'");
});

test('EMSGSIZE on ::1 (a 70,000-byte array of two buffers)', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { s, rport } = await receiverAndSender(ctx, { type: 'udp6', watch: true });
    const cb = ctx.callback('send callback');
    s.send([Buffer.alloc(35000), Buffer.alloc(35000)], rport, '::1', cb);
    await cb.called;
  });
  assertLogHas(log, 'send EMSGSIZE ::1:<port1>');
});

test('EMSGSIZE on an implicitly bound socket', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { s, rport } = await receiverAndSender(ctx, { watch: true, bindSender: false });
    const cb = ctx.callback('send callback');
    s.send(Buffer.alloc(70000), rport, '127.0.0.1', cb);
    await cb.called;
  });
  assertLogHas(log, 'EMSGSIZE');
});

test('send to a loopback port nobody listens on: no error (unconnected UDP)', T, async () => {
  await assertSame(async (ctx) => {
    const dead = ctx.socket('Dead', 'udp4');
    const port = await ctx.bound(dead);
    await new Promise((resolve) => dead.close(resolve));
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    await ctx.bound(s);
    const cb = ctx.callback('send callback');
    s.send('nobody home', port, '127.0.0.1', cb);
    await cb.called;
    await ctx.delay(100);
  });
});

// Queues a nextTick and a setImmediate that log themselves right after a send, then waits for the
// send's callback `cb` and two more loop iterations: the log shows where the callback ran.
async function tickOfCallback(ctx, cb) {
  process.nextTick(() => ctx.log('nextTick'));
  setImmediate(() => ctx.log('setImmediate'));
  await cb.called;
  await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

// In the tick tests the receiver is not logged: when a datagram reaches another socket, relative to
// setImmediate, belongs to the receive path and the scheduler, not to send()'s contract.
test('the tick of the send callback relative to nextTick, microtasks and setImmediate (bound socket)', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { s, rport } = await receiverAndSender(ctx, { watch: true, watchReceiver: false });
    // Start from a check-phase callback so the loop phase is the same in both runs.
    await new Promise((resolve) => setImmediate(resolve));
    const cb = ctx.callback('send callback');
    ctx.call('send', () => s.send('tick', rport, '127.0.0.1', cb));
    process.nextTick(() => ctx.log('nextTick'));
    Promise.resolve().then(() => ctx.log('microtask'));
    setImmediate(() => ctx.log('setImmediate'));
    setImmediate(() => setImmediate(() => ctx.log('setImmediate 2')));
    await cb.called;
    await new Promise((resolve) => setImmediate(() => setImmediate(() => setImmediate(resolve))));
  }, { settleMs: 0 });
  assertLogHas(log, "'send', 'returned'", 'send callback');
});

test('the tick of send callbacks when the send waits for an implicit bind', T, async () => {
  await assertSame(async (ctx) => {
    const { s, rport } = await receiverAndSender(ctx, { watch: true, watchReceiver: false, bindSender: false });
    await new Promise((resolve) => setImmediate(resolve));
    s.on('listening', () => ctx.log('listening (order)'));
    const cb = ctx.callback('send callback');
    s.send('tick', rport, '127.0.0.1', cb);
    await tickOfCallback(ctx, cb);
  }, { settleMs: 0 });
});

test('the tick of an EMSGSIZE callback', T, async () => {
  await assertSame(async (ctx) => {
    const { s, rport } = await receiverAndSender(ctx, { watch: true, watchReceiver: false });
    await new Promise((resolve) => setImmediate(resolve));
    const cb = ctx.callback('send callback');
    s.send(Buffer.alloc(70000), rport, '127.0.0.1', cb);
    await tickOfCallback(ctx, cb);
  }, { settleMs: 0 });
});

test("'message' rinfo: exactly { address, family, port, size }, a fresh object each time; msg is a Buffer", T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx, { watch: true });
    const rinfos = [];
    r.on('message', function (msg, rinfo) {
      rinfos.push(rinfo);
      ctx.log('message', 'this is R', this === r, 'Buffer.isBuffer', Buffer.isBuffer(msg), 'length', msg.length,
        'rinfo keys', Object.keys(rinfo), 'rinfo', rinfo, 'sender is S', rinfo.port === s.address().port,
        'arguments', arguments.length);
    });
    const got = messages(ctx, r, 3);
    s.send('one', rport, '127.0.0.1');
    s.send('', rport, '127.0.0.1');
    s.send('three!', rport, '127.0.0.1');
    await got;
    ctx.log('distinct rinfo objects', new Set(rinfos).size);
  });
  assertLogHas(log, "'rinfo keys', [ 'address', 'family', 'port', 'size' ]");
});

test('a received Buffer is the datagram alone and can be kept after later messages', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx, { watch: true });
    const kept = [];
    r.on('message', (msg) => kept.push(msg));
    const got = messages(ctx, r, 50);
    for (let i = 0; i < 50; i++) s.send(Buffer.alloc(100 + i, i), rport, '127.0.0.1');
    await got;
    ctx.log('each kept buffer still holds its datagram', kept.every((b, i) => b.length === 100 + i && b.every((x) => x === i)));
    kept[0].fill(0xff);
    ctx.log('writing one does not change another', kept[1].every((x) => x === 1));
  });
  assertLogHas(log, "'each kept buffer still holds its datagram', true");
});

test('send argument errors throw the builtin error (bound socket)', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx, { watch: true });
    const buf = Buffer.from('abc');
    const calls = [
      ['send()', () => s.send()],
      ['send(undefined, port)', () => s.send(undefined, rport)],
      ['send(null, port)', () => s.send(null, rport)],
      ['send(123, port)', () => s.send(123, rport)],
      ['send({}, port)', () => s.send({}, rport)],
      ['send(new ArrayBuffer(4), port)', () => s.send(new ArrayBuffer(4), rport)],
      ['send([1, 2], port)', () => s.send([1, 2], rport)],
      ['send([buf, 123], port)', () => s.send([buf, 123], rport)],
      ['send(buf) no port', () => s.send(buf)],
      ['send(buf, 0)', () => s.send(buf, 0)],
      ['send(buf, -1)', () => s.send(buf, -1)],
      ['send(buf, 65536)', () => s.send(buf, 65536)],
      ['send(buf, 1.5)', () => s.send(buf, 1.5)],
      ['send(buf, NaN)', () => s.send(buf, NaN)],
      ['send(buf, Infinity)', () => s.send(buf, Infinity)],
      ['send(buf, "abc")', () => s.send(buf, 'abc')],
      ['send(buf, "")', () => s.send(buf, '')],
      ['send(buf, null)', () => s.send(buf, null)],
      ['send(buf, true)', () => s.send(buf, true)],
      ['send(buf, {})', () => s.send(buf, {})],
      ['send(buf, port, 123)', () => s.send(buf, rport, 123)],
      ['send(buf, port, true)', () => s.send(buf, rport, true)],
      ['send(buf, port, {})', () => s.send(buf, rport, {})],
      ['send(buf, port, [])', () => s.send(buf, rport, [])],
      ['send(buf, -1, 1, port)', () => s.send(buf, -1, 1, rport, '127.0.0.1')],
      ['send(buf, 0, 4, port) length past the end', () => s.send(buf, 0, 4, rport, '127.0.0.1')],
      ['send(buf, 4, 0, port) offset past the end', () => s.send(buf, 4, 0, rport, '127.0.0.1')],
      ['send(buf, 2, 2, port) offset + length past the end', () => s.send(buf, 2, 2, rport, '127.0.0.1')],
      ['send(buf, 0, -1, port)', () => s.send(buf, 0, -1, rport, '127.0.0.1')],
      ['send(buf, 1.5, 1, port)', () => s.send(buf, 1.5, 1, rport, '127.0.0.1')],
      ['send(buf, "1", 1, port)', () => s.send(buf, '1', 1, rport, '127.0.0.1')],
      ['send(buf, 0, "1", port)', () => s.send(buf, 0, '1', rport, '127.0.0.1')],
      ['send(buf, 0, 1, 0) bad port in the long form', () => s.send(buf, 0, 1, 0, '127.0.0.1')],
      ['send(buf, 0, 1, port, 123)', () => s.send(buf, 0, 1, rport, 123)],
      ['send(buf, port, addr, "not a function")', () => s.send(buf, rport, '127.0.0.1', 'not a function')],
      ['send(buf, port, addr, null)', () => s.send(buf, rport, '127.0.0.1', null)],
      ['send([buf], 0, 1, port) offset with an array', () => s.send([buf], 0, 1, rport, '127.0.0.1')],
    ];
    for (const [name, fn] of calls) ctx.call(name, fn);
    // A last datagram, so that everything the calls above sent has arrived when it does.
    const sentinel = new Promise((resolve) => r.on('message', (msg) => { if (msg.toString() === 'sentinel') resolve(); }));
    s.send('sentinel', rport, '127.0.0.1');
    await ctx.within(sentinel, 'the sentinel datagram');
  });
  assertLogHas(log, 'ERR_INVALID_ARG_TYPE', 'ERR_SOCKET_BAD_PORT', "'R', 'message', 'Buffer<73656e74696e656c>'");
});

test('send argument errors on an unbound socket: thrown before any implicit bind', T, async () => {
  const log = await assertSame(async (ctx) => {
    const s = ctx.socket('S', 'udp4');
    ctx.watch(s);
    ctx.call('send()', () => s.send());
    ctx.call('send(buf)', () => s.send(Buffer.from('x')));
    ctx.call('send(buf, 0)', () => s.send(Buffer.from('x'), 0));
    ctx.call('send(buf, 9, 123)', () => s.send(Buffer.from('x'), 9, 123));
    ctx.call('address()', () => s.address());
    await ctx.delay(100);
    ctx.call('address() later (still unbound?)', () => s.address());
  });
  assertLogHas(log, 'ERR_SOCKET_BAD_PORT');
});

test('send after close throws ERR_SOCKET_DGRAM_NOT_RUNNING; no callback runs', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { s, rport } = await receiverAndSender(ctx, { watch: true });
    s.close();
    ctx.call('send after close', () => s.send('late', rport, '127.0.0.1', ctx.callback('send callback')));
    ctx.call('send after close without callback', () => s.send('late', rport, '127.0.0.1'));
    await ctx.delay(100);
  });
  assertLogHas(log, 'ERR_SOCKET_DGRAM_NOT_RUNNING');
});

test('getSendQueueSize / getSendQueueCount right after send(), in the same tick and later', T, async () => {
  await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx, { watch: true, watchReceiver: false });
    let received = 0;
    r.on('message', () => { received++; });
    for (let i = 0; i < 5; i++) s.send(Buffer.alloc(100), rport, '127.0.0.1');
    ctx.log('same tick', s.getSendQueueSize(), s.getSendQueueCount());
    await new Promise((resolve) => process.nextTick(resolve));
    ctx.log('next tick', s.getSendQueueSize(), s.getSendQueueCount());
    await ctx.until(() => received === 5, 2000, 'five datagrams');
    ctx.log('after delivery', s.getSendQueueSize(), s.getSendQueueCount());
  });
});

test("the send callback's `this`, and the listeners' `this`", T, async () => {
  await assertSame(async (ctx) => {
    const { s, rport } = await receiverAndSender(ctx, { watch: true, watchReceiver: false });
    await new Promise((resolve) => s.send('x', rport, '127.0.0.1', function (...args) {
      ctx.log('send callback this', this === s ? 'the socket' : this === undefined ? 'undefined' : typeof this, args.length);
      resolve();
    }));
    const t = ctx.socket('T', 'udp4');
    t.on('listening', function (...args) { ctx.log('listening this is T', this === t, args.length); });
    t.on('error', function (...args) { ctx.log('error this is T', this === t, args.length); });
    await ctx.bound(t);
    const u = ctx.socket('U', 'udp4');
    u.on('error', function (...args) { ctx.log('error this is U', this === u, args.length); });
    u.bind(t.address().port, '127.0.0.1');
    await ctx.delay(100);
  });
});
