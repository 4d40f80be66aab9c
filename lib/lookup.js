'use strict';

// Name resolution for bind / connect / send; an omitted address means the loopback of the socket's
// family. Newer Nodes' default lookup (26, later 24.x: asked of the builtin, lib/builtin-bind.js)
// answers an IP literal of the socket's family itself (on the next tick, so callers stay
// asynchronous) and asks dns.lookup, read at each call, for anything else. Older ones take
// dns.lookup once, when the socket is made, and ask it for everything (a literal comes back on the
// next tick too). The results are the same, but what a non-string address throws and whether a
// replaced dns.lookup sees literals differ, so each Node gets its builtin's behaviour.
//
// send() asks for the same destination over and over: the Resolver answers IP literals itself (see
// below), with the default lookup's result on the same tick.

// Module bindings, not the globals: `process` and `Buffer` on globalThis are getters, run on every
// use in the hot paths below.
const process = require('node:process');
const fs = require('node:fs');
const net = require('node:net');

const builtinBind = require('./builtin-bind');

let dns; // loaded with the first socket (older lookup) or the first host name (newer), as the builtin does

function lookupAnsweringLiterals(address, family, callback) {
  if (net.isIP(address) === family) {
    process.nextTick(callback, null, address, family);
    return;
  }
  dns ??= require('node:dns');
  // Read at call time: code that replaces dns.lookup (tests, mocks) sees it called, as with Node 26.
  return dns.lookup(address, family, callback);
}

// node:dns's own lookup answers an IP literal with itself and its family on the next tick, without
// resolving; a replacement (a mock, a cache) must be called. Its source text tells them apart.
const DNS_LOOKUP_SOURCE_START = 'function lookup(hostname, options, callback) {';
let lastCheckedLookup;
let lastCheckedIsNodes = false;
function isNodeDnsLookup(fn) {
  if (fn !== lastCheckedLookup) {
    lastCheckedLookup = fn;
    lastCheckedIsNodes = typeof fn === 'function' &&
      Function.prototype.toString.call(fn).startsWith(DNS_LOOKUP_SOURCE_START);
  }
  return lastCheckedIsNodes;
}

// A socket's resolver: resolve(address, then, a, b, c, d, e) calls then(err, ip, a, b, c, d, e) as
// the builtin's lookup would call back, on a later tick (the context arguments spare the caller a
// closure per send). An IP literal of the socket's family is answered here when the lookup is the
// default one, which answers it with itself on the next tick; the last such literal is remembered,
// so a send to the same address again needs no regular expression either.
class Resolver {
  constructor(type, userLookup) {
    this.family = type === 'udp4' ? 4 : 6;
    this.loopback = type === 'udp4' ? '127.0.0.1' : '::1';
    if (userLookup !== undefined) {
      this.lookup = userLookup;
      this.literalsKnown = false;
    } else if (builtinBind.answersLiterals) {
      this.lookup = lookupAnsweringLiterals;
      this.literalsKnown = true;
    } else {
      dns ??= require('node:dns');
      this.lookup = dns.lookup;
      this.literalsKnown = isNodeDnsLookup(this.lookup);
    }
    this.literal = undefined;
  }

  resolve(address, then, a, b, c, d, e) {
    const host = address || this.loopback;
    if (host !== this.literal) {
      // Only a string can be a literal; anything else goes to the lookup, which throws the
      // builtin's error.
      if (!this.literalsKnown || typeof host !== 'string' || net.isIP(host) !== this.family) {
        // Called as a plain function, as the builtin calls it (no `this`).
        const { lookup } = this;
        lookup(host, this.family, (err, ip) => then(err, ip, a, b, c, d, e));
        return;
      }
      this.literal = host;
    }
    process.nextTick(then, null, host, a, b, c, d, e);
  }

  // Whether `ip` (what a lookup answered) is an address of the socket's family; libuv fails with
  // EINVAL before any syscall otherwise. The remembered literal is known to be.
  fits(ip) {
    return ip === this.literal || (this.family === 4 ? net.isIPv4(ip) : net.isIPv6(ip));
  }
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

module.exports = { Resolver, zoneAsLibuv };
