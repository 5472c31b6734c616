import type { Logger } from '../../core/logger.js';
import type { Drive, HealQueueItem } from '../drive.js';
import type { ErasureSet } from '../erasure-set.js';
import { DEFAULT_HEAL_OPTIONS, type HealReason, type HealSink } from './types.js';

/**
 * The heal queue of one object layer: where the erasure sets report objects
 * found or left below full redundancy, and where the healer takes them from.
 *
 * `queue()` is called on hot paths (a degraded GET, a PUT that missed a
 * drive) and must cost nothing there: it only dedups into a map. Every
 * ~100 ms (or at 256 pending) the map is written to every online drive of the
 * key's set, one LMDB transaction per drive, so a restart (or a crash, after
 * that flush) does not forget, and any worker process can drain what another
 * queued. Each drive's queue is bounded by `queueLimit`: hints beyond it are
 * dropped and counted; the scanner finds those objects anyway.
 */

export interface HealQueueOptions {
  /** Entries per drive, at most. Default DEFAULT_HEAL_OPTIONS.queueLimit. */
  queueLimit?: number;
  /** Pending hints are written this often, ms. Default 100. */
  flushMs?: number;
  /** …or as soon as this many are pending. Default 256. */
  flushItems?: number;
  logger?: Logger;
}

export interface HealTask {
  set: ErasureSet;
  bucket: string;
  key: string;
  reason: HealReason;
}

/** A key queued this recently is not written again (a hot degraded object read in a loop). */
const RECENT_MS = 5_000;
const RECENT_MAX = 10_000;

const idOf = (bucket: string, key: string) => `${bucket}\u0000${key}`;

export class HealQueue implements HealSink {
  /** Hints not yet written, per set index, deduped by bucket/key. */
  private readonly pending = new Map<number, Map<string, HealQueueItem>>();
  private pendingCount = 0;
  /** bucket/key (per set) → when it was last written to the drives, to skip rewriting hot keys. */
  private readonly recent = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;
  private droppedCount = 0;
  private queueLimit: number;
  private readonly flushMs: number;
  private readonly flushItems: number;

  constructor(
    private readonly sets: ErasureSet[],
    /** The set a key lives in (the object layer's placement). */
    private readonly locate: (bucket: string, key: string) => ErasureSet,
    private readonly opts: HealQueueOptions = {},
  ) {
    this.queueLimit = opts.queueLimit ?? DEFAULT_HEAL_OPTIONS.queueLimit;
    this.flushMs = opts.flushMs ?? 100;
    this.flushItems = opts.flushItems ?? 256;
  }

  /** The healer's configured bound (HealOptions.queueLimit), once it starts. */
  setQueueLimit(limit: number): void {
    if (Number.isInteger(limit) && limit > 0) this.queueLimit = limit;
  }

  /** Hints dropped because a drive's queue was full (since this process started). */
  get dropped(): number {
    return this.droppedCount;
  }

