'use strict';

// Process lifetime: whether a socket keeps the process alive (ref / unref / close / bound / unbound),
// and what an unhandled socket error does to the process. Each scenario runs in a child process,
// once per module; exit code, signal and the child's printed observations must be equal.
//
// The pattern: an unref()ed timer is the witness. It fires (and prints 'timer') only if something
// else keeps the event loop alive, that is, the socket.

const { test } = require('node:test');
const assert = require('node:assert');
const { childBoth } = require('./helpers/child');

const T = { timeout: 30000 };

test('a bound, ref()ed socket keeps the process alive until it is closed', T, async () => {
  const { builtin, subject } = await childBoth(`
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => out('listening'));
    s.on('close', () => out('close'));
    setTimeout(() => { out('timer'); s.close(); }, 300).unref();
    process.on('exit', (code) => out('exit', code));
  `);
  assert.deepStrictEqual(builtin.stdout, ['["listening"]', '["timer"]', '["close"]', '["exit",0]']);
  // Hand-written: the process lived at least as long as the timer.
  assert.ok(subject.elapsedMs >= 280, `turbo-dgram child exited after ${subject.elapsedMs} ms`);
});

test('an unref()ed bound socket lets the process exit', T, async () => {
  const { builtin, subject } = await childBoth(`
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => { out('listening'); s.unref(); });
    setTimeout(() => out('timer'), 3000).unref();
    process.on('exit', (code) => out('exit', code));
  `);
  assert.deepStrictEqual(builtin.stdout, ['["listening"]', '["exit",0]']);
  assert.ok(subject.elapsedMs < 2500, `turbo-dgram child took ${subject.elapsedMs} ms to exit`);
});

test('unref() before bind: the socket never holds the process', T, async () => {
  const { builtin } = await childBoth(`
    const s = dgram.createSocket('udp4');
    s.unref();
    s.bind(0, '127.0.0.1', () => out('listening'));
    setTimeout(() => out('timer'), 2000).unref();
    process.on('exit', (code) => out('exit', code));
  `);
  assert.strictEqual(builtin.stdout.includes('["timer"]'), false);
});

test('unref() then ref() again keeps the process alive', T, async () => {
  const { builtin } = await childBoth(`
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => { out('listening'); s.unref(); s.ref(); });
    setTimeout(() => { out('timer'); s.close(); }, 300).unref();
    process.on('exit', (code) => out('exit', code));
  `);
  assert.ok(builtin.stdout.includes('["timer"]'));
});

test('a closed socket lets the process exit', T, async () => {
  const { builtin } = await childBoth(`
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => { out('listening'); s.close(() => out('closed')); });
    setTimeout(() => out('timer'), 2000).unref();
    process.on('exit', (code) => out('exit', code));
  `);
  assert.deepStrictEqual(builtin.stdout, ['["listening"]', '["closed"]', '["exit",0]']);
});

test('an unbound socket does not keep the process alive', T, async () => {
  const { builtin } = await childBoth(`
    const s = dgram.createSocket('udp4');
    s.on('message', () => out('message'));
    setTimeout(() => out('timer'), 2000).unref();
    process.on('exit', (code) => out('exit', code));
  `);
  assert.deepStrictEqual(builtin.stdout, ['["exit",0]']);
});

test('a socket waiting for its implicit bind (send on an unbound socket) keeps the process alive', T, async () => {
  await childBoth(`
    const r = dgram.createSocket('udp4');
    r.bind(0, '127.0.0.1', () => {
      r.on('message', (msg) => { out('received', msg.toString()); r.close(); s.close(); });
      const s = dgram.createSocket('udp4');
      s.send('hello', r.address().port, '127.0.0.1', (err, n) => out('sent', err && err.code, n));
    });
    setTimeout(() => out('timer'), 3000).unref();
    process.on('exit', (code) => out('exit', code));
  `);
});

test('many open sockets: the process exits once the last one closes', T, async () => {
  await childBoth(`
    const sockets = [];
    for (let i = 0; i < 20; i++) {
      const s = dgram.createSocket(i % 2 ? 'udp6' : 'udp4');
      s.bind(0, i % 2 ? '::1' : '127.0.0.1');
      sockets.push(s);
    }
    let closed = 0;
    for (const s of sockets) s.on('close', () => { closed++; });
    setTimeout(() => { out('closing', closed); sockets.forEach((s) => s.close()); }, 200).unref();
    process.on('exit', (code) => out('exit', code, closed));
  `);
});

test('an unhandled bind error (EADDRINUSE) crashes the process like the builtin', T, async () => {
  const { builtin } = await childBoth(`
    const a = dgram.createSocket('udp4');
    a.bind(0, '127.0.0.1', () => {
      const b = dgram.createSocket('udp4');
      b.bind(a.address().port, '127.0.0.1');
    });
    process.on('exit', (code) => out('exit', code));
  `);
  assert.strictEqual(builtin.code, 1);
  assert.ok(builtin.stdout.some((l) => l.includes('EADDRINUSE')), builtin.stdout.join('\n'));
});

// With a bind callback, whether the callback's cleanup listens on 'error' (the error is then
// handled, the process lives) or on errorMonitor (it is thrown) is the running builtin's choice.
test('an unhandled bind error (EADDRINUSE) with a bind callback: thrown or swallowed like the builtin', T, async () => {
  const { builtin } = await childBoth(`
    const a = dgram.createSocket('udp4');
    a.bind(0, '127.0.0.1', () => {
      const b = dgram.createSocket('udp4');
      b.bind(a.address().port, '127.0.0.1', () => out('never: bound'));
      setTimeout(() => { out('timer'); a.close(); b.close(); }, 200).unref();
    });
    process.on('exit', (code) => out('exit', code));
  `);
  assert.ok(builtin.stdout.length > 0, 'the builtin child printed what it saw');
});

