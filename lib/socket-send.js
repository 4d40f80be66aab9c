'use strict';

// The Socket's send: sendto() and send()'s argument forms (connected or not, one buffer, a slice
// or a list), binding first if need be and waiting in the pre-bind queue, the destination looked up
// and checked (the send block list, then what libuv refuses before any syscall), and the datagram
// handed to the send queue (lib/send-queue.js), as the builtin's lib/dgram.js does.

// Module bindings, not the globals: `process` and `Buffer` on globalThis are getters, run on every
// use in the hot paths below.
const process = require('node:process');
const { Buffer } = require('node:buffer');
const net = require('node:net');
const { isArrayBufferView } = require('node:util/types');

const {
  codes: {
    ERR_BUFFER_OUT_OF_BOUNDS,
    ERR_INVALID_ARG_TYPE,
    ERR_IP_BLOCKED,
    ERR_SOCKET_DGRAM_IS_CONNECTED,
  },
  UV,
  exceptionWithHostPort,
} = require('./errors');
const { validateNumber, validatePort, validateString } = require('./validate');
const { BUFFER_TYPES, joinChunks, toBuffer, toBufferList } = require('./buffers');
const sendQueue = require('./send-queue');
const { enqueue } = require('./socket-bind');
const { kState, BindState, ConnectState, healthCheck } = require('./internal');

const { EINVAL, EISCONN } = UV;

function sliceBuffer(buffer, offset, length) {
  if (typeof buffer === 'string') {
    buffer = Buffer.from(buffer);
  } else if (!isArrayBufferView(buffer)) {
    throw new ERR_INVALID_ARG_TYPE('buffer', BUFFER_TYPES, buffer);
  }
  offset = offset >>> 0;
  length = length >>> 0;
  if (offset > buffer.byteLength) throw new ERR_BUFFER_OUT_OF_BOUNDS('offset');
  if (offset + length > buffer.byteLength) throw new ERR_BUFFER_OUT_OF_BOUNDS('length');
  return Buffer.from(buffer.buffer, buffer.byteOffset + offset, length);
}

function finishSend(ex, ip, socket, list, address, port, callback) {
  const state = socket[kState];
  if (ex) {
    if (callback) process.nextTick(callback, ex);
    else process.nextTick(() => socket.emit('error', ex));
    return;
  }
  if (state.handle === null) return;
  const refused = ip === null ? null : destinationError(socket, ip, address, port);
  if (refused !== null) {
    // The builtin reports these to a callback only.
    if (callback) process.nextTick(callback, refused);
    return;
  }
  const datagram = joinChunks(list);
  sendQueue.enqueueDatagram(state.sendQueue, datagram, ip, ip === null ? null : port,
    sendQueue.createRequest(callback, address, port));
}

// Whether the socket's sendBlockList (Node >= 22.13) refuses `ip`; connect() asks it too
// (lib/socket-connect.js), as the builtin does.
function isSendBlocked(state, ip) {
  return state.sendBlockList !== undefined && state.sendBlockList.check(ip, `ipv${net.isIP(ip)}`);
}

// Why a datagram to the resolved `ip` cannot be sent, or null: the send block list
// (ERR_IP_BLOCKED), then what libuv refuses before any syscall: an address it cannot parse as the
// socket's family (EINVAL), an addressed send on a connected socket (EISCONN: it connected while
// the lookup ran, or adopted a connected fd). For send() and the sendMany() extra.
function destinationError(socket, ip, address, port) {
  const state = socket[kState];
  if (isSendBlocked(state, ip)) return new ERR_IP_BLOCKED(ip);
  let err = 0;
  if (!state.resolver.fits(ip)) err = EINVAL;
  else if (state.connectState === ConnectState.CONNECTED || state.fdConnected) err = EISCONN;
  return err === 0 ? null : exceptionWithHostPort(err, 'send', address, port);
}

// The methods, in the order the builtin defines them.
function install(Socket) {
  // Kept for compatibility with the legacy API, as in the builtin.
  Socket.prototype.sendto = function (buffer, offset, length, port, address, callback) {
    validateNumber(offset, 'offset');
    validateNumber(length, 'length');
    validateNumber(port, 'port');
    validateString(address, 'address');
    this.send(buffer, offset, length, port, address, callback);
  };

  // Argument forms, as in the builtin:
  //   unconnected: send(buf, offset, length, port[, address][, cb]) / send(bufOrList, port[, address][, cb])
  //   connected:   send(buf, offset, length[, cb]) / send(bufOrList[, cb])
  Socket.prototype.send = function (buffer, offset, length, port, address, callback) {
    const state = this[kState];
    const connected = state.connectState === ConnectState.CONNECTED;
    if (!connected) {
      if (address || (port && typeof port !== 'function')) {
        buffer = sliceBuffer(buffer, offset, length);
      } else {
        callback = port;
        port = offset;
        address = length;
      }
    } else {
      if (typeof length === 'number') {
        buffer = sliceBuffer(buffer, offset, length);
        if (typeof port === 'function') {
          callback = port;
          port = null;
        }
      } else {
        callback = offset;
      }
      if (port || address) throw new ERR_SOCKET_DGRAM_IS_CONNECTED();
    }

    let list;
    if (!Array.isArray(buffer)) {
      const single = toBuffer(buffer);
      if (single === null) throw new ERR_INVALID_ARG_TYPE('buffer', BUFFER_TYPES, buffer);
      list = [single];
    } else if (!(list = toBufferList(buffer))) {
      throw new ERR_INVALID_ARG_TYPE('buffer list arguments', BUFFER_TYPES, buffer);
    }

    if (!connected) port = validatePort(port, 'Port', false);
    if (typeof callback !== 'function') callback = undefined;
    if (typeof address === 'function') {
      callback = address;
      address = undefined;
    } else if (address != null) {
      validateString(address, 'address');
    }

    healthCheck(this);
    if (state.bindState === BindState.UNBOUND) this.bind({ port: 0, exclusive: true }, null);
    if (list.length === 0) list.push(Buffer.alloc(0));

    // Until the socket is bound the send waits, and runs again through the public method.
    if (state.bindState !== BindState.BOUND) {
      enqueue(this, () => this.send(list, port, address, callback));
      return;
    }

    if (!connected) {
      state.resolver.resolve(address, finishSend, this, list, address, port, callback);
    } else {
      finishSend(null, null, this, list, address, port, callback);
    }
  };
}

module.exports = { destinationError, install, isSendBlocked };
