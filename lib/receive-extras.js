'use strict';

// The receive extras: where a datagram arrived (recvPktInfo / recvTimestamp) and one 'messages'
// event per native batch. lib/receive.js hands a batch here instead of to its own loop only when
// one of them is in use, so the standard path does not change.
//
// A batch is cut into runs at receive errors (a failed recvmsg is reported in sequence, as the
// standard path does). For each run: 'messages' with the array of { msg, rinfo }, then one
// 'message' per datagram with the same msg and rinfo objects, then the run's receive error as
// 'error'. One event per call (lib/receive.js): progress is recorded before each emit, so a
// listener that throws never sees the same datagram twice.
//
// Receive info (native KIND_RECV with `info`: 4 numbers per datagram, [ifindex, localIndex,
// seconds, nanoseconds], 0xFFFFFFFF = unknown, and `locals`, the local addresses by localIndex)
// covers the datagrams read after setReceiveInfo; datagrams the reactor read between bind and
// that call come first in the first batch without an entry, and get null fields.

const native = require('./native');
const { errnoException } = require('./errors');
const { RECV_ERROR_PEER, datagramView, takeDatagram } = require('./receive-batch');

const UNKNOWN = 0xFFFFFFFF;

// state.extras.receiveInfo: native RECV_INFO_* flags the socket asked for. Emits the batch's next
// event ('messages' for a run, one of its 'message's, or a receive 'error'); false when none is
// left.
function stepBatchExtras(socket, state, batch) {
  const { meta } = batch;
  const pairs = meta.length;
  if (batch.infoSkip === undefined) batch.infoSkip = datagramsWithoutInfo(batch);
  while (state.handle !== null) {
    if (batch.run === undefined) {
      if (batch.index >= pairs) return false;
      if (meta[batch.index + 1] === RECV_ERROR_PEER) {
        const errno = meta[batch.index];
        batch.index += 2;
        socket.emit('error', errnoException(-errno, 'recvmsg'));
        return true;
      }
      batch.run = collectRun(state, batch);
      batch.runPos = 0;
      if (batch.run.length > 0 && socket.listenerCount('messages') > 0) {
        socket.emit('messages', batch.run);
        return true;
      }
      continue;
    }
    const run = batch.run;
    if (batch.runPos >= run.length) {
      batch.run = undefined;
      continue;
    }
    const entry = run[batch.runPos++];
    // No listener: nothing would run, so no call of its own is needed (see lib/receive.js).
    if (socket.listenerCount('message') === 0) continue;
    socket.emit('message', entry.msg, entry.rinfo);
    return true;
  }
  return false;
}

// Whether the batch has no event left to emit.
function batchExtrasDone(batch) {
  return batch.index >= batch.meta.length && (batch.run === undefined || batch.runPos >= batch.run.length);
}

// The datagrams from batch.index up to the next receive error, as { msg, rinfo }; advances the
// batch past them (blocked senders are skipped).
function collectRun(state, batch) {
  const { meta, peers, info, locals } = batch;
  const flags = info === undefined ? 0 : state.extras.receiveInfo;
  const { family } = state.receive;
  const run = [];
  while (batch.index < meta.length && meta[batch.index + 1] !== RECV_ERROR_PEER) {
    const p = takeDatagram(state, batch);
    if (p < 0) continue;
    const address = peers[p];
    const port = peers[p + 1];
    const size = batch.length;
    const rinfo = flags === 0 ?
      { address, family, port, size } :
      infoRinfo(address, family, port, size, flags, info, locals, batch.datagram - 1 - batch.infoSkip);
    run.push({ msg: datagramView(batch), rinfo });
  }
  return run;
}

// rinfo with the opted-in fields after the standard four, in a fixed order per option set.
function infoRinfo(address, family, port, size, flags, info, locals, k) {
  const known = k >= 0;
  const at = k * 4;
  const pktinfo = (flags & native.RECV_INFO_PKTINFO) !== 0;
  const stamped = (flags & native.RECV_INFO_TIMESTAMP) !== 0;
  let localAddress = null;
  let interfaceIndex = null;
  let timestamp = null;
  if (known && pktinfo && info[at] !== UNKNOWN) {
    interfaceIndex = info[at];
    localAddress = locals[info[at + 1]] ?? null;
  }
  // CLOCK_REALTIME from SO_TIMESTAMPNS, as milliseconds since the epoch (Date.now()'s scale); a
  // double keeps about a quarter of a microsecond of the nanoseconds at today's dates.
  if (known && stamped && info[at + 2] !== UNKNOWN) timestamp = info[at + 2] * 1000 + info[at + 3] / 1e6;
  if (pktinfo && stamped) return { address, family, port, size, localAddress, interfaceIndex, timestamp };
  if (pktinfo) return { address, family, port, size, localAddress, interfaceIndex };
  return { address, family, port, size, timestamp };
}

// How many datagrams at the front of this batch have no info entry (read before setReceiveInfo).
function datagramsWithoutInfo(batch) {
  batch.datagram = 0;
  if (batch.info === undefined) return 0;
  const { meta } = batch;
  let datagrams = 0;
  for (let i = 1; i < meta.length; i += 2) if (meta[i] !== RECV_ERROR_PEER) datagrams++;
  return Math.max(0, datagrams - batch.info.length / 4);
}

module.exports = { stepBatchExtras, batchExtrasDone };
