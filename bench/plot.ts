/**
 * Throughput over time as a hand-written SVG: one panel per case, one line per
 * target, 1 s buckets. MB/s for objects of 1 MiB and more, ops/s below (LIST:
 * pages/s). No dependencies: a few polylines and labels are all it needs.
 */
import { caseName } from './report.js';
import type { RunResult } from './runner.js';

const W = 760;
const PANEL_H = 220;
const M = { left: 70, right: 150, top: 30, bottom: 36 };
const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf'];

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function plotSvg(results: RunResult[]): string {
  const cases = new Map<string, RunResult[]>();
  for (const r of results) if (r.stats && r.stats.timeline.length > 0) cases.set(caseName(r), [...(cases.get(caseName(r)) ?? []), r]);
  const targets = [...new Set(results.map((r) => r.target))];
  const color = (t: string) => COLORS[targets.indexOf(t) % COLORS.length]!;
  const parts: string[] = [];
  let y0 = 0;
  for (const [name, runs] of cases) {
    const first = runs[0]!;
    const bytes = first.workload !== 'list' && first.options.size >= 1 << 20;
    const unit = bytes ? 'MB/s' : first.workload === 'list' ? 'pages/s' : 'ops/s';
    // The last bucket is partial (the run ends mid-second): leave it out.
    const series = runs.map((r) => ({ r, pts: r.stats!.timeline.slice(0, Math.max(1, r.stats!.timeline.length - 1)).map((b) => (bytes ? b.bytes / 1e6 : b.ops)) }));
    const maxT = Math.max(1, ...series.map((s) => s.pts.length));
    const maxV = niceMax(Math.max(...series.flatMap((s) => s.pts)));
    const pw = W - M.left - M.right;
    const ph = PANEL_H - M.top - M.bottom;
    const x = (t: number) => M.left + (maxT <= 1 ? 0 : (t / (maxT - 1)) * pw);
    const y = (v: number) => y0 + M.top + ph - (v / maxV) * ph;
    parts.push(`<text x="${M.left}" y="${y0 + 18}" font-weight="bold">${esc(name)} (${unit})</text>`);
    parts.push(`<rect x="${M.left}" y="${y0 + M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
    for (let i = 0; i <= 4; i++) {
      const v = (maxV * i) / 4;
      parts.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`);
      parts.push(`<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end">${Number(v.toPrecision(3))}</text>`);
    }
    for (let t = 0; t < maxT; t += Math.max(1, Math.ceil(maxT / 10))) {
      parts.push(`<text x="${x(t)}" y="${y0 + PANEL_H - M.bottom + 16}" text-anchor="middle">${t}s</text>`);
    }
    series.forEach(({ r, pts }, i) => {
      const c = color(r.target);
      parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map((v, t) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`);
      parts.push(`<text x="${M.left + pw + 10}" y="${y0 + M.top + 14 + i * 16}" fill="${c}">${esc(r.target)}</text>`);
    });
    y0 += PANEL_H;
  }
  const h = Math.max(y0, 40);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="sans-serif" font-size="12">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n` +
    (parts.length ? parts.join('\n') : '<text x="10" y="24">no data</text>') +
    '\n</svg>\n'
  );
}
