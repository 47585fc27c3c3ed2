// Hand-rolled SVG charts: a donut with a legend, horizontal bars, stacked progress bars and a
// cumulative line chart. Colours come from CSS classes so the palette lives in styles.css.
import { h, fmtNumber } from './util.js';

/** segments: [{ label, value, cls }] */
export function donut(segments, { size = 168, thickness = 22, center } = {}) {
  const total = segments.reduce((s, x) => s + x.value, 0);
  const r = (size - thickness) / 2;
  const c = 2 * Math.PI * r;
  let offset = 0;
  const arcs = segments
    .filter((s) => s.value > 0)
    .map((s) => {
      const len = (s.value / total) * c;
      const arc = h('circle', { class: `seg ${s.cls}`, cx: size / 2, cy: size / 2, r, fill: 'none', 'stroke-width': thickness, 'stroke-dasharray': `${len} ${c - len}`, 'stroke-dashoffset': -offset, transform: `rotate(-90 ${size / 2} ${size / 2})` }, h('title', null, `${s.label}: ${fmtNumber(s.value)}`));
      offset += len;
      return arc;
    });
  const svg = h(
    'svg',
    { class: 'donut', viewBox: `0 0 ${size} ${size}`, width: size, height: size, role: 'img', 'aria-label': segments.map((s) => `${s.label} ${s.value}`).join(', ') },
    h('circle', { class: 'track', cx: size / 2, cy: size / 2, r, fill: 'none', 'stroke-width': thickness }),
    arcs,
    h('text', { x: '50%', y: '47%', 'text-anchor': 'middle', class: 'donut-value' }, center?.value ?? fmtNumber(total)),
    h('text', { x: '50%', y: '60%', 'text-anchor': 'middle', class: 'donut-label' }, center?.label ?? 'total'),
  );
  const legend = h(
    'ul',
    { class: 'legend' },
    segments.map((s) => h('li', null, h('span', { class: `swatch ${s.cls}` }), h('span', { class: 'legend-label' }, s.label), h('span', { class: 'legend-value' }, fmtNumber(s.value), total ? h('span', { class: 'muted' }, ` · ${Math.round((s.value / total) * 100)}%`) : null))),
  );
  return h('div', { class: 'donut-wrap' }, svg, legend);
}

/** Horizontal bars: [{ label, value }] */
export function bars(items, { empty = 'No data' } = {}) {
  if (!items.length) return h('div', { class: 'empty small' }, empty);
  const max = Math.max(...items.map((i) => i.value), 1);
  return h(
    'div',
    { class: 'hbars' },
    items.map((i) => {
      const fill = h('div', { class: 'hbar-fill' });
      fill.style.width = `${Math.max(2, (i.value / max) * 100)}%`;
      return h('div', { class: 'hbar' }, h('div', { class: 'hbar-label', title: i.label }, i.label), h('div', { class: 'hbar-track' }, fill), h('div', { class: 'hbar-value' }, fmtNumber(i.value)));
    }),
  );
}

/** A stacked bar of parts [{ value, cls, label }] out of total. */
export function stacked(parts, total) {
  const track = h('div', { class: 'stack', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': total, 'aria-valuenow': parts.filter((p) => p.done).reduce((s, p) => s + p.value, 0) });
  for (const p of parts) {
    if (!p.value || !total) continue;
    const seg = h('div', { class: `stack-seg ${p.cls}`, title: `${p.label}: ${fmtNumber(p.value)}` });
    seg.style.width = `${(p.value / total) * 100}%`;
    track.append(seg);
  }
  return track;
}

/** Cumulative series [{ name, cls, points: [[ms, n]], total? }] over [from, to]; the legend shows total when given. */
export function lineChart(series, { from, to, height = 220, width = 1000 } = {}) {
  const pad = { l: 44, r: 12, t: 12, b: 26 };
  const all = series.flatMap((s) => s.points);
  const t0 = from ?? Math.min(...all.map((p) => p[0]), Date.now() - 60_000);
  const t1 = Math.max(to ?? Date.now(), t0 + 1000);
  const top = Math.max(1, ...all.map((p) => p[1]));
  // Round the axis up to a step of 1, 2 or 5 times a power of ten, in four steps.
  const magnitude = 10 ** Math.floor(Math.log10(Math.max(1, top / 4)));
  const step = (magnitude >= 10 ? [1, 2, 2.5, 5, 10] : [1, 2, 3, 5, 10]).map((m) => m * magnitude).find((s) => s * 4 >= top) ?? magnitude * 10;
  const ymax = Math.max(4, step * 4);
  const x = (t) => pad.l + ((t - t0) / (t1 - t0)) * (width - pad.l - pad.r);
  const y = (v) => height - pad.b - (v / ymax) * (height - pad.t - pad.b);
  const grid = [0, 1, 2, 3, 4].map((k) => {
    const v = (ymax / 4) * k;
    return h('g', null, h('line', { class: 'grid', x1: pad.l, x2: width - pad.r, y1: y(v), y2: y(v) }), h('text', { class: 'axis', x: pad.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmtNumber(v)));
  });
  const ticks = [0, 0.5, 1].map((f) => {
    const t = t0 + (t1 - t0) * f;
    return h('text', { class: 'axis', x: x(t), y: height - 6, 'text-anchor': f === 0 ? 'start' : f === 1 ? 'end' : 'middle' }, new Date(t).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' }));
  });
  const lines = series.map((s) => {
    const pts = s.points.length ? [[t0, 0], ...s.points, [t1, s.points[s.points.length - 1][1]]] : [[t0, 0], [t1, 0]];
    let d = '';
    let prev = 0;
    for (const [t, v] of pts) {
      d += d ? ` L${x(t).toFixed(1)},${y(prev).toFixed(1)} L${x(t).toFixed(1)},${y(v).toFixed(1)}` : `M${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      prev = v;
    }
    return h('path', { class: `line ${s.cls}`, d, fill: 'none' }, h('title', null, s.name));
  });
  const legend = h('div', { class: 'chart-legend' }, series.map((s) => h('span', null, h('span', { class: `swatch ${s.cls}` }), `${s.name} (${fmtNumber(s.total ?? (s.points.length ? s.points[s.points.length - 1][1] : 0))})`)));
  return h('div', { class: 'chart' }, h('svg', { viewBox: `0 0 ${width} ${height}`, class: 'line-chart', preserveAspectRatio: 'xMidYMid meet', role: 'img', 'aria-label': 'completions over time' }, grid, ticks, lines), legend);
}
