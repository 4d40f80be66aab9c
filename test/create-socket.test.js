'use strict';

// createSocket(type | options[, listener]), the Socket class and the module's shape.

const { test } = require('node:test');
const assert = require('node:assert');
const { EventEmitter } = require('node:events');
const { assertSame, assertLogHas, loadBuiltin, loadSubject } = require('./helpers/differential');

const T = { timeout: 15000 };

test('module exports every public name node:dgram exports, with the same kind', T, () => {
  const builtin = loadBuiltin();
  const subject = loadSubject();
  const names = Object.keys(builtin).filter((k) => !k.startsWith('_'));
  assert.ok(names.includes('createSocket') && names.includes('Socket'));
  const kinds = (m) => Object.fromEntries(names.map((k) => [k, typeof m[k]]));
  assert.deepStrictEqual(kinds(subject), kinds(builtin));
});

test('Socket.prototype has every method of node:dgram Socket', T, () => {
  const methods = (Socket) => {
    const out = new Set();
    for (let p = Socket.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
      for (const k of Object.getOwnPropertyNames(p)) {
        const d = Object.getOwnPropertyDescriptor(p, k);
        if (k !== 'constructor' && !k.startsWith('_') && typeof d.value === 'function') out.add(k);
      }
    }
    return out;
  };
  const builtin = methods(loadBuiltin().Socket);
  const subject = methods(loadSubject().Socket);
  assert.ok(builtin.has('send') && builtin.has('bind'));
  const missing = [...builtin].filter((k) => !subject.has(k)).sort();
  assert.deepStrictEqual(missing, [], `turbo-dgram Socket lacks: ${missing.join(', ')}`);
});

test('Socket.prototype has the builtin symbol-keyed methods (Symbol.asyncDispose)', T, () => {
  const symbols = (Socket) => Object.getOwnPropertySymbols(Socket.prototype)
    .filter((sym) => typeof Socket.prototype[sym] === 'function').map(String).sort();
  const builtin = symbols(loadBuiltin().Socket);
  assert.ok(builtin.length > 0);
  assert.deepStrictEqual(symbols(loadSubject().Socket), builtin);
});

test('await socket[Symbol.asyncDispose]() closes the socket like the builtin', T, () => assertSame(async (ctx) => {
  const s = ctx.socket('S', 'udp4');
  ctx.watch(s);
  await ctx.bound(s);
  const dispose = Object.getOwnPropertySymbols(Object.getPrototypeOf(s)).find((sym) => /asyncDispose/.test(String(sym)));
  ctx.log('has asyncDispose', dispose !== undefined);
  const ret = s[dispose]();
  ctx.log('returns a promise', ret instanceof Promise);
  ctx.log('resolved with', await ret);
  ctx.call('address() after dispose', () => s.address());
  ctx.log('second dispose', await s[dispose]().then((v) => ['resolved', v], (e) => ['rejected', e]));
}));

test('createSocket({ signal }): aborting closes the socket; an aborted signal closes it at once', T, () => assertSame(async (ctx, dgram) => {
  const ac = new AbortController();
  const s = ctx.socket('S', { type: 'udp4', signal: ac.signal });
  ctx.watch(s);
  await ctx.bound(s);
  ac.abort();
  ctx.log('aborted');
  await ctx.once(s, 'close');
  ctx.call('address() after abort', () => s.address());
  const pre = AbortSignal.abort();
  const t = ctx.call('createSocket with an aborted signal', () => ctx.socket('T', { type: 'udp4', signal: pre }));
  if (t) {
    ctx.watch(t);
    await ctx.once(t, 'close').catch((err) => ctx.log('no close', err.message));
  }
  void dgram;
}));

for (const args of [['udp4'], ['udp6'], [{ type: 'udp4' }], [{ type: 'udp6' }], [{ type: 'udp4', reuseAddr: true }]]) {
  test(`createSocket(${JSON.stringify(args[0])}): a Socket, an EventEmitter, its type`, T, async () => {
    const log = await assertSame((ctx, dgram) => {
      const s = ctx.socket('S', ...args);
      ctx.log('instanceof Socket', s instanceof dgram.Socket);
      ctx.log('instanceof EventEmitter', s instanceof EventEmitter);
      ctx.log('type', s.type);
      ctx.log('own string keys', Object.keys(s));
      ctx.log('message listeners', s.listenerCount('message'));
    });
    assertLogHas(log, "'instanceof Socket', true");
  });
}

