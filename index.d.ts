// Types for turbo-dgram: the same shapes as @types/node's `node:dgram`, plus the extras.
//
// The standard API is not re-declared: the option and info types are @types/node's own, and
// Socket extends @types/node's dgram.Socket, so every method, overload and event signature is
// exactly the one the installed @types/node declares. A turbo-dgram Socket is therefore usable
// wherever a dgram.Socket is expected, and a dgram.Socket wherever a turbo-dgram Socket is
// expected (the extras are optional members for that reason: see the last section).
//
// Declared here rather than inherited: what Node added after the @types/node versions this
// package must still work with (bindSync and connectSync, Node 26). With an @types/node that
// already declares them, the declarations are identical.

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
 * createSocket()'s options: @types/node's, plus turbo-dgram's opt-in `driver` (see the extras
 * below). Every dgram.SocketOptions is one of these.
 */
export interface SocketOptions extends dgram.SocketOptions {
  /**
   * Extra: how this socket's datagrams reach JavaScript. `'thread'` (the default, unless
   * TURBO_DGRAM_DRIVER says otherwise): the reactor thread drains the kernel queue as data
   * arrives and wakes JS once per batch. `'inline'`: the reactor is turned from Node's own event
   * loop, with no thread hop.
   */
  driver?: ReceiveDriver | undefined;
}

/** Extra: the receive drivers createSocket({ driver }) accepts. */
export type ReceiveDriver = 'thread' | 'inline';

/** The `'message'` listener that createSocket() takes: exactly @types/node's. */
export type MessageListener = NonNullable<Parameters<typeof dgram.createSocket>[1]>;

export declare class Socket extends dgram.Socket {
  /**
   * Binds synchronously (Node 26): returns the bound address, throws instead of emitting
   * `'error'`, and still emits `'listening'` on the next tick. `address` must be an IP literal.
   */
  bindSync(options?: BindSyncOptions): AddressInfo;
  /**
   * Connects synchronously (Node 26), binding first if the socket is unbound; throws on failure
   * and emits `'connect'` on the next tick. `address` must be an IP literal.
   */
  connectSync(port: number, address?: string): void;

  // ---------------------------------------------------------------------------------------------
  // Extras: turbo-dgram's methods beyond the node:dgram API. New names only, and declared as
  // optional members (`name?(...): T`) so that a builtin dgram.Socket still type-checks where a
  // turbo-dgram Socket is expected; call them as `socket.name?.()`, or with `!` on a socket known
  // to come from turbo-dgram. Only what lib/socket.js implements is declared here: none yet
  // (the native counters behind a future getStats() exist, the JS method does not).
  // ---------------------------------------------------------------------------------------------
}

export declare function createSocket(type: dgram.SocketType, callback?: MessageListener): Socket;
export declare function createSocket(options: SocketOptions, callback?: MessageListener): Socket;

// -----------------------------------------------------------------------------------------------
// Extras beside the node:dgram exports.
// -----------------------------------------------------------------------------------------------

/** The receive drivers this build offers, for createSocket({ driver }). */
export declare const drivers: readonly ReceiveDriver[];
