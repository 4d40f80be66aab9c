'use strict';

// The Socket: node:dgram's API over the native reactor. Argument handling, the bind and connect
// state machines, lookups, and where every event and error goes follow the builtin (Node 26's
// lib/dgram.js is the reference); the native side only binds, sends and receives.

// Module bindings, not the globals: `process` and `Buffer` on globalThis are getters, run on every
// use in the hot paths below.
const process = require('node:process');
const { Buffer } = require('node:buffer');
const EventEmitter = require('node:events');
const dc = require('node:diagnostics_channel');
const net = require('node:net');
const util = require('node:util');
const { isArrayBufferView } = require('node:util/types');

const native = require('./native');
const {
  codes: {
    ERR_BUFFER_OUT_OF_BOUNDS,
    ERR_INVALID_ARG_TYPE,
    ERR_INVALID_ARG_VALUE,
    ERR_INVALID_FD_TYPE,
    ERR_IP_BLOCKED,
    ERR_MISSING_ARGS,
    ERR_SOCKET_ALREADY_BOUND,
    ERR_SOCKET_BAD_BUFFER_SIZE,
    ERR_SOCKET_BAD_TYPE,
    ERR_SOCKET_DGRAM_IS_CONNECTED,
    ERR_SOCKET_DGRAM_NOT_CONNECTED,
  },
  UV,
  errnoException,
  exceptionWithHostPort,
  nullHandleError,
  socketBufferSizeError,
} = require('./errors');
const {
  validateAbortSignal,
  validateFunction,
  validateNumber,
  validateObject,
  validatePort,
  validateString,
  validateUint32,
} = require('./validate');
const { Resolver, zoneAsLibuv } = require('./lookup');
const { BUFFER_TYPES, joinChunks, toBuffer, toBufferList } = require('./buffers');
const sendQueue = require('./send-queue');

const { kernel } = sendQueue; // native calls that change kernel state: queued sends go first
const {
  createReceiveState, onReceiveBatch, onReceiveOne, receiveStep, setReceiveFamily, setReceivePool,
} = require('./receive');
const extras = require('./extras');
const { createSocketResource } = require('./async-context');
const { bindDenied } = require('./permission');
const { primaryFlags, requestHandle, sharesHandle, tieToSocket } = require('./cluster');
const { guessFdType } = require('./fd-type');
const { kState, BindState, ConnectState, socketsById, healthCheck, openHandle } = require('./internal');

const { EINVAL, EISCONN } = UV;
// The receive drivers (README, "Receive drivers"); the first is the default.
const DRIVERS = { handover: native.DRIVER_HANDOVER, thread: native.DRIVER_THREAD, inline: native.DRIVER_INLINE };
const DEFAULT_DRIVER = 'handover';
const DRIVER_LIST = Object.keys(DRIVERS).map((name) => `'${name}'`).join(', ');

const udpSocketChannel = dc.channel('udp.socket');

// Node 26 cleans up bind()'s callback on errorMonitor, so a bind error with no 'error' listener
// is thrown; older Nodes listen on 'error', which swallows it. Each Node gets its own builtin's.
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const bindCleanupEvent = NODE_MAJOR >= 26 ? EventEmitter.errorMonitor : 'error';

// ---------------------------------------------------------------------------------------------
// Dispatch: the native side reports every socket of this thread through one function.

