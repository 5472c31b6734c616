import type { Drive, ScanItem } from './drive.js';
import type { ErasureSet } from './erasure-set.js';
import { compareVersions, decodeListEntryLatin1, type ListEntry } from './metadata-record.js';
import { compareKeys, MultiCursor, successorOf, type Cursor } from './merge-cursor.js';
import type { ListObjectsOptions, ListObjectsResult, ObjectInfo } from './object-layer.js';

/**
 * ListObjects over all sets. A key is listed with the newest version that at
 * least the set's default read quorum (k) of its online drives hold. That is
 * correct with up to m drives missing or stale: a committed object sits on
 * ≥ write quorum ≥ k drives; a deleted or failed one on at most n − write
 * quorum < k. Sets hold disjoint keys, so the sets are merged by key alone.
 *
 * Per set only s = max(k, online − k + 1) online drives are scanned (k when
 * m < k, the usual case); the u = online − s others are asked by point lookup,
 * for a key only when their answers could change the verdict. Why that gives
 * the same result as scanning all drives: a version held by c of the scanned
 * drives is held by at most c + u of all. So if version v has c ≥ k among the
 * scanned drives and every newer version w has c_w + u < k, v is the newest
 * version with quorum overall; a version none of the scanned drives holds has
 * at most u < k holders (s was chosen for that), so no key is missed; and a
 * key whose versions all have c + u < k cannot be listed. Otherwise (a write
 * in progress, a failed or stale drive) the u drives are read for that key and
 * the rule is applied to all online drives.
 *
 * Scan entries are strings (Drive.scanObjects), so comparing drives is `===`
 * and only listed entries are decoded. Cost: one cursor seek per scanned drive
 * (and per common prefix), then about s entries per key; the keys skipped
 * (below quorum) per call are capped at maxKeys × drives, after which the
 * page ends early (truncated, continuing after the last key decided), so a
 * long run of leftovers cannot make one call unbounded.
 */

/** What a set cursor yields: a key to list, or the key where the work budget ran out. */
type Step = ListEntry | null;

/** Keys a listing call may still examine, shared by the sets' cursors. */
export interface Budget {
  left: number;
}

/** The sorted, quorum-checked list entries of one set. */
export class SetListCursor implements Cursor<Step> {
  private readonly scanned: Drive[];
  private readonly others: Drive[];
  private readonly quorum: number;
  private iters: Array<Iterator<ScanItem<string>>> = [];
  private heads: Array<ScanItem<string> | undefined> = [];
  /** Number of point lookups made (for tests and benchmarks). */
  lookups = 0;

  constructor(
    set: ErasureSet,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly budget: Budget,
  ) {
    const online = set.onlineDrives();
    const k = set.defaultReadQuorum;
    const s = Math.min(online.length, Math.max(k, online.length - k + 1));
    this.scanned = online.slice(0, s);
    this.others = online.slice(s);
    this.quorum = k;
  }

  seek(start: Buffer): void {
    this.close();
    this.iters = this.scanned.map((d) => d.scanObjects(this.bucket, start, this.prefix)[Symbol.iterator]());
    this.heads = this.iters.map((it) => {
      const r = it.next();
      return r.done ? undefined : r.value;
    });
  }

  next(): { key: string; value: Step } | undefined {
    const heads = this.heads;
    for (;;) {
      let key: string | undefined;
      for (const h of heads) if (h && (key === undefined || (h.key !== key && compareKeys(h.key, key) < 0))) key = h.key;
      if (key === undefined) return undefined;
      // The values the scanned drives hold for this key: usually all the same string.
      let first: string | undefined;
      let count = 0;
      let rest: string[] | undefined;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (!h || h.key !== key) continue;
        if (first === undefined || h.value === first) {
          first = h.value;
          count++;
        } else {
          (rest ??= []).push(h.value);
        }
        const r = this.iters[i]!.next();
        heads[i] = r.done ? undefined : r.value;
      }
      const u = this.others.length;
      if (rest === undefined && count >= this.quorum) return { key, value: decodeListEntryLatin1(first!) };
      if (rest !== undefined || count + u >= this.quorum) {
        const e = this.decide(key, [...new Array<string>(count).fill(first!), ...(rest ?? [])]);
        if (e) return { key, value: e };
      }
      // Skipped (below quorum). Out of budget: report this key, decided, as where to resume.
      if (--this.budget.left < 0) return { key, value: null };
    }
  }

  /** The general rule, reading the unscanned drives when their answers could matter. */
  private decide(key: string, values: string[]): ListEntry | undefined {
    const u = this.others.length;
    let groups = groupEntries(values);
    const best = groups.find((g) => g.n >= this.quorum);
    const certain = best !== undefined && groups.every((g) => g === best || compareVersions(g.entry, best.entry) < 0 || g.n + u < this.quorum);
    if (certain) return best.entry;
    if (!best && groups.every((g) => g.n + u < this.quorum)) return undefined;
    this.lookups++;
    const all = [...values];
    for (const d of this.others) {
      try {
        const v = d.getListEntry(this.bucket, key);
        if (v !== undefined) all.push(v);
      } catch {
        // An unreadable drive holds nothing as far as quorum goes.
      }
    }
    groups = groupEntries(all);
    return groups.find((g) => g.n >= this.quorum)?.entry;
  }

  close(): void {
    for (const it of this.iters) it.return?.();
    this.iters = [];
    this.heads = [];
  }
}

