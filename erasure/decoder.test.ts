import { describe, expect, it, vi } from 'vitest';
import { lossPatterns } from './codec.contract.js';
import { PortableRonomonCodec } from './codec-portable.js';
import { RonomonCodec } from './codec-ronomon.js';
import { WasmCodec } from './codec-wasm.js';
import { createErasureReader } from './decoder.js';
import { ErasureError } from './errors.js';
import { MemoryShardReader } from './memory-shards.js';
import { blockFrameOffset, SHARD_HEADER_SIZE } from './shard-format.js';
import { collect, decodeFromMemory, encodeToMemory, layoutOf, pattern } from './test-helpers.js';
import type { ShardReader } from './types.js';

const native = new RonomonCodec();
const portable = new PortableRonomonCodec();
const wasm = new WasmCodec();

const KiB4 = 4096;
const MiB = 1048576;

function ranges(size: number, B: number): [string, number, number][] {
  const r: [string, number, number][] = [
    ['whole', 0, size - 1],
    ['first byte', 0, 0],
    ['last byte', size - 1, size - 1],
  ];
  if (size > B) r.push(['across a block boundary', B - 3, Math.min(B + 2, size - 1)], ['from a block start to the end', B, size - 1]);
  if (size > 10) r.push(['middle', Math.floor(size / 3), Math.floor((2 * size) / 3)]);
  return r;
}

describe('encoder → memory shards → decoder round trips', () => {
  for (const B of [KiB4, MiB]) {
    for (const size of [0, 1, B - 1, B, B + 1, 10 * B + 7]) {
      it(`4+2, blockSize ${B}, ${size} bytes: every range kind`, async () => {
        const layout = layoutOf(4, 2, B);
        const data = pattern(size, size + 1);
        const { shards, result } = await encodeToMemory(layout, native, data, { chunk: 65537 });
        expect(result).toEqual({ size, failedShards: [] });
        expect(shards.every((s) => s.length === shards[0]!.length)).toBe(true);
        if (size === 0) {
          expect(shards[0]!.length).toBe(SHARD_HEADER_SIZE);
          expect(await decodeFromMemory(layout, native, shards, 0, { start: 0, end: -1 })).toEqual(Buffer.alloc(0));
          return;
        }
        for (const [, start, end] of ranges(size, B)) {
          const out = await decodeFromMemory(layout, native, shards, size, { start, end });
          expect(out.equals(data.subarray(start, end + 1)), `range ${start}-${end}`).toBe(true);
        }
      });
    }
  }

  it('data shard files hold the plaintext as is (systematic)', async () => {
    const layout = layoutOf(2, 1, KiB4);
    const data = pattern(KiB4, 3);
    const { shards } = await encodeToMemory(layout, native, data);
    expect(shards[0]!.subarray(SHARD_HEADER_SIZE + 4).equals(data.subarray(0, 2048))).toBe(true);
    expect(shards[1]!.subarray(SHARD_HEADER_SIZE + 4).equals(data.subarray(2048))).toBe(true);
  });
});

