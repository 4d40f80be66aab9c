'use strict';

// The bench's output, without running a bench: the results table rendered from a synthetic result
// set (every cell of a full run, node:dgram against turbo-dgram's three receive drivers, the C
// floor where it applies), and the progress lines on a piped stream and on a terminal. Hand-written
// expectations: there is no builtin to compare a report with.

const test = require('node:test');
const assert = require('node:assert');
const { Writable } = require('node:stream');

const { buildCells, GROUPS } = require('../lib/bench/scenarios');
const { buildRows } = require('../lib/bench/report');
const { renderTable, renderNotes, TABLE_WIDTH } = require('../lib/bench/table');
const { createProgress, CLEAR_LINE } = require('../lib/bench/progress');
const { parseArgs } = require('../lib/bench/options');
const { parseAppArgs } = require('../lib/bench/app/options');

const REPS = 5;
const SUBJECTS = ['node:dgram', 'turbo-dgram[handover]', 'turbo-dgram[thread]', 'turbo-dgram[inline]'].map((label) => ({ label }));
// Per subject, a factor on every figure: ratios from 0.01x to over 100x, so that every formatted
// figure takes its longest form somewhere (1.23M, 12.6x, [0.00-140x], <0.1%).
const FACTORS = [1, 6.5, 0.013, 140];
const BASE = { rate: 123456, us: 12.34, pct: 0.42, mib: 49, x: 1.9 };

/** Every cell of a full run, each subject (and the C floor where the cell has one) REPS times. */
function syntheticResults() {
  return buildCells({ quick: false }).map((cell) => {
    const turns = cell.floor ? [...SUBJECTS, { label: 'C floor' }] : SUBJECTS;
    const runs = [];
    for (let rep = 0; rep < REPS; rep++) {
      turns.forEach(({ label }, i) => {
        const values = {};
        for (const m of cell.metrics) {
          // pct figures stay fractions; the spread over repetitions gives each value a min-max
          const v = BASE[m.fmt] * (FACTORS[i] ?? 0.5) * (1 + 0.37 * rep * (i + 1));
          values[m.key] = m.fmt === 'pct' ? Math.min(1, v) * (rep === 0 ? 0.001 : 1) : v;
        }
        runs.push({ subject: label, rep, ok: true, values, raw: {} });
      });
    }
    return { cell, runs };
  });
}

const widest = (text) => Math.max(...text.split('\n').map((l) => l.length));

test(`the results table fits ${TABLE_WIDTH} columns unless --wide`, () => {
  const rows = buildRows(syntheticResults(), SUBJECTS, REPS);
  const narrow = renderTable(rows, GROUPS);
  for (const line of narrow.split('\n')) {
    assert.ok(line.length <= TABLE_WIDTH, `${line.length} columns: ${line}`);
  }
  // Narrowed, it still has every subject, metric and scenario, and says what it left out.
  for (const head of ['node:dgram', 'handover', 'thread', 'inline', 'C floor', 'ratio to node:dgram']) {
    assert.ok(narrow.includes(head), head);
  }
  for (const r of rows.filter((x) => x.table)) {
    assert.ok(narrow.includes(r.label), r.label);
    assert.ok(narrow.includes(r.title), r.title);
  }
  assert.match(narrow, /handover, thread, inline: turbo-dgram's receive drivers/);
  assert.match(narrow, /--wide/);

  // --wide: the full table, every subject's min-max and every ratio's, past 120 columns here.
  const wide = renderTable(rows, GROUPS, { wide: true });
  assert.ok(widest(wide) > TABLE_WIDTH, 'four subjects and the floor do not fit 120 columns with every range');
  assert.match(wide, /turbo-dgram\[inline\] \/ node:dgram/);
  const floodRow = wide.split('\n').find((l) => l.includes('GSO flood') && l.includes('delivered/s'));
  assert.strictEqual(floodRow.match(/\[[^\]]+\]/g).length, 4 + 3, 'four value ranges and three ratio ranges');
});

