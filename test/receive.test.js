'use strict';

// Receiving: order per socket, a busy JS thread, listeners added late, several senders,
// and sockets owned by worker threads.

const { test } = require('node:test');
const { Worker } = require('node:worker_threads');
const { assertSame, assertLogHas, subjectSpec, receiverAndSender } = require('./helpers/differential');

const T = { timeout: 20000 };

test('datagrams that arrive while the JS thread is busy are all delivered, in order', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx);
    const seen = [];
    r.on('message', (msg) => seen.push(msg.toString()));
    for (let i = 0; i < 100; i++) s.send(`busy-${i}`, rport, '127.0.0.1');
    const until = Date.now() + 150;
    while (Date.now() < until) { /* the JS thread is busy: nothing can be delivered */ }
    ctx.log('delivered during the busy loop', seen.length);
    await ctx.until(() => seen.length >= 100, 3000, '100 datagrams');
    ctx.log('all in order', seen.join() === Array.from({ length: 100 }, (_, i) => `busy-${i}`).join());
  });
  assertLogHas(log, "'delivered during the busy loop', 0", "'all in order', true");
});

test('a datagram that arrives while nobody listens is not kept for a later listener', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx);
    s.send('early', rport, '127.0.0.1');
    await ctx.delay(150);
    ctx.watch(r, 'R', ['message']);
    const got = ctx.once(r, 'message');
    s.send('late', rport, '127.0.0.1');
    await got;
  });
  assertLogHas(log, "'R', 'message', 'Buffer<6c617465>'");
});

test('three senders: each sender\'s datagrams arrive in its order', T, async () => {
  const log = await assertSame(async (ctx) => {
    const r = ctx.socket('R', 'udp4');
    const rport = await ctx.bound(r);
    const senders = [];
    for (const name of ['A', 'B', 'C']) {
      const s = ctx.socket(name, 'udp4');
      await ctx.bound(s);
      senders.push([name, s]);
    }
    const byPort = new Map(senders.map(([name, s]) => [s.address().port, name]));
    const seen = { A: [], B: [], C: [] };
    let total = 0;
    r.on('message', (msg, rinfo) => { seen[byPort.get(rinfo.port)].push(Number(msg.toString())); total++; });
    for (let i = 0; i < 50; i++) for (const [, s] of senders) s.send(String(i), rport, '127.0.0.1');
    await ctx.until(() => total >= 150, 3000, '150 datagrams');
    for (const name of ['A', 'B', 'C']) ctx.log(name, 'in order', seen[name].every((v, i) => v === i), seen[name].length);
  });
  assertLogHas(log, "'A', 'in order', true, 50", "'C', 'in order', true, 50");
});

test('udp4 and udp6 sockets receive side by side', T, async () => {
  await assertSame(async (ctx) => {
    const r4 = ctx.socket('R4', 'udp4');
    ctx.watch(r4, 'R4', ['message']);
    const r6 = ctx.socket('R6', 'udp6');
    ctx.watch(r6, 'R6', ['message']);
    const p4 = await ctx.bound(r4);
    const p6 = await ctx.bound(r6);
    const s4 = ctx.socket('S4', 'udp4');
    const s6 = ctx.socket('S6', 'udp6');
    const got4 = ctx.once(r4, 'message');
    s4.send('four', p4, '127.0.0.1');
    await got4;
    const got6 = ctx.once(r6, 'message');
    s6.send('six', p6, '::1');
    await got6;
  });
});

// A worker that binds a socket, reports the port, and exits without closing it: its sockets are
// closed with it (the port is free again) and the main thread's sockets keep working.
const WORKER = `
  const { parentPort, workerData } = require('node:worker_threads');
  const dgram = require(workerData.spec);
  const s = dgram.createSocket('udp4');
  s.on('message', (msg) => parentPort.postMessage(['worker got', msg.toString()]));
  s.bind(0, '127.0.0.1', () => parentPort.postMessage(['bound', s.address().port]));
  parentPort.on('message', (m) => { if (m === 'exit') process.exit(0); });
`;

