'use strict';

// Turns native KIND_RECV batches into 'message' events. A batch is one Buffer of payloads back to
// back, meta pairs [length, peerIndex], and a flat peers array [address, port, ...] whose strings
// the reactor built once per distinct peer (every peer has the socket's family: a udp6 socket sees
// IPv4 senders as IPv4-mapped IPv6 addresses, as with the builtin). Each datagram becomes a view
// into the batch and a fresh rinfo { address, family, port, size }, in the builtin's key order.
//
// One event per step: lib/socket.js's dispatch steps a socket's backlog (KIND_RECV with a new
// batch, then KIND_RECV_STEP) and the nextTicks and microtasks of each step run before the next,
// so those a listener queues run before the next datagram's 'message', as with the builtin's one
// recv callback per datagram. Each step returns whether more events wait. Progress is recorded before
// each emit, so a listener that throws (the native side reports it as uncaught) never sees the
// same datagram twice. Nothing is delivered once the socket is closed.

const { Buffer } = require('node:buffer');
const { errnoException } = require('./errors');
const { RECV_ERROR_PEER, datagramView, takeDatagram } = require('./receive-batch');
const { stepBatchExtras, batchExtrasDone } = require('./receive-extras');

// family: the socket's fd's, 'IPv4' | 'IPv6' (that of every peer it receives from).
function createReceiveState(family) {
  const receive = { backlog: [], family: '', blockListFamily: '', lastIpv4: -1, lastIpv4Text: '' };
  setReceiveFamily(receive, family);
  return receive;
}

// An adopted fd (bind({ fd })) brings its own family, whatever the socket's type.
function setReceiveFamily(receive, family) {
  receive.family = family; // rinfo.family
  receive.blockListFamily = family === 'IPv4' ? 'ipv4' : 'ipv6'; // net.BlockList's name for it
}

// state: the socket's private state; state.handle is null once closed, state.receive holds the
// backlog, state.receiveBlockList is the socket's net.BlockList, if any.
// info / locals: only with the receive-info extra on (lib/receive-extras.js).
function onReceiveBatch(socket, state, data, meta, peers, info, locals) {
  // The batch's ArrayBuffer and base offset are read once: `.buffer` is a runtime call in V8.
  // Every field a batch ever gets is set here (the extras' too), so batches keep one shape.
  state.receive.backlog.push({
    data, arrayBuffer: data.buffer, base: data.byteOffset, meta, peers, info, locals, index: 0, offset: 0, extras: undefined,
    start: 0, length: 0, datagram: 0, infoSkip: undefined, run: undefined, runPos: 0,
  });
  return receiveStep(socket, state);
}

// This thread's receive pool (src/bindings/pool.rs): the ArrayBuffer that single-datagram
// batches are copied into, replaced whenever the native side passes a new one (lib/socket.js's
// dispatch hands it over first, whether or not the datagram is delivered).
let receivePool;

function setReceivePool(pool) {
  receivePool = pool;
}

// A batch of one datagram (native KIND_RECV_ONE): its payload at `offset` in the receive pool,
// `peer` the sender's IPv4 address as a number or its address text. The same events as a
// one-datagram KIND_RECV batch, without the batch record; with the extras in use (or, should it
// ever happen, a backlog) it becomes such a batch.
function onReceiveOne(socket, state, offset, length, peer, port) {
  const { receive } = state;
  const address = typeof peer === 'number' ? ipv4Text(receive, peer) : peer;
  if (receive.backlog.length > 0 || socket.listenerCount('messages') > 0) {
    const data = Buffer.from(receivePool, offset, length);
    return onReceiveBatch(socket, state, data, Uint32Array.of(length, 0), [address, port]);
  }
  const blockList = state.receiveBlockList;
  if (blockList !== undefined && blockList.check(address, receive.blockListFamily)) return false;
  if (socket.listenerCount('message') === 0) return false;
  socket.emit('message', Buffer.from(receivePool, offset, length),
    { address, family: receive.family, port, size: length });
  return false;
}

// The dotted text of an IPv4 address (a number in host order), remembered for the next datagram
// (most come from the sender of the last one).
function ipv4Text(receive, ip) {
  if (ip !== receive.lastIpv4) {
    receive.lastIpv4 = ip;
    receive.lastIpv4Text = `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
  }
  return receive.lastIpv4Text;
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
    if (meta[batch.index + 1] === RECV_ERROR_PEER) {
      // The reactor reports a failed recvmsg (ECONNREFUSED on a connected socket) with the
      // positive errno as the length.
      const errno = meta[batch.index];
      batch.index += 2; // consumed before the emit: a throwing listener must not see it twice
      socket.emit('error', errnoException(-errno, 'recvmsg'));
      return true;
    }
    const p = takeDatagram(state, batch);
    if (p < 0) continue;
    // With no 'message' listener the emit would run no code, so it needs no nextTick run of its
    // own either: go on to the next datagram in this step (a 'messages'-only consumer, or a
    // socket that only sends, pays per batch, not per datagram).
    if (socket.listenerCount('message') === 0) continue;
    socket.emit('message', datagramView(batch),
      { address: peers[p], family: state.receive.family, port: peers[p + 1], size: batch.length });
    return true;
  }
  return false;
}

module.exports = {
  createReceiveState, onReceiveBatch, onReceiveOne, receiveStep, setReceiveFamily, setReceivePool,
};