// Every native event of every socket of this thread. Receive events return whether more of the
// socket's receive backlog waits (lib/receive.js).
function dispatch(id, kind, a, b, c, d, e) {
  // A new receive pool is taken whichever socket it came with, delivered to or not.
  if (kind === native.KIND_RECV_ONE && a !== undefined) setReceivePool(a);
  const socket = socketsById.get(id);
  if (socket === undefined) return false;
  const state = socket[kState];
  // Receive events run in the socket's async context (lib/async-context.js), as the builtin's.
  const resource = state.asyncResource;
  if (kind === native.KIND_RECV_ONE) {
    return state.receiving ? resource.runInAsyncScope(onReceiveOne, null, socket, state, b, c, d, e) : false;
  } else if (kind === native.KIND_RECV) {
    return state.receiving ? resource.runInAsyncScope(onReceiveBatch, null, socket, state, a, b, c, d, e) : false;
  } else if (kind === native.KIND_RECV_STEP) {
    // After a listener threw, the native side asks again whether anything waits: with nothing,
    // no callback runs, and the socket's context is not entered (no async_hooks before/after).
    if (state.receive.backlog.length === 0) return false;
    return resource.runInAsyncScope(receiveStep, null, socket, state);
  } else if (kind === native.KIND_SEND_DONE) {
    sendQueue.onSendDone(state.sendQueue, a);
  }
  return false;
}

native.init(dispatch);

// ---------------------------------------------------------------------------------------------
// Construction

let defaultDriverName;

function driverFor(options) {
  const name = options?.driver;
  if (name === undefined) {
    defaultDriverName ??= defaultDriver();
    return DRIVERS[defaultDriverName];
  }
  if (!Object.hasOwn(DRIVERS, name)) {
    throw new ERR_INVALID_ARG_VALUE('options.driver', name, `must be one of ${DRIVER_LIST}`);
  }
  return DRIVERS[name];
}

function defaultDriver() {
  const fromEnv = process.env.TURBO_DGRAM_DRIVER;
  if (fromEnv === undefined || fromEnv === '') return DEFAULT_DRIVER;
  if (Object.hasOwn(DRIVERS, fromEnv)) return fromEnv;
  process.emitWarning(`TURBO_DGRAM_DRIVER=${fromEnv} is not one of ${DRIVER_LIST}; using '${DEFAULT_DRIVER}'`);
  return DEFAULT_DRIVER;
}

// events.addAbortListener arrived in Node 20.5; the fallback does the same for 20.0 - 20.4.
const addAbortListener = EventEmitter.addAbortListener ?? ((signal, listener) => {
  signal.addEventListener('abort', listener, { once: true });
  return { [Symbol.dispose]() { signal.removeEventListener('abort', listener); } };
});

function isBlockList(value) {
  return typeof net.BlockList.isBlockList === 'function' ?
    net.BlockList.isBlockList(value) : value instanceof net.BlockList;
}

// receiveBlockList / sendBlockList arrived in Node 22.13 / 23.4; an older builtin ignores them, and
// so do we there. Asked of the builtin itself: it checks the block list before the type, and throws
// before it makes a handle either way.
let blockListsKnown;
function builtinHasBlockLists() {
  if (blockListsKnown === undefined) {
    const builtin = process.getBuiltinModule?.('node:dgram') ?? require('node:dgram');
    try {
      builtin.createSocket({ type: 'probe', receiveBlockList: 1 });
    } catch (err) {
      blockListsKnown = err.code === 'ERR_INVALID_ARG_TYPE';
    }
  }
  return blockListsKnown;
}

