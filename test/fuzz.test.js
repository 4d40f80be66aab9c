'use strict';

// A short fixed-seed run of the differential fuzzer (test/fuzz/fuzz.js) on each receive driver,
// bounded to about 20 s in all. The long run is on demand:
//   node test/fuzz/fuzz.js --seed N --count 100000 [--driver inline]

const { test } = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { diverges, genProgram, describeStep } = require('./fuzz/fuzz');
const { runNode } = require('./helpers/child');

const FUZZ = path.join(__dirname, 'fuzz', 'fuzz.js');
const CALLS = 450;

// The fuzzer's output, stdout then stderr, as one text.
async function runFuzz(args, timeoutMs) {
  const r = await runNode([FUZZ, ...args], { timeoutMs });
  return { code: r.code, signal: r.signal, out: r.stdout + r.stderr };
}

for (const [driver, seed] of [['handover', 5000], ['thread', 7000], ['inline', 9000]]) {
  test(`fuzz: ${CALLS} calls from seed ${seed} on the ${driver} driver, no divergence from node:dgram`, { timeout: 30000 }, async () => {
    const r = await runFuzz(['--seed', String(seed), '--count', String(CALLS), '--driver', driver], 25000);
    const summary = /fuzz: .* (\d+) calls, (\d+) divergences/.exec(r.out);
    assert.ok(summary, `the fuzzer printed no summary (exit ${r.code}, signal ${r.signal}):\n${r.out}`);
    assert.ok(Number(summary[1]) >= CALLS, `ran only ${summary[1]} calls`);
    assert.strictEqual(Number(summary[2]), 0, r.out);
    assert.strictEqual(r.code, 0, r.out);
  });
}

test('fuzz: the comparison sees a difference (a builtin whose setTTL lies) and a seed gives the same program', { timeout: 10000 }, async () => {
  const builtin = require('node:dgram');
  const broken = {
    createSocket(...args) {
      const socket = builtin.createSocket(...args);
      socket.setTTL = () => 'broken';
      return socket;
    },
  };
  const program = [
    { op: 'create', slot: 'A', args: [{ k: 'lit', v: 'udp4' }] },
    { op: 'bind', slot: 'A', args: [{ k: 'lit', v: 0 }, { k: 'lit', v: '127.0.0.1' }] },
    { op: 'wait', how: 'ms' },
    { op: 'call', slot: 'A', method: 'setTTL', args: [{ k: 'lit', v: 5 }] },
  ];
  const found = await diverges(builtin, broken, program);
  assert.ok(found, 'a lying setTTL must be reported as a divergence');
  assert.match(found.actual[found.at], /broken/);
  assert.strictEqual(await diverges(builtin, builtin, program), null);
  assert.deepStrictEqual(genProgram(42, 30).map(describeStep), genProgram(42, 30).map(describeStep));
  assert.notDeepStrictEqual(genProgram(42, 30), genProgram(43, 30));
});

test('fuzz: a membership call with a group of the other family is not made on a socket without fd (README "Differences"), and is made on one with an fd', { timeout: 10000 }, async () => {
  const { runProgram } = require('./fuzz/fuzz');
  const lit = (v) => ({ k: 'lit', v });
  const program = [
    { op: 'create', slot: 'A', args: [lit('udp6')] },
    { op: 'call', slot: 'A', method: 'addMembership', args: [lit('239.255.0.7'), lit(null)] },
    { op: 'call', slot: 'A', method: 'addMembership', args: [lit('ff02::7'), lit(null)] },
    { op: 'create', slot: 'B', args: [lit('udp4')] },
    { op: 'bind', slot: 'B', args: [lit(0), lit('127.0.0.1')] },
    { op: 'wait', how: 'ms' },
    { op: 'call', slot: 'B', method: 'dropMembership', args: [lit('ff02::7'), lit('::1')] },
  ];
  const log = (await runProgram(require('node:dgram'), program)).join('\n');
  assert.match(log, /#1 A\.addMembership', 'not run: README/);
  assert.match(log, /#2 A\.addMembership', '(returned|threw)'/);
  assert.match(log, /#6 B\.dropMembership', 'threw'.*ENOPROTOOPT/);
});

test('fuzz: programs with host names are deterministic (seeds 100770, 101194 varied on the builtin alone with getaddrinfo timing)', { timeout: 20000 }, async () => {
  const { runProgram } = require('./fuzz/fuzz');
  const builtin = require('node:dgram');
  for (const seed of [100770, 101194]) {
    const program = genProgram(seed, 24);
    const first = await runProgram(builtin, program);
    for (let i = 0; i < 3; i++) assert.deepStrictEqual(await runProgram(builtin, program), first, `seed ${seed}, run ${i + 2}`);
  }
});
