'use strict';

// turbo-dgram runs its reactor on a thread named `turbo-dgram-reactor`. Linux keeps 15 characters of
// a thread name (TASK_COMM_LEN 16 with the NUL), so /proc shows `turbo-dgram-rea`.
// Hand-written expectation (the builtin has no such thread), checked in child processes so that the
// test runner's own threads and modules do not interfere: with node:dgram no such thread exists,
// with turbo-dgram (default driver) one does while a socket is open.

const { test } = require('node:test');
const assert = require('node:assert');
const { runChild } = require('./helpers/child');
const { subjectSpec } = require('./helpers/differential');

const COMM = 'turbo-dgram-reactor'.slice(0, 15);

const BODY = `
  const fs = require('node:fs');
  const threadNames = () => fs.readdirSync('/proc/self/task').map((tid) => {
    try { return fs.readFileSync('/proc/self/task/' + tid + '/comm', 'utf8').trim(); } catch { return null; }
  }).filter(Boolean);
  const s = dgram.createSocket('udp4');
  s.bind(0, '127.0.0.1', async () => {
    // A new thread carries its creator's name until it names itself: look for up to 500 ms.
    let names = threadNames();
    for (let i = 0; i < 50 && !names.includes(process.env.REACTOR_COMM); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      names = threadNames();
    }
    out('threads while a socket is open', names);
    s.close();
  });
`;

// The default driver is the reactor thread; TURBO_DGRAM_DRIVER (set for a whole CI run of the
// inline driver) is removed in the child.
const CHILD = { env: { TURBO_DGRAM_DRIVER: undefined, REACTOR_COMM: 'turbo-dgram-reactor'.slice(0, 15) } };

function reactorThreads(result) {
  assert.strictEqual(result.code, 0, `child failed:\n${result.stderr}`);
  const line = result.stdout.map((l) => JSON.parse(l)).find((e) => e[0] === 'threads while a socket is open');
  assert.ok(line, `child printed no thread list:\n${result.stdout.join('\n')}\n${result.stderr}`);
  return line[1].filter((name) => name === COMM);
}

test('node:dgram has no turbo-dgram-reactor thread (the reference for the check below)', { timeout: 15000 }, async () => {
  const builtin = await runChild('node:dgram', BODY, CHILD);
  assert.deepStrictEqual(reactorThreads(builtin), []);
});

test('turbo-dgram runs a thread named turbo-dgram-reactor while a socket is open', { timeout: 15000 }, async () => {
  const subject = await runChild(subjectSpec(), BODY, CHILD);
  assert.ok(reactorThreads(subject).length >= 1,
    `no thread named ${COMM} in /proc/self/task/*/comm:\n${subject.stdout.join('\n')}\n${subject.stderr}`);
});
