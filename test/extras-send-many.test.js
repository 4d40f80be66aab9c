'use strict';

// socket.sendMany() (an extra): a list of datagrams through the socket's send queue, in one native
// call with the send() calls of the same tick; GSO for runs of one size to one destination.

const { test } = require('node:test');
const assert = require('node:assert');
const dgram = require('node:dgram');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const net = require('node:net');
const native = require('../lib/native');
const { bound, turbo, until } = require('./helpers/extras');

const T = { timeout: 20000 };

// A node:dgram receiver that records every datagram as text.
async function peer(t, type = 'udp4', address = '127.0.0.1') {
  const r = dgram.createSocket(type);
  t.after(() => r.close());
  const port = await bound(r, address);
  const got = [];
  r.on('message', (msg) => got.push(msg.toString()));
  return { port, got };
}

// Counts native.send calls and the datagrams of each while fn's sends flush.
function countNativeSends(t) {
  const calls = [];
  const original = native.send;
  native.send = function (handle, bufs, ...rest) {
    calls.push(bufs.length);
    return original.call(this, handle, bufs, ...rest);
  };
  t.after(() => { native.send = original; });
  return calls;
}

function socket(t, options = 'udp4') {
  const s = turbo.createSocket(options);
  t.after(() => { try { s.close(); } catch {} });
  return s;
}

test('sendMany: content and order intact at a node:dgram peer, in one native call', T, async (t) => {
  const p = await peer(t);
  const s = socket(t);
  await bound(s, '127.0.0.1');
  const calls = countNativeSends(t);
  const messages = Array.from({ length: 150 }, (_, i) => `datagram-${String(i).padStart(3, '0')}`);
  const result = await new Promise((resolve) => s.sendMany(messages, p.port, '127.0.0.1', (...args) => resolve(args)));
  assert.deepStrictEqual(result, [null, 150]);
  assert.deepStrictEqual(calls, [150]);
  await until(() => p.got.length === 150, 3000, '150 datagrams');
  assert.deepStrictEqual(p.got, messages);
  assert.strictEqual(s.getStats().sentDatagrams, 150);
});

test('sendMany keeps its place among the send() calls of the same tick: one flush', T, async (t) => {
  const p = await peer(t);
  const s = socket(t);
  await bound(s, '127.0.0.1');
  const calls = countNativeSends(t);
  const events = [];
  s.send('a', p.port, '127.0.0.1', () => events.push('send a'));
  s.sendMany(['b', Buffer.from('c'), { msg: [Buffer.from('d'), 'e'] }], p.port, '127.0.0.1',
    (err, n) => events.push(`sendMany ${err} ${n}`));
  s.send('f', p.port, '127.0.0.1', () => events.push('send f'));
  await until(() => p.got.length === 5, 3000, '5 datagrams');
  assert.deepStrictEqual(p.got, ['a', 'b', 'c', 'de', 'f']);
  assert.deepStrictEqual(calls, [5]);
  await until(() => events.length === 3, 1000, 'callbacks');
  assert.deepStrictEqual(events, ['send a', 'sendMany null 3', 'send f']);
});

test('sendMany: each entry may carry its own destination; an unbound socket binds first', T, async (t) => {
  const p1 = await peer(t);
  const p2 = await peer(t);
  const p6 = await peer(t, 'udp6', '::1');
  const s = socket(t);
  const n = await new Promise((resolve, reject) => s.sendMany([
    'to-1',
    { msg: 'to-2', port: p2.port },
    { msg: 'to-2-by-name', port: p2.port, address: 'localhost' },
    'to-1-again',
  ], p1.port, (err, count) => (err ? reject(err) : resolve(count))));
  assert.strictEqual(n, 4);
  await until(() => p1.got.length === 2 && p2.got.length === 2, 3000, 'both peers');
  assert.deepStrictEqual(p1.got, ['to-1', 'to-1-again']);
  assert.deepStrictEqual(p2.got, ['to-2', 'to-2-by-name']);
  assert.strictEqual(s.address().address, '0.0.0.0');

  const s6 = socket(t, 'udp6');
  await new Promise((resolve) => s6.sendMany([{ msg: 'six', address: '::1' }], p6.port, resolve));
  await until(() => p6.got.length === 1, 3000, 'the IPv6 peer');
  assert.deepStrictEqual(p6.got, ['six']);
});

