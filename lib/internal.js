'use strict';

// What the Socket's modules (lib/socket.js and the lib/socket-*.js it wires in) share, as Node
// keeps its own in lib/internal/dgram.js: the symbol a socket's state sits behind, the bind and
// connect state enums, the sockets the reactor reports on, and the two checks of a socket's handle.

const {
  codes: { ERR_SOCKET_DGRAM_NOT_RUNNING },
  nullHandleError,
} = require('./errors');

const kState = Symbol('state symbol');

const BindState = { UNBOUND: 0, BINDING: 1, BOUND: 2 };
const ConnectState = { DISCONNECTED: 0, CONNECTING: 1, CONNECTED: 2 };

// Sockets with an fd the reactor reports on, by native id: a socket is added when it starts
// receiving (lib/socket-bind.js) and removed when it closes; the dispatch (lib/socket.js) looks
// its events' socket up here.
const socketsById = new Map();

function healthCheck(socket) {
  if (socket[kState].handle === null) throw new ERR_SOCKET_DGRAM_NOT_RUNNING();
}

// The handle of a method the builtin does not health-check: on a closed socket it fails reading a
// property of the null handle, and so do we.
function openHandle(socket, property) {
  const { handle } = socket[kState];
  if (handle === null) throw nullHandleError(property);
  return handle;
}

module.exports = { kState, BindState, ConnectState, socketsById, healthCheck, openHandle };
