'use strict';

// Async context of sends the kernel cannot take at once (issue 13, item 1): the builtin makes a
// 'UDPSENDWRAP' request for them, triggered by the socket, and runs their callbacks in it, with
// the store of the send() that made them. Which sends wait depends on timing, so what is compared
// is what holds for all of them: every callback sees its own send's store, runs in a tick or in
// a UDPSENDWRAP, each UDPSENDWRAP is triggered by the socket and destroyed after its callback.
// In a network namespace with a slow loopback (test/helpers/slow-netns.js), so that the sender's
// buffer really fills; child processes, one per module.

const { test } = require('node:test');
const { compareInSlowNamespace } = require('./helpers/slow-netns');

const T = { timeout: 30000 };

const SENDER = `
const { AsyncLocalStorage, createHook, executionAsyncId } = require('node:async_hooks');
const als = new AsyncLocalStorage();
const types = new Map();
const sendWraps = new Map(); // id -> { trigger, destroyed }
let socketId;
createHook({
  init(id, type, trigger) {
    types.set(id, type);
    if (type === 'UDPSENDWRAP') sendWraps.set(id, { trigger, destroyed: false });
  },
  destroy(id) { if (sendWraps.has(id)) sendWraps.get(id).destroyed = true; },
}).enable();
const r = dgram.createSocket('udp4');
r.on('message', () => {});
r.bind(0, '127.0.0.1', () => {
  const s = dgram.createSocket({ type: 'udp4', sendBufferSize: 4096 });
  s.bind(0, '127.0.0.1', () => {
    const N = 300;
    let done = 0;
    let ownStore = 0;
    const ran = new Set();
    let triggeredBySocket = 0;
    for (let i = 0; i < N; i++) {
      als.run(i, () => s.send(Buffer.alloc(1200), r.address().port, '127.0.0.1', (err) => {
        if (als.getStore() === i) ownStore++;
        const type = types.get(executionAsyncId());
        ran.add(type === 'TickObject' ? 'a tick' : type);
        if (++done === N) setTimeout(report, 300);
      }));
    }
    // The socket's own resource: the trigger the builtin gives its send requests.
    function report() {
      const udp = [...types].filter(([, type]) => type === 'UDPWRAP').map(([id]) => id);
      const sender = udp[1]; // made second (r first)
      const wraps = [...sendWraps.values()];
      out('callbacks', done, 'each with its own store', ownStore === N);
      out('callbacks ran in', [...ran].sort());
      out('send requests made', wraps.length > 0, 'all triggered by the socket', wraps.every((w) => w.trigger === sender),
        'all destroyed', wraps.every((w) => w.destroyed));
      s.close(); r.close();
    }
  });
});
`;

test('sends that wait for the kernel: their callbacks run in a UDPSENDWRAP with their send\'s store, as the builtin\'s', T, async (t) => {
  await compareInSlowNamespace(t, 'asyncctx', SENDER, [
    '["callbacks",300,"each with its own store",true]',
    '["callbacks ran in",["UDPSENDWRAP","a tick"]]',
    '["send requests made",true,"all triggered by the socket",true,"all destroyed",true]',
  ], 'send requests (UDPSENDWRAP)');
});
