'use strict';

// The plain-text table printed on stdout: per row, each module's median [min-max] and the ratio
// module/baseline (median [min-max] of the per-repetition ratios), with the direction that counts.

const fmt = require('./format');

function cellText(s, f) {
  if (s.median == null) return 'failed';
  if (s.n < 2 || s.min === s.max) return fmt.value(s.median, f);
  return `${fmt.value(s.median, f)} [${fmt.value(s.min, f)}-${fmt.value(s.max, f)}]`;
}

function ratioCell(r) {
  if (r.median == null) return '-';
  if (r.n < 2) return fmt.ratioText(r.median);
  return `${fmt.ratioText(r.median)} [${fmt.ratioText(r.min).replace('x', '')}-${fmt.ratioText(r.max)}]`;
}

function pad(s, w, right) {
  return right ? s.padStart(w) : s.padEnd(w);
}

/**
 * @param rows   from report.buildRows
 * @param groups { number: title }
 */
function renderTable(rows, groups) {
  const shown = rows.filter((r) => r.table);
  if (shown.length === 0) return '(no results)\n';
  const subjects = shown[0].perSubject.map((s) => s.label);
  const ratioHeads = shown[0].ratios.map((r) => `${r.label} / ${r.over}`);
  // The C floor, where measured, is a reference column between the subjects and the ratios.
  const withFloor = shown.some((r) => r.floor);
  const head = ['scenario', 'metric', ...subjects, ...(withFloor ? ['C floor'] : []), ...ratioHeads];
  const lines = [];
  let lastGroup = null;
  const body = [];
  for (const r of shown) {
    if (r.group !== lastGroup) {
      body.push({ group: `${r.group} ${groups[r.group] || ''}` });
      lastGroup = r.group;
    }
    const arrow = r.better === 'higher' ? ' (+)' : r.better === 'lower' ? ' (-)' : '';
    body.push({
      cols: [`  ${r.title}`, `${r.label}${arrow}`, ...r.perSubject.map((s) => cellText(s, r.fmt)),
        ...(withFloor ? [r.floor ? cellText(r.floor, r.fmt) : '-'] : []), ...r.ratios.map(ratioCell)],
    });
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.filter((b) => b.cols).map((b) => b.cols[i].length)));
  const line = (cols) => cols.map((c, i) => pad(c, widths[i], i >= 2)).join('  ').trimEnd();
  lines.push(line(head));
  lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) lines.push(b.group ? b.group : line(b.cols));
  lines.push('');
  lines.push('(+) higher is better, (-) lower is better; values: median [min-max] over repetitions;');
  lines.push('ratios: per-repetition ratio of back-to-back runs, median [min-max].');
  if (withFloor) lines.push('C floor: a C echo server (recvmmsg + one sendmsg per reply) in the server\'s place, the physical floor.');
  return `${lines.join('\n')}\n`;
}

module.exports = { renderTable };
