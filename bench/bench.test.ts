/**
 * Smoke test of `npm run bench`: the compiled CLI, for about a second per target,
 * against a Cairn it starts itself and the no-op baseline. Asserts the shape of
 * the JSON report and that nothing failed; never asserts a speed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = resolve(import.meta.dirname, '../dist/bench/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Stats {
  ops: number;
  errors: number;
  mbps: number;
  opsPerS: number;
  latencyMs: { p50: number; p90: number; p99: number };
  ttfbMs: { p50: number; p99: number };
  byOp: Record<string, { ops: number; errors: number }>;
  timeline: { t: number; ops: number; bytes: number }[];
}
interface Report {
  machine: { cpus: number };
  client: string;
  primary: string;
  results: { target: string; workload: string; stats?: Stats; extra?: Record<string, unknown>; server?: { peakRssBytes: number | null; cpuPercentAvg: number | null } | null }[];
  ratios: { case: string; unit: string; cairn: number; baselines: Record<string, { value: number; ratio: number }> }[];
}

describe('npm run bench (smoke)', () => {
  it('runs a mixed workload against Cairn and the no-op server and writes a complete JSON report and plot', () => {
    expect(existsSync(CLI), 'dist/bench/cli.js missing: run `npm run build` (npm test does it)').toBe(true);
    const json = join(dir, 'report.json');
    const svg = join(dir, 'plot.svg');
    const run = spawnSync(
      process.execPath,
      [CLI, '--workload', 'mixed', '--size', '8KiB', '--concurrency', '4', '--duration', '1s', '--objects', '20', '--drive-count', '4', '--baselines', 'noop', '--json', json, '--plot', svg],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, CAIRN_LOG_LEVEL: 'warn' } },
    );
    expect(run.status, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain('ratios');
    const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
    expect(report.primary).toBe('cairn');
    expect(report.client).toBe('raw'); // the default load generator
    expect(run.stdout).toContain('load generator: raw net.Socket client');
    expect(report.machine.cpus).toBeGreaterThan(0);
    expect(report.results.map((r) => r.target)).toEqual(['cairn', 'noop']);
    for (const r of report.results) {
      const s = r.stats!;
      expect(s.ops).toBeGreaterThan(0);
      expect(s.errors, JSON.stringify(s)).toBe(0);
      for (const k of ['p50', 'p90', 'p99'] as const) expect(s.latencyMs[k]).toBeGreaterThan(0);
      expect(s.ttfbMs.p99).toBeGreaterThan(0);
      expect(Object.keys(s.byOp).sort()).toEqual(expect.arrayContaining(['GET', 'PUT', 'STAT']));
      expect(s.timeline.length).toBeGreaterThan(0);
      expect(r.server?.peakRssBytes).toBeGreaterThan(0);
      expect(r.server?.cpuPercentAvg).not.toBeNull();
    }
    expect(report.ratios).toHaveLength(1);
    expect(report.ratios[0]!.baselines.noop!.ratio).toBeGreaterThan(0);
    expect(readFileSync(svg, 'utf8')).toMatch(/^<svg[\s\S]*<polyline[\s\S]*<\/svg>\n$/);
  }, 60_000);

  it('LIST reports a walk\'s server time beside its wall time, for both clients (--client node too)', () => {
    for (const client of ['raw', 'node']) {
      const json = join(dir, `list-${client}.json`);
      const run = spawnSync(
        process.execPath,
        [CLI, '--workload', 'list', '--objects', '2500', '--concurrency', '1', '--duration', '1s', '--drive-count', '4', '--baselines', 'noop', '--client', client, '--quiet', '--json', json],
        { encoding: 'utf8', timeout: 90_000, env: { ...process.env, CAIRN_LOG_LEVEL: 'warn' } },
      );
      expect(run.status, run.stderr + run.stdout).toBe(0);
      expect(run.stdout).toMatch(/LIST 2500 keys x1 cairn: walk server time p50 [\d.]+ ms, p99 [\d.]+ ms \(sum over the walk's pages/);
      const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
      expect(report.client).toBe(client);
      expect(report.results.map((r) => r.target)).toEqual(['cairn', 'noop']);
      for (const r of report.results) {
        expect(r.stats!.errors, JSON.stringify(r.stats)).toBe(0);
        const e = r.extra as { walks: number; wrongWalks: number; walkMs: { p50: number }; walkServerMs: { p50: number } };
        expect(e.walks).toBeGreaterThan(0);
        expect(e.wrongWalks).toBe(0);
        // Server time is a part of the walk: never more than its wall time.
        expect(e.walkServerMs.p50).toBeGreaterThan(0);
        expect(e.walkServerMs.p50).toBeLessThanOrEqual(e.walkMs.p50);
      }
    }
  }, 180_000);

  it('--client accepts raw or node only', () => {
    const run = spawnSync(process.execPath, [CLI, '--client', 'undici'], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--client must be one of raw, node');
  });

  it('--sse s3: the started Cairn gets a KMS, writes ask for SSE-S3, and plain runs beside it as the ratio baseline', () => {
    const json = join(dir, 'sse.json');
    // GET: the prepared objects are written with the SSE header and read back verified.
    const run = spawnSync(
      process.execPath,
      [CLI, '--sse', 's3', '--workload', 'get', '--size', '64KiB', '--concurrency', '2', '--duration', '1s', '--objects', '4', '--drive-count', '4', '--quiet', '--json', json],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, CAIRN_LOG_LEVEL: 'warn' } },
    );
    expect(run.status, run.stderr + run.stdout).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
    expect(report.primary).toBe('cairn+sse-s3');
    expect(report.results.map((r) => r.target)).toEqual(['cairn+sse-s3', 'cairn']);
    for (const r of report.results) {
      expect(r.stats!.ops).toBeGreaterThan(0);
      expect(r.stats!.errors, JSON.stringify(r.stats)).toBe(0);
    }
    expect(report.ratios[0]!.baselines.cairn!.ratio).toBeGreaterThan(0);
  }, 60_000);

  it('--workers 1,2: runs the case against one Cairn per worker count and reports the scaling', () => {
    const json = join(dir, 'workers.json');
    const run = spawnSync(
      process.execPath,
      [CLI, '--workers', '1,2', '--workload', 'put', '--size', '64KiB', '--concurrency', '2', '--duration', '1s', '--drive-count', '4', '--quiet', '--json', json],
      { encoding: 'utf8', timeout: 90_000, env: { ...process.env, CAIRN_LOG_LEVEL: 'warn' } },
    );
    expect(run.status, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toMatch(/worker scaling[^\n]*\nPUT 64 KiB x2 +ops\/s: 1 worker [\d.]+, 2 workers [\d.]+ \([\d.]+x\)/);
    const report = JSON.parse(readFileSync(json, 'utf8')) as Report & { scaling: { case: string; values: { workers: number; value: number }[] }[] };
    expect(report.primary).toBe('cairn w1');
    expect(report.results.map((r) => r.target)).toEqual(['cairn w1', 'cairn w2']);
    for (const r of report.results) expect(r.stats!.errors, JSON.stringify(r.stats)).toBe(0);
    expect(report.scaling).toHaveLength(1);
    expect(report.scaling[0]!.values.map((v) => v.workers)).toEqual([1, 2]);
    for (const v of report.scaling[0]!.values) expect(v.value).toBeGreaterThan(0);
    // The two runs were different servers: one process, then a primary with two workers.
    expect(report.ratios[0]!.baselines['cairn w2']!.value).toBe(report.scaling[0]!.values[1]!.value);
  }, 90_000);
});
