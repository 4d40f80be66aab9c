'use strict';

// A hand-written SVG bar chart of the ratios module/baseline, one bar per charted metric and
// module, on a log2 axis centred on 1x (so 2x and 0.5x are the same length). The bar is the median
// per-repetition ratio, the whisker its min-max. With one module: green where it is better than
// the baseline for that metric's direction, red where worse. With several (receive drivers): one
// colour per module (legend on top), and a pale bar with a red edge where it is worse.
// No dependency: plain strings.

const fmt = require('./format');

const esc = (s) => String(s).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' }[c]));

const BETTER = '#2e7d32';
const SUBJECT_COLORS = ['#1565c0', '#6a1b9a', '#ef6c00', '#00838f'];
const WORSE = '#c62828';
const NEUTRAL = '#757575';

function renderSvg(rows, { groups, subjects, machine, title }) {
  const chartRows = rows.filter((r) => r.chart && r.ratios.length > 0);
  const nBars = chartRows.length ? chartRows[0].ratios.length : 0;
  const W = 1000;
  const labelW = 430;
  const x0 = labelW + 20;
  const x1 = W - 70;
  const barH = 14;
  const rowGap = 8;
  const groupH = 26;

  // Axis span: enough for every whisker, between 1/4x..4x and 1/64x..64x.
  let span = 2;
  for (const r of chartRows) {
    for (const q of r.ratios) {
      for (const v of [q.min, q.max]) if (v > 0) span = Math.max(span, Math.ceil(Math.abs(Math.log2(v))));
    }
  }
  span = Math.min(span, 6);
  const xOf = (ratio) => {
    const l = Math.max(-span, Math.min(span, Math.log2(ratio)));
    return x0 + ((l + span) / (2 * span)) * (x1 - x0);
  };

  const out = [];
  // Room for the legend above the axis labels when there are several modules.
  const plotTop = nBars > 1 ? 84 : 62;
  let y = plotTop + 8;
  let lastGroup = null;
  for (const r of chartRows) {
    if (r.group !== lastGroup) {
      y += 6;
      out.push(`<text x="12" y="${y + 16}" class="group">${esc(`${r.group}. ${groups[r.group] || ''}`)}</text>`);
      y += groupH;
      lastGroup = r.group;
    }
    const rowH = nBars * (barH + 3) + rowGap;
    const dir = r.better === 'higher' ? 'higher is better' : r.better === 'lower' ? 'lower is better' : '';
    out.push(`<text x="28" y="${y + barH - 2}" class="label">${esc(`${r.title}: ${r.label}`)}</text>`);
    if (dir) out.push(`<text x="28" y="${y + barH + 11}" class="dir">${dir}</text>`);
    r.ratios.forEach((q, i) => {
      const by = y + i * (barH + 3);
      if (q.median == null || !(q.median > 0)) {
        out.push(`<text x="${xOf(1) + 6}" y="${by + barH - 3}" class="val">no data</text>`);
        return;
      }
      const better = r.better === 'higher' ? q.median > 1 : r.better === 'lower' ? q.median < 1 : null;
      let paint;
      if (nBars === 1) {
        paint = `fill="${better === null ? NEUTRAL : better ? BETTER : WORSE}" fill-opacity="0.8"`;
      } else {
        const c = SUBJECT_COLORS[i % SUBJECT_COLORS.length];
        paint = better === false ? `fill="${c}" fill-opacity="0.3" stroke="${WORSE}" stroke-width="1.5"` : `fill="${c}" fill-opacity="0.85"`;
      }
      const a = xOf(1);
      const b = xOf(q.median);
      const left = Math.min(a, b);
      const width = Math.max(1.5, Math.abs(b - a));
      out.push(`<rect x="${left.toFixed(1)}" y="${by}" width="${width.toFixed(1)}" height="${barH}" ${paint}><title>${esc(`${q.label} / ${q.over}: ${fmt.ratioText(q.median)} (min ${fmt.ratioText(q.min)}, max ${fmt.ratioText(q.max)})`)}</title></rect>`);
      if (q.n > 1 && q.min > 0 && q.max > 0) {
        const wm = xOf(q.min);
        const wx = xOf(q.max);
        const cy = by + barH / 2;
        out.push(`<path d="M${wm.toFixed(1)} ${cy}H${wx.toFixed(1)}M${wm.toFixed(1)} ${cy - 4}V${cy + 4}M${wx.toFixed(1)} ${cy - 4}V${cy + 4}" class="whisker"/>`);
      }
      const clipped = Math.abs(Math.log2(q.median)) > span ? '!' : '';
      const tx = q.median >= 1 ? Math.max(b, xOf(q.max || q.median)) + 5 : Math.min(b, xOf(q.min || q.median)) - 5;
      const anchor = q.median >= 1 ? 'start' : 'end';
      out.push(`<text x="${tx.toFixed(1)}" y="${by + barH - 3}" text-anchor="${anchor}" class="val">${esc(fmt.ratioText(q.median) + clipped)}</text>`);
    });
    y += Math.max(rowH, barH + 18);
  }
  const plotBottom = y + 4;

  // Axis: gridlines at powers of two, 1x emphasised.
  const axis = [];
  for (let l = -span; l <= span; l++) {
    const x = x0 + ((l + span) / (2 * span)) * (x1 - x0);
    const label = l >= 0 ? `${2 ** l}x` : `1/${2 ** -l}x`;
    axis.push(`<line x1="${x.toFixed(1)}" y1="${plotTop}" x2="${x.toFixed(1)}" y2="${plotBottom}" class="${l === 0 ? 'one' : 'grid'}"/>`);
    axis.push(`<text x="${x.toFixed(1)}" y="${plotTop - 4}" text-anchor="middle" class="tick">${label}</text>`);
    axis.push(`<text x="${x.toFixed(1)}" y="${plotBottom + 14}" text-anchor="middle" class="tick">${label}</text>`);
  }

  const base = subjects[0].label;
  const others = subjects.slice(1).map((s) => s.label).join(', ');
  const legend = nBars > 1 ? subjects.slice(1).map((s, i) => {
    const lx = 12 + i * 230;
    return `<rect x="${lx}" y="50" width="12" height="10" fill="${SUBJECT_COLORS[i % SUBJECT_COLORS.length]}"/>` +
      `<text x="${lx + 16}" y="59" class="val">${esc(s.label)}</text>`;
  }).join('\n') : '';
  const foot = [
    `Bar: median of the per-repetition ratios module / ${base} (runs back to back); whisker: min-max over repetitions.`,
    nBars > 1 ? `Colour: the module (legend); pale with a red edge: worse than ${base} for that metric.` :
      `Green: better than ${base} for that metric, red: worse, grey: context only.`,
    'A ratio beyond the axis is drawn at its edge and marked "!".',
  ];
  const H = plotBottom + 30 + foot.length * 15;
  const sub = machine ? `${machine.cpuCount} CPUs ${machine.cpuModel || ''} - Linux ${machine.kernel} - Node ${machine.node}` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
<style>
  .title { font-size: 17px; font-weight: bold; fill: #212121; }
  .sub { font-size: 11px; fill: #616161; }
  .group { font-size: 13px; font-weight: bold; fill: #212121; }
  .label { font-size: 11.5px; fill: #212121; }
  .dir { font-size: 9.5px; fill: #757575; font-style: italic; }
  .val { font-size: 11px; fill: #212121; }
  .tick { font-size: 10px; fill: #616161; }
  .grid { stroke: #e0e0e0; stroke-width: 1; }
  .one { stroke: #424242; stroke-width: 1.5; }
  .whisker { stroke: #212121; stroke-width: 1.2; fill: none; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="12" y="24" class="title">${esc(title || `${others} vs ${base}: ratio per scenario (log scale)`)}</text>
<text x="12" y="42" class="sub">${esc(sub)}</text>
${axis.join('\n')}
${out.join('\n')}
${legend}
${foot.map((t, i) => `<text x="12" y="${plotBottom + 36 + i * 15}" class="sub">${esc(t)}</text>`).join('\n')}
</svg>
`;
}

module.exports = { renderSvg };
