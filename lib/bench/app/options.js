'use strict';

// Command line of `turbo-dgram-bench app [options] -- COMMAND [ARGS...]`.

const { parseOptions, UsageError } = require('../options');

const USAGE = `usage: turbo-dgram-bench app [options] -- COMMAND [ARGS...]
       npm run bench -- app [options] -- COMMAND [ARGS...]

A/B-benchmarks your own UDP app, unmodified: starts COMMAND once per subject and repetition,
taking turns (node:dgram, then turbo-dgram through the drop-in hook, one subject per receive
driver), drives it with the native load generator and measures it from outside (/proc).
The hook reaches the app through NODE_OPTIONS (-r turbo-dgram/register for CommonJS, --import
for an ES module entry), so \`npm start\`-style commands work too; node:dgram runs get
TURBO_DGRAM=off, so a hook already in your NODE_OPTIONS stays off for them.

  --port N             the app's UDP port (default: the one UDP port the app's process tree
                       binds, found in /proc; give --port when it binds several)
  --load MODE          echo          one request in flight, the app replies (default)
                       requests=N    N requests/s in total from 64 clients, replies expected
                       rate=N        N datagrams/s evenly spaced from 64 source ports, no reply
                       flood         as fast as the load generator can, from 64 source ports
  --payload P          dns (a DNS query), statsd (a StatsD line), random (64 random bytes,
                       default) or a FILE whose bytes are sent as they are
  --quick              about a minute: 3 repetitions, short windows
  --reps N             repetitions (default 5, quick 3)
  --window-ms N        measuring window of each run (default 5000, quick 3000)
  --warmup-ms N        load before the window opens (default 1000, quick 700)
  --drivers LIST       turbo-dgram drivers to measure, each a subject (default: all it offers)
  --hook cjs|esm       how the hook is preloaded (default: from the entry file / package.json)
  --bind-timeout-ms N  how long the app may take to bind its port (default 15000)
  --no-pin             do not pin the app and the load to separate CPUs
  --out DIR            where the JSON and SVG go (default ./bench-results)
  --wide               the full table, however wide (by default it fits 120 columns)
  -h, --help

Measured per run: datagrams delivered (replies the load generator counted, or sent minus the
kernel's drops), kernel drops on the port (/proc/net/udp), reply latency p50/p99/p99.9, CPU per
datagram of the app's whole process tree (/proc/PID/stat, all threads), peak RSS of the process
holding the port (VmHWM), and which dgram that process really loaded (turbo_dgram.node in
/proc/PID/maps, and its reactor thread).

Examples:
  turbo-dgram-bench app --quick --port 47411 --load echo -- node echo-app.js 47411
  turbo-dgram-bench app --load requests=20000 --payload dns -- node examples/dns-responder.js 5353
  turbo-dgram-bench app --load rate=50000 --payload statsd -- node examples/statsd-collector.js 8125
  turbo-dgram-bench app --load flood --payload ./sample.bin --out results -- npm start`;

const DEFAULTS = {
  port: null, load: 'echo', payload: 'random', quick: false, reps: null, windowMs: null, warmupMs: null,
  drivers: null, hook: null, bindTimeoutMs: 15000, pin: true, out: 'bench-results', wide: false, help: false,
};
const FLAGS = { quick: 'quick', 'no-pin': 'pin', wide: 'wide', help: 'help', h: 'help' };
const VALUES = {
  port: ['port', 'int'], load: ['load', 'str'], payload: ['payload', 'str'], reps: ['reps', 'int'],
  'window-ms': ['windowMs', 'int'], 'warmup-ms': ['warmupMs', 'int'], drivers: ['drivers', 'list'],
  hook: ['hook', 'str'], 'bind-timeout-ms': ['bindTimeoutMs', 'int'], out: ['out', 'str'],
};

/** --load into { kind: 'echo' | 'requests' | 'rate' | 'flood', rate }. */
function parseLoad(s) {
  if (s === 'echo' || s === 'flood') return { kind: s, rate: 0, text: s };
  const m = /^(requests|rate)=(\d+)(k?)$/.exec(s);
  if (m) {
    const rate = Number(m[2]) * (m[3] ? 1000 : 1);
    if (rate > 0 && rate <= 10_000_000) return { kind: m[1], rate, text: s };
  }
  throw new UsageError(`--load ${s}: expected echo, requests=N, rate=N or flood`);
}

function parseAppArgs(argv) {
  const o = { ...DEFAULTS };
  const sep = argv.indexOf('--');
  const opts = sep >= 0 ? argv.slice(0, sep) : argv;
  o.command = sep >= 0 ? argv.slice(sep + 1) : [];
  parseOptions(opts, FLAGS, VALUES, o, ' (the app\'s command goes after --)');
  if (o.help) return o;
  if (o.command.length === 0) throw new UsageError('no COMMAND: put the app\'s command after --');
  if (o.port != null && o.port > 65535) throw new UsageError(`--port ${o.port}: not a port`);
  if (o.hook != null && o.hook !== 'cjs' && o.hook !== 'esm') throw new UsageError(`--hook ${o.hook}: expected cjs or esm`);
  o.loadSpec = parseLoad(o.load);
  o.reps ??= o.quick ? 3 : 5;
  o.windowMs ??= o.quick ? 3000 : 5000;
  o.warmupMs ??= o.quick ? 700 : 1000;
  return o;
}

module.exports = { parseAppArgs, USAGE, UsageError };