test('a worker thread\'s sockets: receive in the worker, closed when it exits, main thread unaffected', T, async () => {
  const log = await assertSame(async (ctx) => {
    const spec = ctx.which === 'builtin' ? 'node:dgram' : subjectSpec();
    const main = ctx.socket('main', 'udp4');
    ctx.watch(main, 'main', ['message', 'error', 'close']);
    const mainPort = await ctx.bound(main);
    const worker = new Worker(WORKER, { eval: true, workerData: { spec } });
    const messages = [];
    worker.on('message', (m) => messages.push(m));
    worker.on('error', (err) => ctx.log('worker error', err));
    await ctx.until(() => messages.some((m) => m[0] === 'bound'), 5000, 'the worker to bind');
    const workerPort = messages.find((m) => m[0] === 'bound')[1];
    ctx.log('worker bound', ctx.port(workerPort));
    const s = ctx.socket('S', 'udp4');
    s.send('to the worker', workerPort, '127.0.0.1');
    await ctx.until(() => messages.some((m) => m[0] === 'worker got'), 3000, 'the worker to receive');
    ctx.log('worker messages', messages.filter((m) => m[0] !== 'bound'));
    const exited = ctx.once(worker, 'exit', 5000);
    worker.postMessage('exit');
    ctx.log('worker exit code', (await exited)[0]);
    // The worker's port is free again.
    const again = ctx.socket('again', 'udp4');
    ctx.watch(again, 'again', ['listening', 'error']);
    again.bind(workerPort, '127.0.0.1');
    await Promise.race([ctx.once(again, 'listening').catch(() => {}), ctx.delay(500)]);
    // The main thread's socket still receives.
    const got = ctx.once(main, 'message');
    s.send('to main', mainPort, '127.0.0.1');
    await got;
  }, { timeout: 15000 });
  assertLogHas(log, "'worker messages', [ [ 'worker got', 'to the worker' ] ]", "'worker exit code', 0", "'again', 'listening'", "'main', 'message'");
});

test('close() inside a message listener: no later datagram of the same burst is delivered', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx);
    let seen = 0;
    r.on('message', (msg) => {
      seen++;
      ctx.log('R message', msg.toString());
      if (seen === 5) {
        r.close();
        ctx.log('closed inside the listener');
      }
    });
    r.on('close', () => ctx.log('R close'));
    const closed = ctx.once(r, 'close', 3000);
    // All 30 are sent in one tick, so they reach R's queue before R handles any of them.
    for (let i = 0; i < 30; i++) s.send(`d${i}`, rport, '127.0.0.1');
    await closed;
    await ctx.delay(100);
  });
  assertLogHas(log, "'R message', 'd4'", "'closed inside the listener'", "'R close'");
});

test('removing the message listener mid-burst: the rest of the burst is not delivered to a later listener', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx);
    let seen = 0;
    const first = (msg) => {
      ctx.log('first listener', msg.toString());
      if (++seen === 3) r.removeListener('message', first);
    };
    r.on('message', first);
    for (let i = 0; i < 20; i++) s.send(`d${i}`, rport, '127.0.0.1');
    await ctx.delay(200);
    const second = ctx.once(r, 'message');
    r.on('message', (msg) => ctx.log('second listener', msg.toString()));
    s.send('after', rport, '127.0.0.1');
    await second;
  });
  assertLogHas(log, "'first listener', 'd2'", "'second listener', 'after'");
});

test('a listener added by a message listener gets the next datagram of the same burst', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { r, s, rport } = await receiverAndSender(ctx);
    let n = 0;
    r.on('message', (msg) => {
      ctx.log('A', msg.toString());
      if (++n === 2) r.on('message', (m) => ctx.log('B', m.toString()));
    });
    for (let i = 0; i < 5; i++) s.send(`d${i}`, rport, '127.0.0.1');
    await ctx.until(() => n === 5, 3000, 'five datagrams');
  });
  assertLogHas(log, "'A', 'd1'", "'A', 'd2'", "'B', 'd2'");
});

test('a dual-stack udp6 socket on :: receives from IPv4: rinfo is IPv4-mapped', T, async () => {
  const log = await assertSame(async (ctx) => {
    const r = ctx.socket('R', 'udp6');
    ctx.watch(r, 'R', ['message', 'error']);
    const rport = await ctx.bound(r, 0, '::');
    const s = ctx.socket('S', 'udp4');
    const got = ctx.once(r, 'message');
    s.send('from v4', rport, '127.0.0.1');
    await got;
    const got6 = ctx.once(r, 'message');
    const s6 = ctx.socket('S6', 'udp6');
    s6.send('from v6', rport, '::1');
    await got6;
  });
  assertLogHas(log, "address: '::ffff:127.0.0.1', family: 'IPv6'");
});

test('500 sockets bound and closed one after another', { timeout: 60000 }, async () => {
  const log = await assertSame(async (ctx) => {
    let listened = 0;
    let closed = 0;
    for (let i = 0; i < 500; i++) {
      const s = ctx.dgram.createSocket(i % 2 ? 'udp6' : 'udp4');
      await new Promise((resolve, reject) => {
        s.once('error', reject);
        s.bind(0, i % 2 ? '::1' : '127.0.0.1', () => { listened++; s.close(() => { closed++; resolve(); }); });
      });
    }
    ctx.log('listened', listened, 'closed', closed);
  }, { timeout: 40000 });
  assertLogHas(log, "'listened', 500, 'closed', 500");
});
