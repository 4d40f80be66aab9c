'use strict';

// IPv6 link-local peers: rinfo.address and address() carry the zone ('fe80::…%iface'). Loopback has
// no link-local address, so the test makes a network namespace with a veth pair (both ends inside
// it, so the host's own interfaces are untouched) and runs the scenario as a child process in it,
// once per module. Needs root (ip netns); skipped with the reason when the namespace cannot be made.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { test } = require('node:test');
const { childBoth } = require('./helpers/child');

const NS = `tdg-ll-${process.pid}`;

function ip(...args) {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

let skip = false;
try {
  ip('netns', 'add', NS);
} catch (err) {
  skip = `cannot create a network namespace with 'ip netns add' (needs root and iproute2): ${String(err.stderr || err.message).trim()}`;
}

test('link-local IPv6: rinfo and address() show fe80::…%iface, sends to a zoned address', { timeout: 20000, skip }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-dgram-ll-'));
  t.after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    try { ip('netns', 'del', NS); } catch { /* already gone */ }
  });
  ip('-n', NS, 'link', 'set', 'lo', 'up');
  ip('-n', NS, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb');
  ip('-n', NS, 'link', 'set', 'va', 'up');
  ip('-n', NS, 'link', 'set', 'vb', 'up');
  ip('-n', NS, 'addr', 'add', 'fe80::a/64', 'dev', 'va', 'nodad');
  ip('-n', NS, 'addr', 'add', 'fe80::b/64', 'dev', 'vb', 'nodad');
  const wrapper = path.join(dir, 'node-in-netns');
  fs.writeFileSync(wrapper, '#!/bin/bash\nexec ip netns exec "$NETNS" "$REAL_NODE" "$@"\n', { mode: 0o755 });
  const { builtin } = await childBoth(`
    const r = dgram.createSocket('udp6');
    const s = dgram.createSocket('udp6');
    r.on('error', (e) => out('R error', e.code, e.syscall, e.address));
    s.on('error', (e) => out('S error', e.code, e.syscall, e.address));
    r.on('message', (m, rinfo) => {
      out('R message', String(m), rinfo.address, rinfo.family, rinfo.size);
      r.send('back', rinfo.port, rinfo.address, (e) => out('R reply', e ? e.code : 'sent'));
    });
    s.on('message', (m, rinfo) => { out('S message', String(m), rinfo.address); r.close(); s.close(); });
    r.bind(0, 'fe80::b%vb', () => {
      out('R address', r.address().address);
      s.bind(0, 'fe80::a%va', () => {
        out('S address', s.address().address);
        s.send('unzoned', r.address().port, 'fe80::b', (e) => out('send without zone', e ? e.code : 'sent'));
        s.send('hello', r.address().port, 'fe80::b%vb', (e) => out('send with zone', e ? e.code : 'sent'));
      });
    });
    setTimeout(() => { out('timeout'); process.exit(1); }, 4000).unref();
  `, { execPath: wrapper, timeoutMs: 10000, env: { NETNS: NS, REAL_NODE: process.execPath } });
  if (!builtin.stdout.some((line) => line.includes('"R message","hello","fe80::a%'))) {
    throw new Error(`the builtin run shows no zoned link-local sender:\n${builtin.stdout.join('\n')}\n${builtin.stderr}`);
  }
});
