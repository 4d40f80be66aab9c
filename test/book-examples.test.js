'use strict';

// The book's examples: the everyday uses of dgram, each written as a user would write it, run
// against node:dgram and turbo-dgram. What each side observes (events, callback arguments, rinfo,
// what the peer receives) must be the same.

const { test } = require('node:test');
const { assertSame, assertLogHas } = require('./helpers/differential');

const T = { timeout: 15000 };

// The set-up of most examples: a server bound to the loopback address of its family, the promise
// of its next 'message', and a client that is not bound yet (its first send binds it).
async function serverAndClient(ctx, type = 'udp4') {
  const server = ctx.socket('server', type);
  await ctx.bound(server);
  const got = ctx.once(server, 'message');
  const client = ctx.socket('client', type);
  return { server, got, client };
}

test('ping / pong: the server answers to rinfo.address:rinfo.port', T, async () => {
  const log = await assertSame(async (ctx) => {
    const server = ctx.socket('server', 'udp4');
    server.on('message', (msg, rinfo) => {
      ctx.log('server got', msg.toString(), rinfo);
      server.send(`pong to ${msg}`, rinfo.port, rinfo.address);
    });
    await ctx.bound(server);
    const { port } = server.address();

    const client = ctx.socket('client', 'udp4');
    const pong = ctx.once(client, 'message');
    client.send('ping', port, '127.0.0.1');
    const [reply, rinfo] = await pong;
    ctx.log('client got', reply.toString(), rinfo, 'from the server port', rinfo.port === port);
  });
  assertLogHas(log, "'server got', 'ping'", "'client got', 'pong to ping'");
});

test('two sends: two datagrams, in order', T, async () => {
  const log = await assertSame(async (ctx) => {
    const server = ctx.socket('server', 'udp4', (msg) => ctx.log('got', msg.toString()));
    await ctx.bound(server);
    const client = ctx.socket('client', 'udp4');
    const done = new Promise((resolve) => {
      let n = 0;
      server.on('message', () => { if (++n === 2) resolve(); });
    });
    client.send('one', server.address().port, '127.0.0.1');
    client.send('two', server.address().port, '127.0.0.1');
    await ctx.within(done, 'two datagrams');
  });
  assertLogHas(log, "'got', 'one'", "'got', 'two'");
});

test('too big: a 70,000-byte datagram fails with EMSGSIZE', T, async () => {
  const log = await assertSame(async (ctx) => {
    const server = ctx.socket('server', 'udp4');
    await ctx.bound(server);
    const client = ctx.socket('client', 'udp4');
    const sent = ctx.callback('send callback');
    client.send(Buffer.alloc(70000), server.address().port, '127.0.0.1', sent);
    const [err] = await sent.called;
    ctx.log('err.code', err && err.code, 'err.message', err && err.message);
  });
  assertLogHas(log, "'err.code', 'EMSGSIZE'");
});

test('an empty datagram arrives as a zero-length message', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { server, got, client } = await serverAndClient(ctx);
    client.send(Buffer.alloc(0), server.address().port, '127.0.0.1', ctx.callback('send callback'));
    const [msg, rinfo] = await got;
    ctx.log('length', msg.length, 'rinfo.size', rinfo.size);
  });
  assertLogHas(log, "'length', 0, 'rinfo.size', 0");
});

test('[header, payload]: an array is one datagram', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { server, got, client } = await serverAndClient(ctx);
    const header = Buffer.from([0x01, 0x00, 0x05]);
    const payload = Buffer.from('hello');
    client.send([header, payload], server.address().port, '127.0.0.1', ctx.callback('send callback'));
    const [msg, rinfo] = await got;
    ctx.log('one datagram', msg, rinfo.size);
  });
  assertLogHas(log, "'send callback', null, 8", "'one datagram', 'Buffer<01000568656c6c6f>', 8");
});

test('offset and length: send a slice of a buffer', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { server, got, client } = await serverAndClient(ctx);
    const buf = Buffer.from('....SLICE....');
    client.send(buf, 4, 5, server.address().port, '127.0.0.1', ctx.callback('send callback'));
    const [msg] = await got;
    ctx.log('received', msg.toString());
  });
  assertLogHas(log, "'send callback', null, 5", "'received', 'SLICE'");
});

test('implicit bind: the first send binds the socket', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { server, got, client } = await serverAndClient(ctx);
    client.on('listening', () => ctx.log('client listening', client.address().address));
    client.send('hi', server.address().port, '127.0.0.1');
    const [, rinfo] = await got;
    ctx.log('server saw the client port', rinfo.port === client.address().port);
  });
  assertLogHas(log, "'client listening', '0.0.0.0'", "'server saw the client port', true");
});

test("'localhost' as the target", T, async () => {
  const log = await assertSame(async (ctx) => {
    const { server, got, client } = await serverAndClient(ctx);
    client.send('to localhost', server.address().port, 'localhost', ctx.callback('send callback'));
    const [msg, rinfo] = await got;
    ctx.log('received', msg.toString(), 'from', rinfo.address);
  });
  assertLogHas(log, "'received', 'to localhost', 'from', '127.0.0.1'");
});

test('IPv6 on ::1', T, async () => {
  const log = await assertSame(async (ctx) => {
    const { server, got, client } = await serverAndClient(ctx, 'udp6');
    client.send('over IPv6', server.address().port, '::1', ctx.callback('send callback'));
    const [msg, rinfo] = await got;
    ctx.log('received', msg.toString(), rinfo);
    ctx.log('server address', server.address());
  });
  assertLogHas(log, "'received', 'over IPv6', { address: '::1', family: 'IPv6'");
});