// A function, not a class, like the builtin's: `Socket.call(this, ...)` subclassing keeps working.
function Socket(type, listener) {
  EventEmitter.call(this);
  let options;
  let lookup;
  let recvBufferSize;
  let sendBufferSize;
  let receiveBlockList;
  let sendBlockList;
  if (type !== null && typeof type === 'object') {
    options = type;
    type = options.type;
    lookup = options.lookup;
    if (options.recvBufferSize) validateUint32(options.recvBufferSize, 'options.recvBufferSize');
    if (options.sendBufferSize) validateUint32(options.sendBufferSize, 'options.sendBufferSize');
    recvBufferSize = options.recvBufferSize;
    sendBufferSize = options.sendBufferSize;
    if (options.receiveBlockList && builtinHasBlockLists()) {
      if (!isBlockList(options.receiveBlockList)) {
        throw new ERR_INVALID_ARG_TYPE('options.receiveBlockList', 'net.BlockList', options.receiveBlockList);
      }
      receiveBlockList = options.receiveBlockList;
    }
    if (options.sendBlockList && builtinHasBlockLists()) {
      if (!isBlockList(options.sendBlockList)) {
        throw new ERR_INVALID_ARG_TYPE('options.sendBlockList', 'net.BlockList', options.sendBlockList);
      }
      sendBlockList = options.sendBlockList;
    }
  }

  if (lookup !== undefined) validateFunction(lookup, 'lookup');
  if (type !== 'udp4' && type !== 'udp6') throw new ERR_SOCKET_BAD_TYPE();
  const driver = driverFor(options);
  if (options?.signal !== undefined) validateAbortSignal(options.signal, 'options.signal');
  const extrasOptions = extras.parseOptions(options);

  this.type = type;
  if (typeof listener === 'function') this.on('message', listener);

  const handle = native.create(type === 'udp4' ? 4 : 6, driver);
  const asyncResource = createSocketResource(); // made with the handle, as the builtin's UDPWRAP
  this[kState] = {
    handle, // null once closed
    asyncResource,
    id: native.socketId(handle),
    resolver: new Resolver(type, lookup),
    receiving: false,
    bindState: BindState.UNBOUND,
    connectState: ConnectState.DISCONNECTED,
    hasFd: false, // bound, or bound implicitly by a membership call (libuv's deferred bind)
    bindFailed: false, // bind(2) refused: the fd stays open, unbound, as libuv keeps it
    fdConnected: false, // bind({ fd }) adopted a connected fd (libuv's UV_HANDLE_UDP_CONNECTED)
    releaseShared: undefined, // a cluster worker's: releases the primary's shared handle
    queue: undefined, // calls waiting for the bind to finish
    refed: true,
    reuseAddr: options?.reuseAddr,
    reusePort: options?.reusePort,
    ipv6Only: options?.ipv6Only,
    recvBufferSize,
    sendBufferSize,
    receiveBlockList,
    sendBlockList,
    sendQueue: sendQueue.createSendQueue(handle, asyncResource),
    receive: createReceiveState(type === 'udp4' ? 'IPv4' : 'IPv6'),
    extras: extras.createExtrasState(handle, extrasOptions),
  };

  if (options?.signal !== undefined) {
    const { signal } = options;
    const onAborted = () => {
      if (this[kState].handle !== null) this.close();
    };
    if (signal.aborted) {
      onAborted();
    } else {
      const disposable = addAbortListener(signal, onAborted);
      this.once('close', disposable[Symbol.dispose]);
    }
  }

  if (udpSocketChannel.hasSubscribers) udpSocketChannel.publish({ socket: this });
}
Object.setPrototypeOf(Socket.prototype, EventEmitter.prototype);
Object.setPrototypeOf(Socket, EventEmitter);

function createSocket(type, listener) {
  return new Socket(type, listener);
}

// ---------------------------------------------------------------------------------------------
// Helpers

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

function emitConnectNT(socket) {
  if (socket[kState].handle !== null) socket.emit('connect');
}

function bufferSize(socket, size, receive) {
  if (size >>> 0 !== size) throw new ERR_SOCKET_BAD_BUFFER_SIZE();
  const handle = openHandle(socket, 'bufferSize');
  const option = receive ? native.OPT_RCVBUF : native.OPT_SNDBUF;
  // As uv_{recv,send}_buffer_size: 0 asks for the current size, anything else sets it. The binding
  // hands libuv the size as a C int, and libuv refuses the negative ones sizes over 2^31-1 become.
  let ret;
  if (size === 0) ret = native.getOption(handle, option);
  else ret = size > 0x7FFFFFFF ? EINVAL : kernel.setOption(handle, option, size);
  if (ret < 0) throw socketBufferSizeError(ret, receive ? 'uv_recv_buffer_size' : 'uv_send_buffer_size');
  return ret;
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

// ---------------------------------------------------------------------------------------------
// bind

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
    validateString(address, 'options.address');
    if (net.isIP(address) === 0) {
      throw new ERR_INVALID_ARG_VALUE('options.address', address,
        'must be a numeric IP address; bindSync does not perform DNS resolution');
    }
  }
  state.bindState = BindState.BINDING;
  const ex = bindNow(this, address, port);
  if (ex) throw ex;
  startReceiving(this);
  process.nextTick(emitListeningNT, this);
  return this.address();
};

