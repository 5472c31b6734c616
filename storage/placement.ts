import { hash } from 'node:crypto';

/**
 * Where a key lives: which set (stable hash of bucket/key seeded by the
 * deployment id, so the mapping never changes while the topology does not) and
 * the rotation of shard indices over the set's slots, so parity does not always
 * land on the same drives.
 *
 * Every request places its key, so the hash is one call over the joined string
 * (no Hash object, no per-part updates). The bytes hashed are those of the
 * former `deploymentId`, `\0`, `bucket`, `/`, `key` updates: UTF-8 of a joined
 * string is the joined UTF-8 of its parts, as no surrogate pair can straddle the
 * ASCII separators (placement.test.ts pins the mapping).
 */
export function placeKey(deploymentId: string, bucket: string, key: string, setCount: number, setSize: number) {
  const h = hash('sha256', `${deploymentId}\0${bucket}/${key}`, 'buffer');
  const setIndex = h.readUInt32BE(0) % setCount;
  const rotation = h.readUInt32BE(4) % setSize;
  return { setIndex, distribution: rotate(setSize, rotation) };
}

/** distribution[slot] = shard index stored on that slot. */
export function rotate(n: number, by: number): number[] {
  const out = new Array<number>(n);
  for (let slot = 0; slot < n; slot++) out[slot] = (slot + by) % n;
  return out;
}