test('sendMany: the first failure, with its index; the other datagrams are sent', T, async (t) => {
  const p = await peer(t);
  const s = socket(t);
  await bound(s, '127.0.0.1');
  const [err, sent] = await new Promise((resolve) => s.sendMany([
    'ok-0',
    Buffer.alloc(70000), // over the IPv4 limit: EMSGSIZE from the kernel
    { msg: 'wrong family', address: '::1' }, // EINVAL before any system call, as send() reports it
    'ok-3',
  ], p.port, '127.0.0.1', (...args) => resolve(args)));
  assert.strictEqual(sent, 2);
  assert.strictEqual(err.code, 'EMSGSIZE');
  assert.strictEqual(err.syscall, 'send');
  assert.strictEqual(err.index, 1);
  await until(() => p.got.length === 2, 3000, 'two datagrams');
  assert.deepStrictEqual(p.got, ['ok-0', 'ok-3']);
  assert.strictEqual(s.getStats().sendErrors, 1);

  const [family, none] = await new Promise((resolve) =>
    s.sendMany(['ok', { msg: 'x', address: '::1' }], p.port, '127.0.0.1', (...args) => resolve(args)));
  assert.strictEqual(family.code, 'EINVAL');
  assert.strictEqual(family.message, `send EINVAL ::1:${p.port}`);
  assert.strictEqual(family.index, 1);
  assert.strictEqual(none, 1);

  const [lookupErr, zero] = await new Promise((resolve) =>
    s.sendMany(['a', { msg: 'b', address: 'no-such-host.invalid' }], p.port, '127.0.0.1', (...args) => resolve(args)));
  assert.strictEqual(lookupErr.code, 'ENOTFOUND');
  assert.strictEqual(lookupErr.index, 1);
  assert.strictEqual(zero, 1);
});

test('sendMany on a socket that connects while its lookup runs: EISCONN, as send() reports it', T, async (t) => {
  const p = await peer(t);
  const s = socket(t);
  await bound(s, '127.0.0.1');
  // Both calls resolve on a later tick; connectSync connects before either answer is used.
  const viaSend = new Promise((resolve) => s.send('send', p.port, '127.0.0.1', (err) => resolve(err)));
  const viaSendMany = new Promise((resolve) => s.sendMany(['sendMany'], p.port, '127.0.0.1', (...args) => resolve(args)));
  s.connectSync(p.port, '127.0.0.1');
  const sendErr = await viaSend;
  const [err, sent] = await viaSendMany;
  assert.strictEqual(sendErr.code, 'EISCONN');
  assert.strictEqual(sent, 0);
  assert.strictEqual(err.index, 0);
  for (const key of ['name', 'code', 'errno', 'syscall', 'address', 'port']) assert.strictEqual(err[key], sendErr[key], key);
  assert.strictEqual(err.message, sendErr.message);
  // Neither reached the peer: a marker sent after them is the first thing it gets.
  await new Promise((resolve) => s.send('marker', resolve));
  await until(() => p.got.length > 0, 2000, 'the marker datagram');
  assert.deepStrictEqual(p.got, ['marker']);
});