// ---------------------------------------------------------------------------------------------
// connect / disconnect

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
    validateString(address, 'address');
    if (net.isIP(address) === 0) {
      throw new ERR_INVALID_ARG_VALUE('address', address,
        'must be a numeric IP address; connectSync does not perform DNS resolution');
    }
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

// ---------------------------------------------------------------------------------------------
// send

// Kept for compatibility with the legacy API, as in the builtin.
Socket.prototype.sendto = function (buffer, offset, length, port, address, callback) {
  validateNumber(offset, 'offset');
  validateNumber(length, 'length');
  validateNumber(port, 'port');
  validateString(address, 'address');
  this.send(buffer, offset, length, port, address, callback);
};

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

// Whether the socket's sendBlockList (Node >= 22.13) refuses `ip`.
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

// ---------------------------------------------------------------------------------------------
// close

Socket.prototype.close = function (callback) {
  const state = this[kState];
  if (typeof callback === 'function') this.on('close', callback);
  if (state.queue !== undefined) {
    state.queue.push(() => this.close());
    return this;
  }
  healthCheck(this);
  state.receiving = false;
  kernel.close(state.handle);
  state.handle = null;
  socketsById.delete(state.id);
  if (state.releaseShared !== undefined) state.releaseShared();
  sendQueue.cancelInflight(state.sendQueue);
  state.asyncResource.emitDestroy();
  process.nextTick(emitClose, this);
  return this;
};

function emitClose(socket) {
  socket.emit('close');
}

Socket.prototype[Symbol.asyncDispose] = async function () {
  if (this[kState].handle === null) return;
  await util.promisify(this.close).call(this);
};

// ---------------------------------------------------------------------------------------------
// Addresses

Socket.prototype.address = function () {
  healthCheck(this);
  const state = this[kState];
  const out = native.localAddress(state.handle);
  // After a failed bind(2) the fd stays open and unbound (as in libuv), so getsockname() reports
  // the wildcard address with port 0, as the builtin's does.
  if (typeof out === 'number') throw errnoException(out, 'getsockname');
  return out;
};

Socket.prototype.remoteAddress = function () {
  healthCheck(this);
  const state = this[kState];
  if (state.connectState !== ConnectState.CONNECTED) throw new ERR_SOCKET_DGRAM_NOT_CONNECTED();
  const out = native.remoteAddress(state.handle);
  if (typeof out === 'number') throw errnoException(out, 'getpeername');
  return out;
};

// ---------------------------------------------------------------------------------------------
// Socket options. Where libuv checks a value before touching the fd (TTL ranges, address syntax)
// we check it first too, so an unbound socket fails with the same EINVAL rather than EBADF.

function setFlag(socket, option, on, syscall) {
  const err = kernel.setOption(openHandle(socket, syscall), option, on ? 1 : 0);
  if (err) throw errnoException(err, syscall);
}

// The binding converts the TTL with ToInt32, then libuv checks its range.
function setTtlOption(socket, option, ttl, min, syscall) {
  validateNumber(ttl, 'ttl');
  const handle = openHandle(socket, syscall);
  const value = ttl | 0;
  const err = value < min || value > 255 ? EINVAL : kernel.setOption(handle, option, value);
  if (err) throw errnoException(err, syscall);
  return ttl;
}

Socket.prototype.setBroadcast = function (arg) {
  setFlag(this, native.OPT_BROADCAST, arg, 'setBroadcast');
};

Socket.prototype.setTTL = function (ttl) {
  return setTtlOption(this, native.OPT_TTL, ttl, 1, 'setTTL');
};

