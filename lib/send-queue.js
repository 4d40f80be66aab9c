'use strict';

// Collects the datagrams that send() resolved during one tick and hands each socket's share to the
// kernel with one native.send call (sendmmsg) at the end of the tick.
//
// Timing follows the builtin. Its send passes a datagram to the kernel as soon as the address is
// resolved (synchronously for a connected socket) and schedules the callback with nextTick right
// then. We schedule the callback at the same moment, behind the flush (which is always queued
// earlier), so callbacks keep their place among the user's own nextTicks; the callback reads the
// outcome the flush recorded. A datagram the kernel did not take at once waits in the reactor, and
// its callback runs when the reactor reports it (KIND_SEND_DONE), as an I/O completion.
//
// Every call that changes kernel state (see `kernel` below) flushes every socket's queue first: the
// builtin's datagrams were already with the kernel by then, and whether they reach a peer depends
// on the peer's state (bound, connected to someone else, closed, member of a group) when they arrive.

// Module bindings, not the globals: `process` and `Buffer` on globalThis are getters, run on every
// use in the hot paths below.
const process = require('node:process');
const native = require('./native');
const { UV, exceptionWithHostPort } = require('./errors');
const { createSendResource } = require('./async-context');

const { ECANCELED } = UV;

// The queues holding datagrams this tick, in the order they got their first: the first
// `flushCount` entries. The array is kept from tick to tick, as the queues' own arrays are: a Set
// whose entry was added and deleted every tick reallocated its table each time (~9% of an echo
// server's sampled garbage).
const flushing = [];
let flushCount = 0;
let flushScheduled = false;
let results = new Int32Array(64); // reused: native.send writes each datagram's outcome here
let destIndex = new Uint32Array(64); // reused: each datagram's index into the run's destinations

// asyncResource: the socket's (lib/async-context.js).
// The queue's arrays are kept from flush to flush, holding `count` datagrams (the slots beyond are
// cleared): emptied by `length = 0`, V8 drops an array's storage and the next push allocates it
// again, four times per datagram at one datagram per tick (a third of an echo server's garbage,
// each scavenge a pause in some round trip).
function createSendQueue(handle, asyncResource) {
  return {
    handle,
    asyncResource,
    count: 0,
    bufs: [],
    ips: [], // null entries: a connected socket's datagrams (no destination)
    ports: [],
    requests: [],
    bytes: 0,
    inflight: [], // requests of datagrams the reactor holds, oldest first
  };
}

// The request of a datagram sent without a callback: nobody reads its outcome, so all such
// datagrams share one (the queue still writes `result` into it).
const UNOBSERVED = { callback: undefined, address: undefined, port: undefined, result: 0, waiting: false, asyncResource: undefined };

// request: { callback, address, port } with address / port as the user gave them (they name the
// peer in errors). The queue adds `result` (bytes or -errno), `waiting` (callback due) and
// `asyncResource` (the send request's, once it waits for the reactor).
function createRequest(callback, address, port) {
  if (callback === undefined) return UNOBSERVED;
  return observedRequest(callback, address, port);
}

// A request of its own even without a callback (yet): sendMany reads each datagram's result.
function observedRequest(callback, address, port) {
  return { callback, address, port, result: undefined, waiting: false, asyncResource: undefined };
}

function enqueueDatagram(queue, buf, ip, port, request) {
  const n = queue.count;
  queue.bufs[n] = buf;
  queue.ips[n] = ip;
  queue.ports[n] = port;
  queue.requests[n] = request;
  queue.count = n + 1;
  queue.bytes += buf.length;
  if (n === 0) flushing[flushCount++] = queue; // a queue is listed while it holds datagrams
  if (!flushScheduled) {
    flushScheduled = true;
    process.nextTick(flushAll);
  }
  if (request.callback !== undefined) process.nextTick(settle, queue, request);
}

