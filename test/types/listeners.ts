// The listener methods' types: 'messages' (an extra) and 'message' with rinfo typed by the
// receive-info options the socket was created with (README "Where it arrived"). Each check is an
// exact type equality, so a listener argument that is `any` fails as much as a wrong type.

import type { RemoteInfo } from 'node:dgram';
import * as turbo from 'turbo-dgram';

// Exact equality: `any` is equal to nothing but itself.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
function same<A, B>(proof: Equal<A, B>): void {}

type PktInfo = RemoteInfo & turbo.PktInfoFields;
type Stamped = RemoteInfo & turbo.TimestampFields;
type Both = RemoteInfo & turbo.PktInfoFields & turbo.TimestampFields;

// No receive-info option: the standard rinfo, and 'messages' lists of it.
const plain = turbo.createSocket('udp4');
same<typeof plain, turbo.Socket>(true);
same<typeof plain, turbo.Socket<RemoteInfo>>(true);
plain.on('message', (msg, rinfo) => {
  same<typeof msg, turbo.Message>(true);
  same<typeof rinfo, RemoteInfo>(true);
});
plain.on('messages', (list) => {
  same<typeof list, turbo.ReceivedDatagram<RemoteInfo>[]>(true);
  for (const { msg, rinfo } of list) {
    same<typeof msg, turbo.Message>(true);
    same<typeof rinfo, RemoteInfo>(true);
  }
});
const fromOptions = turbo.createSocket({ type: 'udp4', reuseAddr: true, driver: 'thread' });
same<typeof fromOptions, turbo.Socket<RemoteInfo>>(true);
const bothOff = turbo.createSocket({ type: 'udp4', recvPktInfo: false, recvTimestamp: undefined });
same<typeof bothOff, turbo.Socket<RemoteInfo>>(true);

// Each option adds its own fields, and only those.
const withPktInfo = turbo.createSocket({ type: 'udp6', recvPktInfo: true });
same<typeof withPktInfo, turbo.Socket<PktInfo>>(true);
withPktInfo.on('message', (msg, rinfo) => {
  same<typeof rinfo, PktInfo>(true);
  same<typeof rinfo.localAddress, string | null>(true);
  same<typeof rinfo.interfaceIndex, number | null>(true);
});
const withTimestamp = turbo.createSocket({ type: 'udp4', recvTimestamp: true }, (msg, rinfo) => {
  same<typeof rinfo, Stamped>(true);
});
withTimestamp.once('message', (msg, rinfo) => same<typeof rinfo.timestamp, number | null>(true));
const withBoth = turbo.createSocket({ type: 'udp6', recvPktInfo: true, recvTimestamp: true });
same<typeof withBoth, turbo.Socket<Both>>(true);

// Every listener method, and chaining keeps the socket's rinfo type.
withBoth
  .on('listening', () => {})
  .addListener('message', (msg, rinfo) => same<typeof rinfo, Both>(true))
  .prependListener('messages', (list) => same<typeof list, turbo.ReceivedDatagram<Both>[]>(true))
  .prependOnceListener('message', (msg, rinfo) => same<typeof rinfo, Both>(true))
  .once('messages', (list) => same<typeof list[number]['rinfo'], Both>(true))
  .on('error', (err) => same<typeof err, Error>(true))
  .on('close', () => {})
  .on('connect', () => {});
const onBatch = (list: turbo.ReceivedDatagram<Both>[]) => {};
withBoth.on('messages', onBatch).off('messages', onBatch).removeListener('messages', onBatch);
withBoth.emit('messages', []);

// An option that may be either: its fields may be there.
declare const maybe: boolean;
const either = turbo.createSocket({ type: 'udp4', recvPktInfo: maybe });
either.on('message', (msg, rinfo) => same<typeof rinfo, RemoteInfo & Partial<turbo.PktInfoFields>>(true));
declare const anyOptions: turbo.SocketOptions;
turbo.createSocket(anyOptions).on('message', (msg, rinfo) => same<typeof rinfo, turbo.ReceiveInfo>(true));

// The exported listener types fit every socket.
const batchListener: turbo.MessagesListener = (list) => {
  for (const { rinfo } of list) {
    const local: string | null | undefined = rinfo.localAddress;
  }
};
plain.on('messages', batchListener);
withBoth.on('messages', batchListener);

// Any other event name still takes any listener, as @types/node's.
plain.on('someday', (a: number, b: string) => {});
