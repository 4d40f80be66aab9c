// The same drop-in from an ES module: default and named imports, like node:dgram's.

import dgram, { createSocket, Socket, implementation } from 'turbo-dgram';
import * as nodeDgram from 'node:dgram';
import nodeDefault from 'node:dgram';

const a: nodeDgram.Socket = createSocket('udp4');
const b: Socket = dgram.createSocket({ type: 'udp6' });
const c: Socket = nodeDefault.createSocket('udp4');
const d: typeof nodeDefault.createSocket = dgram.createSocket;
const e: nodeDgram.Socket = b;
const f: Socket = a;

// The hook's own module, for an app that wants to know whether it is on.
import register, { active } from 'turbo-dgram/register';
const on: boolean = active && register.active;

// Which dgram the package gave (the builtin stands in when the addon does not load).
const impl: 'turbo-dgram' | 'node:dgram' = implementation;
const sameImpl: typeof implementation = dgram.implementation;
