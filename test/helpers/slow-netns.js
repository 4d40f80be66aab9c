'use strict';

// A network namespace whose loopback is a 10 Mbit/s token bucket, so that a sender's socket
// buffer really fills (EAGAIN) and the reactor has to finish its sends. Needs root.
//
//   const why = makeSlowNamespace(name);   // null, or why it could not be made (skip the test)
//   runChild(spec, body, { prefix: ['ip', 'netns', 'exec', name] });
//   removeNamespace(name);

const { spawnSync } = require('node:child_process');

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
      removeNamespace(name);
      return `${step.join(' ')} failed: ${(r.error && r.error.message) || r.stderr.trim()}`;
    }
  }
  return null;
}

function removeNamespace(name) {
  sh(['ip', 'netns', 'del', name]);
}

module.exports = { makeSlowNamespace, removeNamespace };
