'use strict';

// Decoding of one native KIND_RECV batch (lib/native.js), shared by the standard receive path
// (lib/receive.js) and the extras' (lib/receive-extras.js): meta pairs [length, peerIndex] (a
// peerIndex of RECV_ERROR_PEER is a receive error in sequence, its length the errno), payloads
// back to back in one Buffer, peers flat [address, port, ...]. `batch` is the record
// lib/receive.js keeps per native batch; state is the socket's private state.

// A module binding, not the global: `Buffer` on globalThis is a getter, run on every use below.
const { Buffer } = require('node:buffer');
const native = require('./native');

const RECV_ERROR_PEER = native.RECV_ERROR_PEER;

// Steps past the datagram at batch.index (not a receive error): batch.start / batch.length are its
// bytes, batch.datagram counts it. Returns its peer's offset in batch.peers ([address, port]), or
// -1 when the socket's receiveBlockList refuses that peer.
function takeDatagram(state, batch) {
  const length = batch.meta[batch.index];
  const p = batch.meta[batch.index + 1] * 2;
  batch.index += 2; // consumed before any emit: a throwing listener must not see it twice
  batch.start = batch.offset;
  batch.length = length;
  batch.offset += length;
  batch.datagram += 1;
  const blockList = state.receiveBlockList;
  if (blockList !== undefined && blockList.check(batch.peers[p], state.receive.blockListFamily)) return -1;
  return p;
}

// The taken datagram as a Buffer view into the batch. Buffer.from(arrayBuffer, offset, length)
// makes the same view as data.subarray() at about two thirds of the cost, which counts once per
// datagram.
function datagramView(batch) {
  return Buffer.from(batch.arrayBuffer, batch.base + batch.start, batch.length);
}

module.exports = { RECV_ERROR_PEER, datagramView, takeDatagram };
