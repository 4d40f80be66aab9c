'use strict';

// The receive extras: the 'messages' event (one per native batch) and where a datagram arrived
// (createSocket({ recvPktInfo, recvTimestamp })). Without them, rinfo and 'message' stay the
// builtin's (the differential suites check that; here, that a 'messages' listener changes nothing).

const { test } = require('node:test');
const assert = require('node:assert');
const dgram = require('node:dgram');
const fs = require('node:fs');
const { bound, turbo, until } = require('./helpers/extras');

const T = { timeout: 20000 };
const STANDARD_KEYS = ['address', 'family', 'port', 'size'];

function socket(t, options) {
  const s = turbo.createSocket(options);
  t.after(() => { try { s.close(); } catch {} });
  return s;
}

async function sender(t, type = 'udp4', address) {
  const s = dgram.createSocket(type);
  t.after(() => s.close());
  await bound(s, address);
  return s;
}

function ifindex(name) {
  return Number(fs.readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8'));
}

test("'messages': one event per batch, then 'message' per datagram with the same objects", T, async (t) => {
  const r = socket(t, 'udp4');
  const rport = await bound(r, '127.0.0.1');
  const s = await sender(t);
  const events = [];
  r.on('messages', (list) => events.push(['messages', list]));
  r.on('message', (msg, rinfo) => events.push(['message', msg, rinfo]));
  for (let i = 0; i < 100; i++) s.send(`m-${i}`, rport, '127.0.0.1');
  await new Promise((resolve) => setTimeout(resolve, 20)); // the sends leave
  const until150 = Date.now() + 150;
  while (Date.now() < until150) { /* JS busy: datagrams wait, and arrive as batches */ }
  await until(() => events.filter(([kind]) => kind === 'message').length === 100, 3000, '100 messages');

  const lists = events.filter(([kind]) => kind === 'messages').map(([, list]) => list);
  assert.ok(lists.some((list) => list.length > 1), `batch sizes ${lists.map((l) => l.length)}`);
  // Each 'messages' is followed by its datagrams' 'message' events, the same msg and rinfo objects.
  let i = 0;
  while (i < events.length) {
    assert.strictEqual(events[i][0], 'messages', `event ${i}`);
    const list = events[i][1];
    for (let k = 0; k < list.length; k++) {
      const [kind, msg, rinfo] = events[i + 1 + k];
      assert.strictEqual(kind, 'message');
      assert.strictEqual(msg, list[k].msg);
      assert.strictEqual(rinfo, list[k].rinfo);
    }
    i += 1 + list.length;
  }
  const all = lists.flat();
  assert.deepStrictEqual(all.map(({ msg }) => msg.toString()), Array.from({ length: 100 }, (_, k) => `m-${k}`));
  for (const { rinfo } of all) {
    assert.deepStrictEqual(Object.keys(rinfo), STANDARD_KEYS);
    assert.deepStrictEqual(rinfo, { address: '127.0.0.1', family: 'IPv4', port: s.address().port, size: rinfo.size });
  }
});

test("'messages' alone delivers everything; removing it returns to the standard path", T, async (t) => {
  const r = socket(t, 'udp4');
  const rport = await bound(r, '127.0.0.1');
  const s = await sender(t);
  const got = [];
  const onList = (list) => { for (const { msg } of list) got.push(msg.toString()); };
  r.on('messages', onList);
  for (let i = 0; i < 20; i++) s.send(`a-${i}`, rport, '127.0.0.1');
  await until(() => got.length === 20, 3000, '20 datagrams');
  r.removeListener('messages', onList);
  const later = [];
  r.on('message', (msg, rinfo) => later.push([msg.toString(), Object.keys(rinfo)]));
  s.send('b', rport, '127.0.0.1');
  await until(() => later.length === 1, 3000, 'one datagram');
  assert.deepStrictEqual(got, Array.from({ length: 20 }, (_, k) => `a-${k}`));
  assert.deepStrictEqual(later, [['b', STANDARD_KEYS]]);
});

// One datagram to `to`, from a node:dgram socket of `type`; resolves with the receiver's rinfo.
function roundTrip(r, rport, s, to) {
  return new Promise((resolve) => {
    r.once('message', (msg, rinfo) => resolve(rinfo));
    s.send('x', rport, to);
  });
}

test('recvPktInfo: a wildcard-bound socket learns the local address and interface of each datagram', T, async (t) => {
  const lo = ifindex('lo');
  const r4 = socket(t, { type: 'udp4', recvPktInfo: true });
  const r4port = await bound(r4, '0.0.0.0');
  const s4 = await sender(t, 'udp4');
  for (const to of ['127.0.0.1', '127.0.0.2']) {
    const rinfo = await roundTrip(r4, r4port, s4, to);
    assert.deepStrictEqual(rinfo, {
      address: '127.0.0.1', family: 'IPv4', port: s4.address().port, size: 1, localAddress: to, interfaceIndex: lo,
    });
  }

  const r6 = socket(t, { type: 'udp6', recvPktInfo: true });
  const r6port = await bound(r6, '::');
  const s6 = await sender(t, 'udp6');
  const rinfo6 = await roundTrip(r6, r6port, s6, '::1');
  assert.deepStrictEqual(rinfo6, {
    address: '::1', family: 'IPv6', port: s6.address().port, size: 1, localAddress: '::1', interfaceIndex: lo,
  });
  // The dual-stack socket sees an IPv4 datagram's destination as a mapped address.
  const rinfoMapped = await roundTrip(r6, r6port, s4, '127.0.0.1');
  assert.strictEqual(rinfoMapped.localAddress, '::ffff:127.0.0.1');
  assert.strictEqual(rinfoMapped.interfaceIndex, lo);
});

test('recvTimestamp: rinfo.timestamp is the arrival time in ms since the epoch', T, async (t) => {
  const r = socket(t, { type: 'udp4', recvTimestamp: true });
  const rport = await bound(r, '127.0.0.1');
  const s = await sender(t);
  const stamps = [];
  r.on('message', (msg, rinfo) => stamps.push([rinfo, Date.now()]));
  const before = Date.now();
  for (let i = 0; i < 5; i++) {
    s.send('x', rport, '127.0.0.1');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await until(() => stamps.length === 5, 3000, '5 datagrams');
  let previous = before - 1;
  for (const [rinfo, seenAt] of stamps) {
    assert.deepStrictEqual(Object.keys(rinfo), [...STANDARD_KEYS, 'timestamp']);
    assert.strictEqual(typeof rinfo.timestamp, 'number');
    assert.ok(rinfo.timestamp >= previous && rinfo.timestamp <= seenAt + 1,
      `${rinfo.timestamp} within [${previous}, ${seenAt + 1}]`);
    previous = rinfo.timestamp;
  }
  // Spaced sends: the stamps are taken at arrival, not at delivery.
  assert.ok(stamps[4][0].timestamp - stamps[0][0].timestamp >= 30, 'the stamps follow the 10 ms spacing');
});

test('recvPktInfo and recvTimestamp together, with the inline driver, through \'messages\'', T, async (t) => {
  const r = socket(t, { type: 'udp4', driver: 'inline', recvPktInfo: true, recvTimestamp: true });
  const rport = await bound(r, '0.0.0.0');
  const s = await sender(t);
  const before = Date.now();
  const list = await new Promise((resolve) => {
    r.once('messages', resolve);
    s.send('y', rport, '127.0.0.1');
  });
  assert.strictEqual(list.length, 1);
  const { rinfo } = list[0];
  assert.deepStrictEqual(Object.keys(rinfo), [...STANDARD_KEYS, 'localAddress', 'interfaceIndex', 'timestamp']);
  assert.strictEqual(rinfo.localAddress, '127.0.0.1');
  assert.strictEqual(rinfo.interfaceIndex, ifindex('lo'));
  assert.ok(Math.abs(rinfo.timestamp - before) < 1000, `${rinfo.timestamp} near ${before}`);
});

test('recvPktInfo / recvTimestamp take booleans', () => {
  assert.throws(() => turbo.createSocket({ type: 'udp4', recvPktInfo: 'yes' }), {
    code: 'ERR_INVALID_ARG_TYPE',
    message: 'The "options.recvPktInfo" property must be of type boolean. Received type string (\'yes\')',
  });
  assert.throws(() => turbo.createSocket({ type: 'udp4', recvTimestamp: 1 }), { code: 'ERR_INVALID_ARG_TYPE' });
  turbo.createSocket({ type: 'udp4', recvPktInfo: false, recvTimestamp: false }).close();
});