  /** HealSink: fire and forget, never throws, never waits. */
  queue(bucket: string, key: string, reason: HealReason): void {
    if (this.closed) return;
    let set: ErasureSet;
    try {
      set = this.locate(bucket, key);
    } catch (err) {
      this.opts.logger?.warn({ err, bucket, key }, 'heal queue: no set for key');
      return;
    }
    const id = idOf(bucket, key);
    const seen = this.recent.get(`${set.index}\u0000${id}`);
    if (seen !== undefined && Date.now() - seen < RECENT_MS) return;
    let m = this.pending.get(set.index);
    if (!m) this.pending.set(set.index, (m = new Map()));
    if (!m.has(id)) this.pendingCount++;
    m.set(id, { bucket, key, reason, queuedAt: Date.now() });
    if (this.pendingCount >= this.flushItems) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs).unref();
  }

  /** Write every pending hint to its set's drives. Resolves when written (errors are logged). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pendingCount === 0) return this.flushing;
    const batches = [...this.pending];
    this.pending.clear();
    this.pendingCount = 0;
    // Flushes run one after another, so hints reach a drive in the order they were queued.
    this.flushing = this.flushing.then(() => Promise.all(batches.map(([index, m]) => this.write(index, [...m.values()]))).then(() => {}));
    return this.flushing;
  }

  private async write(setIndex: number, items: HealQueueItem[]): Promise<void> {
    const set = this.sets.find((s) => s.index === setIndex);
    if (!set) return;
    let dropped = 0;
    await Promise.all(
      set.onlineDrives().map(async (d) => {
        try {
          const room = Math.max(0, this.queueLimit - d.healQueueSize());
          const batch = items.length > room ? items.slice(0, room) : items;
          dropped = Math.max(dropped, items.length - batch.length);
          await d.queueHeal(batch);
        } catch (err) {
          this.opts.logger?.warn({ err, drive: d.path }, 'heal queue write failed');
        }
      }),
    );
    this.droppedCount += dropped;
    if (this.recent.size + items.length > RECENT_MAX) this.recent.clear();
    const now = Date.now();
    for (const it of items) this.recent.set(`${setIndex}\u0000${idOf(it.bucket, it.key)}`, now);
  }

  /**
   * Up to `limit` objects to heal: the union of the online drives' queues of
   * each set (in key order per set), plus hints not yet written. Synchronous:
   * LMDB reads are memory-mapped. Call done() for what was handled.
   */
  take(limit: number): HealTask[] {
    const out: HealTask[] = [];
    for (const set of this.sets) {
      if (out.length >= limit) break;
      const byId = new Map<string, HealQueueItem>();
      for (const d of set.onlineDrives()) {
        for (const it of readQueue(d, limit - out.length, this.opts.logger)) if (!byId.has(idOf(it.bucket, it.key))) byId.set(idOf(it.bucket, it.key), it);
      }
      for (const it of this.pending.get(set.index)?.values() ?? []) if (!byId.has(idOf(it.bucket, it.key))) byId.set(idOf(it.bucket, it.key), it);
      const ids = [...byId.keys()].sort(compareIds).slice(0, limit - out.length);
      for (const id of ids) {
        const it = byId.get(id)!;
        out.push({ set, bucket: it.bucket, key: it.key, reason: it.reason });
      }
    }
    return out;
  }

  /** Forget handled hints on every online drive of the set (and any not yet written). */
  async done(set: ErasureSet, items: Array<{ bucket: string; key: string }>): Promise<void> {
    const m = this.pending.get(set.index);
    for (const it of items) {
      const id = idOf(it.bucket, it.key);
      if (m?.delete(id)) this.pendingCount--;
      this.recent.delete(`${set.index}\u0000${id}`);
    }
    await Promise.all(
      set.onlineDrives().map((d) =>
        d.dequeueHeal(items).catch((err: unknown) => this.opts.logger?.warn({ err, drive: d.path }, 'heal dequeue failed')),
      ),
    );
  }

  /** Objects queued: per set the longest drive queue (drives of a set mostly hold the same hints), summed, plus unwritten hints. */
  length(): number {
    let n = this.pendingCount;
    for (const set of this.sets) {
      let max = 0;
      for (const d of set.onlineDrives()) {
        try {
          max = Math.max(max, d.healQueueSize());
        } catch {
          // an unreadable drive does not count
        }
      }
      n += max;
    }
    return n;
  }

  /** Write what is pending and stop accepting hints (before the drives close). */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }
}

function readQueue(d: Drive, limit: number, logger?: Logger): HealQueueItem[] {
  try {
    return d.healQueue(limit);
  } catch (err) {
    logger?.warn({ err, drive: d.path }, 'heal queue read failed');
    return [];
  }
}

/** The drives' key order: UTF-8 bytes of `bucket\0key`. */
function compareIds(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
