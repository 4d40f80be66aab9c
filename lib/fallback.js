'use strict';

// When the addon cannot be loaded (not built for this platform, no Rust to build it, a load
// error, or Node's permission model without --allow-addons), an app that uses turbo-dgram keeps
// running on the builtin node:dgram: `require('turbo-dgram')` gives the builtin's createSocket and
// Socket, the drop-in hook leaves `dgram` alone, and one warning per thread says why and what to
// do. `implementation` tells code which one it got.

const WARNING_CODE = 'TURBO_DGRAM_FALLBACK';

let warned = false;

/**
 * Emits the one warning of this thread (the package entry and the hook may both notice).
 * @param {Error} error from lib/native-load.js, its message says what is missing and what to run
 */
function warnFallback(error) {
  if (warned) return;
  warned = true;
  process.emitWarning(`${error.message}\nturbo-dgram: using the builtin node:dgram instead.`,
    { code: WARNING_CODE, detail: `(${error.code})` });
}

/**
 * The package's exports with the builtin underneath: the same names as turbo-dgram's own
 * (lib/index.js), with no receive drivers.
 * @param {Error} error why the addon did not load
 */
function builtinExports(error) {
  warnFallback(error);
  const builtin = require('node:dgram');
  return {
    createSocket: builtin.createSocket,
    Socket: builtin.Socket,
    drivers: Object.freeze([]),
    implementation: 'node:dgram',
  };
}

module.exports = { WARNING_CODE, builtinExports, warnFallback };
