/**
 * Mixed: GET 45 % / PUT 15 % / STAT 30 % / DELETE 10 % (warp's mix) over a pool of
 * live keys. A key is taken out of the pool before it is deleted and only when no
 * read of it is in flight, so a GET or HEAD never races its own DELETE into a 404.
 */
import { defaultObjects, populate, record, type Workload, type WorkloadContext } from './types.js';

const MIX: ReadonlyArray<readonly [string, number]> = [
  ['GET', 45],
  ['PUT', 15],
  ['STAT', 30],
  ['DELETE', 10],
];

function pick(): string {
  let r = Math.random() * 100;
  for (const [name, pct] of MIX) {
    if (r < pct) return name;
    r -= pct;
  }
  return 'GET';
}

class KeyPool {
  private readonly keys: string[] = [];
  private readonly readers = new Map<string, number>();

  get size(): number {
    return this.keys.length;
  }
  add(key: string): void {
    this.keys.push(key);
  }
  /** A random key with one more reader; release() when the read is done. */
  acquire(): string | undefined {
    const key = this.keys[Math.floor(Math.random() * this.keys.length)];
    if (key !== undefined) this.readers.set(key, (this.readers.get(key) ?? 0) + 1);
    return key;
  }
  release(key: string): void {
    const n = (this.readers.get(key) ?? 1) - 1;
    if (n <= 0) this.readers.delete(key);
    else this.readers.set(key, n);
  }
  /** Remove and return a random key nobody reads, if one is found in a few tries. */
  takeForDelete(): string | undefined {
    for (let attempt = 0; attempt < 8 && this.keys.length > 0; attempt++) {
      const i = Math.floor(Math.random() * this.keys.length);
      const key = this.keys[i]!;
      if (this.readers.has(key)) continue;
      this.keys[i] = this.keys[this.keys.length - 1]!;
      this.keys.pop();
      return key;
    }
    return undefined;
  }
}

export function mixedWorkload(): Workload {
  const pool = new KeyPool();
  let nextKey = 0;

  const put = async (ctx: WorkloadContext) => {
    const key = `mixed/${nextKey++}`;
    const t = await record(ctx, 'PUT', () => ctx.store.put(ctx.bucket, key, { size: ctx.opts.size, pattern: ctx.pattern }));
    if (t) {
      pool.add(key);
      ctx.written.add(key);
    }
  };

  return {
    name: 'mixed',
    needs: ['put', 'get', 'head', 'delete'],
    async prepare(ctx) {
      const n = ctx.opts.objects ?? defaultObjects(ctx.opts.size, ctx.opts.concurrency);
      const keys = Array.from({ length: n }, () => `mixed/${nextKey++}`);
      await populate(ctx, keys, ctx.opts.size);
      for (const k of keys) pool.add(k);
    },
    async op(ctx) {
      let kind = pick();
      // Keep enough keys for every worker to read something.
      if (kind === 'DELETE' && pool.size <= ctx.opts.concurrency * 2) kind = 'PUT';
      if (kind === 'PUT') return put(ctx);
      if (kind === 'DELETE') {
        const key = pool.takeForDelete();
        if (key === undefined) return put(ctx);
        await record(ctx, 'DELETE', () => ctx.store.delete(ctx.bucket, key));
        ctx.written.delete(key);
        return;
      }
      const key = pool.acquire();
      if (key === undefined) return put(ctx);
      try {
        if (kind === 'GET') await record(ctx, 'GET', () => ctx.store.get(ctx.bucket, key));
        else await record(ctx, 'STAT', async () => ({ ...(await ctx.store.head(ctx.bucket, key)), bytes: 0 }));
      } finally {
        pool.release(key);
      }
    },
  };
}
