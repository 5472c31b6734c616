/**
 * Test helpers for the erasure layer: encode a buffer to memory shards and
 * decode a range back. Imported by *.test.ts only (and usable by storage tests).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createErasureReader, type ErasureReaderOptions } from './decoder.js';
import { createErasureWriter, type ErasureWriteResult } from './encoder.js';
import { MemoryShardReader, MemoryShardWriter } from './memory-shards.js';
import type { ErasureCodec, ErasureLayout, ShardReader, ShardWriter } from './types.js';

export function layoutOf(k: number, m: number, blockSize: number, over: Partial<ErasureLayout> = {}): ErasureLayout {
  return {
    dataShards: k,
    parityShards: m,
    blockSize,
    codec: 'ronomon',
    bitrot: 'crc32c',
    distribution: Array.from({ length: k + m }, (_, i) => i),
    ...over,
  };
}

/** Deterministic pseudo-random bytes (fast, no crypto). */
export function pattern(size: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** Feeds `data` in uneven chunks so stripe boundaries fall mid-chunk. */
export function chunked(data: Buffer, chunk = 7777): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
  return Readable.from(parts, { objectMode: false });
}

export async function encodeToMemory(
  layout: ErasureLayout,
  codec: ErasureCodec,
  data: Buffer,
  opts: { writers?: (ShardWriter | null)[]; writeQuorum?: number; chunk?: number } = {},
): Promise<{ shards: Buffer[]; writers: (ShardWriter | null)[]; result: ErasureWriteResult }> {
  const n = layout.dataShards + layout.parityShards;
  const writers = opts.writers ?? Array.from({ length: n }, () => new MemoryShardWriter());
  const w = createErasureWriter(layout, codec, writers, { writeQuorum: opts.writeQuorum ?? layout.dataShards });
  await pipeline(chunked(data, opts.chunk), w);
  const shards = writers.map((x) => (x instanceof MemoryShardWriter ? x.bytes() : Buffer.alloc(0)));
  return { shards, writers, result: w.result() };
}

export async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export async function decodeFromMemory(
  layout: ErasureLayout,
  codec: ErasureCodec,
  shards: (Buffer | null)[],
  size: number,
  range: { start: number; end: number } = { start: 0, end: size - 1 },
  opts: ErasureReaderOptions = {},
): Promise<Buffer> {
  const readers: (ShardReader | null)[] = shards.map((s) => (s ? new MemoryShardReader(s) : null));
  return collect(createErasureReader(layout, codec, readers, size, range, opts));
}
