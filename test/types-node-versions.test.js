'use strict';

// index.d.ts with each @types/node major a user may have (20, 22, 24, 26; the devDependencies
// install them all): test/types/node-versions.ts type-checks in a project laid out as a user's
// (helpers/typescript.js), and its control, wrong usage, fails to.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { TYPES_NODE, TSC_TIMEOUT_MS, checkProject } = require('./helpers/typescript');

const FIXTURE = fs.readFileSync(path.join(__dirname, 'types', 'node-versions.ts'), 'utf8');
const T = { timeout: TSC_TIMEOUT_MS + 30_000 };

for (const major of Object.keys(TYPES_NODE).map(Number)) {
  test(`@types/node ${major}: drop-in both ways, Node 26's additions callable, listeners typed`, T, async () => {
    const { code, output } = await checkProject(major, { 'node-versions.ts': FIXTURE });
    assert.strictEqual(output, '');
    assert.strictEqual(code, 0);
  });
}

// The control: the same project set-up must see turbo-dgram's types (not `any`) and report errors.
test('control: wrong usage fails to type-check in the same set-up', T, async () => {
  const wrong = [
    "import * as turbo from 'turbo-dgram';",
    "turbo.createSocket('udp4').on('message', (msg, rinfo) => rinfo.localAddress);",
    "const n: number = turbo.createSocket({ type: 'udp4', recvTimestamp: true }).address();",
  ].join('\n');
  const { code, output } = await checkProject(20, { 'wrong.ts': wrong });
  assert.notStrictEqual(code, 0);
  const errors = output.split('\n').filter((line) => line.startsWith('wrong.ts('));
  assert.deepStrictEqual(errors.map((line) => line.replace(/:.*$/, '')), ['wrong.ts(2,64)', 'wrong.ts(3,7)'], output);
});
