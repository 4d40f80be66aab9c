'use strict';

// Finds and loads the compiled addon, once per thread, without throwing: the caller decides what a
// failure means (lib/native.js throws it; the package entry and the drop-in hook fall back to the
// builtin node:dgram, see lib/fallback.js).
//
// Where the addon is looked for, first found wins:
//   1. build/turbo_dgram.node: a build from source (`npm run build` in a clone, or
//      `npm explore turbo-dgram -- npm run build` in a project). A developer's build is the one they
//      mean to test, so it goes first.
//   2. prebuilds/<platform>-<arch>/turbo-dgram.<libc>.node: the prebuilt addon the published
//      package ships (scripts/prebuild.sh makes it when packing). The layout and the dot-separated
//      tags are prebuildify's and node-gyp-build's convention; the libc tag keeps a musl system from
//      loading the glibc build.
// Nothing found, or the file does not load: a `TURBO_DGRAM_*` error whose message says what is
// missing and what to run.

const fs = require('node:fs');
const path = require('node:path');
const debug = require('./debug.js');

const PACKAGE_ROOT = path.join(__dirname, '..');
const LOCAL_BUILD = path.join(PACKAGE_ROOT, 'build', 'turbo_dgram.node');
const PLATFORM = `${process.platform}-${process.arch}`;

const SOURCE_BUILD_HELP =
  'Build it from source: `npm explore turbo-dgram -- npm run build` in your project (or\n' +
  '`npm run build` in a clone of turbo-dgram). That needs Rust (https://rustup.rs: `cargo` on your\n' +
  'PATH) and a C linker (gcc or clang).';

/**
 * The C library the running node is linked against, from the program interpreter named in its own
 * ELF header ('/lib64/ld-linux-x86-64.so.2' or '/lib/ld-musl-x86_64.so.1'): a 4 KiB read, where
 * process.report would take milliseconds. The report is the fallback when node cannot be read.
 * @returns {'glibc' | 'musl' | null}
 */
function detectLibc() {
  try {
    const fd = fs.openSync(process.execPath, 'r');
    try {
      const head = Buffer.alloc(4096);
      const n = fs.readSync(fd, head, 0, head.length, 0);
      const text = head.subarray(0, n).toString('latin1');
      if (text.includes('/ld-musl-')) return 'musl';
      if (text.includes('/ld-linux')) return 'glibc';
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // not readable (the permission model, say): ask the report instead
  }
  try {
    const header = process.report.getReport().header;
    return header.glibcVersionRuntime ? 'glibc' : 'musl';
  } catch {
    return null;
  }
}

/** The prebuilt addon this platform would use (whether or not it ships), or null off Linux. */
function prebuildPath() {
  if (process.platform !== 'linux') return null;
  const libc = detectLibc();
  if (libc === null) return null;
  return path.join(PACKAGE_ROOT, 'prebuilds', PLATFORM, `turbo-dgram.${libc}.node`);
}

function namedError(code, message, cause) {
  const err = new Error(`turbo-dgram: ${message}`, cause === undefined ? undefined : { cause });
  err.code = code;
  return err;
}

function notFoundError(prebuild) {
  if (process.platform !== 'linux') {
    return namedError('TURBO_DGRAM_UNSUPPORTED_PLATFORM',
      `it runs on Linux only; this is ${PLATFORM}. Use the builtin node:dgram.`);
  }
  const what = prebuild && fs.existsSync(path.dirname(prebuild)) ?
    `no prebuilt addon for ${PLATFORM} (${path.basename(prebuild)})` :
    `no prebuilt addon for ${PLATFORM}`;
  return namedError('TURBO_DGRAM_NOT_BUILT',
    `the native addon is not built: ${what} in this copy of turbo-dgram, and no build from source\n` +
    `(expected ${LOCAL_BUILD}).\n${SOURCE_BUILD_HELP}`);
}

function loadFailedError(file, err) {
  if (err && err.code === 'ERR_DLOPEN_DISABLED') {
    return namedError('TURBO_DGRAM_ADDONS_DISABLED',
      'native addons are disabled by Node\'s permission model (--permission without\n' +
      '--allow-addons). Run node with --allow-addons to use turbo-dgram.', err);
  }
  const reason = err && err.message ? err.message : String(err);
  return namedError('TURBO_DGRAM_LOAD_FAILED',
    `the native addon ${file} could not be loaded: ${reason}\n${SOURCE_BUILD_HELP}`, err);
}

let loaded = null;

/**
 * Loads the addon once per thread (the module cache makes this file per-thread state).
 * @returns {{ addon: object, file: string, error: null } | { addon: null, file: string | null, error: Error }}
 */
function loadNative() {
  if (loaded !== null) return loaded;
  const prebuild = prebuildPath();
  const file = [LOCAL_BUILD, prebuild].find((candidate) => candidate && fs.existsSync(candidate));
  if (file === undefined) {
    loaded = { addon: null, file: null, error: notFoundError(prebuild) };
    debug('addon: none found (looked for %s and %s)', LOCAL_BUILD, prebuild ?? `a prebuild for ${PLATFORM}`);
    return loaded;
  }
  try {
    loaded = { addon: require(file), file, error: null };
    debug('addon: loaded %s (%s)', file, file === LOCAL_BUILD ? 'a build from source' : 'the prebuilt addon');
  } catch (err) {
    loaded = { addon: null, file, error: loadFailedError(file, err) };
    debug('addon: %s did not load (%s): %s', file, loaded.error.code, err && err.message);
  }
  return loaded;
}

module.exports = { LOCAL_BUILD, loadNative, prebuildPath };
