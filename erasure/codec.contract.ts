/**
 * The contract every ErasureCodec implementation runs (codec.test.ts): round
 * trips for the geometries Cairn uses, every loss pattern of 4+2, shard
 * lengths from the smallest to a 1 MiB stripe. Lengths are multiples of 8, the
 * shard alignment of the on-disk format (shard-format.ts).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ErasureCodec } from './types.js';

export const GEOMETRIES: readonly [number, number][] = [
  [2, 1],
  [2, 2],
  [4, 2],
  [6, 3],
  [8, 4],
  [12, 4],
];

/** k+m shards of `len` bytes in one allocation, data random, parity zero. */
export function makeStripe(k: number, m: number, len: number, contiguous = true): Buffer[] {
  const data = randomBytes(k * len);
  if (contiguous) {
    const all = Buffer.alloc((k + m) * len);
    data.copy(all);
    return Array.from({ length: k + m }, (_, i) => all.subarray(i * len, (i + 1) * len));
  }
  return Array.from({ length: k + m }, (_, i) => (i < k ? Buffer.from(data.subarray(i * len, (i + 1) * len)) : Buffer.alloc(len)));
}

export function copyStripe(shards: Buffer[]): Buffer[] {
  return shards.map((s) => Buffer.from(s));
}

/** All subsets of {0..n-1} of size 1..max. */
export function lossPatterns(n: number, max: number): number[][] {
  const out: number[][] = [];
  const rec = (start: number, cur: number[]): void => {
    if (cur.length > 0) out.push([...cur]);
    if (cur.length === max) return;
    for (let i = start; i < n; i++) rec(i + 1, [...cur, i]);
  };
  rec(0, []);
  return out;
}

/** Encodes, wipes `lost` shards with garbage, reconstructs with `decoder`, compares. */
export async function lossRoundTrip(encoder: ErasureCodec, decoder: ErasureCodec, k: number, m: number, len: number, lost: number[]): Promise<void> {
  const shards = makeStripe(k, m, len);
  await encoder.encode(shards, k, m);
  const expected = copyStripe(shards);
  const present = shards.map((_, i) => !lost.includes(i));
  for (const i of lost) shards[i]!.fill(0xa5);
  await decoder.reconstruct(shards, present, k, m);
  for (let i = 0; i < k + m; i++) expect(shards[i]!.equals(expected[i]!), `shard ${i} of ${k}+${m} len ${len} lost ${lost}`).toBe(true);
}

export function codecContract(name: string, make: () => ErasureCodec | Promise<ErasureCodec>): void {
  describe(`ErasureCodec contract: ${name}`, () => {
    for (const [k, m] of GEOMETRIES) {
      it(`${k}+${m}: rebuilds any m lost shards (first m, last m, spread)`, async () => {
        const codec = await make();
        const n = k + m;
        const patterns = [
          Array.from({ length: m }, (_, i) => i),
          Array.from({ length: m }, (_, i) => n - 1 - i),
          Array.from({ length: m }, (_, i) => (i * 2 + 1) % n).filter((v, i, a) => a.indexOf(v) === i),
        ];
        for (const lost of patterns) await lossRoundTrip(codec, codec, k, m, 8 * 129, lost);
      });
    }

    it('4+2: every combination of up to 2 lost shards', async () => {
      const codec = await make();
      for (const lost of lossPatterns(6, 2)) await lossRoundTrip(codec, codec, 4, 2, 4096, lost);
    });

    it('encodes data shards untouched (systematic) and parity deterministically', async () => {
      const codec = await make();
      const a = makeStripe(4, 2, 1024);
      const data = Buffer.concat(a.slice(0, 4));
      await codec.encode(a, 4, 2);
      expect(Buffer.concat(a.slice(0, 4)).equals(data)).toBe(true);
      const b = copyStripe(a);
      b[4]!.fill(1);
      b[5]!.fill(2);
      await codec.encode(b, 4, 2);
      expect(b[4]!.equals(a[4]!) && b[5]!.equals(a[5]!)).toBe(true);
      expect(a[4]!.equals(Buffer.alloc(1024))).toBe(false);
    });

    it('handles shard lengths from 8 bytes to a 1 MiB stripe, including odd multiples of 8', async () => {
      const codec = await make();
      for (const len of [8, 16, 24, 40, 8 * 1001, 8 * 4097, Math.ceil(1048576 / 6 / 8) * 8]) {
        await lossRoundTrip(codec, codec, 6, 3, len, [0, 4, 7]);
      }
      await lossRoundTrip(codec, codec, 4, 2, 262144, [1, 3]);
    });

    it('works on shards in separate allocations too', async () => {
      const codec = await make();
      const shards = makeStripe(4, 2, 808, false);
      await codec.encode(shards, 4, 2);
      const expected = copyStripe(shards);
      shards[0]!.fill(0);
      shards[5]!.fill(0);
      await codec.reconstruct(shards, [false, true, true, true, true, false], 4, 2);
      expect(shards.every((s, i) => s.equals(expected[i]!))).toBe(true);
    });

    it('rebuilds only the wanted shards when asked (degraded read)', async () => {
      const codec = await make();
      const shards = makeStripe(4, 2, 512);
      await codec.encode(shards, 4, 2);
      const expected = copyStripe(shards);
      shards[2]!.fill(0);
      await codec.reconstruct(shards, [true, true, false, true, false, true], 4, 2, [false, false, true, false, false, false]);
      expect(shards[2]!.equals(expected[2]!)).toBe(true);
    });

    it('rejects reconstruction from fewer than k shards', async () => {
      const codec = await make();
      const shards = makeStripe(4, 2, 64);
      await codec.encode(shards, 4, 2);
      await expect(codec.reconstruct(shards, [false, false, false, true, true, true], 4, 2)).rejects.toThrow();
    });

    it('rejects shards of unequal length', async () => {
      const codec = await make();
      const shards = makeStripe(2, 1, 64);
      shards[2] = Buffer.alloc(72);
      await expect(async () => codec.encode(shards, 2, 1)).rejects.toThrow(RangeError);
    });
  });
}
