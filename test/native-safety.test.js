'use strict';

// Native safety: a Rust panic inside a native entry point reaches JS as an Error (never an abort),
// and the addon keeps working afterwards; wrong argument types and edge numbers given straight to
// the native functions throw JS errors. In child processes, so that an abort cannot take the test
// runner down. panicForTest exists only when TURBO_DGRAM_TEST_HOOKS=1 at load.

const { test } = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const NATIVE = path.join(__dirname, '..', 'lib', 'native.js');

function child(body, env) {
  const r = spawnSync(process.execPath, ['-e', body], {
    env: { ...process.env, NODE_OPTIONS: '', NATIVE, ...env },
    encoding: 'utf8',
    timeout: 15000,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

test('panicForTest: the panic is a JS Error, the process lives on, and the addon still works', { timeout: 20000 }, () => {
  const r = child(`
    const native = require(process.env.NATIVE);
    const out = [];
    for (let i = 0; i < 3; i++) {
      try { native.panicForTest(); out.push('returned'); } catch (err) { out.push([err instanceof Error, err.constructor.name, String(err.message).includes('turbo-dgram test panic')]); }
    }
    const dgram = require(require('node:path').join(process.env.NATIVE, '..', '..'));
    const s = dgram.createSocket('udp4');
    s.on('message', (m) => { out.push(m.toString()); s.close(); console.log(JSON.stringify(out)); });
    s.bind(0, '127.0.0.1', () => s.send('still works', s.address().port, '127.0.0.1'));
  `, { TURBO_DGRAM_TEST_HOOKS: '1' });
  assert.strictEqual(r.signal, null, r.stderr);
  assert.strictEqual(r.code, 0, r.stderr);
  assert.deepStrictEqual(JSON.parse(r.stdout), [[true, 'Error', true], [true, 'Error', true], [true, 'Error', true], 'still works']);
});

test('panicForTest is not exported without TURBO_DGRAM_TEST_HOOKS=1', { timeout: 20000 }, () => {
  const r = child(`console.log(typeof require(process.env.NATIVE).panicForTest)`, { TURBO_DGRAM_TEST_HOOKS: undefined });
  assert.strictEqual(r.code, 0, r.stderr);
  assert.strictEqual(r.stdout.trim(), 'undefined');
});

test('every native function given hostile arguments throws a JS error or returns; never aborts', { timeout: 30000 }, () => {
  const r = child(`
    const native = require(process.env.NATIVE);
    native.init(() => {}, new Uint32Array(new ArrayBuffer(12)));
    const handle = native.create(4, 0);
    const hostile = [undefined, null, NaN, -1, 2 ** 32, 1.5, Infinity, '', 'x\\u0000y', {}, [], [1], Buffer.alloc(0), () => {}, Symbol('s'), 10n, handle];
    let calls = 0;
    const outcomes = new Set();
    for (const [name, fn] of Object.entries(native)) {
      if (typeof fn !== 'function' || name === 'panicForTest' || name === 'init') continue;
      for (const a of hostile) for (const b of hostile.slice(0, 9)) {
        calls++;
        try { fn(a, b, b, b, new Int32Array(4)); outcomes.add(name + ': returned'); } catch (err) { outcomes.add(name + ': ' + (err instanceof Error ? err.constructor.name : typeof err)); }
      }
      try { fn(handle, 'not an ip', 65536, -1, new Int32Array(0)); } catch { /* a JS error is fine */ }
    }
    native.close(handle);
    console.log(JSON.stringify({ calls, thrownKinds: [...outcomes].filter((o) => !o.endsWith('returned') && !/Error$/.test(o)) }));
  `);
  assert.strictEqual(r.signal, null, `aborted:\n${r.stderr}`);
  assert.strictEqual(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.ok(result.calls > 1000, `only ${result.calls} calls`);
  assert.deepStrictEqual(result.thrownKinds, [], 'every throw is an Error');
});
