'use strict';

// Async context and async_hooks (issue 13, item 1): which AsyncLocalStorage store, which
// executionAsyncId() / triggerAsyncId() each event and callback of a socket sees, and the hook
// events of its UDPWRAP resource, compared between node:dgram and turbo-dgram (every receive
// driver). Each module runs test/helpers/async-context-probe.js in a child process of its own, so
// the hooks of one never see the other.
//
// Two things are compared loosely, on purpose:
//   - destroy hooks as a set: Node emits them in batches whose order follows handle-close
//     callbacks, and the builtin's own order differs between Node 20 and 24;
//   - the trigger of a callback run from a tick: the builtin schedules its send, connect and close
//     callbacks with the socket as the tick's trigger (an internal of Node's, not reachable from a
//     package; README "Differences"). The tick itself, the store and the other ids are compared.

const assert = require('node:assert');
const path = require('node:path');
const { test } = require('node:test');
const { runNode } = require('./helpers/child');
const { subjectSpec } = require('./helpers/differential');

const PROBE = path.join(__dirname, 'helpers', 'async-context-probe.js');
const T = { timeout: 30000 };

// From Node 24 AsyncLocalStorage rides on AsyncContextFrame; --no-async-context-frame switches it
// back to async_hooks. Both ways are compared where the Node has the choice.
const ALS_MODES = process.allowedNodeEnvironmentFlags.has('--no-async-context-frame') ? [[], ['--no-async-context-frame']] : [[]];

async function probe(moduleSpec, scenario, env = {}, nodeFlags = []) {
  const r = await runNode([PROBE, moduleSpec, scenario], { env, nodeFlags, timeoutMs: 15000 });
  if (r.code !== 0 || r.timedOut) throw new Error(`probe of ${moduleSpec} failed (code ${r.code}):\n${r.stderr}`);
  return normalise(r.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line)));
}

function normalise(entries) {
  const destroyed = [];
  const sequence = [];
  for (const entry of entries) {
    if (entry[0] === 'destroy') {
      destroyed.push(entry[1]);
      continue;
    }
    const exec = entry.indexOf('exec');
    if (exec >= 0 && entry[exec + 1] === 'tick') {
      const trigger = entry.indexOf('trigger', exec);
      entry[trigger + 1] = '(a tick: not compared)';
    }
    sequence.push(JSON.stringify(entry));
  }
  return { sequence, destroyed: destroyed.sort() };
}

for (const [scenario, nodeFlags] of ['echo', 'errors', 'throws'].flatMap((s) => ALS_MODES.map((flags) => [s, flags]))) {
  test(`async context: ${scenario} ${nodeFlags.join(' ')}: stores, ids and UDPWRAP hooks as the builtin's (every driver)`, T, async () => {
    const builtin = await probe('node:dgram', scenario, {}, nodeFlags);
    // The probe must exercise what it means to: message events in the socket's context.
    if (scenario === 'echo') {
      assert.ok(builtin.sequence.some((line) => line.includes('"server message"') && line.includes('"exec","UDPWRAP#1"')),
        `the builtin run did not do what the test means:\n${builtin.sequence.join('\n')}`);
    }
    assert.ok(builtin.destroyed.length > 0);
    for (const driver of ['handover', 'thread', 'inline']) {
      const subject = await probe(subjectSpec(), scenario, { TURBO_DGRAM_DRIVER: driver }, nodeFlags);
      assert.deepStrictEqual(subject, builtin, `driver ${driver} (actual = turbo-dgram, expected = node:dgram)`);
    }
  });
}
