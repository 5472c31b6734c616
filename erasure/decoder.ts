/**
 * Streaming erasure decoder: reads the blocks covering a byte range from the
 * shard readers and emits exactly those plaintext bytes.
 *
 * Per block it reads only the data shards the range touches (whole shard
 * blocks: the bitrot hash covers the block). When all of them verify, their
 * bytes are emitted as they are (systematic code: no decoding). When one fails
 * — read error, short read, hash or header mismatch — the shard is reported via
 * onShardError, never used again by this stream, and enough other shards
 * (data first, then parity) are read to reconstruct the block. Fewer than k
 * good shards is an error; wrong bytes are never emitted.
 *
 * Healthy reads go in batches of consecutive blocks: each shard's frames of a
 * batch are read with one scattered read (~1 MiB, see READ_BYTES) whose shard
 * blocks land straight in per-block output chunks (one plaintext block each,
 * ~blockSize bytes: a socket-sized write), hashes in a small side buffer. No
 * per-frame buffer, no copy; each output chunk is handed downstream and never
 * touched again (whole-block chunks are lent from erasure/chunk-pool.ts; the
 * HTTP response returns them after the socket write). A block whose frames do
 * not all verify is redone by the per-block path above (degraded,
 * reconstructing), in order.
 *
 * Up to READ_AHEAD batches are fetched concurrently; Readable.from() pulls the
 * generator only when the consumer wants more, which is the backpressure.
 */
import { Readable } from 'node:stream';
import { bitrotHashSize, bitrotVerify } from './bitrot.js';
import { abortReason } from './encoder.js';
import { ErasureError } from './errors.js';
import { lendChunk, takeChunk } from './chunk-pool.js';
import { readScattered } from './scatter-read.js';
import {
  blockFrameLength,
  blockFrameOffset,
  blockPlainSize,
  checkShardHeader,
  frameSize,
  SHARD_HEADER_SIZE,
  shardBlockSize,
  shardLengthFor,
  validateLayout,
} from './shard-format.js';
import type { ErasureCodec, ErasureLayout, ShardReader } from './types.js';

/** Batches in flight: one being consumed while the next is read. */
const READ_AHEAD = 2;
/** Bytes per shard read in a batch: big enough to amortise the threadpool round trip, small enough to bound memory. */
const READ_BYTES = 1024 * 1024;
/** Caps the iovec count of one read (IOV_MAX is 1024) for layouts with small blocks. */
const MAX_BATCH_BLOCKS = 64;

export interface ErasureReaderOptions {
  signal?: AbortSignal;
  /** Called once per shard the first time it fails (read error, bitrot, bad header). */
  onShardError?: (shardIndex: number, err: Error) => void;
}