function flushAll() {
  flushScheduled = false;
  let done = 0;
  try {
    while (done < flushCount) {
      const queue = flushing[done];
      flushing[done++] = undefined;
      flushSendQueue(queue);
    }
  } finally {
    // A flush that threw (a bug) leaves the queues after it listed, first, for the next flush.
    for (let i = done; i < flushCount; i++) {
      flushing[i - done] = flushing[i];
      flushing[i] = undefined;
    }
    flushCount -= done;
  }
}

// The native calls that change what the kernel does with datagrams, of any socket: bind, an
// adopted fd, connect, disconnect, close, options, memberships. The builtin handed every datagram
// sent so far to the kernel at once, so this tick's queued ones must reach it before such a change
// (a peer's membership, say, decides whether it receives them). lib/ makes these calls through
// `kernel` only; everything else (reads, ref/unref, sends) goes to `native` directly.
const KERNEL_CHANGES = ['bind', 'open', 'connect', 'disconnect', 'close', 'setOption',
  'setMulticastInterface', 'membership', 'sourceMembership'];
const kernel = {};
for (const name of KERNEL_CHANGES) {
  const call = native[name];
  kernel[name] = (...args) => {
    if (flushCount > 0) flushAll();
    return call(...args);
  };
}

function flushSendQueue(queue) {
  const { bufs, ips, ports, requests, count } = queue;
  if (count === 0) return;
  queue.count = 0;
  queue.bytes = 0;
  try {
    // native.send takes destinations for all datagrams or for none (connected); a tick in which
    // the socket connected between sends is sent as runs of one kind.
    let start = 0;
    while (start < count) {
      const connected = ips[start] === null;
      let end = start + 1;
      while (end < count && (ips[end] === null) === connected) end++;
      const whole = start === 0;
      sendRun(queue, whole ? bufs : bufs.slice(start, end),
        connected ? null : (whole ? ips : ips.slice(start, end)),
        connected ? null : (whole ? ports : ports.slice(start, end)),
        requests, start, end - start);
      start = end;
    }
  } finally {
    // Nothing sent stays referenced by the kept arrays (no JS runs during a flush: nothing was
    // queued meanwhile).
    for (let i = 0; i < count; i++) {
      bufs[i] = undefined;
      ips[i] = undefined;
      ports[i] = undefined;
      requests[i] = undefined;
    }
  }
}

// The run's first `count` datagrams of bufs / ips / ports (arrays that may be longer), whose
// requests start at requests[first].
function sendRun(queue, bufs, ips, ports, requests, first, count) {
  if (results.length < count) results = new Int32Array(count * 2);
  const dests = ips === null ? null : destinationsOf(ips, ports, count);
  const done = native.send(queue.handle, bufs, dests, dests === null ? null : destIndex, results, count);
  if (done < 0) {
    // The whole run failed before any syscall (no fd, or a destination the native side could not
    // parse): each datagram gets that error, and none goes to the reactor.
    for (let i = 0; i < count; i++) requests[first + i].result = done;
    return;
  }
  for (let i = 0; i < done; i++) requests[first + i].result = results[i];
  for (let i = done; i < count; i++) queue.inflight.push(requests[first + i]);
}

// The run's distinct destinations, flat [ip, port, ...], with destIndex[i] naming datagram i's:
// the native side then reads and parses each address once per flush, not once per datagram. Keyed
// by ip, then port, with no key string built per datagram: the ip strings are usually the same
// string object from send to send, whose hash V8 keeps. A run to one destination (one datagram
// per tick, say) makes no Map at all, and no array either: it reuses `oneDestination` (native.send
// reads it before returning); the Maps and an array of its own are made at the second distinct
// destination.
const oneDestination = [undefined, 0];

