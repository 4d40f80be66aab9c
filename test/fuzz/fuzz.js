#!/usr/bin/env node
'use strict';

// Differential fuzzer: random sequences of node:dgram API calls with hostile arguments, run once on
// Node's builtin `node:dgram` (the reference) and once on turbo-dgram, on sockets A, B, C that talk
// to each other over loopback. What each run observes is compared:
//   - every call's return value or thrown error (class, name, code, errno, syscall, message, ...),
//   - per socket, in order: events ('listening', 'connect', 'error', 'close') and callbacks (bind,
//     connect, send, close), with their arguments,
//   - per socket, in order: the datagrams received ('message': payload and rinfo).
// Order across sockets is not compared (delivery to another socket is timing, not contract), and
// ephemeral ports are renamed '<portN>' in order of first appearance (test/helpers/differential.js).
//
// A program is plain data (a list of steps) generated from a seeded PRNG, so a seed reproduces it.
// A divergence is confirmed by running the program again, then shrunk by removing steps while it
// still diverges, and printed as the shortest program found (JSON, replayable, and as JS).
//
// Usage: node test/fuzz/fuzz.js [--seed N] [--count CALLS] [--driver handover|thread|inline]
//                               [--replay FILE.json] [--quiet]
//   --seed N       first program's seed (default 1); program i uses seed N + i
//   --count CALLS  stop after this many API calls (default 2000)
//   --driver D     turbo-dgram's receive driver (sets TURBO_DGRAM_DRIVER; default: handover)
//   --replay FILE  run the program in FILE (as printed for a divergence) and show both logs
// Exit status: 0 no divergence, 1 divergences (each printed), 2 usage.
//
// Only loopback is used: destinations are 127.0.0.0/8, ::1 and 0.0.0.0 (local on Linux); addresses
// that are not local appear only in bind / membership calls, which send nothing.

const util = require('node:util');
const { canonicalisePorts, normalise, render, loadSubject } = require('../helpers/differential');

// ---------------------------------------------------------------------------------------------
// Seeded PRNG (mulberry32): the same seed gives the same program on every machine.

function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
  };
}

// ---------------------------------------------------------------------------------------------
// Argument descriptors: JSON data that `materialise` turns into fresh values for each run (objects
// with getters and buffers must not be shared between the two runs).

const SLOTS = ['A', 'B', 'C'];

const NUMBERS = [
  { k: 'lit', v: 0 }, { k: 'lit', v: 1 }, { k: 'lit', v: -1 }, { k: 'lit', v: 1.5 }, { k: 'lit', v: 255 },
  { k: 'lit', v: 256 }, { k: 'lit', v: 65535 }, { k: 'lit', v: 65536 }, { k: 'lit', v: 4294967296 },
  { k: 'lit', v: 2147483648 }, { k: 'NaN' }, { k: 'Inf' }, { k: 'lit', v: '5' }, { k: 'lit', v: '' },
  { k: 'lit', v: null }, { k: 'undef' }, { k: 'lit', v: true }, { k: 'lit', v: 8192 }, { k: 'bigint' },
  { k: 'obj' }, { k: 'lit', v: ' 12 ' }, { k: 'lit', v: -0.0000001 }, { k: 'lit', v: 64 },
];

// Destinations that stay on this machine.
const DEST_ADDRESSES = [
  { k: 'lit', v: '127.0.0.1' }, { k: 'lit', v: '127.0.0.1' }, { k: 'lit', v: '127.0.0.1' }, { k: 'lit', v: '::1' },
  { k: 'lit', v: '' }, { k: 'lit', v: '0.0.0.0' }, { k: 'lit', v: '127.0.0.1\u0000junk' }, { k: 'lit', v: 'localhost' },
  { k: 'lit', v: '::ffff:127.0.0.1' }, { k: 'lit', v: '127.1' }, { k: 'lit', v: 42 }, { k: 'lit', v: null },
  { k: 'undef' }, { k: 'obj' }, { k: 'lit', v: '::' }, { k: 'lit', v: '127.0.0.2' },
];

// Bind addresses: local ones, plus literals that are not local (bind fails, nothing is sent).
const BIND_ADDRESSES = [
  { k: 'lit', v: '127.0.0.1' }, { k: 'lit', v: '127.0.0.1' }, { k: 'lit', v: '::1' }, { k: 'lit', v: '0.0.0.0' },
  { k: 'lit', v: '::' }, { k: 'lit', v: '' }, { k: 'lit', v: '10.255.77.1' }, { k: 'lit', v: '127.0.0.1\u0000x' },
  { k: 'lit', v: 'localhost' }, { k: 'lit', v: 'fe80::1%nonexistent0' }, { k: 'lit', v: 42 }, { k: 'undef' },
];

