/**
 * Baseline: what the drives can do with the same bytes and no server. PUT writes
 * the object's bytes to one file on one drive (drives taken by key hash, so a
 * run spreads evenly) and fsyncs it; GET reads a file back into a reused buffer.
 * No erasure coding, no hashing, no metadata: the ceiling a store on these
 * directories cannot beat for one copy of the data.
 */
import { mkdir, open, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BodySource } from '../client.js';
import { BenchCorruption, type ListPage, type Store, type Timed } from '../store.js';

const READ_CHUNK = 1 << 20;

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

export class RawDiskStore implements Store {
  readonly name = 'raw disk';
  readonly supports = new Set(['put', 'get', 'head', 'delete'] as const);
  readonly pid = process.pid;
  private readonly buffers: Buffer[] = [];

  /** dirs: one scratch directory per drive, created and removed by the caller. */
  constructor(private readonly dirs: string[]) {}

  private file(bucket: string, key: string): string {
    const dir = this.dirs[hash(key) % this.dirs.length]!;
    return join(dir, bucket, key.replace(/\//g, '_'));
  }

  async createBucket(bucket: string): Promise<void> {
    await Promise.all(this.dirs.map((d) => mkdir(join(d, bucket), { recursive: true })));
  }

  async put(bucket: string, key: string, body: BodySource): Promise<Timed> {
    const start = performance.now();
    const fh = await open(this.file(bucket, key), 'w');
    try {
      let left = body.size;
      while (left > 0) {
        const n = Math.min(left, body.pattern.length);
        await fh.write(body.pattern, 0, n);
        left -= n;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    const ms = performance.now() - start;
    return { latencyMs: ms, ttfbMs: ms, bytes: body.size };
  }

  async get(bucket: string, key: string, verify?: { pattern: Buffer; bytes: number }): Promise<Timed> {
    const start = performance.now();
    const buf = this.buffers.pop() ?? Buffer.allocUnsafe(READ_CHUNK);
    const fh = await open(this.file(bucket, key), 'r');
    let bytes = 0;
    let ttfbMs = 0;
    try {
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        if (bytes === 0) ttfbMs = performance.now() - start;
        if (verify && bytes === 0) {
          const n = Math.min(bytesRead, verify.bytes, verify.pattern.length);
          if (buf.compare(verify.pattern, 0, n, 0, n) !== 0) throw new BenchCorruption(`${key}: bytes differ`);
        }
        bytes += bytesRead;
      }
    } finally {
      await fh.close();
      this.buffers.push(buf);
    }
    return { latencyMs: performance.now() - start, ttfbMs, bytes };
  }

  async head(bucket: string, key: string): Promise<Timed> {
    const start = performance.now();
    await stat(this.file(bucket, key));
    const ms = performance.now() - start;
    return { latencyMs: ms, ttfbMs: ms, bytes: 0 };
  }

  async delete(bucket: string, key: string): Promise<Timed> {
    const start = performance.now();
    await unlink(this.file(bucket, key)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    const ms = performance.now() - start;
    return { latencyMs: ms, ttfbMs: ms, bytes: 0 };
  }

  list(): Promise<ListPage> {
    throw new Error('raw disk has no listing');
  }

  multipart(): Promise<Timed> {
    throw new Error('raw disk has no multipart');
  }

  async removeBucket(bucket: string): Promise<void> {
    await Promise.all(this.dirs.map((d) => rm(join(d, bucket), { recursive: true, force: true })));
  }

  async close(): Promise<void> {}
}
