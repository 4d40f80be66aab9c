// turbo-dgram's types are node:dgram's: each Socket is usable where the other is expected, and
// every standard call shape type-checks on a turbo-dgram socket. Compiled with `tsc --noEmit`
// (test/types.test.js); nothing here runs.

import * as nodeDgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import * as turbo from 'turbo-dgram';

declare const turboSocket: turbo.Socket;
declare const nodeSocket: nodeDgram.Socket;

// Both directions.
const asNode: nodeDgram.Socket = turboSocket;
const asTurbo: turbo.Socket = nodeSocket;
function takesNodeSocket(s: nodeDgram.Socket): nodeDgram.Socket { return s; }
function takesTurboSocket(s: turbo.Socket): turbo.Socket { return s; }
takesNodeSocket(turbo.createSocket('udp4'));
takesTurboSocket(nodeDgram.createSocket('udp6'));
const isNodeClass: typeof nodeDgram.Socket = turbo.Socket;

// The module itself is a drop-in: code typed against node:dgram accepts turbo-dgram.
const asModule: Pick<typeof nodeDgram, 'createSocket' | 'Socket'> = turbo;
const factory: typeof nodeDgram.createSocket = turbo.createSocket;

// The option and info types are @types/node's own.
const options: nodeDgram.SocketOptions = { type: 'udp4', reuseAddr: true } satisfies turbo.SocketOptions;
const bindOptions: turbo.BindOptions = { port: 0, address: '127.0.0.1', exclusive: true } satisfies nodeDgram.BindOptions;
const type: turbo.SocketType = 'udp6';
const rinfo: nodeDgram.RemoteInfo = { address: '::1', family: 'IPv6', port: 1, size: 0 } satisfies turbo.RemoteInfo;

// createSocket overloads.
const s1: turbo.Socket = turbo.createSocket('udp4');
const s2 = turbo.createSocket('udp6', (msg, info) => {
  const b: Buffer = msg;
  const r: turbo.RemoteInfo = info;
});
const s3 = turbo.createSocket({
  type: 'udp4',
  reuseAddr: true,
  reusePort: false,
  ipv6Only: false,
  recvBufferSize: 1 << 20,
  sendBufferSize: 1 << 20,
  signal: new AbortController().signal,
  lookup: (hostname, opts, cb) => cb(null, '127.0.0.1', 4),
}, (msg, info) => {});

// bind overloads, chaining.
s1.bind();
s1.bind(0);
s1.bind(0, '127.0.0.1');
s1.bind(0, '127.0.0.1', () => {});
s1.bind(0, () => {});
s1.bind(() => {});
s1.bind({ port: 0, address: '127.0.0.1', exclusive: false }, () => {}).unref().ref();
s1.bind({ fd: 3 });
const bound: AddressInfo = s1.bindSync({ port: 0, address: '127.0.0.1' });
s1.bindSync();

// connect overloads.
s1.connect(41234);
s1.connect(41234, 'localhost');
s1.connect(41234, '127.0.0.1', () => {});
s1.connect(41234, () => {});
s1.connectSync(41234, '127.0.0.1');
s1.connectSync(41234);
s1.disconnect();
const remote: AddressInfo = s1.remoteAddress();
const local: AddressInfo = s1.address();

// send overloads.
const buf = Buffer.from('hi');
s1.send(buf);
s1.send('text', 41234);
s1.send([buf, 'two', new Uint8Array(2)], 41234, '127.0.0.1');
s1.send(buf, 41234, '127.0.0.1', (err, bytes) => { const e: Error | null = err; const n: number = bytes; });
s1.send(buf, 41234, (err, bytes) => {});
s1.send(buf, (err, bytes) => {});
s1.send(buf, 0, 2, 41234, '127.0.0.1', (err) => {});
s1.send(new DataView(new ArrayBuffer(4)), 0, 4, 41234);
s1.send(buf, 0, 2, (err) => {});

// Options, membership, queue.
s1.setBroadcast(true);
const ttl: number = s1.setTTL(64);
const mttl: number = s1.setMulticastTTL(1);
const loop: boolean = s1.setMulticastLoopback(true);
s1.setMulticastInterface('127.0.0.1');
s1.addMembership('239.1.1.1');
s1.addMembership('239.1.1.1', '127.0.0.1');
s1.dropMembership('239.1.1.1');
s1.addSourceSpecificMembership('10.0.0.1', '232.1.1.1');
s1.dropSourceSpecificMembership('10.0.0.1', '232.1.1.1', '127.0.0.1');
s1.setRecvBufferSize(1 << 20);
s1.setSendBufferSize(1 << 20);
const sizes: number[] = [s1.getRecvBufferSize(), s1.getSendBufferSize(), s1.getSendQueueSize(), s1.getSendQueueCount()];

// Events: each typed listener, EventEmitter methods chain.
s1.on('message', (msg, info) => { const b: Buffer = msg; const port: number = info.port; })
  .once('listening', () => {})
  .on('connect', () => {})
  .on('close', () => {})
  .on('error', (err) => { const e: Error = err; })
  .prependListener('message', () => {})
  .off('close', () => {});
s1.emit('close');
s1.close();
s1.close(() => {});
async function disposal(): Promise<void> {
  await using s = turbo.createSocket('udp4');
  await s1[Symbol.asyncDispose]();
}

import register = require('turbo-dgram/register');
const hookOn: boolean = register.active;

// Extras: opt-in option and the drivers list; a dgram.SocketOptions is still accepted as is.
const inline: turbo.Socket = turbo.createSocket({ type: 'udp4', driver: 'inline' });
const fromNodeOptions: turbo.SocketOptions = options;
const driverNames: readonly turbo.ReceiveDriver[] = turbo.drivers;
const firstDriver: 'handover' | 'thread' | 'inline' | undefined = turbo.drivers[0];
const which: 'turbo-dgram' | 'node:dgram' = turbo.implementation;
// @ts-expect-error implementation is one of the two names, not any string
const notAName: 'turbo-dgram' = turbo.implementation;
