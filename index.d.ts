// Types for turbo-dgram: the same shapes as @types/node's `node:dgram`, plus the extras.
//
// The standard API is not re-declared: the option and info types are @types/node's own, and
// Socket extends @types/node's dgram.Socket, so every method and overload not named below is
// exactly the one the installed @types/node declares. A turbo-dgram Socket is therefore usable
// wherever a dgram.Socket is expected, and a dgram.Socket wherever a turbo-dgram Socket is
// expected (the extras are optional members for that reason: see the last section), with any
// @types/node from 20 on (test/types-node-versions.test.js).
//
// Declared here rather than inherited:
// - what Node added after the @types/node versions this package must still work with (bindSync
//   and connectSync, Node 26): optional members where the installed @types/node does not declare
//   them (a builtin socket typed there has no such methods), its own declaration where it does;
// - the listener methods (on, once, ...): the standard events with @types/node's argument types,
//   plus the `'messages'` extra, and rinfo typed by the receive-info options the socket was
//   created with (createSocket({ recvPktInfo, recvTimestamp }): see ReceiveInfoFor).

/// <reference types="node" />

import * as dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';

export type { BindOptions, RemoteInfo, SocketType } from 'node:dgram';

/** Options of {@link Socket.bindSync}: numeric IP addresses only, no DNS. */
export interface BindSyncOptions {
  port?: number | undefined;
  address?: string | undefined;
}

/**
 * createSocket()'s options: @types/node's, plus turbo-dgram's opt-in `driver`, `recvPktInfo` and
 * `recvTimestamp` (see the extras below). Every dgram.SocketOptions is one of these. The two
 * parameters are the types of `recvPktInfo` and `recvTimestamp`, which createSocket() infers from
 * the options given to type rinfo (see {@link ReceiveInfoFor}).
 */
export interface SocketOptions<
  PktInfo extends boolean | undefined = boolean | undefined,
  Timestamp extends boolean | undefined = boolean | undefined,
> extends dgram.SocketOptions {
  /**
   * Extra: how this socket's datagrams reach JavaScript. `'handover'` (the default, unless
   * TURBO_DGRAM_DRIVER says otherwise): the JS thread reads the socket as libuv would, and the
   * reactor thread drains it only while the JS thread is stalled. `'thread'`: the reactor thread
   * drains the kernel queue as data arrives and wakes JS once per batch. `'inline'`: the reactor
   * is turned from Node's own event loop, with no thread hop.
   */
  driver?: ReceiveDriver | undefined;
  /**
   * Extra: add where each datagram arrived to rinfo (see {@link PktInfoFields}): `localAddress`,
   * the local address it was sent to (IP_PKTINFO / IPV6_PKTINFO), and `interfaceIndex`.
   */
  recvPktInfo?: PktInfo;
  /** Extra: add `timestamp` to rinfo, the kernel's arrival time (SO_TIMESTAMPNS), see {@link TimestampFields}. */
  recvTimestamp?: Timestamp;
}

/** Extra: the receive drivers createSocket({ driver }) accepts. */
export type ReceiveDriver = 'handover' | 'thread' | 'inline';

/** The `'message'` listener that createSocket() takes: exactly @types/node's. */
export type MessageListener = NonNullable<Parameters<typeof dgram.createSocket>[1]>;

/** A received datagram, as the installed @types/node types it (Buffer, or NonSharedBuffer). */
export type Message = Parameters<MessageListener>[0];

/**
 * A socket's events and their listeners' arguments: the builtin's, with rinfo of type `Info`, and
 * the `'messages'` extra.
 */
export interface SocketEventMap<Info extends dgram.RemoteInfo = dgram.RemoteInfo> {
  close: [];
  connect: [];
  error: [err: Error];
  listening: [];
  message: [msg: Message, rinfo: Info];
  /** Extra: one call per native batch, before that batch's `'message'` events. */
  messages: [list: ReceivedDatagram<Info>[]];
}

/** The listener of event `E` on a socket whose rinfo is `Info`. */
export type SocketListener<Info extends dgram.RemoteInfo, E extends keyof SocketEventMap> =
  (...args: SocketEventMap<Info>[E]) => void;

/**
 * Node 26's additions, optional: intersected with the installed @types/node's dgram.Socket (the
 * base of Socket below), each stays optional where that @types/node does not declare it, so that
 * a builtin socket typed there is still a Socket, and is @types/node's own where it does.
 */
