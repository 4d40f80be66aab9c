'use strict';

// Scoped IPv6 destinations (fe80::...%iface): the literal, zone included, goes to the native send
// with no DNS query. A custom `lookup` is still called for it, as the builtin calls it for every
// address (literals included): send() must keep that. The real delivery over a link runs in a
// network namespace of its own (unshare -n) with a veth pair, when this host allows it.

const { test } = require('node:test');
const assert = require('node:assert');
const asyncHooks = require('node:async_hooks');
const dgram = require('node:dgram');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const native = require('../lib/native');
const { turbo } = require('./helpers/extras');

const T = { timeout: 20000 };

// Sends one datagram to `to` with module `m`; resolves with the lookup calls, the callback's error
// and the resource types of DNS requests (getaddrinfo, c-ares) created meanwhile.
function sendOnce(m, to, lookup) {
  const dnsRequests = [];
  const hook = asyncHooks.createHook({
    init(id, type) { if (/ADDRINFO|NAMEINFO|QUERY/.test(type)) dnsRequests.push(type); },
  }).enable();
  const lookups = [];
  const options = { type: 'udp6' };
  if (lookup) {
    options.lookup = (address, family, cb) => {
      lookups.push([address, family]);
      process.nextTick(cb, null, address, family);
    };
  }
  const s = m.createSocket(options);
  return new Promise((resolve) => {
    s.bind(0, '::', () => {
      lookups.length = 0; // only the send's
      s.send('scoped', 9, to, (err) => {
        hook.disable();
        const stats = s.getStats?.();
        s.close();
        const picked = err && { code: err.code, syscall: err.syscall, address: err.address, port: err.port, message: err.message };
        resolve({ lookups, err: picked, dnsRequests, stats });
      });
    });
  });
}

test('a custom lookup is called with the scoped literal, as the builtin calls it', T, async () => {
  const builtin = await sendOnce(dgram, 'fe80::1%lo', true);
  const subject = await sendOnce(turbo, 'fe80::1%lo', true);
  assert.deepStrictEqual(builtin.lookups, [['fe80::1%lo', 6]]);
  assert.deepStrictEqual(subject.lookups, builtin.lookups);
  assert.deepStrictEqual(subject.err, builtin.err);
});

test('the default lookup: no DNS request for a scoped literal, and the native send gets it whole', T, async (t) => {
  const ips = [];
  const original = native.send;
  native.send = function (handle, bufs, dests, ...rest) {
    // dests is flat [ip, port, ...]: the addresses are every other entry.
    if (dests) for (let i = 0; i < dests.length; i += 2) ips.push(dests[i]);
    return original.call(this, handle, bufs, dests, ...rest);
  };
  t.after(() => { native.send = original; });
  const builtin = await sendOnce(dgram, 'fe80::1%lo', false);
  const subject = await sendOnce(turbo, 'fe80::1%lo', false);
  assert.deepStrictEqual(subject.dnsRequests, []);
  assert.deepStrictEqual(ips, ['fe80::1%lo']);
  // lo has no link-local address: the kernel's answer, the same for both (ENETUNREACH here).
  assert.ok(builtin.err, 'the builtin reports an error for fe80::1%lo');
  assert.deepStrictEqual(subject.err, builtin.err);
  assert.strictEqual(subject.stats.sendErrors, 1);
});

// A child in a fresh network namespace: veth va <-> vb with fe80::a and fe80::b.
const CHILD = `
const asyncHooks = require('node:async_hooks');
const dgram = require(${JSON.stringify(path.join(__dirname, '..'))});
const dnsRequests = [];
asyncHooks.createHook({ init(id, type) { if (/ADDRINFO|NAMEINFO|QUERY/.test(type)) dnsRequests.push(type); } }).enable();
const r = dgram.createSocket({ type: 'udp6', recvPktInfo: true });
const s = dgram.createSocket('udp6');
const got = [];
r.on('message', (msg, rinfo) => {
  got.push([msg.toString(), rinfo]);
  if (got.length < 3) return;
  process.stdout.write(JSON.stringify({ got, dnsRequests, sent: s.getStats().sentDatagrams }));
  r.close();
  s.close();
});
r.bind(0, '::', () => {
  const port = r.address().port;
  s.send('send', port, 'fe80::b%va');
  s.sendMany(['many-1', { msg: 'many-2', address: 'fe80::b%va' }], port, 'fe80::b%va');
});
setTimeout(() => { process.stdout.write(JSON.stringify({ timeout: true, got })); process.exit(1); }, 5000).unref();
`;

const SETUP = 'ip link set lo up && ip link add va type veth peer name vb && ' +
  'ip -6 addr add fe80::a/64 dev va nodad && ip -6 addr add fe80::b/64 dev vb nodad && ' +
  'ip link set va up && ip link set vb up && ip -o link show vb | cut -d: -f1 && ';

const netns = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link add va type veth peer name vb'], { timeout: 5000 }).status === 0;
test('over a veth link in a network namespace: send() and sendMany() to fe80::b%va arrive on vb', { ...T, skip: !netns && 'cannot create a network namespace with a veth pair here' }, () => {
  const child = spawnSync('unshare', ['-n', 'sh', '-c', `${SETUP} "$0" -e "$1"`, process.execPath, CHILD], {
    encoding: 'utf8', timeout: 15000, env: { ...process.env, NODE_OPTIONS: '' },
  });
  assert.strictEqual(child.status, 0, child.stderr + child.stdout);
  const [vbIndex, json] = child.stdout.split('\n');
  const out = JSON.parse(json);
  assert.deepStrictEqual(out.dnsRequests, []);
  assert.strictEqual(out.sent, 3);
  assert.deepStrictEqual(out.got.map(([msg]) => msg), ['send', 'many-1', 'many-2']);
  for (const [, rinfo] of out.got) {
    // The builtin's rinfo names a link-local peer with its zone; recvPktInfo adds where it arrived.
    assert.strictEqual(rinfo.address, 'fe80::a%vb');
    assert.strictEqual(rinfo.localAddress, 'fe80::b');
    assert.strictEqual(rinfo.interfaceIndex, Number(vbIndex));
  }
});
