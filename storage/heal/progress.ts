import type { HealProgress } from './types.js';

/**
 * The small clocks every heal job shares: an abortable sleep, a token bucket
 * that throttles by sleeping (never spinning), a one-minute moving rate, and
 * the HealProgress counters built from them.
 */

/** Resolves after `ms`, or at once when `signal` aborts (callers check `signal.aborted`). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Hand control back to the event loop so foreground requests run between heal steps. */
export const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Rate limit by debt: `take(n)` spends n tokens at once, and when the balance
 * is negative waits until the refill brings it back to zero. Spending after
 * the fact (bytes a deep check turned out to read) is therefore exact over
 * time. A rate of 0 or Infinity means unlimited.
 */
export class TokenBucket {
  private tokens: number;
  private last = performance.now();

  constructor(
    private readonly perSecond: number,
    private readonly burst = Math.max(1, perSecond),
  ) {
    this.tokens = this.burst;
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
  }

  async take(n: number, signal?: AbortSignal): Promise<void> {
    if (!(this.perSecond > 0) || !Number.isFinite(this.perSecond)) return;
    this.refill();
    this.tokens -= n;
    if (this.tokens < 0) await sleep((-this.tokens / this.perSecond) * 1000, signal);
  }
}

/** Events per second over the last minute, in one-second buckets. */
export class MovingRate {
  private readonly buckets = new Float64Array(60);
  private readonly seconds = new Float64Array(60).fill(-1);
  private readonly started = Math.floor(Date.now() / 1000);

  add(n: number): void {
    const s = Math.floor(Date.now() / 1000);
    const i = s % 60;
    if (this.seconds[i] !== s) {
      this.seconds[i] = s;
      this.buckets[i] = 0;
    }
    this.buckets[i]! += n;
  }

  perSecond(): number {
    const now = Math.floor(Date.now() / 1000);
    let sum = 0;
    for (let i = 0; i < 60; i++) if (this.seconds[i]! > now - 60) sum += this.buckets[i]!;
    // A job younger than a minute is averaged over its own age (at least one second).
    const window = Math.max(1, Math.min(60, now - this.started + 1));
    return sum / window;
  }
}

/** Counters of one heal job, turned into HealProgress on demand. */
export class ProgressTracker {
  objectsScanned = 0;
  objectsHealed = 0;
  objectsFailed = 0;
  bytesDone = 0;
  objectsTotal: number | undefined;
  bytesTotal: number | undefined;
  lastObject: string | undefined;
  readonly startedAt: string;
  private readonly objects = new MovingRate();
  private readonly bytes = new MovingRate();

  constructor(from?: Partial<Pick<HealProgress, 'objectsScanned' | 'objectsHealed' | 'objectsFailed' | 'bytesDone' | 'startedAt' | 'lastObject'>>) {
    this.objectsScanned = from?.objectsScanned ?? 0;
    this.objectsHealed = from?.objectsHealed ?? 0;
    this.objectsFailed = from?.objectsFailed ?? 0;
    this.bytesDone = from?.bytesDone ?? 0;
    this.lastObject = from?.lastObject;
    this.startedAt = from?.startedAt ?? new Date().toISOString();
  }

  /** One object looked at: whether it was repaired or failed, and the shard bytes written or verified. */
  record(o: { healed: boolean; failed: boolean; bytes: number; object: string }): void {
    this.objectsScanned++;
    if (o.healed) this.objectsHealed++;
    if (o.failed) this.objectsFailed++;
    this.bytesDone += o.bytes;
    this.lastObject = o.object;
    this.objects.add(1);
    if (o.bytes > 0) this.bytes.add(o.bytes);
  }

  snapshot(): HealProgress {
    const objectsPerSecond = this.objects.perSecond();
    const bytesPerSecond = this.bytes.perSecond();
    let etaSeconds: number | undefined;
    if (this.objectsTotal !== undefined && objectsPerSecond > 0) {
      etaSeconds = Math.max(0, Math.round((this.objectsTotal - this.objectsScanned) / objectsPerSecond));
    }
    return {
      objectsScanned: this.objectsScanned,
      objectsHealed: this.objectsHealed,
      objectsFailed: this.objectsFailed,
      bytesDone: this.bytesDone,
      ...(this.objectsTotal !== undefined ? { objectsTotal: this.objectsTotal } : {}),
      ...(this.bytesTotal !== undefined ? { bytesTotal: this.bytesTotal } : {}),
      objectsPerSecond: Math.round(objectsPerSecond * 100) / 100,
      bytesPerSecond: Math.round(bytesPerSecond),
      ...(etaSeconds !== undefined ? { etaSeconds } : {}),
      startedAt: this.startedAt,
      updatedAt: new Date().toISOString(),
      ...(this.lastObject !== undefined ? { lastObject: this.lastObject } : {}),
    };
  }
}
