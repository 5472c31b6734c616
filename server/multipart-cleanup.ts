import type { Logger } from '../core/logger.js';
import type { ObjectLayer } from '../storage/object-layer.js';

/**
 * Aborts multipart uploads older than `expiryMs`, so abandoned parts do not
 * hold disk forever (AWS leaves this to a lifecycle rule; Cairn does it by
 * default, as MinIO does). Runs every `intervalMs` through the ObjectLayer's
 * public calls only. One sweep at a time; a sweep that fails is logged and
 * retried at the next tick.
 */

export interface MultipartCleanupOptions {
  expiryMs: number;
  intervalMs: number;
  logger: Logger;
  /** Injected clock for tests. */
  now?: () => number;
}

export interface MultipartCleanup {
  /** One pass over every bucket; resolves to the number of uploads aborted. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

export function startMultipartCleanup(objects: ObjectLayer, opts: MultipartCleanupOptions): MultipartCleanup {
  const now = opts.now ?? Date.now;
  const ac = new AbortController();
  let running: Promise<number> | undefined;

  async function sweepOnce(): Promise<number> {
    const cutoff = now() - opts.expiryMs;
    const signal = ac.signal;
    let aborted = 0;
    for (const bucket of await objects.listBuckets({ signal })) {
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      for (;;) {
        const page = await objects.listMultipartUploads(bucket.name, {
          ...(keyMarker !== undefined ? { keyMarker } : {}),
          ...(uploadIdMarker !== undefined ? { uploadIdMarker } : {}),
          maxUploads: 1000,
          signal,
        });
        for (const u of page.uploads) {
          if (u.initiated.getTime() >= cutoff) continue;
          try {
            await objects.abortMultipartUpload(bucket.name, u.key, u.uploadId, { signal });
            aborted++;
          } catch (err) {
            // Completed or aborted meanwhile: nothing to do.
            if ((err as { code?: string }).code !== 'UploadNotFound') throw err;
          }
        }
        if (!page.isTruncated || page.nextKeyMarker === undefined) break;
        keyMarker = page.nextKeyMarker;
        uploadIdMarker = page.nextUploadIdMarker;
      }
      if (signal.aborted) break;
    }
    if (aborted > 0) opts.logger.info({ aborted, expiryMs: opts.expiryMs }, 'aborted expired multipart uploads');
    return aborted;
  }

  function sweep(): Promise<number> {
    running ??= sweepOnce().finally(() => (running = undefined));
    return running;
  }

  const timer = setInterval(() => {
    sweep().catch((err: unknown) => {
      if (!ac.signal.aborted) opts.logger.warn({ err }, 'multipart cleanup failed');
    });
  }, opts.intervalMs);
  timer.unref();

  return {
    sweep,
    async stop() {
      clearInterval(timer);
      ac.abort();
      await running?.catch(() => undefined);
    },
  };
}