Socket.prototype.setMulticastTTL = function (ttl) {
  return setTtlOption(this, native.OPT_MULTICAST_TTL, ttl, 0, 'setMulticastTTL');
};

Socket.prototype.setMulticastLoopback = function (arg) {
  setFlag(this, native.OPT_MULTICAST_LOOP, arg, 'setMulticastLoopback');
  return arg; // what the builtin returns, for 0.4 compatibility
};

Socket.prototype.setMulticastInterface = function (interfaceAddress) {
  healthCheck(this);
  validateString(interfaceAddress, 'interfaceAddress');
  const state = this[kState];
  const family = net.isIP(interfaceAddress);
  // Like libuv, the native side sets the option of the address's family whatever the socket's:
  // the kernel answers ENOPROTOOPT for IPv6 on an IPv4 socket, EBADF comes first without an fd.
  const err = family === 0 ? EINVAL : kernel.setMulticastInterface(state.handle, zoneAsLibuv(interfaceAddress));
  if (err) throw errnoException(err, 'setMulticastInterface');
};

// libuv binds an unbound socket to the wildcard address before a membership change (its "deferred
// bind", with SO_REUSEADDR). The socket stays unbound for the API and does not keep the process
// alive; a later bind() fails with EINVAL, as it does with the builtin.
function ensureFd(socket) {
  const state = socket[kState];
  // An fd left by a failed bind(2) is used as it is, unbound, as libuv does.
  if (state.hasFd || state.bindFailed) return 0;
  const err = kernel.bind(state.handle, socket.type === 'udp4' ? '0.0.0.0' : '::', 0, native.FLAG_REUSEADDR);
  if (err) return err;
  native.unref(state.handle);
  state.hasFd = true;
  return 0;
}

// The binding turns the addresses into strings; only an absent interface (undefined or null) means
// "any": libuv parses any string it is given, '' included (EINVAL). Returns null for "any".
function interfaceArg(interfaceAddress) {
  return interfaceAddress === undefined || interfaceAddress === null ? null : zoneAsLibuv(String(interfaceAddress));
}

// The membership calls' shared checks: libuv parses the interface before it asks the kernel, so a
// bad one (not of the group's family) is EINVAL first.
function interfaceError(iface, family) {
  return iface !== null && net.isIP(iface) !== family ? EINVAL : 0;
}

function changeMembership(socket, add, multicastAddress, interfaceAddress) {
  healthCheck(socket);
  if (!multicastAddress) throw new ERR_MISSING_ARGS('multicastAddress');
  const syscall = add ? 'addMembership' : 'dropMembership';
  const group = String(multicastAddress);
  const iface = interfaceArg(interfaceAddress);
  const family = net.isIP(group);
  let err = family === 0 ? EINVAL : ensureFd(socket);
  // The group's family picks the option whatever the socket's (the kernel refuses IPv6 on IPv4:
  // ENOPROTOOPT).
  if (!err) err = interfaceError(iface, family);
  if (!err) err = kernel.membership(socket[kState].handle, add, group, iface);
  if (err) throw errnoException(err, syscall);
}

function changeSourceMembership(socket, add, sourceAddress, groupAddress, interfaceAddress) {
  healthCheck(socket);
  validateString(sourceAddress, 'sourceAddress');
  validateString(groupAddress, 'groupAddress');
  const syscall = add ? 'addSourceSpecificMembership' : 'dropSourceSpecificMembership';
  const iface = interfaceArg(interfaceAddress);
  const family = net.isIP(groupAddress);
  let err = family === 0 || net.isIP(sourceAddress) !== family ? EINVAL : ensureFd(socket);
  if (!err) err = interfaceError(iface, family);
  if (!err) err = kernel.sourceMembership(socket[kState].handle, add, sourceAddress, groupAddress, iface);
  if (err) throw errnoException(err, syscall);
}

