'use strict';

// Process orchestration: every sender and receiver is a child process, pinned to its own CPU
// when there are two or more, so the one measured never shares a core with its load and the
// benchmark process itself stays out of the way.
//
// Protocol (the same for Node children in child.js and the native load generator): each stdout
// line is one JSON message ({ type: 'ready' | 'sample' | 'done' | 'error', ... }); the end of
// stdin means "stop now". Using stdin's end as the stop signal also stops a child whose parent
// died, so nothing outlives a crashed benchmark. Every child also has a hard deadline after which
// it is killed (SIGKILL), and every live child is killed when this process exits.

const { spawn, execFileSync } = require('node:child_process');
const os = require('node:os');

const live = new Set();

let tasksetPath; // undefined: not probed yet; null: not available
function taskset() {
  if (tasksetPath === undefined) {
    tasksetPath = null;
    try {
      // taskset with -p on our own pid is harmless and proves the binary works here.
      execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore', timeout: 2000 });
      tasksetPath = 'taskset';
    } catch {
      tasksetPath = null;
    }
  }
  return tasksetPath;
}

/**
 * The CPUs children get pinned to: the load on one, the measured process on another. null when
 * the machine has one CPU, taskset is missing or pinning was turned off.
 */
function cpuPlan(pin) {
  const n = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  if (!pin || n < 2 || !taskset()) return { load: null, subject: null, subjectSet: null, pinned: false, cpus: n };
  // The highest-numbered CPU is the one interrupts and housekeeping visit least on most systems.
  // subjectSet: every CPU but the load's, for a measured process that runs several threads.
  return { load: 0, subject: n - 1, subjectSet: n > 2 ? `1-${n - 1}` : '1', pinned: true, cpus: n };
}

class Child {
  /**
   * @param {string} name      for messages ("receiver", "flood", ...)
   * @param {string} cmd       program
   * @param {string[]} args
   * @param {{ cpu?: number|null, env?: object, timeoutMs: number }} opts
   */
  constructor(name, cmd, args, opts) {
    this.name = name;
    this.messages = [];
    this.waiters = [];
    this.stderr = '';
    this.timedOut = false;
    const pinned = opts.cpu != null && taskset();
    const file = pinned ? taskset() : cmd;
    const argv = pinned ? ['-c', String(opts.cpu), cmd, ...args] : args;
    this.command = [file, ...argv].join(' ');
    // taskset execs the program, so the pid we get is the program's: kill() reaches it.
    this.proc = spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env || process.env });
    live.add(this);
    this.exited = new Promise((resolve) => {
      this.proc.on('close', (code, signal) => {
        live.delete(this);
        clearTimeout(this.timer);
        this.exit = { code, signal };
        this.flushWaiters();
        resolve(this.exit);
      });
    });
    this.proc.on('error', (err) => {
      this.spawnError = err;
      this.stderr += String(err.message);
    });
    this.proc.stdin.on('error', () => {}); // EPIPE when the child is already gone: not an error here
    let buf = '';
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) this.onLine(line);
      }
    });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (chunk) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.kill();
    }, opts.timeoutMs);
  }

  onLine(line) {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      msg = { type: 'text', text: line };
    }
    this.messages.push(msg);
    this.flushWaiters();
  }

  flushWaiters() {
    this.waiters = this.waiters.filter((w) => !w.check());
  }

  /** All messages of one type received so far. */
  all(type) {
    return this.messages.filter((m) => m.type === type);
  }

  /**
   * Resolves with the first message of `type`; rejects on an 'error' message, on exit without
   * it, or after timeoutMs.
   */
  wait(type, timeoutMs) {
    return new Promise((resolve, reject) => {
      const fail = (why) => {
        const tail = this.stderr.trim().split('\n').slice(-6).join('\n');
        reject(new Error(`${this.name}: ${why}${tail ? `\n${tail}` : ''}`));
      };
      const w = {
        check: () => {
          const hit = this.messages.find((m) => m.type === type);
          if (hit) { clearTimeout(w.t); resolve(hit); return true; }
          const err = this.messages.find((m) => m.type === 'error');
          if (err) { clearTimeout(w.t); fail(err.message || 'error'); return true; }
          if (this.exit) {
            clearTimeout(w.t);
            fail(this.timedOut ? 'killed at its deadline' :
              `exited (${this.exit.signal || this.exit.code}) before '${type}'`);
            return true;
          }
          return false;
        },
      };
      w.t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        fail(`no '${type}' within ${timeoutMs} ms`);
      }, timeoutMs);
      if (!w.check()) this.waiters.push(w);
    });
  }

  /** Ask the child to stop (end of stdin) and wait for it to exit, killing it after graceMs. */
  async stop(graceMs = 3000) {
    if (!this.exit) this.proc.stdin.end();
    const t = setTimeout(() => this.kill(), graceMs);
    await this.exited;
    clearTimeout(t);
    return this.exit;
  }

  kill() {
    if (!this.exit) {
      try { this.proc.kill('SIGKILL'); } catch { /* already gone */ }
    }
  }
}

function killAll() {
  for (const c of live) c.kill();
}

// Never leave a child behind: on normal exit, on Ctrl-C and on termination. Installed by the
// command-line run only, so that requiring this module does not change a host process's signals.
let guarded = false;
function guardProcess() {
  if (guarded) return;
  guarded = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      killAll();
      process.stderr.write(`\nturbo-dgram-bench: ${sig}, children killed\n`);
      process.exit(130);
    });
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

module.exports = { Child, cpuPlan, taskset, killAll, guardProcess, sleep, liveCount: () => live.size };
