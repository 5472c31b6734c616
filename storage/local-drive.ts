import { randomBytes } from 'node:crypto';
import { mkdir, open, opendir, readdir, readFile, rename, rm, stat, statfs, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { open as openLmdb, type Database, type RootDatabase } from 'lmdb';
import type { ShardReader, ShardWriter } from '../erasure/types.js';
import type { WriteConditions } from './object-layer.js';
import type { HealReason } from './heal/types.js';
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
import {
  compareVersions,
  decodeBucketRecord,
  decodeListEntry,
  decodeObjectRecord,
  decodePartRecord,
  decodeUploadRecord,
  encodeBucketRecord,
  encodeListEntry,
  encodeObjectRecord,
  encodePartRecord,
  encodeUploadRecord,
  listEntryOf,
  sameVersion,
  type BucketRecord,
  type ObjectRecord,
  type PartRecord,
  type UploadRecord,
} from './metadata-record.js';

/**
 * A drive that is a local directory:
 *   .cairn/format.json    (format.ts)
 *   .cairn/meta/          LMDB env: dbs buckets, objects (full records), objlist
 *                         (small list entries, same keys), uploads, parts,
 *                         healq (heal hints)
 *   .cairn/sys/           small system files (heal trackers), replaced atomically
 *   .cairn/tmp/<pid>-<r>/ this process's in-flight writes
 *   data/<2>/<dataDir>/   shard files, named by random uuids only
 * LMDB runs with its default durable commits (never noSync): a committed
 * record survives kill -9.
 */

const SEP = '\0';
const enc = (s: string) => Buffer.from(s, 'utf8');
const objKey = (bucket: string, key: string) => enc(bucket + SEP + key);
const uploadKey = (bucket: string, key: string, uploadId: string) => enc(bucket + SEP + key + SEP + uploadId);
/** Shard bytes written between early fdatasyncs (see createShardWriter). */
const EARLY_SYNC_BYTES = 4 * 1024 * 1024;
function partKey(uploadId: string, n: number): Buffer {
  const b = Buffer.allocUnsafe(Buffer.byteLength(uploadId) + 5);
  const o = b.write(uploadId + SEP, 'utf8');
  b.writeUInt32BE(n, o);
  return b;
}

/**
 * Codecs of the read-only `objlist` handle used by listing: keys come back as
 * the object key string (after `bucket\0`), values as latin1 strings of the
 * entry bytes, both sliced straight out of LMDB's shared read buffer. That is
 * ~4× cheaper per entry than binary keys and values (a Buffer copy each).
 */
type RawBytes = Buffer & { utf8Slice(s: number, e: number): string; latin1Slice(s: number, e: number): string };
const objectKeyCodec = {
  writeKey(key: Buffer, target: Buffer, start: number): number {
    target.set(key, start);
    return start + key.length;
  },
  readKey(t: RawBytes, start: number, end: number): string {
    let z = start;
    while (z < end && t[z] !== 0) z++;
    return t.utf8Slice(z + 1, end);
  },
};
const latin1Values = {
  encode(v: Buffer): Buffer {
    return v;
  },
  decode(bytes: RawBytes, size?: unknown): string {
    return bytes.latin1Slice(0, typeof size === 'number' ? size : bytes.length);
  },
};

/** Smallest byte string greater than every string that starts with `p`. */
export function successor(p: Buffer): Buffer {
  const b = Buffer.from(p);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      b[i]!++;
      return b.subarray(0, i + 1);
    }
  }
  throw new Error('no successor');
}

/** `base` + the greater of `start` and `prefix` (byte order). */
function rangeStart(base: string, start: Buffer, prefix: string): Buffer {
  const p = enc(prefix);
  return Buffer.concat([enc(base), Buffer.compare(start, p) > 0 ? start : p]);
}

function conditionsHold(cur: ObjectRecord | undefined, c: WriteConditions | undefined): boolean {
  if (!c) return true;
  if (c.ifNoneMatch === '*' && cur) return false;
  if (c.ifMatch !== undefined) {
    if (!cur) return false;
    if (c.ifMatch !== '*' && c.ifMatch !== cur.etag) return false;
  }
  return true;
}

/** A removed upload as stored bytes (encodeUploadRecord / encodePartRecord), for the IPC channel. */
export interface EncodedRemovedUpload {
  upload: Buffer;
  parts: Buffer[];
}

