'use strict';

// Process-lifetime scenarios: does a process whose only handle is a socket exit, stay alive, crash?
// Those cannot be seen from inside one process, so each scenario runs as a child process, once with
// node:dgram and once with turbo-dgram, and what the parent sees is compared:
//   exit code, signal, and the child's stdout lines (the child prints what it observes; the helper
//   `out(...)` inside the child prints one JSON line).
// The child's code gets `dgram` (the module under test) and `out` in scope. An uncaught exception is
// printed by the child as ['uncaught', {name, code, syscall, message}] before the process dies,
// so a crash is compared too. stderr is not compared (stack traces name files), but is shown on a
// difference.
//
//   const r = await childBoth(`
//     const s = dgram.createSocket('udp4');
//     s.bind(0, '127.0.0.1', () => out('listening'));
//     setTimeout(() => { out('timer'); s.close(); }, 300).unref();
//   `);
//   // r.builtin / r.subject: { code, signal, stdout: [...], stderr, elapsedMs, timedOut }

const assert = require('node:assert');
const { spawn } = require('node:child_process');
const { canonicalisePorts, render, subjectSpec } = require('./differential');

const PRELUDE = `
'use strict';
const dgram = require(process.env.DGRAM_UNDER_TEST);
const out = (...args) => process.stdout.write(JSON.stringify(args) + '\\n');
process.on('uncaughtExceptionMonitor', (err) => {
  const pick = {};
  for (const k of ['name', 'code', 'syscall', 'address', 'port', 'message']) if (err && err[k] !== undefined) pick[k] = err[k];
  out('uncaught', pick);
});
`;

// Runs `node ...nodeFlags ...args` as a child process and collects what it prints. Options:
//   nodeFlags  node's own flags, before args (['--expose-gc'])
//   env        variables to set (undefined: remove) on top of this process's environment, in which
//              NODE_OPTIONS is emptied (the test runner's must not reach the child)
//   prefix     a command that runs the rest (['ip', 'netns', 'exec', NS]); it must exec node, so
//              that the kill at timeoutMs reaches it
//   timeoutMs  after which the child is SIGKILLed (timedOut: true)
//   execPath   the node binary
// Resolves with { code, signal, timedOut, stdout, stderr, elapsedMs }, stdout and stderr as text.
function runNode(args, { nodeFlags = [], env = {}, prefix = [], timeoutMs = 5000, execPath = process.execPath } = {}) {
  const childEnv = { ...process.env, NODE_OPTIONS: '' };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  const argv = [...prefix, execPath, ...nodeFlags, ...args];
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
      resolve({ code, signal, timedOut, stdout, stderr, elapsedMs });
    });
  });
}

// `body` run after PRELUDE (`dgram` = require(moduleSpec), `out`) by runNode, with its options;
// stdout comes back as an array of lines.
async function runChild(moduleSpec, body, options = {}) {
  const r = await runNode(['-e', PRELUDE + body], { ...options, env: { DGRAM_UNDER_TEST: moduleSpec, ...options.env } });
  return { ...r, stdout: r.stdout.split('\n').filter(Boolean) };
}

// Port numbers printed by a child differ from run to run: stdout lines are parsed and their ports
// named '<portN>' as in the in-process harness (a `port` key, or ':port' in a string), then compared
// with code, signal and timedOut.
async function childBoth(body, options = {}) {
  const builtin = await runChild('node:dgram', body, options);
  if (builtin.timedOut) {
    throw new Error(`the child scenario timed out against node:dgram itself (a test bug)\n${builtin.stderr}`);
  }
  const subject = await runChild(subjectSpec(), body, options);
  const view = (r) => ({ code: r.code, signal: r.signal, timedOut: r.timedOut, stdout: canonicalStdout(r.stdout) });
  assert.deepStrictEqual(view(subject), view(builtin),
    `child process differs (actual = turbo-dgram, expected = node:dgram)\n` +
    `turbo-dgram stderr:\n${subject.stderr}\nnode:dgram stderr:\n${builtin.stderr}\n` +
    `turbo-dgram: ${JSON.stringify(view(subject))}\nnode:dgram: ${JSON.stringify(view(builtin))}`);
  return { builtin, subject };
}

function canonicalStdout(lines) {
  const parsed = lines.map((line) => {
    try {
      return JSON.parse(line);
    } catch {
      return ['unparsed stdout', line];
    }
  });
  return canonicalisePorts(parsed).map(render);
}

module.exports = { childBoth, runChild, runNode };
