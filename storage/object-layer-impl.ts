import { DEFAULT_HEAL_OPTIONS, type HealOptions, type HealRequest, type HealStatus, type HealSweepStatus } from './heal/types.js';
import { Healer, pendingRequests, queuedSweep, persistRequest, readPublishedStatus, STATUS_STALE_MS } from './heal/healer.js';
import { markHealingDrives, refreshHealingStates } from './heal/drive-rebuild.js';
import type { HealHost } from './heal/host.js';
import { HealQueue } from './heal/heal-queue.js';
import type { Readable } from 'node:stream';
import type { Logger } from '../core/logger.js';
import type { Drive } from './drive.js';
import { ErasureSet, nextModTime, objectInfoOf, type Resolved } from './erasure-set.js';
import { bucketNotFound, ObjectLayerError, objectNotFound, writeQuorumNotReached } from './errors.js';
import { listObjectsInSets } from './listing.js';
import type { BucketRecord, ObjectRecord } from './metadata-record.js';
import { ioStatsOf } from './drive-stats.js';
import { MultipartOps } from './multipart.js';
import { validateBucketName, validateObjectKey } from './names.js';
import type {
  BucketEncryption,
  BucketInfo,
  CompleteMultipartOptions,
  CompletePart,
  CreateMultipartOptions,
  GetObjectOptions,
  GetObjectResult,
  ListObjectsOptions,
  ListObjectsResult,
  ListPartsOptions,
  ListPartsResult,
  ListUploadsOptions,
  ListUploadsResult,
  MultipartUploadInfo,
  ObjectInfo,
  ObjectLayer,
  PartInfo,
  PutObjectOptions,
  PutPartOptions,
  SseRequest,
  StorageTopology,
  WriteConditions,
} from './object-layer.js';
import { settle } from './quorum.js';
import { placeKey } from './placement.js';
import { REDUCED_REDUNDANCY, STANDARD } from './storage-class.js';
import { bucketEncryptionOf, openDecryptedRead, openObjectKey, refuseKeyForPlaintext, sealRequestOf, sseInfoOf, WriteEncryption, type SseSettings } from './sse-pipeline.js';

export const MAX_PUT_SIZE = 5 * 1024 ** 3;


function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new ObjectLayerError('Aborted', 'the request was aborted', { cause: signal.reason });
}

/** ObjectLayer over erasure sets: routes keys to sets, buckets to every drive. */
export class ErasureObjectLayer implements ObjectLayer {
  private readonly multipart: MultipartOps;
  private inflight = 0;
  private idle?: () => void;
  private closed = false;
  /** The healer, in the one process that runs it (startHealing). */
  healer: Healer | undefined;
  private healerStarted: Promise<void> | undefined;
  /** Trackers written for drives this process formatted; drive states refresh from trackers after it. */
  private readonly healingMarked: Promise<void>;
  private statesTimer: NodeJS.Timeout | undefined;
  /** Objects found or left below full redundancy, persisted on the drives; the healer drains it. */
  readonly healQueue: HealQueue;

  constructor(
    readonly deploymentId: string,
    readonly sets: ErasureSet[],
    /** Every drive opened (health-checked), closed by close(). */
    private readonly localDrives: Drive[],
    private readonly logger?: Logger,
    readonly sse: SseSettings = {},
  ) {
    this.multipart = new MultipartOps(this);
    // Every set reports objects below full redundancy to one persisted queue (storage/heal/heal-queue.ts).
    this.healQueue = new HealQueue(sets, (bucket, key) => this.setFor(bucket, key).set, logger ? { logger } : {});
    for (const s of sets) s.opts.heal = this.healQueue;
    // A drive is 'healing' exactly while its rebuild tracker exists (storage/heal/drive-rebuild.ts):
    // every process refreshes the states from the trackers, so all workers agree with the healer.
    this.healingMarked = markHealingDrives(sets, logger).then(async () => {
      await refreshHealingStates(this.sets).catch(() => {});
      if (this.closed) return;
      this.statesTimer = setInterval(() => void refreshHealingStates(this.sets).catch(() => {}), 2000);
      this.statesTimer.unref();
    });
  }

