'use strict';

// The deprecated private members (DEP0112: _handle, _receiving, _bindState, _queue, _reuseAddr,
// _healthCheck(), _stopReceiving()) where the builtin still has them (Node 20; Node 26 removed
// them, and so has turbo-dgram there), their warnings, and the diagnostics_channel 'udp.socket'
// message published on creation. Child processes: a deprecation warns once per process.

const { test } = require('node:test');
const { childBoth } = require('./helpers/child');

const T = { timeout: 20000 };

test('DEP0112 private members: presence, values through the lifecycle, warnings (once each)', T, async () => {
  const { builtin } = await childBoth(`
    process.on('warning', (w) => out('warning', w.name, w.code, w.message));
    const names = ['_handle', '_receiving', '_bindState', '_queue', '_reuseAddr', '_healthCheck', '_stopReceiving'];
    const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    out('present', names.map((n) => n in s));
    const show = (when) => {
      if (!('_handle' in s)) return;
      out(when, {
        handle: s._handle === null ? null : typeof s._handle,
        receiving: s._receiving,
        bindState: s._bindState,
        queue: Array.isArray(s._queue) ? 'array of ' + s._queue.length : s._queue,
        reuseAddr: s._reuseAddr,
      });
    };
    show('unbound');
    s.bind(0, '127.0.0.1');
    s.send('queued while binding', 9, '127.0.0.1');
    show('binding');
    s.on('listening', () => {
      show('listening');
      if ('_healthCheck' in s) out('_healthCheck()', s._healthCheck());
      const r = dgram.createSocket('udp4');
      s.on('message', (m) => out('message after _stopReceiving', String(m)));
      if ('_stopReceiving' in s) out('_stopReceiving()', s._stopReceiving());
      show('stopped');
      r.send('hello', s.address().port, '127.0.0.1', () => setTimeout(() => {
        r.close();
        s.close();
        show('closed');
        if ('_healthCheck' in s) { try { s._healthCheck(); } catch (e) { out('_healthCheck() after close threw', e.code); } }
        if ('_reuseAddr' in s) { s._reuseAddr = 'set'; out('_reuseAddr after set', s._reuseAddr); }
      }, 100));
    });
  `);
  const present = builtin.stdout.find((line) => line.startsWith('["present"'));
  if (/true/.test(present)) {
    // The builtin of this Node has them: the run must have warned.
    if (!builtin.stdout.some((line) => line.includes('DEP0112'))) throw new Error(`no DEP0112 warning:\n${builtin.stdout.join('\n')}`);
  }
});

test("diagnostics_channel 'udp.socket': published once per created socket, with { socket }", T, async () => {
  const { builtin } = await childBoth(`
    const dc = require('node:diagnostics_channel');
    const seen = [];
    const onSocket = (message, name) => {
      seen.push(message.socket);
      out('published', name, Object.keys(message), message.socket instanceof dgram.Socket, message.socket.type,
        'listeners at publish', message.socket.listenerCount('message'));
    };
    dc.subscribe('udp.socket', onSocket);
    const a = dgram.createSocket('udp4', () => {});
    out('created a', seen[seen.length - 1] === a);
    const b = new dgram.Socket({ type: 'udp6' });
    out('created b', seen[seen.length - 1] === b);
    try { dgram.createSocket('udp5'); } catch (e) { out('bad type', e.code, 'published', seen.length); }
    dc.unsubscribe('udp.socket', onSocket);
    const c = dgram.createSocket('udp4');
    out('after unsubscribe', seen.length);
    a.close(); b.close(); c.close();
  `);
  if (!builtin.stdout.some((line) => line.includes('"published","udp.socket"'))) throw new Error(`nothing published:\n${builtin.stdout.join('\n')}`);
});
