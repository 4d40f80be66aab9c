'use strict';

// What kind of fd bind({ fd }) was given, in libuv's uv_guess_handle names ('UDP', 'TCP', 'PIPE',
// 'TTY', 'FILE', 'UNKNOWN'): the builtin refuses anything but 'UDP' with ERR_INVALID_FD_TYPE.

const fs = require('node:fs');
const tty = require('node:tty');

function guessFdType(fd) {
  let stats;
  try {
    stats = fs.fstatSync(fd);
  } catch {
    return 'UNKNOWN';
  }
  if (tty.isatty(fd)) return 'TTY';
  if (stats.isFile() || stats.isCharacterDevice()) return 'FILE';
  if (stats.isFIFO()) return 'PIPE';
  if (stats.isSocket()) return socketFdType(stats.ino);
  return 'UNKNOWN';
}

// uv_guess_handle for a socket: a stream AF_UNIX socket is 'PIPE' (Node's own stdio pipes are
// socketpairs), a TCP one 'TCP', other AF_UNIX sockets 'UNKNOWN'. JS cannot ask the fd for
// SO_TYPE, so the socket's inode is looked up in this network namespace's /proc/net tables; one
// not found there is taken for UDP, and native.open checks that it is a datagram socket.
function socketFdType(inode) {
  const read = (file) => {
    try {
      return fs.readFileSync(`/proc/net/${file}`, 'latin1').split('\n');
    } catch {
      return [];
    }
  };
  const ino = String(inode);
  for (const line of read('unix')) {
    const fields = line.trim().split(/\s+/); // Num RefCount Protocol Flags Type St Inode [Path]
    if (fields[6] === ino) return fields[4] === '0001' ? 'PIPE' : 'UNKNOWN';
  }
  for (const file of ['tcp', 'tcp6']) {
    for (const line of read(file)) {
      if (line.trim().split(/\s+/)[9] === ino) return 'TCP';
    }
  }
  return 'UDP';
}

module.exports = { guessFdType };
