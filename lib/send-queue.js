'use strict';

// Collects the datagrams that send() resolved during one tick and hands each socket's share to the
// kernel with one native.send call (sendmmsg) at the end of the tick. process.nextTick is the
// builtin's own timing: its send does the address lookup and the send on the next tick, and runs
// the callback on the tick after that, so callbacks and the user's nextTicks keep their order.
//
// A queue belongs to one socket. Datagrams the kernel took at once ([0, k) of a native.send) get
// their callbacks on the next tick, like a synchronous uv_udp_try_send; the rest wait in the
// reactor and complete through onSendDone(), in order.

const native = require('./native');
const { exceptionWithHostPort } = require('./errors');

const ECANCELED = -125;

const flushing = new Set(); // queues with datagrams this tick, in the order they got their first
let flushScheduled = false;
let results = new Int32Array(64); // reused: native.send writes each datagram's outcome here

function createSendQueue(handle) {
  return {
    handle,
    bufs: [],
    ips: [],   // null entries: a connected socket's datagrams (no destination)
    ports: [],
    requests: [], // { callback, address, port } per datagram: what the callback and errors need
    bytes: 0,
    inflight: [], // requests of datagrams the reactor holds, oldest first
  };
}

// `request.address` / `request.port` are what the user passed: they name the peer in errors.
function enqueueDatagram(queue, buf, ip, port, request) {
  queue.bufs.push(buf);
  queue.ips.push(ip);
  queue.ports.push(port);
  queue.requests.push(request);
  queue.bytes += buf.length;
  flushing.add(queue);
  if (!flushScheduled) {
    flushScheduled = true;
    process.nextTick(flushAll);
  }
}

function flushAll() {
  flushScheduled = false;
  for (const queue of flushing) {
    flushing.delete(queue);
    flushQueue(queue);
  }
}

function flushQueue(queue) {
  const { bufs, ips, ports, requests } = queue;
  queue.bufs = [];
  queue.ips = [];
  queue.ports = [];
  queue.requests = [];
  queue.bytes = 0;
  // A connected socket sends without destinations; native.send takes one kind per call, so a tick
  // that saw the socket connect between sends is split into runs.
  let start = 0;
  while (start < bufs.length) {
    const connected = ips[start] === null;
    let end = start + 1;
    while (end < bufs.length && (ips[end] === null) === connected) end++;
    sendRun(queue, bufs.slice(start, end), connected ? null : ips.slice(start, end),
      connected ? null : ports.slice(start, end), requests, start);
    start = end;
  }
}

function sendRun(queue, bufs, ips, ports, requests, first) {
  if (results.length < bufs.length) results = new Int32Array(bufs.length * 2);
  const done = native.send(queue.handle, bufs, ips, ports, results);
  for (let i = 0; i < done; i++) {
    const request = requests[first + i];
    if (request.callback !== undefined) process.nextTick(complete, request, results[i]);
  }
  for (let i = done; i < bufs.length; i++) queue.inflight.push(requests[first + i]);
}

function complete(request, result) {
  if (result < 0) request.callback(exceptionWithHostPort(result, 'send', request.address, request.port));
  else request.callback(null, result);
}

// KIND_SEND_DONE: outcomes of the oldest in-flight datagrams, in order. Each callback runs as its
// own I/O completion would; if one throws, the rest still complete on the next tick.
function onSendDone(queue, outcomes, from = 0) {
  for (let i = from; i < outcomes.length; i++) {
    const request = queue.inflight.shift();
    if (request === undefined || request.callback === undefined) continue;
    let threw = true;
    try {
      complete(request, outcomes[i]);
      threw = false;
    } finally {
      if (threw && i + 1 < outcomes.length) process.nextTick(onSendDone, queue, outcomes, i + 1);
    }
  }
}

// The socket closed. Datagrams not yet flushed are dropped silently, as the builtin drops sends
// whose lookup finishes after close(). Those the reactor held are cancelled: libuv completes them
// with ECANCELED while it closes the handle, after the 'close' event.
function discardSendQueue(queue) {
  flushing.delete(queue);
  queue.bufs = [];
  queue.ips = [];
  queue.ports = [];
  queue.requests = [];
  queue.bytes = 0;
  const cancelled = queue.inflight.filter((request) => request.callback !== undefined);
  queue.inflight = [];
  if (cancelled.length > 0) {
    setImmediate(() => {
      for (const request of cancelled) complete(request, ECANCELED);
    });
  }
}

// What has not reached the kernel yet: this tick's datagrams plus what the reactor holds.
function queuedBytes(queue) {
  return queue.bytes + native.sendQueue(queue.handle)[0];
}

function queuedCount(queue) {
  return queue.bufs.length + native.sendQueue(queue.handle)[1];
}

module.exports = {
  createSendQueue,
  discardSendQueue,
  enqueueDatagram,
  onSendDone,
  queuedBytes,
  queuedCount,
};
