/** The contract between the runner and a workload, and helpers they share. */
import { performance } from 'node:perf_hooks';
import type { Recorder } from '../stats.js';
import type { Store, Timed } from '../store.js';

export type WorkloadName = 'put' | 'get' | 'mixed' | 'list' | 'multipart';
export type Operation = 'put' | 'get' | 'head' | 'delete' | 'list' | 'multipart';

export interface WorkloadOptions {
  /** Object size in bytes. */
  size: number;
  concurrency: number;
  /** Measured phase length; ignored when count is set. */
  durationS: number;
  /** Stop after this many operations instead of after durationS. */
  count?: number;
  /** Objects written before the measured phase (GET, mixed) or keys to list (LIST). */
  objects?: number;
  partSize: number;
  partConcurrency: number;
  /** Check a sample of GET bodies against what was written. */
  verify: boolean;
}

export interface Progress {
  phase(label: string, total?: number): void;
  tick(done: number, extra?: string): void;
  end(): void;
}

export interface WorkloadContext {
  store: Store;
  bucket: string;
  opts: WorkloadOptions;
  /** Random bytes generated once; every body is views of it. */
  pattern: Buffer;
  rec: Recorder;
  /** Keys that exist in the bucket, for clean-up on external endpoints. */
  written: Set<string>;
  progress: Progress;
}

export interface Workload {
  readonly name: WorkloadName;
  readonly needs: readonly Operation[];
  prepare(ctx: WorkloadContext): Promise<void>;
  /** One operation of the measured phase; records itself through record(). */
  op(ctx: WorkloadContext, worker: number, seq: number): Promise<void>;
  /** Workload-specific results (LIST: keys/s, walk times). */
  extra?(ctx: WorkloadContext, elapsedS: number): Record<string, unknown>;
}

/** Run one timed call and record it (or its failure) under `name`. */
export async function record<T extends Timed>(ctx: WorkloadContext, name: string, call: () => Promise<T>): Promise<T | undefined> {
  try {
    const t = await call();
    ctx.rec.ok(name, performance.now(), t.latencyMs, t.ttfbMs, t.bytes);
    return t;
  } catch (err) {
    ctx.rec.fail(name, err);
    return undefined;
  }
}

/** Run `task(i)` for i in [0, n) with `concurrency` in flight; the first error stops it. */
export async function parallel(n: number, concurrency: number, task: (i: number) => Promise<void>, onDone?: (done: number) => void): Promise<void> {
  let next = 0;
  let done = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < n && failed === undefined) {
      const i = next++;
      try {
        await task(i);
      } catch (err) {
        failed ??= err;
      }
      onDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, n)) }, worker));
  if (failed !== undefined) throw failed;
}

/** Write the objects a read workload needs, outside the measured phase. */
export async function populate(ctx: WorkloadContext, keys: readonly string[], size: number): Promise<void> {
  ctx.progress.phase(`writing ${keys.length} objects`, keys.length);
  // Small objects go faster with more in flight; large ones must not flood memory.
  const concurrency = size <= 1 << 20 ? Math.max(ctx.opts.concurrency, 32) : Math.max(1, Math.min(ctx.opts.concurrency, 8));
  await parallel(
    keys.length,
    concurrency,
    async (i) => {
      const key = keys[i]!;
      await ctx.store.put(ctx.bucket, key, { size, pattern: ctx.pattern });
      ctx.written.add(key);
    },
    (done) => ctx.progress.tick(done),
  );
  ctx.progress.end();
}

/** Keys a writer cycles through, so a long run overwrites instead of filling the drives (~256 MiB per worker). */
export function keyCycle(size: number): number {
  return Math.max(1, Math.min(1_000_000, Math.floor((256 << 20) / Math.max(1, size))));
}

/** Default number of objects to read from: enough to spread over drives, at most ~1 GiB. */
export function defaultObjects(size: number, concurrency: number): number {
  return Math.max(concurrency, Math.min(1000, Math.floor((1 << 30) / Math.max(1, size))));
}
