import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { RonomonCodec } from './codec-ronomon.js';
import { createErasureWriter } from './encoder.js';
import { ErasureError } from './errors.js';
import { MemoryShardWriter } from './memory-shards.js';
import { SHARD_HEADER_SIZE, shardFileSize } from './shard-format.js';
import { chunked, decodeFromMemory, encodeToMemory, layoutOf, pattern } from './test-helpers.js';
import type { ShardWriter } from './types.js';

const codec = new RonomonCodec();
const KiB4 = 4096;

/** A memory writer that starts failing after `okWrites` writes (or on finish). */
class FlakyWriter extends MemoryShardWriter {
  aborts = 0;
  constructor(
    private okWrites: number,
    private readonly failFinish = false,
  ) {
    super();
  }
  override async write(chunk: Buffer): Promise<void> {
    if (this.okWrites-- <= 0) throw new Error('ENOSPC');
    return super.write(chunk);
  }
  override async finish(): Promise<void> {
    if (this.failFinish) throw new Error('fsync failed');
    return super.finish();
  }
  override async abort(): Promise<void> {
    this.aborts++;
    return super.abort();
  }
}

describe('erasure writer', () => {
  const layout = layoutOf(4, 2, KiB4);
  const size = 6 * KiB4 + 100;
  const data = pattern(size, 5);

  it('writes shard files of the size shard-format predicts', async () => {
    const { shards, writers } = await encodeToMemory(layout, codec, data);
    for (const s of shards) expect(s.length).toBe(shardFileSize(layout, size));
    expect(writers.every((w) => (w as MemoryShardWriter).state === 'finished')).toBe(true);
  });

  it('an empty object still gets a header-only shard on every writer', async () => {
    const { shards, result } = await encodeToMemory(layout, codec, Buffer.alloc(0));
    expect(result.size).toBe(0);
    expect(shards.map((s) => s.length)).toEqual(Array(6).fill(SHARD_HEADER_SIZE));
  });

  it('offline writers (null) are reported and the object is still readable', async () => {
    const writers: (ShardWriter | null)[] = Array.from({ length: 6 }, (_, i) => (i === 1 || i === 4 ? null : new MemoryShardWriter()));
    const { shards, result } = await encodeToMemory(layout, codec, data, { writers, writeQuorum: 4 });
    expect(result.failedShards).toEqual([1, 4]);
    const avail = shards.map((s, i) => (i === 1 || i === 4 ? null : s));
    expect((await decodeFromMemory(layout, codec, avail, size)).equals(data)).toBe(true);
  });

  it('a writer failing mid-stream is dropped and aborted; at quorum the write succeeds', async () => {
    const flaky = new FlakyWriter(5);
    const writers: ShardWriter[] = Array.from({ length: 6 }, (_, i) => (i === 2 ? flaky : new MemoryShardWriter()));
    const { shards, result } = await encodeToMemory(layout, codec, data, { writers, writeQuorum: 5 });
    expect(result.failedShards).toEqual([2]);
    expect(flaky.aborts).toBe(1);
    expect(flaky.state).toBe('aborted');
    const avail = shards.map((s, i) => (i === 2 ? null : s));
    expect((await decodeFromMemory(layout, codec, avail, size)).equals(data)).toBe(true);
  });

  it('below quorum the stream fails with WriteQuorumNotReached and every writer is aborted', async () => {
    const writers = Array.from({ length: 6 }, (_, i) => new FlakyWriter(i < 2 ? 3 : 1e9));
    const w = createErasureWriter(layout, codec, writers, { writeQuorum: 5 });
    const err = await pipeline(chunked(data), w).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErasureError);
    expect((err as ErasureError).code).toBe('WriteQuorumNotReached');
    expect(writers.every((x) => x.state === 'aborted')).toBe(true);
    expect(writers.every((x) => x.aborts === 1)).toBe(true);
  });

  it('a failed finish() counts against the quorum', async () => {
    const writers = Array.from({ length: 6 }, (_, i) => new FlakyWriter(1e9, i === 0 || i === 5));
    const ok = await encodeToMemory(layout, codec, data, { writers, writeQuorum: 4 });
    expect(ok.result.failedShards).toEqual([0, 5]);
    const writers2 = Array.from({ length: 6 }, (_, i) => new FlakyWriter(1e9, i < 3));
    await expect(encodeToMemory(layout, codec, data, { writers: writers2, writeQuorum: 4 })).rejects.toMatchObject({ code: 'WriteQuorumNotReached' });
    expect(writers2.every((x) => x.state === 'aborted')).toBe(true);
  });

  it('too few writers from the start fails without writing', async () => {
    const writers: (ShardWriter | null)[] = [new MemoryShardWriter(), null, null, null, new MemoryShardWriter(), new MemoryShardWriter()];
    await expect(encodeToMemory(layout, codec, data, { writers, writeQuorum: 4 })).rejects.toMatchObject({ code: 'WriteQuorumNotReached' });
  });

  it('an upstream error aborts every writer', async () => {
    const writers = Array.from({ length: 6 }, () => new FlakyWriter(1e9));
    const w = createErasureWriter(layout, codec, writers, { writeQuorum: 4 });
    const source = Readable.from(
      (async function* () {
        yield data.subarray(0, 9000);
        throw new Error('client went away');
      })(),
    );
    await expect(pipeline(source, w)).rejects.toThrow('client went away');
    // Writers are aborted by the time the writable emits 'close'.
    if (!w.closed) await new Promise((r) => w.once('close', r));
    expect(writers.every((x) => x.aborts === 1 && x.state === 'aborted')).toBe(true);
  });

  it('an abort signal stops the write and aborts the writers', async () => {
    const writers = Array.from({ length: 6 }, () => new FlakyWriter(1e9));
    const ac = new AbortController();
    const w = createErasureWriter(layout, codec, writers, { writeQuorum: 4, signal: ac.signal });
    w.on('error', () => {});
    w.write(data.subarray(0, 5000));
    ac.abort();
    await new Promise((r) => w.on('close', r));
    expect(w.errored).toMatchObject({ name: 'AbortError' });
    expect(writers.every((x) => x.state === 'aborted')).toBe(true);
  });

  it('applies backpressure: a stalled writer stops input after a few stripes', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    class Stalled extends MemoryShardWriter {
      override async write(c: Buffer): Promise<void> {
        await gate;
        return super.write(c);
      }
    }
    const writers = Array.from({ length: 6 }, () => new Stalled());
    const w = createErasureWriter(layout, codec, writers, { writeQuorum: 6 });
    const big = pattern(40 * KiB4, 1);
    let consumed = 0;
    const source = Readable.from(
      (async function* () {
        for (let i = 0; i < big.length; i += 1000) {
          consumed = i;
          yield big.subarray(i, i + 1000);
        }
      })(),
      { objectMode: false },
    );
    const done = pipeline(source, w);
    await new Promise((r) => setTimeout(r, 50));
    // Pool of 3 stripes plus the stream's own 64 KiB buffer, far below 160 KiB.
    expect(consumed).toBeLessThan(3 * KiB4 + 64 * 1024 + 2000);
    release();
    await done;
    const shards = writers.map((x) => x.bytes());
    expect((await decodeFromMemory(layout, codec, shards, big.length)).equals(big)).toBe(true);
  });

  it('frames that queue behind a slow write go out together in one writev, in order', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const calls: number[] = [];
    class Slow extends MemoryShardWriter {
      override async writev(chunks: Buffer[]): Promise<void> {
        calls.push(chunks.length);
        await gate;
        return super.writev(chunks);
      }
    }
    const writers = Array.from({ length: 6 }, () => new Slow());
    const big = pattern(3 * KiB4, 2);
    const done = pipeline(chunked(big, 1000), createErasureWriter(layout, codec, writers, { writeQuorum: 6 }));
    await new Promise((r) => setTimeout(r, 20));
    release();
    await done;
    // Per writer: the header alone (in flight while the stripes queued), then all 3 frames as one writev.
    expect(calls).toEqual([...Array(6).fill(1), ...Array(6).fill(6)]);
    const shards = writers.map((x) => x.bytes());
    expect(shards.every((x) => x.length === shardFileSize(layout, big.length))).toBe(true);
    expect((await decodeFromMemory(layout, codec, shards, big.length)).equals(big)).toBe(true);
  });

  it('result() is unavailable before finish', () => {
    const w = createErasureWriter(layout, codec, Array.from({ length: 6 }, () => new MemoryShardWriter()), { writeQuorum: 4 });
    expect(() => w.result()).toThrow();
    w.destroy();
  });
});
