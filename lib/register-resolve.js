'use strict';

// What the drop-in hook takes over and what it turns it into. Shared by both ways the hook is
// installed (lib/register.js): module.registerHooks() where Node has it, and Module._load plus the
// module.register() loader (lib/register-hooks.mjs) on older Node.
//
// 'dgram' and 'node:dgram' become turbo-dgram's own entry points, the same ones package.json
// "exports" gives to require and import, so an app that also loads turbo-dgram by name gets the
// same module objects. Imports made by turbo-dgram's own files (this directory) are left alone:
// lib/ may reach the builtin on purpose.

const path = require('node:path');
const { pathToFileURL } = require('node:url');

const LIB_DIR = __dirname;
const LIB_DIR_PREFIX = LIB_DIR + path.sep;
const LIB_DIR_URL = pathToFileURL(LIB_DIR_PREFIX).href;

const CJS_ENTRY = path.join(LIB_DIR, 'index.js');
const CJS_ENTRY_URL = pathToFileURL(CJS_ENTRY).href;
const ESM_ENTRY_URL = pathToFileURL(path.join(LIB_DIR, 'index.mjs')).href;

/** @param {unknown} specifier */
function isDgramSpecifier(specifier) {
  return specifier === 'dgram' || specifier === 'node:dgram';
}

/**
 * TURBO_DGRAM=off (or 0 / false) turns the hook into a no-op, so one command line A/Bs an app.
 * @param {string | undefined} value
 */
function isDisabled(value) {
  if (value === undefined) return false;
  const v = String(value).trim().toLowerCase();
  return v === 'off' || v === '0' || v === 'false';
}

/** @param {string | undefined} filename the requiring module's file (Module._load's parent) */
function isOwnFile(filename) {
  return typeof filename === 'string' && filename.startsWith(LIB_DIR_PREFIX);
}

/** @param {string | undefined} parentURL the importing module's URL (resolve hook context) */
function isOwnURL(parentURL) {
  return typeof parentURL === 'string' && parentURL.startsWith(LIB_DIR_URL);
}

/**
 * A resolve hook in the shape both module.registerHooks() (synchronous) and module.register()
 * (asynchronous: nextResolve returns a promise, which is returned as is) expect.
 * A require() (conditions include 'require') gets the CommonJS entry, an import the ES module one.
 */
function resolveDgram(specifier, context, nextResolve) {
  if (!isDgramSpecifier(specifier) || isOwnURL(context.parentURL)) {
    return nextResolve(specifier, context);
  }
  const conditions = context.conditions || [];
  if (conditions.includes('require')) {
    return { url: CJS_ENTRY_URL, format: 'commonjs', shortCircuit: true };
  }
  return { url: ESM_ENTRY_URL, format: 'module', shortCircuit: true };
}

module.exports = {
  CJS_ENTRY,
  isDgramSpecifier,
  isDisabled,
  isOwnFile,
  resolveDgram,
};
