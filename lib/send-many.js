'use strict';

// socket.sendMany(messages[, port[, address]][, callback]) (an extra): a list of datagrams, each
// with its own destination or the call's, sent through the socket's send queue. They join the
// same per-tick flush as send() (one native call, sendmmsg, GSO for runs of one size to one
// destination), in call order with the send() calls around them.
//
// Entries: a Buffer, TypedArray, DataView or string (one datagram to the call's port/address), or
// { msg, port, address } where msg is one of those or an array of them (concatenated, as send()
// takes a list) and port / address, if present, replace the call's. Arguments are checked as
// send() checks them, before anything is sent. Each distinct address is resolved once, with the
// socket's lookup (as send() does); the datagrams are queued together once all are resolved.
//
// callback(err, sentCount): sentCount datagrams reached the kernel; err is the first failure by
// position, with err.index its entry's index (a lookup error, ERR_IP_BLOCKED, or the send error
// of that datagram). The others are sent regardless. Without a callback, a lookup error is
// emitted as 'error' (as send() does) and other failures only count in getStats().sendErrors.

// A module binding, not the global: `process` on globalThis is a getter, run on every use.
const process = require('node:process');
const { isArrayBufferView } = require('node:util/types');

const { BUFFER_TYPES, joinChunks, toBuffer, toBufferList } = require('./buffers');
const sendQueue = require('./send-queue');
const {
  codes: { ERR_INVALID_ARG_TYPE, ERR_SOCKET_DGRAM_IS_CONNECTED },
  exceptionWithHostPort,
} = require('./errors');
const { validateFunction, validatePort, validateString } = require('./validate');

function datagramOf(msg, name) {
  if (Array.isArray(msg)) {
    const chunks = toBufferList(msg);
    if (chunks === null) throw new ERR_INVALID_ARG_TYPE(name, BUFFER_TYPES, msg);
    return joinChunks(chunks);
  }
  const buf = toBuffer(msg);
  if (buf === null) throw new ERR_INVALID_ARG_TYPE(name, BUFFER_TYPES, msg);
  return buf;
}

// The entries as { buf, port, address }, checked; throws what send() would for the same values.
function parseEntries(messages, port, address, connected) {
  if (!Array.isArray(messages)) throw new ERR_INVALID_ARG_TYPE('messages', 'Array', messages);
  const out = new Array(messages.length);
  for (let i = 0; i < messages.length; i++) {
    let entry = messages[i];
    let entryPort = port;
    let entryAddress = address;
    const name = `messages[${i}]`;
    if (entry !== null && typeof entry === 'object' && !isArrayBufferView(entry)) {
      if (Array.isArray(entry)) throw new ERR_INVALID_ARG_TYPE(name, [...BUFFER_TYPES, 'Object'], entry);
      if (entry.port !== undefined) entryPort = entry.port;
      if (entry.address !== undefined) entryAddress = entry.address;
      entry = entry.msg;
    }
    const buf = datagramOf(entry, connected || entry === messages[i] ? name : `${name}.msg`);
    if (connected) {
      if (entryPort != null || entryAddress != null) throw new ERR_SOCKET_DGRAM_IS_CONNECTED();
      out[i] = { buf, port: null, address: undefined };
      continue;
    }
    entryPort = validatePort(entryPort, `${name}.port`, false);
    if (entryAddress != null) validateString(entryAddress, `${name}.address`);
    else entryAddress = undefined;
    out[i] = { buf, port: entryPort, address: entryAddress };
  }
  return out;
}

// internals: what lib/socket.js hands over (state symbol, states, pre-bind queue, health check).
function makeSendMany(internals) {
  const { kState, BindState, ConnectState, enqueue, healthCheck, destinationError } = internals;

  return function sendMany(messages, port, address, callback) {
    if (typeof port === 'function') {
      callback = port;
      port = undefined;
      address = undefined;
    } else if (typeof address === 'function') {
      callback = address;
      address = undefined;
    }
    if (callback !== undefined) validateFunction(callback, 'callback');
    const state = this[kState];
    const connected = state.connectState === ConnectState.CONNECTED;
    const entries = parseEntries(messages, port, address, connected);

    healthCheck(this);
    if (state.bindState === BindState.UNBOUND) this.bind({ port: 0, exclusive: true }, null);
    if (state.bindState !== BindState.BOUND) {
      enqueue(this, () => resolveAndQueue(this, state, entries, connected, destinationError, callback));
      return;
    }
    resolveAndQueue(this, state, entries, connected, destinationError, callback);
  };
}

// destinationError(socket, ip, address, port): lib/socket-send.js's checks of a resolved destination.
function resolveAndQueue(socket, state, entries, connected, destinationError, callback) {
  if (state.handle === null) return;
  if (entries.length === 0) {
    if (callback) process.nextTick(callback, null, 0);
    return;
  }
  if (connected) {
    queueAll(socket, state, entries, null, destinationError, callback);
    return;
  }
  // One lookup per distinct address, in order of first use; queued when the last one answers.
  const resolved = new Map();
  for (const { address } of entries) resolved.set(address, undefined);
  let pending = resolved.size;
  for (const address of resolved.keys()) {
    state.resolver.resolve(address, (err, ip) => {
      if (resolved.get(address) !== undefined) return; // a lookup that answers twice
      resolved.set(address, err ? { err } : { ip });
      if (--pending === 0) queueAll(socket, state, entries, resolved, destinationError, callback);
    });
  }
}

function queueAll(socket, state, entries, resolved, destinationError, callback) {
  if (state.handle === null) return;
  const failures = new Map(); // index -> error, for entries that never reach the queue
  const queued = []; // [index, request, datagram, ip]
  let lookupError;
  for (let i = 0; i < entries.length; i++) {
    const { buf, port, address } = entries[i];
    let ip = null;
    if (resolved !== null) {
      const answer = resolved.get(address);
      if (answer.err) {
        failures.set(i, answer.err);
        lookupError ??= answer.err;
        continue;
      }
      ip = answer.ip;
      const refused = destinationError(socket, ip, address, port);
      if (refused !== null) {
        failures.set(i, refused);
        continue;
      }
    }
    queued.push([i, sendQueue.observedRequest(undefined, address, port), buf, ip]);
  }

  if (!callback) {
    if (lookupError) process.nextTick(() => socket.emit('error', lookupError));
  } else {
    const report = () => callback(...outcome(failures, queued));
    // Outcomes complete in queue order: once the last datagram's is known, all are, so the last
    // one alone carries the callback.
    if (queued.length === 0) process.nextTick(report);
    else queued[queued.length - 1][1].callback = report;
  }
  for (const [, request, buf, ip] of queued) {
    sendQueue.enqueueDatagram(state.sendQueue, buf, ip, request.port, request);
  }
}

// [err, sentCount]: err is the failure of the lowest index, with err.index set.
function outcome(failures, queued) {
  let sent = 0;
  let first = -1;
  let err = null;
  for (const [i, ex] of failures) {
    if (first === -1 || i < first) {
      first = i;
      err = ex;
    }
  }
  for (const [i, request] of queued) {
    if (request.result >= 0) {
      sent++;
    } else if (first === -1 || i < first) {
      first = i;
      err = exceptionWithHostPort(request.result, 'send', request.address, request.port);
    }
  }
  if (err !== null) err.index = first;
  return [err, sent];
}

module.exports = { makeSendMany };