describe('degraded reads', () => {
  const layout = layoutOf(4, 2, KiB4);
  const size = 5 * KiB4 + 123;
  const data = pattern(size, 77);

  it('any m missing shards → identical bytes, for every range kind', async () => {
    const { shards } = await encodeToMemory(layout, native, data);
    for (const lost of lossPatterns(6, 2)) {
      const partial = shards.map((s, i) => (lost.includes(i) ? null : s));
      for (const [, start, end] of ranges(size, KiB4)) {
        const out = await decodeFromMemory(layout, native, partial, size, { start, end });
        expect(out.equals(data.subarray(start, end + 1)), `lost ${lost} range ${start}-${end}`).toBe(true);
      }
    }
  });

  it('a flipped byte in any shard block is detected, reported once, and the output is still right', async () => {
    const { shards } = await encodeToMemory(layout, native, data);
    const frame = 4 + 1024;
    for (let s = 0; s < 6; s++) {
      for (const blk of [0, 2, 5]) {
        const damaged = shards.map((x) => Buffer.from(x));
        const at = blockFrameOffset(layout, blk) + (blk === 5 ? 5 : 4 + ((s * 97 + blk * 13) % (frame - 4)));
        damaged[s]![at]! ^= 0x40;
        const onShardError = vi.fn();
        const out = await decodeFromMemory(layout, native, damaged, size, { start: 0, end: size - 1 }, { onShardError });
        expect(out.equals(data)).toBe(true);
        if (s < 4) {
          // Data shards are always read; parity only when needed, so a flip there may go unseen.
          expect(onShardError).toHaveBeenCalledTimes(1);
          expect(onShardError.mock.calls[0]![0]).toBe(s);
          expect((onShardError.mock.calls[0]![1] as ErasureError).code).toBe('CorruptData');
        }
      }
    }
  });

  it('a flipped parity byte is caught when parity is needed', async () => {
    const { shards } = await encodeToMemory(layout, native, data);
    const damaged = shards.map((x) => Buffer.from(x));
    damaged[4]![blockFrameOffset(layout, 1) + 100]! ^= 1;
    damaged[0] = Buffer.alloc(0); // shard 0 unreadable → parity 4 then 5 are used
    const onShardError = vi.fn();
    const out = await decodeFromMemory(layout, native, damaged, size, undefined, { onShardError });
    expect(out.equals(data)).toBe(true);
    expect(onShardError.mock.calls.map((c) => c[0]).sort()).toEqual([0, 4]);
  });

  it('a damaged header makes the shard unusable but not the object', async () => {
    const { shards } = await encodeToMemory(layout, native, data);
    const damaged = shards.map((x) => Buffer.from(x));
    damaged[1]![10] = 9;
    const onShardError = vi.fn();
    expect((await decodeFromMemory(layout, native, damaged, size, { start: 5000, end: 9000 }, { onShardError })).equals(data.subarray(5000, 9001))).toBe(true);
    expect(onShardError).toHaveBeenCalledWith(1, expect.any(ErasureError));
  });

  it('m+1 missing shards → ReadQuorumNotReached and no bytes at all', async () => {
    const { shards } = await encodeToMemory(layout, native, data);
    const partial = shards.map((s, i) => (i === 0 || i === 3 || i === 5 ? null : s));
    const r = createErasureReader(layout, native, partial.map((s) => (s ? new MemoryShardReader(s) : null)), size, { start: 0, end: size - 1 });
    const got: Buffer[] = [];
    r.on('data', (c: Buffer) => got.push(c));
    await expect(new Promise((res, rej) => r.on('end', res).on('error', rej))).rejects.toMatchObject({ code: 'ReadQuorumNotReached' });
    expect(got.length).toBe(0);
  });

  it('m+1 corrupt shards → CorruptData, never wrong bytes', async () => {
    const { shards } = await encodeToMemory(layout, native, data);
    const damaged = shards.map((x) => Buffer.from(x));
    for (const s of [1, 4, 5]) damaged[s]![blockFrameOffset(layout, 2) + 9]! ^= 0xff;
    const emitted: Buffer[] = [];
    const r = createErasureReader(layout, native, damaged.map((s) => new MemoryShardReader(s)), size, { start: 0, end: size - 1 });
    const err = await (async () => {
      try {
        for await (const c of r) emitted.push(c as Buffer);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(ErasureError);
    expect((err as ErasureError).code).toBe('CorruptData');
    // Whatever was emitted before the bad block is a correct prefix.
    const prefix = Buffer.concat(emitted);
    expect(prefix.length).toBeLessThanOrEqual(2 * KiB4);
    expect(prefix.equals(data.subarray(0, prefix.length))).toBe(true);
  });

  it('a reader that rejects is treated like a missing shard', async () => {
    const { shards } = await encodeToMemory(layout, native, data);
    const failing: ShardReader = { readAt: () => Promise.reject(new Error('EIO')), close: async () => {} };
    const readers = shards.map((s, i) => (i === 2 ? failing : new MemoryShardReader(s)));
    const onShardError = vi.fn();
    const out = await collect(createErasureReader(layout, native, readers, size, { start: 0, end: size - 1 }, { onShardError }));
    expect(out.equals(data)).toBe(true);
    expect(onShardError).toHaveBeenCalledTimes(1);
    expect(onShardError.mock.calls[0]![1].message).toBe('EIO');
  });

  it('a short range reads only the data shards it touches', async () => {
    const { shards } = await encodeToMemory(layout, native, data);
    const reads: number[] = [];
    const readers = shards.map((s, i): ShardReader => {
      const inner = new MemoryShardReader(s);
      return { readAt: (o, l) => (reads.push(i), inner.readAt(o, l)), close: async () => {} };
    });
    const out = await collect(createErasureReader(layout, native, readers, size, { start: KiB4 + 1030, end: KiB4 + 1040 }));
    expect(out.equals(data.subarray(KiB4 + 1030, KiB4 + 1041))).toBe(true);
    expect([...new Set(reads)]).toEqual([1]);
  });

  it('a healthy read takes the frames of each shard of a batch in one scattered read', async () => {
    const big = pattern(10 * KiB4 + 5, 8);
    const { shards } = await encodeToMemory(layout, native, big);
    const readvs: number[] = [];
    const readers = shards.map((s, i): ShardReader => {
      const inner = new MemoryShardReader(s);
      return {
        readAt: (o, l) => inner.readAt(o, l),
        readv: (o, t) => (readvs.push(i), inner.readv(o, t)),
        close: async () => {},
      };
    });
    const out = await collect(createErasureReader(layout, native, readers, big.length, { start: 0, end: big.length - 1 }));
    expect(out.equals(big)).toBe(true);
    // 11 blocks of 4 KiB fit one batch: one read per data shard, none of parity.
    expect(readvs.sort()).toEqual([0, 1, 2, 3]);
  });

  it('a corrupt frame in the middle of a batch: blocks before it come from the batch, the rest are rebuilt', async () => {
    const big = pattern(10 * KiB4 + 5, 9);
    const { shards } = await encodeToMemory(layout, native, big);
    const damaged = shards.map((x) => Buffer.from(x));
    damaged[3]![blockFrameOffset(layout, 6) + 30]! ^= 0x10;
    const onShardError = vi.fn();
    const out = await decodeFromMemory(layout, native, damaged, big.length, { start: 100, end: big.length - 2 }, { onShardError });
    expect(out.equals(big.subarray(100, big.length - 1))).toBe(true);
    expect(onShardError).toHaveBeenCalledTimes(1);
    expect(onShardError.mock.calls[0]![0]).toBe(3);
  });

  it('rejects a range outside the object', () => {
    const readers = Array.from({ length: 6 }, () => new MemoryShardReader(Buffer.alloc(0)));
    expect(() => createErasureReader(layout, native, readers, 10, { start: 5, end: 10 })).toThrow(RangeError);
  });

  it('honours an abort signal', async () => {
    const { shards } = await encodeToMemory(layout, native, data);
    const ac = new AbortController();
    const r = createErasureReader(layout, native, shards.map((s) => new MemoryShardReader(s)), size, { start: 0, end: size - 1 }, { signal: ac.signal });
    ac.abort();
    await expect(collect(r)).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('codecs and bitrot algorithms', () => {
  const size = 3 * KiB4 + 5;
  const data = pattern(size, 9);
  const lose = (shards: Buffer[], lost: number[]): (Buffer | null)[] => shards.map((s, i) => (lost.includes(i) ? null : s));

  for (const bitrot of ['crc32c', 'sha256'] as const) {
    it(`${bitrot}: round trip with 2 shards lost and a corrupt block caught`, async () => {
      const layout = layoutOf(4, 2, KiB4, { bitrot });
      const { shards } = await encodeToMemory(layout, native, data);
      expect((await decodeFromMemory(layout, native, lose(shards, [0, 5]), size)).equals(data)).toBe(true);
      const damaged = shards.map((x) => Buffer.from(x));
      damaged[2]![blockFrameOffset(layout, 1) + 40]! ^= 2;
      const onShardError = vi.fn();
      expect((await decodeFromMemory(layout, native, damaged, size, undefined, { onShardError })).equals(data)).toBe(true);
      expect(onShardError).toHaveBeenCalledWith(2, expect.objectContaining({ code: 'CorruptData' }));
    });
  }

  it('ronomon format: written by the native addon, read by the portable codec, and back', async () => {
    const layout = layoutOf(8, 4, KiB4);
    const a = await encodeToMemory(layout, native, data);
    expect((await decodeFromMemory(layout, portable, lose(a.shards, [0, 2, 5, 7]), size)).equals(data)).toBe(true);
    const b = await encodeToMemory(layout, portable, data);
    expect(b.shards.every((s, i) => s.equals(a.shards[i]!))).toBe(true);
    expect((await decodeFromMemory(layout, native, lose(b.shards, [1, 3, 8, 11]), size)).equals(data)).toBe(true);
  });

  it('wasm format: round trip with shards lost, codec recorded in every header', async () => {
    const layout = layoutOf(6, 3, KiB4, { codec: 'wasm' });
    const { shards } = await encodeToMemory(layout, wasm, data);
    expect(shards.every((s) => s[14] === 2)).toBe(true);
    expect((await decodeFromMemory(layout, wasm, lose(shards, [0, 4, 8]), size)).equals(data)).toBe(true);
    // Reading wasm-format data as ronomon is refused (header mismatch), not misdecoded.
    await expect(decodeFromMemory({ ...layout, codec: 'ronomon' }, native, shards, size)).rejects.toMatchObject({ code: 'CorruptData' });
  });

  it('refuses a codec that does not match the layout', () => {
    const readers = Array.from({ length: 6 }, () => new MemoryShardReader(Buffer.alloc(0)));
    expect(() => createErasureReader(layoutOf(4, 2, KiB4, { codec: 'wasm' }), native, readers, 1, { start: 0, end: 0 })).toThrow(/codec/);
  });
});
