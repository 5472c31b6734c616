import type { Logger } from '../../core/logger.js';
import type { ErasureSet } from '../erasure-set.js';
import type { BucketRecord } from '../metadata-record.js';
import type { HealStatus } from './types.js';

/** What the heal jobs need of the object layer (storage/object-layer-impl.ts provides it). */
export interface HealHost {
  readonly sets: ErasureSet[];
  /** Bucket names a quorum of drives holds, sorted. */
  bucketNames(): Promise<string[]>;
  /** The bucket record a quorum of drives holds. */
  readBucket(name: string): BucketRecord | undefined;
  readonly logger?: Logger;
}

export type HealTotals = HealStatus['totals'];

export const emptyTotals = (): HealTotals => ({ objectsHealed: 0, bytesHealed: 0, failures: 0, orphansRemoved: 0, danglingRemoved: 0 });

/** Records a set's drives hold (the largest count of any drive: the best estimate of its objects). */
export function estimateObjects(set: ErasureSet, exceptSlot?: number): number | undefined {
  let best: number | undefined;
  set.drives.forEach((d, slot) => {
    if (!d || slot === exceptSlot) return;
    try {
      const n = d.objectCount();
      if (best === undefined || n > best) best = n;
    } catch {
      // an unreadable drive gives no estimate
    }
  });
  return best;
}