const PORTS = [
  { k: 'peer', slot: 'A' }, { k: 'peer', slot: 'B' }, { k: 'peer', slot: 'C' }, { k: 'peer', slot: 'B' },
  { k: 'lit', v: 9 }, { k: 'lit', v: 0 }, ...NUMBERS,
];

function genBuffer(r) {
  switch (r.int(16)) {
    case 0: return { k: 'buf', n: 0 };
    case 1: return { k: 'buf', n: 65507 }; // the largest IPv4 UDP payload
    case 2: return { k: 'buf', n: 65508 }; // one byte too many: EMSGSIZE
    case 3: return { k: 'buf', n: 70000 };
    case 4: return { k: 'lit', v: 'hi\u0000there' };
    case 5: return { k: 'lit', v: '' };
    case 6: return { k: 'u8', n: r.int(40) };
    case 7: return { k: 'dv', n: r.int(40) };
    case 8: return { k: 'list', items: [{ k: 'lit', v: 'ab' }, { k: 'buf', n: r.int(5) }] };
    case 9: return { k: 'list', items: [] };
    case 10: return { k: 'list', items: [{ k: 'lit', v: 1 }] };
    case 11: return r.pick([{ k: 'lit', v: 5 }, { k: 'lit', v: null }, { k: 'undef' }, { k: 'obj' }, { k: 'lit', v: true }]);
    default: return { k: 'buf', n: 1 + r.int(100) };
  }
}

// Callback actions: what a callback or 'message' handler does besides logging.
const ACTIONS = ['log', 'log', 'log', 'close', 'closeOther', 'bindSelf', 'sendOther', 'echo', 'closeTwice'];

function genCallback(r, slot) {
  return { k: 'cb', slot, label: `cb${r.int(1000)}`, action: r.pick(ACTIONS), other: r.pick(SLOTS) };
}

function maybeCallback(r, slot) {
  return r.chance(0.6) ? genCallback(r, slot) : r.pick([{ k: 'undef' }, { k: 'lit', v: 'notfn' }, { k: 'lit', v: null }]);
}

function genCreateArg(r) {
  const type = r.chance(0.85) ? (r.chance(0.8) ? 'udp4' : 'udp6') : r.pick(['udp5', '', 'UDP4', 'tcp']);
  switch (r.int(12)) {
    case 0: return { k: 'lit', v: type };
    case 1: return { k: 'lit', v: 42 };
    case 2: return { k: 'opts', props: { type, reuseAddr: r.chance(0.5) } };
    case 3: return { k: 'opts', props: { type, recvBufferSize: r.pick(NUMBERS), sendBufferSize: r.pick(NUMBERS) } };
    case 4: return { k: 'opts', props: { type }, throwOn: r.pick(['type', 'lookup', 'recvBufferSize', 'reuseAddr', 'signal']) };
    case 5: return { k: 'opts', props: { type, lookup: r.pick([{ k: 'lit', v: 'notfn' }, { k: 'lookupLoopback' }, { k: 'lookupFails' }]) } };
    case 6: return { k: 'opts', props: { type, signal: r.pick([{ k: 'lit', v: 'x' }, { k: 'abortedSignal' }, { k: 'obj' }]) } };
    case 7: return { k: 'opts', props: { type, ipv6Only: r.chance(0.5), reusePort: r.chance(0.3) } };
    case 8: return { k: 'opts', props: { type, receiveBlockList: r.pick([{ k: 'lit', v: 1 }, { k: 'blockLoopback' }]) } };
    case 9: return { k: 'opts', props: { type, sendBlockList: r.pick([{ k: 'obj' }, { k: 'blockLoopback' }]) } };
    default: return { k: 'lit', v: type };
  }
}

function genBindArgs(r, slot) {
  switch (r.int(10)) {
    case 0: return [];
    case 1: return [maybeCallback(r, slot)];
    case 2: return [r.pick(PORTS), maybeCallback(r, slot)];
    case 3: return [{ k: 'opts', props: { port: r.pick(PORTS), address: r.pick(BIND_ADDRESSES), exclusive: r.chance(0.5) } }, maybeCallback(r, slot)];
    case 4: return [{ k: 'opts', props: { port: { k: 'lit', v: 0 }, address: { k: 'lit', v: '127.0.0.1' } }, throwOn: r.pick(['port', 'address', 'fd', 'exclusive']) }];
    case 5: return [{ k: 'opts', props: { fd: r.pick([{ k: 'lit', v: 0 }, { k: 'lit', v: 1 }, { k: 'lit', v: -1 }, { k: 'lit', v: 1.5 }, { k: 'NaN' }, { k: 'socketpairFd' }, { k: 'tcpFd' }]) } }];
    default: return [r.pick([{ k: 'lit', v: 0 }, { k: 'lit', v: 0 }, ...PORTS]), r.pick(BIND_ADDRESSES), maybeCallback(r, slot)];
  }
}

