'use strict';

// turbo-dgram: node:dgram's API (createSocket, Socket) over a Rust reactor that moves datagrams in
// batches. `drivers` (an extra) lists the receive drivers createSocket({ driver }) accepts;
// `implementation` says which dgram this is: 'turbo-dgram', or 'node:dgram' when the addon could
// not be loaded and the builtin stands in (with one warning, see lib/fallback.js).

const { loadNative } = require('./native-load');

function turboExports() {
  const { Socket, createSocket, drivers } = require('./socket');
  return { createSocket, Socket, drivers, implementation: 'turbo-dgram' };
}

const { error } = loadNative();
module.exports = error ? require('./fallback').builtinExports(error) : turboExports();
