/**
 * Erasure layer benchmark: codec encode/reconstruct MB/s, bitrot hash MB/s,
 * event-loop blocking per stripe, and the whole streaming encoder/decoder in
 * memory. MB/s = 10^6 bytes of user data per second, one process.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/erasure.js
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { bitrotHash } from '../erasure/bitrot.js';
import { availableImplementations } from '../erasure/codecs.js';
import { createErasureReader } from '../erasure/decoder.js';
import { createErasureWriter } from '../erasure/encoder.js';
import { MemoryShardReader, MemoryShardWriter } from '../erasure/memory-shards.js';
import { shardLengthFor } from '../erasure/shard-format.js';
import type { BitrotAlgorithm, CodecId, ErasureCodec, ErasureLayout, ShardWriter } from '../erasure/types.js';

const MiB = 1048576;
const STRIPE = MiB;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const now = (): number => Number(process.hrtime.bigint()) / 1e9;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number): string => x.toFixed(0).padStart(7);

function layout(k: number, m: number, codec: CodecId, bitrot: BitrotAlgorithm = 'crc32c'): ErasureLayout {
  return { dataShards: k, parityShards: m, blockSize: STRIPE, codec, bitrot, distribution: Array.from({ length: k + m }, (_, i) => i) };
}

function stripe(k: number, m: number): Buffer[] {
  const len = shardLengthFor(layout(k, m, 'ronomon'), STRIPE);
  const all = Buffer.alloc((k + m) * len);
  for (let i = 0; i < k * len; i += 4093) all[i] = i & 0xff;
  return Array.from({ length: k + m }, (_, i) => all.subarray(i * len, (i + 1) * len));
}

/** Runs `op` (one 1 MiB stripe) with `inflight` concurrent calls for SECONDS; returns MB/s. */
async function rate(op: () => Promise<void>, inflight = 1): Promise<number> {
  for (let i = 0; i < 3; i++) await op();
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let n = 0;
    const t0 = now();
    const end = t0 + SECONDS;
    await Promise.all(
      Array.from({ length: inflight }, async () => {
        while (now() < end) {
          await op();
          n++;
        }
      }),
    );
    runs.push((n * STRIPE) / (now() - t0) / 1e6);
  }
  return median(runs);
}

/** Median time the call itself holds the event loop (before it returns its promise), ms. */
async function blocking(op: () => Promise<void>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = now();
    const p = op();
    xs.push((now() - t0) * 1e3);
    await p;
  }
  return median(xs);
}

async function codecs(): Promise<void> {
  console.log('\nReed-Solomon codecs, 1 MiB stripes (user-data MB/s; reconstruct = 2 data shards lost)');
  console.log('geometry | codec            | encode | enc x2 in flight | reconstruct | event loop blocked per stripe (encode / reconstruct)');
  for (const [k, m] of [
    [4, 2],
    [8, 4],
  ] as const) {
    for (const { name, codec } of availableImplementations()) {
      const enc = stripe(k, m);
      const enc2 = stripe(k, m);
      await codec.encode(enc, k, m);
      const rec = stripe(k, m);
      await codec.encode(rec, k, m);
      const present = rec.map((_, i) => i >= 2);
      const wanted = rec.map((_, i) => i < 2);
      let flip = false;
      const encOp = (): Promise<void> => codec.encode(enc, k, m);
      const encOp2 = (): Promise<void> => codec.encode((flip = !flip) ? enc : enc2, k, m);
      const recOp = (): Promise<void> => codec.reconstruct(rec, present, k, m, wanted);
      const e = await rate(encOp);
      const e2 = await rate(encOp2, 2);
      const r = await rate(recOp);
      const be = await blocking(encOp);
      const br = await blocking(recOp);
      console.log(
        `${`${k}+${m}`.padEnd(8)} | ${name.padEnd(16)} | ${fmt(e)} | ${fmt(e2).padStart(16)} | ${fmt(r).padStart(11)} | ${be.toFixed(3)} ms / ${br.toFixed(3)} ms`,
      );
    }
  }
}

function hashes(): void {
  console.log('\nBitrot hashes (MB/s, 256 KiB shard blocks)');
  const block = Buffer.alloc(256 * 1024, 7);
  for (const alg of ['crc32c', 'sha256'] as const) {
    const runs: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      let n = 0;
      const t0 = now();
      while (now() - t0 < SECONDS) {
        for (let i = 0; i < 16; i++) bitrotHash(alg, block);
        n += 16;
      }
      runs.push((n * block.length) / (now() - t0) / 1e6);
    }
    console.log(`${alg.padEnd(7)} | ${fmt(median(runs))}`);
  }
}

/** Discards frames: measures the encoder, not a storage backend. */
class NullWriter implements ShardWriter {
  bytes = 0;
  async write(chunk: Buffer): Promise<void> {
    this.bytes += chunk.length;
  }
  async writev(chunks: Buffer[]): Promise<void> {
    for (const c of chunks) this.bytes += c.length;
  }
  async finish(): Promise<void> {}
  async abort(): Promise<void> {}
}

function source(total: number): Readable {
  const chunk = Buffer.alloc(64 * 1024, 3);
  let left = total;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

async function streams(): Promise<void> {
  console.log('\nStreaming encoder (encode + hash + frame, 64 KiB input chunks, null writers) and decoder (memory shards), MB/s');
  console.log('layout                      | encode stream | decode whole | decode, 2 data shards lost');
  const total = 256 * MiB;
  for (const [k, m, codecName, bitrot] of [
    [4, 2, 'ronomon-native', 'crc32c'],
    [4, 2, 'ronomon-native', 'sha256'],
    [8, 4, 'ronomon-native', 'crc32c'],
    [4, 2, 'ronomon-portable', 'crc32c'],
    [4, 2, 'wasm', 'crc32c'],
  ] as const) {
    const impl = availableImplementations().find((x) => x.name === codecName);
    if (!impl) continue;
    const codec: ErasureCodec = impl.codec;
    const l = layout(k, m, codec.id, bitrot);
    const encRuns: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const writers = Array.from({ length: k + m }, () => new NullWriter());
      const t0 = now();
      await pipeline(source(total), createErasureWriter(l, codec, writers, { writeQuorum: k }));
      encRuns.push(total / (now() - t0) / 1e6);
    }
    // Decode from memory shards of a smaller object (memory writers keep everything).
    const size = 64 * MiB;
    const mem = Array.from({ length: k + m }, () => new MemoryShardWriter());
    await pipeline(source(size), createErasureWriter(l, codec, mem, { writeQuorum: k }));
    const shards = mem.map((w) => w.bytes());
    const decode = async (lost: number[]): Promise<number> => {
      const runs: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        const readers = shards.map((s, i) => (lost.includes(i) ? null : new MemoryShardReader(s)));
        const t0 = now();
        let got = 0;
        await pipeline(
          createErasureReader(l, codec, readers, size, { start: 0, end: size - 1 }),
          new Writable({
            write(c: Buffer, _e, cb) {
              got += c.length;
              cb();
            },
          }),
        );
        if (got !== size) throw new Error('decoder returned the wrong number of bytes');
        runs.push(size / (now() - t0) / 1e6);
      }
      return median(runs);
    };
    const whole = await decode([]);
    const degraded = await decode([0, 1]);
    console.log(`${`${k}+${m} ${codecName} ${bitrot}`.padEnd(27)} | ${fmt(median(encRuns)).padStart(13)} | ${fmt(whole).padStart(12)} | ${fmt(degraded).padStart(10)}`);
  }
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${SECONDS}s per measurement, median of ${RUNS}`);
  await codecs();
  hashes();
  await streams();
}

await main();
