/**
 * LIST: N keys written once (flat, zero-padded so the order is known), then each
 * worker walks the whole listing in pages of 1000 (ListObjectsV2), again and
 * again. Every page is one recorded op (its latency: request handed to the socket
 * → last response byte); walks give keys/s, the wall time of a walk (signing,
 * the XML scan and scheduling included), and a walk's server time: the sum of its
 * pages' exchange times, which leaves out the client's XML scan (timed apart).
 * Keys already there from an earlier run (a kept --bucket on --endpoint) are
 * listed as they are, so a 1M-key bucket is filled once.
 */
import { performance } from 'node:perf_hooks';
import { populate, record, type Workload, type WorkloadContext } from './types.js';

export const DEFAULT_LIST_KEYS = 10_000;
const PAGE = 1000;

export function listWorkload(): Workload {
  let keysListed = 0;
  const walks: number[] = [];
  /** Per walk: Σ page exchange times (request handed to the socket → last response byte), and Σ XML scan times. */
  const serverWalks: number[] = [];
  const scanWalks: number[] = [];
  let expected = 0;
  let short = 0;
  return {
    name: 'list',
    needs: ['put', 'list'],
    async prepare(ctx) {
      expected = ctx.opts.objects ?? DEFAULT_LIST_KEYS;
      const width = String(expected).length;
      const keys = Array.from({ length: expected }, (_, i) => `list/${String(i).padStart(width, '0')}`);
      if (await alreadyFilled(ctx, keys, `list/${String(expected).padStart(width, '0')}`)) {
        // A kept bucket (--endpoint with --bucket) from an earlier run: 1M PUTs take minutes.
        ctx.progress.phase(`reusing the ${expected} keys already in ${ctx.bucket}`);
        ctx.progress.end();
        return;
      }
      await populate(ctx, keys, ctx.opts.size);
    },
    async op(ctx) {
      const start = performance.now();
      let next: string | undefined;
      let keys = 0;
      let server = 0;
      let scan = 0;
      do {
        const after = next;
        const page = await record(ctx, 'LIST', () => ctx.store.list(ctx.bucket, 'list/', after, PAGE));
        if (!page) return; // recorded as an error; the walk is abandoned
        keys += page.keys;
        server += page.latencyMs;
        scan += page.scanMs;
        keysListed += page.keys;
        next = page.next;
      } while (next !== undefined);
      walks.push(performance.now() - start);
      serverWalks.push(server);
      scanWalks.push(scan);
      if (keys !== expected) {
        short++;
        ctx.rec.fail('LIST', new Error(`walk saw ${keys} keys, expected ${expected}`));
      }
    },
    extra(_ctx, elapsedS) {
      const pct = (values: number[]) => {
        const sorted = [...values].sort((a, b) => a - b);
        return (p: number) => (sorted.length ? Math.round(sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1))]! * 10) / 10 : 0);
      };
      const at = pct(walks);
      const server = pct(serverWalks);
      const scan = pct(scanWalks);
      return {
        keys: expected,
        walks: walks.length,
        wrongWalks: short,
        keysPerS: Math.round(keysListed / elapsedS),
        walkMs: { p50: at(50), p99: at(99), min: at(0) },
        walkServerMs: { p50: server(50), p99: server(99), min: server(0) },
        walkScanMs: { p50: scan(50), p99: scan(99) },
      };
    },
  };
}

/** First and last keys there, the next one not: the walk then checks the count exactly. */
async function alreadyFilled(ctx: WorkloadContext, keys: string[], past: string): Promise<boolean> {
  const exists = (key: string) => ctx.store.head(ctx.bucket, key).then(() => true, () => false);
  if (keys.length === 0 || !ctx.store.supports.has('head')) return false;
  return (await exists(keys[0]!)) && (await exists(keys[keys.length - 1]!)) && !(await exists(past));
}
