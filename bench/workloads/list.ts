/**
 * LIST: N keys written once (flat, zero-padded so the order is known), then each
 * worker walks the whole listing in pages of 1000 (ListObjectsV2), again and
 * again. Every page is one recorded op, so page latency percentiles are the
 * per-page server time seen from loopback; walks give keys/s and walk time.
 */
import { performance } from 'node:perf_hooks';
import { populate, record, type Workload } from './types.js';

export const DEFAULT_LIST_KEYS = 10_000;
const PAGE = 1000;

export function listWorkload(): Workload {
  let keysListed = 0;
  const walks: number[] = [];
  let expected = 0;
  let short = 0;
  return {
    name: 'list',
    needs: ['put', 'list'],
    async prepare(ctx) {
      expected = ctx.opts.objects ?? DEFAULT_LIST_KEYS;
      const width = String(expected).length;
      await populate(ctx, Array.from({ length: expected }, (_, i) => `list/${String(i).padStart(width, '0')}`), ctx.opts.size);
    },
    async op(ctx) {
      const start = performance.now();
      let next: string | undefined;
      let keys = 0;
      do {
        const after = next;
        const page = await record(ctx, 'LIST', () => ctx.store.list(ctx.bucket, 'list/', after, PAGE));
        if (!page) return; // recorded as an error; the walk is abandoned
        keys += page.keys;
        keysListed += page.keys;
        next = page.next;
      } while (next !== undefined);
      walks.push(performance.now() - start);
      if (keys !== expected) {
        short++;
        ctx.rec.fail('LIST', new Error(`walk saw ${keys} keys, expected ${expected}`));
      }
    },
    extra(_ctx, elapsedS) {
      const sorted = [...walks].sort((a, b) => a - b);
      const at = (p: number) => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! * 10) / 10 : 0);
      return {
        keys: expected,
        walks: walks.length,
        wrongWalks: short,
        keysPerS: Math.round(keysListed / elapsedS),
        walkMs: { p50: at(50), p99: at(99), min: at(0) },
      };
    },
  };
}
