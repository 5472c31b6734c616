/**
 * Baseline: Cairn's storage pipeline without HTTP — openObjectLayer() on the same
 * drives, putObject/getObject from this process with the same sizes and
 * concurrency. MD5, erasure coding, bitrot framing, shard writes and metadata
 * commits all happen; sockets, SigV4, routing and XML do not. This is the ceiling
 * the server's PUT path is measured against.
 */
import { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { BodySource } from '../client.js';
import { openObjectLayer } from '../../storage/index.js';
import type { ObjectLayer } from '../../storage/object-layer.js';
import { BenchCorruption, type ListPage, type Store, type Timed } from '../store.js';

/** A stream of `size` bytes made of views of the pattern: no copies, no allocation per chunk. */
export function patternStream(body: BodySource): Readable {
  let left = body.size;
  return new Readable({
    highWaterMark: body.pattern.length,
    read() {
      if (left === 0) return void this.push(null);
      const n = Math.min(left, body.pattern.length);
      left -= n;
      this.push(n === body.pattern.length ? body.pattern : body.pattern.subarray(0, n));
    },
  });
}

export class InProcessStore implements Store {
  readonly name = 'in-process';
  readonly supports = new Set(['put', 'get', 'head', 'delete', 'list', 'multipart'] as const);
  readonly pid = process.pid;

  private constructor(private readonly objects: ObjectLayer) {}

  static async open(drives: string[], parity?: number): Promise<InProcessStore> {
    return new InProcessStore(await openObjectLayer({ drives, ...(parity !== undefined ? { standardParity: parity } : {}) }));
  }

  async createBucket(bucket: string): Promise<void> {
    await this.objects.makeBucket(bucket);
  }

  async put(bucket: string, key: string, body: BodySource): Promise<Timed> {
    const start = performance.now();
    await this.objects.putObject(bucket, key, patternStream(body), { size: body.size });
    const ms = performance.now() - start;
    return { latencyMs: ms, ttfbMs: ms, bytes: body.size };
  }

  async get(bucket: string, key: string, verify?: { pattern: Buffer; bytes: number }): Promise<Timed> {
    const start = performance.now();
    const { stream } = await this.objects.getObject(bucket, key);
    let ttfbMs = 0;
    let bytes = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (bytes === 0) {
        ttfbMs = performance.now() - start;
        if (verify) {
          const n = Math.min(chunk.length, verify.bytes, verify.pattern.length);
          if (chunk.compare(verify.pattern, 0, n, 0, n) !== 0) throw new BenchCorruption(`${key}: bytes differ`);
        }
      }
      bytes += chunk.length;
    }
    return { latencyMs: performance.now() - start, ttfbMs, bytes };
  }

  async head(bucket: string, key: string): Promise<Timed> {
    const start = performance.now();
    await this.objects.headObject(bucket, key);
    const ms = performance.now() - start;
    return { latencyMs: ms, ttfbMs: ms, bytes: 0 };
  }

  async delete(bucket: string, key: string): Promise<Timed> {
    const start = performance.now();
    await this.objects.deleteObject(bucket, key);
    const ms = performance.now() - start;
    return { latencyMs: ms, ttfbMs: ms, bytes: 0 };
  }

  async list(bucket: string, prefix: string, next: string | undefined, maxKeys: number): Promise<ListPage> {
    const start = performance.now();
    const r = await this.objects.listObjects(bucket, { prefix, maxKeys, ...(next !== undefined ? { after: next } : {}) });
    const ms = performance.now() - start;
    return { latencyMs: ms, ttfbMs: ms, bytes: 0, keys: r.objects.length, scanMs: 0, ...(r.isTruncated && r.nextAfter !== undefined ? { next: r.nextAfter } : {}) };
  }

  async multipart(bucket: string, key: string, body: BodySource, partSize: number, partConcurrency: number): Promise<Timed> {
    const start = performance.now();
    const up = await this.objects.createMultipartUpload(bucket, key);
    const ttfbMs = performance.now() - start;
    const parts = Math.max(1, Math.ceil(body.size / partSize));
    const etags: string[] = new Array<string>(parts);
    let next = 0;
    const worker = async () => {
      while (next < parts) {
        const i = next++;
        const size = Math.min(partSize, body.size - i * partSize);
        const p = await this.objects.putObjectPart(bucket, key, up.uploadId, i + 1, patternStream({ size, pattern: body.pattern }), { size });
        etags[i] = p.etag;
      }
    };
    await Promise.all(Array.from({ length: Math.min(partConcurrency, parts) }, worker));
    await this.objects.completeMultipartUpload(bucket, key, up.uploadId, etags.map((etag, i) => ({ partNumber: i + 1, etag })));
    return { latencyMs: performance.now() - start, ttfbMs, bytes: body.size };
  }

  async removeBucket(): Promise<void> {}

  async close(): Promise<void> {
    await this.objects.close();
  }
}
