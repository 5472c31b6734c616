import type { Logger } from '../../core/logger.js';
import type { Drive, ScanItem } from '../drive.js';
import type { ErasureSet } from '../erasure-set.js';
import { compareKeys } from '../merge-cursor.js';

/**
 * The union of object keys of one bucket in one set, across every online
 * drive, in key byte order. A key held by a single drive (a dangling record
 * the rest of the set deleted, or a write that missed quorum) is seen too:
 * that is the point of the walk, the healer decides what to do with it.
 *
 * LMDB read transactions pin old pages while they are open, so the walk
 * never keeps a cursor across an await: it merges up to `batch` keys
 * synchronously, closes every iterator, hands the keys out, and reopens the
 * iterators after the last key for the next batch. Memory is one batch of keys.
 */

export interface WalkOptions {
  prefix?: string;
  /** Start strictly after this key (resume point). */
  after?: string;
  /** Keys merged per reopen of the drive cursors. */
  batch?: number;
  signal?: AbortSignal;
  logger?: Logger;
}

const DEFAULT_BATCH = 1000;

/** Smallest UTF-8 byte string greater than `key`: the key followed by a NUL byte. */
export function keyAfter(key: string): Buffer {
  return Buffer.concat([Buffer.from(key, 'utf8'), Buffer.alloc(1)]);
}

/** One batch of the merge starting at `start` (inclusive); at most `limit` distinct keys. */
export function mergeBatch(drives: Drive[], bucket: string, start: Buffer, prefix: string, limit: number, logger?: Logger): string[] {
  const iters: Array<Iterator<ScanItem<string>>> = [];
  const heads: Array<ScanItem<string> | undefined> = [];
  const next = (i: number) => {
    const r = iters[i]!.next();
    heads[i] = r.done ? undefined : r.value;
  };
  try {
    for (const d of drives) {
      try {
        const it = d.scanObjects(bucket, start, prefix)[Symbol.iterator]();
        iters.push(it);
        heads.push(undefined);
        next(iters.length - 1);
      } catch (err) {
        // An unreadable drive is left out of this batch; the other drives still name their keys.
        logger?.warn({ err, drive: d.path, bucket }, 'heal walk: drive scan failed');
      }
    }
    const out: string[] = [];
    while (out.length < limit) {
      let min: string | undefined;
      for (const h of heads) if (h && (min === undefined || compareKeys(h.key, min) < 0)) min = h.key;
      if (min === undefined) break;
      out.push(min);
      for (let i = 0; i < heads.length; i++) {
        if (heads[i]?.key !== min) continue;
        try {
          next(i);
        } catch (err) {
          logger?.warn({ err, bucket }, 'heal walk: drive scan failed mid-batch');
          heads[i] = undefined;
        }
      }
    }
    return out;
  } finally {
    for (const it of iters) {
      try {
        it.return?.();
      } catch {
        // closing a failed cursor: nothing more to do
      }
    }
  }
}

/** Every key of `bucket` in `set` (after `o.after`, under `o.prefix`), in byte order. */
export async function* walkKeys(set: ErasureSet, bucket: string, o: WalkOptions = {}): AsyncGenerator<string> {
  const prefix = o.prefix ?? '';
  const batch = o.batch ?? DEFAULT_BATCH;
  let start = o.after !== undefined ? keyAfter(o.after) : Buffer.alloc(0);
  for (;;) {
    if (o.signal?.aborted) return;
    const keys = mergeBatch(set.onlineDrives(), bucket, start, prefix, batch, o.logger);
    for (const k of keys) yield k;
    if (keys.length < batch) return;
    start = keyAfter(keys[keys.length - 1]!);
  }
}
