/**
 * Streaming erasure encoder: plaintext in, k+m framed shard streams out.
 *
 * Input is cut into blockSize stripes. A stripe buffer holds the k data shard
 * blocks back to back (so plaintext is copied once, straight into place), then
 * the m parity blocks, then the k+m bitrot hashes. The codec fills parity in
 * place, each shard gets its [hash][block] frame, and all writers are written
 * in parallel. Stripe buffers come from a small per-stream pool; when none is
 * free the writable stops accepting input — that is the backpressure, and it
 * bounds memory to POOL_SIZE stripes per stream.
 *
 * Writers that fail are dropped (abort() called, index recorded); the object
 * survives as long as writeQuorum writers remain.
 */
import { Writable } from 'node:stream';
import { bitrotHashInto, bitrotHashSize } from './bitrot.js';
import { ErasureError } from './errors.js';
import { encodeShardHeader, shardBlockSize, shardLengthFor, validateLayout } from './shard-format.js';
import type { ErasureCodec, ErasureLayout, ShardWriter } from './types.js';

/** One stripe being filled plus up to two being encoded/written. */
const POOL_SIZE = 3;

export interface ErasureWriteResult {
  /** Plaintext bytes written. */
  size: number;
  /** Shard indices with no complete shard file: offline (null) writers and writers that failed. */
  failedShards: number[];
}

export interface ErasureWritable extends Writable {
  /** Available after 'finish'; throws before. */
  result(): ErasureWriteResult;
}

export interface ErasureWriterOptions {
  writeQuorum: number;
  signal?: AbortSignal;
}

export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new DOMException('The operation was aborted', 'AbortError');
}

export function createErasureWriter(
  layout: ErasureLayout,
  codec: ErasureCodec,
  writers: (ShardWriter | null)[],
  opts: ErasureWriterOptions,
): ErasureWritable {
  return new ErasureWriter(layout, codec, writers, opts);
}

class ErasureWriter extends Writable implements ErasureWritable {
  private readonly k: number;
  private readonly m: number;
  private readonly blockSize: number;
  private readonly hashSize: number;
  /** Bytes of one stripe buffer: (k+m) full shard blocks then (k+m) hashes. */
  private readonly stripeBytes: number;
  private readonly hashOffset: number;
  private readonly live: boolean[];
  private readonly aborted: boolean[];
  private readonly failed = new Set<number>();
  private readonly tails: Promise<void>[];
  /** Frames waiting while writer i has a write in flight; they go out together in its next writev. */
  private readonly queued: { chunks: Buffer[]; done: (() => void)[] }[];
  private readonly busy: boolean[];
  private readonly free: Buffer[] = [];
  private allocated = 0;
  private readonly waiting: ((b: Buffer) => void)[] = [];
  private current: Buffer | null = null;
  private filled = 0;
  private size = 0;
  private encodeChain: Promise<void> = Promise.resolve();
  private fatal: Error | null = null;
  private finished = false;
  private readonly onAbort: (() => void) | null = null;

  constructor(
    private readonly layout: ErasureLayout,
    private readonly codec: ErasureCodec,
    private readonly writers: (ShardWriter | null)[],
    private readonly opts: ErasureWriterOptions,
  ) {
    super({ highWaterMark: 64 * 1024 });
    validateLayout(layout);
    if (codec.id !== layout.codec) throw new RangeError(`layout says codec ${layout.codec}, got ${codec.id}`);
    this.k = layout.dataShards;
    this.m = layout.parityShards;
    const n = this.k + this.m;
    if (writers.length !== n) throw new RangeError(`expected ${n} shard writers, got ${writers.length}`);
    if (!Number.isInteger(opts.writeQuorum) || opts.writeQuorum < 1 || opts.writeQuorum > n) {
      throw new RangeError(`bad write quorum ${opts.writeQuorum} for ${n} shards`);
    }
    this.blockSize = layout.blockSize;
    this.hashSize = bitrotHashSize(layout.bitrot);
    this.hashOffset = n * shardBlockSize(layout);
    this.stripeBytes = this.hashOffset + n * this.hashSize;
    this.live = writers.map((w) => w !== null);
    this.aborted = writers.map(() => false);
    writers.forEach((w, i) => {
      if (!w) this.failed.add(i);
    });
    this.checkQuorum(null);
    this.queued = writers.map(() => ({ chunks: [], done: [] }));
    this.busy = writers.map(() => false);
    // Headers go first, queued like any frame so each writer sees one ordered stream.
    this.tails = writers.map((w, i) => (w && !this.fatal ? this.enqueue(i, [encodeShardHeader(layout, i)]) : Promise.resolve()));
    const signal = opts.signal;
    if (signal) {
      if (signal.aborted) {
        this.fatal = abortReason(signal);
      } else {
        this.onAbort = () => this.destroy(abortReason(signal));
        signal.addEventListener('abort', this.onAbort, { once: true });
      }
    }
  }

  result(): ErasureWriteResult {
    if (!this.finished) throw new Error('erasure writer has not finished');
    return { size: this.size, failedShards: [...this.failed].sort((a, b) => a - b) };
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.take(chunk).then(() => cb(), cb);
  }