interface Node26Additions {
  /**
   * Binds synchronously (Node 26): returns the bound address, throws instead of emitting
   * `'error'`, and still emits `'listening'` on the next tick. `address` must be an IP literal.
   */
  bindSync?(options?: BindSyncOptions): AddressInfo;
  /**
   * Connects synchronously (Node 26), binding first if the socket is unbound; throws on failure
   * and emits `'connect'` on the next tick. `address` must be an IP literal.
   */
  connectSync?(port: number, address?: string): void;
}
// The builtin's class (its static side too), its instances with the additions (a mixin).
declare const SocketBase: typeof dgram.Socket & (new (...args: any[]) => Node26Additions);

/**
 * A turbo-dgram socket. `Info` is the type of rinfo in `'message'` and `'messages'` events:
 * createSocket() gives `Socket<ReceiveInfoFor<...>>` from its options (with neither receive-info
 * option: the standard `RemoteInfo`).
 */
export declare class Socket<Info extends dgram.RemoteInfo = dgram.RemoteInfo> extends SocketBase {
  // The listener methods: typed events first, then any other name, as @types/node's.
  addListener<E extends keyof SocketEventMap>(event: E, listener: SocketListener<Info, E>): this;
  addListener(event: string | symbol, listener: (...args: any[]) => void): this;
  on<E extends keyof SocketEventMap>(event: E, listener: SocketListener<Info, E>): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once<E extends keyof SocketEventMap>(event: E, listener: SocketListener<Info, E>): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
  prependListener<E extends keyof SocketEventMap>(event: E, listener: SocketListener<Info, E>): this;
  prependListener(event: string | symbol, listener: (...args: any[]) => void): this;
  prependOnceListener<E extends keyof SocketEventMap>(event: E, listener: SocketListener<Info, E>): this;
  prependOnceListener(event: string | symbol, listener: (...args: any[]) => void): this;
  off<E extends keyof SocketEventMap>(event: E, listener: SocketListener<Info, E>): this;
  off(event: string | symbol, listener: (...args: any[]) => void): this;
  removeListener<E extends keyof SocketEventMap>(event: E, listener: SocketListener<Info, E>): this;
  removeListener(event: string | symbol, listener: (...args: any[]) => void): this;
  emit<E extends keyof SocketEventMap>(event: E, ...args: SocketEventMap<Info>[E]): boolean;
  emit(event: string | symbol, ...args: any[]): boolean;

  // ---------------------------------------------------------------------------------------------
  // Extras: turbo-dgram's methods beyond the node:dgram API. New names only, and declared as
  // optional members (`name?(...): T`) so that a builtin dgram.Socket still type-checks where a
  // turbo-dgram Socket is expected; call them as `socket.name?.()`, or with `!` on a socket known
  // to come from turbo-dgram. Only what lib/ implements is declared here.
  // ---------------------------------------------------------------------------------------------

  /** Extra: this socket's counters since bind (readable after close()). */
  getStats?(): SocketStats;
  /**
   * Extra: sends a list of datagrams, joining the send() calls of this tick in one native call
   * (sendmmsg; one GSO message per run of same-size datagrams to one destination), in order.
   * A plain entry goes to the call's `port` / `address`; `{ msg, port, address }` may name its own.
   * Arguments are checked as send() checks them. The callback gets the first failure (with
   * `index`) and how many datagrams the kernel accepted.
   */
  sendMany?(messages: readonly SendManyMessage[], callback?: SendManyCallback): void;
  sendMany?(messages: readonly SendManyMessage[], port: number, callback?: SendManyCallback): void;
  sendMany?(messages: readonly SendManyMessage[], port: number, address: string, callback?: SendManyCallback): void;
}

export declare function createSocket(type: dgram.SocketType, callback?: MessageListener): Socket;
/**
 * With `recvPktInfo: true` / `recvTimestamp: true`, the socket's rinfo (here, and in its
 * `'message'` and `'messages'` listeners) has the fields they add.
 */
export declare function createSocket<
  PktInfo extends boolean | undefined = undefined,
  Timestamp extends boolean | undefined = undefined,
>(
  options: SocketOptions<PktInfo, Timestamp>,
  callback?: (msg: Message, rinfo: ReceiveInfoFor<PktInfo, Timestamp>) => void,
): Socket<ReceiveInfoFor<PktInfo, Timestamp>>;

// -----------------------------------------------------------------------------------------------
// Extras beside the node:dgram exports.
// -----------------------------------------------------------------------------------------------

/** The receive drivers this build offers, for createSocket({ driver }); empty on the builtin fallback. */
export declare const drivers: readonly ReceiveDriver[];