/** Distinct versions among raw entries with their holder counts, newest first. */
function groupEntries(values: string[]): Array<{ entry: ListEntry; n: number }> {
  const raw = new Map<string, number>();
  for (const v of values) raw.set(v, (raw.get(v) ?? 0) + 1);
  const out: Array<{ entry: ListEntry; n: number }> = [];
  for (const [v, n] of raw) {
    const entry = decodeListEntryLatin1(v);
    // Equal versions encode equally today; merge anyway in case an encoding changes.
    const same = out.find((g) => compareVersions(g.entry, entry) === 0);
    if (same) same.n += n;
    else out.push({ entry, n });
  }
  return out.sort((a, b) => compareVersions(b.entry, a.entry));
}

export function listObjectsInSets(sets: ErasureSet[], bucket: string, o: ListObjectsOptions): ListObjectsResult {
  const prefix = o.prefix ?? '';
  const delimiter = o.delimiter || undefined;
  const maxKeys = Math.max(0, Math.min(1000, o.maxKeys ?? 1000));
  const result: ListObjectsResult = { objects: [], commonPrefixes: [], isTruncated: false };
  if (maxKeys === 0) return result;

  const drives = sets.reduce((n, s) => n + s.n, 0);
  const budget: Budget = { left: maxKeys * Math.max(drives, 1) };
  const cursor = new MultiCursor(sets.map((set) => new SetListCursor(set, bucket, prefix, budget)));

  const after = o.after;
  let start: Buffer = Buffer.from(prefix, 'utf8');
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
    // Keys come in order from `start`: once one is past `after`, all the rest are.
    let pastAfter = after === undefined;
    for (let item = cursor.next(); item; item = cursor.next()) {
      if (!pastAfter) {
        if (compareKeys(item.key, after!) <= 0) continue;
        pastAfter = true;
      }
      const cpIdx = delimiter ? item.key.indexOf(delimiter, prefix.length) : -1;
      if (item.value === null) {
        // Out of budget: end the page here, to be continued after this key. Not on a key that
        // is itself a common prefix, which as a marker would skip everything under it.
        if (cpIdx >= 0 && cpIdx + delimiter!.length === item.key.length) continue;
        result.isTruncated = true;
        result.nextAfter = item.key;
        break;
      }
      if (count === maxKeys) {
        result.isTruncated = true;
        break;
      }
      if (cpIdx >= 0) {
        const cp = item.key.slice(0, cpIdx + delimiter!.length);
        result.commonPrefixes.push(cp);
        result.nextAfter = cp;
        count++;
        cursor.seek(successorOf(cp));
        continue;
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

/**
 * Listing returns what S3 lists; headers, user metadata and checksums need a HEAD.
 * Their empty objects are shared by every listed key (frozen: a page is 1000 keys,
 * and per-key allocations are a tenth of listing's CPU in garbage collection).
 */
const NONE = Object.freeze({});

function listInfo(bucket: string, key: string, e: ListEntry): ObjectInfo {
  return {
    bucket,
    key,
    versionId: e.versionId,
    size: e.size,
    etag: e.etag,
    modTime: new Date(e.modTime),
    headers: NONE,
    userMetadata: NONE,
    storageClass: e.storageClass,
    checksums: NONE,
  };
}
