import { describe, expect, it } from 'vitest';
import { ratios } from './report.js';
import type { RunResult } from './runner.js';
import { percentile, Recorder } from './stats.js';
import { parseDuration, parseSize, UsageError } from './units.js';

describe('bench units', () => {
  it('parses sizes with binary and decimal units', () => {
    expect(parseSize('4KiB')).toBe(4096);
    expect(parseSize('64MiB')).toBe(64 << 20);
    expect(parseSize('1GiB')).toBe(1 << 30);
    expect(parseSize('10MB')).toBe(10_000_000);
    expect(parseSize('4k')).toBe(4096);
    expect(parseSize('0')).toBe(0);
    expect(() => parseSize('4 parsecs')).toThrow(UsageError);
  });

  it('parses durations', () => {
    expect(parseDuration('10s')).toBe(10);
    expect(parseDuration('500ms')).toBe(0.5);
    expect(parseDuration('2m')).toBe(120);
    expect(parseDuration('7')).toBe(7);
    expect(() => parseDuration('soon')).toThrow(UsageError);
  });
});

describe('bench stats', () => {
  it('takes nearest-rank percentiles', () => {
    const s = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(s, 50)).toBe(50);
    expect(percentile(s, 99)).toBe(99);
    expect(percentile(s, 100)).toBe(100);
    expect(percentile(new Float64Array(0), 50)).toBe(0);
  });

  it('records ops into 1 s buckets and per-op summaries', () => {
    const r = new Recorder();
    r.start(0);
    r.ok('PUT', 100, 10, 5, 1000);
    r.ok('GET', 1500, 20, 2, 3000);
    r.fail('GET', new Error('boom'));
    const s = r.finish(2000);
    expect(s.ops).toBe(2);
    expect(s.errors).toBe(1);
    expect(s.mbps).toBe(0.002);
    expect(s.timeline).toEqual([
      { t: 0, ops: 1, bytes: 1000 },
      { t: 1, ops: 1, bytes: 3000 },
    ]);
    expect(s.byOp.GET).toMatchObject({ ops: 1, errors: 1 });
    expect(s.errorSamples).toEqual(['GET: boom']);
  });

  it('computes ratios of the primary target against the baselines of the same case', () => {
    const mk = (target: string, mbps: number): RunResult => ({
      target,
      workload: 'put',
      options: { size: 64 << 20, concurrency: 4, durationS: 1, partSize: 16 << 20, partConcurrency: 4, verify: true },
      stats: { mbps, opsPerS: 1 } as RunResult['stats'],
    });
    const [r] = ratios([mk('cairn', 300), mk('noop', 600), mk('s3rver', 150)]);
    expect(r).toMatchObject({ case: 'PUT 64 MiB x4', unit: 'MB/s', cairn: 300 });
    expect(r!.baselines.noop!.ratio).toBe(0.5);
    expect(r!.baselines.s3rver!.ratio).toBe(2);
  });
});
