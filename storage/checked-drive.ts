import { randomBytes } from 'node:crypto';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CairnError } from '../core/errors.js';
import type { ShardReader, ShardWriter } from '../erasure/types.js';
import type {
  CommitObjectResult,
  CommitPartResult,
  DataDirEntry,
  DiskInfo,
  Drive,
  EncodedObject,
  HealQueueItem,
  RemovedUpload,
  ScanItem,
  UploadScanItem,
  VersionIdentity,
} from './drive.js';
import { FORMAT_MAGIC, formatPath, type FormatRecord } from './format.js';
import type { BucketRecord, ObjectRecord, PartRecord, UploadRecord } from './metadata-record.js';
import type { WriteConditions } from './object-layer.js';

/**
 * The health-checking drive: the same `Drive` interface around an inner drive
 * (MinIO's xlStorageDiskIDCheck). Every async call races a timeout; I/O errors
 * that mean "this disk is gone" and timeouts on a drive that completed nothing
 * for a whole timeout take the drive offline (a slow but working drive gets
 * more time; see timed()), and while
 * offline every call fails at once (DriveOffline) so quorum logic settles
 * without waiting. A timer probes an offline drive (root and format present,
 * a small file written, synced, read back and removed, a metadata read) and
 * brings it back online; the same timer checks an online drive's root still
 * exists, because metadata ops on an open LMDB env keep working after the
 * directory was renamed away and small objects never touch a path.
 *
 * What it cannot bound: LMDB reads are synchronous memory-mapped reads, so a
 * truly hung device can stall a page fault; only async calls are timed.
 */

export type DriveHealth = 'online' | 'offline';

export type DriveStateReason =
  | 'io-error' // an error that means the drive failed (EIO, ENXIO, EROFS, …)
  | 'timeout' // a call did not settle within its timeout
  | 'root-missing' // the drive directory (or its .cairn) is gone
  | 'replaced' // a blank or foreign drive sits at the path: the healer's business, stays offline
  | 'open-failed' // the drive could not be opened (at start or by a probe)
  | 'probe-ok'; // a probe succeeded: back online

export interface DriveStateChange {
  drive: CheckedDrive;
  state: DriveHealth;
  reason: DriveStateReason;
  error?: unknown;
}

export class DriveHealthError extends CairnError<'DriveOffline' | 'DriveTimeout'> {}

export interface CheckedDriveOptions {
  /** Timeout of metadata calls (commits, deletes, bucket ops, removals), ms. Default 10 s. */
  metadataTimeoutMs?: number;
  /** Timeout of data calls (commitTmp, openShardReader, shard write/finish/readAt), ms. Default 30 s. */
  dataTimeoutMs?: number;
  /** Probe / root check period, ms. Default 5 s. */
  probeIntervalMs?: number;
  /** The drive id the format record must name; a different or missing one means a replaced drive. */
  driveId?: string;
  /** Opens the drive at the path again (after the directory came back, or when it failed to open at start). */
  reopen?: (path: string) => Promise<Drive>;
}

export const DEFAULT_METADATA_TIMEOUT_MS = 10_000;
export const DEFAULT_DATA_TIMEOUT_MS = 30_000;
export const DEFAULT_PROBE_INTERVAL_MS = 5_000;
/** A slow call on a drive that makes progress waits up to this many timeouts in all. */
const SLOW_GRACE = 4;

/** Error codes that mean the device or its file system failed, not this one request. */
const FATAL_CODES = new Set(['EIO', 'ENXIO', 'ENODEV', 'EROFS', 'ENOTCONN', 'ESTALE']);
/** Codes that are fatal only when the drive root itself is gone (else: a missing shard, a healing matter). */
const PATH_GONE_CODES = new Set(['ENOENT', 'ENOTDIR']);

const codeOf = (err: unknown): string | undefined =>
  err && typeof err === 'object' && 'code' in err && typeof err.code === 'string' ? err.code : undefined;

type Kind = 'meta' | 'data';

