'use strict';

// The Socket's bind: bind() (an address looked up, an fd adopted with bind({ fd }), or a cluster
// worker's share of the primary's handle, lib/cluster.js), Node 26's bindSync(), the permission
// model's check before bind(2) (lib/permission.js), the socket's start of receiving once bound, and
// the pre-bind queue that holds connect() / send() / sendMany() / close() calls until it listens.
// The bind state machine and where its errors go follow the builtin's lib/dgram.js.

// Module bindings, not the globals: `process` on globalThis is a getter, run on every use.
const process = require('node:process');
const EventEmitter = require('node:events');
const net = require('node:net');

const native = require('./native');
const {
  codes: { ERR_INVALID_ARG_VALUE, ERR_INVALID_FD_TYPE, ERR_SOCKET_ALREADY_BOUND },
  UV,
  errnoException,
  exceptionWithHostPort,
} = require('./errors');
const { validateObject, validatePort, validateString } = require('./validate');
const sendQueue = require('./send-queue');
const { setReceiveFamily } = require('./receive');
const extras = require('./extras');
const { bindDenied } = require('./permission');
const { primaryFlags, requestHandle, sharesHandle, tieToSocket } = require('./cluster');
const { guessFdType } = require('./fd-type');
const { bufferSize } = require('./socket-options');
const { kState, BindState, socketsById, healthCheck } = require('./internal');
// Newer builtins clean bind()'s callback up on errorMonitor, so a bind error with no 'error'
// listener is thrown; older ones listen on 'error', which swallows it. As the running one does.
const { bindCleanupEvent } = require('./builtin-bind');

const { kernel } = sendQueue; // native calls that change kernel state: queued sends go first
const { EINVAL } = UV;

function bindFlags(state) {
  let flags = extras.receiveInfoBindFlags(state);
  if (state.reuseAddr) flags |= native.FLAG_REUSEADDR;
  if (state.ipv6Only) flags |= native.FLAG_IPV6ONLY;
  if (state.reusePort) flags |= native.FLAG_REUSEPORT;
  return flags;
}

// The binding converts the port with ToNumber then to an unsigned 32-bit integer (a BigInt or a
// Symbol throws V8's own TypeError, as there), and libuv keeps its low 16 bits without complaint.
function toPort(port) {
  return (+port >>> 0) & 0xFFFF;
}

// Binds the fd to the resolved `ip` now (bind() after its lookup, bindSync()); returns the error
// for the caller to report (bind() emits it, bindSync() throws it), or null. `port` as the user
// gave it names the address in the error.
function bindNow(socket, ip, port) {
  const state = socket[kState];
  const flags = bindFlags(state);
  // The port is converted before the address is looked at, as in the binding.
  const nativePort = toPort(port || 0);
  // The builtin's handle checks the network permission before it binds (lib/permission.js).
  const denied = bindDenied(ip, port);
  if (denied !== null) {
    state.bindState = BindState.UNBOUND;
    return denied;
  }
  let err = 0;
  if (!state.resolver.fits(ip)) err = EINVAL;
  // libuv's uv__udp_bind refuses IPv6-only on an address that is not IPv6, before it makes an fd.
  else if ((flags & native.FLAG_IPV6ONLY) && !net.isIPv6(ip)) err = EINVAL;
  else {
    err = kernel.bind(state.handle, ip, nativePort, flags);
    if (err) state.bindFailed = true;
  }
  if (!err) return null;
  state.bindState = BindState.UNBOUND;
  return exceptionWithHostPort(err, 'bind', ip, port);
}

function startReceiving(socket) {
  const state = socket[kState];
  state.hasFd = true;
  state.receiving = true;
  state.bindState = BindState.BOUND;
  socketsById.set(state.id, socket);
  if (state.refed) native.ref(state.handle);
  else native.unref(state.handle);
  extras.startReceiveInfo(state);
  if (state.recvBufferSize) bufferSize(socket, state.recvBufferSize, true);
  if (state.sendBufferSize) bufferSize(socket, state.sendBufferSize, false);
}

function startListening(socket) {
  startReceiving(socket);
  socket.emit('listening');
}

function emitListeningNT(socket) {
  if (socket[kState].handle !== null) socket.emit('listening');
}

// The pre-bind queue: calls made while the socket binds run, in order, once it listens, and are
// forgotten if the bind fails.
function enqueue(socket, call) {
  const state = socket[kState];
  if (state.queue === undefined) {
    state.queue = [];
    socket.once(EventEmitter.errorMonitor, onListenError);
    socket.once('listening', onListenSuccess);
  }
  state.queue.push(call);
}

function onListenSuccess() {
  this.removeListener(EventEmitter.errorMonitor, onListenError);
  const state = this[kState];
  const queue = state.queue;
  state.queue = undefined;
  for (const call of queue) call();
}

function onListenError() {
  this.removeListener('listening', onListenSuccess);
  this[kState].queue = undefined;
}

