// A small StatsD collector (an ES module): counters, gauges, timers and sets from lines like
// "api.requests:1|c|@0.5|#route:/users", several per datagram, aggregated and flushed every
// FLUSH_MS to stdout as a one-line summary. Never replies, as StatsD servers do not.
// Plain node:dgram: run it under turbo-dgram without changing a line,
//   node --import turbo-dgram/register examples/statsd-collector.mjs 8125
// or A/B it:  turbo-dgram-bench app --load rate=50000 --payload statsd -- node examples/statsd-collector.mjs 8125

import dgram from 'node:dgram';

const FLUSH_MS = 10000;
const counters = new Map();
const gauges = new Map();
const timers = new Map();
const sets = new Map();
let lines = 0;
let bad = 0;

function record(line) {
  const colon = line.indexOf(':');
  const bar = line.indexOf('|', colon);
  if (colon <= 0 || bar < 0) { bad++; return; }
  const name = line.slice(0, colon);
  const value = line.slice(colon + 1, bar);
  const fields = line.slice(bar + 1).split('|');
  const type = fields[0];
  let rate = 1;
  for (const f of fields.slice(1)) if (f.startsWith('@')) rate = Number(f.slice(1)) || 1;
  const n = Number(value);
  if (type === 'c' && Number.isFinite(n)) counters.set(name, (counters.get(name) || 0) + n / rate);
  else if (type === 'g' && Number.isFinite(n)) gauges.set(name, /^[+-]/.test(value) ? (gauges.get(name) || 0) + n : n);
  else if ((type === 'ms' || type === 'h' || type === 'd') && Number.isFinite(n)) {
    if (!timers.has(name)) timers.set(name, []);
    timers.get(name).push(n);
  } else if (type === 's') {
    if (!sets.has(name)) sets.set(name, new Set());
    sets.get(name).add(value);
  } else { bad++; return; }
  lines++;
}

function flush() {
  let timed = 0;
  for (const values of timers.values()) timed += values.length;
  console.log(`statsd-collector: ${lines} lines (${bad} bad), ${counters.size} counters, ${gauges.size} gauges, ` +
    `${timers.size} timers (${timed} values), ${sets.size} sets`);
  counters.clear();
  timers.clear();
  sets.clear();
  lines = 0;
  bad = 0;
}

const socket = dgram.createSocket('udp4');
socket.on('message', (msg) => {
  for (const line of msg.toString('utf8').split('\n')) if (line) record(line);
});
socket.on('error', (err) => {
  console.error(`statsd-collector: ${err.message}`);
  process.exit(1);
});
socket.bind(Number(process.argv[2] || 8125), process.argv[3] || '127.0.0.1', () => {
  const { address, port } = socket.address();
  console.log(`statsd-collector: listening on ${address}:${port}`);
});
setInterval(flush, FLUSH_MS).unref();
process.on('SIGTERM', () => {
  flush();
  socket.close(() => process.exit(0));
});
