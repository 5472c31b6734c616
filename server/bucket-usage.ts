import type { Logger } from '../core/logger.js';
import type { ObjectLayer } from '../storage/object-layer.js';

export interface BucketUsage {
  readonly objects: number;
  readonly bytes: number;
}

export interface BucketUsageScanner {
  /** Per bucket, as of the last completed scan (empty until the first one finishes). */
  current(): ReadonlyMap<string, BucketUsage>;
  /** When the last scan finished (ms since epoch), 0 before the first. */
  lastScanAt(): number;
  stop(): Promise<void>;
}

/**
 * Bucket usage for `cairn_bucket_objects` / `cairn_bucket_bytes`, from a
 * periodic full listing (one page of 1000 keys at a time, the same call a
 * ListObjectsV2 makes). Counters kept by PUT/DELETE would be cheaper per scrape
 * but drift after crashes, overwrites and multipart completion, and cannot know
 * what was stored before the process started; a listing is always right as of
 * its end. Cost: one listing pass per interval (~2 M keys/s from LMDB), and the
 * figures are up to one interval old. The first scan starts at once.
 */
export function startBucketUsageScanner(
  objects: ObjectLayer,
  opts: { intervalMs: number; logger: Logger },
): BucketUsageScanner {
  let usage: ReadonlyMap<string, BucketUsage> = new Map();
  let lastAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const ac = new AbortController();

  const scanOnce = async () => {
    const next = new Map<string, BucketUsage>();
    for (const b of await objects.listBuckets({ signal: ac.signal })) {
      let count = 0;
      let bytes = 0;
      let after: string | undefined;
      for (;;) {
        const page = await objects.listObjects(b.name, { after, maxKeys: 1000, signal: ac.signal });
        for (const o of page.objects) {
          count++;
          bytes += o.size;
        }
        if (!page.isTruncated || page.nextAfter === undefined) break;
        after = page.nextAfter;
      }
      next.set(b.name, { objects: count, bytes });
    }
    usage = next;
    lastAt = Date.now();
  };

  const tick = () => {
    running = scanOnce()
      .catch((err: unknown) => {
        // A bucket deleted mid-scan or a drive hiccup: keep the previous figures, try next time.
        if (!ac.signal.aborted) opts.logger.warn({ err }, 'bucket usage scan failed');
      })
      .finally(() => {
        running = undefined;
        if (!ac.signal.aborted) timer = setTimeout(tick, opts.intervalMs).unref();
      });
  };
  timer = setTimeout(tick, 0).unref();

  return {
    current: () => usage,
    lastScanAt: () => lastAt,
    async stop() {
      ac.abort();
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
