// Wrong usage must fail to type-check: each line below carries @ts-expect-error, and tsc reports
// any of them that compiles ("Unused '@ts-expect-error' directive").

import * as turbo from 'turbo-dgram';

const s = turbo.createSocket('udp4');

// @ts-expect-error: not a socket type
turbo.createSocket('udp5');
// @ts-expect-error: the type is required
turbo.createSocket({ reuseAddr: true });
// @ts-expect-error: not an option
turbo.createSocket({ type: 'udp4', reuseAdress: true });
// @ts-expect-error: a port is a number
s.bind('41234');
// @ts-expect-error: bindSync takes no callback
s.bindSync({ port: 0 }, () => {});
// @ts-expect-error: bindSync options have no fd
s.bindSync({ fd: 3 });
// @ts-expect-error: connect needs a port
s.connect();
// @ts-expect-error: connectSync returns nothing
const connected: boolean = s.connectSync(1);
// @ts-expect-error: a message is not a number
s.send(42, 41234);
// @ts-expect-error: offset and length need a buffer or string, not an array
s.send([Buffer.alloc(1)], 0, 1, 41234);
// @ts-expect-error: setTTL takes a number
s.setTTL('64');
// @ts-expect-error: setBroadcast returns nothing
const broadcast: boolean = s.setBroadcast(true);
// @ts-expect-error: address() is an AddressInfo, not a string
const address: string = s.address();
// @ts-expect-error: no such method
s.sendmmsg();
// Events: a listener's parameters are typed from the event name.
s.on('message', (msg, rinfo) => {
  // @ts-expect-error: rinfo.port is a number
  const port: string = rinfo.port;
  // @ts-expect-error: a message is a Buffer, not a string
  const text: string = msg;
});
s.on('error', (err) => {
  // @ts-expect-error: no such property on an Error
  err.errnoo;
});
// @ts-expect-error: node:dgram's private fields are not part of the API
s._handle;

// Extras.
// @ts-expect-error: not a receive driver
turbo.createSocket({ type: 'udp4', driver: 'epoll' });
// @ts-expect-error: node:dgram's createSocket does not take turbo-dgram's options type
const nodeOnly: import('node:dgram').SocketOptions = { type: 'udp4', driver: 'thread' };
// @ts-expect-error: the receive-info options are booleans
turbo.createSocket({ type: 'udp4', recvPktInfo: 1 });
// Receive info: rinfo has the fields of the options the socket was created with, and only those.
turbo.createSocket('udp4').on('message', (msg, rinfo) => {
  // @ts-expect-error: no recvPktInfo, no localAddress
  rinfo.localAddress;
});
turbo.createSocket({ type: 'udp4', recvPktInfo: true }).on('message', (msg, rinfo) => {
  // @ts-expect-error: recvPktInfo adds no timestamp
  rinfo.timestamp;
  // @ts-expect-error: localAddress is null when the kernel gave none
  const local: string = rinfo.localAddress;
});
s.on('messages', (list) => {
  // @ts-expect-error: the entries are { msg, rinfo }
  list[0].length;
});
