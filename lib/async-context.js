'use strict';

// A socket's async context, as the builtin's: its handle is an async resource of type 'UDPWRAP',
// made when the socket is made (so async_hooks sees its init there, triggered by the code that
// creates it, and AsyncLocalStorage keeps the store of that moment), destroyed when the socket
// closes. Its receive events ('message', a failed recvmsg's 'error') run inside it, as the
// builtin's onmessage runs in its handle's context. The other events run where the builtin runs
// them: in the ticks and lookups the socket's code schedules (lib/socket.js, lib/lookup.js).
//
// What we cannot reproduce with the public API: the builtin schedules its connect, close and send
// callbacks with the socket as the tick's default trigger (an internal of Node's), so inside them
// triggerAsyncId() names the socket; here it names the code that scheduled them. The store and
// executionAsyncId() are the builtin's. (README, "Differences".)

const { AsyncResource } = require('node:async_hooks');

// Destroyed at close() only, as the builtin's handle is (not when garbage collected).
const RESOURCE_OPTIONS = { requireManualDestroy: true };

function createSocketResource() {
  return new AsyncResource('UDPWRAP', RESOURCE_OPTIONS);
}

// A reactor-finished send with a callback: the builtin makes a 'UDPSENDWRAP' request when the
// kernel cannot take a datagram at once, triggered by the socket, and completes it in that
// request's context. `resource` is the socket's. Returns the request's resource.
function createSendResource(resource) {
  return new AsyncResource('UDPSENDWRAP', { triggerAsyncId: resource.asyncId(), requireManualDestroy: true });
}

module.exports = { createSendResource, createSocketResource };