function genSendArgs(r, slot) {
  const cb = maybeCallback(r, slot);
  switch (r.int(8)) {
    case 0: return [genBuffer(r), r.pick(NUMBERS), r.pick(NUMBERS), r.pick(PORTS), r.pick(DEST_ADDRESSES), cb];
    case 1: return [genBuffer(r), cb]; // connected form
    case 2: return [genBuffer(r), r.pick(NUMBERS), r.pick(NUMBERS), cb]; // connected, with offset/length
    case 3: return [genBuffer(r), r.pick(PORTS), cb];
    default: return [genBuffer(r), r.pick(PORTS), r.pick(DEST_ADDRESSES), cb];
  }
}

const OPTION_CALLS = [
  ['setTTL', () => [NUMBERS]], ['setMulticastTTL', () => [NUMBERS]], ['setBroadcast', () => [[{ k: 'lit', v: true }, { k: 'lit', v: false }, { k: 'lit', v: 0 }]]],
  ['setMulticastLoopback', () => [[{ k: 'lit', v: true }, { k: 'lit', v: false }, { k: 'NaN' }]]],
  ['setMulticastInterface', () => [[{ k: 'lit', v: '127.0.0.1' }, { k: 'lit', v: '::1' }, { k: 'lit', v: 'nope' }, { k: 'lit', v: 1 }, { k: 'lit', v: '' }, { k: 'lit', v: '::%lo' }]]],
  ['setRecvBufferSize', () => [NUMBERS]], ['setSendBufferSize', () => [NUMBERS]],
  ['getRecvBufferSize', () => []], ['getSendBufferSize', () => []],
  ['getSendQueueSize', () => []], ['getSendQueueCount', () => []],
  ['address', () => []], ['remoteAddress', () => []], ['ref', () => []], ['unref', () => []],
  ['disconnect', () => []],
  ['addMembership', () => [[{ k: 'lit', v: '239.255.0.7' }, { k: 'lit', v: 'ff02::7' }, { k: 'lit', v: '1.2.3.4' }, { k: 'lit', v: '' }, { k: 'undef' }, { k: 'lit', v: 42 }], [{ k: 'lit', v: '127.0.0.1' }, { k: 'lit', v: '::1' }, { k: 'lit', v: 'x' }, { k: 'lit', v: null }]]],
  ['dropMembership', () => [[{ k: 'lit', v: '239.255.0.7' }, { k: 'lit', v: 'ff02::7' }, { k: 'lit', v: '' }], [{ k: 'lit', v: '127.0.0.1' }, { k: 'lit', v: '::1' }]]],
  ['addSourceSpecificMembership', () => [[{ k: 'lit', v: '127.0.0.1' }, { k: 'lit', v: 5 }], [{ k: 'lit', v: '232.1.1.1' }, { k: 'lit', v: '239.255.0.7' }, { k: 'lit', v: 'x' }], [{ k: 'lit', v: '127.0.0.1' }, { k: 'undef' }]]],
];

// One step: { op, slot, args } or { op: 'wait', how }.
function genStep(r) {
  const slot = r.pick(SLOTS);
  const roll = r.int(100);
  if (roll < 8) return { op: 'create', slot, args: [genCreateArg(r)] };
  if (roll < 18) return { op: 'bind', slot, args: genBindArgs(r, slot) };
  if (roll < 25) {
    const args = r.chance(0.8) ? [r.pick(PORTS), r.pick(DEST_ADDRESSES), maybeCallback(r, slot)] : [r.pick(PORTS), maybeCallback(r, slot)];
    return { op: 'connect', slot, args };
  }
  if (roll < 50) return { op: 'send', slot, args: genSendArgs(r, slot) };
  if (roll < 55) return { op: 'close', slot, args: r.chance(0.5) ? [genCallback(r, slot)] : [] };
  if (roll < 60) return { op: 'onMessage', slot, action: r.pick(ACTIONS), other: r.pick(SLOTS) };
  if (roll < 78) {
    const [name, argsOf] = r.pick(OPTION_CALLS);
    return { op: 'call', slot, method: name, args: argsOf().map((choices) => r.pick(choices)) };
  }
  if (roll < 82) return { op: 'sendto', slot, args: [genBuffer(r), r.pick(NUMBERS), r.pick(NUMBERS), r.pick(PORTS), r.pick(DEST_ADDRESSES), maybeCallback(r, slot)] };
  return { op: 'wait', how: r.pick(['tick', 'immediate', 'ms', 'ms']) };
}

