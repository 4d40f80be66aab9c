'use strict';

// A network namespace whose loopback is a 10 Mbit/s token bucket, so that a sender's socket
// buffer really fills (EAGAIN) and the reactor has to finish its sends. Needs root; a test that
// cannot make one is skipped with the reason.
//
//   await compareInSlowNamespace(t, 'faults', body, expectedBuiltinStdout, whatItShows);
// runs `body` (test/helpers/child.js's runChild) inside the namespace against node:dgram and then
// turbo-dgram; the builtin's stdout must be `expectedBuiltinStdout` (else the scenario does not
// show `whatItShows`: the test is wrong), and turbo-dgram's exit and stdout the builtin's.

const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const { runChild } = require('./child');
const { subjectSpec } = require('./differential');

function sh(args) {
  return spawnSync(args[0], args.slice(1), { encoding: 'utf8', timeout: 5000 });
}

function makeSlowNamespace(name) {
  if (process.getuid?.() !== 0) return 'needs root (ip netns add)';
  const steps = [
    ['ip', 'netns', 'add', name],
    ['ip', 'netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up'],
    ['ip', 'netns', 'exec', name, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'tbf', 'rate', '10mbit', 'burst', '1540', 'latency', '400ms'],
  ];
  for (const step of steps) {
    const r = sh(step);
    if (r.error || r.status !== 0) {
      sh(['ip', 'netns', 'del', name]);
      return `${step.join(' ')} failed: ${(r.error && r.error.message) || r.stderr.trim()}`;
    }
  }
  return null;
}

async function compareInSlowNamespace(t, tag, body, expectedBuiltinStdout, whatItShows) {
  const name = `turbo-dgram-${tag}-${process.pid}`;
  const why = makeSlowNamespace(name);
  if (why) {
    t.skip(`cannot make a network namespace with a slow loopback here: ${why}`);
    return;
  }
  try {
    const exec = (spec) => runChild(spec, body, { prefix: ['ip', 'netns', 'exec', name], timeoutMs: 15000 });
    const builtin = await exec('node:dgram');
    const subject = await exec(subjectSpec());
    assert.strictEqual(builtin.code, 0, builtin.stderr);
    assert.deepStrictEqual(builtin.stdout, expectedBuiltinStdout,
      `the builtin did not show ${whatItShows}: the scenario does not test what it should`);
    assert.deepStrictEqual({ code: subject.code, signal: subject.signal, stdout: subject.stdout },
      { code: 0, signal: null, stdout: builtin.stdout }, subject.stderr);
  } finally {
    sh(['ip', 'netns', 'del', name]);
  }
}

module.exports = { compareInSlowNamespace };