test(`the notes under the table are wrapped at ${TABLE_WIDTH} columns unless --wide`, () => {
  const long = `${'workers-64 node:dgram: 2 workers not measured: cannot bind a second socket to the port: '.repeat(4)}end.`;
  const notes = [long, 'a short note.'];
  const wrapped = renderNotes(notes);
  for (const line of wrapped.split('\n')) assert.ok(line.length <= TABLE_WIDTH, `${line.length} columns: ${line}`);
  // the same words, in order: the lines after a note's first are its continuation
  const rejoined = wrapped.trimEnd().split(/\n(?!note: )/).join('').replace(/ {6}/g, ' ').split('\n');
  assert.deepStrictEqual(rejoined, notes.map((n) => `note: ${n}`));
  assert.strictEqual(renderNotes(notes, { wide: true }), notes.map((n) => `note: ${n}\n`).join(''));
});

test('a table that fits 120 columns is printed whole, and --wide is then the same table', () => {
  const two = SUBJECTS.slice(0, 2);
  const results = syntheticResults().slice(0, 1).map(({ cell, runs }) => ({ cell, runs: runs.filter((r) => r.subject === two[0].label || r.subject === two[1].label) }));
  const rows = buildRows(results, two, REPS);
  const narrow = renderTable(rows, GROUPS, { width: 400 });
  assert.strictEqual(narrow, renderTable(rows, GROUPS, { wide: true }));
  assert.doesNotMatch(narrow, /Narrowed/);
});

test('--wide is an option of the bench and of its app mode', () => {
  assert.strictEqual(parseArgs([]).wide, false);
  assert.strictEqual(parseArgs(['--wide']).wide, true);
  assert.strictEqual(parseAppArgs(['--wide', '--', 'node', 'app.js']).wide, true);
});

/** A stream that keeps what is written, shaped as a pipe (isTTY undefined) or a terminal. */
function sink(tty) {
  const chunks = [];
  const stream = new Writable({
    write(chunk, encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  if (tty) Object.assign(stream, { isTTY: true, columns: 40 });
  return { stream, text: () => chunks.join('') };
}

function writeSteps(progress) {
  progress.log('turbo-dgram-bench: a vs b; 2 runs');
  progress.status('[1/2] 2 flood-64 | a | rep 1/1 | ~2 s left');
  progress.status('[2/2] 2 flood-64 | b | rep 1/1 | ~1 s left, and a status longer than forty columns');
  progress.log('[2/2] flood-64 | b | rep 1 failed:\n    no datagram');
  progress.end();
  progress.log('turbo-dgram-bench: done');
}

test('piped progress is plain lines, one per step, without control characters', () => {
  const out = sink(false);
  writeSteps(createProgress(out.stream));
  assert.deepStrictEqual(out.text().split('\n'), [
    'turbo-dgram-bench: a vs b; 2 runs',
    '[1/2] 2 flood-64 | a | rep 1/1 | ~2 s left',
    '[2/2] 2 flood-64 | b | rep 1/1 | ~1 s left, and a status longer than forty columns',
    '[2/2] flood-64 | b | rep 1 failed:',
    '    no datagram',
    'turbo-dgram-bench: done',
    '',
  ]);
  assert.doesNotMatch(out.text(), /[\r\x1b]/);
});

test('progress on a terminal rewrites one line in place, cut to its width', () => {
  const out = sink(true);
  writeSteps(createProgress(out.stream));
  const text = out.text();
  assert.strictEqual(text,
    'turbo-dgram-bench: a vs b; 2 runs\n' +
    `${CLEAR_LINE}${'[1/2] 2 flood-64 | a | rep 1/1 | ~2 s left'.slice(0, 39)}` +
    `${CLEAR_LINE}${'[2/2] 2 flood-64 | b | rep 1/1 | ~1 s left, and a status longer than forty columns'.slice(0, 39)}` +
    `${CLEAR_LINE}[2/2] flood-64 | b | rep 1 failed:\n    no datagram\n` +
    'turbo-dgram-bench: done\n');
});