export class CheckedDrive implements Drive {
  private inner: Drive | undefined;
  private _state: DriveHealth;
  private _lastError: unknown;
  private _offlineSince: number | undefined;
  private _errors = 0;
  private _timeouts = 0;
  /** When a call into the inner drive last succeeded: a drive that still completes calls is slow, not hung. */
  private lastProgressAt = Date.now();
  private replacedReported = false;
  /** Probe fs calls still running (see bounded()). */
  private stuck = 0;
  /** `dev:ino` of the drive root when the inner drive was opened: another one means the env may be stale. */
  private rootId: string | undefined;
  private readonly listeners = new Set<(c: DriveStateChange) => void>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly metaMs: number;
  private readonly dataMs: number;
  private readonly probeMs: number;

  /** `inner` undefined: a drive that failed to open; it starts offline and probes reopen it. */
  constructor(
    readonly path: string,
    inner: Drive | undefined,
    private readonly opts: CheckedDriveOptions = {},
  ) {
    this.inner = inner;
    this._state = inner ? 'online' : 'offline';
    if (!inner) this._offlineSince = Date.now();
    this.metaMs = opts.metadataTimeoutMs ?? DEFAULT_METADATA_TIMEOUT_MS;
    this.dataMs = opts.dataTimeoutMs ?? DEFAULT_DATA_TIMEOUT_MS;
    this.probeMs = opts.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    if (inner) void this.rootIdNow().then((id) => (this.rootId ??= id));
    this.schedule();
  }

  // ---- health --------------------------------------------------------------

  get state(): DriveHealth {
    return this._state;
  }
  get online(): boolean {
    return this._state === 'online';
  }
  get lastError(): unknown {
    return this._lastError;
  }
  get offlineSince(): number | undefined {
    return this._offlineSince;
  }
  get errors(): number {
    return this._errors;
  }
  get timeouts(): number {
    return this._timeouts;
  }

  /** The wrapped drive (undefined while not opened): for tests and tools that reach below the health checks. */
  get innerDrive(): Drive | undefined {
    return this.inner;
  }

  /** Subscribe to state changes; returns the unsubscribe function. */
  onStateChange(fn: (c: DriveStateChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(state: DriveHealth, reason: DriveStateReason, error?: unknown): void {
    for (const fn of this.listeners) {
      try {
        fn({ drive: this, state, reason, ...(error !== undefined ? { error } : {}) });
      } catch {
        // a listener's failure is not the drive's
      }
    }
  }

  private markOffline(reason: DriveStateReason, error?: unknown): void {
    if (error !== undefined) this._lastError = error;
    if (this._state === 'offline' || this.closed) return;
    this._state = 'offline';
    this._offlineSince = Date.now();
    this.emit('offline', reason, error);
  }

  private markOnline(): void {
    if (this._state === 'online' || this.closed) return;
    this._state = 'online';
    this._offlineSince = undefined;
    this.replacedReported = false;
    this.emit('online', 'probe-ok');
  }

  private offlineError(): DriveHealthError {
    return new DriveHealthError('DriveOffline', `drive ${this.path} is offline`, { cause: this._lastError });
  }

  // ---- call wrappers -------------------------------------------------------

  /** The inner drive for a sync call, or DriveOffline. */
  private live(): Drive {
    if (this._state !== 'online' || !this.inner) throw this.offlineError();
    return this.inner;
  }

  private sync<T>(fn: (d: Drive) => T): T {
    const d = this.live();
    try {
      return fn(d);
    } catch (err) {
      this._errors++;
      if (FATAL_CODES.has(codeOf(err) ?? '')) this.markOffline('io-error', err);
      throw err;
    }
  }

  /**
   * Run an async call under the timeout. A call that times out rejects with
   * DriveTimeout and takes the drive offline; its late result is swallowed
   * (and released with `late`, e.g. an fd opened after we gave up on it).
   */
  private call<T>(kind: Kind, what: string, fn: (d: Drive) => Promise<T>, late?: (v: T) => void): Promise<T> {
    if (this._state !== 'online' || !this.inner) return Promise.reject(this.offlineError());
    const d = this.inner;
    return this.timed(kind, what, () => fn(d), late);
  }

  /** Hot path (every commit and shard read): one timer and one promise, no race() or async frames. */
  private timed<T>(kind: Kind, what: string, fn: () => Promise<T>, late?: (v: T) => void): Promise<T> {
    const ms = kind === 'data' ? this.dataMs : this.metaMs;
    let p: Promise<T>;
    try {
      p = fn();
    } catch (err) {
      p = Promise.reject(err); // a sync throw from an async-shaped call
    }
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const started = Date.now();
      // A call past its timeout on a drive that completed other calls meanwhile is slow (an fsync
      // behind gigabytes of dirty pages), not hung: it gets up to SLOW_GRACE more timeouts. Only a
      // drive that completed nothing for a whole timeout is taken offline.
      const expire = () => {
        const now = Date.now();
        if (now - this.lastProgressAt < ms && now - started < ms * SLOW_GRACE) {
          timer = setTimeout(expire, ms);
          return;
        }
        settled = true;
        this._timeouts++;
        const err = new DriveHealthError('DriveTimeout', `drive ${this.path}: ${what} did not finish within ${now - started} ms`);
        if (now - this.lastProgressAt >= ms) this.markOffline('timeout', err);
        reject(err);
      };
      let timer = setTimeout(expire, ms);
      // Both outcomes are handled, so the loser of the race is never an unhandled rejection.
      p.then(
        (v) => {
          this.lastProgressAt = Date.now();
          if (settled) return late?.(v);
          settled = true;
          clearTimeout(timer);
          resolve(v);
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.classify(err).then(
            () => reject(err),
            () => reject(err),
          );
        },
      );
    });
  }

