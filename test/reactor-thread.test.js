'use strict';

// turbo-dgram runs its reactor on a thread named `turbo-dgram-reactor`. Linux keeps 15 characters of
// a thread name (TASK_COMM_LEN 16 with the NUL), so /proc shows `turbo-dgram-rea`.
// Hand-written expectation (the builtin has no such thread), checked in child processes so that the
// test runner's own threads and modules do not interfere: with node:dgram no such thread exists,
// with turbo-dgram one does while a socket is open.

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
  s.bind(0, '127.0.0.1', () => {
    out('threads while a socket is open', threadNames());
    s.close();
  });
`;

function reactorThreads(result) {
  assert.strictEqual(result.code, 0, `child failed:\n${result.stderr}`);
  const line = result.stdout.map((l) => JSON.parse(l)).find((e) => e[0] === 'threads while a socket is open');
  assert.ok(line, `child printed no thread list:\n${result.stdout.join('\n')}\n${result.stderr}`);
  return line[1].filter((name) => name === COMM);
}

test('node:dgram has no turbo-dgram-reactor thread (the reference for the check below)', { timeout: 15000 }, async () => {
  const builtin = await runChild('node:dgram', BODY);
  assert.deepStrictEqual(reactorThreads(builtin), []);
});

test('turbo-dgram runs a thread named turbo-dgram-reactor while a socket is open', { timeout: 15000 }, async () => {
  const subject = await runChild(subjectSpec(), BODY);
  assert.ok(reactorThreads(subject).length >= 1,
    `no thread named ${COMM} in /proc/self/task/*/comm:\n${subject.stdout.join('\n')}\n${subject.stderr}`);
});
