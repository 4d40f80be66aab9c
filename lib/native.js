'use strict';

// The one place that loads the compiled addon. Everything else in lib/ goes through this module.
//
// The native interface (src/bindings/). Rust owns file descriptors, readiness and batched syscalls;
// it knows nothing of Node's API. Conventions:
//   - Kernel errors come back as a negative errno (e.g. -98 for EADDRINUSE). JS builds every error.
//   - A wrong argument type throws a plain TypeError (a bug in lib/, never reachable by users).
//   - Addresses passed in are IP literals (IPv6 may carry `%scope`); JS resolves host names first.
//
//   init(dispatch, reply, runsTicks)    once per thread (worker); dispatch(id, kind, a, b, c) receives
//                                       every event of every socket of this thread, see KIND_* below;
//                                       reply: a Uint32Array(3) over an ArrayBuffer of its own:
//                                       [more waits (JS), events emitted (JS), events allowed
//                                       (native, before a receive call)]. runsTicks: dispatch runs
//                                       the ticks after each event itself (and may emit up to the
//                                       allowed number per call); else the native side runs them
//                                       after each call, which emits one event.
//   create(family[, driver]) -> handle  family 4 | 6; driver DRIVER_HANDOVER, DRIVER_THREAD
//                                       (when absent) or DRIVER_INLINE. No fd yet (like libuv: the
//                                       fd is made by bind). An inline driver that cannot start on
//                                       this host falls back to the thread driver; a handover socket
//                                       its thread cannot watch is read by the reactor thread.
//   socketId(handle)      -> number     the id dispatch() is called with.
//   driverOf(handle)      -> number     the driver the socket got (DRIVER_*).
//   bind(handle, ip, port, flags) -> 0 | -errno
//                                       flags: FLAG_REUSEADDR | FLAG_REUSEPORT | FLAG_IPV6ONLY, and
//                                       the extras FLAG_RECV_PKTINFO | FLAG_RECV_TIMESTAMP.
//                                       Creates the fd, sets options, binds, starts receiving.
//                                       A failed bind keeps the fd, unbound (as libuv does):
//                                       localAddress() then gives the wildcard with port 0, options
//                                       can be set, and the next bind() reuses the fd.
//   open(handle, fd[, duplicate]) -> 0 | -errno
//                                       adopts an existing UDP fd (bind({ fd })), starts receiving;
//                                       with duplicate true, a duplicate of it (a cluster worker's
//                                       shared handle keeps its own fd).
//   connect(handle, ip, port) -> 0 | -errno
//   disconnect(handle)    -> 0 | -errno
//   localAddress(handle)  -> { address, family, port } | -errno
//   remoteAddress(handle) -> { address, family, port } | -errno
//   send(handle, bufs, dests, destIndex, results[, count]) -> k
//                                       bufs: Buffer[] (one datagram each; with count, only the
//                                       first count of them, so bufs may be longer); dests: the run's
//                                       distinct destinations, flat [ip, port, ...], and destIndex
//                                       (Uint32Array) datagram i's index into them; both null for a
//                                       connected socket. Sends in order with sendmmsg (GSO runs).
//                                       results (Int32Array, length >= bufs.length) gets bytes sent
//                                       or -errno for datagrams [0, k). Datagrams [k, n) went to the
//                                       reactor (the kernel said EAGAIN, or earlier ones still wait):
//                                       their outcomes arrive, in order, through
//                                       dispatch(id, KIND_SEND_DONE, Int32Array). A negative k: the
//                                       whole run failed before any syscall (no fd, bad address).
//   sendQueueSize(handle) / sendQueueCount(handle) -> number  bytes / datagrams held by the reactor,
//                                       not yet given to the kernel.
//   setOption(handle, OPT_*, value) -> 0 | -errno
//   getOption(handle, OPT_*) -> value (>= 0) | -errno
//   setMulticastInterface(handle, ip) -> 0 | -errno
//   membership(handle, add, group, iface) -> 0 | -errno          iface null = any ('' is EINVAL)
//   sourceMembership(handle, add, source, group, iface) -> 0 | -errno
//   ref(handle) / unref(handle)         whether this socket keeps the event loop alive (while bound).
//   close(handle)                       deregisters and closes the fd now; no dispatch after it.
//   setReceiveInfo(handle, flags) -> 0 | -errno   (after bind) flags RECV_INFO_PKTINFO |
//                                       RECV_INFO_TIMESTAMP: KIND_RECV then carries info/locals.
//   panicForTest()                      only with TURBO_DGRAM_TEST_HOOKS=1: panics (a JS Error).
//   stats(handle)         -> object     counters since bind (the extras): receivedDatagrams,
//                                       receivedBytes, sentDatagrams, sentBytes, sendErrors,
//                                       droppedPending (over PENDING_CAP_BYTES), receiveBatches,
//                                       kernelDrops (SO_MEMINFO, live; after close the count at close).
//
// dispatch kinds:
//   KIND_RECV:      dispatch(id, KIND_RECV, data: Buffer, meta: Uint32Array, peers: Array)
//                   meta holds pairs [length, peerIndex]; datagram i's bytes follow datagram i-1's
//                   in data. peers is flat: [address, port, ...], so peer p is peers[2p],
//                   peers[2p+1]; every peer has the fd's family. A pair whose peerIndex is
//                   RECV_ERROR_PEER is a receive error in sequence: its length is the positive errno.
//                   With receive info on, two more arguments: info (Uint32Array, 4 per datagram:
//                   [ifindex, localIndex, seconds, nanoseconds], 0xFFFFFFFF = unknown) and locals
//                   (string[] of local addresses indexed by localIndex).
//   KIND_SEND_DONE: dispatch(id, KIND_SEND_DONE, results: Int32Array) bytes or -errno, in send order.
//   KIND_RECV_STEP: dispatch(id, KIND_RECV_STEP) -> more: emit the next event of the socket's
//                   receive backlog. KIND_RECV also answers `more` after emitting the batch's first
//                   event (each answer in init's reply array, not as a return value). The nextTicks
//                   and microtasks of each event run before the next (as after each builtin recv).
//
// Constants exported by the addon: KIND_RECV = 1, KIND_SEND_DONE = 2, KIND_RECV_STEP = 3,
// RECV_ERROR_PEER = 0xFFFFFFFF,
// FLAG_REUSEADDR = 1, FLAG_REUSEPORT = 2, FLAG_IPV6ONLY = 4, OPT_BROADCAST = 1, OPT_TTL = 2,
// OPT_MULTICAST_TTL = 3, OPT_MULTICAST_LOOP = 4, OPT_RCVBUF = 5, OPT_SNDBUF = 6,
// DRIVER_THREAD = 0, DRIVER_INLINE = 1, PENDING_CAP_BYTES, STEPS_PER_CALLBACK (receive events a
// socket emits per loop callback before the loop's other phases run).
//
// A throw from dispatch() reaches Node as an uncaught exception with the thrown value itself.

// Which file is loaded (a build from source, else the shipped prebuild) and the errors that say
// what is missing: lib/native-load.js. Here a missing addon is an error; the package entry
// (lib/index.js) checks first and falls back to the builtin instead of reaching this.
const { loadNative } = require('./native-load');

const { addon, error } = loadNative();
if (error) throw error;

module.exports = addon;
