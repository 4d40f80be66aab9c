'use strict';

// turbo-dgram: node:dgram's API (createSocket, Socket) over a Rust reactor that moves datagrams in
// batches. `drivers` (an extra) lists the receive drivers createSocket({ driver }) accepts.

const { Socket, createSocket, drivers } = require('./socket');

module.exports = { createSocket, Socket, drivers };
