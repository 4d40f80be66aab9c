'use strict';

// Records, for one dgram module, which async context each socket event and callback runs in: the
// AsyncLocalStorage store, executionAsyncId() and triggerAsyncId() (named, not numbered), and the
// async_hooks events (init / before / after / destroy) of the socket's resources (UDPWRAP,
// UDPSENDWRAP) and of the lookups (GETADDRINFOREQWRAP). Run as a child process, once per module:
//   node test/helpers/async-context-probe.js <module> [scenario]
// Prints one JSON line per event; test/async-context.test.js compares the two modules' output.
//
// Ids are named by what they are: 'root' (the probe's top level), '<TYPE>#n' for a resource of a
// watched type in order of its init, 'tick' / 'immediate' / 'promise' for the scheduler's own
// resources, '?' for anything else.

const { AsyncLocalStorage, createHook, executionAsyncId, triggerAsyncId } = require('node:async_hooks');

const dgram = require(process.argv[2]);
const scenario = process.argv[3] || 'all';
const als = new AsyncLocalStorage();
const lines = [];
const out = (...args) => lines.push(JSON.stringify(args));

const WATCHED = new Set(['UDPWRAP', 'UDPSENDWRAP', 'GETADDRINFOREQWRAP']);
const SCHEDULER = { TickObject: 'tick', Immediate: 'immediate', PROMISE: 'promise', Timeout: 'timeout' };
const names = new Map([[executionAsyncId(), 'root'], [0, 'none'], [1, 'bootstrap']]);
const counts = new Map();
const name = (id) => names.get(id) ?? `?`;

createHook({
  init(id, type, trigger) {
    if (WATCHED.has(type)) {
      const n = (counts.get(type) ?? 0) + 1;
      counts.set(type, n);
      names.set(id, `${type}#${n}`);
      out('init', names.get(id), 'trigger', name(trigger), 'in', name(executionAsyncId()), 'store', als.getStore());
    } else if (SCHEDULER[type] !== undefined) {
      names.set(id, SCHEDULER[type]);
    }
  },
  before(id) {
    if (WATCHED.has(names.get(id)?.split('#')[0])) out('before', names.get(id));
  },
  after(id) {
    if (WATCHED.has(names.get(id)?.split('#')[0])) out('after', names.get(id));
  },
  destroy(id) {
    if (WATCHED.has(names.get(id)?.split('#')[0])) out('destroy', names.get(id));
  },
}).enable();

// Where a callback runs: its store and the names of the current and triggering resources.
function where(label, ...extra) {
  out(label, ...extra, 'store', als.getStore(), 'exec', name(executionAsyncId()), 'trigger', name(triggerAsyncId()));
}

const scenarios = {
  // A server and a client in their own stores; bind, send with a callback, echo, connect, close.
  async echo() {
    const server = als.run('server-create', () => dgram.createSocket('udp4'));
    server.on('message', (msg, rinfo) => {
      where('server message', String(msg));
      als.run('server-reply', () => server.send(msg, rinfo.port, rinfo.address, (err) => where('server send cb', err)));
    });
    server.on('close', () => where('server close'));
    await new Promise((resolve) => als.run('server-bind', () => server.bind(0, '127.0.0.1', () => {
      where('server bind cb');
      resolve();
    })));
    const port = server.address().port;

    const client = als.run('client-create', () => dgram.createSocket('udp4', () => where('client message listener')));
    client.on('listening', () => where('client listening'));
    const echoed = new Promise((resolve) => client.once('message', () => {
      where('client message');
      resolve();
    }));
    await new Promise((resolve) => als.run('client-send', () => client.send('hi', port, '127.0.0.1', (err, n) => {
      where('client send cb', err, n);
      resolve();
    })));
    await echoed;

    const connected = als.run('c2-create', () => dgram.createSocket('udp4'));
    await new Promise((resolve) => als.run('c2-connect', () => connected.connect(port, '127.0.0.1', () => {
      where('c2 connect cb');
      resolve();
    })));
    await new Promise((resolve) => als.run('c2-send', () => connected.send('x', (err) => {
      where('c2 send cb', err);
      resolve();
    })));

    await new Promise((resolve) => als.run('c2-close', () => connected.close(() => {
      where('c2 close cb');
      resolve();
    })));
    await new Promise((resolve) => als.run('client-close', () => client.close(resolve)));
    await new Promise((resolve) => als.run('server-close', () => server.close(resolve)));
  },

  // Errors: a bind to a port in use; sends through lookups: localhost (getaddrinfo, from /etc/hosts)
  // and a user lookup that fails, with and without a callback.
  async errors() {
    const holder = dgram.createSocket('udp4');
    await new Promise((resolve) => holder.bind(0, '127.0.0.1', resolve));
    const s = als.run('err-create', () => dgram.createSocket('udp4'));
    await new Promise((resolve) => {
      s.once('error', (err) => {
        where('bind error', err.code);
        resolve();
      });
      als.run('err-bind', () => s.bind(holder.address().port, '127.0.0.1'));
    });
    const t = als.run('lookup-create', () => dgram.createSocket('udp4'));
    await new Promise((resolve) => als.run('lookup-send', () => t.send('x', 9, 'localhost', (err) => {
      where('lookup send cb', err && err.code);
      resolve();
    })));
    // A lookup that fails (on a later turn, in a context of its own), without touching DNS.
    // IP literals (the implicit bind's) are answered.
    const failing = (host, family, cb) => {
      if (require('node:net').isIP(host)) setImmediate(cb, null, host, family);
      else setImmediate(cb, Object.assign(new Error(`no ${host}`), { code: 'ENOTFOUND' }));
    };
    const u = als.run('failing-create', () => dgram.createSocket({ type: 'udp4', lookup: failing }));
    await new Promise((resolve) => als.run('bad-host', () => u.send('x', 9, 'bad.host', (err) => {
      where('bad host cb', err && err.code);
      resolve();
    })));
    await new Promise((resolve) => {
      u.once('error', (err) => {
        where('send error event', err.code);
        resolve();
      });
      als.run('bad-host-nocb', () => u.send('x', 9, 'bad.host'));
    });
    for (const x of [holder, s, t, u]) x.close();
  },
};

// A 'message' listener that throws: the next datagram is delivered in the socket's context as
// usual. (Where 'uncaughtException' runs differs: README, "Differences".)
scenarios.throws = async function throws() {
  process.on('uncaughtException', () => {});
  const s = als.run('throw-create', () => dgram.createSocket('udp4'));
  let n = 0;
  const second = new Promise((resolve) => s.on('message', (msg) => {
    where('message', String(msg));
    if (++n === 1) throw new Error('listener threw');
    resolve();
  }));
  await new Promise((resolve) => s.bind(0, '127.0.0.1', resolve));
  const c = dgram.createSocket('udp4');
  await new Promise((resolve) => c.send('one', s.address().port, '127.0.0.1', resolve));
  await new Promise((resolve) => setTimeout(resolve, 30));
  c.send('two', s.address().port, '127.0.0.1');
  await second;
  c.close();
  s.close();
};

(async () => {
  for (const [key, run] of Object.entries(scenarios)) {
    if (scenario !== 'all' && scenario !== key) continue;
    out('scenario', key);
    await run();
  }
  // Let the destroy hooks (queued) run before printing.
  await new Promise((resolve) => setTimeout(resolve, 50));
  process.stdout.write(lines.join('\n') + '\n');
})();
