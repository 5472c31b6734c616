/**
 * What one run measures: per-operation latency and time to first byte, bytes and
 * operations per 1 s bucket (for the plot), errors with a few samples.
 * Latencies are kept raw (a Float64Array per 64k ops) and sorted once at the end:
 * exact percentiles at a cost of 16 bytes per operation.
 */

class Samples {
  private chunks: Float64Array[] = [];
  private cur = new Float64Array(65536);
  private n = 0;
  count = 0;

  add(v: number): void {
    if (this.n === this.cur.length) {
      this.chunks.push(this.cur);
      this.cur = new Float64Array(65536);
      this.n = 0;
    }
    this.cur[this.n++] = v;
    this.count++;
  }

  sorted(): Float64Array {
    const all = new Float64Array(this.count);
    let o = 0;
    for (const c of this.chunks) {
      all.set(c, o);
      o += c.length;
    }
    all.set(this.cur.subarray(0, this.n), o);
    return all.sort();
  }
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

function summarize(s: Float64Array): LatencySummary {
  let sum = 0;
  for (const v of s) sum += v;
  return {
    p50: round(percentile(s, 50)),
    p90: round(percentile(s, 90)),
    p99: round(percentile(s, 99)),
    max: round(s.length ? s[s.length - 1]! : 0),
    mean: round(s.length ? sum / s.length : 0),
  };
}

const round = (v: number, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;

export interface Bucket {
  /** Seconds since the start of the measured phase. */
  t: number;
  ops: number;
  bytes: number;
}

export interface OpStats {
  ops: number;
  bytes: number;
  errors: number;
  latencyMs: LatencySummary;
  ttfbMs: LatencySummary;
}

export interface RunStats {
  elapsedS: number;
  ops: number;
  bytes: number;
  errors: number;
  /** MB/s, MB = 10^6 bytes. */
  mbps: number;
  opsPerS: number;
  latencyMs: LatencySummary;
  ttfbMs: LatencySummary;
  /** Per operation type (mixed workloads), same fields. */
  byOp: Record<string, OpStats>;
  errorSamples: string[];
  timeline: Bucket[];
}

interface PerOp {
  lat: Samples;
  ttfb: Samples;
  bytes: number;
  errors: number;
}

export class Recorder {
  private readonly perOp = new Map<string, PerOp>();
  private readonly all = { lat: new Samples(), ttfb: new Samples() };
  private readonly buckets: Bucket[] = [];
  private startMs = 0;
  private endMs = 0;
  ops = 0;
  bytes = 0;
  errors = 0;
  readonly errorSamples: string[] = [];

  start(now: number): void {
    this.startMs = now;
  }

  private op(name: string): PerOp {
    let o = this.perOp.get(name);
    if (!o) this.perOp.set(name, (o = { lat: new Samples(), ttfb: new Samples(), bytes: 0, errors: 0 }));
    return o;
  }

  private bucket(now: number): Bucket {
    const t = Math.max(0, Math.floor((now - this.startMs) / 1000));
    while (this.buckets.length <= t) this.buckets.push({ t: this.buckets.length, ops: 0, bytes: 0 });
    return this.buckets[t]!;
  }

  /** One finished operation; `bytes` is the payload moved (sent or received). */
  ok(name: string, now: number, latencyMs: number, ttfbMs: number, bytes: number): void {
    const o = this.op(name);
    o.lat.add(latencyMs);
    o.ttfb.add(ttfbMs);
    o.bytes += bytes;
    this.all.lat.add(latencyMs);
    this.all.ttfb.add(ttfbMs);
    this.ops++;
    this.bytes += bytes;
    const b = this.bucket(now);
    b.ops++;
    b.bytes += bytes;
  }

  fail(name: string, err: unknown): void {
    this.op(name).errors++;
    this.errors++;
    if (this.errorSamples.length < 10) this.errorSamples.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
  }

  finish(now: number): RunStats {
    this.endMs = now;
    const elapsedS = Math.max(1e-9, (this.endMs - this.startMs) / 1000);
    const byOp: Record<string, OpStats> = {};
    for (const [name, o] of this.perOp) {
      byOp[name] = { ops: o.lat.count, bytes: o.bytes, errors: o.errors, latencyMs: summarize(o.lat.sorted()), ttfbMs: summarize(o.ttfb.sorted()) };
    }
    return {
      elapsedS: round(elapsedS),
      ops: this.ops,
      bytes: this.bytes,
      errors: this.errors,
      mbps: round(this.bytes / 1e6 / elapsedS),
      opsPerS: round(this.ops / elapsedS),
      latencyMs: summarize(this.all.lat.sorted()),
      ttfbMs: summarize(this.all.ttfb.sorted()),
      byOp,
      errorSamples: this.errorSamples,
      timeline: this.buckets,
    };
  }
}