// A program: A and B bound on 127.0.0.1 (so most calls reach a live peer), then random steps.
function genProgram(seed, length) {
  const r = prng(seed);
  const steps = [
    { op: 'create', slot: 'A', args: [{ k: 'lit', v: 'udp4' }] },
    { op: 'create', slot: 'B', args: [{ k: 'lit', v: r.chance(0.9) ? 'udp4' : 'udp6' }] },
    { op: 'bind', slot: 'A', args: [{ k: 'lit', v: 0 }, { k: 'lit', v: '127.0.0.1' }] },
    { op: 'bind', slot: 'B', args: [{ k: 'lit', v: 0 }, { k: 'lit', v: '127.0.0.1' }] },
    { op: 'wait', how: 'ms' },
  ];
  for (let i = 0; i < length; i++) steps.push(genStep(r));
  return steps;
}

function countCalls(steps) {
  return steps.filter((s) => s.op !== 'wait' && s.op !== 'onMessage').length;
}

// ---------------------------------------------------------------------------------------------
// Running a program against one dgram module.

// File descriptors of long-lived handles of this process, for bind({ fd }): a stream socketpair
// (what Node's stdio pipes are) and a listening TCP socket. Made on first use, never closed.
const fixtureFds = {};
async function prepareFixtures(steps) {
  await prepareLookups(steps);
  const text = JSON.stringify(steps);
  if (text.includes('"tcpFd"') && fixtureFds.tcp === undefined) {
    const server = require('node:net').createServer();
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    server.unref();
    fixtureFds.tcp = server._handle.fd;
  }
  if (text.includes('"socketpairFd"') && fixtureFds.socketpair === undefined) {
    // libuv makes a child's stdio pipes with socketpair(AF_UNIX, SOCK_STREAM).
    const child = require('node:child_process').spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'ignore', 'ignore'] });
    child.unref();
    fixtureFds.socketpair = child.stdin._handle.fd;
    child.stdin._handle.unref?.();
    process.once('exit', () => child.kill());
  }
}

// Host names (not IP literals) go to getaddrinfo on libuv's thread pool, whose answer lands at a
// moment that varies from run to run: against a `tick` or `immediate` step, or a callback that
// closes a socket, the same program then gives different logs even on the builtin alone (seeds
// 100770, 100851, 101194 of the run of seed 100000). So dns.lookup is wrapped, once, before
// any socket exists (the builtin reads it when it makes a socket, turbo-dgram when it looks up):
// every host name of a program is resolved for real beforehand (prepareFixtures), and during the
// runs the wrapper gives that same answer (a fresh copy of the error, if any) on a setImmediate,
// a fixed point of the loop. IP literals and argument errors go to the real dns.lookup unchanged.
const dnsAnswers = new Map(); // `${family} ${host}` -> [err, address, family]
let realLookup;

function isHostName(host) {
  return typeof host === 'string' && host !== '' && require('node:net').isIP(host) === 0;
}

function installDeterministicLookup() {
  if (realLookup !== undefined) return;
  const dns = require('node:dns');
  realLookup = dns.lookup;
  dns.lookup = function lookup(host, options, callback) {
    const answer = typeof options === 'number' && typeof callback === 'function' ?
      dnsAnswers.get(`${options} ${host}`) : undefined;
    if (!isHostName(host) || answer === undefined) return realLookup.apply(this, arguments);
    const [err, address, family] = answer;
    setImmediate(() => (err ? callback(Object.assign(new Error(err.message), err)) : callback(null, address, family)));
    return {};
  };
}

async function prepareLookups(steps) {
  installDeterministicLookup();
  const hosts = new Set();
  JSON.stringify(steps, (key, value) => {
    if (isHostName(value) && key === 'v') hosts.add(value);
    return value;
  });
  for (const host of hosts) {
    for (const family of [4, 6]) {
      if (dnsAnswers.has(`${family} ${host}`)) continue;
      const answer = await new Promise((resolve) => {
        try {
          realLookup(host, family, (err, address, fam) => resolve(err ? [err] : [null, address, fam]));
        } catch {
          resolve(undefined); // refused synchronously: left to the real lookup in the runs
        }
      });
      if (answer !== undefined) dnsAnswers.set(`${family} ${host}`, answer);
    }
  }
}

function fdOf(kind) {
  return fixtureFds[kind];
}