Socket.prototype.addMembership = function (multicastAddress, interfaceAddress) {
  changeMembership(this, true, multicastAddress, interfaceAddress);
};

Socket.prototype.dropMembership = function (multicastAddress, interfaceAddress) {
  changeMembership(this, false, multicastAddress, interfaceAddress);
};

Socket.prototype.addSourceSpecificMembership = function (
  sourceAddress, groupAddress, interfaceAddress) {
  changeSourceMembership(this, true, sourceAddress, groupAddress, interfaceAddress);
};

Socket.prototype.dropSourceSpecificMembership = function (
  sourceAddress, groupAddress, interfaceAddress) {
  changeSourceMembership(this, false, sourceAddress, groupAddress, interfaceAddress);
};

// ---------------------------------------------------------------------------------------------
// Event loop reference, buffer sizes, queue sizes

// A bound socket holds the loop while ref'd; the state is remembered for a socket not bound yet.
Socket.prototype.ref = function () {
  const state = this[kState];
  if (state.handle !== null) {
    state.refed = true;
    if (state.bindState === BindState.BOUND) native.ref(state.handle);
  }
  return this;
};

Socket.prototype.unref = function () {
  const state = this[kState];
  if (state.handle !== null) {
    state.refed = false;
    if (state.bindState === BindState.BOUND) native.unref(state.handle);
  }
  return this;
};

Socket.prototype.setRecvBufferSize = function (size) {
  bufferSize(this, size, true);
};

Socket.prototype.setSendBufferSize = function (size) {
  bufferSize(this, size, false);
};

Socket.prototype.getRecvBufferSize = function () {
  return bufferSize(this, 0, true);
};

Socket.prototype.getSendBufferSize = function () {
  return bufferSize(this, 0, false);
};

Socket.prototype.getSendQueueSize = function () {
  openHandle(this, 'getSendQueueSize');
  return sendQueue.queuedBytes(this[kState].sendQueue);
};

Socket.prototype.getSendQueueCount = function () {
  openHandle(this, 'getSendQueueCount');
  return sendQueue.queuedCount(this[kState].sendQueue);
};

// ---------------------------------------------------------------------------------------------
// DEP0112: the private members older Nodes still expose (with a deprecation warning); Node 26
// removed them. Each Node gets what its builtin has.

// Read from the builtin itself (getBuiltinModule is never redirected by the register hook).
const builtinPrototype = (process.getBuiltinModule?.('node:dgram') ?? require('node:dgram')).Socket.prototype;

function deprecatedAccessor(name, key) {
  if (!Object.hasOwn(builtinPrototype, name)) return;
  const message = `Socket.prototype.${name} is deprecated`;
  Object.defineProperty(Socket.prototype, name, {
    get: util.deprecate(function () { return this[kState][key]; }, message, 'DEP0112'),
    set: util.deprecate(function (value) { this[kState][key] = value; }, message, 'DEP0112'),
  });
}

deprecatedAccessor('_handle', 'handle');
deprecatedAccessor('_receiving', 'receiving');
deprecatedAccessor('_bindState', 'bindState');
deprecatedAccessor('_queue', 'queue');
deprecatedAccessor('_reuseAddr', 'reuseAddr');

if (Object.hasOwn(builtinPrototype, '_healthCheck')) {
  Socket.prototype._healthCheck = util.deprecate(function () {
    healthCheck(this);
  }, 'Socket.prototype._healthCheck() is deprecated', 'DEP0112');
}

if (Object.hasOwn(builtinPrototype, '_stopReceiving')) {
  Socket.prototype._stopReceiving = util.deprecate(function () {
    this[kState].receiving = false;
  }, 'Socket.prototype._stopReceiving() is deprecated', 'DEP0112');
}

// The extras (lib/extras.js): getStats(), sendMany().
extras.install(Socket, { kState, BindState, ConnectState, enqueue, healthCheck, destinationError });

module.exports = { Socket, createSocket, drivers: Object.keys(DRIVERS) };