/** CommitObjectResult with records as stored bytes (LocalDrive.commitObjectEncoded). */
export type EncodedCommitResult =
  | { status: 'committed'; previous?: Buffer; removedUpload?: EncodedRemovedUpload }
  | { status: 'superseded'; removedUpload?: EncodedRemovedUpload }
  | { status: 'precondition' }
  | { status: 'upload-missing' };

function encodeRemovedUpload(r: RemovedUpload): EncodedRemovedUpload {
  return { upload: encodeUploadRecord(r.upload), parts: r.parts.map(encodePartRecord) };
}

export function decodeRemovedUpload(r: EncodedRemovedUpload): RemovedUpload {
  return { upload: decodeUploadRecord(r.upload), parts: r.parts.map((p) => decodePartRecord(p)) };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class LocalDrive implements Drive {
  private readonly env: RootDatabase;
  private readonly buckets: Database<Buffer, Buffer>;
  private readonly objects: Database<Buffer, Buffer>;
  private readonly objlist: Database<Buffer, Buffer>;
  /** The same `objlist` db, read with objectKeyCodec / latin1Values (listing). */
  private readonly objlistText: Database<string, Buffer>;
  /** Decoded bucket records by name with the bytes they came from, so a request decodes none. */
  private readonly bucketCache = new Map<string, { raw: Buffer; rec: BucketRecord }>();
  private readonly uploads: Database<Buffer, Buffer>;
  private readonly parts: Database<Buffer, Buffer>;
  /** Heal hints (storage/heal/heal-queue.ts), `bucket\0key` → encodeHealValue. */
  private readonly healq: Database<Buffer, Buffer>;
  private readonly tmpRoot: string;
  private readonly dataRoot: string;
  private readonly madeDirs = new Set<string>();

  private constructor(readonly path: string, readonly tmpName: string) {
    this.env = openLmdb({ path: join(path, '.cairn', 'meta'), maxDbs: 8 });
    const opts = { encoding: 'binary', keyEncoding: 'binary' } as const;
    this.buckets = this.env.openDB({ name: 'buckets', ...opts }) as unknown as Database<Buffer, Buffer>;
    this.objects = this.env.openDB({ name: 'objects', ...opts }) as unknown as Database<Buffer, Buffer>;
    this.objlist = this.env.openDB({ name: 'objlist', ...opts }) as unknown as Database<Buffer, Buffer>;
    // Custom codecs are supported by lmdb-js but absent from its option types.
    const textOpts = { name: 'objlist', encoder: latin1Values, keyEncoder: objectKeyCodec } as unknown as { name: string };
    this.objlistText = this.env.openDB(textOpts) as unknown as Database<string, Buffer>;
    this.uploads = this.env.openDB({ name: 'uploads', ...opts }) as unknown as Database<Buffer, Buffer>;
    this.parts = this.env.openDB({ name: 'parts', ...opts }) as unknown as Database<Buffer, Buffer>;
    this.healq = this.env.openDB({ name: 'healq', ...opts }) as unknown as Database<Buffer, Buffer>;
    this.tmpRoot = join(path, '.cairn', 'tmp', tmpName);
    this.dataRoot = join(path, 'data');
  }

  /** Opens the metadata env and this process's tmp dir; the drive must already be formatted. */
  static async open(path: string): Promise<LocalDrive> {
    await mkdir(join(path, '.cairn', 'meta'), { recursive: true });
    const d = new LocalDrive(path, `${process.pid}-${randomBytes(6).toString('hex')}`);
    await mkdir(d.tmpRoot, { recursive: true });
    await mkdir(d.dataRoot, { recursive: true });
    return d;
  }

  // ---- buckets -------------------------------------------------------------

  /** The returned record is shared between calls: do not modify it. */
  getBucket(bucket: string): BucketRecord | undefined {
    const raw = this.buckets.get(enc(bucket));
    if (!raw) {
      this.bucketCache.delete(bucket);
      return undefined;
    }
    const hit = this.bucketCache.get(bucket);
    if (hit && hit.raw.equals(raw)) return hit.rec;
    const rec = decodeBucketRecord(raw);
    if (this.bucketCache.size > 10_000) this.bucketCache.clear();
    this.bucketCache.set(bucket, { raw, rec });
    return rec;
  }

  listBuckets(): BucketRecord[] {
    const out: BucketRecord[] = [];
    for (const { value } of this.buckets.getRange({})) out.push(decodeBucketRecord(value));
    return out;
  }

  createBucket(rec: BucketRecord): Promise<'created' | 'exists'> {
    const k = enc(rec.name);
    return this.env.transaction(() => {
      if (this.buckets.get(k)) return 'exists' as const;
      void this.buckets.put(k, encodeBucketRecord(rec));
      return 'created' as const;
    });
  }

  deleteBucket(bucket: string): Promise<boolean> {
    return this.buckets.remove(enc(bucket));
  }

  bucketHasContent(bucket: string): boolean {
    const start = enc(bucket + SEP);
    const end = successor(start);
    for (const db of [this.objlist, this.uploads]) {
      for (const _ of db.getKeys({ start, end, limit: 1 })) return true;
    }
    return false;
  }

  // ---- objects -------------------------------------------------------------

  getObject(bucket: string, key: string): ObjectRecord | undefined {
    const v = this.objects.get(objKey(bucket, key));
    return v ? decodeObjectRecord(v) : undefined;
  }

  getObjectRaw(bucket: string, key: string): Buffer | undefined {
    return this.objects.get(objKey(bucket, key));
  }

  getModTime(bucket: string, key: string): number | undefined {
    // The fast read returns LMDB's shared buffer: read the field before anything else reads.
    const v = this.objlist.getBinaryFast(objKey(bucket, key));
    if (!v) return undefined;
    if (v.length < 20 || v[0] !== 0x43 || v[1] !== 0x52 || v[2] !== 0x4c || v[3] !== 1) throw new Error('not a list entry');
    return v.readDoubleLE(4);
  }

  getListEntry(bucket: string, key: string): string | undefined {
    return this.objlistText.get(objKey(bucket, key));
  }

  commitObject(
    bucket: string,
    key: string,
    rec: ObjectRecord,
    opts: { conditions?: WriteConditions; completeUpload?: string; encoded?: EncodedObject } = {},
  ): Promise<CommitObjectResult> {
    const value = opts.encoded?.value ?? encodeObjectRecord(rec);
    const entry = opts.encoded?.entry ?? encodeListEntry(listEntryOf(rec));
    return this.env.transaction(() => this.commitObjectInTxn(bucket, key, rec, value, entry, opts).result);
  }

  /**
   * commitObject for a committer serving other processes (storage/commit-host.ts): the
   * record comes as stored bytes and the previous record and removed upload go back as
   * bytes, so nothing but Buffers crosses the IPC channel.
   */
  commitObjectEncoded(
    bucket: string,
    key: string,
    encoded: EncodedObject,
    opts: { conditions?: WriteConditions; completeUpload?: string } = {},
  ): Promise<EncodedCommitResult> {
    // Only the version identity is compared: the list entry has it and is cheap to decode.
    const ours = decodeListEntry(encoded.entry);
    return this.env.transaction((): EncodedCommitResult => {
      const { result, raw } = this.commitObjectInTxn(bucket, key, ours, encoded.value, encoded.entry, opts);
      const removedUpload = 'removedUpload' in result && result.removedUpload ? encodeRemovedUpload(result.removedUpload) : undefined;
      switch (result.status) {
        case 'committed':
          return { status: 'committed', ...(raw ? { previous: raw } : {}), ...(removedUpload ? { removedUpload } : {}) };
        case 'superseded':
          return { status: 'superseded', ...(removedUpload ? { removedUpload } : {}) };
        default:
          return result;
      }
    });
  }

  /** The compare-and-put, inside a write transaction; `raw` is the previous record's bytes. */
  private commitObjectInTxn(
    bucket: string,
    key: string,
    ours: { modTime: number; versionId: string; dataDir: string },
    value: Buffer,
    entry: Buffer,
    opts: { conditions?: WriteConditions; completeUpload?: string },
  ): { result: CommitObjectResult; raw?: Buffer } {
    const k = objKey(bucket, key);
    let removedUpload: RemovedUpload | undefined;
    if (opts.completeUpload !== undefined) {
      if (!this.uploads.get(uploadKey(bucket, key, opts.completeUpload))) return { result: { status: 'upload-missing' } };
    }
    const raw = this.objects.get(k);
    const cur = raw ? decodeObjectRecord(raw) : undefined;
    if (!conditionsHold(cur, opts.conditions)) return { result: { status: 'precondition' } };
    if (opts.completeUpload !== undefined) removedUpload = this.removeUploadInTxn(bucket, key, opts.completeUpload);
    if (cur && compareVersions(cur, ours) >= 0) return { result: { status: 'superseded', removedUpload } };
    void this.objects.put(k, value);
    void this.objlist.put(k, entry);
    return { result: { status: 'committed', previous: cur, removedUpload }, ...(raw ? { raw } : {}) };
  }

  restoreObject(bucket: string, key: string, ours: VersionIdentity, previous?: ObjectRecord): Promise<void> {
    return this.restoreObjectEncoded(bucket, key, ours, previous ? { value: encodeObjectRecord(previous), entry: encodeListEntry(listEntryOf(previous)) } : undefined);
  }

  /** restoreObject with the previous record as stored bytes (a committer serving other processes). */
  restoreObjectEncoded(bucket: string, key: string, ours: VersionIdentity, previous?: EncodedObject): Promise<void> {
    const k = objKey(bucket, key);
    return this.env.transaction(() => {
      const raw = this.objects.get(k);
      if (!raw || !sameVersion(decodeObjectRecord(raw), ours)) return;
      if (previous) {
        void this.objects.put(k, previous.value);
        void this.objlist.put(k, previous.entry);
      } else {
        void this.objects.remove(k);
        void this.objlist.remove(k);
      }
    });
  }

  async deleteObject(bucket: string, key: string, expect?: VersionIdentity): Promise<ObjectRecord | undefined> {
    const raw = await this.deleteObjectEncoded(bucket, key, expect);
    return raw ? decodeObjectRecord(raw) : undefined;
  }

  /** deleteObject returning the removed record's bytes (a committer serving other processes). */
  deleteObjectEncoded(bucket: string, key: string, expect?: VersionIdentity): Promise<Buffer | undefined> {
    const k = objKey(bucket, key);
    return this.env.transaction(() => {
      const raw = this.objects.get(k);
      if (!raw) return undefined;
      if (expect && !sameVersion(decodeObjectRecord(raw), expect)) return undefined;
      void this.objects.remove(k);
      void this.objlist.remove(k);
      return raw;
    });
  }

  scanObjects(bucket: string, start: Buffer, prefix: string): Iterable<ScanItem<string>> {
    const base = bucket + SEP;
    const lo = rangeStart(base, start, prefix);
    const hi = successor(enc(base + prefix));
    // Keys and values are strings made by the codecs (not views of LMDB's buffer): safe to keep.
    return this.objlistText.getRange({ start: lo, end: hi }) as unknown as Iterable<ScanItem<string>>;
  }

  // ---- multipart -----------------------------------------------------------

  async putUpload(rec: UploadRecord): Promise<void> {
    await this.uploads.put(uploadKey(rec.bucket, rec.key, rec.uploadId), encodeUploadRecord(rec));
  }

  getUpload(bucket: string, key: string, uploadId: string): UploadRecord | undefined {
    const v = this.uploads.get(uploadKey(bucket, key, uploadId));
    return v ? decodeUploadRecord(v) : undefined;
  }

  private removeUploadInTxn(bucket: string, key: string, uploadId: string): RemovedUpload | undefined {
    const uk = uploadKey(bucket, key, uploadId);
    const raw = this.uploads.get(uk);
    if (!raw) return undefined;
    const parts: PartRecord[] = [];
    const start = enc(uploadId + SEP);
    for (const { key: pk, value } of this.parts.getRange({ start, end: successor(start) })) {
      parts.push(decodePartRecord(value));
      void this.parts.remove(Buffer.from(pk));
    }
    void this.uploads.remove(uk);
    return { upload: decodeUploadRecord(raw), parts };
  }

  deleteUpload(bucket: string, key: string, uploadId: string): Promise<RemovedUpload | undefined> {
    return this.env.transaction(() => this.removeUploadInTxn(bucket, key, uploadId));
  }

  *scanUploads(bucket: string, start: Buffer, prefix: string): IterableIterator<UploadScanItem> {
    const base = bucket + SEP;
    const lo = rangeStart(base, start, prefix);
    const hi = successor(enc(base + prefix));
    for (const { value } of this.uploads.getRange({ start: lo, end: hi })) {
      const upload = decodeUploadRecord(value);
      yield { key: upload.key, uploadId: upload.uploadId, upload };
    }
  }

  commitPart(bucket: string, key: string, uploadId: string, rec: PartRecord): Promise<CommitPartResult> {
    const pk = partKey(uploadId, rec.number);
    const value = encodePartRecord(rec);
    return this.env.transaction((): CommitPartResult => {
      if (!this.uploads.get(uploadKey(bucket, key, uploadId))) return { status: 'upload-missing' };
      const raw = this.parts.get(pk);
      const cur = raw ? decodePartRecord(raw) : undefined;
      if (cur && comparePartWrites(cur, rec) >= 0) return { status: 'superseded' };
      void this.parts.put(pk, value);
      return { status: 'committed', previous: cur };
    });
  }

  restorePart(uploadId: string, ours: PartRecord, previous?: PartRecord): Promise<void> {
    const pk = partKey(uploadId, ours.number);
    return this.env.transaction(() => {
      const raw = this.parts.get(pk);
      if (!raw || comparePartWrites(decodePartRecord(raw), ours) !== 0) return;
      if (previous) void this.parts.put(pk, encodePartRecord(previous));
      else void this.parts.remove(pk);
    });
  }

  listParts(uploadId: string): PartRecord[] {
    const start = enc(uploadId + SEP);
    const out: PartRecord[] = [];
    for (const { value } of this.parts.getRange({ start, end: successor(start) })) out.push(decodePartRecord(value));
    return out;
  }

  // ---- shard files ---------------------------------------------------------

  private dataDirPath(dataDir: string): string {
    if (!/^[0-9a-f-]{8,64}$/.test(dataDir)) throw new Error(`invalid data dir name ${JSON.stringify(dataDir)}`);
    return join(this.dataRoot, dataDir.slice(0, 2), dataDir);
  }

  private checkFile(file: string): string {
    if (!/^part\.\d+(\.[0-9a-f]+)?$/.test(file)) throw new Error(`invalid shard file name ${JSON.stringify(file)}`);
    return file;
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    if ((await mkdir(dir, { recursive: true })) !== undefined) await fsyncDir(dirname(dir));
    this.madeDirs.add(dir);
  }

  createShardWriter(tmpId: string, file: string): ShardWriter {
    const dir = join(this.tmpRoot, tmpId);
    const path = join(dir, this.checkFile(file));
    let fh: FileHandle | undefined;
    let opening: Promise<FileHandle> | undefined;
    const handle = () =>
      (opening ??= mkdir(dir, { recursive: true }).then(async () => (fh = await open(path, 'w'))));
    // Early writeback: with the default dirty-page limits nothing reaches the disk until the final
    // fdatasync, which then flushes the whole shard while the CPU idles (~75 ms of a ~260 ms 64 MiB PUT
    // here, one PUT in flight; ~25 ms with this).
    // Every EARLY_SYNC_BYTES an fdatasync starts beside the writes (never more than one per file),
    // so the disk works while the encoder does and the final one only flushes the tail. Node has
    // no sync_file_range; fdatasync is what starts writeback. Its error is kept and fails finish():
    // after a failed fsync the kernel may have dropped the dirty pages, so the shard is not durable.
    let unsynced = 0;
    let syncing: Promise<void> | undefined;
    let syncError: unknown;
    const wrote = (h: FileHandle, n: number) => {
      unsynced += n;
      if (unsynced < EARLY_SYNC_BYTES || syncing) return;
      unsynced = 0;
      syncing = h.datasync().then(
        () => void (syncing = undefined),
        (err: unknown) => void ((syncError ??= err), (syncing = undefined)),
      );
    };
    return {
      async write(chunk: Buffer) {
        const h = fh ?? (await handle());
        let off = 0;
        while (off < chunk.length) off += (await h.write(chunk, off, chunk.length - off)).bytesWritten;
        wrote(h, chunk.length);
      },
      // One pwritev per call (the encoder's [hash][block] frames, several stripes at a time); short writes continue.
      async writev(chunks: Buffer[]) {
        const h = fh ?? (await handle());
        let list = chunks.filter((c) => c.length > 0);
        let total = 0;
        while (list.length > 0) {
          let n = (await h.writev(list)).bytesWritten;
          total += n;
          let i = 0;
          while (i < list.length && n >= list[i]!.length) n -= list[i++]!.length;
          list = list.slice(i);
          if (n > 0) list[0] = list[0]!.subarray(n);
        }
        wrote(h, total);
      },
      async finish() {
        const h = await handle();
        await syncing;
        if (syncError !== undefined) throw syncError;
        await h.datasync();
        await h.close();
        fh = undefined;
      },
      abort: async () => {
        await syncing;
        await fh?.close().catch(() => {});
        fh = undefined;
        await rm(dir, { recursive: true, force: true });
      },
    };
  }

  async commitTmp(tmpId: string, dataDir: string, file?: string): Promise<void> {
    const target = this.dataDirPath(dataDir);
    if (file === undefined) {
      await this.ensureDir(join(this.dataRoot, dataDir.slice(0, 2)));
      await rename(join(this.tmpRoot, tmpId), target);
      // The metadata record committed next must never point at a rename a power loss undid.
      await fsyncDir(dirname(target));
      return;
    }
    if ((await mkdir(target, { recursive: true })) !== undefined) await fsyncDir(dirname(target));
    await rename(join(this.tmpRoot, tmpId, this.checkFile(file)), join(target, file));
    await fsyncDir(target);
    await rm(join(this.tmpRoot, tmpId), { recursive: true, force: true });
  }

  async removeTmp(tmpId: string): Promise<void> {
    await rm(join(this.tmpRoot, tmpId), { recursive: true, force: true });
  }

  async openShardReader(dataDir: string, file: string): Promise<ShardReader> {
    const fh = await open(join(this.dataDirPath(dataDir), this.checkFile(file)), 'r');
    return {
      async readAt(offset: number, length: number) {
        const buf = Buffer.allocUnsafe(length);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
          if (bytesRead === 0) throw new Error(`shard file truncated: wanted ${length} bytes at ${offset}`);
          got += bytesRead;
        }
        return buf;
      },
      // preadv straight into the decoder's output chunks; short reads continue where they stopped.
      async readv(offset: number, targets: Buffer[]) {
        let list = targets.filter((t) => t.length > 0);
        let pos = offset;
        while (list.length > 0) {
          const { bytesRead } = await fh.readv(list, pos);
          if (bytesRead === 0) throw new Error(`shard file truncated: short read at ${pos}`);
          pos += bytesRead;
          let n = bytesRead;
          let i = 0;
          while (i < list.length && n >= list[i]!.length) n -= list[i++]!.length;
          list = list.slice(i);
          if (n > 0) list[0] = list[0]!.subarray(n);
        }
      },
      close: () => fh.close(),
    };
  }

  async removeDataDir(dataDir: string): Promise<void> {
    await rm(this.dataDirPath(dataDir), { recursive: true, force: true });
  }

  async removeDataFile(dataDir: string, file: string): Promise<void> {
    await rm(join(this.dataDirPath(dataDir), this.checkFile(file)), { force: true });
  }

  async cleanupStaleTmp(): Promise<number> {
    const root = join(this.path, '.cairn', 'tmp');
    let removed = 0;
    for (const name of await readdir(root).catch(() => [] as string[])) {
      if (name === this.tmpName) continue;
      const pid = Number(name.split('-')[0]);
      // Our own pid with another suffix is a previous incarnation (pid reuse, containers).
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) continue;
      await rm(join(root, name), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  async diskInfo(): Promise<DiskInfo> {
    const s = await statfs(this.path);
    return { total: s.blocks * s.bsize, free: s.bavail * s.bsize };
  }

  // ---- healing ---------------------------------------------------------------

  /** Heal hints are few and small: key `bucket\0key`, value a tiny versioned JSON. */
  async queueHeal(items: HealQueueItem[]): Promise<void> {
    if (items.length === 0) return;
    // One write transaction for the batch: one fsync however many hints.
    await this.env.transaction(() => {
      for (const it of items) void this.healq.put(objKey(it.bucket, it.key), encodeHealValue(it));
    });
  }

  healQueue(limit: number): HealQueueItem[] {
    const out: HealQueueItem[] = [];
    if (limit <= 0) return out;
    for (const { key, value } of this.healq.getRange({ limit })) {
      const item = decodeHealItem(key, value);
      if (item) out.push(item);
    }
    return out;
  }

  healQueueSize(): number {
    // The db's own entry count (mdb_stat): no scan.
    return (this.healq.getStats() as { entryCount?: number }).entryCount ?? 0;
  }

  async dequeueHeal(items: Array<{ bucket: string; key: string }>): Promise<void> {
    if (items.length === 0) return;
    await this.env.transaction(() => {
      for (const it of items) void this.healq.remove(objKey(it.bucket, it.key));
    });
  }

  /** data/<2>/<dataDir>, read with opendir so a drive of millions of dirs is never listed at once. */
  async *listDataDirs(): AsyncIterable<DataDirEntry> {
    const top = await opendir(this.dataRoot).catch(() => undefined);
    if (!top) return;
    for await (const a of top) {
      if (!a.isDirectory() || a.name.length !== 2) continue;
      const sub = await opendir(join(this.dataRoot, a.name)).catch(() => undefined);
      if (!sub) continue;
      for await (const b of sub) {
        if (!b.isDirectory()) continue;
        // Removed between the listing and the stat (a concurrent delete): not there any more.
        const st = await stat(join(this.dataRoot, a.name, b.name)).catch(() => undefined);
        if (st) yield { dataDir: b.name, modifiedMs: st.mtimeMs };
      }
    }
  }

  private sysPath(name: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name === '.' || name === '..') {
      throw new Error(`invalid system file name ${JSON.stringify(name)}`);
    }
    return join(this.path, '.cairn', 'sys', name);
  }

  async readSysFile(name: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.sysPath(name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /**
   * Whole new content or nothing: written in this process's tmp dir (same file
   * system, removed with the tmp dir if we die), fsynced, renamed over the old
   * file, and the rename made durable by syncing the directory.
   */
  async writeSysFile(name: string, data: Buffer | undefined): Promise<void> {
    const target = this.sysPath(name);
    const dir = dirname(target);
    if (data === undefined) {
      await rm(target, { force: true });
      await fsyncDir(dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      return;
    }
    await this.ensureDir(dir);
    await mkdir(this.tmpRoot, { recursive: true });
    const tmp = join(this.tmpRoot, `sys-${randomBytes(8).toString('hex')}`);
    try {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(data);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    await fsyncDir(dir);
  }

  async close(): Promise<void> {
    await this.env.close();
    await rm(this.tmpRoot, { recursive: true, force: true }).catch(() => {});
  }

  // ---- healing: listing sys files and counting records (storage/heal, helper B2) ----
  async listSysFiles(prefix: string): Promise<string[]> {
    const names = await readdir(join(this.path, '.cairn', 'sys')).catch(() => [] as string[]);
    // Finished files only: temporaries of an atomic write do not end in .json.
    return names.filter((n) => n.startsWith(prefix) && n.endsWith('.json')).sort();
  }

  objectCount(): number {
    return (this.objects.getStats() as { entryCount?: number }).entryCount ?? 0;
  }
}

function comparePartWrites(a: PartRecord, b: PartRecord): number {
  if (a.modTime !== b.modTime) return a.modTime < b.modTime ? -1 : 1;
  return a.writeId < b.writeId ? -1 : a.writeId > b.writeId ? 1 : 0;
}

const HEAL_REASONS: ReadonlySet<string> = new Set<HealReason>(['read', 'write', 'delete', 'scanner', 'rebuild', 'admin']);

/** Heal queue value: JSON with a version, small and readable with any tool. */
function encodeHealValue(it: HealQueueItem): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, reason: it.reason, queuedAt: it.queuedAt }), 'utf8');
}

/** Undefined for an entry this version cannot read (a later format): skipped, never fatal. */
function decodeHealItem(key: Buffer, value: Buffer): HealQueueItem | undefined {
  const z = key.indexOf(0);
  if (z < 0) return undefined;
  try {
    const v = JSON.parse(value.toString('utf8')) as { v?: number; reason?: string; queuedAt?: number };
    if (v.v !== 1 || !HEAL_REASONS.has(v.reason ?? '')) return undefined;
    return {
      bucket: key.toString('utf8', 0, z),
      key: key.toString('utf8', z + 1),
      reason: v.reason as HealReason,
      queuedAt: typeof v.queuedAt === 'number' ? v.queuedAt : 0,
    };
  } catch {
    return undefined;
  }
}

/** Make a directory's entries (renames, new children) durable: ext4 happens to, XFS and btrfs do not. */
async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
