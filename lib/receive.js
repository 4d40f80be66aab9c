'use strict';

// Turns native KIND_RECV batches into 'message' events. A batch is one Buffer of payloads back to
// back, meta pairs [length, peerIndex], and a flat peers array [address, family, port, ...] whose
// strings the reactor built once per distinct peer. Each datagram becomes a view into the batch
// and a fresh rinfo { address, family, port, size }, in the builtin's key order.
//
// Batches wait in the socket's backlog while they are delivered. If a 'message' listener throws,
// the exception goes on to the uncaught-exception machinery as the builtin's would, and the rest of
// the backlog is delivered on a later turn of the loop, as the builtin's next recvmsg callbacks
// would be. Nothing is delivered once the socket is closed.

const native = require('./native');
const { errnoException } = require('./errors');
const { deliverBatchExtras } = require('./receive-extras');

function createReceiveState() {
  return { backlog: [], resumeScheduled: false };
}

// state: the socket's private state; state.handle is null once closed, state.receive holds the
// backlog, state.receiveBlockList is the socket's net.BlockList, if any.
// info / locals: only with the receive-info extra on (lib/receive-extras.js).
function onReceiveBatch(socket, state, data, meta, peers, info, locals) {
  const receive = state.receive;
  receive.backlog.push({ data, meta, peers, info, locals, index: 0, offset: 0, extras: undefined });
  if (receive.backlog.length === 1 && !receive.resumeScheduled) drainBacklog(socket, state);
}

function drainBacklog(socket, state) {
  const receive = state.receive;
  receive.resumeScheduled = false;
  let threw = true;
  try {
    while (receive.backlog.length > 0 && state.handle !== null) {
      const batch = receive.backlog[0];
      // The extras (receive info, 'messages' listeners) take a batch whole, decided when it starts.
      batch.extras ??= batch.info !== undefined || socket.listenerCount('messages') > 0;
      if (batch.extras) deliverBatchExtras(socket, state, batch);
      else deliverBatch(socket, state, batch);
      receive.backlog.shift();
    }
    threw = false;
  } finally {
    if (state.handle === null) {
      receive.backlog.length = 0;
    } else if (threw && receive.backlog.length > 0) {
      receive.resumeScheduled = true;
      setImmediate(drainBacklog, socket, state);
    }
  }
}

function deliverBatch(socket, state, batch) {
  const { data, meta, peers } = batch;
  // Buffer.from(arrayBuffer, offset, length) makes the same view as data.subarray() at about
  // two thirds of the cost, which counts once per datagram.
  const arrayBuffer = data.buffer;
  const base = data.byteOffset;
  const pairs = meta.length;
  while (batch.index < pairs && state.handle !== null) {
    const length = meta[batch.index];
    const peer = meta[batch.index + 1];
    batch.index += 2; // consumed before the emit: a throwing listener must not see it twice
    if (peer === native.RECV_ERROR_PEER) {
      // The reactor reports a failed recvmsg (ECONNREFUSED on a connected socket) with the
      // positive errno as the length.
      socket.emit('error', errnoException(-length, 'recvmsg'));
      continue;
    }
    const start = batch.offset;
    batch.offset += length;
    const p = peer * 3;
    const address = peers[p];
    const family = peers[p + 1];
    const blockList = state.receiveBlockList;
    if (blockList !== undefined && blockList.check(address, family.toLowerCase())) continue;
    socket.emit('message', Buffer.from(arrayBuffer, base + start, length), { address, family, port: peers[p + 2], size: length });
  }
}

module.exports = { createReceiveState, onReceiveBatch };
