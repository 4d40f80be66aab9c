'use strict';

// The tiny app test/bench-app.test.js measures with `turbo-dgram-bench app`: a plain node:dgram
// echo server, as a user's app would be. It writes, into BENCH_APP_REPORT_DIR, which dgram it
// really got (turbo-dgram's sockets have getStats(), the builtin's do not): the test compares that
// with what the bench detected from outside. Modes (argv[2]):
//   echo              echo every datagram, until SIGTERM
//   crash-after MS    echo, then exit with code 7 after MS ms (a crash mid-run)
// argv[3] may be a unique token, so the test can find any process left behind by its command line.

const fs = require('node:fs');
const path = require('node:path');
const dgram = require('node:dgram');

const socket = dgram.createSocket('udp4');
socket.on('message', (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address));
socket.bind(0, '127.0.0.1', () => {
  const dir = process.env.BENCH_APP_REPORT_DIR;
  if (dir) {
    const report = { pid: process.pid, turbo: typeof socket.getStats === 'function', driver: process.env.TURBO_DGRAM_DRIVER || null };
    fs.writeFileSync(path.join(dir, `${process.pid}.json`), JSON.stringify(report));
  }
});
if (process.argv[2] === 'crash-after') setTimeout(() => process.exit(7), Number(process.argv[3]));