  /** Counts calls so close() can wait for them. */
  async track<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new ObjectLayerError('DriveFailure', 'object layer is closed');
    this.inflight++;
    try {
      return await fn();
    } finally {
      if (--this.inflight === 0) this.idle?.();
    }
  }

  // ---- healing (storage/heal) ----------------------------------------------

  private healHost(): HealHost {
    return {
      sets: this.sets,
      bucketNames: async () => (await this.listBuckets()).map((b) => b.name),
      readBucket: (name) => this.readBucket(name),
      ...(this.logger ? { logger: this.logger } : {}),
    };
  }

  startHealing(opts?: Partial<HealOptions>): void {
    if (this.healer || this.closed) return;
    const options = { ...DEFAULT_HEAL_OPTIONS, ...opts };
    // The queue exists from the constructor on (every process queues); its bound comes with the options.
    this.healQueue.setQueueLimit(options.queueLimit);
    const healer = new Healer(this.healHost(), options, this.healQueue);
    this.healer = healer;
    this.healerStarted = this.healingMarked.then(() => {
      if (!this.closed) healer.start();
    });
  }

  /** This process's healer live; otherwise the newest status the healer published on set 0. */
  async healStatus(): Promise<HealStatus> {
    if (this.healer) return this.healer.status();
    const published = await readPublishedStatus(this.sets);
    const now = Date.now();
    const status: HealStatus = published ?? {
      active: false,
      queue: { length: 0, dropped: 0 },
      rebuilds: [],
      sweeps: [],
      scanner: undefined,
      totals: { objectsHealed: 0, bytesHealed: 0, failures: 0, orphansRemoved: 0, danglingRemoved: 0 },
      updatedAt: new Date(now).toISOString(),
    };
    if (published && now - Date.parse(published.updatedAt) > STATUS_STALE_MS) status.active = false;
    // The queue lives on the drives: this process counts it as well as the healer does.
    status.queue.length = this.healQueue.length();
    // Requests not yet picked up show as queued.
    for (const r of await pendingRequests(this.sets)) {
      if (!status.sweeps.some((s) => s.id === r.id)) {
        status.sweeps.push(queuedSweep(r));
      }
    }
    return status;
  }

  async requestHeal(req: HealRequest): Promise<HealSweepStatus> {
    if (req.bucket !== undefined) this.requireBucket(req.bucket);
    const queued = await persistRequest(this.sets, req);
    this.healer?.poke();
    return queued;
  }

  setFor(bucket: string, key: string): { set: ErasureSet; distribution: number[] } {
    const first = this.sets[0]!;
    const { setIndex, distribution } = placeKey(this.deploymentId, bucket, key, this.sets.length, first.n);
    return { set: this.sets[setIndex]!, distribution };
  }

  topology(): StorageTopology {
    const s0 = this.sets[0]!;
    return {
      deploymentId: this.deploymentId,
      sets: this.sets.map((s) => ({
        index: s.index,
        drives: s.opts.paths.map((path, i) => {
          const d = s.drives[i];
          const io = d ? ioStatsOf(d) : undefined;
          // Health (CheckedDrive) says offline; otherwise the format/rebuild state ('healing').
          return { path, state: s.isOnline(i) ? s.opts.states[i]! : 'offline', ...(io ? { io: { ...io } } : {}) };
        }),
        dataShards: s.n - s.opts.parity.standard,
        parityShards: s.opts.parity.standard,
        readQuorum: s.defaultReadQuorum,
        writeQuorum: s.defaultWriteQuorum,
      })),
      storageClasses: {
        [STANDARD]: { parity: s0.opts.parity.standard },
        [REDUCED_REDUNDANCY]: { parity: s0.opts.parity.reduced },
      },
    };
  }

  // ---- buckets: stored on every drive of every set ---------------------------

  /** Every drive slot; offline ones as null (skipped, but still counted in the bucket quorum). */
  private allDrives() {
    return this.sets.flatMap((s) => s.drives.map((d, i) => (s.isOnline(i) ? d : null)));
  }

  /** A majority of all drive slots (online or not); counted without building allDrives() (every request asks). */
  private bucketQuorum(): number {
    let slots = 0;
    for (const s of this.sets) slots += s.drives.length;
    return Math.floor(slots / 2) + 1;
  }

  /** The bucket record if a majority of all drives hold it. */
  readBucket(bucket: string): BucketRecord | undefined {
    const seen = new Map<number, { n: number; rec: BucketRecord }>();
    let answered = 0;
    let found = 0;
    // Every request reads this: stop once a majority of all drives hold the record (the rest cannot change "exists").
    const enough = this.bucketQuorum();
    // Slot by slot without allDrives(): no array per request, and the loop stops early anyway.
    scan: for (const set of this.sets) {
      for (let i = 0; i < set.drives.length; i++) {
        const d = set.drives[i];
        if (!d || !set.isOnline(i)) continue;
        try {
          answered++;
          const r = d.getBucket(bucket);
          if (!r) continue;
          const s = seen.get(r.created) ?? { n: 0, rec: r };
          s.n++;
          seen.set(r.created, s);
          if (++found >= enough) break scan;
        } catch {
          answered--;
        }
      }
    }
    let total = 0;
    let best: BucketRecord | undefined;
    for (const s of seen.values()) {
      total += s.n;
      if (!best || s.rec.created < best.created) best = s.rec;
    }
    // Any version of the record counts: racing creates may leave different dates.
    return total >= Math.min(this.bucketQuorum(), Math.ceil(answered / 2)) && total > 0 ? best : undefined;
  }

  requireBucket(bucket: string): BucketRecord {
    validateBucketName(bucket);
    const r = this.readBucket(bucket);
    if (!r) throw bucketNotFound(bucket);
    return r;
  }

  makeBucket(bucket: string, opts: { signal?: AbortSignal } = {}): Promise<BucketInfo> {
    return this.track(async () => {
      validateBucketName(bucket);
      checkAborted(opts.signal);
      if (this.readBucket(bucket)) throw new ObjectLayerError('BucketExists', `bucket already exists: ${bucket}`);
      const rec: BucketRecord = { name: bucket, created: Date.now() };
      const drives = this.allDrives();
      const results = await settle(drives.map((d) => (d ? d.createBucket(rec) : null)));
      const created = results.filter((r) => r?.ok && r.value === 'created').length;
      const exists = results.filter((r) => r?.ok && r.value === 'exists').length;
      if (created + exists < this.bucketQuorum()) {
        await Promise.all(results.map((r, i) => (r?.ok && r.value === 'created' ? drives[i]!.deleteBucket(bucket) : null)));
        throw writeQuorumNotReached(created + exists, this.bucketQuorum());
      }
      if (exists > created) throw new ObjectLayerError('BucketExists', `bucket already exists: ${bucket}`);
      return { name: bucket, created: new Date(rec.created) };
    });
  }

  getBucketInfo(bucket: string, opts: { signal?: AbortSignal } = {}): Promise<BucketInfo> {
    return this.track(async () => {
      checkAborted(opts.signal);
      const r = this.requireBucket(bucket);
      return { name: r.name, created: new Date(r.created) };
    });
  }

  listBuckets(opts: { signal?: AbortSignal } = {}): Promise<BucketInfo[]> {
    return this.track(async () => {
      checkAborted(opts.signal);
      const names = new Set<string>();
      for (const d of this.allDrives()) {
        try {
          for (const b of d?.listBuckets() ?? []) names.add(b.name);
        } catch (err) {
          this.logger?.warn({ err, drive: d?.path }, 'listing buckets failed');
        }
      }
      const out: BucketInfo[] = [];
      for (const name of [...names].sort()) {
        const r = this.readBucket(name);
        if (r) out.push({ name, created: new Date(r.created) });
      }
      return out;
    });
  }

  deleteBucket(bucket: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    return this.track(async () => {
      checkAborted(opts.signal);
      this.requireBucket(bucket);
      await this.abortUploadsOfEmptyBucket(bucket, opts.signal);
      for (const set of this.sets) {
        const holders = set.drives.filter((d) => {
          try {
            return d?.bucketHasContent(bucket);
          } catch {
            return false;
          }
        }).length;
        // Even a below-quorum leftover blocks: deleting would orphan its data.
        if (holders > 0) throw new ObjectLayerError('BucketNotEmpty', `bucket is not empty: ${bucket}`);
      }
      const results = await settle(this.allDrives().map((d) => (d ? d.deleteBucket(bucket) : null)));
      const ok = results.filter((r) => r?.ok).length;
      if (ok < this.bucketQuorum()) throw writeQuorumNotReached(ok, this.bucketQuorum());
    });
  }

  /**
   * Incomplete multipart uploads do not keep a bucket alive (AWS, RGW and MinIO
   * all delete a bucket that holds only uploads): once no object is listed,
   * abort them so the emptiness check below sees only real content.
   */
  private async abortUploadsOfEmptyBucket(bucket: string, signal?: AbortSignal): Promise<void> {
    const objects = await listObjectsInSets(this.sets, bucket, { maxKeys: 1 });
    if (objects.objects.length > 0 || objects.commonPrefixes.length > 0) return;
    for (;;) {
      checkAborted(signal);
      const page = await this.multipart.listUploads(bucket, { maxUploads: 1000 });
      for (const u of page.uploads) {
        await this.multipart.abort(bucket, u.key, u.uploadId).catch((err: unknown) => {
          if (!(err instanceof ObjectLayerError && err.code === 'UploadNotFound')) throw err;
        });
      }
      if (!page.isTruncated) return;
    }
  }

  getBucketEncryption(bucket: string, opts: { signal?: AbortSignal } = {}): Promise<BucketEncryption | undefined> {
    return this.track(async () => {
      checkAborted(opts.signal);
      return bucketEncryptionOf(this.requireBucket(bucket));
    });
  }

  /**
   * The default lives in the bucket record (config.encryption). Drives can only
   * create or delete a bucket record, so each drive's record is replaced in
   * turn, one drive at a time: a majority holds the record throughout.
   */
  putBucketEncryption(bucket: string, cfg: BucketEncryption | undefined, opts: { signal?: AbortSignal } = {}): Promise<void> {
    return this.track(async () => {
      checkAborted(opts.signal);
      const cur = this.requireBucket(bucket);
      const { encryption: _old, ...rest } = cur.config ?? {};
      const config = cfg ? { ...rest, encryption: { ...cfg } } : rest;
      const rec: BucketRecord = { ...cur, config };
      let ok = 0;
      for (const d of this.allDrives()) {
        if (!d) continue;
        try {
          if (!d.getBucket(bucket)) continue;
          await d.deleteBucket(bucket);
          await d.createBucket(rec);
          ok++;
        } catch (err) {
          this.logger?.warn({ err, drive: d.path }, 'bucket record update failed');
        }
      }
      if (ok < this.bucketQuorum()) throw writeQuorumNotReached(ok, this.bucketQuorum());
    });
  }

  // ---- objects ---------------------------------------------------------------

  /** Current object or undefined, resolved by quorum in the key's set. */
  resolveObject(bucket: string, key: string): { set: ErasureSet; resolved: Resolved | undefined } {
    const { set, distribution } = this.setFor(bucket, key);
    return { set, resolved: set.resolve(bucket, key, distribution) };
  }

  /** Fail fast on conditions before streaming data; re-checked inside each commit. */
  checkConditions(resolved: Resolved | undefined, c: WriteConditions | undefined): void {
    if (!c) return;
    const cur = resolved?.rec;
    const ok =
      !(c.ifNoneMatch === '*' && cur) && !(c.ifMatch !== undefined && (!cur || (c.ifMatch !== '*' && c.ifMatch !== cur.etag)));
    if (!ok) throw new ObjectLayerError('PreconditionFailed', 'at least one of the preconditions you specified did not hold');
  }

  putObject(bucket: string, key: string, body: Readable, opts: PutObjectOptions = {}): Promise<ObjectInfo> {
    return this.track(async () => {
      let enc: WriteEncryption | undefined;
      try {
        validateObjectKey(key);
        const bucketRec = this.requireBucket(bucket);
        checkAborted(opts.signal);
        if (opts.size !== undefined && opts.size > MAX_PUT_SIZE) {
          throw new ObjectLayerError('EntityTooLarge', `a single PUT may not exceed ${MAX_PUT_SIZE} bytes`);
        }
        const { set, distribution } = this.setFor(bucket, key);
        const layout = set.layoutFor(opts.storageClass, distribution);
        let prior: number | undefined;
        if (opts.conditions) {
          const resolved = set.resolve(bucket, key, distribution);
          this.checkConditions(resolved, opts.conditions);
          prior = resolved?.rec.modTime;
        }
        // No condition to fail fast on: the commit's compare-and-put decides races; all the
        // write needs is a modTime above what any drive holds, so it is not superseded by skew,
        // and the read after the data is in (below) gives that: reading before as well only
        // cost a second read of every drive per PUT (issue 8).
        const sealReq = sealRequestOf(opts.sse, bucketEncryptionOf(bucketRec), this.sse);
        enc = sealReq ? await WriteEncryption.begin(sealReq, { bucket, key }) : undefined;
        const encryptor = enc?.encryptor(0);
        const dataDir = set.newDataDir();
        const written = await set.writeData(body, layout, { tmpId: dataDir, file: 'part.1', dataDir, intoExisting: false }, {
          ...(encryptor ? { encrypt: encryptor } : {}),
          ...(opts.size !== undefined ? { size: opts.size } : {}),
          maxSize: MAX_PUT_SIZE,
          ...(opts.contentMd5 !== undefined ? { contentMd5: opts.contentMd5 } : {}),
          ...(opts.checksum ? { checksum: opts.checksum } : {}),
          allowInline: true,
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        // The version's time is taken once the data is in, not when the request began: of two
        // overlapping PUTs the one that completes last wins, as S3 does (ceph/s3-tests
        // test_atomic_dual_write_*). Re-reading the drives covers writers on other nodes.
        const modTime = nextModTime(Math.max(prior ?? 0, set.latestModTime(bucket, key) ?? 0));
        const etag = enc ? enc.etag(written.md5, 0) : written.md5.toString('hex');
        const checksums = written.checksum && opts.checksum ? { [opts.checksum.algorithm]: written.checksum } : {};
        const rec: ObjectRecord = {
          versionId: 'null',
          modTime,
          dataDir,
          size: written.size,
          etag,
          checksums,
          ...(opts.checksum ? { checksumType: opts.checksum.type ?? 'FULL_OBJECT' } : {}),
          headers: opts.headers ?? {},
          userMetadata: opts.userMetadata ?? {},
          storageClass: opts.storageClass || STANDARD,
          layout,
          parts: [{ number: 1, size: written.size, etag, modTime, checksums, file: 'part.1', ...(encryptor ? { sse: encryptor.stream.params } : {}) }],
          ...(enc ? { sse: enc.record(false) } : {}),
        };
        checkAborted(opts.signal);
        await set.commitRecord(bucket, key, rec, written.slots, written.inline, {
          ...(opts.conditions ? { conditions: opts.conditions } : {}),
          ownsDataDir: true,
        });
        return objectInfoOf(bucket, key, rec);
      } catch (err) {
        body.resume(); // never leave the caller's stream paused forever
        throw err;
      } finally {
        enc?.dispose();
      }
    });
  }

  /** GET/HEAD: resolveSettled rides out a concurrent overwrite landing between the k readable drives. */
  private async resolveOrThrow(bucket: string, key: string, signal?: AbortSignal) {
    validateObjectKey(key);
    this.requireBucket(bucket);
    checkAborted(signal);
    const { set, distribution } = this.setFor(bucket, key);
    const resolved = await set.resolveSettled(bucket, key, distribution);
    if (!resolved) throw objectNotFound(bucket, key);
    return { set, resolved };
  }

  private partRange(rec: ObjectRecord, partNumber: number) {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > rec.parts.length) {
      throw new ObjectLayerError('InvalidPartNumber', `part number ${partNumber} is out of range`);
    }
    let start = 0;
    for (let i = 0; i < partNumber - 1; i++) start += rec.parts[i]!.size;
    return { start, end: start + rec.parts[partNumber - 1]!.size - 1 };
  }

  getObject(bucket: string, key: string, opts: GetObjectOptions = {}): Promise<GetObjectResult> {
    return this.track(async () => {
      const { set, resolved } = await this.resolveOrThrow(bucket, key, opts.signal);
      const rec = resolved.rec;
      let range = opts.range;
      if (opts.partNumber !== undefined) range = this.partRange(rec, opts.partNumber);
      if (range) {
        const { start, end } = range;
        if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end >= rec.size) {
          if (!(opts.partNumber !== undefined && rec.size === 0)) {
            throw new ObjectLayerError('InvalidRange', `range ${start}-${end} is outside the object (size ${rec.size})`);
          }
          range = undefined;
        }
      }
      let stream: Readable;
      if (rec.sse) {
        const objectKey = await openObjectKey(rec.sse, { bucket, key }, opts.sse, this.sse.kms);
        stream = await openDecryptedRead(set, bucket, key, resolved, range, objectKey, opts.signal);
      } else {
        refuseKeyForPlaintext(opts.sse);
        stream = await set.openRead(bucket, key, resolved, range, opts.signal);
      }
      const info = objectInfoOf(bucket, key, rec);
      return range ? { info, stream, range } : { info, stream };
    });
  }

  headObject(bucket: string, key: string, opts: { partNumber?: number; sse?: SseRequest; signal?: AbortSignal } = {}): Promise<ObjectInfo> {
    return this.track(async () => {
      const { resolved } = await this.resolveOrThrow(bucket, key, opts.signal);
      if (resolved.rec.sse?.sealed.type === 'SSE-C') {
        // AWS: HEAD of an SSE-C object needs the key (400 without, 403 with a wrong one).
        (await openObjectKey(resolved.rec.sse, { bucket, key }, opts.sse, this.sse.kms)).fill(0);
      } else if (!resolved.rec.sse) refuseKeyForPlaintext(opts.sse);
      if (opts.partNumber !== undefined) this.partRange(resolved.rec, opts.partNumber);
      return objectInfoOf(bucket, key, resolved.rec);
    });
  }

  deleteObject(bucket: string, key: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectInfo | undefined> {
    return this.track(async () => {
      validateObjectKey(key);
      this.requireBucket(bucket);
      checkAborted(opts.signal);
      const { set, resolved } = this.resolveObject(bucket, key);
      const removed = await set.deleteObject(bucket, key);
      const shown = resolved?.rec ?? removed;
      return shown ? objectInfoOf(bucket, key, shown) : undefined;
    });
  }

  listObjects(bucket: string, opts: ListObjectsOptions = {}): Promise<ListObjectsResult> {
    return this.track(async () => {
      this.requireBucket(bucket);
      checkAborted(opts.signal);
      return listObjectsInSets(this.sets, bucket, opts);
    });
  }

  // ---- multipart (multipart.ts) ----------------------------------------------

  createMultipartUpload(bucket: string, key: string, opts?: CreateMultipartOptions): Promise<MultipartUploadInfo> {
    return this.track(() => this.multipart.create(bucket, key, opts));
  }
  putObjectPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    opts?: PutPartOptions,
  ): Promise<PartInfo> {
    return this.track(() => this.multipart.putPart(bucket, key, uploadId, partNumber, body, opts));
  }
  listParts(bucket: string, key: string, uploadId: string, opts?: ListPartsOptions): Promise<ListPartsResult> {
    return this.track(() => this.multipart.listParts(bucket, key, uploadId, opts));
  }
  listMultipartUploads(bucket: string, opts?: ListUploadsOptions): Promise<ListUploadsResult> {
    return this.track(() => this.multipart.listUploads(bucket, opts));
  }
  completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: CompletePart[],
    opts?: CompleteMultipartOptions,
  ): Promise<ObjectInfo> {
    return this.track(() => this.multipart.complete(bucket, key, uploadId, parts, opts));
  }
  abortMultipartUpload(bucket: string, key: string, uploadId: string, opts?: { signal?: AbortSignal }): Promise<void> {
    return this.track(() => this.multipart.abort(bucket, key, uploadId, opts));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.healingMarked;
    clearInterval(this.statesTimer);
    await this.healerStarted;
    await this.healer?.stop();
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await this.healQueue.close();
    this.closed = true;
    await Promise.all(this.localDrives.map((d) => d.close().catch(() => {})));
  }
}
