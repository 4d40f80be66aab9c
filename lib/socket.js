'use strict';

// The Socket: node:dgram's API over the native reactor. This module owns what a socket is: its
// construction (options, receive driver, block lists, abort signal) and state (behind kState,
// lib/internal.js), the dispatch of the native side's events to it, close(), address() and
// remoteAddress(), and the prototype's wiring: the methods come from the modules of their job,
// added in the order the builtin defines them (lib/socket-bind.js, lib/socket-connect.js,
// lib/socket-send.js, lib/socket-options.js, lib/socket-deprecated.js, lib/extras.js). Argument
// handling, the state machines, lookups, and where every event and error goes follow the builtin
// (Node 26's lib/dgram.js is the reference); the native side only binds, sends and receives.

// Module bindings, not the globals: `process` on globalThis is a getter, run on every use.
const process = require('node:process');
const EventEmitter = require('node:events');
const dc = require('node:diagnostics_channel');
const net = require('node:net');
const util = require('node:util');

const native = require('./native');
const debug = require('./debug');
const {
  codes: {
    ERR_INVALID_ARG_TYPE,
    ERR_INVALID_ARG_VALUE,
    ERR_SOCKET_BAD_TYPE,
    ERR_SOCKET_DGRAM_NOT_CONNECTED,
  },
  errnoException,
} = require('./errors');
const { validateAbortSignal, validateFunction, validateUint32 } = require('./validate');
const { Resolver } = require('./lookup');
const sendQueue = require('./send-queue');

const { kernel } = sendQueue; // native calls that change kernel state: queued sends go first
const {
  createReceiveState, onReceiveBatch, onReceiveOne, receiveStep, setReceivePool,
} = require('./receive');
const extras = require('./extras');
const { createSocketResource } = require('./async-context');
const { kState, BindState, ConnectState, socketsById, healthCheck } = require('./internal');
const bindMethods = require('./socket-bind');
const connectMethods = require('./socket-connect');
const sendMethods = require('./socket-send');
const optionMethods = require('./socket-options');
const deprecatedMembers = require('./socket-deprecated');

// The receive drivers (README, "Receive drivers"); the first is the default.
const DRIVERS = { handover: native.DRIVER_HANDOVER, thread: native.DRIVER_THREAD, inline: native.DRIVER_INLINE };
const DEFAULT_DRIVER = 'handover';
const DRIVER_LIST = Object.keys(DRIVERS).map((name) => `'${name}'`).join(', ');

const udpSocketChannel = dc.channel('udp.socket');

// ---------------------------------------------------------------------------------------------
// Dispatch: the native side reports every socket of this thread through one function.

// Every native event of every socket of this thread goes through one function, which answers
// through `reply`, memory the native side reads and writes directly (src/bindings/dispatch.rs,
// `Dispatcher`): a returned value cost it two Node-API calls per datagram. Its ArrayBuffer of its
// own stays outside V8's heap, where the native side keeps its address.
const REPLY_MORE = 0; // JS: 1 when more of the socket's receive backlog waits
const REPLY_EVENTS = 1; // JS: receive events this call emitted
const REPLY_ALLOWED = 2; // native: receive events this call may emit
const reply = new Uint32Array(new ArrayBuffer(3 * Uint32Array.BYTES_PER_ELEMENT));

// The nextTicks and microtasks an event queued run before the next event, as after each of the
// builtin's recv callbacks, where Node runs them as the callback's scope closes. Run from here by
// Node's own runner (process._tickCallback: the ticks, then a microtask checkpoint, which also
// clears the objects WeakRef.deref() kept alive), they spare the native side a callback scope per
// datagram (two allocations, an async-context push and pop, a TryCatch): a flooded receiver's
// CPU per datagram went 0.75x, one at 10k/s 0.91x. Where that function is not Node's own
// (wrapped by --pending-deprecation, which would warn on its first call; replaced by other code),
// the native side closes a callback scope after each call instead. After a throw, from a listener
// or a tick, the rest of the queue waits for the next callback (the next datagram's), as the
// builtin skips the ticks of a callback that threw.
const runTicks = process._tickCallback?.name === 'runNextTicks' ? process._tickCallback : null;

// One event per call; the native side runs its ticks.
function dispatch(id, kind, a, b, c, d, e) {
  reply[REPLY_EVENTS] = 1;
  reply[REPLY_MORE] = dispatchEvent(id, kind, a, b, c, d, e) ? 1 : 0;
}

// An event, its ticks, and then the socket's next receive events while its backlog lasts, each
// followed by its ticks, up to the number allowed (the loop iteration's budget): one call into JS
// for a batch, where each event cost a call of its own. The count is written as each event
// starts, so that after a throw the native side still knows how far delivery got.
function dispatchAndRunTicks(id, kind, a, b, c, d, e) {
  let events = 1;
  reply[REPLY_EVENTS] = events;
  let more = dispatchEvent(id, kind, a, b, c, d, e);
  runTicks();
  while (more && events < reply[REPLY_ALLOWED]) {
    reply[REPLY_EVENTS] = ++events;
    more = dispatchEvent(id, native.KIND_RECV_STEP);
    runTicks();
  }
  reply[REPLY_MORE] = more ? 1 : 0;
}

function dispatchEvent(id, kind, a, b, c, d, e) {
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

native.init(runTicks === null ? dispatch : dispatchAndRunTicks, reply, runTicks !== null);

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
  if (fromEnv === undefined || fromEnv === '') {
    debug('driver: \'%s\' for sockets without options.driver (the default; TURBO_DGRAM_DRIVER unset)', DEFAULT_DRIVER);
    return DEFAULT_DRIVER;
  }
  if (Object.hasOwn(DRIVERS, fromEnv)) {
    debug('driver: \'%s\' for sockets without options.driver (TURBO_DGRAM_DRIVER)', fromEnv);
    return fromEnv;
  }
  process.emitWarning(`TURBO_DGRAM_DRIVER=${fromEnv} is not one of ${DRIVER_LIST}; using '${DEFAULT_DRIVER}'`);
  return DEFAULT_DRIVER;
}

/** NODE_DEBUG=turbo-dgram: the driver a new socket asked for and the one it got (inline may fall back). */
function debugDriver(handle, type, asked) {
  const got = native.driverOf(handle);
  const name = (driver) => Object.keys(DRIVERS).find((key) => DRIVERS[key] === driver);
  debug('socket %d: %s, driver \'%s\'%s', native.socketId(handle), type, name(asked),
    got === asked ? '' : ` cannot run here: got '${name(got)}'`);
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
  if (debug.enabled) debugDriver(handle, type, driver);
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
// The prototype, in the builtin's order: bind, bindSync; connect, connectSync, disconnect;
// sendto, send; close, [Symbol.asyncDispose]; address, remoteAddress; the options, memberships,
// ref/unref and sizes; the deprecated members; then the extras.

bindMethods.install(Socket);
connectMethods.install(Socket);
sendMethods.install(Socket);

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
// The rest of the prototype

optionMethods.install(Socket);
deprecatedMembers.install(Socket);

// The extras (lib/extras.js): getStats(), sendMany().
extras.install(Socket, { kState, BindState, ConnectState, enqueue: bindMethods.enqueue, healthCheck,
  destinationError: sendMethods.destinationError });

module.exports = { Socket, createSocket, drivers: Object.keys(DRIVERS) };
