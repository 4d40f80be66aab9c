'use strict';

// socket.getStats() (an extra): the native counters of one socket, since it was bound, under the
// names the README documents. Readable after close(): the counters outlive the fd.

const native = require('./native');

function socketStats(handle) {
  const s = native.stats(handle);
  return {
    receivedDatagrams: s.receivedDatagrams, // taken from the kernel by turbo-dgram
    receivedBytes: s.receivedBytes,
    sentDatagrams: s.sentDatagrams, // accepted by the kernel
    sentBytes: s.sentBytes,
    sendErrors: s.sendErrors, // datagrams the kernel refused (EMSGSIZE, ENETUNREACH, ...)
    // Datagrams the kernel dropped for this socket (receive buffer full): its drop counter
    // (SO_MEMINFO, what SO_RXQ_OVFL reports), read now; after close, the count at close.
    kernelDrops: s.kernelDrops,
    // Datagrams turbo-dgram read but dropped because the data waiting for JS was over its cap.
    pendingDrops: s.droppedPending,
    receiveBatches: s.receiveBatches, // deliveries to JS, each one native batch
    meanBatchSize: s.receiveBatches === 0 ? 0 : s.receivedDatagrams / s.receiveBatches,
    // Times the reactor thread took the reads over from a stalled JS thread (handover driver).
    takeovers: s.takeovers,
  };
}

module.exports = { socketStats };
