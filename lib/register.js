'use strict';

// The drop-in hook. Preloaded with
//
//   node -r turbo-dgram/register app.js          (this file)
//   node --import turbo-dgram/register app.mjs   (lib/register.mjs, which loads this file)
//
// it makes every require('dgram'), require('node:dgram'), import 'dgram' and import 'node:dgram'
// of the app and of its dependencies load turbo-dgram instead of the builtin. Both preload forms
// hook both module systems: an ES module app has CommonJS dependencies, and the reverse.
// TURBO_DGRAM=off (or 0 / false) makes it a no-op, so the same command line A/Bs an app.
//
// If the addon cannot be loaded (lib/native-load.js: not built, or Node's permission model without
// --allow-addons), the hook leaves dgram as the builtin, with one warning (lib/fallback.js), and
// `active` is false: a missing addon never takes the app down.
//
// How, by what the running Node can do (tried, not read off its version):
//   - module.registerHooks() (Node >= 22.15 / 23.5): one synchronous resolve hook on this thread
//     sees both require() and import, builtins included; with a pass-through load hook beside it
//     where the resolve hook alone does not redirect require('node:dgram') (Node 24.12, see
//     lib/register-probe.js).
//   - otherwise: Module._load is wrapped for require() (a builtin never reaches
//     Module._resolveFilename, so that is the one place to catch it), and import goes through
//     module.registerHooks() if this Node has it, else module.register() (Node >= 20.6) installs
//     lib/register-hooks.mjs. Node 20.0 - 20.5 hook require() only.
// Worker threads run the same preload (they inherit execArgv), so each thread hooks itself. On
// Node 20 the loader thread runs `-r` preloads too; hooking there again is harmless (the loader
// chain short-circuits on the first turbo-dgram hook).
//
// Left alone on purpose: process.getBuiltinModule('dgram'), the documented way to reach the
// builtin, and imports made by turbo-dgram's own files.
//
// NODE_DEBUG=turbo-dgram logs how the hook was installed.

const Module = require('node:module');
const { pathToFileURL } = require('node:url');
const path = require('node:path');
const debug = require('./debug.js');
const { CJS_ENTRY, isDgramSpecifier, isDisabled, isOwnFile, resolveDgram } =
  require('./register-resolve.js');
const { passThroughLoad, registerHooksRedirectsRequire } = require('./register-probe.js');
const { loadNative } = require('./native-load.js');
const { warnFallback } = require('./fallback.js');

// module.registerHooks(), in the first form the running Node handles for require() of both
// spellings (lib/register-probe.js), or null when it handles neither.
function hookWithRegisterHooks() {
  if (registerHooksRedirectsRequire(false)) {
    Module.registerHooks({ resolve: resolveDgram });
    return 'module.registerHooks';
  }
  if (registerHooksRedirectsRequire(true)) {
    Module.registerHooks({ resolve: resolveDgram, load: passThroughLoad });
    return 'module.registerHooks with a pass-through load hook';
  }
  return null;
}

// Module._load for require(), which sees the request before any resolve hook; import through
// module.registerHooks() where this Node has it (its resolve hook then sees imports only, since
// require() of dgram never reaches it), else through module.register() (Node 20.6+).
function hookWithModuleLoad() {
  const originalLoad = Module._load;
  // Loading turbo-dgram by its path with the original parent keeps require.cache and
  // module.children as they would be for any other module.
  Module._load = function _load(request, parent, isMain) {
    if (isDgramSpecifier(request) && !isOwnFile(parent && parent.filename)) {
      return originalLoad.call(this, CJS_ENTRY, parent, isMain);
    }
    return Reflect.apply(originalLoad, this, arguments);
  };
  if (typeof Module.registerHooks === 'function') {
    Module.registerHooks({ resolve: resolveDgram });
    return 'Module._load + module.registerHooks for import';
  }
  if (typeof Module.register !== 'function') {
    return 'Module._load (import not hooked: this Node has no module.register)';
  }
  Module.register(pathToFileURL(path.join(__dirname, 'register-hooks.mjs')));
  return 'Module._load + module.register';
}

function install() {
  if (isDisabled(process.env.TURBO_DGRAM)) {
    debug('register: TURBO_DGRAM=%s, dgram stays the builtin', process.env.TURBO_DGRAM);
    return false;
  }
  const { error } = loadNative();
  if (error) {
    warnFallback(error);
    debug('register: the addon did not load (%s), dgram stays the builtin', error.code);
    return false;
  }
  const how = (typeof Module.registerHooks === 'function' && hookWithRegisterHooks()) ||
    hookWithModuleLoad();
  debug('register: dgram and node:dgram load turbo-dgram (%s)', how);
  return true;
}

// This file runs once per thread (the module cache sees to that, whichever way it was loaded).
module.exports = Object.freeze({ active: install() });
