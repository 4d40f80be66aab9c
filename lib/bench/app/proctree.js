'use strict';

// What the app's processes are doing, read from /proc from the outside (no cooperation from the
// app): its process tree, the UDP sockets the tree holds, the kernel's drop counter of a port,
// CPU time and peak memory, and which dgram the process holding the port really loaded.

const fs = require('node:fs');
const { execFileSync } = require('node:child_process');

function read(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null; // the process exited meanwhile
  }
}

/** Fields of /proc/PID/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid) {
  const s = read(`/proc/${pid}/stat`);
  if (s === null) return null;
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
}

/** The root and every live descendant of it. */
function treeOf(root) {
  const children = new Map();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const f = statFields(e);
    if (!f || f[0] === 'Z') continue;
    const ppid = Number(f[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(e));
  }
  const out = [];
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop();
    if (statFields(pid) === null) continue;
    out.push(pid);
    todo.push(...(children.get(pid) || []));
  }
  return out;
}

let ticksPerSec;
function clockTicks() {
  if (ticksPerSec === undefined) {
    try {
      ticksPerSec = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 }).trim()) || 100;
    } catch {
      ticksPerSec = 100;
    }
  }
  return ticksPerSec;
}

/**
 * CPU time of the processes (user + system, all threads of each, plus their reaped children) in
 * microseconds. /proc/PID/stat counts in clock ticks (10 ms here): windows of seconds keep the
 * rounding under a percent.
 */
function cpuUs(pids) {
  let ticks = 0;
  for (const pid of pids) {
    const f = statFields(pid);
    if (!f) continue;
    // utime stime cutime cstime: fields 14-17 of stat, here indexes 11-14 (state is index 0 = field 3)
    ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return (ticks * 1e6) / clockTicks();
}

/** Peak resident memory (VmHWM) of one process in KiB, or null. */
function peakRssKiB(pid) {
  const s = read(`/proc/${pid}/status`);
  const m = s && s.match(/^VmHWM:\s+(\d+) kB/m);
  return m ? Number(m[1]) : null;
}

/** socket inode -> pid, for the sockets the processes hold. */
function socketInodes(pids) {
  const out = new Map();
  for (const pid of pids) {
    let fds;
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link;
      try {
        link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m) out.set(m[1], pid);
    }
  }
  return out;
}

/** Rows of /proc/net/udp and udp6: { port, inode, drops, connected }. */
function udpSockets() {
  const rows = [];
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    const text = read(file);
    if (!text) continue;
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 13) continue;
      const [, portHex] = f[1].split(':');
      const remote = f[2].split(':')[1];
      rows.push({ port: parseInt(portHex, 16), inode: f[9], drops: Number(f[f.length - 1]), connected: remote !== '0000' });
    }
  }
  return rows;
}

/** The unconnected UDP sockets the processes hold: [{ port, inode, pid, drops }]. */
function boundPorts(pids) {
  const inodes = socketInodes(pids);
  return udpSockets().filter((r) => !r.connected && inodes.has(r.inode)).map((r) => ({ ...r, pid: inodes.get(r.inode) }));
}

/** Kernel drops counted on the sockets bound to `port` (a reusePort group: all of them). */
function portDrops(port) {
  return udpSockets().filter((r) => r.port === port && !r.connected).reduce((n, r) => n + r.drops, 0);
}

function ephemeralRange() {
  const s = read('/proc/sys/net/ipv4/ip_local_port_range');
  const [lo, hi] = s ? s.trim().split(/\s+/).map(Number) : [32768, 60999];
  return { lo, hi };
}

/**
 * Which dgram the process really runs, from the outside: turbo-dgram's addon mapped into it
 * (/proc/PID/maps) and its reactor thread (named turbo-dgram-reactor, cut to 15 characters in
 * comm). A process with no turbo_dgram.node mapped cannot be using turbo-dgram.
 */
function detectDgram(pid) {
  const maps = read(`/proc/${pid}/maps`);
  if (maps === null) return { dgram: 'unknown (process gone)' };
  const exe = (() => { try { return fs.readlinkSync(`/proc/${pid}/exe`); } catch { return null; } })();
  const addon = maps.split('\n').find((l) => l.endsWith('turbo_dgram.node'));
  let reactorThreads = 0;
  try {
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      if ((read(`/proc/${pid}/task/${t}/comm`) || '').startsWith('turbo-dgram-rea')) reactorThreads++;
    }
  } catch { /* gone */ }
  return {
    dgram: addon ? 'turbo-dgram' : 'node:dgram',
    addon: addon ? addon.split(/\s+/).pop() : null,
    reactorThreads,
    exe,
  };
}

module.exports = { treeOf, cpuUs, peakRssKiB, boundPorts, portDrops, ephemeralRange, detectDgram, statFields };
