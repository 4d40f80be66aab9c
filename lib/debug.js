'use strict';

// NODE_DEBUG=turbo-dgram: what turbo-dgram chose, and why, on stderr as `TURBO-DGRAM <pid>: ...`
// (Node's util.debuglog): which addon file loaded or why none did (lib/native-load.js), how the
// drop-in hook went in (lib/register.js), the default receive driver and each socket's driver,
// asked and got (lib/socket.js). Off, each call is one check of a flag.

module.exports = require('node:util').debuglog('turbo-dgram');
