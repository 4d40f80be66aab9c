'use strict';

// A socket's async context, as the builtin's: its handle is an async resource of type 'UDPWRAP',
// made when the socket is made (so async_hooks sees its init there, triggered by the code that
// creates it, and AsyncLocalStorage keeps the store of that moment), destroyed when the socket
// closes. Its receive events ('message', a failed recvmsg's 'error') run inside it, as the
// builtin's onmessage runs in its handle's context. The other events run where the builtin runs
// them: in the ticks and lookups the socket's code schedules (lib/socket*.js, lib/lookup.js).
//
// Why the receive events enter the socket's context from JS (lib/socket.js's dispatch) rather
// than through a native callback scope: a Node-API async context (napi_async_init) carries
// async_hooks ids, but where AsyncLocalStorage rides on AsyncContextFrame (Node 24 on, unless
// --no-async-context-frame) a callback scope opened with it does not restore the frame of the
// moment it was made, so the store would be lost. Seen on Node 24.22 and 26.12: the thread's
// shared native context, made inside als.run(), gave 'message' an empty store by default and that
// run's store with --no-async-context-frame. The native side calls dispatch with no callback
// scope open, so this is the only async context on the stack (why: src/host.rs, LoopCallback);
// runInAsyncScope then costs about 50 ns a datagram (Node 20-26, a store in use).
//
// What we cannot reproduce with the public API: the builtin schedules its connect, close and send
// callbacks with the socket as the tick's default trigger (an internal of Node's), so inside them
// triggerAsyncId() names the socket; here it names the code that scheduled them. The store and
// executionAsyncId() are the builtin's. (README, "Differences".) A send the kernel cannot take at
// once gets its own 'UDPSENDWRAP' when it has a callback (lib/send-queue.js); the builtin makes
// one for a send without a callback too, which no code of the user's runs in.

const { AsyncResource } = require('node:async_hooks');

// Destroyed at close() only, as the builtin's handle is (not when garbage collected).
const RESOURCE_OPTIONS = { requireManualDestroy: true };

function createSocketResource() {
  return new AsyncResource('UDPWRAP', RESOURCE_OPTIONS);
}

// A send that waits for the reactor: the builtin's libuv request, a 'UDPSENDWRAP' triggered by
// the socket (`resource`), destroyed once its callback has run.
function createSendResource(resource) {
  return new AsyncResource('UDPSENDWRAP', { triggerAsyncId: resource.asyncId(), requireManualDestroy: true });
}

module.exports = { createSendResource, createSocketResource };
