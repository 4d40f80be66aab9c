'use strict';

// Name resolution for bind / connect / send; an omitted address means the loopback of the socket's
// family. Node 26's default lookup answers an IP literal of the socket's family itself (on the next
// tick, so callers stay asynchronous) and asks dns.lookup for anything else; older Nodes ask
// dns.lookup for everything. The results are the same, but what a non-string address throws and
// whether a replaced dns.lookup sees literals differ, so each Node gets its builtin's behaviour.

const fs = require('node:fs');
const net = require('node:net');

const ANSWERS_LITERALS = Number(process.versions.node.split('.')[0]) >= 26;

let dns; // loaded on the first host name, as the builtin does

function defaultLookup(address, family, callback) {
  if (ANSWERS_LITERALS && net.isIP(address) === family) {
    process.nextTick(callback, null, address, family);
    return;
  }
  dns ??= require('node:dns');
  // Read at call time: code that replaces dns.lookup (tests, mocks) sees it called, as with the builtin.
  return dns.lookup(address, family, callback);
}

// Returns lookup(address, callback) for a socket of `type`, around the user's lookup if any.
function lookupFor(type, userLookup) {
  const lookup = userLookup === undefined ? defaultLookup : userLookup;
  if (type === 'udp4') return (address, callback) => lookup(address || '127.0.0.1', 4, callback);
  return (address, callback) => lookup(address || '::1', 6, callback);
}

// Whether `ip` is an address a socket of `type` can use: libuv parses it as that family and fails
// with EINVAL otherwise, before any system call.
function ipFitsType(ip, type) {
  return type === 'udp4' ? net.isIPv4(ip) : net.isIPv6(ip);
}

// An IPv6 literal's zone as libuv reads it (uv_ip6_addr: if_nametoindex): a name no interface has,
// digits included, means scope 0 (no interface) rather than an error. Returns `ip` with the zone
// kept if an interface has that name, without it otherwise.
function zoneAsLibuv(ip) {
  const at = ip.indexOf('%');
  if (at < 0) return ip;
  const zone = ip.slice(at + 1);
  const known = /^[^/]+$/.test(zone) && zone !== '.' && zone !== '..' && fs.existsSync(`/sys/class/net/${zone}`);
  return known ? ip : ip.slice(0, at);
}

module.exports = { ipFitsType, lookupFor, zoneAsLibuv };
