'use strict';

// Binding in a cluster worker, as the builtin does it: a non-exclusive bind is not a bind but a
// request to the primary (`cluster._getServer`, which the builtin calls and Node's own cluster
// tests replace), which binds one handle per address and port and shares it with every worker
// that asks. The worker adopts a duplicate of that handle's fd and keeps the handle itself until
// the socket closes: closing it tells the primary that this worker is done with it (the primary
// closes its own when the last worker is), and `worker.disconnect()` closes the workers' shared
// handles, which here closes the socket that adopted it, as it closes the builtin's.
//
// The primary side is Node's own (it makes a builtin handle from the options we send), so the
// options are the builtin's: libuv's flag values, the address as resolved, fd -1 unless bind({ fd }).

const os = require('node:os');
const process = require('node:process');

// libuv's uv_udp_flags, which the primary hands to its bind: UV_UDP_IPV6ONLY is 1 (not exported
// by Node), UV_UDP_REUSEADDR is os.constants'.
const UV_UDP_IPV6ONLY = 1;
const UV_UDP_REUSEADDR = os.constants.UV_UDP_REUSEADDR;

let cluster; // loaded on the first bind, as the builtin does

function isWorker() {
  cluster ??= require('node:cluster');
  return cluster.isWorker;
}

// Whether the running builtin binds a reusePort socket itself (Nodes that know the option take
// it for an exclusive bind); an older builtin ignores reusePort and asks the primary.
let builtinKnowsReusePort;
function reusePortIsExclusive() {
  if (builtinKnowsReusePort === undefined) {
    const builtin = process.getBuiltinModule?.('node:dgram') ?? require('node:dgram');
    builtinKnowsReusePort = Function.prototype.toString.call(builtin.Socket.prototype.bind).includes('reusePort');
  }
  return builtinKnowsReusePort;
}

// Whether a bind with these options goes to the primary.
function sharesHandle(exclusive, reusePort) {
  return !exclusive && !(reusePort && reusePortIsExclusive()) && isWorker();
}

// The flags the primary binds with.
function primaryFlags(reuseAddr, ipv6Only) {
  return (reuseAddr ? UV_UDP_REUSEADDR : 0) | (ipv6Only ? UV_UDP_IPV6ONLY : 0);
}

// Asks the primary for the shared handle. `isOpen()` says whether the socket is still open when
// the reply comes: an error for a closed socket is dropped, a handle for one is closed (released
// at the primary), as the builtin does. Otherwise onError(errno) or onHandle(handle).
function requestHandle(socket, options, isOpen, onError, onHandle) {
  cluster._getServer(socket, options, (err, handle) => {
    if (err) {
      if (isOpen()) onError(err);
      return;
    }
    if (!isOpen()) {
      handle.close();
      return;
    }
    onHandle(handle);
  });
}

// The socket adopted `handle`'s fd: from now on closing the socket releases the handle, and the
// worker's own close of the handle (worker.disconnect()) closes the socket. Returns the release
// function for the socket's close().
function tieToSocket(handle, closeSocket) {
  const release = handle.close; // the cluster's: tells the primary, then closes the handle
  let released = false;
  handle.close = function (callback) {
    closeSocket(callback);
  };
  return () => {
    if (released) return;
    released = true;
    handle.close = release;
    handle.close();
  };
}

module.exports = { primaryFlags, requestHandle, sharesHandle, tieToSocket };
