'use strict';

// The plain-text table printed on stdout: per row, each module's median [min-max] and the ratio
// module/baseline (median [min-max] of the per-repetition ratios), with the direction that counts.
//
// By default the table fits a terminal of TABLE_WIDTH columns: with every receive driver a column
// of its own, the full table is nearly 300 wide, and a wrapped table cannot be read. The narrow
// form puts each scenario on a line of its own above its metrics, names a driver's column by the
// driver, and leaves out detail (in this order) until it fits: the modules' min-max, then the
// min-max of every ratio but the first (the default driver's). `--wide` prints the full table;
// the JSON always has every figure.

const fmt = require('./format');

const TABLE_WIDTH = 120;

// Narrow forms, from most to least detail: the first that fits is printed.
const NARROW_DETAIL = [
  { valueRanges: true, ratioRanges: Infinity },
  { valueRanges: false, ratioRanges: Infinity },
  { valueRanges: false, ratioRanges: 1 },
  { valueRanges: false, ratioRanges: 0 },
];

function cellText(s, f, withRange = true) {
  if (s.median == null) return 'failed';
  if (!withRange || s.n < 2 || s.min === s.max) return fmt.value(s.median, f);
  return `${fmt.value(s.median, f)} [${fmt.value(s.min, f)}-${fmt.value(s.max, f)}]`;
}

function ratioCell(r, withRange = true) {
  if (r.median == null) return '-';
  if (!withRange || r.n < 2) return fmt.ratioText(r.median);
  return `${fmt.ratioText(r.median)} [${fmt.ratioText(r.min).replace('x', '')}-${fmt.ratioText(r.max)}]`;
}

/**
 * Aligned columns: the first `leftCols` left-aligned, the others right-aligned, two spaces apart.
 * body entries are { cols } (a row) or { text } (a line of its own, not measured).
 */
function columns(head, body, leftCols) {
  const rows = body.filter((b) => b.cols);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((b) => b.cols[i].length)));
  const line = (cols) => cols.map((c, i) => (i < leftCols ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return {
    widths,
    lines: [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map((b) => (b.cols ? line(b.cols) : b.text))],
  };
}

function groupLine(r, groups) {
  return `${r.group} ${groups[r.group] || ''}`.trimEnd();
}

const arrow = (r) => (r.better === 'higher' ? ' (+)' : r.better === 'lower' ? ' (-)' : '');

/** The full table: one row per metric, scenario and metric side by side, every range. */
function renderWide(shown, groups, withFloor) {
  const subjects = shown[0].perSubject.map((s) => s.label);
  const ratioHeads = shown[0].ratios.map((r) => `${r.label} / ${r.over}`);
  // The C floor, where measured, is a reference column between the subjects and the ratios.
  const head = ['scenario', 'metric', ...subjects, ...(withFloor ? ['C floor'] : []), ...ratioHeads];
  const body = [];
  let lastGroup = null;
  for (const r of shown) {
    if (r.group !== lastGroup) body.push({ text: groupLine(r, groups) });
    lastGroup = r.group;
    body.push({
      cols: [`  ${r.title}`, `${r.label}${arrow(r)}`, ...r.perSubject.map((s) => cellText(s, r.fmt)),
        ...(withFloor ? [r.floor ? cellText(r.floor, r.fmt) : '-'] : []), ...r.ratios.map((q) => ratioCell(q))],
    });
  }
  return columns(head, body, 2).lines;
}

/**
 * A driver's subject label is `module[driver]` (lib/bench/index.js): in the narrow table its
 * column is headed by the driver alone, and a legend line says whose drivers they are.
 */
function shortLabels(labels) {
  const parts = labels.map((l) => /^(.+)\[([^\]]+)\]$/.exec(l));
  const module = parts.find(Boolean)?.[1];
  const short = labels.map((l, i) => (parts[i] && parts[i][1] === module ? parts[i][2] : l));
  const drivers = short.filter((s, i) => s !== labels[i]);
  return { short, legend: drivers.length ? `${drivers.join(', ')}: ${module}'s receive drivers` : null };
}