const WAIT_MS = 8;
const SETTLE_MS = 25;
// A 'message' handler acts on its first HANDLER_ROUNDS datagrams only. A handler that sends
// (sendOther, echo) to a socket that answers, or to its own, is a feedback loop; unbounded, how
// many rounds it ran before a timed wait ended or the cleanup closed the sockets was a matter of
// machine speed, so the same program logged different runs (seeds 200827, 201352). Bounded, the
// loop ends well within a wait, and still runs past libuv's 32 reads per poll phase.
const HANDLER_ROUNDS = 48;

class Run {
  constructor(dgram) {
    this.dgram = dgram;
    this.sockets = new Map(); // slot -> current socket
    this.all = []; // every socket created, for cleanup
    this.labels = new Map(); // socket -> label for normalise
    this.streams = new Map(); // stream name -> entries
    this.sealed = false;
  }

  log(stream, ...entry) {
    if (this.sealed) return;
    if (!this.streams.has(stream)) this.streams.set(stream, []);
    this.streams.get(stream).push(entry.map((v) => normalise(v, this.labels)));
  }

  portOf(slot) {
    const s = this.sockets.get(slot);
    try {
      return s ? s.address().port : 9;
    } catch {
      return 9;
    }
  }

  // Runs `action` of a callback or handler on `slot`, logging what its calls do.
  act(action, slot, other, rinfo) {
    const self = this.sockets.get(slot);
    const peer = this.sockets.get(other);
    const tryLog = (what, fn) => {
      try {
        this.log(`${slot}:events`, what, 'returned', fn());
      } catch (err) {
        this.log(`${slot}:events`, what, 'threw', err);
      }
    };
    if (rinfo !== undefined && loopsOnThreadDriver(action, slot, other, rinfo, this.portOf(slot))) {
      this.log(`${slot}:events`, 'not run: README "Differences from node:dgram", thread driver timing');
      return;
    }
    switch (action) {
      case 'close': if (self) tryLog('close()', () => self.close()); break;
      case 'closeTwice': if (self) { tryLog('close()', () => self.close()); tryLog('close()', () => self.close()); } break;
      case 'closeOther': if (peer) tryLog(`${other}.close()`, () => peer.close()); break;
      case 'bindSelf': if (self) tryLog('bind(0)', () => self.bind(0, '127.0.0.1')); break;
      case 'sendOther': if (self) tryLog('send()', () => self.send('re', this.portOf(other), '127.0.0.1', (...a) => this.log(`${slot}:events`, 'inner send cb', ...a))); break;
      case 'echo':
        if (self && rinfo) tryLog('echo send()', () => self.send('echo', rinfo.port, rinfo.address, (...a) => this.log(`${slot}:events`, 'echo cb', ...a)));
        break;
      default: break;
    }
  }

  materialise(d, slot) {
    switch (d.k) {
      case 'lit': return d.v;
      case 'undef': return undefined;
      case 'NaN': return NaN;
      case 'Inf': return Infinity;
      case 'bigint': return 5n;
      case 'obj': return { valueOf: () => 7, toString: () => '127.0.0.1' };
      case 'buf': return Buffer.alloc(d.n, 0x61 + (d.n % 26));
      case 'u8': return new Uint8Array(d.n).fill(0x41);
      case 'dv': return new DataView(new ArrayBuffer(d.n));
      case 'list': return d.items.map((x) => this.materialise(x, slot));
      case 'peer': return this.portOf(d.slot);
      case 'abortedSignal': return AbortSignal.abort();
      case 'socketpairFd': return fdOf('socketpair');
      case 'tcpFd': return fdOf('tcp');
      case 'lookupLoopback': return (host, opts, cb) => { (typeof opts === 'function' ? opts : cb)(null, '127.0.0.1', 4); };
      case 'lookupFails': return (host, opts, cb) => {
        const err = new Error(`lookup failed for ${host}`);
        err.code = 'ENOTFOUND';
        (typeof opts === 'function' ? opts : cb)(err);
      };
      case 'blockLoopback': {
        const net = require('node:net');
        const list = new net.BlockList();
        list.addSubnet('127.0.0.0', 8, 'ipv4');
        return list;
      }
      case 'cb': {
        const label = d.label;
        const run = this;
        return function (...args) {
          run.log(`${d.slot}:events`, label, ...args);
          run.act(d.action, d.slot, d.other);
        };
      }
      case 'opts': {
        const out = {};
        for (const [key, value] of Object.entries(d.props)) {
          out[key] = value !== null && typeof value === 'object' && 'k' in value ? this.materialise(value, slot) : value;
        }
        if (d.throwOn) {
          Object.defineProperty(out, d.throwOn, {
            enumerable: true,
            get() { throw new Error(`getter ${d.throwOn} threw`); },
          });
        }
        return out;
      }
      default: throw new Error(`unknown descriptor ${d.k}`);
    }
  }

