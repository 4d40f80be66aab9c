'use strict';

// turbo-dgram's extras beyond node:dgram: new names and opt-in options only, so that code written
// for the builtin sees no difference. lib/socket.js calls in for createSocket()'s options
// (parseOptions, createExtrasState) and once at load to add the Socket methods (install);
// lib/socket-bind.js when a socket binds (receiveInfoBindFlags) and starts receiving
// (startReceiveInfo).
//
//   createSocket({ type, recvPktInfo, recvTimestamp })  rinfo gains localAddress and
//                               interfaceIndex / timestamp (lib/receive-extras.js)
//   socket.on('messages', (list) => ...)                one event per native batch (ditto)
//   socket.getStats()                                   counters since bind (lib/stats.js)
//   socket.sendMany(messages[, port[, address]][, cb])  a list in one flush (lib/send-many.js)

const native = require('./native');
const { codes: { ERR_INVALID_ARG_TYPE } } = require('./errors');
const { socketStats } = require('./stats');
const { makeSendMany } = require('./send-many');

// createSocket()'s extra options, checked before the socket is made; returns native
// RECV_INFO_* flags.
function parseOptions(options) {
  let receiveInfo = 0;
  for (const [name, flag] of [['recvPktInfo', native.RECV_INFO_PKTINFO], ['recvTimestamp', native.RECV_INFO_TIMESTAMP]]) {
    const value = options?.[name];
    if (value === undefined) continue;
    if (typeof value !== 'boolean') throw new ERR_INVALID_ARG_TYPE(`options.${name}`, 'boolean', value);
    if (value) receiveInfo |= flag;
  }
  return { receiveInfo };
}

// handle: kept for getStats() after close (the socket's own state drops it).
function createExtrasState(handle, parsed) {
  return { handle, receiveInfo: parsed.receiveInfo };
}

// Native bind flags for the receive info asked for: set at bind, before the first datagram.
function receiveInfoBindFlags(state) {
  const { receiveInfo } = state.extras;
  let flags = 0;
  if (receiveInfo & native.RECV_INFO_PKTINFO) flags |= native.FLAG_RECV_PKTINFO;
  if (receiveInfo & native.RECV_INFO_TIMESTAMP) flags |= native.FLAG_RECV_TIMESTAMP;
  return flags;
}

// The socket has an fd and receives: make sure the kernel's receive info is on (bind() set it
// already; an adopted fd gets it here, and the reactor may have read a few datagrams without it,
// which lib/receive-extras.js gives null fields).
function startReceiveInfo(state) {
  const { receiveInfo } = state.extras;
  if (receiveInfo === 0) return;
  const err = native.setReceiveInfo(state.handle, receiveInfo);
  if (err) {
    process.emitWarning(`turbo-dgram: receive info (recvPktInfo / recvTimestamp) is unavailable: errno ${-err}`);
  }
}

// internals: { kState, BindState, ConnectState, enqueue, healthCheck, destinationError } from lib/socket.js.
function install(Socket, internals) {
  const { kState } = internals;
  Socket.prototype.getStats = function getStats() {
    return socketStats(this[kState].extras.handle);
  };
  Socket.prototype.sendMany = makeSendMany(internals);
}

module.exports = { createExtrasState, install, parseOptions, receiveInfoBindFlags, startReceiveInfo };
