import type { ErasureSet } from './erasure-set.js';
import { compareVersions, decodeListEntry, type ListEntry } from './metadata-record.js';
import { compareKeys, MergeCursor, MultiCursor, successorOf } from './merge-cursor.js';
import type { ListObjectsOptions, ListObjectsResult, ObjectInfo } from './object-layer.js';

/**
 * ListObjects over all sets. Per set, the drives' `objlist` scans are merged
 * and a key is listed when at least the set's default read quorum (k) of
 * drives hold the same version (newest such version wins). That is correct
 * with up to m drives missing or stale: a committed object sits on ≥ write
 * quorum ≥ k drives; a deleted or failed one on at most n − write quorum < k.
 * Sets hold disjoint keys, so the sets are merged by key alone. Cost is one
 * cursor seek per drive plus the page (and one seek per common prefix).
 */

/**
 * Entries of one key from the answering drives: the newest version at least
 * `quorum` of them hold. Equal versions encode to equal bytes, so the drives
 * are grouped by raw bytes and only distinct entries are decoded (usually one).
 */
export function pickListEntry(quorum: number) {
  return (values: Buffer[]): ListEntry | undefined => {
    if (values.length < quorum) return undefined;
    const groups: Array<{ raw: Buffer; n: number }> = [];
    for (const v of values) {
      const g = groups.find((x) => x.raw.equals(v));
      if (g) g.n++;
      else groups.push({ raw: v, n: 1 });
    }
    let best: ListEntry | undefined;
    for (const g of groups) {
      if (g.n < quorum) continue;
      const e = decodeListEntry(g.raw);
      if (!best || compareVersions(e, best) > 0) best = e;
    }
    return best;
  };
}

export function listObjectsInSets(sets: ErasureSet[], bucket: string, o: ListObjectsOptions): ListObjectsResult {
  const prefix = o.prefix ?? '';
  const delimiter = o.delimiter || undefined;
  const maxKeys = Math.max(0, Math.min(1000, o.maxKeys ?? 1000));
  const result: ListObjectsResult = { objects: [], commonPrefixes: [], isTruncated: false };
  if (maxKeys === 0) return result;

  const cursor = new MultiCursor(
    sets.map(
      (set) =>
        new MergeCursor<Buffer, ListEntry>(
          set.drives.map((d) => (d ? { open: (start: Buffer) => d.scanObjects(bucket, start, prefix) } : null)),
          pickListEntry(set.defaultReadQuorum),
        ),
    ),
  );

  const after = o.after;
  let start: Buffer = Buffer.from(prefix, "utf8");
  if (after !== undefined && compareKeys(after, prefix) >= 0) {
    start = Buffer.from(after, 'utf8');
    // `after` naming a common prefix (a previous page's nextAfter): skip all of it.
    if (delimiter && after.startsWith(prefix)) {
      const idx = after.indexOf(delimiter, prefix.length);
      if (idx >= 0 && idx + delimiter.length === after.length) start = successorOf(after);
    }
  }

  try {
    cursor.seek(start);
    let count = 0;
    for (let item = cursor.next(); item; item = cursor.next()) {
      if (after !== undefined && compareKeys(item.key, after) <= 0) continue;
      if (count === maxKeys) {
        result.isTruncated = true;
        break;
      }
      if (delimiter) {
        const idx = item.key.indexOf(delimiter, prefix.length);
        if (idx >= 0) {
          const cp = item.key.slice(0, idx + delimiter.length);
          result.commonPrefixes.push(cp);
          result.nextAfter = cp;
          count++;
          cursor.seek(successorOf(cp));
          continue;
        }
      }
      result.objects.push(listInfo(bucket, item.key, item.value));
      result.nextAfter = item.key;
      count++;
    }
  } finally {
    cursor.close();
  }
  if (!result.isTruncated) delete result.nextAfter;
  return result;
}

function listInfo(bucket: string, key: string, e: ListEntry): ObjectInfo {
  // Listing returns what S3 lists; headers, user metadata and checksums need a HEAD.
  return {
    bucket,
    key,
    versionId: e.versionId,
    size: e.size,
    etag: e.etag,
    modTime: new Date(e.modTime),
    headers: {},
    userMetadata: {},
    storageClass: e.storageClass,
    checksums: {},
  };
}