function destinationsOf(ips, ports, count) {
  if (destIndex.length < count) destIndex = new Uint32Array(count * 2);
  let lastIp = ips[0];
  let lastPort = ports[0];
  let last = 0;
  let dests = oneDestination;
  dests[0] = lastIp;
  dests[1] = lastPort;
  let byIp; // ip -> Map(port -> index into dests / 2)
  destIndex[0] = 0;
  for (let i = 1; i < count; i++) {
    const ip = ips[i];
    const port = ports[i];
    if (ip !== lastIp || port !== lastPort) {
      if (byIp === undefined) {
        byIp = new Map([[dests[0], new Map([[dests[1], 0]])]]);
        dests = [dests[0], dests[1]];
      }
      let byPort = byIp.get(ip);
      if (byPort === undefined) {
        byPort = new Map();
        byIp.set(ip, byPort);
      }
      last = byPort.get(port);
      if (last === undefined) {
        last = dests.length >> 1;
        dests.push(ip, port);
        byPort.set(port, last);
      }
      lastIp = ip;
      lastPort = port;
    }
    destIndex[i] = last;
  }
  return dests;
}

// The callback's tick: run it if the outcome is known, else when the reactor reports it. A send
// the kernel did not take at once becomes a request of its own, as libuv's: the builtin then
// makes a 'UDPSENDWRAP' async resource (triggered by the socket) and completes the send in it, so
// the callback sees the store of the send() that made it. Made here, in the tick that carries
// that store.
function settle(queue, request) {
  if (request.result === undefined) {
    request.waiting = true;
    request.asyncResource = createSendResource(queue.asyncResource);
  } else {
    callBack(request);
  }
}

// Runs the callback, in the send request's async context if it has one (destroyed after).
function complete(request) {
  const resource = request.asyncResource;
  if (resource === undefined) {
    callBack(request);
    return;
  }
  try {
    resource.runInAsyncScope(callBack, null, request);
  } finally {
    resource.emitDestroy();
  }
}

// Called as a plain function: the builtin's callback runs from nextTick, with no `this`.
function callBack(request) {
  const { callback, result } = request;
  if (result < 0) callback(exceptionWithHostPort(result, 'send', request.address, request.port));
  else callback(null, result);
}

// KIND_SEND_DONE: outcomes of the oldest in-flight datagrams, in order. If a callback throws, the
// rest still complete, on the next tick.
function onSendDone(queue, outcomes, from = 0) {
  for (let i = from; i < outcomes.length; i++) {
    const request = queue.inflight.shift();
    if (request === undefined) return;
    request.result = outcomes[i];
    if (!request.waiting) continue;
    let threw = true;
    try {
      complete(request);
      threw = false;
    } finally {
      if (threw && i + 1 < outcomes.length) process.nextTick(onSendDone, queue, outcomes, i + 1);
    }
  }
}

// The socket is closing: its datagrams go to the kernel first (call before native.close).
// Afterwards, what the reactor still held is cancelled: libuv completes such sends with ECANCELED
// while it closes the handle, after the 'close' event.
function cancelInflight(queue) {
  const cancelled = queue.inflight;
  queue.inflight = [];
  for (const request of cancelled) request.result = ECANCELED;
  const due = cancelled.filter((request) => request.waiting);
  if (due.length > 0) setImmediate(() => { for (const request of due) complete(request); });
}

// What has not reached the kernel, as the builtin counts it: libuv tries a send at once when its
// queue is empty and queues it only behind others. So this tick's datagrams count only while the
// reactor holds earlier ones (with an empty reactor queue they would already be with the kernel).
function queuedBytes(queue) {
  const held = native.sendQueueSize(queue.handle);
  return held === 0 ? 0 : held + queue.bytes;
}

function queuedCount(queue) {
  const held = native.sendQueueCount(queue.handle);
  return held === 0 ? 0 : held + queue.count;
}

module.exports = {
  cancelInflight,
  createRequest,
  observedRequest,
  createSendQueue,
  enqueueDatagram,
  kernel,
  onSendDone,
  queuedBytes,
  queuedCount,
};