  watch(socket, slot) {
    for (const event of ['listening', 'connect', 'error', 'close']) {
      socket.on(event, (...args) => this.log(`${slot}:events`, event, ...args));
    }
    socket.on('message', (msg, rinfo) => this.log(`${slot}:messages`, msg, rinfo));
  }

  async step(step, index) {
    if (step.op === 'wait') {
      if (step.how === 'tick') await new Promise((resolve) => process.nextTick(resolve));
      else if (step.how === 'immediate') await new Promise((resolve) => setImmediate(resolve));
      else await new Promise((resolve) => setTimeout(resolve, WAIT_MS));
      return;
    }
    const { slot } = step;
    const tag = `#${index} ${slot}.${step.op === 'call' ? step.method : step.op}`;
    if (step.op === 'create') {
      const arg = this.materialise(step.args[0], slot);
      try {
        const socket = this.dgram.createSocket(arg);
        this.labels.set(socket, `${slot}${this.all.length}`);
        this.all.push(socket);
        this.sockets.set(slot, socket);
        this.watch(socket, slot);
        this.log('calls', tag, 'created', socket.type);
      } catch (err) {
        this.log('calls', tag, 'threw', err);
      }
      return;
    }
    const socket = this.sockets.get(slot);
    if (socket === undefined) return;
    if (step.op === 'onMessage') {
      let rounds = 0;
      socket.on('message', (msg, rinfo) => {
        if (rounds++ < HANDLER_ROUNDS) this.act(step.action, slot, step.other, rinfo);
      });
      return;
    }
    const method = step.op === 'call' ? step.method : step.op;
    const args = step.args.map((a) => this.materialise(a, slot));
    if (changesFamilyUnderSocket(socket, method, args)) {
      this.log('calls', tag, 'not run: README "Differences from node:dgram", membership on an unbound socket');
      return;
    }
    try {
      this.log('calls', tag, 'returned', socket[method](...args));
    } catch (err) {
      this.log('calls', tag, 'threw', err);
    }
  }

  async run(steps) {
    const onUncaught = (err) => this.log('calls', 'UNCAUGHT', err);
    process.on('uncaughtException', onUncaught);
    try {
      await prepareFixtures(steps);
      for (let i = 0; i < steps.length; i++) await this.step(steps[i], i);
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      // Cleanup is part of what is compared: close() with sends queued, callbacks it runs.
      for (const [slot, socket] of this.sockets) {
        try {
          socket.close();
          this.log(`${slot}:events`, 'cleanup close');
        } catch {
          // closed already
        }
      }
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      // Sockets replaced in a slot are closed without logging.
      for (const socket of this.all) {
        try { socket.close(); } catch { /* closed */ }
      }
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      this.sealed = true;
      process.removeListener('uncaughtException', onUncaught);
    }
    // Streams in a fixed order, so that ports are named the same way in equal runs.
    const names = [...this.streams.keys()].sort();
    const flat = [];
    for (const name of names) for (const entry of this.streams.get(name)) flat.push([name, ...entry]);
    return canonicalisePorts(flat).map(render);
  }
}

// The deliberate difference documented in the README ("Differences from node:dgram": a membership
// call on an unbound socket with a group of the other family): libuv then quietly creates an fd of
// the group's family under the udp4 / udp6 socket, and turbo-dgram keeps the socket's family. Such
// a call is not made (and says so in the log, which both runs then agree on). Only that case: the
// same calls on a socket with an fd, or with a group of the socket's family, are made as generated.
const MEMBERSHIP_GROUP_ARG = {
  addMembership: 0, dropMembership: 0, addSourceSpecificMembership: 1, dropSourceSpecificMembership: 1,
};

function changesFamilyUnderSocket(socket, method, args) {
  const at = MEMBERSHIP_GROUP_ARG[method];
  if (at === undefined) return false;
  const family = require('node:net').isIP(String(args[at]));
  if (family === 0 || family === (socket.type === 'udp4' ? 4 : 6)) return false;
  try {
    socket.address();
    return false; // it has an fd (or is closed: the call throws ERR_SOCKET_DGRAM_NOT_RUNNING)
  } catch (err) {
    return err.code === 'EBADF'; // no fd yet: getsockname() on libuv's -1
  }
}

