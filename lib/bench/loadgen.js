'use strict';

// The load on the other end of the wire: a flooder, a counting sink and an echo pinger.
// The native turbo-dgram-flood (src/bin/turbo-dgram-flood.rs) does them with batched syscalls so
// that it, not the process measured, is never the limit. When it is not built, Node children with
// node:dgram stand in; they cannot out-send a receiver (that is the point of the native one), so
// the report then marks the flood scenarios as not saturating. An installed package builds it only
// when the bench first needs it (buildNative); a developer checkout builds it with the addon.

const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Child } = require('./procs');

const ROOT = path.join(__dirname, '..', '..');
const CHILD = path.join(__dirname, 'child.js');
const WORKERS_CHILD = path.join(__dirname, 'child-workers.js');
const NATIVE_NAME = 'turbo-dgram-flood';

/** The native load generator's path, or null. */
function findNative(explicit) {
  const candidates = [
    explicit,
    process.env.TURBO_DGRAM_FLOODER,
    path.join(ROOT, 'build', NATIVE_NAME),
    path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'release', NATIVE_NAME),
    path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'debug', NATIVE_NAME),
  ].filter(Boolean);
  for (const p of candidates) {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return path.resolve(p);
    } catch { /* next */ }
  }
  if (explicit) throw new Error(`--flooder ${explicit}: not an executable file`);
  return null;
}

const BUILD_SCRIPT = path.join(ROOT, 'native-build.sh');
const BUILD_TIMEOUT_MS = 20 * 60_000; // a first cargo build on a slow machine

/**
 * Builds the native load generator (native-build.sh --loadgen), its output and cargo's passed to
 * `write` as they come. Resolves with whether it was built; the script says why it was not (no
 * cargo, a failed build). The build runs in a process group of its own, stopped whole (cargo and
 * its compilers with the script) at the deadline or when this process exits (Ctrl-C included:
 * lib/bench/procs.js guardProcess exits on it): SIGTERM, on which the script still removes its
 * temporary target directory.
 */
function buildNative(write) {
  return new Promise((resolve) => {
    const child = spawn('bash', [BUILD_SCRIPT, '--loadgen'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const killGroup = () => {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* the group is gone */ }
    };
    process.on('exit', killGroup);
    const timer = setTimeout(() => {
      write(`turbo-dgram-bench: the load generator's build took over ${BUILD_TIMEOUT_MS / 60_000} minutes: stopped\n`);
      killGroup();
    }, BUILD_TIMEOUT_MS);
    const done = (built) => {
      clearTimeout(timer);
      process.removeListener('exit', killGroup);
      resolve(built);
    };
    child.stdout.on('data', write);
    child.stderr.on('data', write);
    child.on('error', (err) => {
      write(`turbo-dgram-bench: cannot run ${BUILD_SCRIPT}: ${err.message}\n`);
      done(false);
    });
    child.on('close', (code) => done(code === 0));
  });
}

/** A Node child running one role of child.js with the given module. */
function nodeChild(node, role, cfg, { cpu, env, timeoutMs }) {
  const full = { maxMs: timeoutMs, ...cfg };
  // The receiver over worker threads has its own script (it is also the workers' entry point).
  const args = role === 'workers' ? [WORKERS_CHILD, JSON.stringify(full)] : [CHILD, role, JSON.stringify(full)];
  return new Child(`${role} (${cfg.label || cfg.module})`, node, args, { cpu, env, timeoutMs });
}

class LoadGen {
  /**
   * @param {{ nativePath: string|null, node: string, fallbackModule: string }} o
   *   fallbackModule: the dgram module the Node stand-ins use when there is no native binary.
   */
  constructor(o) {
    this.nativePath = o.nativePath;
    this.node = o.node;
    this.fallbackModule = o.fallbackModule || 'node:dgram';
  }

  get native() {
    return this.nativePath != null;
  }

  /** Counts datagrams on `ports` sockets; 'ready' has { ports }, 'sample's have { t, count }. */
  sink({ ports = 1, cpu, timeoutMs }) {
    if (this.native) {
      return new Child('sink', this.nativePath,
        ['sink', '--ports', String(ports), '--sample-ms', '10', '--max-ms', String(timeoutMs)],
        { cpu, timeoutMs });
    }
    return nodeChild(this.node, 'receiver', { module: this.fallbackModule, ports, sampleMs: 10 }, { cpu, timeoutMs });
  }

  /**
   * Sends `size`-byte datagrams to port: rate 0 = as fast as possible (with GSO unless gso is
   * false); 'sample's have { t, sent }.
   */
  flood({ port, size, rate = 0, gso = true, sources = 1, payloadFile, durationMs, cpu, timeoutMs }) {
    if (this.native) {
      return new Child('flood', this.nativePath,
        ['flood', '--dest', `127.0.0.1:${port}`, ...payloadArgs(size, payloadFile), '--rate', String(rate), '--gso', gso ? '1' : '0',
          '--sources', String(sources), '--duration-ms', String(durationMs), '--sample-ms', '10'],
        { cpu, timeoutMs });
    }
    if (payloadFile || sources > 1) throw new Error('this load needs the native load generator (npm run build)');
    return nodeChild(this.node, 'sender',
      { module: this.fallbackModule, ports: [port], size, rate, batch: 256, sampleMs: 10, windowMs: durationMs },
      { cpu, timeoutMs });
  }

  /** One datagram in flight against an echo server; 'done' has { p50, p99, p999, ... } in ns. */
  ping({ port, size, warmupMs, windowMs, cpu, timeoutMs }) {
    if (this.native) {
      return new Child('ping', this.nativePath,
        ['ping', '--dest', `127.0.0.1:${port}`, '--size', String(size),
          '--warmup-ms', String(warmupMs), '--duration-ms', String(windowMs)],
        { cpu, timeoutMs });
    }
    return nodeChild(this.node, 'echo-client',
      { module: this.fallbackModule, port, size, warmupMs, windowMs }, { cpu, timeoutMs });
  }

  /**
   * Many clients (`ports` source ports) sending requests to port: `rate` per second in total,
   * evenly spaced, or rate 0: one in flight per client. 'sample's have { t, sent, replies, lost };
   * 'done' has the window's sent / replies / lost and RTT percentiles in ns. Native only: a Node
   * client would measure itself.
   */
  clients({ port, ports = 64, rate, size, payloadFile, tagBytes = 0, warmupMs, windowMs, replyTimeoutMs = 500, cpu, timeoutMs }) {
    if (!this.native) throw new Error('many-client load needs the native load generator (npm run build)');
    return new Child('clients', this.nativePath,
      ['clients', '--dest', `127.0.0.1:${port}`, '--ports', String(ports), '--rate', String(rate),
        ...payloadArgs(size, payloadFile), '--tag-bytes', String(tagBytes), '--warmup-ms', String(warmupMs),
        '--duration-ms', String(windowMs), '--timeout-ms', String(replyTimeoutMs), '--sample-ms', '10'],
      { cpu, timeoutMs });
  }
}

function payloadArgs(size, payloadFile) {
  return payloadFile ? ['--payload-file', payloadFile] : ['--size', String(size)];
}

module.exports = { LoadGen, buildNative, findNative, nodeChild, NATIVE_NAME, ROOT };
