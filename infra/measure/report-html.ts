import type { Second } from './stats';

interface Series {
  readonly name: string;
  readonly color: string;
  readonly values: readonly number[];
  /** drawn dashed, so a line that covers another still shows both */
  readonly dashed?: boolean;
}

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2'];

const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A line chart as inline SVG: no script, no network, opens anywhere. */
function lineChart(title: string, unit: string, series: readonly Series[]): string {
  const width = 760;
  const height = 260;
  const pad = { left: 60, right: 20, top: 30, bottom: 40 };
  const length = Math.max(1, ...series.map((s) => s.values.length));
  const finite = series.flatMap((s) => s.values.filter(Number.isFinite));
  const top = Math.max(1, ...finite) * 1.1;
  const x = (i: number) => pad.left + (i / Math.max(1, length - 1)) * (width - pad.left - pad.right);
  const y = (v: number) => height - pad.bottom - (v / top) * (height - pad.top - pad.bottom);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * top);
  const grid = ticks
    .map(
      (v) =>
        `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e7eb"/><text x="${pad.left - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${Math.round(v)}</text>`,
    )
    .join('');
  const lines = series
    .map((s) => {
      const points = s.values.map((v, i) => (Number.isFinite(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : '')).filter(Boolean);
      const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
      return `<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${points.join(' ')}"/>`;
    })
    .join('');
  let legendX = pad.left;
  const legend = series
    .map((s) => {
      const entry = `<rect x="${legendX}" y="6" width="12" height="12" fill="${s.color}"/><text x="${legendX + 16}" y="16" font-size="12">${escapeHtml(s.name)}</text>`;
      legendX += 16 + s.name.length * 7 + 24;
      return entry;
    })
    .join('');
  const plotMiddle = pad.top + (height - pad.top - pad.bottom) / 2;
  const xTicks = [...new Set([0, Math.floor((length - 1) / 2), length - 1])]
    .map((i) => `<text x="${x(i).toFixed(1)}" y="${height - pad.bottom + 16}" text-anchor="middle" font-size="11">${i}</text>`)
    .join('');
  const axes =
    `<line x1="${pad.left}" x2="${width - pad.right}" y1="${height - pad.bottom}" y2="${height - pad.bottom}" stroke="#9ca3af"/>` +
    `<text x="${(pad.left + width - pad.right) / 2}" y="${height - 6}" text-anchor="middle" font-size="12">second of the run (s)</text>` +
    `<text transform="rotate(-90)" x="${-plotMiddle}" y="14" text-anchor="middle" font-size="12">${escapeHtml(unit)}</text>`;
  return `<figure><figcaption>${escapeHtml(title)} (${escapeHtml(unit)}, by second of the run)</figcaption>
<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">${grid}${axes}${xTicks}${lines}${legend}</svg></figure>`;
}

/** Horizontal bars, one per entry, labelled with their values. */
function barChart(title: string, unit: string, bars: Readonly<Record<string, number>>): string {
  const entries = Object.entries(bars).filter(([, value]) => Number.isFinite(value));
  const width = 760;
  const rowHeight = 24;
  const pad = { left: 140, right: 80, top: 10, bottom: 36 };
  const height = pad.top + entries.length * rowHeight + pad.bottom;
  const top = Math.max(1e-9, ...entries.map(([, value]) => value));
  const barWidth = (value: number) => (value / top) * (width - pad.left - pad.right);
  const rows = entries
    .map(([name, value], i) => {
      const y = pad.top + i * rowHeight;
      return `<text x="${pad.left - 8}" y="${y + 16}" text-anchor="end" font-size="12">${escapeHtml(name)}</text><rect x="${pad.left}" y="${y + 4}" width="${barWidth(value).toFixed(1)}" height="16" fill="${COLORS[i % COLORS.length]}"/><text x="${(pad.left + barWidth(value) + 6).toFixed(1)}" y="${y + 16}" font-size="12">${value}</text>`;
    })
    .join('');
  const axis = `<text x="${(pad.left + width - pad.right) / 2}" y="${height - 8}" text-anchor="middle" font-size="12">${escapeHtml(unit)}</text>`;
  return `<figure><figcaption>${escapeHtml(title)} (${escapeHtml(unit)})</figcaption>
<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">${rows}${axis}</svg></figure>`;
}

/** A self-contained HTML report of a benchmark run: summary table, the charts by second, and CPU by component. */
export function htmlReport(
  title: string,
  summary: Readonly<Record<string, string | number>>,
  seconds: readonly Second[],
  cpuMsPerCheckout: Readonly<Record<string, number>> = {},
): string {
  const statuses = [...new Set(seconds.flatMap((s) => Object.keys(s.statuses)))].sort();
  const rows = Object.entries(summary)
    .map(([key, value]) => `<tr><th>${escapeHtml(key)}</th><td>${escapeHtml(String(value))}</td></tr>`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#111}table{border-collapse:collapse}th,td{padding:.25rem .75rem;border-bottom:1px solid #e5e7eb;text-align:left}figure{margin:2rem 0}figcaption{font-weight:600;margin-bottom:.5rem}</style>
</head><body><h1>${escapeHtml(title)}</h1><table>${rows}</table>
${lineChart('Throughput', 'replies per second', [
  { name: 'all replies', color: COLORS[0]!, values: seconds.map((s) => s.requests) },
  { name: 'committed checkouts', color: COLORS[2]!, values: seconds.map((s) => s.committed), dashed: true },
])}
${lineChart('Latency percentiles', 'ms', [
  { name: 'p50', color: COLORS[0]!, values: seconds.map((s) => s.latency.p50) },
  { name: 'p95', color: COLORS[3]!, values: seconds.map((s) => s.latency.p95) },
  { name: 'p99', color: COLORS[1]!, values: seconds.map((s) => s.latency.p99) },
])}
${lineChart(
  'Replies by status',
  'replies per second',
  statuses.map((status, i) => ({ name: status, color: COLORS[i % COLORS.length]!, values: seconds.map((s) => s.statuses[status] ?? 0) })),
)}
${Object.keys(cpuMsPerCheckout).length > 0 ? barChart('CPU per committed checkout, by component', 'CPU milliseconds per committed checkout', cpuMsPerCheckout) : ''}
</body></html>
`;
}