test('sendMany checks its arguments as send() does, before sending anything', T, async (t) => {
  const s = socket(t);
  const calls = countNativeSends(t);
  assert.throws(() => s.sendMany('abc', 9), { code: 'ERR_INVALID_ARG_TYPE', message: /"messages" argument must be an instance of Array/ });
  assert.throws(() => s.sendMany(['ok', 42], 9), { code: 'ERR_INVALID_ARG_TYPE', message: /"messages\[1\]" argument/ });
  assert.throws(() => s.sendMany([{ msg: {} }], 9), { code: 'ERR_INVALID_ARG_TYPE', message: /"messages\[0\]\.msg" property/ });
  assert.throws(() => s.sendMany(['ok']), { code: 'ERR_SOCKET_BAD_PORT', message: /messages\[0\]\.port should be > 0/ });
  assert.throws(() => s.sendMany(['ok', { msg: 'x', port: 70000 }], 9), { code: 'ERR_SOCKET_BAD_PORT' });
  assert.throws(() => s.sendMany(['ok'], 9, 42), { code: 'ERR_INVALID_ARG_TYPE', message: /"messages\[0\]\.address"/ });
  assert.throws(() => s.sendMany(['ok'], 9, '127.0.0.1', 'nope'), { code: 'ERR_INVALID_ARG_TYPE', message: /"callback"/ });
  s.close();
  assert.throws(() => s.sendMany(['ok'], 9), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepStrictEqual(calls, []);
});

test('sendMany on a connected socket: no destinations allowed, datagrams go to the peer', T, async (t) => {
  const p = await peer(t);
  const s = socket(t);
  await new Promise((resolve) => s.connect(p.port, '127.0.0.1', resolve));
  assert.throws(() => s.sendMany(['x'], p.port), { code: 'ERR_SOCKET_DGRAM_IS_CONNECTED' });
  assert.throws(() => s.sendMany([{ msg: 'x', address: '127.0.0.1' }]), { code: 'ERR_SOCKET_DGRAM_IS_CONNECTED' });
  const result = await new Promise((resolve) => s.sendMany(['c1', 'c2'], (...args) => resolve(args)));
  assert.deepStrictEqual(result, [null, 2]);
  await until(() => p.got.length === 2, 3000, 'two datagrams');
  assert.deepStrictEqual(p.got, ['c1', 'c2']);
  const empty = await new Promise((resolve) => s.sendMany([], (...args) => resolve(args)));
  assert.deepStrictEqual(empty, [null, 0]);
});

// strace shows the system calls: 100 datagrams of one size to one destination leave in one
// sendmmsg carrying two GSO messages (UDP_SEGMENT, at most 64 segments each).
const strace = spawnSync('strace', ['-V']).status === 0;
test('sendMany: a run of same-size datagrams leaves as GSO messages of one sendmmsg (strace)', { ...T, skip: !strace && 'strace is not installed' }, async (t) => {
  const p = await peer(t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-dgram-gso-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'send.js');
  fs.writeFileSync(script, `
    const s = require(${JSON.stringify(path.join(__dirname, '..'))}).createSocket('udp4');
    const msgs = Array.from({ length: 100 }, (_, i) => Buffer.alloc(100, i));
    s.bind(0, '127.0.0.1', () => s.sendMany(msgs, ${p.port}, '127.0.0.1', (err, n) => {
      process.stdout.write(JSON.stringify({ err: err && err.code, n }));
      s.close();
    }));
  `);
  const trace = path.join(dir, 'trace.txt');
  // Asynchronous: the peer on this thread must keep receiving while the child sends.
  const { spawn } = require('node:child_process');
  const child = spawn('strace', ['-f', '-qq', '-e', 'trace=sendmsg,sendmmsg,sendto', '-o', trace, process.execPath, script]);
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  await new Promise((resolve) => child.on('exit', resolve));
  assert.deepStrictEqual(JSON.parse(out), { err: null, n: 100 });
  const calls = fs.readFileSync(trace, 'utf8').split('\n').filter((line) => line.includes(`htons(${p.port})`));
  assert.strictEqual(calls.length, 1, calls.join('\n'));
  assert.match(calls[0], /^\d+\s+sendmmsg\(.*\], 2, 0\) += 2$/); // two messages given, two sent
  const gso = calls[0].match(/cmsg_level=SOL_UDP, cmsg_type=0x67/g) ?? []; // UDP_SEGMENT = 103
  const lengths = Array.from(calls[0].matchAll(/msg_len=(\d+)\}/g), (m) => Number(m[1]));
  assert.strictEqual(gso.length, 2, calls[0]);
  assert.deepStrictEqual(lengths, [6400, 3600]);
  await until(() => p.got.length === 100, 3000, '100 datagrams at the peer');
  assert.deepStrictEqual(p.got.map((m) => m.charCodeAt(0)), Array.from({ length: 100 }, (_, i) => i));
});

// Node 22.13 / 23.4 added sendBlockList; on an older Node the builtin, and so turbo-dgram, ignore it.
const hasBlockLists = (() => {
  try {
    dgram.createSocket({ type: 'probe', sendBlockList: 1 });
  } catch (err) {
    return err.code === 'ERR_INVALID_ARG_TYPE';
  }
  return false;
})();
test('sendMany: a destination in sendBlockList fails with ERR_IP_BLOCKED and its index', { ...T, skip: !hasBlockLists && 'this Node has no sendBlockList' }, async (t) => {
  const p = await peer(t);
  const blockList = new net.BlockList();
  blockList.addAddress('127.0.0.9');
  const s = socket(t, { type: 'udp4', sendBlockList: blockList });
  const [blocked, sent] = await new Promise((resolve) =>
    s.sendMany(['ok', { msg: 'x', address: '127.0.0.9' }], p.port, '127.0.0.1', (...args) => resolve(args)));
  assert.strictEqual(blocked.code, 'ERR_IP_BLOCKED');
  assert.strictEqual(blocked.index, 1);
  assert.strictEqual(sent, 1);
});
