'use strict';

// NODE_DEBUG=turbo-dgram (lib/debug.js): which addon loaded or why none did, the default receive
// driver and where it came from, and each socket's driver. Hand-written expectations: the builtin
// has no such log to compare with.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runNode } = require('./helpers/child');

const root = path.join(__dirname, '..');

const TWO_SOCKETS = `
  const dgram = require(process.argv[1]);
  dgram.createSocket('udp4').close();
  dgram.createSocket({ type: 'udp6', driver: 'inline' }).close();
`;

test('NODE_DEBUG=turbo-dgram names the addon, the default driver and each socket\'s', async () => {
  const r = await runNode(['-e', TWO_SOCKETS, root], { env: { NODE_DEBUG: 'turbo-dgram', TURBO_DGRAM_DRIVER: 'thread' } });
  assert.strictEqual(r.code, 0, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('TURBO-DGRAM '));
  const said = lines.map((l) => l.replace(/^TURBO-DGRAM \d+: /, ''));
  assert.match(said[0], /^addon: loaded \S+\.node \((a build from source|the prebuilt addon)\)$/);
  assert.deepStrictEqual(said.slice(1), [
    "driver: 'thread' for sockets without options.driver (TURBO_DGRAM_DRIVER)",
    "socket 1: udp4, driver 'thread'",
    // where the inline driver cannot start, the socket says what it got instead
    ...(said[3] === "socket 2: udp6, driver 'inline'" ? [said[3]] : ["socket 2: udp6, driver 'inline' cannot run here: got 'thread'"]),
  ]);
});

test('without NODE_DEBUG nothing is logged', async () => {
  const r = await runNode(['-e', TWO_SOCKETS, root], { env: { NODE_DEBUG: undefined } });
  assert.strictEqual(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /TURBO-DGRAM/);
});

test('NODE_DEBUG=turbo-dgram says where it looked when no addon is found', async (t) => {
  // A copy of the package's JS without any addon: what a platform without a prebuild gets.
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-dgram-debug-'));
  t.after(() => fs.rmSync(copy, { recursive: true, force: true }));
  fs.cpSync(path.join(root, 'lib'), path.join(copy, 'lib'), { recursive: true });
  fs.copyFileSync(path.join(root, 'package.json'), path.join(copy, 'package.json'));
  const r = await runNode(['-e', 'console.log(require(process.argv[1]).implementation)', copy],
    { env: { NODE_DEBUG: 'turbo-dgram' } });
  assert.strictEqual(r.code, 0, r.stderr);
  assert.strictEqual(r.stdout.trim(), 'node:dgram');
  assert.match(r.stderr, new RegExp(`TURBO-DGRAM \\d+: addon: none found \\(looked for ${copy}/build/turbo_dgram\\.node and `));
});
