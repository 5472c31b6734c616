import { createHash } from 'node:crypto';

/**
 * Where a key lives: which set (stable hash of bucket/key seeded by the
 * deployment id, so the mapping never changes while the topology does not) and
 * the rotation of shard indices over the set's slots, so parity does not always
 * land on the same drives.
 */
export function placeKey(deploymentId: string, bucket: string, key: string, setCount: number, setSize: number) {
  const h = createHash('sha256').update(deploymentId).update('\0').update(bucket).update('/').update(key).digest();
  const setIndex = h.readUInt32BE(0) % setCount;
  const rotation = h.readUInt32BE(4) % setSize;
  return { setIndex, distribution: rotate(setSize, rotation) };
}

/** distribution[slot] = shard index stored on that slot. */
export function rotate(n: number, by: number): number[] {
  return Array.from({ length: n }, (_, slot) => (slot + by) % n);
}