test('new Socket(type) works like createSocket(type)', T, () => assertSame((ctx, dgram) => {
  const s = ctx.track(new dgram.Socket('udp4'), 'S');
  ctx.log('instanceof Socket', s instanceof dgram.Socket, 'type', s.type);
  const t = ctx.track(new dgram.Socket({ type: 'udp6' }), 'T');
  ctx.log('instanceof Socket', t instanceof dgram.Socket, 'type', t.type);
}));

test('createSocket with a bad type or bad options throws the builtin error', T, async () => {
  const log = await assertSame((ctx, dgram) => {
    const bad = [
      [], [undefined], [null], ['udp5'], ['UDP4'], ['tcp'], [4], [6], [true], [''],
      [{}], [{ type: 'udp5' }], [{ type: null }], [{ type: 4 }],
      [{ type: 'udp4', lookup: 'dns' }], [{ type: 'udp4', lookup: 1 }], [{ type: 'udp4', lookup: null }],
      [{ type: 'udp4', recvBufferSize: -1 }], [{ type: 'udp4', recvBufferSize: 'big' }],
      [{ type: 'udp4', recvBufferSize: 1.5 }], [{ type: 'udp4', recvBufferSize: 2 ** 32 }],
      [{ type: 'udp4', sendBufferSize: -1 }], [{ type: 'udp4', sendBufferSize: '1' }],
      [{ type: 'udp4', signal: 'abort' }], [{ type: 'udp4', signal: {} }],
    ];
    for (const args of bad) {
      ctx.call(`createSocket(${argsText(args)})`, () => {
        const s = dgram.createSocket(...args);
        ctx.track(s, 'created');
        return s;
      });
    }
  });
  assertLogHas(log, 'ERR_SOCKET_BAD_TYPE', 'ERR_INVALID_ARG_TYPE');
});

test('createSocket ignores a listener that is not a function', T, () => assertSame((ctx) => {
  for (const listener of [undefined, null, 'x', 1, {}]) {
    const s = ctx.call(`createSocket('udp4', ${argsText([listener])})`, () => ctx.socket('S', 'udp4', listener));
    if (s) ctx.log('message listeners', s.listenerCount('message'));
  }
}));

test('the createSocket listener is a message listener and receives datagrams', T, async () => {
  const log = await assertSame(async (ctx, dgram) => {
    let resolveMessage;
    const got = new Promise((r) => { resolveMessage = r; });
    const listener = function (msg, rinfo) {
      ctx.log('listener', msg, rinfo, 'this is the socket', this === r);
      resolveMessage();
    };
    const r = ctx.socket('R', 'udp4', listener);
    ctx.log('listeners', r.listeners('message').length, r.listeners('message')[0] === listener);
    const port = await ctx.bound(r);
    const s = ctx.socket('S', { type: 'udp4' }, () => {});
    await ctx.bound(s);
    s.send('hello', port, '127.0.0.1');
    await got;
    ctx.log('S message listeners', s.listenerCount('message'));
    void dgram;
  });
  assertLogHas(log, "'listener', 'Buffer<68656c6c6f>'");
});

test('createSocket options: recvBufferSize / sendBufferSize are applied at bind', T, () => assertSame(async (ctx) => {
  const s = ctx.socket('S', { type: 'udp4', recvBufferSize: 65536, sendBufferSize: 32768 });
  ctx.watch(s);
  await ctx.bound(s);
  ctx.call('getRecvBufferSize', () => s.getRecvBufferSize());
  ctx.call('getSendBufferSize', () => s.getSendBufferSize());
}));

test('createSocket options: ipv6Only binds :: without the IPv4 side', T, () => assertSame(async (ctx) => {
  const a = ctx.socket('A', { type: 'udp6', ipv6Only: true });
  ctx.watch(a);
  const port = await ctx.bound(a, 0, '::');
  ctx.log('A port', ctx.port(port));
  // With ipv6Only the IPv4 wildcard on the same port is still free.
  const b = ctx.socket('B', 'udp4');
  ctx.watch(b);
  b.bind(port, '0.0.0.0');
  await ctx.once(b, 'listening').catch((err) => ctx.log('B bind failed', err));
  ctx.call('B address', () => b.address());
}));

function argsText(args) {
  return args.map((a) => {
    if (a === undefined) return 'undefined';
    if (typeof a === 'function') return 'fn';
    if (typeof a === 'number' && !Number.isFinite(a)) return String(a);
    return JSON.stringify(a);
  }).join(', ');
}