  /** Count the error; take the drive offline when it means the drive failed, not the request. */
  private async classify(err: unknown): Promise<void> {
    if (err instanceof DriveHealthError) return;
    this._errors++;
    const code = codeOf(err) ?? '';
    if (FATAL_CODES.has(code)) return this.markOffline('io-error', err);
    // ENOENT of a shard file is missing data; ENOENT because the drive directory vanished is a dead drive.
    if (PATH_GONE_CODES.has(code) && !(await this.rootPresent())) this.markOffline('root-missing', err);
  }

  /**
   * The format record is what makes the directory our drive. Checked rather than the root
   * itself: LocalDrive creates tmp and data directories with mkdir -p, so a write racing a
   * rename of the drive away can leave a bare skeleton at the path.
   */
  private async rootPresent(): Promise<boolean> {
    try {
      await this.bounded(stat(formatPath(this.path)), this.metaMs);
      return true;
    } catch {
      return false;
    }
  }

  private async rootIdNow(): Promise<string | undefined> {
    try {
      const s = await stat(this.path);
      return `${s.dev}:${s.ino}`;
    } catch {
      return undefined;
    }
  }

  /**
   * A promise bounded by `ms` (rejects with DriveTimeout); for the probe's own fs calls.
   * `stuck` counts those still running after we gave up: each holds a libuv threadpool
   * thread, so no new probe starts while one is stuck (a hung disk must not eat the pool).
   */
  private async bounded<T>(p: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    this.stuck++;
    p.then(
      () => this.stuck--,
      () => this.stuck--,
    );
    try {
      return await Promise.race([
        p,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new DriveHealthError('DriveTimeout', `drive ${this.path}: probe timed out`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Fails (and takes the drive offline) when the drive directory is gone; before calls that mkdir -p. */
  private async ensureRoot(): Promise<void> {
    if (await this.rootPresent()) return;
    this.markOffline('root-missing');
    throw this.offlineError();
  }

  private wrapWriter(w: ShardWriter): ShardWriter {
    // The first write opens the file under mkdir -p: make sure the drive is still there (one stat per shard writer).
    let rootChecked: Promise<void> | undefined;
    const guard = async () => {
      if (this._state !== 'online') throw this.offlineError();
      await (rootChecked ??= this.ensureRoot());
    };
    const out: ShardWriter = {
      write: async (chunk) => (await guard(), this.timed('data', 'shard write', () => w.write(chunk))),
      finish: async () => (await guard(), this.timed('data', 'shard finish', () => w.finish())),
      // Abort is cleanup: bounded, and allowed while offline (it only removes tmp files).
      abort: () => this.bounded(w.abort(), this.metaMs),
    };
    if (w.writev) {
      const writev = w.writev.bind(w);
      out.writev = async (chunks) => (await guard(), this.timed('data', 'shard write', () => writev(chunks)));
    }
    return out;
  }

  /**
   * readv reads straight into the caller's buffers (no staging copy: that copy was the
   * largest JS cost of a large GET). A timed-out preadv may still land in them later;
   * the ShardReader contract (erasure/types.ts) makes the caller drop the targets of a
   * rejected call, which the decoder does (a failed run's blocks are redone elsewhere).
   */
  private wrapReader(r: ShardReader): ShardReader {
    const out: ShardReader = {
      readAt: async (offset, length) => {
        if (this._state !== 'online') throw this.offlineError();
        return this.timed('data', 'shard read', () => r.readAt(offset, length));
      },
      close: () => this.bounded(r.close(), this.metaMs),
    };
    if (r.readv) {
      const readv = r.readv.bind(r);
      out.readv = async (offset, targets) => {
        if (this._state !== 'online') throw this.offlineError();
        return this.timed('data', 'shard read', () => readv(offset, targets));
      };
    }
    return out;
  }

  // ---- probe ---------------------------------------------------------------

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      void this.tick().finally(() => this.schedule());
    }, this.probeMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.closed || this.stuck > 0) return;
    if (this._state === 'online') {
      // Only the path tells that the directory went away (see the class comment).
      if (!(await this.rootPresent())) this.markOffline('root-missing');
      return;
    }
    await this.probe();
  }

  /** One probe of an offline drive; brings it online when every check passes. Exposed for tests. */
  async probe(): Promise<boolean> {
    if (this.closed || this._state === 'online') return this._state === 'online';
    if (this.stuck > 0) return false; // the last probe's calls have not come back yet
    const ms = this.metaMs;
    try {
      await this.bounded(stat(this.path), ms);
    } catch (err) {
      this._lastError = err;
      return false;
    }
    // The root is there: is it our drive?
    let format: FormatRecord | undefined;
    try {
      format = JSON.parse(await this.bounded(readFile(formatPath(this.path), 'utf8'), ms)) as FormatRecord;
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return this.replaced(new Error(`drive ${this.path} has no format record`));
      this._lastError = err;
      return false;
    }
    if (format.magic !== FORMAT_MAGIC || (this.opts.driveId !== undefined && format.driveId !== this.opts.driveId)) {
      return this.replaced(new Error(`drive ${this.path} holds drive ${format.driveId}, not ${this.opts.driveId}`));
    }
    try {
      const id = await this.rootIdNow();
      // Another directory than the one opened (or never opened): the LMDB env must be reopened.
      if (!this.inner || (this.rootId !== undefined && id !== this.rootId)) await this.reopen();
      else {
        try {
          this.inner.getBucket('\0probe');
        } catch {
          await this.reopen();
        }
      }
      this.rootId = id;
      await this.writeProbeFile(ms);
      const inner = this.inner!;
      await this.bounded(inner.diskInfo(), ms);
      inner.getBucket('\0probe');
    } catch (err) {
      this._lastError = err;
      return false;
    }
    this.markOnline();
    return true;
  }

  private replaced(err: Error): boolean {
    this._lastError = err;
    if (!this.replacedReported) {
      this.replacedReported = true;
      this.emit('offline', 'replaced', err);
    }
    return false;
  }

  private async reopen(): Promise<void> {
    if (!this.opts.reopen) throw new Error(`drive ${this.path} cannot be reopened`);
    const old = this.inner;
    this.inner = undefined;
    if (old) await this.bounded(old.close(), this.metaMs).catch(() => {});
    try {
      this.inner = await this.bounded(this.opts.reopen(this.path), this.metaMs);
    } catch (err) {
      this._lastError = err;
      this.emit('offline', 'open-failed', err);
      throw err;
    }
  }

  /** A small file written, fsynced, read back and removed under .cairn/tmp. */
  private async writeProbeFile(ms: number): Promise<void> {
    const file = join(this.path, '.cairn', 'tmp', `.probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    const data = randomBytes(64);
    const work = (async () => {
      const fh = await open(file, 'w');
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      const back = await readFile(file);
      await rm(file, { force: true });
      if (!back.equals(data)) throw new Error(`drive ${this.path}: probe file read back differently`);
    })();
    await this.bounded(work, ms);
  }

  // ---- Drive ---------------------------------------------------------------

  getBucket(bucket: string): BucketRecord | undefined {
    return this.sync((d) => d.getBucket(bucket));
  }
  listBuckets(): BucketRecord[] {
    return this.sync((d) => d.listBuckets());
  }
  createBucket(rec: BucketRecord): Promise<'created' | 'exists'> {
    return this.call('meta', 'createBucket', (d) => d.createBucket(rec));
  }
  deleteBucket(bucket: string): Promise<boolean> {
    return this.call('meta', 'deleteBucket', (d) => d.deleteBucket(bucket));
  }
  bucketHasContent(bucket: string): boolean {
    return this.sync((d) => d.bucketHasContent(bucket));
  }

  getObject(bucket: string, key: string): ObjectRecord | undefined {
    return this.sync((d) => d.getObject(bucket, key));
  }
  getObjectRaw(bucket: string, key: string): Buffer | undefined {
    return this.sync((d) => d.getObjectRaw(bucket, key));
  }
  getModTime(bucket: string, key: string): number | undefined {
    return this.sync((d) => d.getModTime(bucket, key));
  }
  getListEntry(bucket: string, key: string): string | undefined {
    return this.sync((d) => d.getListEntry(bucket, key));
  }
  commitObject(
    bucket: string,
    key: string,
    rec: ObjectRecord,
    opts?: { conditions?: WriteConditions; completeUpload?: string; encoded?: EncodedObject },
  ): Promise<CommitObjectResult> {
    return this.call('meta', 'commitObject', (d) => d.commitObject(bucket, key, rec, opts));
  }
  restoreObject(bucket: string, key: string, ours: VersionIdentity, previous?: ObjectRecord): Promise<void> {
    return this.call('meta', 'restoreObject', (d) => d.restoreObject(bucket, key, ours, previous));
  }
  deleteObject(bucket: string, key: string, expect?: VersionIdentity): Promise<ObjectRecord | undefined> {
    return this.call('meta', 'deleteObject', (d) => d.deleteObject(bucket, key, expect));
  }
  scanObjects(bucket: string, start: Buffer, prefix: string): Iterable<ScanItem<string>> {
    return this.sync((d) => d.scanObjects(bucket, start, prefix));
  }

  putUpload(rec: UploadRecord): Promise<void> {
    return this.call('meta', 'putUpload', (d) => d.putUpload(rec));
  }
  getUpload(bucket: string, key: string, uploadId: string): UploadRecord | undefined {
    return this.sync((d) => d.getUpload(bucket, key, uploadId));
  }
  deleteUpload(bucket: string, key: string, uploadId: string): Promise<RemovedUpload | undefined> {
    return this.call('meta', 'deleteUpload', (d) => d.deleteUpload(bucket, key, uploadId));
  }
  scanUploads(bucket: string, start: Buffer, prefix: string): IterableIterator<UploadScanItem> {
    return this.sync((d) => d.scanUploads(bucket, start, prefix));
  }
  commitPart(bucket: string, key: string, uploadId: string, rec: PartRecord): Promise<CommitPartResult> {
    return this.call('meta', 'commitPart', (d) => d.commitPart(bucket, key, uploadId, rec));
  }
  restorePart(uploadId: string, ours: PartRecord, previous?: PartRecord): Promise<void> {
    return this.call('meta', 'restorePart', (d) => d.restorePart(uploadId, ours, previous));
  }
  listParts(uploadId: string): PartRecord[] {
    return this.sync((d) => d.listParts(uploadId));
  }

  createShardWriter(tmpId: string, file: string): ShardWriter {
    return this.wrapWriter(this.sync((d) => d.createShardWriter(tmpId, file)));
  }
  commitTmp(tmpId: string, dataDir: string, file?: string): Promise<void> {
    // commitTmp creates data/<2>/ with mkdir -p: never on a path the drive left.
    return this.call('data', 'commitTmp', async (d) => {
      await this.ensureRoot();
      return d.commitTmp(tmpId, dataDir, file);
    });
  }
  removeTmp(tmpId: string): Promise<void> {
    return this.call('meta', 'removeTmp', (d) => d.removeTmp(tmpId));
  }
  async openShardReader(dataDir: string, file: string): Promise<ShardReader> {
    const r = await this.call('data', 'openShardReader', (d) => d.openShardReader(dataDir, file), (late) => void late.close().catch(() => {}));
    return this.wrapReader(r);
  }
  removeDataDir(dataDir: string): Promise<void> {
    return this.call('meta', 'removeDataDir', (d) => d.removeDataDir(dataDir));
  }
  removeDataFile(dataDir: string, file: string): Promise<void> {
    return this.call('meta', 'removeDataFile', (d) => d.removeDataFile(dataDir, file));
  }
  cleanupStaleTmp(): Promise<number> {
    return this.call('meta', 'cleanupStaleTmp', (d) => d.cleanupStaleTmp());
  }
  diskInfo(): Promise<DiskInfo> {
    return this.call('meta', 'diskInfo', (d) => d.diskInfo());
  }

  queueHeal(items: HealQueueItem[]): Promise<void> {
    return this.call('meta', 'queueHeal', (d) => d.queueHeal(items));
  }
  healQueue(limit: number): HealQueueItem[] {
    return this.sync((d) => d.healQueue(limit));
  }
  healQueueSize(): number {
    return this.sync((d) => d.healQueueSize());
  }
  dequeueHeal(items: Array<{ bucket: string; key: string }>): Promise<void> {
    return this.call('meta', 'dequeueHeal', (d) => d.dequeueHeal(items));
  }
  /** Background walk (the healer): each step is timed like a metadata call. */
  async *listDataDirs(): AsyncIterable<DataDirEntry> {
    const it = this.live().listDataDirs()[Symbol.asyncIterator]();
    try {
      for (;;) {
        if (this._state !== 'online') throw this.offlineError();
        const r = await this.timed('meta', 'listDataDirs', () => it.next());
        if (r.done) return;
        yield r.value;
      }
    } finally {
      await it.return?.()?.catch(() => {});
    }
  }
  readSysFile(name: string): Promise<Buffer | undefined> {
    return this.call('meta', 'readSysFile', (d) => d.readSysFile(name));
  }
  writeSysFile(name: string, data: Buffer | undefined): Promise<void> {
    // Writing creates .cairn/sys and tmp with mkdir -p: never on a path the drive left.
    return this.call('meta', 'writeSysFile', async (d) => {
      if (data !== undefined) await this.ensureRoot();
      return d.writeSysFile(name, data);
    });
  }
  listSysFiles(prefix: string): Promise<string[]> {
    return this.call('meta', 'listSysFiles', (d) => d.listSysFiles(prefix));
  }
  objectCount(): number {
    return this.sync((d) => d.objectCount());
  }

  /** Stops the probe and closes the inner drive (whatever its state). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.listeners.clear();
    const inner = this.inner;
    this.inner = undefined;
    await inner?.close();
  }
}

/** True when `d` serves now: present and, if health-checked, online. */
export function driveOnline(d: Drive | null | undefined): d is Drive {
  return !!d && (!(d instanceof CheckedDrive) || d.online);
}
