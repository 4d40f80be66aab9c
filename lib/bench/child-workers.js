'use strict';

// The receiver spread over worker threads (scenario 9), started by procs.js as
//   node child-workers.js '<json config>'     config: { module, driver, workers, warmupMs, windowMs }
// Each worker thread creates its own socket with reusePort on one shared port (the first binds
// port 0, the others its port), so the kernel spreads the flood's source ports over them. The
// main thread only counts: each worker stores its running count in a shared array, and the main
// thread opens the window a warm-up after the first datagram, as child.js's receiver does.
// Protocol as child.js: JSON lines on stdout, the end of stdin means stop.

const { Worker, isMainThread, workerData, parentPort } = require('node:worker_threads');

const hr = () => Number(process.hrtime.bigint());

function loadModule(spec) {
  const m = require(spec);
  if (m && typeof m.createSocket === 'function') return m;
  if (m && m.default && typeof m.default.createSocket === 'function') return m.default;
  throw new Error(`${spec} does not export createSocket()`);
}

if (!isMainThread) {
  const { cfg, index, port, counts } = workerData;
  const dgram = loadModule(cfg.module);
  const options = { type: 'udp4', reusePort: true };
  if (cfg.driver) options.driver = cfg.driver;
  const sock = dgram.createSocket(options);
  let count = 0;
  sock.on('message', () => { counts[index] = ++count; });
  sock.on('error', (err) => parentPort.postMessage({ error: `${err.code || ''} ${err.message}` }));
  sock.bind(port, '127.0.0.1', () => parentPort.postMessage({ port: sock.address().port }));
  parentPort.on('message', (m) => { if (m === 'close') sock.close(() => parentPort.postMessage({ closed: true })); });
} else {
  const cfg = JSON.parse(process.argv[2] || '{}');
  const emit = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
  const fail = (err) => {
    // A limit of the module (no reusePort) is stated in one line; anything else with its stack.
    emit({ type: 'error', message: String((err && (err.limit ? err.message : err.stack)) || err) });
    process.exit(1);
  };
  process.on('uncaughtException', fail);
  setTimeout(() => fail(new Error(`workers: still running after ${cfg.maxMs} ms`)), cfg.maxMs || 60000).unref();

  const counts = new Float64Array(new SharedArrayBuffer(8 * cfg.workers));
  const total = () => counts.reduce((a, b) => a + b, 0);
  const workers = [];
  const start = (index, port) => new Promise((resolve, reject) => {
    const w = new Worker(__filename, { workerData: { cfg, index, port, counts } });
    workers.push(w);
    w.once('message', (m) => {
      if (m.error) {
        const why = /EADDRINUSE/.test(m.error) ?
          `${cfg.module} cannot bind a second socket to port ${port}: no reusePort support here (${m.error.trim()})` : m.error;
        reject(Object.assign(new Error(why), { limit: /EADDRINUSE/.test(m.error) }));
      } else {
        resolve(m.port);
      }
    });
    w.once('error', reject);
  });
  const cpuNow = () => { const u = process.cpuUsage(); return u.user + u.system; };

  (async () => {
    const port = await start(0, 0);
    for (let i = 1; i < cfg.workers; i++) await start(i, port);
    let mark0 = null;
    let firstAt = null;
    let ended = false;
    const end = async () => {
      if (ended) return;
      ended = true;
      const t1 = hr();
      const msg = { type: 'done', firstAt, workers: cfg.workers, total: total(), perWorker: Array.from(counts) };
      if (mark0) Object.assign(msg, { t0: mark0.t, t1, count: total() - mark0.count, cpuUs: cpuNow() - mark0.cpu });
      await Promise.all(workers.map((w) => w.terminate()));
      emit(msg);
      process.exit(0);
    };
    const watch = setInterval(() => {
      if (firstAt === null && total() > 0) {
        firstAt = hr();
        setTimeout(() => {
          mark0 = { t: hr(), count: total(), cpu: cpuNow() };
          setTimeout(end, cfg.windowMs);
        }, cfg.warmupMs || 0);
        clearInterval(watch);
      }
    }, 1);
    setTimeout(() => { if (firstAt === null) fail(new Error('no datagram received within 5 s')); }, 5000).unref();
    process.stdin.on('end', end);
    process.stdin.resume();
    emit({ type: 'ready', ports: [port], t: hr() });
  })().catch(fail);
}
