'use strict';

// A small authoritative DNS responder: answers A queries for the names in ZONE, NXDOMAIN for
// the rest, FORMERR for what it cannot parse. One datagram in, one out, as most DNS traffic is.
// Plain node:dgram: run it under turbo-dgram without changing a line,
//   node -r turbo-dgram/register examples/dns-responder.js 5353
// or A/B it:  turbo-dgram-bench app --load requests=20000 --payload dns -- node examples/dns-responder.js 5353
//   dig @127.0.0.1 -p 5353 example.com

const dgram = require('node:dgram');

const ZONE = new Map([
  ['example.com', [93, 184, 216, 34]],
  ['www.example.com', [93, 184, 216, 34]],
  ['api.example.com', [10, 0, 0, 7]],
]);
const TTL = 300;
const TYPE_A = 1;
const CLASS_IN = 1;

/** { id, flags, name, qtype, qclass, end } of the first question, or null if malformed. */
function parseQuery(msg) {
  if (msg.length < 12 || msg.readUInt16BE(4) < 1) return null;
  const labels = [];
  let off = 12;
  while (off < msg.length) {
    const len = msg[off++];
    if (len === 0) break;
    if (len > 63 || off + len > msg.length) return null; // no compression in a question
    labels.push(msg.toString('latin1', off, off + len).toLowerCase());
    off += len;
  }
  if (off + 4 > msg.length) return null;
  return { id: msg.readUInt16BE(0), flags: msg.readUInt16BE(2), name: labels.join('.'), qtype: msg.readUInt16BE(off),
    qclass: msg.readUInt16BE(off + 2), end: off + 4 };
}

function answer(msg, q) {
  const address = q.qclass === CLASS_IN ? ZONE.get(q.name) : undefined;
  const found = address !== undefined;
  const withRecord = found && q.qtype === TYPE_A;
  const question = msg.subarray(12, q.end);
  const out = Buffer.alloc(12 + question.length + (withRecord ? 16 : 0));
  out.writeUInt16BE(q.id, 0);
  // QR, opcode copied, AA, RD copied; RCODE 0 or 3 (NXDOMAIN)
  out.writeUInt16BE(0x8400 | (q.flags & 0x7900) | (found ? 0 : 3), 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(withRecord ? 1 : 0, 6);
  question.copy(out, 12);
  if (withRecord) {
    let off = 12 + question.length;
    out.writeUInt16BE(0xc00c, off); // a pointer to the question's name
    out.writeUInt16BE(TYPE_A, off + 2);
    out.writeUInt16BE(CLASS_IN, off + 4);
    out.writeUInt32BE(TTL, off + 6);
    out.writeUInt16BE(4, off + 10);
    off += 12;
    for (const b of address) out[off++] = b;
  }
  return out;
}

function formatError(msg) {
  const out = Buffer.alloc(12);
  if (msg.length >= 2) out.writeUInt16BE(msg.readUInt16BE(0), 0);
  out.writeUInt16BE(0x8001, 2);
  return out;
}

const socket = dgram.createSocket('udp4');
let served = 0;
socket.on('message', (msg, rinfo) => {
  const q = parseQuery(msg);
  socket.send(q ? answer(msg, q) : formatError(msg), rinfo.port, rinfo.address);
  served++;
});
socket.on('error', (err) => {
  console.error(`dns-responder: ${err.message}`);
  process.exit(1);
});
socket.bind(Number(process.argv[2] || 5353), process.argv[3] || '127.0.0.1', () => {
  const { address, port } = socket.address();
  console.log(`dns-responder: listening on ${address}:${port}`);
});
process.on('SIGTERM', () => {
  console.log(`dns-responder: ${served} queries answered`);
  socket.close(() => process.exit(0));
});
