'use strict';

// The permission model (`node --permission` without `--allow-net`). Where the builtin checks the
// network permission, so do we: loading turbo-dgram (which needs --allow-addons) must not lift the
// user's policy. The builtin checks in its handle's bind, so every bind fails there: bind() emits
// the error, bindSync() / connectSync() throw it, and the implicit binds of send() and connect()
// emit it too; the deferred bind of a membership call is libuv's and is not checked.
//
// Which Nodes check is asked of the running builtin, once, and only in a process whose policy
// denies the network: a builtin socket's bindSync() (the synchronous bind that Nodes with the check
// have) either throws ERR_ACCESS_DENIED, whose shape and messages we then reproduce, or binds (a
// Node that does not check; the probe socket is closed at once). A Node without bindSync predates
// the check.

const process = require('node:process');

let denial; // the builtin's error, null if it does not check, undefined until asked

function builtinDenial() {
  if (denial === undefined) {
    denial = null;
    const builtin = process.getBuiltinModule?.('node:dgram') ?? require('node:dgram');
    const probe = builtin.createSocket('udp4');
    if (typeof probe.bindSync === 'function') {
      try {
        probe.bindSync({ port: 0, address: '127.0.0.1' });
      } catch (err) {
        if (err?.code === 'ERR_ACCESS_DENIED' && err.errno instanceof Error) denial = err;
      }
    }
    probe.close();
  }
  return denial;
}

// The error a bind to `ip`, `port` (as the user gave it) fails with under the running policy, or
// null when it may bind. As the builtin's: an Error whose errno is the permission error itself
// (code, permission, resource: the address), and whose message names neither address nor port.
function bindDenied(ip, port) {
  const { permission } = process;
  if (permission === undefined || permission.has('net')) return null;
  const template = builtinDenial();
  if (template === null) return null;
  const cause = new Error(template.errno.message);
  cause.code = template.errno.code;
  cause.permission = template.errno.permission;
  cause.resource = ip;
  const err = new Error(template.message);
  err.errno = cause;
  err.code = template.code;
  err.syscall = 'bind';
  err.address = ip;
  if (port) err.port = port;
  return err;
}

module.exports = { bindDenied };