/**
 * Which dgram this is: `'turbo-dgram'`, or `'node:dgram'` when the native addon could not be
 * loaded (not built for this platform, or Node's permission model without `--allow-addons`) and
 * the builtin stands in, after one `TURBO_DGRAM_FALLBACK` warning. createSocket and Socket are
 * then the builtin's own, and the extras are absent.
 */
export declare const implementation: 'turbo-dgram' | 'node:dgram';

/** Extra: what {@link Socket.getStats} returns. Counts since bind; datagrams are whole datagrams. */
export interface SocketStats {
  /** Datagrams turbo-dgram took from the kernel (and their payload bytes). */
  receivedDatagrams: number;
  receivedBytes: number;
  /** Datagrams the kernel accepted to send (and their payload bytes). */
  sentDatagrams: number;
  sentBytes: number;
  /** Datagrams the kernel refused to send (EMSGSIZE, ENETUNREACH, ...). */
  sendErrors: number;
  /**
   * Datagrams the kernel dropped for this socket, its receive buffer full (the drops column of
   * /proc/net/udp), read when getStats() is called; after close(), the count at close.
   */
  kernelDrops: number;
  /** Datagrams turbo-dgram read but dropped: more data was waiting for JavaScript than its cap. */
  pendingDrops: number;
  /** Deliveries to JavaScript (each one native batch), and datagrams per delivery on average. */
  receiveBatches: number;
  meanBatchSize: number;
  /**
   * Times the reactor thread took this socket's reads over because its JS thread left data
   * waiting (the `'handover'` driver; always 0 with the others).
   */
  takeovers: number;
}

/** Extra: one datagram's content for {@link Socket.sendMany}. */
export type SendManyData = string | NodeJS.ArrayBufferView;

/** Extra: an entry of {@link Socket.sendMany}: data for the call's destination, or its own. */
export type SendManyMessage = SendManyData | {
  /** The datagram; a list is concatenated into one datagram, as send() does. */
  msg: SendManyData | readonly SendManyData[];
  port?: number | undefined;
  address?: string | undefined;
};

/** Extra: the error {@link Socket.sendMany} reports: the first failure, with its entry's index. */
export interface SendManyError extends Error {
  index: number;
  code?: string | undefined;
  errno?: number | undefined;
  syscall?: string | undefined;
  address?: string | undefined;
  port?: number | undefined;
}

/** Extra: {@link Socket.sendMany}'s callback: the first failure, and how many datagrams were sent. */
export type SendManyCallback = (error: SendManyError | null, sentCount: number) => void;

/** Extra: what createSocket({ recvPktInfo: true }) adds to rinfo. */
export interface PktInfoFields {
  /** The local address the datagram was sent to (no zone; see interfaceIndex); null if the kernel gave none. */
  localAddress: string | null;
  /** The index of the interface it arrived on; null if the kernel gave none. */
  interfaceIndex: number | null;
}

/** Extra: what createSocket({ recvTimestamp: true }) adds to rinfo. */
export interface TimestampFields {
  /** Arrival time, ms since the epoch (Date.now()'s scale), sub-ms in the fraction; null if the kernel gave none. */
  timestamp: number | null;
}

/**
 * Extra: rinfo on a socket created with `recvPktInfo: PktInfo` and `recvTimestamp: Timestamp`:
 * the standard four fields, then those of each option that is `true`; an option that may be
 * either (a `boolean`) adds its fields as optional ones. (When the builtin stands in for
 * turbo-dgram, see {@link implementation}, it ignores these options and rinfo has the four only.)
 */
export type ReceiveInfoFor<PktInfo extends boolean | undefined, Timestamp extends boolean | undefined> =
  dgram.RemoteInfo & OptedIn<PktInfo, PktInfoFields> & OptedIn<Timestamp, TimestampFields>;

/** `Fields` if the option is true, none if it is false or absent, optional ones if it may be either. */
type OptedIn<Option extends boolean | undefined, Fields> =
  [Option] extends [true] ? Fields : [Option] extends [false | undefined] ? unknown : Partial<Fields>;

/** Extra: rinfo on a socket created with any options: each receive-info field may be there. */
export type ReceiveInfo = ReceiveInfoFor<boolean, boolean>;

/** Extra: an entry of the `'messages'` event's list. */
export interface ReceivedDatagram<Info extends dgram.RemoteInfo = ReceiveInfo> {
  msg: Message;
  rinfo: Info;
}

/**
 * Extra: a `'messages'` listener, `socket.on('messages', listener)`: one call per native batch,
 * before that batch's `'message'` events (which get the same msg and rinfo objects).
 */
export type MessagesListener<Info extends dgram.RemoteInfo = ReceiveInfo> = (list: ReceivedDatagram<Info>[]) => void;
