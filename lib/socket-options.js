'use strict';

// The Socket's settings once it exists: the IP and multicast options (setBroadcast, setTTL,
// setMulticast*), multicast membership (add/dropMembership, the source-specific ones, and libuv's
// deferred bind they need), whether the socket holds the event loop (ref/unref), the kernel's
// buffer sizes (also applied by lib/socket-bind.js when the socket starts receiving) and the send
// queue's size. install() adds the methods in the builtin's order; lib/socket.js calls it.

const net = require('node:net');

const native = require('./native');
const {
  codes: { ERR_MISSING_ARGS, ERR_SOCKET_BAD_BUFFER_SIZE },
  UV,
  errnoException,
  socketBufferSizeError,
} = require('./errors');
const { validateNumber, validateString } = require('./validate');
const { zoneAsLibuv } = require('./lookup');
const sendQueue = require('./send-queue');
const { kState, BindState, healthCheck, openHandle } = require('./internal');

const { kernel } = sendQueue; // native calls that change kernel state: queued sends go first
const { EINVAL } = UV;

// SO_RCVBUF (`receive`) or SO_SNDBUF, read or set; returns the size.
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

// ref() / unref(): a bound socket holds the loop while ref'd; the state is remembered for a
// socket not bound yet.
function setRefed(socket, refed) {
  const state = socket[kState];
  if (state.handle !== null) {
    state.refed = refed;
    if (state.bindState !== BindState.BOUND) return socket;
    if (refed) native.ref(state.handle);
    else native.unref(state.handle);
  }
  return socket;
}

// The methods, in the order the builtin defines them.
function install(Socket) {
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

  // -------------------------------------------------------------------------------------------
  // Event loop reference, buffer sizes, queue sizes

  Socket.prototype.ref = function () {
    return setRefed(this, true);
  };

  Socket.prototype.unref = function () {
    return setRefed(this, false);
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
}

module.exports = { bufferSize, install };
