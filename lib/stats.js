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
    // SO_RXQ_OVFL: datagrams the kernel dropped for this socket (receive buffer full), as the
    // kernel reported it with the last datagram turbo-dgram read (it rides on each datagram).
    kernelDrops: s.kernelDrops,
    // Datagrams turbo-dgram read but dropped because the data waiting for JS was over its cap.
    pendingDrops: s.droppedPending,
    receiveBatches: s.receiveBatches, // deliveries to JS, each one native batch
    meanBatchSize: s.receiveBatches === 0 ? 0 : s.receivedDatagrams / s.receiveBatches,
  };
}

module.exports = { socketStats };