/** The narrow table: scenario lines above their metrics, short headers, `detail` as chosen. */
function renderNarrow(shown, groups, withFloor, detail, width) {
  const { short, legend } = shortLabels(shown[0].perSubject.map((s) => s.label));
  const ratioShort = shortLabels(shown[0].ratios.map((q) => q.label)).short;
  const base = shown[0].ratios[0]?.over;
  const head = ['scenario / metric', ...short, ...(withFloor ? ['C floor'] : []), ...ratioShort];
  const clip = (s) => (s.length > width ? `${s.slice(0, width - 3)}...` : s);
  const body = [];
  let lastGroup = null;
  let lastTitle = null;
  for (const r of shown) {
    if (r.group !== lastGroup) body.push({ text: clip(groupLine(r, groups)) });
    if (r.group !== lastGroup || r.title !== lastTitle) body.push({ text: clip(`  ${r.title}`) });
    lastGroup = r.group;
    lastTitle = r.title;
    body.push({
      cols: [`    ${r.label}${arrow(r)}`, ...r.perSubject.map((s) => cellText(s, r.fmt, detail.valueRanges)),
        ...(withFloor ? [r.floor ? cellText(r.floor, r.fmt, detail.valueRanges) : '-'] : []),
        ...r.ratios.map((q, i) => ratioCell(q, i < detail.ratioRanges))],
    });
  }
  const { widths, lines } = columns(head, body, 1);
  // Above the ratio columns, what they are ratios to.
  if (base !== undefined) {
    const ratioStart = widths.slice(0, widths.length - ratioShort.length).reduce((t, w) => t + w + 2, 0);
    lines.unshift(`${' '.repeat(ratioStart)}ratio to ${base}`);
  }
  const notes = [];
  if (legend) notes.push(`${legend}.`);
  notes.push(`Narrowed to fit ${width} columns: --wide prints every range (and the JSON has every figure).`);
  return { lines, notes, firstRatio: ratioShort[0], widest: Math.max(...lines.map((l) => l.length)) };
}

/**
 * @param rows    from report.buildRows
 * @param groups  { number: title }
 * @param options wide: the full table, however wide; width: the columns to fit otherwise
 */
function renderTable(rows, groups, { wide = false, width = TABLE_WIDTH } = {}) {
  const shown = rows.filter((r) => r.table);
  if (shown.length === 0) return '(no results)\n';
  const withFloor = shown.some((r) => r.floor);
  let lines = renderWide(shown, groups, withFloor);
  let notes = [];
  let detail = { valueRanges: true, ratioRanges: Infinity };
  let firstRatio;
  if (!wide && Math.max(...lines.map((l) => l.length)) > width) {
    let narrow;
    for (detail of NARROW_DETAIL) {
      narrow = renderNarrow(shown, groups, withFloor, detail, width);
      if (narrow.widest <= width) break;
    }
    ({ lines, notes, firstRatio } = narrow);
  }
  const ratioRange = detail.ratioRanges === 0 ? '' :
    detail.ratioRanges < shown[0].ratios.length ? ` ([min-max]: ${firstRatio}'s)` : ' [min-max]';
  lines.push('');
  lines.push(`(+) higher is better, (-) lower is better; values: median${detail.valueRanges ? ' [min-max]' : ''} over repetitions;`);
  lines.push(`ratios: per-repetition ratio of back-to-back runs, median${ratioRange}.`);
  if (withFloor) lines.push('C floor: a C echo server (recvmmsg + one sendmsg per reply) in the server\'s place, the physical floor.');
  lines.push(...notes);
  return `${lines.join('\n')}\n`;
}

/**
 * The notes under the table, `note: ` first, each wrapped at spaces to `width` columns (unless
 * wide) with the lines after its first indented: a path or a long error may still overrun.
 */
function renderNotes(notes, { wide = false, width = TABLE_WIDTH } = {}) {
  const lines = [];
  for (const note of notes) {
    let line = 'note:';
    for (const word of note.split(' ')) {
      if (!wide && line.length + 1 + word.length > width && line.trim() !== 'note:') {
        lines.push(line);
        line = '     ';
      }
      line += ` ${word}`;
    }
    lines.push(line);
  }
  return lines.map((l) => `${l}\n`).join('');
}

module.exports = { renderTable, renderNotes, TABLE_WIDTH };
