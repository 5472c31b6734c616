import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { placeKey, rotate } from './placement.js';

/** The mapping as first written (a Hash object fed part by part): stored objects were placed by it. */
function placeKeyIncremental(deploymentId: string, bucket: string, key: string, setCount: number, setSize: number) {
  const h = createHash('sha256').update(deploymentId).update('\0').update(bucket).update('/').update(key).digest();
  const rotation = h.readUInt32BE(4) % setSize;
  return { setIndex: h.readUInt32BE(0) % setCount, distribution: Array.from({ length: setSize }, (_, slot) => (slot + rotation) % setSize) };
}

describe('placeKey', () => {
  const keys = [
    '',
    'a',
    'photos/2024/img 001.jpg',
    'ключ/значение',
    'emoji-😀-key',
    // Lone surrogates encode as U+FFFD either way; at the key's ends nothing can pair with them.
    '\ud83d',
    '\ude00tail',
    'x'.repeat(1024),
    'with\0nul/and/slash',
  ];

  it('places every key exactly where the incremental hash did', () => {
    for (const deploymentId of ['d1', '0f7c1e2a-6d0b-4c56-9a53-3a4f1b2c8e90']) {
      for (const bucket of ['b', 'my-bucket.example']) {
        for (const key of keys) {
          for (const [sets, n] of [
            [1, 6],
            [3, 4],
            [7, 16],
          ] as const) {
            expect(placeKey(deploymentId, bucket, key, sets, n)).toEqual(placeKeyIncremental(deploymentId, bucket, key, sets, n));
          }
        }
      }
    }
  });

  it('spreads keys over sets and rotations', () => {
    const setsSeen = new Set<number>();
    const firstShard = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const p = placeKey('dep', 'bucket', `k${i}`, 4, 6);
      setsSeen.add(p.setIndex);
      firstShard.add(p.distribution[0]!);
    }
    expect(setsSeen.size).toBe(4);
    expect(firstShard.size).toBe(6);
  });
});

describe('rotate', () => {
  it('maps each slot to the shard `by` places on, wrapping', () => {
    expect(rotate(6, 0)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(rotate(6, 2)).toEqual([2, 3, 4, 5, 0, 1]);
    expect(rotate(1, 0)).toEqual([0]);
  });
});
