'use strict';

// What a user sees when the addon is missing (the install could not build it): an error that
// names itself and says how to build. Hand-written expectations: node:dgram has no addon.

const { test } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

test('requiring the package without a built addon throws TURBO_DGRAM_NOT_BUILT with the fix', { timeout: 10000 }, (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-dgram-unbuilt-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.cpSync(path.join(__dirname, '..', 'lib'), path.join(dir, 'lib'), { recursive: true });
  assert.ok(!fs.existsSync(path.join(dir, 'build')));
  assert.throws(() => require(path.join(dir, 'lib', 'index.js')), (err) => {
    assert.strictEqual(err.code, 'TURBO_DGRAM_NOT_BUILT');
    assert.match(err.message, /native addon is not built/);
    assert.match(err.message, /npm rebuild turbo-dgram/);
    assert.match(err.message, /rustup/);
    return true;
  });
});
