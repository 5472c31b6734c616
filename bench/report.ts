/**
 * The report: one row per (workload, target) run, then a ratio table comparing
 * Cairn with each baseline measured in the same run. Ratios are the figures to
 * read: absolute numbers on a shared machine move from run to run.
 */
import type { RunResult } from './runner.js';

export const CAIRN = 'cairn';

const MiB = 1 << 20;

export function formatSize(bytes: number): string {
  for (const [unit, n] of [['GiB', 1 << 30], ['MiB', MiB], ['KiB', 1024]] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n} ${unit}`;
  }
  return `${bytes} B`;
}

/** What a run is compared on: MB/s for large objects, ops/s for small ones, keys/s for LIST. */
export function headline(r: RunResult): { value: number; unit: string } | undefined {
  if (!r.stats) return undefined;
  if (r.workload === 'list') return { value: Number(r.extra?.keysPerS ?? 0), unit: 'keys/s' };
  if (r.options.size >= MiB) return { value: r.stats.mbps, unit: 'MB/s' };
  return { value: r.stats.opsPerS, unit: 'ops/s' };
}

export function caseName(r: RunResult): string {
  if (r.label) return r.label;
  const size = r.workload === 'list' ? `${r.extra?.keys ?? r.options.objects ?? ''} keys` : formatSize(r.options.size);
  return `${r.workload.toUpperCase()} ${size} x${r.options.concurrency}`;
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const f1 = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const mib = (v: number | null | undefined) => (v == null ? '-' : (v / MiB).toFixed(0));
const pct = (v: number | null | undefined) => (v == null ? '-' : v.toFixed(0));

export function resultsTable(results: RunResult[]): string {
  const rows = results.map((r) => {
    if (!r.stats) return [caseName(r), r.target, `skipped: ${r.skipped ?? ''}`];
    const s = r.stats;
    const list = r.workload === 'list';
    return [
      caseName(r),
      r.target,
      list ? '-' : f1(s.mbps),
      f1(s.opsPerS),
      list ? String(r.extra?.keysPerS ?? '-') : '-',
      ms(s.latencyMs.p50),
      ms(s.latencyMs.p90),
      ms(s.latencyMs.p99),
      ms(s.ttfbMs.p50),
      ms(s.ttfbMs.p99),
      String(s.errors),
      mib(r.server?.peakRssBytes),
      pct(r.server?.cpuPercentAvg),
      pct(r.server?.cpuPercentPeak),
      pct(r.client?.cpuPercent),
    ];
  });
  return table(
    ['case', 'target', 'MB/s', 'ops/s', 'keys/s', 'p50 ms', 'p90 ms', 'p99 ms', 'ttfb50', 'ttfb99', 'errors', 'RSS MiB', 'CPU% avg', 'CPU% peak', 'bench CPU%'],
    rows,
  );
}

export interface Ratio {
  case: string;
  unit: string;
  /** The primary target's figure. */
  cairn: number;
  baselines: Record<string, { value: number; ratio: number }>;
}

/** For every case with a Cairn run: Cairn / baseline for each other target of the same case. */
export function ratios(results: RunResult[], primary = CAIRN): Ratio[] {
  const byCase = new Map<string, RunResult[]>();
  for (const r of results) {
    const k = caseName(r);
    byCase.set(k, [...(byCase.get(k) ?? []), r]);
  }
  const out: Ratio[] = [];
  for (const [name, runs] of byCase) {
    const cairn = runs.find((r) => r.target === primary);
    const h = cairn && headline(cairn);
    if (!h) continue;
    const baselines: Ratio['baselines'] = {};
    for (const r of runs) {
      if (r === cairn) continue;
      const b = headline(r);
      if (b && b.value > 0) baselines[r.target] = { value: b.value, ratio: Math.round((h.value / b.value) * 100) / 100 };
    }
    out.push({ case: name, unit: h.unit, cairn: h.value, baselines });
  }
  return out;
}

export function ratioTable(rs: Ratio[], primary = CAIRN): string {
  const targets = [...new Set(rs.flatMap((r) => Object.keys(r.baselines)))];
  const rows = rs.map((r) => [
    r.case,
    r.unit,
    f1(r.cairn),
    ...targets.flatMap((t) => {
      const b = r.baselines[t];
      return b ? [`${f1(b.value)}`, `${b.ratio.toFixed(2)}x`] : ['-', '-'];
    }),
  ]);
  return table(['case', 'unit', primary, ...targets.flatMap((t) => [t, `${primary}/${t}`])], rows);
}

/** Workload-specific figures (LIST walk times) as short lines. */
export function extrasText(results: RunResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    if (r.workload === 'list' && r.extra && r.stats) {
      const w = r.extra.walkMs as { p50: number; p99: number };
      const sv = r.extra.walkServerMs as { p50: number; p99: number } | undefined;
      const sc = r.extra.walkScanMs as { p50: number } | undefined;
      lines.push(`${caseName(r)} ${r.target}: walk of ${r.extra.keys} keys, wall p50 ${w.p50} ms, p99 ${w.p99} ms; page p50 ${ms(r.stats.latencyMs.p50)} ms, p99 ${ms(r.stats.latencyMs.p99)} ms; ${r.extra.keysPerS} keys/s`);
      if (sv && sc) {
        lines.push(
          `${caseName(r)} ${r.target}: walk server time p50 ${sv.p50} ms, p99 ${sv.p99} ms (sum over the walk's pages of request handed to the socket → last response byte; ` +
            `includes loopback transfer and the client's socket reads, excludes its XML scan: p50 ${sc.p50} ms per walk)`,
        );
      }
    }
    if (r.server && r.server.processes > 1 && r.server.peakProcessRssBytes !== null) {
      lines.push(`${caseName(r)} ${r.target}: ${r.server.processes} processes, peak RSS of one ${mib(r.server.peakProcessRssBytes)} MiB, of all ${mib(r.server.peakRssBytes)} MiB`);
    }
    if (r.stats && r.stats.errorSamples.length > 0) lines.push(`${caseName(r)} ${r.target} errors: ${r.stats.errorSamples.slice(0, 3).join(' | ')}`);
  }
  return lines.join('\n');
}
