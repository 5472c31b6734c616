import { randomUUID } from 'node:crypto';
import { Readable, type Transform, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { Logger } from '../core/logger.js';
import type { BitrotAlgorithm, ErasureCodec, ErasureLayout, ShardReader, ShardWriter } from '../erasure/types.js';
import { AdaptiveSink } from './adaptive-sink.js';
import { CheckedDrive, driveOnline, type DriveStateChange } from './checked-drive.js';
import { BodyHasher } from './body-hasher.js';
import type { Drive, RemovedUpload } from './drive.js';
import { createErasureReader, createErasureWriter, getCodec, MemoryShardReader, translateError } from './erasure-api.js';
import { decodeInlineShards, encodeInlineShards, fitsOneStripe } from './inline-shards.js';
import { readSmallBody } from './small-body.js';
import { MemoryBody } from './memory-body.js';
import { ObjectLayerError, readQuorumNotReached, writeQuorumNotReached } from './errors.js';
import {
  compareVersions,
  decodeObjectRecord,
  objectRecordBody,
  objectRecordInline,
  prepareObjectRecord,
  sameVersion,
  type ObjectPartRecord,
  type ObjectRecord,
} from './metadata-record.js';
import type { ByteRange, ChecksumRequest, ObjectInfo, WriteConditions } from './object-layer.js';
import { settle, writeQuorumOf } from './quorum.js';
import { sseInfoOf } from './sse-pipeline.js';
import { parityFor, type ParityConfig } from './storage-class.js';
import type { HealReason, HealSink } from './heal/types.js';

/**
 * One erasure set: n drive slots, quorum over them. Writes stream shards to
 * every online slot, rename them into place, then commit the metadata record
 * on each drive; reads resolve the record by quorum and decode from k shards.
 */

export interface SetOptions {
  index: number;
  drives: Array<Drive | null>;
  paths: string[];
  states: Array<'online' | 'offline' | 'healing'>;
  parity: ParityConfig;
  blockSize: number;
  inlineThreshold: number;
  codec: ErasureCodec;
  bitrot: BitrotAlgorithm;
  logger?: Logger;
  /** Told about every object found or left below full redundancy (storage/heal queues it). */
  heal?: HealSink;
}

export interface Resolved {
  rec: ObjectRecord;
  /** Per slot: the drive's record when it agrees with `rec`. */
  agreeing: Array<ObjectRecord | undefined>;
  /** Reading stopped early: slots not read are absent from `agreeing` though they may agree. */
  partial?: boolean;
}

export interface WrittenData {
  size: number;
  md5: Buffer;
  checksum?: string;
  /** Per slot framed shard bytes, when the body went inline. */
  inline?: Array<Buffer | undefined>;
  /** Slots holding the data (renamed into data/ for streamed bodies). */
  slots: number[];
}

/**
 * resolveSettled: how long to wait before reading again when the drives that answered
 * disagree so that no version reaches k (a concurrent overwrite committing between them).
 */
const SETTLE_RETRY_MS = 10;

/** Beyond this many parts, shard fds are opened part by part as the read reaches them. */
const EAGER_PART_FDS = 16;

export const objectInfoOf = (bucket: string, key: string, r: ObjectRecord): ObjectInfo => ({
  bucket,
  key,
  versionId: r.versionId,
  size: r.size,
  etag: r.etag,
  modTime: new Date(r.modTime),
  headers: r.headers,
  userMetadata: r.userMetadata,
  storageClass: r.storageClass,
  checksums: r.checksums,
  ...(r.checksumType ? { checksumType: r.checksumType } : {}),
  ...(r.sse ? { sse: sseInfoOf(r.sse)! } : {}),
  ...(r.parts.length > 1 || /-\d+$/.test(r.etag)
    ? {
        parts: r.parts.map((p) => ({
          partNumber: p.number,
          size: p.size,
          etag: p.etag,
          modTime: new Date(p.modTime),
          checksums: p.checksums,
        })),
      }
    : {}),
});


/** slotsByShard(layout)[shard] = the slot holding that shard (inverse of distribution). */
export function slotsByShard(layout: ErasureLayout): number[] {
  const out = new Array<number>(layout.distribution.length);
  layout.distribution.forEach((shard, slot) => (out[shard] = slot));
  return out;
}

let lastModTime = 0;
/** Sub-millisecond wall clock, strictly increasing within this process. */
export function nextModTime(after = 0): number {
  const now = performance.timeOrigin + performance.now();
  lastModTime = Math.max(now, lastModTime + 0.001, after + 0.001);
  return lastModTime;
}

export class ErasureSet {
  readonly n: number;
  readonly index: number;
  readonly drives: Array<Drive | null>;
  private readonly driveListeners = new Set<(slot: number, change: DriveStateChange) => void>();

  constructor(readonly opts: SetOptions) {
    this.n = opts.drives.length;
    this.index = opts.index;
    this.drives = opts.drives;
    // One log line per transition, never one per request.
    this.drives.forEach((d, slot) => {
      if (!(d instanceof CheckedDrive)) return;
      d.onStateChange((c) => {
        const where = { set: this.index + 1, slot: slot + 1, drive: d.path, reason: c.reason, err: c.error };
        for (const fn of this.driveListeners) fn(slot, c);
        if (c.state === 'online') {
          // A drive that was offline at start has no format state of its own: it now serves.
          if (this.opts.states[slot] === 'offline') this.opts.states[slot] = 'online';
          this.opts.logger?.info(where, 'drive back online');
        } else {
          this.opts.logger?.warn(where, c.reason === 'replaced' ? 'drive replaced; stays offline until healed' : 'drive offline');
        }
      });
    });
  }

  /**
   * Health transitions of the set's drives: offline (io-error, timeout, root-missing),
   * back online (probe-ok), or 'replaced' (a blank or foreign drive at the path, which
   * stays offline: the healer formats and rebuilds it). Returns the unsubscribe function.
   */
  onDriveStateChange(fn: (slot: number, change: DriveStateChange) => void): () => void {
    this.driveListeners.add(fn);
    return () => this.driveListeners.delete(fn);
  }

  /** Whether the slot's drive serves now (present and, when health-checked, online). */
  isOnline(slot: number): boolean {
    return driveOnline(this.drives[slot]);
  }

  /** Rebuild state for topology (the healer sets it while it rebuilds a replaced drive). */
  setHealing(slot: number, healing: boolean): void {
    if (slot < 0 || slot >= this.n) return;
    this.opts.states[slot] = healing ? 'healing' : 'online';
  }

  get defaultReadQuorum(): number {
    return this.n - this.opts.parity.standard;
  }

  get defaultWriteQuorum(): number {
    const k = this.n - this.opts.parity.standard;
    return writeQuorumOf(k, this.opts.parity.standard);
  }

  layoutFor(storageClass: string | undefined, distribution: number[]): ErasureLayout {
    const m = parityFor(this.opts.parity, storageClass);
    return {
      dataShards: this.n - m,
      parityShards: m,
      blockSize: this.opts.blockSize,
      codec: this.opts.codec.id,
      bitrot: this.opts.bitrot,
      distribution,
    };
  }

  /** Report an object below full redundancy to the healer (never throws). */
  queueHeal(bucket: string, key: string, reason: HealReason): void {
    try {
      this.opts.heal?.queue(bucket, key, reason);
    } catch (err) {
      this.opts.logger?.warn({ err, bucket, key }, 'heal queue failed');
    }
  }

  /** The drives serving now (in slot order). */
  onlineDrives(): Drive[] {
    return this.drives.filter(driveOnline);
  }

  private slotsOnline(): number[] {
    const out: number[] = [];
    this.drives.forEach((d, i) => driveOnline(d) && out.push(i));
    return out;
  }

  /**
   * The newest version that at least its read quorum (k) of drives agree on,
   * falling back to older agreeing versions. Undefined when enough drives say
   * "no such object"; ReadQuorumNotReached when too few drives answered.
   * Each drive is read once (raw bytes); drives are grouped by the record body
   * bytes, which all drives of one write share, so usually one record is
   * decoded instead of n. Groups of the same version (a record re-encoded by a
   * rollback, or v1 records) are merged after decoding. `distribution` (the
   * key's placement) puts the data-shard slots first, and reading stops once
   * the drives read agree and the rest could not change the answer.
   */
  resolve(bucket: string, key: string, distribution?: number[]): Resolved | undefined {
    const r = this.tryResolve(bucket, key, distribution);
    if ('error' in r) throw r.error;
    return r.resolved;
  }

  /**
   * resolve(), but when the drives that answered (at least k) split into several versions
   * none of which reaches k, read once more after a few ms: with exactly k drives readable a
   * concurrent overwrite commits on them one after the other, and a read landing between the
   * commits would otherwise fail with ReadQuorumNotReached although the object is fine.
   */
  resolveSettled(bucket: string, key: string, distribution?: number[]): Promise<Resolved | undefined> {
    // Not async: the common answer (agreement at the first read) costs no extra async frame.
    let first: ReturnType<ErasureSet['tryResolve']>;
    try {
      first = this.tryResolve(bucket, key, distribution);
    } catch (err) {
      return Promise.reject(err);
    }
    if (!('error' in first)) return Promise.resolve(first.resolved);
    if (!first.split) return Promise.reject(first.error);
    return new Promise((resolve) => setTimeout(resolve, SETTLE_RETRY_MS)).then(() => this.resolve(bucket, key, distribution));
  }

  private tryResolve(
    bucket: string,
    key: string,
    distribution?: number[],
  ): { resolved: Resolved | undefined } | { error: unknown; split: boolean } {
    const raws: Array<Buffer | undefined> = [];
    let missing = 0;
    const groups: Array<{ body: Buffer | undefined; rec: ObjectRecord; slots: number[] }> = [];
    // Slots of data shards first (the layout's distribution, as in the placement of new
    // writes), so an early stop still has what an inline read decodes from.
    const order = this.readOrder(distribution);
    let partial = false;
    for (let j = 0; j < order.length; j++) {
      const slot = order[j]!;
      const d = this.drives[slot];
      // An offline drive is skipped without a call (and without a warning per request).
      if (!driveOnline(d)) continue;
      let raw: Buffer | undefined;
      try {
        raw = d.getObjectRaw(bucket, key);
        if (raw === undefined) missing++;
        if (!raw) continue;
        const body = objectRecordBody(raw);
        const g = body && groups.find((x) => x.body?.equals(body));
        if (g) g.slots.push(slot);
        else groups.push({ body, rec: decodeObjectRecord(raw), slots: [slot] });
        raws[slot] = raw;
        // All read so far agree on one version and the unread drives cannot give another
        // version k holders (n − c < k): the answer cannot change, stop reading.
        if (groups.length === 1 && missing === 0) {
          const c = groups[0]!.slots.length;
          const k = groups[0]!.rec.layout.dataShards;
          if (c === j + 1 && c >= k && this.n - c < k) {
            partial = j + 1 < order.length;
            break;
          }
        }
      } catch (err) {
        this.opts.logger?.warn({ err, drive: d?.path }, 'metadata read failed');
      }
    }
    // Merge groups holding the same version, newest first.
    const versions: Array<{ rec: ObjectRecord; slots: number[] }> = [];
    for (const g of groups) {
      const v = versions.find((x) => sameVersion(x.rec, g.rec));
      if (v) v.slots.push(...g.slots);
      else versions.push({ rec: g.rec, slots: [...g.slots] });
    }
    versions.sort((a, b) => compareVersions(b.rec, a.rec));
    for (const v of versions) {
      if (v.slots.length < v.rec.layout.dataShards) continue;
      // v.rec was decoded from the raw record of v.slots[0], its inline bytes included: that
      // slot gets it as is. Other slots get a copy with their own inline bytes, and slots
      // without any a copy without; a record without inline bytes is shared by every slot
      // (copies of a decoded record showed in profiles of small GETs).
      const first = v.slots[0]!;
      const agreeing: Array<ObjectRecord | undefined> = new Array(this.n).fill(undefined);
      let bare: ObjectRecord | undefined = v.rec.inline === undefined ? v.rec : undefined;
      let anyInline = false;
      for (const slot of v.slots) {
        const inl = slot === first ? v.rec.inline : objectRecordInline(raws[slot]!);
        if (inl) {
          anyInline = true;
          agreeing[slot] = slot === first ? v.rec : { ...v.rec, inline: inl };
        } else {
          if (!bare) {
            const { inline: _inline, ...rest } = v.rec;
            bare = rest;
          }
          agreeing[slot] = bare;
        }
      }
      const chosen = anyInline ? agreeing[first]! : bare!;
      return { resolved: partial ? { rec: chosen, agreeing, partial } : { rec: chosen, agreeing } };
    }
    if (missing >= this.defaultReadQuorum) return { resolved: undefined };
    // Enough drives answered but they split (several versions, or a version and "none"): a
    // write committing between them, worth one more look (resolveSettled).
    const answered = versions.reduce((n, v) => n + v.slots.length, 0) + missing;
    const answers = versions.length + (missing > 0 ? 1 : 0);
    return {
      error: readQuorumNotReached(this.n - missing, this.defaultReadQuorum),
      split: answers > 1 && answered >= this.defaultReadQuorum,
    };
  }

  /** Every online drive's record of the key, where it is the version of `rec`. */
  agreeingSlots(bucket: string, key: string, rec: ObjectRecord): Array<ObjectRecord | undefined> {
    return this.drives.map((d) => {
      if (!driveOnline(d)) return undefined;
      try {
        const raw = d.getObjectRaw(bucket, key);
        const r = raw && decodeObjectRecord(raw);
        return r && sameVersion(r, rec) ? r : undefined;
      } catch {
        return undefined;
      }
    });
  }

  /** Slots in the order reads should try them: those of the key's data shards first. */
  private readOrder(distribution: number[] | undefined): number[] {
    if (!distribution || distribution.length !== this.n) return Array.from({ length: this.n }, (_, i) => i);
    return slotsByShard({ distribution } as ErasureLayout);
  }

  /**
   * The greatest modification time any online drive holds for the key (from
   * the small list entry), so a new write's modTime can be made greater
   * without resolving the record by quorum. Unreadable drives are skipped:
   * their record, if any, is the one the write replaces anyway.
   */
  latestModTime(bucket: string, key: string): number | undefined {
    let max: number | undefined;
    for (const d of this.drives) {
      if (!driveOnline(d)) continue;
      try {
        const t = d.getModTime(bucket, key);
        if (t !== undefined && (max === undefined || t > max)) max = t;
      } catch {
        // skipped, see above
      }
    }
    return max;
  }

  /**
   * Stream `body` through hashing and the erasure writer into tmp shard files
   * `<tmpId>/<file>` on every online slot, fsync, verify digests, then rename
   * into data dir `dataDir` (unless inline). On any failure nothing is left.
   */
  async writeData(
    body: Readable,
    layout: ErasureLayout,
    target: { tmpId: string; file: string; dataDir: string; intoExisting: boolean },
    o: {
      size?: number;
      maxSize: number;
      contentMd5?: string;
      checksum?: ChecksumRequest;
      allowInline: boolean;
      /** SSE: plaintext → ciphertext, between hashing and erasure coding (storage/sse-pipeline.ts). */
      encrypt?: { stream: Transform; storedSize(plainSize: number): number };
      signal?: AbortSignal;
    },
  ): Promise<WrittenData & { hasher: BodyHasher }> {
    const writeQuorum = writeQuorumOf(layout.dataShards, layout.parityShards);
    const online = this.slotsOnline();
    if (online.length < writeQuorum) throw writeQuorumNotReached(online.length, writeQuorum);
    const codec = getCodec(layout.codec);
    const hasher = new BodyHasher(o.size, o.maxSize, o.checksum);
    const inlineMax = Math.min(this.opts.inlineThreshold, layout.blockSize);
    const stored = o.size === undefined ? undefined : o.encrypt ? o.encrypt.storedSize(o.size) : o.size;
    const inlineOk = o.allowInline && (stored === undefined || stored <= inlineMax);
    /** Framed shard bytes per slot (undefined for offline slots), written nowhere but the records. */
    const inlineResult = async (data: Buffer) => {
      const byShard = await encodeInlineShards(layout, codec, data);
      const inline = layout.distribution.map((shard, slot) => (online.includes(slot) ? byShard[shard] : undefined));
      return { size: hasher.bytes, md5: hasher.md5Bytes, checksum: hasher.checksumValue, inline, slots: online, hasher };
    };
    if (inlineOk && o.size !== undefined && !o.encrypt) {
      // Declared small: read it whole (bounded by the declared size) and skip the stream machinery.
      try {
        const data = await readSmallBody(body, (c) => hasher.feed(c), o.signal);
        hasher.finishBody();
        hasher.verify(o.contentMd5);
        return await inlineResult(data);
      } catch (err) {
        throw translateError(err);
      }
    }
    // The encoder indexes writers by shard; distribution[slot] says which shard a slot holds.
    const slotOf = slotsByShard(layout);
    // No writer for a slot that was offline when the write began (its shard is healed later).
    const writers: Array<ShardWriter | null> = slotOf.map((slot) => {
      const d = this.drives[slot];
      if (!d || !online.includes(slot)) return null;
      try {
        return d.createShardWriter(target.tmpId, target.file);
      } catch {
        return null; // went offline since: one shard short, the quorum decides
      }
    });
    let encoder: (Writable & { result(): { size: number; failedShards: number[] } }) | undefined;
    const open = () =>
      (encoder = createErasureWriter(layout, codec, writers, { writeQuorum, ...(o.signal ? { signal: o.signal } : {}) }));
    const sink = new AdaptiveSink(inlineOk ? inlineMax : -1, open);
    const cleanup = () => Promise.all(online.map((i) => this.drives[i]!.removeTmp(target.tmpId).catch(() => {})));
    try {
      const stages = o.encrypt ? [hasher, o.encrypt.stream] : [hasher];
      await pipeline([body, ...stages, sink], ...(o.signal ? [{ signal: o.signal }] : []));
      hasher.verify(o.contentMd5);
      const inlineBody = sink.inlineBody;
      // Shard writers open their files lazily, so nothing was written to tmp.
      if (inlineBody !== undefined && inlineOk) return await inlineResult(inlineBody);
      if (inlineBody !== undefined) {
        // An empty body that may not go inline (a part): still one (empty) erasure stream.
        const w = open();
        w.end(inlineBody);
        await finished(w);
      }
      const failed = new Set(encoder!.result().failedShards.map((shard) => slotOf[shard]!));
      const ok = online.filter((i) => !failed.has(i));
      const renamed = await settle(
        ok.map((i) => this.drives[i]!.commitTmp(target.tmpId, target.dataDir, target.intoExisting ? target.file : undefined)),
      );
      const slots = ok.filter((_, j) => renamed[j]?.ok);
      if (slots.length < writeQuorum) {
        if (!target.intoExisting) await this.removeDataDirs(slots, target.dataDir);
        else await Promise.all(slots.map((i) => this.drives[i]!.removeDataFile(target.dataDir, target.file).catch(() => {})));
        throw writeQuorumNotReached(slots.length, writeQuorum);
      }
      return { size: hasher.bytes, md5: hasher.md5Bytes, checksum: hasher.checksumValue, slots, hasher };
    } catch (err) {
      await cleanup();
      throw translateError(err);
    }
  }

  removeDataDirs(slots: number[], dataDir: string): Promise<unknown> {
    return Promise.all(slots.map((i) => this.drives[i]?.removeDataDir(dataDir).catch(() => {})));
  }

  /**
   * Commit `rec` on `slots` in parallel; each drive keeps the greater version.
   * Below write quorum: restore what was replaced and fail. Afterwards remove
   * the data dirs nothing references any more (replaced versions, our own
   * where a newer write already won).
   */
  async commitRecord(
    bucket: string,
    key: string,
    rec: ObjectRecord,
    slots: number[],
    inline: Array<Buffer | undefined> | undefined,
    o: { conditions?: WriteConditions; completeUpload?: string; ownsDataDir: boolean },
  ): Promise<void> {
    const writeQuorum = writeQuorumOf(rec.layout.dataShards, rec.layout.parityShards);
    // Encoded once; each drive's value differs only by its inline shard bytes.
    const prepared = prepareObjectRecord(rec);
    const results = await settle(
      slots.map((i) =>
        // With `encoded` the drive uses `rec` only for its version identity: no per-drive copy.
        this.drives[i]!.commitObject(bucket, key, rec, {
          ...(o.conditions ? { conditions: o.conditions } : {}),
          ...(o.completeUpload !== undefined ? { completeUpload: o.completeUpload } : {}),
          encoded: { value: prepared.value(inline ? inline[i] : rec.inline), entry: prepared.entry },
        }),
      ),
    );
    let ok = 0;
    let precondition = 0;
    let uploadMissing = 0;
    let firstError: unknown;
    results.forEach((r) => {
      if (!r) return;
      if (!r.ok) firstError ??= r.error;
      else if (r.value.status === 'committed' || r.value.status === 'superseded') ok++;
      else if (r.value.status === 'precondition') precondition++;
      else uploadMissing++;
    });
    const cleanups: Array<Promise<unknown>> = [];
    if (ok >= writeQuorum) {
      // Quorum reached but some slot missed the write (offline, failed, or never written): heal it later.
      if (ok < this.n) this.queueHeal(bucket, key, 'write');
      results.forEach((r, j) => {
        if (!r?.ok) return;
        const d = this.drives[slots[j]!]!;
        const v = r.value;
        if (v.status === 'committed' && v.previous && v.previous.dataDir !== rec.dataDir && !v.previous.inline) {
          cleanups.push(d.removeDataDir(v.previous.dataDir));
        }
        if (v.status === 'superseded' && !rec.inline && !inline) cleanups.push(d.removeDataDir(rec.dataDir));
        if ((v.status === 'committed' || v.status === 'superseded') && v.removedUpload) {
          cleanups.push(this.removeUnreferencedParts(d, v.removedUpload, v.status === 'committed' ? rec.parts : []));
        }
      });
      await Promise.all(cleanups.map((p) => p.catch((err: unknown) => this.opts.logger?.warn({ err }, 'cleanup failed'))));
      return;
    }
    // Roll back: put back what we replaced where we won.
    await Promise.all(
      results.map((r, j) => {
        if (r?.ok && r.value.status === 'committed') {
          return this.drives[slots[j]!]!.restoreObject(bucket, key, rec, r.value.previous).catch(() => {});
        }
        return undefined;
      }),
    );
    if (o.ownsDataDir && !inline) await this.removeDataDirs(slots, rec.dataDir);
    if (precondition > 0 && precondition >= uploadMissing) {
      throw new ObjectLayerError('PreconditionFailed', 'at least one of the preconditions you specified did not hold');
    }
    if (uploadMissing > 0) throw new ObjectLayerError('UploadNotFound', 'the specified multipart upload does not exist');
    throw writeQuorumNotReached(ok, writeQuorum, firstError);
  }

  private async removeUnreferencedParts(d: Drive, removed: RemovedUpload, keep: ObjectPartRecord[]): Promise<void> {
    const kept = new Set(keep.map((p) => p.file));
    if (keep.length === 0) {
      await d.removeDataDir(removed.upload.dataDir);
      return;
    }
    await Promise.all(removed.parts.filter((p) => !kept.has(p.file)).map((p) => d.removeDataFile(removed.upload.dataDir, p.file)));
  }

  /**
   * Open what the read needs before returning: per part, one reader per
   * agreeing slot. Open fds survive a concurrent overwrite/delete unlinking the
   * files. For objects with more than EAGER_PART_FDS parts in the range only
   * the first ones are opened up front (bounding fds to EAGER_PART_FDS × n);
   * later parts open as the stream reaches them, and a delete racing with such
   * a long read can end it with an error (never with wrong bytes).
   */
  async openRead(bucket: string, key: string, resolved: Resolved, range: ByteRange | undefined, signal?: AbortSignal): Promise<Readable> {
    const rec = resolved.rec;
    if (rec.size === 0) return Readable.from([]);
    const start = range?.start ?? 0;
    const end = range?.end ?? rec.size - 1;
    const pieces: Array<{ part: ObjectPartRecord; start: number; end: number }> = [];
    let off = 0;
    for (const part of rec.parts) {
      const pStart = off;
      const pEnd = off + part.size - 1;
      off += part.size;
      if (part.size === 0 || pEnd < start || pStart > end) continue;
      pieces.push({ part, start: Math.max(start, pStart) - pStart, end: Math.min(end, pEnd) - pStart });
    }
    const slotOf = slotsByShard(rec.layout);
    if (rec.inline !== undefined && rec.parts.length === 1) {
      // Small object with good data shards: no decoder, no generator, one buffer.
      const data = decodeInlineShards(rec.layout, slotOf.map((slot) => resolved.agreeing[slot]?.inline), rec.size);
      if (data) {
        if (!resolved.partial && resolved.agreeing.filter(Boolean).length < this.n) this.queueHeal(bucket, key, 'read');
        // One buffer, which the HTTP layer may send whole (storage/memory-body.ts).
        return new MemoryBody(data.subarray(start, end + 1));
      }
    }
    // Shard files, or a degraded inline read, may need every drive that holds the version.
    const agreeing = resolved.partial ? this.agreeingSlots(bucket, key, rec) : resolved.agreeing;
    if (agreeing.filter(Boolean).length < this.n) this.queueHeal(bucket, key, 'read');
    // Readers by shard index, as the decoder wants them.
    const openPart = async (part: ObjectPartRecord): Promise<Array<ShardReader | null>> => {
      if (rec.inline !== undefined) {
        return slotOf.map((slot) => {
          const r = agreeing[slot];
          return r?.inline ? new MemoryShardReader(r.inline) : null;
        });
      }
      const rs = await settle(
        slotOf.map((slot) => (agreeing[slot] && this.isOnline(slot) ? this.drives[slot]!.openShardReader(rec.dataDir, part.file) : null)),
      );
      // A shard file that would not open (missing, unreadable): served from parity, healed later.
      if (rs.some((r) => r !== null && r !== undefined && !r.ok)) this.queueHeal(bucket, key, 'read');
      return rs.map((r) => (r?.ok ? r.value : null));
    };
    const eager = await Promise.all(pieces.slice(0, EAGER_PART_FDS).map((p) => openPart(p.part)));
    // Fail before the first byte when the shards cannot be there: a clear error, not a cut stream.
    const k = rec.layout.dataShards;
    const short = eager.findIndex((rs) => rs.filter(Boolean).length < k);
    if (short >= 0) {
      for (const rs of eager) for (const r of rs) await r?.close().catch(() => {});
      const have = eager[short]!.filter(Boolean).length;
      throw readQuorumNotReached(have, k);
    }
    const codec = getCodec(rec.layout.codec);
    const logger = this.opts.logger;
    const queueHeal = this.queueHeal.bind(this);
    async function* generate(): AsyncGenerator<Buffer> {
      for (let j = 0; j < pieces.length; j++) {
        const p = pieces[j]!;
        const readers = eager[j] ?? (await openPart(p.part));
        try {
          const r = createErasureReader(rec.layout, codec, readers, p.part.size, { start: p.start, end: p.end }, {
            ...(signal ? { signal } : {}),
            onShardError: (shard: number, err: unknown) => {
              logger?.warn({ err, bucket, key, shard, part: p.part.number }, 'shard read failed; reconstructing');
              queueHeal(bucket, key, 'read');
            },
          });
          for await (const chunk of r) yield chunk as Buffer;
        } catch (err) {
          throw translateError(err);
        } finally {
          await Promise.all(readers.map((r) => r?.close().catch(() => {})));
        }
      }
      for (let j = pieces.length; j < eager.length; j++) for (const r of eager[j]!) await r?.close().catch(() => {});
    }
    const stream = Readable.from(generate(), { objectMode: false });
    // If the consumer goes away early, close eagerly opened fds that the generator never reached.
    stream.once('close', () => {
      for (const rs of eager) for (const r of rs) void r?.close().catch(() => {});
    });
    return stream;
  }

  /** Remove the record on every drive (quorum), then the data dirs. */
  async deleteObject(bucket: string, key: string, expect?: ObjectRecord): Promise<ObjectRecord | undefined> {
    const online = this.slotsOnline();
    const wq = this.defaultWriteQuorum;
    const results = await settle(online.map((i) => this.drives[i]!.deleteObject(bucket, key, expect)));
    const ok = results.filter((r) => r?.ok).length;
    if (ok < wq) {
      // Put back what we removed so the object is not left below quorum.
      await Promise.all(
        results.map((r, j) =>
          r?.ok && r.value ? this.drives[online[j]!]!.commitObject(bucket, key, r.value).catch(() => {}) : undefined,
        ),
      );
      throw writeQuorumNotReached(ok, wq, results.find((r) => r && !r.ok));
    }
    // A drive that missed the delete may still hold the record: the healer removes it (dangling).
    if (ok < this.n) this.queueHeal(bucket, key, 'delete');
    let removed: ObjectRecord | undefined;
    await Promise.all(
      results.map((r, j) => {
        const v = r?.ok ? r.value : undefined;
        if (!v) return undefined;
        if (!removed || compareVersions(v, removed) > 0) removed = v;
        return v.inline ? undefined : this.drives[online[j]!]!.removeDataDir(v.dataDir).catch(() => {});
      }),
    );
    return removed;
  }

  newDataDir(): string {
    return randomUUID();
  }
}
