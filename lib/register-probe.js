'use strict';

// Which way of hooking require() works on the running Node, found by trying it rather than by its
// version number. module.registerHooks() exists from Node 22.15 / 23.5, but what its require()
// does with a builtin specifier that a resolve hook sends to a file has changed between releases:
// Node 24.12, with no load hook registered, loads any `node:`-prefixed request as a builtin
// whatever the resolve hook said, and dies (TypeError in loadBuiltinWithHooks); with a load hook
// registered it follows the resolve hook. So the probe redirects both spellings of a builtin to
// this very file through temporary hooks and checks that require() returns this module.

const Module = require('node:module');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const SELF_URL = pathToFileURL(__filename).href;
// The probe requires from a made-up file in a directory of its own: Node caches what a request
// resolved to per requiring directory, and no real module must inherit the probe's answer.
const PROBE_PARENT = path.join(__dirname, '.register-probe', 'parent.js');
const PROBE_PARENT_URL = pathToFileURL(PROBE_PARENT).href;
const SPELLINGS = ['dgram', 'node:dgram'];

/** A load hook that changes nothing; its presence alone makes Node 24.12 honour the resolve hook. */
function passThroughLoad(url, context, nextLoad) {
  return nextLoad(url, context);
}

function probeResolve(specifier, context, nextResolve) {
  if (SPELLINGS.includes(specifier) && context.parentURL === PROBE_PARENT_URL) {
    return { url: SELF_URL, format: 'commonjs', shortCircuit: true };
  }
  return nextResolve(specifier, context);
}

/**
 * Whether a resolve hook registered with module.registerHooks() (plus the pass-through load hook
 * when `withLoadHook`) redirects require() of both spellings of a builtin.
 * @param {boolean} withLoadHook
 */
function registerHooksRedirectsRequire(withLoadHook) {
  const hooks = Module.registerHooks(withLoadHook ?
    { resolve: probeResolve, load: passThroughLoad } : { resolve: probeResolve });
  try {
    const probeRequire = Module.createRequire(PROBE_PARENT);
    return SPELLINGS.every((specifier) => probeRequire(specifier) === module.exports);
  } catch {
    return false;
  } finally {
    hooks.deregister();
  }
}

module.exports = { passThroughLoad, registerHooksRedirectsRequire };
