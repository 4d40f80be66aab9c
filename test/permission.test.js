'use strict';

// The permission model (issue 13, item 2): in a process run with `--permission --allow-addons`
// and no `--allow-net`, every bind the builtin refuses must be refused the same way (the error's
// class, message, code, errno, permission, resource, address, port, and where it goes: 'error',
// a throw, a callback). On Nodes whose builtin does not check, both must bind. Child processes,
// since the flags are the process's.

const { test } = require('node:test');
const { childBoth } = require('./helpers/child');

const T = { timeout: 30000 };

// Node 20 names the model --experimental-permission.
const PERMISSION_FLAG = process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';
const FLAGS = [PERMISSION_FLAG, '--allow-fs-read=*', '--allow-addons'];

const SCENARIO = `
const util = require('node:util');
// The permission error's nested errno is an Error: shown with its own keys too.
const pick = (e) => {
  if (!e) return e;
  const shown = { class: e.constructor.name, message: e.message, keys: Object.keys(e) };
  for (const k of Object.keys(e)) shown[k] = e[k] instanceof Error ? pick(e[k]) : e[k];
  shown.stack = String(e.stack).split('\\n')[0];
  return shown;
};
const hasSync = typeof require('node:dgram').Socket.prototype.bindSync === 'function';
out('net allowed', process.permission.has('net'));
const sockets = [];
const make = (label, options = 'udp4') => {
  const s = dgram.createSocket(options);
  sockets.push(s);
  s.on('error', (e) => out(label, 'error event', pick(e)));
  s.on('listening', () => out(label, 'listening'));
  return s;
};
const steps = [
  () => make('bind').bind(0, '127.0.0.1', () => out('bind', 'callback')),
  () => make('bind port').bind({ port: 41999, address: '127.0.0.1' }),
  () => make('bind6').bind(0, '::1'),
  () => make('bind host').bind(0, 'localhost'),
  () => make('send').send('x', 9, '127.0.0.1', (e) => out('send', 'callback', pick(e))),
  () => make('connect').connect(9, '127.0.0.1', (e) => out('connect', 'callback', pick(e))),
  () => make('membership').addMembership('239.1.2.3'),
  () => hasSync && make('bindSync').bindSync({ port: 0, address: '127.0.0.1' }) && undefined,
  () => hasSync && make('connectSync').connectSync(9, '127.0.0.1'),
];
for (const [i, step] of steps.entries()) {
  try {
    out('step', i, 'returned', step() === undefined ? 'undefined' : 'a value');
  } catch (e) {
    out('step', i, 'threw', pick(e));
  }
}
setTimeout(() => { for (const s of sockets) s.close(); }, 300);
`;

test('permission model without --allow-net: binds refused as the builtin refuses them', T, async () => {
  await childBoth(SCENARIO, { nodeFlags: FLAGS, timeoutMs: 10000 });
});
