'use strict';

// The Socket's connect: connect() (binding first if need be, waiting in the pre-bind queue, then
// the peer looked up), Node 26's connectSync(), and disconnect(). The connect state machine and
// where its errors go follow the builtin's lib/dgram.js.

// Module bindings, not the globals: `process` on globalThis is a getter, run on every use.
const process = require('node:process');

const {
  codes: {
    ERR_IP_BLOCKED,
    ERR_SOCKET_ALREADY_BOUND,
    ERR_SOCKET_DGRAM_IS_CONNECTED,
    ERR_SOCKET_DGRAM_NOT_CONNECTED,
  },
  UV,
  errnoException,
  exceptionWithHostPort,
  nullHandleError,
} = require('./errors');
const { validatePort, validateString } = require('./validate');
const { kernel } = require('./send-queue'); // native calls that change kernel state: queued sends go first
const { enqueue, numericAddress } = require('./socket-bind');
const { isSendBlocked } = require('./socket-send');
const { kState, BindState, ConnectState, healthCheck, openHandle } = require('./internal');

const { EINVAL } = UV;

function emitConnectNT(socket) {
  if (socket[kState].handle !== null) socket.emit('connect');
}

function startConnect(socket, port, address, callback) {
  const state = socket[kState];
  if (callback) socket.once('connect', callback);
  if (state.handle === null) throw nullHandleError('lookup');
  state.resolver.resolve(address, finishConnect, socket, address, port, callback);
}

function finishConnect(ex, ip, socket, address, port, callback) {
  const state = socket[kState];
  if (state.handle === null) return;
  if (!ex) ex = connectNow(socket, ip, address, port);
  if (ex) {
    state.connectState = ConnectState.DISCONNECTED;
    process.nextTick(() => {
      if (callback) {
        socket.removeListener('connect', callback);
        callback(ex);
      } else {
        socket.emit('error', ex);
      }
    });
    return;
  }
  process.nextTick(() => socket.emit('connect'));
}

// Connects the fd to the resolved `ip` now (connect() after its lookup, connectSync()); returns
// the error for the caller to report, or null with the socket CONNECTED. `address` names the peer
// in the error as the user gave it.
function connectNow(socket, ip, address, port) {
  const state = socket[kState];
  if (isSendBlocked(state, ip)) {
    state.connectState = ConnectState.DISCONNECTED;
    return new ERR_IP_BLOCKED(ip);
  }
  const err = state.resolver.fits(ip) ? kernel.connect(state.handle, ip, port) : EINVAL;
  if (err) {
    state.connectState = ConnectState.DISCONNECTED;
    return exceptionWithHostPort(err, 'connect', address, port);
  }
  state.connectState = ConnectState.CONNECTED;
  return null;
}

// The methods, in the order the builtin defines them.
function install(Socket) {
  Socket.prototype.connect = function (port, address, callback) {
    port = validatePort(port, 'Port', false);
    if (typeof address === 'function') {
      callback = address;
      address = '';
    } else if (address === undefined) {
      address = '';
    }
    validateString(address, 'address');

    const state = this[kState];
    if (state.connectState !== ConnectState.DISCONNECTED) throw new ERR_SOCKET_DGRAM_IS_CONNECTED();
    state.connectState = ConnectState.CONNECTING;
    if (state.bindState === BindState.UNBOUND) this.bind({ port: 0, exclusive: true }, null);
    if (state.bindState !== BindState.BOUND) {
      enqueue(this, () => startConnect(this, port, address, callback));
      return;
    }
    startConnect(this, port, address, callback);
  };

  // Node 26: connects now to an IP literal (binding first if needed); throws on failure and emits
  // 'connect' on the next tick.
  Socket.prototype.connectSync = function (port, address) {
    healthCheck(this);
    port = validatePort(port, 'Port', false);
    const state = this[kState];
    if (state.connectState !== ConnectState.DISCONNECTED) throw new ERR_SOCKET_DGRAM_IS_CONNECTED();
    if (address == null || address === '') {
      address = this.type === 'udp4' ? '127.0.0.1' : '::1';
    } else {
      numericAddress(address, 'address', 'connectSync');
    }
    if (state.bindState === BindState.UNBOUND) this.bindSync();
    else if (state.bindState !== BindState.BOUND) throw new ERR_SOCKET_ALREADY_BOUND();

    state.connectState = ConnectState.CONNECTING;
    const ex = connectNow(this, address, address, port);
    if (ex) throw ex;
    process.nextTick(emitConnectNT, this);
  };

  Socket.prototype.disconnect = function () {
    const state = this[kState];
    if (state.connectState !== ConnectState.CONNECTED) throw new ERR_SOCKET_DGRAM_NOT_CONNECTED();
    const handle = openHandle(this, 'disconnect');
    const err = kernel.disconnect(handle);
    if (err) throw errnoException(err, 'connect');
    state.connectState = ConnectState.DISCONNECTED;
    state.fdConnected = false;
  };
}

module.exports = { install };
