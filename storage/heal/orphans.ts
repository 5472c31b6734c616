import type { Logger } from '../../core/logger.js';
import type { Drive } from '../drive.js';
import { decodeListEntryLatin1 } from '../metadata-record.js';
import { keyAfter } from './walk.js';
import { yieldToLoop } from './progress.js';

/**
 * Orphan data dirs: `data/<2>/<uuid>/` that no record on the same drive
 * references. They are left by a process killed between the rename of its
 * shard files and the commit of the record, by a commit that lost the race
 * after its rename, or by a cleanup that failed. Each drive is judged on its
 * own records only: a drive's shard files are referenced by its own records.
 *
 * Memory: the referenced set holds every dataDir string the drive's object
 * and upload records name, ~N strings of 36 characters (roughly 100 bytes
 * each in a Set), so ~100 MB per million objects on the drive, for the
 * duration of one drive's pass. It is built before the directory listing,
 * and only dirs older than the grace period are candidates, so a write in
 * flight (younger than the grace) is never removed. A single PUT lasting
 * longer than the grace could be: keep the grace well above the longest
 * upload (default one hour).
 */

export interface OrphanResult {
  examined: number;
  removed: number;
  kept: number;
}

/** Every dataDir the drive's records (objects and multipart uploads) reference. */
export async function referencedDataDirs(drive: Drive, buckets: Iterable<string>, signal?: AbortSignal): Promise<Set<string>> {
  const refs = new Set<string>();
  const names = new Set(buckets);
  for (const b of drive.listBuckets()) names.add(b.name);
  for (const bucket of names) {
    // Batches of 1000 keys with the cursor closed in between (no read transaction kept open).
    let start: Buffer = Buffer.alloc(0);
    for (;;) {
      if (signal?.aborted) throw new Error('orphan scan aborted');
      let last: string | undefined;
      let n = 0;
      const it = drive.scanObjects(bucket, start, '')[Symbol.iterator]();
      try {
        for (let r = it.next(); !r.done; r = it.next()) {
          refs.add(decodeListEntryLatin1(r.value.value).dataDir);
          last = r.value.key;
          if (++n >= 1000) break;
        }
      } finally {
        it.return?.();
      }
      if (n < 1000 || last === undefined) break;
      start = keyAfter(last);
      await yieldToLoop();
    }
    // Uploads are few; one pass.
    for (const u of drive.scanUploads(bucket, Buffer.alloc(0), '')) refs.add(u.upload.dataDir);
  }
  return refs;
}

/** Remove the drive's data dirs older than `graceMs` that no record references. */
export async function removeOrphans(
  drive: Drive,
  buckets: Iterable<string>,
  o: { graceMs: number; now?: number; signal?: AbortSignal; logger?: Logger },
): Promise<OrphanResult> {
  const refs = await referencedDataDirs(drive, buckets, o.signal);
  const cutoff = (o.now ?? Date.now()) - o.graceMs;
  const out: OrphanResult = { examined: 0, removed: 0, kept: 0 };
  for await (const e of drive.listDataDirs()) {
    if (o.signal?.aborted) break;
    out.examined++;
    if (refs.has(e.dataDir) || e.modifiedMs > cutoff) {
      out.kept++;
      continue;
    }
    try {
      await drive.removeDataDir(e.dataDir);
      out.removed++;
      o.logger?.info({ drive: drive.path, dataDir: e.dataDir }, 'removed orphan data dir');
    } catch (err) {
      o.logger?.warn({ err, drive: drive.path, dataDir: e.dataDir }, 'orphan data dir removal failed');
    }
  }
  return out;
}