// A cluster worker's bind: the primary's shared handle, or its error (`makeError(errno)`, emitted).
function bindShared(socket, options, makeError) {
  const state = socket[kState];
  requestHandle(socket, options, () => state.handle !== null, (errno) => {
    const ex = makeError(errno);
    state.bindState = BindState.UNBOUND;
    socket.emit('error', ex);
  }, (handle) => adoptShared(socket, handle));
}

// The socket reads and sends on a duplicate of the shared handle's fd; the handle is released
// when the socket closes.
function adoptShared(socket, handle) {
  const state = socket[kState];
  const err = kernel.open(state.handle, handle.fd, true);
  if (err) {
    // Not a path of the builtin's (its handle is the shared one): fd exhaustion, say.
    handle.close();
    state.bindState = BindState.UNBOUND;
    socket.emit('error', errnoException(err, 'open'));
    return;
  }
  state.releaseShared = tieToSocket(handle, (callback) => socket.close(callback));
  const local = native.localAddress(state.handle);
  if (typeof local === 'object') setReceiveFamily(state.receive, local.family);
  startListening(socket);
}

// The methods, in the order the builtin defines them.
function install(Socket) {
  Socket.prototype.bind = function (port_, address_ /* , callback */) {
    let port = port_;
    healthCheck(this);
    const state = this[kState];
    if (state.bindState !== BindState.UNBOUND) throw new ERR_SOCKET_ALREADY_BOUND();
    state.bindState = BindState.BINDING;

    const cb = arguments.length && arguments[arguments.length - 1];
    if (typeof cb === 'function') {
      function removeListeners() {
        this.removeListener(bindCleanupEvent, removeListeners);
        this.removeListener('listening', onListening);
      }
      function onListening() {
        removeListeners.call(this);
        cb.call(this);
      }
      this.on(bindCleanupEvent, removeListeners);
      this.on('listening', onListening);
    }

    if (port !== null && typeof port === 'object' && port.fd === (port.fd | 0) && port.fd > 0) {
      // In a cluster worker the primary opens the fd (lib/cluster.js), as for the builtin.
      if (sharesHandle(!!port.exclusive, false)) {
        bindShared(this, { address: null, port: null, addressType: this.type, fd: port.fd, flags: null },
          (err) => errnoException(err, 'open'));
        return this;
      }
      const type = guessFdType(port.fd);
      if (type !== 'UDP') throw new ERR_INVALID_FD_TYPE(type);
      const err = kernel.open(state.handle, port.fd);
      if (err) throw errnoException(err, 'open');
      // libuv marks an adopted fd that is already connected (uv_udp_open); the API still says
      // disconnected, but the handle refuses addressed sends with EISCONN until a disconnect().
      state.fdConnected = typeof native.remoteAddress(state.handle) === 'object';
      const local = native.localAddress(state.handle);
      if (typeof local === 'object') setReceiveFamily(state.receive, local.family);
      startListening(this);
      return this;
    }

    let address;
    let exclusive;
    if (port !== null && typeof port === 'object') {
      address = port.address || '';
      exclusive = !!port.exclusive;
      port = port.port;
    } else {
      address = typeof address_ === 'function' ? '' : address_;
      exclusive = false;
    }
    if (!address) address = this.type === 'udp4' ? '0.0.0.0' : '::';

    state.resolver.resolve(address, (err, ip) => {
      if (state.handle === null) return; // closed in the meantime
      if (err) {
        state.bindState = BindState.UNBOUND;
        this.emit('error', err);
        return;
      }
      if (sharesHandle(exclusive, state.reusePort)) {
        bindShared(this, {
          address: ip, port, addressType: this.type, fd: -1, flags: primaryFlags(state.reuseAddr, state.ipv6Only),
        }, (errno) => exceptionWithHostPort(errno, 'bind', ip, port));
        return;
      }
      const ex = bindNow(this, ip, port);
      if (ex) {
        this.emit('error', ex);
        return;
      }
      startListening(this);
    });
    return this;
  };

  // Node 26: binds now to an IP literal, returns address(), throws instead of emitting 'error', and
  // emits 'listening' on the next tick.
  Socket.prototype.bindSync = function (options = {}) {
    healthCheck(this);
    validateObject(options, 'options');
    const state = this[kState];
    if (state.bindState !== BindState.UNBOUND) throw new ERR_SOCKET_ALREADY_BOUND();
    const port = validatePort(options.port ?? 0, 'options.port');
    let { address } = options;
    if (!address) {
      address = this.type === 'udp4' ? '0.0.0.0' : '::';
    } else {
      numericAddress(address, 'options.address', 'bindSync');
    }
    state.bindState = BindState.BINDING;
    const ex = bindNow(this, address, port);
    if (ex) throw ex;
    startReceiving(this);
    process.nextTick(emitListeningNT, this);
    return this.address();
  };
}

// bindSync / connectSync take a numeric IP literal only (no lookup), refused as the builtin does.
function numericAddress(address, name, method) {
  validateString(address, name);
  if (net.isIP(address) === 0) {
    throw new ERR_INVALID_ARG_VALUE(name, address, `must be a numeric IP address; ${method} does not perform DNS resolution`);
  }
}

module.exports = { enqueue, install, numericAddress };
