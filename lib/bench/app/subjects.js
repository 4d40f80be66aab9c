'use strict';

// Who is measured: the app on node:dgram, then on turbo-dgram through the drop-in hook, one
// subject per receive driver. The hook goes in through NODE_OPTIONS so that any command that ends
// up running node (npm start, a shell script) gets it; the driver list comes from turbo-dgram
// itself (its exported `drivers`), so a driver added there is measured here without a change.

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { pathToFileURL } = require('node:url');

const ROOT = path.join(__dirname, '..', '..', '..');

/** The drivers turbo-dgram offers, asked from a child (loading the addon here is not needed). */
function turboDrivers() {
  const out = execFileSync(process.execPath, ['-e', `process.stdout.write(JSON.stringify(require(${JSON.stringify(ROOT)}).drivers || []))`],
    { encoding: 'utf8', timeout: 20000, stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out);
}

function packageType(dir) {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      return JSON.parse(fs.readFileSync(path.join(d, 'package.json'), 'utf8')).type || 'commonjs';
    } catch { /* none here, or unreadable: look further up */ }
    if (path.dirname(d) === d) return 'commonjs';
  }
}

/**
 * 'esm' or 'cjs': from the entry file when COMMAND runs node on one (.mjs / .cjs, else the
 * nearest package.json's "type"), else from the package.json of the current directory.
 */
function hookKind(command, cwd = process.cwd()) {
  const [cmd, ...args] = command;
  if (/^node(js)?$/.test(path.basename(cmd)) || cmd === process.execPath) {
    const entry = args.find((a, i) => !a.startsWith('-') && !['-r', '--require', '--import', '--loader'].includes(args[i - 1]));
    if (entry) {
      if (entry.endsWith('.mjs')) return 'esm';
      if (entry.endsWith('.cjs')) return 'cjs';
      return packageType(path.dirname(path.resolve(cwd, entry))) === 'module' ? 'esm' : 'cjs';
    }
  }
  return packageType(cwd) === 'module' ? 'esm' : 'cjs';
}

function hookOption(kind) {
  const quote = (s) => `"${s.replace(/(["\\])/g, '\\$1')}"`;
  return kind === 'esm' ?
    `--import ${quote(pathToFileURL(path.join(ROOT, 'lib', 'register.mjs')).href)}` :
    `-r ${quote(path.join(ROOT, 'lib', 'register.js'))}`;
}

/** [{ label, expect, driver, env }] in turn order; env is the app's whole environment. */
function buildSubjects({ drivers, hook, command }) {
  const kind = hook || hookKind(command);
  const base = { ...process.env };
  const subjects = [{ label: 'node:dgram', expect: 'node:dgram', driver: null, env: { ...base, TURBO_DGRAM: 'off' } }];
  const list = drivers || turboDrivers();
  const withHook = { ...base, NODE_OPTIONS: [base.NODE_OPTIONS, hookOption(kind)].filter(Boolean).join(' ') };
  delete withHook.TURBO_DGRAM;
  if (list.length <= 1 && !drivers) {
    subjects.push({ label: 'turbo-dgram', expect: 'turbo-dgram', driver: null, env: withHook });
  } else {
    for (const d of list) {
      subjects.push({ label: `turbo-dgram[${d}]`, expect: 'turbo-dgram', driver: d, env: { ...withHook, TURBO_DGRAM_DRIVER: d } });
    }
  }
  return { subjects, hook: { kind, option: hookOption(kind) } };
}

module.exports = { buildSubjects, hookKind, turboDrivers, ROOT };