// The deliberate difference documented in the README ("Differences from node:dgram": with the
// thread driver a datagram reaches JS one cross-thread wake-up after it arrives): a 'message'
// handler that sends to its own socket is a loop that the builtin runs up to 32 rounds within one
// poll phase (libuv reads again after each 'message'), before any setImmediate; the thread driver
// hands the datagram over later, so those rounds interleave with the program's next steps
// differently (seeds 100805, 201432). On that driver the handler's send to itself is not made,
// and says so in the log; the handover and inline drivers read as libuv does and are fuzzed with it.
function loopsOnThreadDriver(action, slot, other, rinfo, ownPort) {
  if (process.env.TURBO_DGRAM_DRIVER !== 'thread') return false;
  return (action === 'sendOther' && other === slot) || (action === 'echo' && rinfo.port === ownPort);
}

async function runProgram(dgram, steps) {
  return new Run(dgram).run(steps);
}

// ---------------------------------------------------------------------------------------------
// Comparing and shrinking

function firstDifference(a, b) {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}

async function diverges(builtin, subject, steps) {
  const expected = await runProgram(builtin, steps);
  const actual = await runProgram(subject, steps);
  const at = firstDifference(expected, actual);
  return at < 0 ? null : { at, expected, actual };
}

// Confirmed when it diverges on two further runs and the builtin agrees with itself.
async function confirmed(builtin, subject, steps) {
  for (let i = 0; i < 2; i++) {
    if (!(await diverges(builtin, subject, steps))) return false;
  }
  const b1 = await runProgram(builtin, steps);
  const b2 = await runProgram(builtin, steps);
  return firstDifference(b1, b2) < 0;
}

// Removes chunks of steps, then single steps, while the program still diverges (confirmed).
async function shrink(builtin, subject, steps) {
  let current = steps;
  for (let chunk = Math.max(1, current.length >> 1); chunk >= 1; chunk >>= 1) {
    let i = 0;
    while (i < current.length) {
      const candidate = current.slice(0, i).concat(current.slice(i + chunk));
      if (candidate.length > 0 && (await diverges(builtin, subject, candidate)) && (await confirmed(builtin, subject, candidate))) {
        current = candidate;
      } else {
        i += chunk;
      }
    }
  }
  return current;
}

// ---------------------------------------------------------------------------------------------
// Printing

function describeArg(d) {
  switch (d.k) {
    case 'lit': return typeof d.v === 'string' ? JSON.stringify(d.v) : String(d.v);
    case 'undef': return 'undefined';
    case 'NaN': return 'NaN';
    case 'Inf': return 'Infinity';
    case 'bigint': return '5n';
    case 'obj': return "{ valueOf: () => 7, toString: () => '127.0.0.1' }";
    case 'buf': return `Buffer.alloc(${d.n})`;
    case 'u8': return `new Uint8Array(${d.n})`;
    case 'dv': return `new DataView(new ArrayBuffer(${d.n}))`;
    case 'list': return `[${d.items.map(describeArg).join(', ')}]`;
    case 'peer': return `${d.slot}.address().port`;
    case 'cb': return `function ${d.label}(...args) { log(args); /* then: ${d.action}${d.action.includes('Other') ? ` ${d.other}` : ''} */ }`;
    case 'opts': {
      const parts = Object.entries(d.props).map(([k, v]) => `${k}: ${v !== null && typeof v === 'object' ? describeArg(v) : JSON.stringify(v)}`);
      if (d.throwOn) parts.push(`get ${d.throwOn}() { throw new Error() }`);
      return `{ ${parts.join(', ')} }`;
    }
    default: return d.k;
  }
}

function describeStep(step) {
  if (step.op === 'wait') return `await ${step.how === 'ms' ? `delay(${WAIT_MS})` : step.how};`;
  if (step.op === 'create') return `${step.slot} = dgram.createSocket(${describeArg(step.args[0])});`;
  if (step.op === 'onMessage') return `${step.slot}.on('message', () => /* ${step.action} ${step.other} */);`;
  const method = step.op === 'call' ? step.method : step.op;
  return `${step.slot}.${method}(${step.args.map(describeArg).join(', ')});`;
}

