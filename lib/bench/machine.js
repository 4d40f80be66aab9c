'use strict';

// What the numbers were measured on: they mean little without the machine, the kernel's socket
// buffer limits and the Node version of the children (which may differ from ours with --node).

const fs = require('node:fs');
const os = require('node:os');
const { execFileSync } = require('node:child_process');

function readProc(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

function numberOrNull(s) {
  const n = Number(s);
  return s != null && Number.isFinite(n) ? n : null;
}

function childNodeVersion(node) {
  if (node === process.execPath) return process.version;
  try {
    return execFileSync(node, ['--version'], { encoding: 'utf8', timeout: 10000 }).trim();
  } catch (err) {
    throw new Error(`--node ${node}: cannot run it (${err.message})`);
  }
}

function describeMachine({ node }) {
  const cpus = os.cpus();
  return {
    node: childNodeVersion(node),
    nodePath: node,
    benchNode: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    cpuCount: os.availableParallelism ? os.availableParallelism() : cpus.length,
    cpuModel: cpus[0] ? cpus[0].model : null,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg(),
    rmemMax: numberOrNull(readProc('/proc/sys/net/core/rmem_max')),
    rmemDefault: numberOrNull(readProc('/proc/sys/net/core/rmem_default')),
    wmemMax: numberOrNull(readProc('/proc/sys/net/core/wmem_max')),
    wmemDefault: numberOrNull(readProc('/proc/sys/net/core/wmem_default')),
    hostname: os.hostname(),
  };
}

module.exports = { describeMachine };