export function createErasureReader(
  layout: ErasureLayout,
  codec: ErasureCodec,
  readers: (ShardReader | null)[],
  objectSize: number,
  range: { start: number; end: number },
  opts: ErasureReaderOptions = {},
): Readable {
  validateLayout(layout);
  if (codec.id !== layout.codec) throw new RangeError(`layout says codec ${layout.codec}, got ${codec.id}`);
  const n = layout.dataShards + layout.parityShards;
  if (readers.length !== n) throw new RangeError(`expected ${n} shard readers, got ${readers.length}`);
  if (!Number.isSafeInteger(objectSize) || objectSize < 0) throw new RangeError(`bad object size ${objectSize}`);
  const { start, end } = range;
  const empty = end < start;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || (!empty && (start < 0 || end >= objectSize))) {
    throw new RangeError(`range ${start}-${end} outside an object of ${objectSize} bytes`);
  }
  const decoder = new BlockDecoder(layout, codec, readers, objectSize, opts);
  const stream = Readable.from(empty ? [] : decoder.blocks(start, end), { objectMode: false, highWaterMark: 64 * 1024 });
  const signal = opts.signal;
  if (signal) {
    if (signal.aborted) stream.destroy(abortReason(signal));
    else {
      const onAbort = (): void => {
        stream.destroy(abortReason(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      stream.once('close', () => signal.removeEventListener('abort', onAbort));
    }
  }
  return stream;
}

type BadReason = 'unavailable' | 'corrupt';

/** One block of a batch: plaintext [lo, hi) of block b, shards sLo..sHi of `len` bytes; `out` once read and verified. */
interface BatchBlock {
  b: number;
  lo: number;
  hi: number;
  len: number;
  sLo: number;
  sHi: number;
  out: Buffer | null;
}

class BlockDecoder {
  private readonly k: number;
  private readonly n: number;
  private readonly hashSize: number;
  /** Why a shard is no longer used; null readers start out unavailable. */
  private readonly bad: (BadReason | null)[];
  private readonly headers: (Promise<void> | null)[];

  constructor(
    private readonly layout: ErasureLayout,
    private readonly codec: ErasureCodec,
    private readonly readers: (ShardReader | null)[],
    private readonly objectSize: number,
    private readonly opts: ErasureReaderOptions,
  ) {
    this.k = layout.dataShards;
    this.n = layout.dataShards + layout.parityShards;
    this.hashSize = bitrotHashSize(layout.bitrot);
    this.bad = readers.map((r) => (r ? null : 'unavailable'));
    this.headers = readers.map(() => null);
  }

  async *blocks(start: number, end: number): AsyncGenerator<Buffer> {
    const B = this.layout.blockSize;
    const first = Math.floor(start / B);
    const last = Math.floor(end / B);
    const perBatch = Math.max(1, Math.min(MAX_BATCH_BLOCKS, Math.round(READ_BYTES / frameSize(this.layout))));
    const pending: Promise<BatchBlock[]>[] = [];
    let next = first;
    const fill = (): void => {
      while (next <= last && pending.length < READ_AHEAD) {
        const b0 = next;
        next = Math.min(last + 1, b0 + perBatch);
        const p = this.batch(b0, next - 1, start, end);
        p.catch(() => {}); // awaited below; this only keeps an abandoned read-ahead quiet
        pending.push(p);
      }
    };
    fill();
    while (pending.length > 0) {
      if (this.opts.signal?.aborted) throw abortReason(this.opts.signal);
      const blocks = await pending.shift()!;
      fill();
      for (const blk of blocks) {
        if (blk.out) {
          if (blk.out.length > 0) yield blk.out;
          continue;
        }
        if (this.opts.signal?.aborted) throw abortReason(this.opts.signal);
        for (const s of await this.block(blk.b, blk.lo, blk.hi)) if (s.length > 0) yield s;
      }
    }
  }

  /**
   * Blocks b0..b1 (inclusive), clipped to [start, end]: each needed data shard's
   * frames in one scattered read. A block comes back with `out` when every
   * frame it needs was read and verified, else without (the caller redoes it
   * through block()). Rejects only on abort; shard failures are marked bad.
   */
  private async batch(b0: number, b1: number, start: number, end: number): Promise<BatchBlock[]> {
    const B = this.layout.blockSize;
    const hs = this.hashSize;
    const blocks: BatchBlock[] = [];
    for (let b = b0; b <= b1; b++) {
      const len = shardLengthFor(this.layout, blockPlainSize(this.layout, this.objectSize, b));
      const lo = Math.max(start, b * B) - b * B;
      const hi = Math.min(end + 1, (b + 1) * B) - b * B;
      blocks.push({ b, lo, hi, len, sLo: Math.floor(lo / len), sHi: Math.floor((hi - 1) / len), out: null });
    }
    // Output chunk of a block: its needed shard blocks back to back; hashes of the whole batch side by side.
    // Whole-block chunks come from the chunk pool (the HTTP response gives them back once sent).
    const full = this.k * shardBlockSize(this.layout);
    const pooled = blocks.map((x) => (x.sHi - x.sLo + 1) * x.len === full);
    const chunks = blocks.map((x, j) => (pooled[j] ? takeChunk(full) : Buffer.allocUnsafe((x.sHi - x.sLo + 1) * x.len)));
    const hashes = Buffer.allocUnsafe(blocks.length * this.k * hs);
    const ok = blocks.map(() => true);
    const reads: Promise<void>[] = [];
    for (let s = 0; s < this.k; s++) {
      // Blocks needing shard s form one run: only the first and last block of a range are partial.
      const run: number[] = [];
      blocks.forEach((x, j) => {
        if (s >= x.sLo && s <= x.sHi) run.push(j);
      });
      if (run.length === 0) continue;
      if (this.bad[s] !== null) {
        for (const j of run) ok[j] = false;
        continue;
      }
      reads.push(this.readRun(s, blocks, run, chunks, hashes).then(
        (good) => {
          for (let r = 0; r < run.length; r++) if (!good[r]) ok[run[r]!] = false;
        },
        (err: unknown) => {
          this.markBad(s, err);
          for (const j of run) ok[j] = false;
        },
      ));
    }
    await Promise.all(reads);
    blocks.forEach((x, j) => {
      if (!ok[j]) return; // its chunk is dropped, never reused: a timed-out read may still land in it
      const out = chunks[j]!.subarray(x.lo - x.sLo * x.len, x.hi - x.sLo * x.len);
      x.out = pooled[j] ? lendChunk(out) : out;
    });
    return blocks;
  }

  /**
   * Reads shard s's frames of blocks `run` (consecutive) into their output
   * chunks and checks them; per block, whether its frame verified. A bad frame
   * marks the shard corrupt (reported once) and fails the blocks from there on.
   */
  private async readRun(s: number, blocks: BatchBlock[], run: number[], chunks: Buffer[], hashes: Buffer): Promise<boolean[]> {
    const reader = this.readers[s]!;
    const hs = this.hashSize;
    const firstB = blocks[run[0]!]!.b;
    const targets: Buffer[] = [];
    let offset = blockFrameOffset(this.layout, firstB);
    let header: Buffer | null = null;
    if (firstB === 0 && this.headers[s] === null) {
      // The first frame sits right after the header: one read for both.
      header = Buffer.allocUnsafe(SHARD_HEADER_SIZE);
      targets.push(header);
      offset = 0;
    }
    const hashAt = (j: number) => (j * this.k + s) * hs;
    const blockOf = (j: number) => {
      const x = blocks[j]!;
      return chunks[j]!.subarray((s - x.sLo) * x.len, (s - x.sLo + 1) * x.len);
    };
    for (const j of run) targets.push(hashes.subarray(hashAt(j), hashAt(j) + hs), blockOf(j));
    const read = readScattered(reader, offset, targets);
    if (header) {
      const h = header;
      this.headers[s] = read.then(() => this.checkHeader(h, s));
    } else {
      this.headers[s] ??= reader.readAt(0, SHARD_HEADER_SIZE).then((buf) => this.checkHeader(buf, s));
    }
    await Promise.all([this.headers[s], read]);
    const good: boolean[] = [];
    for (const j of run) {
      if (this.bad[s] === null && !bitrotVerify(this.layout.bitrot, blockOf(j), hashes.subarray(hashAt(j), hashAt(j) + hs))) {
        this.markBad(s, new ErasureError('CorruptData', `shard ${s} block ${blocks[j]!.b}: ${this.layout.bitrot} mismatch (bitrot)`));
      }
      good.push(this.bad[s] === null);
    }
    return good;
  }

  /** Plaintext bytes [lo, hi) of block b, as slices in order. */
  private async block(b: number, lo: number, hi: number): Promise<Buffer[]> {
    const plain = blockPlainSize(this.layout, this.objectSize, b);
    const len = shardLengthFor(this.layout, plain);
    const needed: number[] = [];
    for (let i = Math.floor(lo / len); i <= Math.floor((hi - 1) / len); i++) needed.push(i);
    const got = new Map<number, Buffer>();
    const tryRead = (list: number[]): Promise<unknown> =>
      Promise.all(
        list.map((s) =>
          this.readShardBlock(s, b).then(
            (buf) => got.set(s, buf),
            (err: unknown) => this.markBad(s, err),
          ),
        ),
      );
    // Fast path: just the data shards holding the range.
    if (needed.every((s) => this.bad[s] === null)) {
      await tryRead(needed);
      if (needed.every((s) => got.has(s))) return this.slices(needed.map((s) => got.get(s)!), needed[0]!, len, lo, hi);
    }
    // Degraded: gather any k good shards, data shards first.
    while (got.size < this.k) {
      const candidates: number[] = [];
      for (let s = 0; s < this.n; s++) if (this.bad[s] === null && !got.has(s)) candidates.push(s);
      if (candidates.length < this.k - got.size) throw this.quorumError(b, got.size);
      await tryRead(candidates.slice(0, this.k - got.size));
    }
    if (needed.every((s) => got.has(s))) return this.slices(needed.map((s) => got.get(s)!), needed[0]!, len, lo, hi);
    const stripe = Buffer.allocUnsafe(this.n * len);
    const shards = Array.from({ length: this.n }, (_, i) => stripe.subarray(i * len, (i + 1) * len));
    const present = shards.map((_, i) => got.has(i));
    for (const [s, buf] of got) buf.copy(shards[s]!);
    const wanted = shards.map((_, i) => needed.includes(i) && !got.has(i));
    await this.codec.reconstruct(shards, present, this.k, this.layout.parityShards, wanted);
    return this.slices(needed.map((s) => shards[s]!), needed[0]!, len, lo, hi);
  }

  /** Cuts [lo, hi) of the block out of consecutive data shard blocks starting at index `firstShard`. */
  private slices(blocks: Buffer[], firstShard: number, len: number, lo: number, hi: number): Buffer[] {
    const out: Buffer[] = [];
    blocks.forEach((blk, j) => {
      const base = (firstShard + j) * len;
      const from = Math.max(lo, base) - base;
      const to = Math.min(hi, base + len) - base;
      if (to > from) out.push(blk.subarray(from, to));
    });
    return out;
  }

  private quorumError(b: number, good: number): ErasureError {
    const corrupt = this.bad.some((r) => r === 'corrupt');
    return new ErasureError(
      corrupt ? 'CorruptData' : 'ReadQuorumNotReached',
      `block ${b}: only ${good} good shards of ${this.n} (need ${this.k}); ` +
        `${this.bad.filter((r) => r === 'corrupt').length} corrupt, ${this.bad.filter((r) => r === 'unavailable').length} unavailable`,
    );
  }

  private markBad(s: number, err: unknown): void {
    if (this.bad[s] !== null) return;
    const e = err instanceof Error ? err : new Error(String(err));
    this.bad[s] = e instanceof ErasureError && e.code === 'CorruptData' ? 'corrupt' : 'unavailable';
    this.opts.onShardError?.(s, e);
  }

  /** Verified shard block b of shard s (header checked on first use). */
  private async readShardBlock(s: number, b: number): Promise<Buffer> {
    const reader = this.readers[s]!;
    const off = blockFrameOffset(this.layout, b);
    const flen = blockFrameLength(this.layout, this.objectSize, b);
    let frame: Buffer;
    if (b === 0 && this.headers[s] === null) {
      // The first frame sits right after the header: one read for both.
      const both = reader.readAt(0, off + flen);
      this.headers[s] = both.then((buf) => this.checkHeader(buf.subarray(0, SHARD_HEADER_SIZE), s));
      await this.headers[s];
      frame = (await both).subarray(off);
    } else {
      this.headers[s] ??= reader.readAt(0, SHARD_HEADER_SIZE).then((buf) => this.checkHeader(buf, s));
      const [, f] = await Promise.all([this.headers[s], reader.readAt(off, flen)]);
      frame = f;
    }
    if (frame.length !== flen) throw new ErasureError('CorruptData', `shard ${s} block ${b}: short read (${frame.length} of ${flen} bytes)`);
    const hash = frame.subarray(0, this.hashSize);
    const block = frame.subarray(this.hashSize);
    if (!bitrotVerify(this.layout.bitrot, block, hash)) {
      throw new ErasureError('CorruptData', `shard ${s} block ${b}: ${this.layout.bitrot} mismatch (bitrot)`);
    }
    return block;
  }

  private checkHeader(buf: Buffer, s: number): void {
    if (buf.length !== SHARD_HEADER_SIZE) throw new ErasureError('CorruptData', `shard ${s}: short header`);
    checkShardHeader(buf, this.layout, s);
  }
}