// What a difference is about, without step numbers and callback names.
function signatureOf(found) {
  const strip = (line) => (line || '<end of log>').replace(/#\d+ /g, '').replace(/cb\d+/g, 'cb').slice(0, 300);
  return `${strip(found.expected[found.at])} => ${strip(found.actual[found.at])}`;
}

function report(seed, steps, found) {
  const lines = [];
  lines.push(`DIVERGENCE (seed ${seed}), shortest program found (${steps.length} steps):`);
  for (const step of steps) lines.push(`  ${describeStep(step)}`);
  lines.push(`replay: node test/fuzz/fuzz.js --replay FILE with FILE containing:\n${JSON.stringify(steps)}`);
  if (found) {
    lines.push(`first difference at log entry ${found.at}:`);
    lines.push(`  node:dgram : ${found.expected[found.at]}`);
    lines.push(`  turbo-dgram: ${found.actual[found.at]}`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Entry points

// Runs programs from `seed` until `count` calls were made. Returns { calls, programs, divergences }.
async function fuzz({ seed = 1, count = 2000, length = 24, log = console.log, budgetMs = Infinity } = {}) {
  const builtin = require('node:dgram');
  const subject = loadSubject();
  const started = Date.now();
  const divergences = [];
  const unconfirmed = [];
  const signatures = new Set(); // first differing lines already reported: not shrunk again
  let calls = 0;
  let programs = 0;
  for (let s = seed; calls < count && Date.now() - started < budgetMs; s++) {
    const steps = genProgram(s, length);
    calls += countCalls(steps);
    programs++;
    const found = await diverges(builtin, subject, steps);
    if (!found) continue;
    if (!(await confirmed(builtin, subject, steps))) {
      unconfirmed.push(s);
      log(`seed ${s}: a difference that did not reproduce on two more runs (timing); not counted. ` +
        `At entry ${found.at}:\n  node:dgram : ${found.expected[found.at]}\n  turbo-dgram: ${found.actual[found.at]}`);
      continue;
    }
    const signature = signatureOf(found);
    if (signatures.has(signature)) {
      divergences.push({ seed: s, steps, text: `seed ${s}: the same difference as before (${signature})`, duplicate: true });
      log(`seed ${s}: diverges like an earlier seed (not shrunk again): ${signature}`);
      continue;
    }
    signatures.add(signature);
    const small = await shrink(builtin, subject, steps);
    const smallFound = await diverges(builtin, subject, small);
    const text = report(s, small, smallFound || found);
    divergences.push({ seed: s, steps: small, text });
    log(text);
  }
  return { calls, programs, divergences, unconfirmed, elapsedMs: Date.now() - started };
}

function parseArgs(argv) {
  const opts = { seed: 1, count: 2000, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--seed') opts.seed = Number(value());
    else if (a === '--count') opts.count = Number(value());
    else if (a === '--driver') opts.driver = value();
    else if (a === '--replay') opts.replay = value();
    else if (a === '--quiet') opts.quiet = true;
    else if (a === '-h' || a === '--help') opts.help = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(opts.seed) || !Number.isInteger(opts.count)) throw new Error('--seed and --count take integers');
  return opts;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`fuzz.js: ${err.message}\n`);
    process.exitCode = 2;
    return;
  }
  if (opts.help) {
    process.stdout.write('usage: node test/fuzz/fuzz.js [--seed N] [--count CALLS] [--driver handover|thread|inline] [--replay FILE]\n');
    return;
  }
  if (opts.driver) process.env.TURBO_DGRAM_DRIVER = opts.driver;
  if (opts.replay) {
    const steps = JSON.parse(require('node:fs').readFileSync(opts.replay, 'utf8'));
    const found = await diverges(require('node:dgram'), loadSubject(), steps);
    const expected = found ? found.expected : await runProgram(require('node:dgram'), steps);
    process.stdout.write(`${steps.map(describeStep).join('\n')}\n--- node:dgram\n${expected.join('\n')}\n`);
    if (found) process.stdout.write(`--- turbo-dgram (differs from entry ${found.at})\n${found.actual.join('\n')}\n`);
    else process.stdout.write('--- turbo-dgram: the same\n');
    process.exitCode = found ? 1 : 0;
    return;
  }
  const result = await fuzz({ seed: opts.seed, count: opts.count, log: (t) => process.stdout.write(`${t}\n`) });
  process.stdout.write(`fuzz: driver ${process.env.TURBO_DGRAM_DRIVER || 'handover'}, seeds ${opts.seed}..${opts.seed + result.programs - 1}, ` +
    `${result.programs} programs, ${result.calls} calls, ${result.divergences.length} divergences ` +
    `(${result.divergences.filter((d) => !d.duplicate).length} distinct), ${result.unconfirmed.length} unconfirmed (timing), ` +
    `${(result.elapsedMs / 1000).toFixed(1)} s\n`);
  process.exitCode = result.divergences.length ? 1 : 0;
}

module.exports = { genProgram, runProgram, diverges, confirmed, fuzz, describeStep, countCalls };

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${util.inspect(err)}\n`);
    process.exitCode = 1;
  });
}
