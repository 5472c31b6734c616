import { describe, expect, it } from 'vitest';
import { Recorder } from '../stats.js';
import type { ListPage, Store, Timed } from '../store.js';
import { listWorkload } from './list.js';
import type { WorkloadContext } from './types.js';

/** A store that keeps key names in memory and lists them in pages, counting PUTs. */
function memoryStore(): Store & { keys: Set<string>; puts: number } {
  const t: Timed = { latencyMs: 1, ttfbMs: 1, bytes: 0 };
  const keys = new Set<string>();
  const store = {
    name: 'memory',
    supports: new Set(['put', 'head', 'list'] as const),
    keys,
    puts: 0,
    createBucket: async () => {},
    put: async (_b: string, key: string) => {
      store.puts++;
      keys.add(key);
      return t;
    },
    get: async () => t,
    head: async (_b: string, key: string) => {
      if (!keys.has(key)) throw new Error('404');
      return t;
    },
    delete: async () => t,
    list: async (_b: string, prefix: string, next: string | undefined, maxKeys: number): Promise<ListPage> => {
      const sorted = [...keys].filter((k) => k.startsWith(prefix) && (next === undefined || k > next)).sort();
      const page = sorted.slice(0, maxKeys);
      return { ...t, keys: page.length, scanMs: 0.5, ...(sorted.length > maxKeys ? { next: page.at(-1)! } : {}) };
    },
    multipart: async () => t,
    removeBucket: async () => {},
    close: async () => {},
  };
  return store;
}

function context(store: Store, objects: number): WorkloadContext {
  const progress = { phase: () => {}, tick: () => {}, end: () => {} };
  return {
    store,
    bucket: 'b',
    opts: { size: 0, concurrency: 1, durationS: 1, objects, partSize: 1 << 20, partConcurrency: 1, verify: false },
    pattern: Buffer.alloc(16),
    rec: new Recorder(),
    written: new Set(),
    progress,
  };
}

describe('LIST workload', () => {
  it('fills once, then reuses the keys a kept bucket already holds, and walks them all', async () => {
    const store = memoryStore();
    const first = listWorkload();
    const ctx1 = context(store, 2500);
    await first.prepare(ctx1);
    expect(store.puts).toBe(2500);
    expect(ctx1.written.size).toBe(2500);

    const again = listWorkload();
    const ctx2 = context(store, 2500);
    await again.prepare(ctx2);
    expect(store.puts).toBe(2500); // nothing written the second time
    expect(ctx2.written.size).toBe(0); // and nothing for the clean-up to remove
    await again.op(ctx2, 0, 0);
    expect(again.extra!(ctx2, 1)).toMatchObject({ keys: 2500, walks: 1, wrongWalks: 0 });
    expect((again.extra!(ctx2, 1) as { walkMs: { min: number } }).walkMs.min).toBeTypeOf('number');
    // Server time of a walk: the pages' exchange times summed (3 pages of 1 ms), the scans (0.5 ms each) apart.
    expect(again.extra!(ctx2, 1)).toMatchObject({ walkServerMs: { p50: 3, p99: 3 }, walkScanMs: { p50: 1.5 } });
  });

  it('fills again when the bucket holds a different key count', async () => {
    const store = memoryStore();
    await listWorkload().prepare(context(store, 150));
    // Same key width, first and last keys there, but list/120 too: not this count, so fill.
    await listWorkload().prepare(context(store, 120));
    expect(store.puts).toBe(270);
  });
});