  private async take(chunk: Buffer): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      this.throwIfFatal();
      if (!this.current) {
        this.current = await this.acquire();
        this.filled = 0;
        this.throwIfFatal();
      }
      const n = Math.min(chunk.length - off, this.blockSize - this.filled);
      chunk.copy(this.current, this.filled, off, off + n);
      this.filled += n;
      off += n;
      this.size += n;
      if (this.filled === this.blockSize) {
        this.submit(this.current, this.filled);
        this.current = null;
      }
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.flushAll().then(() => cb(), cb);
  }

  private async flushAll(): Promise<void> {
    this.throwIfFatal();
    if (this.current) {
      if (this.filled > 0) this.submit(this.current, this.filled);
      else this.release(this.current);
      this.current = null;
    }
    await this.encodeChain;
    await Promise.all(this.tails);
    this.throwIfFatal();
    await Promise.all(
      this.writers.map(async (w, i) => {
        if (!w || !this.live[i]) return;
        try {
          await w.finish();
        } catch (err) {
          this.drop(i, err);
        }
      }),
    );
    this.throwIfFatal();
    this.finished = true;
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.onAbort) this.opts.signal?.removeEventListener('abort', this.onAbort);
    if (this.finished && !err) return cb(null);
    this.fatal ??= err ?? new Error('erasure writer destroyed before finishing');
    // Let queued writes settle first, so abort() never races a write on the same writer.
    Promise.allSettled([this.encodeChain, ...this.tails])
      .then(() =>
        Promise.allSettled(
          this.writers.map((w, i) => {
            if (!w || this.aborted[i]) return undefined;
            this.aborted[i] = true;
            return w.abort();
          }),
        ),
      )
      .then(
        () => cb(err),
        () => cb(err),
      );
    for (const wake of this.waiting.splice(0)) wake(Buffer.alloc(0));
  }

  private throwIfFatal(): void {
    if (this.fatal) throw this.fatal;
  }

  private acquire(): Promise<Buffer> {
    const b = this.free.pop();
    if (b) return Promise.resolve(b);
    if (this.allocated < POOL_SIZE) {
      this.allocated++;
      return Promise.resolve(Buffer.allocUnsafe(this.stripeBytes));
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(b: Buffer): void {
    const wake = this.waiting.shift();
    if (wake) wake(b);
    else this.free.push(b);
  }

  /** Encode, hash and queue the frames of one stripe holding `bytes` plaintext bytes. */
  private submit(stripe: Buffer, bytes: number): void {
    const k = this.k;
    const n = k + this.m;
    const len = shardLengthFor(this.layout, bytes);
    // Zero padding of the last data shard(s): part of the encoded data.
    stripe.fill(0, bytes, k * len);
    const shards = Array.from({ length: n }, (_, i) => stripe.subarray(i * len, (i + 1) * len));
    const encoded = this.encodeChain.then(async () => {
      if (this.fatal) return;
      await this.codec.encode(shards, k, this.m);
      const writes: Promise<void>[] = [];
      for (let i = 0; i < n; i++) {
        if (!this.live[i]) continue;
        const hashAt = this.hashOffset + i * this.hashSize;
        bitrotHashInto(this.layout.bitrot, shards[i]!, stripe, hashAt);
        const frame = [stripe.subarray(hashAt, hashAt + this.hashSize), shards[i]!];
        this.tails[i] = this.enqueue(i, frame);
        writes.push(this.tails[i]!);
      }
      // The stripe is reusable once every writer is done with it.
      void Promise.all(writes).then(() => this.release(stripe));
    });
    this.encodeChain = encoded.catch((err: unknown) => {
      this.fatal ??= err instanceof Error ? err : new Error(String(err));
      this.release(stripe);
    });
  }

  /**
   * Queues chunks for writer i; resolves once they are written (or the writer
   * was dropped). Writes to one writer stay one at a time and in order; what
   * queues up behind a write in flight is sent as one writev, so a writer that
   * falls behind catches up with fewer, larger writes.
   */
  private enqueue(i: number, chunks: Buffer[]): Promise<void> {
    return new Promise((resolve) => {
      const q = this.queued[i]!;
      for (const c of chunks) q.chunks.push(c);
      q.done.push(resolve);
      if (!this.busy[i]) void this.pump(i);
    });
  }

  private async pump(i: number): Promise<void> {
    this.busy[i] = true;
    const q = this.queued[i]!;
    while (q.done.length > 0) {
      const chunks = q.chunks.splice(0);
      const done = q.done.splice(0);
      await this.send(i, chunks);
      for (const d of done) d();
    }
    this.busy[i] = false;
  }

  /** Writes chunks to writer i; a failure drops the writer instead of rejecting. */
  private async send(i: number, chunks: Buffer[]): Promise<void> {
    const w = this.writers[i];
    if (!w || !this.live[i] || this.fatal) return;
    try {
      if (w.writev) await w.writev(chunks);
      else for (const c of chunks) await w.write(c);
    } catch (err) {
      this.drop(i, err);
    }
  }

  private drop(i: number, err: unknown): void {
    if (!this.live[i]) return;
    this.live[i] = false;
    this.failed.add(i);
    if (!this.aborted[i]) {
      this.aborted[i] = true;
      this.writers[i]?.abort().catch(() => {});
    }
    this.checkQuorum(err);
  }

  private checkQuorum(cause: unknown): void {
    const alive = this.live.filter(Boolean).length;
    if (alive < this.opts.writeQuorum && !this.fatal) {
      this.fatal = new ErasureError(
        'WriteQuorumNotReached',
        `only ${alive} of ${this.live.length} shard writers left, need ${this.opts.writeQuorum}`,
        cause === null ? undefined : { cause },
      );
      // Surface it even if no more input arrives to trip over it.
      if (this.tails) queueMicrotask(() => this.destroy(this.fatal ?? undefined));
    }
  }
}
