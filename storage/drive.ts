import type { ShardReader, ShardWriter } from '../erasure/types.js';
import type { WriteConditions } from './object-layer.js';
import type { HealReason } from './heal/types.js';
import type { BucketRecord, ObjectRecord, PartRecord, UploadRecord } from './metadata-record.js';

/**
 * One drive: a directory with its own LMDB metadata env and shard files. The
 * erasure set runs quorum over n of these. Metadata reads and scans are
 * synchronous because LMDB reads are memory-mapped and cost microseconds (a
 * remote drive would wrap them); every mutation is one LMDB write transaction,
 * so compare-and-put decisions are atomic even across processes.
 */

export interface VersionIdentity {
  modTime: number;
  versionId: string;
  dataDir: string;
}

export interface RemovedUpload {
  upload: UploadRecord;
  parts: PartRecord[];
}

export type CommitObjectResult =
  | { status: 'committed'; previous?: ObjectRecord; removedUpload?: RemovedUpload }
  /** A newer version is already there: ours was not stored (its data dir must go). */
  | { status: 'superseded'; removedUpload?: RemovedUpload }
  | { status: 'precondition' }
  | { status: 'upload-missing' };

export type CommitPartResult =
  | { status: 'committed'; previous?: PartRecord }
  | { status: 'superseded' }
  | { status: 'upload-missing' };

/** A record as one drive stores it (prepareObjectRecord), and its list entry. */
export interface EncodedObject {
  value: Buffer;
  entry: Buffer;
}

export interface ScanItem<T> {
  key: string;
  value: T;
}

export interface UploadScanItem {
  key: string;
  uploadId: string;
  upload: UploadRecord;
}

/** A hint that an object may be below full redundancy, persisted in the drive's metadata env. */
export interface HealQueueItem {
  bucket: string;
  key: string;
  reason: HealReason;
  queuedAt: number;
}

/** A data dir on the drive (data/<2>/<dataDir>) and when it was last modified. */
export interface DataDirEntry {
  dataDir: string;
  modifiedMs: number;
}

export interface DiskInfo {
  total: number;
  free: number;
}

export interface Drive {
  readonly path: string;

  getBucket(bucket: string): BucketRecord | undefined;
  listBuckets(): BucketRecord[];
  createBucket(rec: BucketRecord): Promise<'created' | 'exists'>;
  deleteBucket(bucket: string): Promise<boolean>;
  /** True if the bucket holds any object or upload record on this drive. */
  bucketHasContent(bucket: string): boolean;

  getObject(bucket: string, key: string): ObjectRecord | undefined;
  /** The stored record bytes (a copy; metadata-record.ts decodes them). */
  getObjectRaw(bucket: string, key: string): Buffer | undefined;
  /** Modification time of the stored record, read from its small list entry. */
  getModTime(bucket: string, key: string): number | undefined;
  /** The stored list entry as a latin1 string (decodeListEntryLatin1), as scanObjects yields them. */
  getListEntry(bucket: string, key: string): string | undefined;
  /**
   * Compare-and-put in one transaction: conditions, then keep the greater version.
   * `encoded` (prepareObjectRecord of `rec`) saves encoding the record once per drive.
   */
  commitObject(
    bucket: string,
    key: string,
    rec: ObjectRecord,
    opts?: { conditions?: WriteConditions; completeUpload?: string; encoded?: EncodedObject },
  ): Promise<CommitObjectResult>;
  /** Rollback: if the current record is `ours`, put `previous` back (or remove the key). */
  restoreObject(bucket: string, key: string, ours: VersionIdentity, previous?: ObjectRecord): Promise<void>;
  /** Remove the record (only `expect` if given); returns what was removed. */
  deleteObject(bucket: string, key: string, expect?: VersionIdentity): Promise<ObjectRecord | undefined>;
  /**
   * List entries with key bytes ≥ start and key starting with prefix, in UTF-8
   * byte order. Each value is the encoded entry as a latin1 string
   * (decodeListEntryLatin1): equal versions give equal strings, so a merge
   * compares drives with `===` and decodes only what it lists, and no Buffer
   * is made per drive per key. Lazy: call return() on the iterator when done.
   */
  scanObjects(bucket: string, start: Buffer, prefix: string): Iterable<ScanItem<string>>;

  putUpload(rec: UploadRecord): Promise<void>;
  getUpload(bucket: string, key: string, uploadId: string): UploadRecord | undefined;
  /** Removes the upload and its part records; returns them. */
  deleteUpload(bucket: string, key: string, uploadId: string): Promise<RemovedUpload | undefined>;
  /** Uploads in (key, uploadId) order, `key\0uploadId` bytes ≥ start, key starting with prefix. Lazy. */
  scanUploads(bucket: string, start: Buffer, prefix: string): IterableIterator<UploadScanItem>;
  commitPart(bucket: string, key: string, uploadId: string, rec: PartRecord): Promise<CommitPartResult>;
  restorePart(uploadId: string, ours: PartRecord, previous?: PartRecord): Promise<void>;
  listParts(uploadId: string): PartRecord[];

  /** Writer of `<tmp>/<tmpId>/<file>`; nothing is visible until commitTmp. */
  createShardWriter(tmpId: string, file: string): ShardWriter;
  /** Move `<tmp>/<tmpId>` to `data/<2>/<dataDir>` (whole dir) or, with `file`, that one file into an existing data dir. */
  commitTmp(tmpId: string, dataDir: string, file?: string): Promise<void>;
  removeTmp(tmpId: string): Promise<void>;
  /** Opens the file now, so a later unlink cannot break the read. */
  openShardReader(dataDir: string, file: string): Promise<ShardReader>;
  removeDataDir(dataDir: string): Promise<void>;
  removeDataFile(dataDir: string, file: string): Promise<void>;
  /** Remove tmp dirs left by dead processes. */
  cleanupStaleTmp(): Promise<number>;
  diskInfo(): Promise<DiskInfo>;

  // ---- healing (storage/heal) ----
  /** Add heal hints (one per bucket/key: a later hint replaces an earlier one). */
  queueHeal(items: HealQueueItem[]): Promise<void>;
  /** Up to `limit` hints in (bucket, key) order. */
  healQueue(limit: number): HealQueueItem[];
  healQueueSize(): number;
  dequeueHeal(items: Array<{ bucket: string; key: string }>): Promise<void>;
  /** Every data dir (objects' and uploads'), lazily. */
  listDataDirs(): AsyncIterable<DataDirEntry>;
  /** Small system files under .cairn/sys (heal trackers, status); written atomically and synced; undefined removes. */
  readSysFile(name: string): Promise<Buffer | undefined>;
  writeSysFile(name: string, data: Buffer | undefined): Promise<void>;
  /** Names of the sys files starting with `prefix` (finished writes only, no temporaries). */
  listSysFiles(prefix: string): Promise<string[]>;
  /** Object records on this drive, all buckets (cheap: a B-tree statistic), for heal ETAs. */
  objectCount(): number;

  close(): Promise<void>;
}
