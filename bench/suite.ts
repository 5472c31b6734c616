/**
 * Cases and suites. A case is one workload shape (size, concurrency, length);
 * it runs against the primary target, then against each baseline that supports
 * it, back to back, so every ratio compares figures from the same minute.
 */
import type { BaselineName, BenchEnv } from './env.js';
import { runWorkload, type RunResult } from './runner.js';
import type { Store } from './store.js';
import { getWorkload } from './workloads/get.js';
import { listWorkload } from './workloads/list.js';
import { mixedWorkload } from './workloads/mixed.js';
import { multipartWorkload } from './workloads/multipart.js';
import { putWorkload } from './workloads/put.js';
import type { Progress, Workload, WorkloadName, WorkloadOptions } from './workloads/types.js';

export const WORKLOADS: Record<WorkloadName, () => Workload> = {
  put: () => putWorkload,
  get: () => getWorkload,
  mixed: mixedWorkload,
  list: listWorkload,
  multipart: () => multipartWorkload,
};

export interface Case extends WorkloadOptions {
  workload: WorkloadName;
  /** Baselines this case runs against (default: all the run has). */
  baselines?: readonly BaselineName[];
  /** Also run against a Cairn started with each of these worker counts (scaling ratios). */
  workers?: readonly number[];
  label?: string;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

type Shape = Pick<WorkloadOptions, 'partSize' | 'partConcurrency' | 'verify'>;

export const SUITE_NAMES = ['quick', 'targets', 'sse'] as const;
export type SuiteName = (typeof SUITE_NAMES)[number];

/** durationS: the per-case length (the suite default or --duration). */
export function suite(name: SuiteName, durationS: number, shape: Shape): Case[] {
  const c = (workload: WorkloadName, size: number, concurrency: number, more: Partial<Case> = {}): Case => ({ workload, size, concurrency, durationS, ...shape, ...more });
  const quick: Case[] = [
    c('put', 64 * MiB, 4),
    c('get', 64 * MiB, 4),
    c('put', 4 * KiB, 64),
    c('get', 4 * KiB, 64),
    // 0-byte objects: LIST cost is metadata only; raw disk has no listing.
    c('list', 0, 1, { objects: 10_000 }),
  ];
  if (name === 'quick') return quick;
  // SSE-S3 beside plain (the CLI turns --sse s3 on for this suite): the large and small object cases.
  if (name === 'sse') return quick.filter((k) => k.workload !== 'list');
  return [
    ...quick,
    c('put', 64 * MiB, 4, { workers: [1], baselines: [], label: 'PUT 64 MiB x4, workers: default vs 1' }),
    c('mixed', 64 * KiB, 32),
    c('multipart', 256 * MiB, 2, { partSize: 16 * MiB, partConcurrency: 4, baselines: ['noop', 'inproc'] }),
    c('list', 0, 1, { objects: 1_000_000, baselines: [] }),
    // Peak RSS with 16 concurrent 1 GiB PUTs: one round, Cairn only.
    c('put', 1 * GiB, 16, { count: 16, baselines: [], label: 'PUT 1 GiB x16 (peak RSS)' }),
  ];
}

/** bucket: an existing bucket of the primary target to use (kept afterwards; only what the bench wrote is removed). */
export async function runCases(env: BenchEnv, cases: readonly Case[], progress: Progress & { note(line: string): void }, bucket?: string): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (const [i, kase] of cases.entries()) {
    const { workload, baselines, workers, label, ...opts } = kase;
    progress.note(`[${i + 1}/${cases.length}] ${workload} size=${opts.size} concurrency=${opts.concurrency}${opts.count !== undefined ? ` count=${opts.count}` : ` ${opts.durationS}s`}`);
    const targets: Store[] = [env.primary];
    for (const n of workers ?? []) targets.push(await env.startCairn(`cairn-${n}w`, `server-w${n}`, n));
    // 'plain' (the primary without SSE) is half of every SSE ratio: always run it.
    for (const [name, store] of env.baselines) if (!baselines || name === 'plain' || baselines.includes(name)) targets.push(store);
    for (const store of targets) {
      const w = WORKLOADS[workload]();
      if (!w.needs.every((op) => store.supports.has(op))) continue; // e.g. raw disk has no LIST
      try {
        // The 'plain' baseline is the primary target without SSE: the same endpoint and bucket rules.
        const primary = store === env.primary || store === env.baselines.get('plain');
        const r = await runWorkload(store, w, opts, { progress, cleanup: primary && env.external, ...(primary && bucket ? { bucket, keepBucket: true } : {}) });
        results.push(label ? { ...r, label } : r);
      } catch (err) {
        progress.note(`  ${store.name}: ${(err as Error).message}`);
        results.push({ target: store.name, workload, options: opts, ...(label ? { label } : {}), skipped: `failed: ${(err as Error).message}` });
      }
    }
  }
  return results;
}
