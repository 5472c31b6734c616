import { describe, expect, it } from 'vitest';
import { lendChunk, pooledBytes, releaseChunk, takeChunk } from './chunk-pool.js';
import { createErasureReader } from './decoder.js';
import { MemoryShardReader } from './memory-shards.js';
import { RonomonCodec } from './codec-ronomon.js';
import { encodeToMemory, layoutOf, pattern } from './test-helpers.js';

// Sizes no other test in this file's process uses, so the free lists are this test's own.
const SIZE = 777 * 1024;

describe('chunk pool', () => {
  it('reuses a chunk released as exactly the view that was lent', () => {
    const a = takeChunk(SIZE);
    const view = lendChunk(a.subarray(0, SIZE - 100));
    const before = pooledBytes();
    expect(releaseChunk(view)).toBe(true);
    expect(pooledBytes()).toBe(before + SIZE);
    const b = takeChunk(SIZE);
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(SIZE);
    expect(pooledBytes()).toBe(before);
  });

  it('ignores slices, copies, a second release and chunks never lent', () => {
    const a = takeChunk(SIZE + 64);
    const view = lendChunk(a.subarray(64));
    expect(releaseChunk(view.subarray(1))).toBe(false); // a slice: something may hold the rest
    expect(releaseChunk(Buffer.from(view))).toBe(false); // a copy
    expect(releaseChunk(takeChunk(SIZE + 64))).toBe(false); // taken, never lent
    expect(releaseChunk(Buffer.allocUnsafe(100))).toBe(false); // Node's shared small-buffer slab
    expect(releaseChunk(view)).toBe(true);
    expect(releaseChunk(view)).toBe(false); // already back
  });

  it('keeps at most its byte cap of free chunks', () => {
    const size = 5 * 1024 * 1024 + 8;
    const views = Array.from({ length: 8 }, () => lendChunk(takeChunk(size)));
    const released = views.map((v) => releaseChunk(v));
    expect(released.filter(Boolean).length).toBeLessThan(8);
    expect(pooledBytes()).toBeLessThanOrEqual(24 * 1024 * 1024);
    for (let i = 0; i < released.filter(Boolean).length; i++) takeChunk(size); // give the memory back to the GC
  });
});

describe('decoder output chunks', () => {
  it('lends whole-block chunks; once released they are reused and the bytes still come out right', async () => {
    const B = 64 * 1024;
    const layout = layoutOf(4, 2, B);
    const codec = new RonomonCodec();
    const a = pattern(5 * B + 123, 7);
    const b = pattern(5 * B + 123, 8);
    const encA = await encodeToMemory(layout, codec, a);
    const encB = await encodeToMemory(layout, codec, b);
    const read = async (shards: Buffer[], size: number, release: boolean) => {
      const r = createErasureReader(layout, codec, shards.map((s) => new MemoryShardReader(s)), size, { start: 0, end: size - 1 });
      const copies: Buffer[] = [];
      const memory: ArrayBufferLike[] = [];
      let released = 0;
      for await (const c of r) {
        const chunk = c as Buffer;
        copies.push(Buffer.from(chunk));
        memory.push(chunk.buffer);
        if (release && releaseChunk(chunk)) released++;
      }
      return { bytes: Buffer.concat(copies), memory, released };
    };
    const first = await read(encA.shards, a.length, true);
    expect(first.bytes.equals(a)).toBe(true);
    expect(first.released).toBe(5); // five whole blocks; the short last one is not pooled
    const second = await read(encB.shards, b.length, false);
    expect(second.bytes.equals(b)).toBe(true);
    expect(second.memory.filter((m) => first.memory.includes(m)).length).toBeGreaterThan(0);
  });
});
