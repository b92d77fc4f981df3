// Plots with uPlot (small, canvas, no dependencies). The server sends counts per bucket × decision × TCB status
// (docs/dashboard.md §Aggregation); here they become one series per decision and one per TCB status.
import uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';
import { html } from './api.js';

const COLORS = { permit: '#2e7d32', deny: '#c62828', error: '#6a1b9a' };
const PALETTE = ['#1565c0', '#ef6c00', '#00838f', '#ad1457', '#558b2f', '#4e342e', '#5d4037', '#283593'];

/** Every bucket of the range, empty ones as 0, so a quiet hour reads as 0 rather than as a gap. */
export function toSeries(data, keyOf) {
  const n = Math.max(1, Math.ceil((data.to - data.from) / data.bucketMs));
  const x = Array.from({ length: n }, (_, i) => (data.from + i * data.bucketMs) / 1000);
  const byKey = new Map();
  for (const r of data.rows) {
    const k = keyOf(r);
    if (!byKey.has(k)) byKey.set(k, new Array(n).fill(0));
    const i = Math.floor((r.bucket - data.from) / data.bucketMs);
    if (i >= 0 && i < n) byKey.get(k)[i] += r.count;
  }
  const keys = [...byKey.keys()].sort();
  return { x, series: keys.map((k, i) => ({ label: k, color: COLORS[k] ?? PALETTE[i % PALETTE.length], values: byKey.get(k) })) };
}

export function Plot({ title, x, series, testid }) {
  const ref = useRef(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    const u = new uPlot({
      title,
      width: Math.max(360, el.clientWidth || 900),
      height: 240,
      scales: { x: { time: true } },
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: x.length < 60 } }))],
      axes: [{}, { label: 'attestations' }],
    }, [x, ...series.map((s) => s.values)], el);
    return () => u.destroy();
  }, [title, x, series]);
  return html`<div class="plot" ref=${ref} data-testid=${testid}></div>`;
}
