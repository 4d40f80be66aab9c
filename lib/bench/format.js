'use strict';

// Number formatting shared by the table and the chart.

function rate(v) {
  if (v >= 1e6) return `${(v / 1e6).toFixed(v >= 1e7 ? 1 : 2)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(v >= 1e5 ? 0 : 1)}k`;
  return v.toFixed(0);
}

function value(v, fmt) {
  if (v == null || !Number.isFinite(v)) return '-';
  switch (fmt) {
    case 'rate': return rate(v);
    case 'us': return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
    case 'pct': return v === 0 ? '0%' : v < 0.001 ? '<0.1%' : `${(v * 100).toFixed(v < 0.1 ? 1 : 0)}%`;
    case 'mib': return v.toFixed(0);
    case 'x': return ratioText(v);
    default: return String(Math.round(v * 100) / 100);
  }
}

function ratioText(r) {
  if (r == null || !Number.isFinite(r)) return '-';
  if (r >= 100) return `${r.toFixed(0)}x`;
  if (r >= 10) return `${r.toFixed(1)}x`;
  return `${r.toFixed(2)}x`;
}

module.exports = { value, ratioText, rate };
