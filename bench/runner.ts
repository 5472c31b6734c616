/**
 * Runs one workload against one store: bucket, preparation, then the measured
 * phase with `concurrency` workers until the duration or the count is reached,
 * while the server's RSS and CPU are sampled. Stops early when errors pile up
 * (a dead server must not spin the bench for minutes).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ProcSampler, type ResourceUsage } from './proc-sampler.js';
import { Recorder, type RunStats } from './stats.js';
import type { Store } from './store.js';
import type { Progress, Workload, WorkloadContext, WorkloadOptions } from './workloads/types.js';

export interface RunResult {
  target: string;
  /** Names the case when the workload shape alone would not (e.g. a scaling comparison). */
  label?: string;
  workload: string;
  options: WorkloadOptions;
  /** Why nothing was measured (the store lacks an operation), when skipped. */
  skipped?: string;
  stats?: RunStats;
  server?: ResourceUsage | null;
  /** The bench process itself (load generator, or the whole pipeline for in-process baselines). */
  /** cpuUsPerOp: the load generator's CPU (user + system) per operation, µs: comparable across clients when throughput is noise. */
  client?: { cpuPercent: number; cpuUsPerOp?: number };
  extra?: Record<string, unknown>;
}

const MAX_ERRORS = 1000;

/** 1 MiB of random bytes, made once per process; every body is views of it. */
let sharedPattern: Buffer | undefined;
export function pattern(): Buffer {
  return (sharedPattern ??= randomBytes(1 << 20));
}

export interface RunOptions {
  progress: Progress;
  /** Remove what was written afterwards (external endpoints). */
  cleanup: boolean;
  bucket?: string;
  /** The bucket was given by the user: remove only what the bench wrote. */
  keepBucket?: boolean;
}

export async function runWorkload(store: Store, workload: Workload, opts: WorkloadOptions, run: RunOptions): Promise<RunResult> {
  const base = { target: store.name, workload: workload.name, options: opts };
  const missing = workload.needs.filter((op) => !store.supports.has(op));
  if (missing.length > 0) return { ...base, skipped: `${store.name} has no ${missing.join(', ')}` };

  const bucket = run.bucket ?? `cairn-bench-${randomBytes(4).toString('hex')}`;
  const rec = new Recorder();
  const ctx: WorkloadContext = { store, bucket, opts, pattern: pattern(), rec, written: new Set(), progress: run.progress };
  await store.createBucket(bucket);
  try {
    await workload.prepare(ctx);
    const sampler = store.pid !== undefined ? new ProcSampler(store.pid).start() : undefined;
    const label = `${workload.name} ${store.name}`;
    run.progress.phase(label, opts.count ?? opts.durationS);
    const start = performance.now();
    const cpu0 = process.cpuUsage();
    rec.start(start);
    const deadline = start + opts.durationS * 1000;
    let seq = 0;
    const ticker = setInterval(() => {
      const el = (performance.now() - start) / 1000;
      const rate = rec.bytes > 0 ? `${(rec.bytes / 1e6 / el).toFixed(1)} MB/s` : '';
      run.progress.tick(opts.count !== undefined ? rec.ops : el, `${(rec.ops / el).toFixed(0)} ops/s ${rate} err ${rec.errors}`);
    }, 250);
    const worker = async (w: number) => {
      for (;;) {
        if (opts.count !== undefined ? seq >= opts.count : performance.now() >= deadline) return;
        if (rec.errors >= MAX_ERRORS) return;
        const s = seq++;
        try {
          await workload.op(ctx, w, s);
        } catch (err) {
          rec.fail(workload.name, err);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: opts.concurrency }, (_, w) => worker(w)));
    } finally {
      clearInterval(ticker);
      run.progress.end();
    }
    const stats = rec.finish(performance.now());
    const cpu = process.cpuUsage(cpu0);
    const cpuUs = cpu.user + cpu.system;
    const client = { cpuPercent: Math.round((cpuUs / 1e6 / stats.elapsedS) * 1000) / 10, ...(stats.ops > 0 ? { cpuUsPerOp: Math.round(cpuUs / stats.ops) } : {}) };
    const server = sampler ? sampler.stop() : null;
    const extra = workload.extra?.(ctx, stats.elapsedS);
    return { ...base, stats, server, client, ...(extra ? { extra } : {}) };
  } finally {
    if (run.cleanup) {
      run.progress.phase(`cleaning up ${ctx.written.size} objects`);
      await store.removeBucket(bucket, ctx.written, !run.keepBucket).catch(() => undefined);
      run.progress.end();
    }
  }
}
