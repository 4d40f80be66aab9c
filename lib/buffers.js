'use strict';

// What send() and the sendMany() extra accept as a datagram's data, turned into Buffers: a Buffer,
// any TypedArray or DataView (viewed, not copied), or a string (UTF-8); a list of those is one
// datagram, concatenated.

// A module binding, not the global: `Buffer` on globalThis is a getter, run on every use below.
const { Buffer } = require('node:buffer');
const { isArrayBufferView } = require('node:util/types');

// The types named in their ERR_INVALID_ARG_TYPE messages.
const BUFFER_TYPES = ['Buffer', 'TypedArray', 'DataView', 'string'];

// `chunk` as a Buffer, or null if it is not one of the accepted types.
function toBuffer(chunk) {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (isArrayBufferView(chunk)) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return null;
}

// The chunks of one datagram as Buffers, or null if one is not of an accepted type.
function toBufferList(list) {
  const out = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    out[i] = toBuffer(list[i]);
    if (out[i] === null) return null;
  }
  return out;
}

// One datagram from its chunks.
function joinChunks(chunks) {
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

module.exports = { BUFFER_TYPES, joinChunks, toBuffer, toBufferList };
