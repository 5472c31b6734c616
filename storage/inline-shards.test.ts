import { finished } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import type { ErasureLayout } from '../erasure/types.js';
import { createErasureReader, createErasureWriter, getCodec, MemoryShardReader, MemoryShardWriter } from './erasure-api.js';
import { decodeInlineShards, encodeInlineShards } from './inline-shards.js';
import { pattern, readAll } from './test-support.js';

const layoutOf = (k: number, m: number, codec: 'ronomon' | 'wasm' = 'ronomon'): ErasureLayout => ({
  dataShards: k,
  parityShards: m,
  blockSize: 64 * 1024,
  codec,
  bitrot: 'crc32c',
  distribution: Array.from({ length: k + m }, (_, i) => i),
});

/** What the streaming encoder writes for `data`, by shard. */
async function streamed(layout: ErasureLayout, data: Buffer): Promise<Buffer[]> {
  const n = layout.dataShards + layout.parityShards;
  const mem = Array.from({ length: n }, () => new MemoryShardWriter());
  const w = createErasureWriter(layout, getCodec(layout.codec), mem, { writeQuorum: n });
  w.end(data);
  await finished(w);
  return mem.map((m) => m.bytes());
}

describe('inline shards (one-stripe objects without the stream machinery)', () => {
  for (const [k, m, codec] of [[4, 2, 'ronomon'], [3, 2, 'ronomon'], [2, 2, 'wasm']] as const) {
    for (const size of [0, 1, 7, 100, 4096, 12_345, 64 * 1024]) {
      it(`writes exactly the streaming encoder's bytes: ${k}+${m} ${codec}, ${size} bytes`, async () => {
        const layout = layoutOf(k, m, codec);
        const data = pattern(size, size + k);
        const fast = await encodeInlineShards(layout, getCodec(codec), data);
        const slow = await streamed(layout, data);
        expect(fast.map((b) => b.toString('hex'))).toEqual(slow.map((b) => b.toString('hex')));
        expect(decodeInlineShards(layout, fast, size)?.equals(data)).toBe(true);
      });
    }
  }

  it('reuses its ronomon stripe safely: back-to-back and concurrent writes of other sizes over leftover bytes', async () => {
    const layout = layoutOf(4, 2);
    const codec = getCodec('ronomon');
    // A large random body first leaves non-zero bytes everywhere a later, smaller stripe's parity goes.
    const sizes = [64 * 1024, 1, 5000, 4096, 100, 64 * 1024 - 3, 7, 12_345];
    const bodies = sizes.map((size, i) => Buffer.from(Array.from({ length: size }, (_, j) => (j * 131 + i * 17 + (j >> 7)) & 0xff)));
    for (const data of bodies) {
      const fast = await encodeInlineShards(layout, codec, data);
      expect(fast.map((b) => b.toString('hex'))).toEqual((await streamed(layout, data)).map((b) => b.toString('hex')));
    }
    const together = await Promise.all(bodies.map((data) => encodeInlineShards(layout, codec, data)));
    for (let i = 0; i < bodies.length; i++) {
      expect(together[i]!.map((b) => b.toString('hex'))).toEqual((await streamed(layout, bodies[i]!)).map((b) => b.toString('hex')));
      expect(decodeInlineShards(layout, together[i]!, bodies[i]!.length)?.equals(bodies[i]!)).toBe(true);
    }
  });

  it('declines (undefined) when a data shard is missing or corrupt, and the stream decoder then reconstructs', async () => {
    const layout = layoutOf(4, 2);
    const data = pattern(5000, 9);
    const shards = await encodeInlineShards(layout, getCodec('ronomon'), data);
    const missing = shards.map((b, i) => (i === 1 ? undefined : b));
    expect(decodeInlineShards(layout, missing, data.length)).toBeUndefined();
    const corrupt = shards.map((b) => Buffer.from(b));
    corrupt[2]![corrupt[2]!.length - 1]! ^= 0xff;
    expect(decodeInlineShards(layout, corrupt, data.length)).toBeUndefined();
    const wrongHeader = shards.map((b) => Buffer.from(b));
    wrongHeader[0]![12] = 3; // claims to be shard 3
    expect(decodeInlineShards(layout, wrongHeader, data.length)).toBeUndefined();
    const readers = corrupt.map((b) => new MemoryShardReader(b));
    const r = createErasureReader(layout, getCodec('ronomon'), readers, data.length, { start: 0, end: data.length - 1 });
    expect((await readAll(r)).equals(data)).toBe(true);
  });

  it('refuses bodies larger than one block', async () => {
    const layout = layoutOf(2, 1);
    await expect(encodeInlineShards(layout, getCodec('ronomon'), Buffer.alloc(layout.blockSize + 1))).rejects.toThrow(RangeError);
    expect(decodeInlineShards(layout, [], layout.blockSize + 1)).toBeUndefined();
  });
});
