'use strict';

// What the running Node's builtin bind() does where Nodes differ, asked of the builtin itself once,
// never read off its version: Node backports such changes within a major line (24.x has had both
// of these since a later 24 release, 22.x not yet), so a version number would guess wrong.
//
// One probe answers both: a builtin socket's bind(0, Symbol(), callback). bind() hangs the
// callback's cleanup listeners on the socket first, then looks the address up, which throws
// synchronously for a Symbol; the socket never gets an fd, no lookup runs, nothing is sent.
//   - answersLiterals: whether the default lookup answers an IP literal itself (and reads
//     dns.lookup at each call for anything else; lib/lookup.js). An older lookup hands the Symbol
//     to dns.lookup, which rejects a non-string with ERR_INVALID_ARG_TYPE; the newer one first
//     tests it for an IP literal, where converting a Symbol to a string throws V8's own TypeError.
//   - bindCleanupEvent: where the callback's cleanup listens, 'error' or events.errorMonitor. On
//     'error' it counts as an error listener, so a failed bind with a callback and no listener of
//     the user's is swallowed; on errorMonitor the error is thrown (lib/socket-bind.js).
// Asked when turbo-dgram loads, not at the first socket: the probe's builtin handle is an async
// resource (UDPWRAP), which an app's async_hooks would then see among its own sockets' resources.

const process = require('node:process');
const EventEmitter = require('node:events');

function probe() {
  const builtin = process.getBuiltinModule?.('node:dgram') ?? require('node:dgram');
  const socket = builtin.createSocket('udp4');
  socket.on('error', () => {}); // a Node that refused the bind later (a permission) must not crash
  const monitorsBefore = socket.listenerCount(EventEmitter.errorMonitor);
  let answersLiterals = false;
  try {
    socket.bind(0, Symbol('probe'), () => {});
  } catch (err) {
    answersLiterals = err?.code !== 'ERR_INVALID_ARG_TYPE';
  }
  const onMonitor = socket.listenerCount(EventEmitter.errorMonitor) > monitorsBefore;
  socket.close();
  return { answersLiterals, bindCleanupEvent: onMonitor ? EventEmitter.errorMonitor : 'error' };
}

module.exports = probe(); // { answersLiterals, bindCleanupEvent }
