'use strict';

// DEP0112: the private members older Nodes still expose on the Socket (_handle, _receiving,
// _bindState, _queue, _reuseAddr as accessors, _healthCheck() and _stopReceiving()), with the
// builtin's deprecation warning; Node 26 removed them. Each Node gets what its builtin has.

const process = require('node:process');
const util = require('node:util');

const { kState, healthCheck } = require('./internal');

// Read from the builtin itself (getBuiltinModule is never redirected by the register hook).
const builtinPrototype = (process.getBuiltinModule?.('node:dgram') ?? require('node:dgram')).Socket.prototype;

// Adds to Socket.prototype the members this Node's builtin has, in its order.
function install(Socket) {
  function deprecatedAccessor(name, key) {
    if (!Object.hasOwn(builtinPrototype, name)) return;
    const message = `Socket.prototype.${name} is deprecated`;
    Object.defineProperty(Socket.prototype, name, {
      get: util.deprecate(function () { return this[kState][key]; }, message, 'DEP0112'),
      set: util.deprecate(function (value) { this[kState][key] = value; }, message, 'DEP0112'),
    });
  }

  deprecatedAccessor('_handle', 'handle');
  deprecatedAccessor('_receiving', 'receiving');
  deprecatedAccessor('_bindState', 'bindState');
  deprecatedAccessor('_queue', 'queue');
  deprecatedAccessor('_reuseAddr', 'reuseAddr');

  if (Object.hasOwn(builtinPrototype, '_healthCheck')) {
    Socket.prototype._healthCheck = util.deprecate(function () {
      healthCheck(this);
    }, 'Socket.prototype._healthCheck() is deprecated', 'DEP0112');
  }

  if (Object.hasOwn(builtinPrototype, '_stopReceiving')) {
    Socket.prototype._stopReceiving = util.deprecate(function () {
      this[kState].receiving = false;
    }, 'Socket.prototype._stopReceiving() is deprecated', 'DEP0112');
  }
}

module.exports = { install };
