'use strict';

// The C floor: lib/bench/floor-echo.c, compiled with the machine's C compiler when the bench
// starts (no binary is shipped or committed), into a temporary directory removed at exit. Without
// a compiler the reference column is left out with a note, never a failure.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const SOURCE = path.join(__dirname, 'floor-echo.c');

/** { path } of the compiled C echo server, or { skipped: why }. */
function buildFloor() {
  const compiler = process.env.CC || 'cc';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-dgram-floor-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'floor-echo');
  try {
    execFileSync(compiler, ['-O2', '-o', out, SOURCE], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60000 });
    return { path: out, compiler };
  } catch (err) {
    const why = err.code === 'ENOENT' ? `no C compiler (${compiler}) on this machine` :
      `${compiler} failed: ${String(err.stderr || err.message).trim().split('\n').slice(-3).join(' ')}`;
    return { skipped: why };
  }
}

module.exports = { buildFloor };
