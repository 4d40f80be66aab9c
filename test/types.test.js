'use strict';

// index.d.ts against @types/node's dgram types, with `tsc --noEmit` on the fixtures in test/types/:
//   compat.ts  a turbo-dgram Socket where a dgram.Socket is expected and the reverse, and every
//              standard call shape (createSocket, bind, connect, send overloads, events...)
//   esm.mts    the same from an ES module: default and named imports
//   listeners.ts  the listener methods' argument types, exactly: 'messages', and 'message' with
//              rinfo typed by createSocket()'s receive-info options
//   errors.ts  wrong usage, each line marked @ts-expect-error (tsc fails on any that compiles)
//   wrong.ts   the control: unmarked wrong usage that tsc must reject, so a check that saw
//              nothing (or saw turbo-dgram as `any`) cannot pass
// Then index.d.ts against lib/ itself: it declares exactly the names lib/ exports, and the rinfo
// fields lib/ delivers with each receive-info option.
// The fixtures import 'turbo-dgram' by name: TypeScript resolves the package's own "exports"
// (self-reference), as it resolves the installed package for a user.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { REPO, tsc } = require('./helpers/typescript');

const TYPES_DIR = path.join(__dirname, 'types');

test('the fixtures type-check: drop-in compatible both ways, wrong usage rejected', { timeout: 150_000 }, async () => {
  const { code, output } = await tsc(path.join(TYPES_DIR, 'tsconfig.json'));
  assert.strictEqual(output, '');
  assert.strictEqual(code, 0);
});

test('control: tsc rejects unmarked wrong usage of turbo-dgram', { timeout: 150_000 }, async () => {
  const { code, output } = await tsc(path.join(TYPES_DIR, 'tsconfig.wrong.json'));
  assert.notStrictEqual(code, 0);
  const errors = output.split('\n').filter((line) => /^test[\\/]types[\\/]wrong\.ts\(/.test(line));
  assert.deepStrictEqual(errors.map((line) => line.replace(/:.*$/, '').replace(/\\/g, '/')), [
    'test/types/wrong.ts(6,30)',
    'test/types/wrong.ts(7,7)',
  ], output);
  assert.match(output, /wrong\.ts\(6,30\): error TS2769/);
  assert.match(output, /wrong\.ts\(7,7\): error TS2322/);
});

// index.d.ts declares what lib/ exports, no more and no less: the module's names, and the public
// Socket methods (those @types/node declares for dgram.Socket, plus index.d.ts's own).
function declaredNames(file, pattern) {
  const text = fs.readFileSync(file, 'utf8');
  return new Set(Array.from(text.matchAll(pattern), (m) => m[1]));
}

test('index.d.ts declares exactly what lib/ exports', () => {
  const turbo = require(REPO);
  const indexDts = path.join(REPO, 'index.d.ts');
  const moduleNames = declaredNames(indexDts, /^export declare (?:function|class|const) (\w+)/gm);
  assert.deepStrictEqual(Object.keys(turbo).sort(), [...moduleNames].sort());

  // Methods: four-space (@types/node) or two-space (index.d.ts) indented `name(` / `name?(`.
  const methodPattern = /^ {2,8}(\w+)\??\(/gm;
  const nodeDts = path.join(REPO, 'node_modules', '@types', 'node', 'dgram.d.ts');
  const declared = new Set([...declaredNames(nodeDts, methodPattern), ...declaredNames(indexDts, methodPattern)]);
  // sendto() is deprecated and undocumented; @types/node leaves it out, and so do we.
  const undeclaredOnPurpose = new Set(['constructor', 'sendto']);
  const implemented = Object.getOwnPropertyNames(turbo.Socket.prototype)
    .filter((name) => !name.startsWith('_') && !undeclaredOnPurpose.has(name));
  assert.deepStrictEqual(implemented.filter((name) => !declared.has(name)), [],
    'public Socket methods of lib/ that no declaration covers');
  const ownDeclared = [...declaredNames(indexDts, methodPattern)];
  assert.deepStrictEqual(ownDeclared.filter((name) => typeof turbo.Socket.prototype[name] !== 'function'), [],
    'methods index.d.ts declares that lib/ lacks');
});

// rinfo's fields as index.d.ts declares them for each receive-info option (interfaces
// PktInfoFields and TimestampFields, added to RemoteInfo's four) are the ones lib/ delivers: a
// datagram through a turbo-dgram socket with each combination, seen by 'message' and 'messages'.
function interfaceFields(name) {
  const text = fs.readFileSync(path.join(REPO, 'index.d.ts'), 'utf8');
  const body = new RegExp(`^export interface ${name} \\{\\n([^}]*)^\\}`, 'm').exec(text);
  assert.ok(body, `index.d.ts has no interface ${name}`);
  return Array.from(body[1].matchAll(/^ {2}(\w+)\??:/gm), (m) => m[1]);
}

test("rinfo's declared receive-info fields are the ones lib/ delivers", { timeout: 10_000 }, async (t) => {
  const dgram = require('node:dgram');
  const { bound, turbo, until } = require('./helpers/extras');
  const standard = ['address', 'family', 'port', 'size'];
  const sender = dgram.createSocket('udp4');
  t.after(() => sender.close());
  for (const [recvPktInfo, recvTimestamp] of [[false, false], [true, false], [false, true], [true, true]]) {
    const declared = [...standard,
      ...(recvPktInfo ? interfaceFields('PktInfoFields') : []),
      ...(recvTimestamp ? interfaceFields('TimestampFields') : [])];
    const receiver = turbo.createSocket({ type: 'udp4', recvPktInfo, recvTimestamp });
    t.after(() => receiver.close());
    const seen = [];
    receiver.on('messages', (list) => { for (const { rinfo } of list) seen.push(['messages', Object.keys(rinfo)]); });
    receiver.on('message', (msg, rinfo) => seen.push(['message', Object.keys(rinfo)]));
    sender.send('x', await bound(receiver, '127.0.0.1'), '127.0.0.1');
    await until(() => seen.length === 2, 3000, 'one datagram');
    assert.deepStrictEqual(seen, [['messages', declared], ['message', declared]],
      `recvPktInfo: ${recvPktInfo}, recvTimestamp: ${recvTimestamp}`);
  }
});
