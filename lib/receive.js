'use strict';

// Turns native KIND_RECV batches into 'message' events. A batch is one Buffer of payloads back to
// back, meta pairs [length, peerIndex], and a flat peers array [address, family, port, ...] whose
// strings the reactor built once per distinct peer. Each datagram becomes a view into the batch
// and a fresh rinfo { address, family, port, size }, in the builtin's key order.
//
// One event per call: the native side calls in once per event (KIND_RECV with a new batch, then
// KIND_RECV_STEP), each in a callback scope of its own, so the nextTicks and microtasks that a
// listener queues run before the next datagram's 'message', as with the builtin's one recv
// callback per datagram. Each call returns whether more events wait. Progress is recorded before
// each emit, so a listener that throws (the native side reports it as uncaught) never sees the
// same datagram twice. Nothing is delivered once the socket is closed.

// A module binding, not the global: `Buffer` on globalThis is a getter, run on every
// use in the hot paths below.
const { Buffer } = require('node:buffer');
const native = require('./native');
const { errnoException } = require('./errors');
const { stepBatchExtras, batchExtrasDone } = require('./receive-extras');

function createReceiveState() {
  return { backlog: [] };
}

// state: the socket's private state; state.handle is null once closed, state.receive holds the
// backlog, state.receiveBlockList is the socket's net.BlockList, if any.
// info / locals: only with the receive-info extra on (lib/receive-extras.js).
function onReceiveBatch(socket, state, data, meta, peers, info, locals) {
  // The batch's ArrayBuffer and base offset are read once: `.buffer` is a runtime call in V8.
  state.receive.backlog.push({
    data, arrayBuffer: data.buffer, base: data.byteOffset, meta, peers, info, locals, index: 0, offset: 0, extras: undefined,
  });
  return receiveStep(socket, state);
}

// Emits the next receive event of the socket ('message', or 'error' for a failed recvmsg);
// returns whether more wait.
function receiveStep(socket, state) {
  const { backlog } = state.receive;
  while (state.handle !== null && backlog.length > 0) {
    const batch = backlog[0];
    // The extras (receive info, 'messages' listeners) take a batch whole, decided when it starts.
    batch.extras ??= batch.info !== undefined || socket.listenerCount('messages') > 0;
    const emitted = batch.extras ? stepBatchExtras(socket, state, batch) : stepBatch(socket, state, batch);
    const done = batch.extras ? batchExtrasDone(batch) : batch.index >= batch.meta.length;
    if (done) backlog.shift();
    if (emitted) return state.handle !== null && backlog.length > 0;
  }
  backlog.length = 0;
  return false;
}

// Emits the batch's next event, skipping datagrams from blocked senders; false when the batch
// has none left.
function stepBatch(socket, state, batch) {
  const { meta, peers } = batch;
  while (batch.index < meta.length) {
    const length = meta[batch.index];
    const peer = meta[batch.index + 1];
    batch.index += 2; // consumed before the emit: a throwing listener must not see it twice
    if (peer === native.RECV_ERROR_PEER) {
      // The reactor reports a failed recvmsg (ECONNREFUSED on a connected socket) with the
      // positive errno as the length.
      socket.emit('error', errnoException(-length, 'recvmsg'));
      return true;
    }
    const start = batch.offset;
    batch.offset += length;
    const p = peer * 3;
    const address = peers[p];
    const family = peers[p + 1];
    const blockList = state.receiveBlockList;
    if (blockList !== undefined && blockList.check(address, family.toLowerCase())) continue;
    // With no 'message' listener the emit would run no code, so it needs no callback scope of its
    // own either: go on to the next datagram in this step (a 'messages'-only consumer, or a
    // socket that only sends, pays per batch, not per datagram).
    if (socket.listenerCount('message') === 0) continue;
    // Buffer.from(arrayBuffer, offset, length) makes the same view as data.subarray() at about
    // two thirds of the cost, which counts once per datagram.
    socket.emit('message', Buffer.from(batch.arrayBuffer, batch.base + start, length),
      { address, family, port: peers[p + 2], size: length });
    return true;
  }
  return false;
}

module.exports = { createReceiveState, onReceiveBatch, receiveStep };
