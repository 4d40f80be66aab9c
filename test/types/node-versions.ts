// What index.d.ts promises whichever @types/node a user has (20, 22, 24 or 26): a turbo-dgram
// Socket where a builtin one is expected and the reverse, the module where node:dgram is expected,
// Node 26's additions callable, and the listeners typed. Compiled by test/types-node-versions.test.js
// against each version; nothing here runs.

import * as nodeDgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import * as turbo from 'turbo-dgram';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
function same<A, B>(proof: Equal<A, B>): void {}

// Both directions, for sockets from either createSocket, with or without the receive-info options.
const fromBuiltin: turbo.Socket = nodeDgram.createSocket('udp4');
const fromBuiltinOptions: turbo.Socket = nodeDgram.createSocket({ type: 'udp6', reuseAddr: true });
const toBuiltin: nodeDgram.Socket = turbo.createSocket('udp4');
const withInfoToBuiltin: nodeDgram.Socket = turbo.createSocket({ type: 'udp6', recvPktInfo: true, recvTimestamp: true });
function takesTurbo(s: turbo.Socket): void {}
function takesBuiltin(s: nodeDgram.Socket): void {}
takesTurbo(nodeDgram.createSocket('udp4'));
takesTurbo(turbo.createSocket({ type: 'udp4', recvTimestamp: true }));
takesBuiltin(turbo.createSocket({ type: 'udp4', recvPktInfo: true }));
const builtinClass: typeof nodeDgram.Socket = turbo.Socket;
const builtinFactory: typeof nodeDgram.createSocket = turbo.createSocket;
const asModule: Pick<typeof nodeDgram, 'createSocket' | 'Socket'> = turbo;
const options: turbo.SocketOptions = { type: 'udp4', reuseAddr: true } satisfies nodeDgram.SocketOptions;

// Node 26's additions: optional where this @types/node does not declare them, callable either way.
const s = turbo.createSocket('udp4');
const bound: AddressInfo | undefined = s.bindSync?.({ port: 0, address: '127.0.0.1' });
s.connectSync?.(41234, '127.0.0.1');

// The listeners: standard events with this @types/node's argument types, and the extras.
s.on('message', (msg, rinfo) => {
  same<typeof msg, Parameters<NonNullable<Parameters<typeof nodeDgram.createSocket>[1]>>[0]>(true);
  same<typeof rinfo, nodeDgram.RemoteInfo>(true);
}).on('error', (err) => same<typeof err, Error>(true));
s.on('messages', (list) => same<typeof list, turbo.ReceivedDatagram<nodeDgram.RemoteInfo>[]>(true));
turbo.createSocket({ type: 'udp6', recvPktInfo: true, recvTimestamp: true })
  .on('message', (msg, { localAddress, interfaceIndex, timestamp }) => {
    same<typeof localAddress, string | null>(true);
    same<typeof interfaceIndex, number | null>(true);
    same<typeof timestamp, number | null>(true);
  });
