'use strict';

// What the load generator sends to the app: a built-in sample or the bytes of a file. tagBytes:
// how many leading bytes may carry a per-client sequence number the app echoes back (a DNS
// query's ID), so a late reply is never matched to the next request; 0 = match replies in order.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

/** A standard DNS query for example.com, type A, class IN, recursion desired (29 bytes). */
function dnsQuery() {
  const header = Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
  const name = Buffer.concat([Buffer.from([7]), Buffer.from('example'), Buffer.from([3]), Buffer.from('com'), Buffer.from([0])]);
  return Buffer.concat([header, name, Buffer.from([0x00, 0x01, 0x00, 0x01])]);
}

const BUILTIN = {
  dns: { describe: 'a DNS query (example.com A, 29 B)', make: dnsQuery, tagBytes: 2 },
  statsd: { describe: 'a StatsD line (api.requests:1|c|#route:/users)', make: () => Buffer.from('api.requests:1|c|#route:/users'), tagBytes: 0 },
  random: { describe: '64 random bytes', make: () => crypto.randomBytes(64), tagBytes: 8 },
};

/**
 * Resolves --payload (a built-in name or a file) into { name, bytes, tagBytes, file }, writing
 * the bytes to `dir` for the native load generator. A file's replies are matched in order.
 */
function preparePayload(spec, dir) {
  let p;
  if (Object.hasOwn(BUILTIN, spec)) {
    const b = BUILTIN[spec];
    p = { name: spec, describe: b.describe, bytes: b.make(), tagBytes: b.tagBytes };
  } else {
    let bytes;
    try {
      bytes = fs.readFileSync(spec);
    } catch (err) {
      throw new Error(`--payload ${spec}: not a built-in sample (${Object.keys(BUILTIN).join(', ')}) and not a readable file (${err.code})`);
    }
    if (bytes.length === 0 || bytes.length > 65507) throw new Error(`--payload ${spec}: ${bytes.length} bytes, must be 1..65507`);
    p = { name: path.basename(spec), describe: `${bytes.length} B from ${spec}`, bytes, tagBytes: 0 };
  }
  p.file = path.join(dir, 'payload.bin');
  fs.writeFileSync(p.file, p.bytes);
  return p;
}

module.exports = { preparePayload, BUILTIN };
