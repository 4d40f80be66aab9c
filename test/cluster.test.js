'use strict';

// cluster: workers that bind one port. The primary hands every worker one shared handle (for
// turbo-dgram too: lib/cluster.js; test/cluster-shared-handle.test.js follows the request itself).
// What both must give: every worker listens on the port, every datagram arrives at some worker,
// exclusive: true keeps a worker to itself. Compared in child processes (the primary) that fork
// two workers.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');
const { childBoth } = require('./helpers/child');

const T = { timeout: 30000 };

const WORKER = `
'use strict';
const dgram = require(process.env.DGRAM_UNDER_TEST);
const s = dgram.createSocket('udp4');
s.on('error', (e) => process.send(['error', e.code, e.syscall]));
s.on('message', (m) => process.send(['message', String(m)]));
s.bind({ port: Number(process.env.SHARED_PORT), address: '127.0.0.1', exclusive: process.env.EXCLUSIVE === '1' }, () => {
  process.send(['listening', s.address().port === Number(process.env.SHARED_PORT)]);
});
process.on('message', (m) => { if (m === 'close') s.close(() => process.disconnect()); });
`;

// The primary: picks a free port, forks two workers binding it, sends N datagrams from N source
// sockets (N flows), and prints what arrived (the total, not the spread).
function primary(exclusive) {
  return `
    const cluster = require('node:cluster');
    const N = 20;
    const probe = dgram.createSocket('udp4');
    probe.bind(0, '127.0.0.1', () => {
      const port = probe.address().port;
      probe.close(() => {
        cluster.setupPrimary({ exec: process.env.WORKER_FILE, execArgv: [] }); // not the primary's -e
        const workers = [0, 1].map(() => cluster.fork({ SHARED_PORT: String(port), EXCLUSIVE: '${exclusive ? 1 : 0}' }));
        const events = [];
        const payloads = [];
        let listening = 0;
        let settled = 0;
        for (const w of workers) {
          w.on('message', ([kind, ...rest]) => {
            if (kind === 'message') { payloads.push(rest[0]); if (payloads.length === N) finish(); return; }
            events.push([kind, ...rest]);
            if (kind === 'listening') listening++;
            if (kind === 'listening' || kind === 'error') settled++;
            if (settled === 2) { if (listening === 0) finish(); else blast(); }
          });
        }
        const senders = [];
        function blast() {
          for (let i = 0; i < N; i++) {
            const s = dgram.createSocket('udp4');
            senders.push(s);
            s.send('d' + i, port, '127.0.0.1');
          }
          setTimeout(finish, 1500);
        }
        let done = false;
        function finish() {
          if (done) return;
          done = true;
          out('worker events', events.map(String).sort());
          out('datagrams arrived', payloads.length, 'distinct', new Set(payloads).size);
          for (const s of senders) s.close();
          for (const w of workers) if (w.isConnected()) w.send('close');
        }
        setTimeout(() => { out('timeout'); process.exit(1); }, 8000).unref();
      });
    });
  `;
}

for (const exclusive of [false, true]) {
  test(`cluster: two workers bind one port (exclusive: ${exclusive}); the datagrams arrive`, T, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-dgram-cluster-'));
    const workerFile = path.join(dir, 'worker.js');
    fs.writeFileSync(workerFile, WORKER);
    try {
      const { builtin } = await childBoth(primary(exclusive), { timeoutMs: 15000, env: { WORKER_FILE: workerFile } });
      const expected = exclusive ? 'error,EADDRINUSE,bind' : 'listening,true","listening,true';
      if (!builtin.stdout.some((line) => line.includes(expected))) throw new Error(`the builtin run did not do what the test means:\n${builtin.stdout.join('\n')}\n${builtin.stderr}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
