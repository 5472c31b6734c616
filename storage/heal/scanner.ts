import { healObject, type HealObjectResult } from './heal-object.js';
import type { HealHost, HealTotals } from './host.js';
import { estimateObjects } from './host.js';
import { removeOrphans } from './orphans.js';
import { ProgressTracker, sleep, TokenBucket, yieldToLoop } from './progress.js';
import type { HealOptions, HealStatus } from './types.js';
import { walkKeys } from './walk.js';

/**
 * The background scanner: cycle after cycle, every key of every bucket in
 * every set goes through healObject (deep = verify every shard block), at
 * most `scannerObjectsPerSecond` objects and (deep) `scannerBytesPerSecond`
 * shard bytes per second, yielding to the event loop between objects so
 * foreground requests keep their latency. After the keys, each drive's
 * orphan data dirs are removed (orphans.ts). Then it sleeps
 * `scannerIntervalMs` before the next cycle.
 */

export type ScannerStatus = NonNullable<HealStatus['scanner']>;

/** Adds one healObject result to the job's progress and the healer's totals. */
export function recordResult(p: ProgressTracker, totals: HealTotals, r: HealObjectResult, object: string, bytes: number): void {
  const failed = r.state === 'failed';
  p.record({ healed: r.state === 'healed', failed, bytes, object });
  if (r.state === 'healed') totals.objectsHealed++;
  if (r.state === 'dangling-removed') totals.danglingRemoved++;
  if (failed) totals.failures++;
  totals.bytesHealed += r.bytesWritten;
}

export class Scanner {
  private cycle = 0;
  private running = false;
  private progress: ProgressTracker | undefined;
  private readonly objects: TokenBucket;
  private readonly bytes: TokenBucket;

  constructor(
    private readonly host: HealHost,
    private readonly opts: HealOptions,
    private readonly totals: HealTotals,
    /** Below-quorum records younger than this are left alone (heal-object.ts; tests shorten it). */
    private readonly danglingGraceMs?: number,
  ) {
    this.objects = new TokenBucket(opts.scannerObjectsPerSecond);
    // A burst of one second's worth, so one big shard set does not stall the next second entirely.
    this.bytes = new TokenBucket(opts.scannerBytesPerSecond);
  }

  get busy(): boolean {
    return this.running;
  }

  status(): ScannerStatus | undefined {
    if (!this.progress) return undefined;
    return { ...this.progress.snapshot(), mode: this.opts.scannerMode, cycle: this.cycle, running: this.running };
  }

  /** Cycles until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    if (!(this.opts.scannerObjectsPerSecond > 0)) return;
    while (!signal.aborted) {
      try {
        await this.runCycle(signal);
      } catch (err) {
        if (!signal.aborted) this.host.logger?.warn({ err }, 'scanner cycle failed');
      }
      await sleep(this.opts.scannerIntervalMs, signal);
    }
  }

  /** One full pass over every object, then the orphan cleanup. */
  async runCycle(signal?: AbortSignal): Promise<void> {
    const deep = this.opts.scannerMode === 'deep';
    this.cycle++;
    this.running = true;
    const p = new ProgressTracker();
    this.progress = p;
    try {
      p.objectsTotal = this.host.sets.reduce((sum, s) => sum + (estimateObjects(s) ?? 0), 0);
      const buckets = await this.host.bucketNames();
      for (const bucket of buckets) {
        for (const set of this.host.sets) {
          for await (const key of walkKeys(set, bucket, { ...(signal ? { signal } : {}), ...(this.host.logger ? { logger: this.host.logger } : {}) })) {
            if (signal?.aborted) return;
            await this.objects.take(1, signal);
            const r = await healObject(set, bucket, key, {
              deep,
              ...(this.danglingGraceMs !== undefined ? { danglingGraceMs: this.danglingGraceMs } : {}),
              ...(signal ? { signal } : {}),
              ...(this.host.logger ? { logger: this.host.logger } : {}),
            });
            recordResult(p, this.totals, r, `${bucket}/${key}`, deep ? r.bytesVerified : r.bytesWritten);
            if (r.state === 'failed') this.host.logger?.warn({ err: r.error, bucket, key }, 'scanner could not heal object');
            if (deep && r.bytesVerified > 0) await this.bytes.take(r.bytesVerified, signal);
            await yieldToLoop();
          }
        }
      }
      await this.cleanOrphans(buckets, signal);
    } finally {
      this.running = false;
    }
  }

  private async cleanOrphans(buckets: string[], signal?: AbortSignal): Promise<void> {
    for (const set of this.host.sets) {
      for (const [slot, drive] of set.drives.entries()) {
        if (!drive || !set.isOnline(slot) || signal?.aborted) continue;
        // A drive being rebuilt gets its data dirs from the rebuild; leave it alone until it is online.
        if (set.opts.states[slot] === 'healing') continue;
        try {
          const r = await removeOrphans(drive, buckets, {
            graceMs: this.opts.orphanGraceMs,
            ...(signal ? { signal } : {}),
            ...(this.host.logger ? { logger: this.host.logger } : {}),
          });
          this.totals.orphansRemoved += r.removed;
        } catch (err) {
          this.host.logger?.warn({ err, drive: drive.path }, 'orphan cleanup failed');
        }
      }
    }
  }
}