test('an exception thrown in a message listener is an uncaught exception', T, async () => {
  const { builtin } = await childBoth(`
    const r = dgram.createSocket('udp4');
    r.on('message', (msg) => { throw new Error('listener threw on ' + msg); });
    r.bind(0, '127.0.0.1', () => {
      const s = dgram.createSocket('udp4');
      s.send('boom', r.address().port, '127.0.0.1');
    });
    process.on('exit', (code) => out('exit', code));
  `);
  assert.strictEqual(builtin.code, 1);
});

// A burst whose listeners queue ticks and microtasks that throw, an unhandled rejection, and a
// listener that throws with ticks queued: uncaughtException (and its origin) comes at the builtin's
// point of the burst, and what was queued behind a throw runs where the builtin runs it. The ticks
// of each datagram run from lib/socket.js's dispatch (Node's own runner); a throw leaves the rest to
// the next callback, as a failed callback scope does for the builtin. Under --pending-deprecation
// that runner warns when called, so the native side closes a callback scope after each datagram
// instead (src/bindings/dispatch.rs, Call::run): both paths are checked.
const TICKS_AROUND_THROWS = `
  let seen = 0;
  process.on('uncaughtException', (err, origin) => out('uncaughtException', err.message, origin));
  process.on('warning', (w) => out('warning', w.name, w.code));
  const r = dgram.createSocket('udp4');
  r.on('message', (msg) => {
    const text = msg.toString();
    seen++;
    out('message', text);
    if (text === 'd1') {
      process.nextTick(() => { out('tick 1', text); throw new Error('tick threw on ' + text); });
      process.nextTick(() => out('tick 2', text));
      Promise.resolve().then(() => out('microtask', text));
    }
    if (text === 'd3') {
      process.nextTick(() => out('tick of a listener that throws', text));
      queueMicrotask(() => out('microtask of a listener that throws', text));
      throw new Error('listener threw on ' + text);
    }
    if (text === 'd5') {
      queueMicrotask(() => { out('microtask 1', text); throw new Error('microtask threw on ' + text); });
      queueMicrotask(() => out('microtask 2', text));
    }
    if (text === 'd6') Promise.reject(new Error('rejected on ' + text));
    if (seen === 8) { out('all eight seen'); r.close(); s.close(); }
  });
  let s;
  r.bind(0, '127.0.0.1', () => {
    s = dgram.createSocket('udp4');
    for (let i = 0; i < 8; i++) s.send('d' + i, r.address().port, '127.0.0.1');
  });
  setTimeout(() => { out('timeout, seen', seen); process.exit(3); }, 3000).unref();
`;

test('throws among the ticks, microtasks and listeners of a burst, and an unhandled rejection: reported and followed as by the builtin', T, async () => {
  const { builtin } = await childBoth(TICKS_AROUND_THROWS);
  assert.ok(builtin.stdout.includes('["all eight seen"]'), builtin.stdout.join('\n'));
  assert.ok(builtin.stdout.some((line) => line.includes('rejected on d6')), builtin.stdout.join('\n'));
});

test('the same under --pending-deprecation (ticks run by a native callback scope): same order, no warning', T, async () => {
  const { builtin } = await childBoth(TICKS_AROUND_THROWS, { nodeFlags: ['--pending-deprecation'] });
  assert.ok(builtin.stdout.includes('["all eight seen"]'), builtin.stdout.join('\n'));
});

test('an object a message listener held through a WeakRef can be collected before the next datagram', T, async () => {
  // Node clears the objects a WeakRef.deref() kept alive when a callback's scope closes; the
  // microtask checkpoint after each datagram does it here.
  const { builtin } = await childBoth(`
    let ref;
    let seen = 0;
    const r = dgram.createSocket('udp4');
    r.on('message', () => {
      seen++;
      if (seen === 1) {
        let held = { payload: new Array(100).fill(seen) };
        ref = new WeakRef(held);
        ref.deref();
        held = null;
        return;
      }
      globalThis.gc();
      out('datagram', seen, 'collected', ref.deref() === undefined);
      if (seen === 3) { r.close(); s.close(); }
    });
    let s;
    r.bind(0, '127.0.0.1', () => {
      s = dgram.createSocket('udp4');
      for (let i = 0; i < 3; i++) s.send('x', r.address().port, '127.0.0.1');
    });
    setTimeout(() => { out('timeout, seen', seen); process.exit(3); }, 3000).unref();
  `, { nodeFlags: ['--expose-gc'] });
  assert.deepStrictEqual(builtin.stdout, ['["datagram",2,"collected",true]', '["datagram",3,"collected",true]']);
});

test('an exception thrown in a send callback is an uncaught exception', T, async () => {
  const { builtin } = await childBoth(`
    const r = dgram.createSocket('udp4');
    r.bind(0, '127.0.0.1', () => {
      const s = dgram.createSocket('udp4');
      s.send('x', r.address().port, '127.0.0.1', () => { throw new Error('send callback threw'); });
    });
    process.on('exit', (code) => out('exit', code));
  `);
  assert.strictEqual(builtin.code, 1);
});
