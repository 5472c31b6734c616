import type { HealOptions, HealRequest, HealStatus, HealSweepStatus } from './heal/types.js';
import type { Readable } from 'node:stream';

/**
 * The object layer: everything the S3 front end may ask of storage. Nothing here
 * knows HTTP. Bodies are streams in and out, every call takes an AbortSignal,
 * and failures are ObjectLayerError (storage/errors.ts).
 */

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';
export type ChecksumType = 'FULL_OBJECT' | 'COMPOSITE';
/** Base64 checksum values by algorithm, as S3 sends and returns them. */
export type Checksums = Partial<Record<ChecksumAlgorithm, string>>;

/** System headers stored with the object and returned on GET/HEAD. */
export interface ContentHeaders {
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: string;
}

/**
 * Server-side encryption asked for by a write (SSE-S3, SSE-KMS, SSE-C), or the
 * customer key a read of an SSE-C object must present (only `SSE-C` matters
 * for reads). No request on a write: the bucket default, then the server-wide
 * setting, decide.
 */
export type SseRequest =
  | { type: 'SSE-S3' }
  | { type: 'SSE-KMS'; keyId?: string; context?: Record<string, string> }
  | { type: 'SSE-C'; customerKey: Buffer };

/** How a stored object is encrypted, for the response headers. */
export interface SseInfo {
  algorithm: 'SSE-S3' | 'SSE-KMS' | 'SSE-C';
  kmsKeyId?: string;
  kmsContext?: Record<string, string>;
}

/** Bucket default encryption (PutBucketEncryption); one rule, as AWS allows. */
export interface BucketEncryption {
  algorithm: 'SSE-S3' | 'SSE-KMS';
  kmsKeyId?: string;
  bucketKeyEnabled?: boolean;
}

export interface BucketInfo {
  name: string;
  created: Date;
}

export interface PartInfo {
  partNumber: number;
  size: number;
  /** Hex MD5 of the part, without quotes. */
  etag: string;
  modTime: Date;
  checksums: Checksums;
}

export interface ObjectInfo {
  bucket: string;
  key: string;
  /** Set on every record, versioned bucket or not; 'null' is what S3 shows for unversioned writes. */
  versionId: string;
  size: number;
  /** Without quotes: hex MD5, or `<hex md5 of part md5s>-N` for multipart. */
  etag: string;
  modTime: Date;
  headers: ContentHeaders;
  /** `x-amz-meta-*` without the prefix, names lower-cased. */
  userMetadata: Record<string, string>;
  storageClass: string;
  checksums: Checksums;
  checksumType?: ChecksumType;
  /** Present for multipart objects, in part-number order. */
  parts?: PartInfo[];
  /** Present for encrypted objects; `size` stays the plaintext size. */
  sse?: SseInfo;
}

export interface ByteRange {
  /** Inclusive start and end offsets, already resolved against the object size. */
  start: number;
  end: number;
}

/** What the caller wants verified or computed while the body streams. */
export interface ChecksumRequest {
  algorithm: ChecksumAlgorithm;
  /**
   * Expected base64 value: a string when it came in a header, a function when it
   * arrives after the body (aws-chunked trailer) and is only known once the stream ends.
   * Absent: compute and store only. Mismatch → BadDigest, nothing committed.
   */
  expected?: string | (() => string | undefined);
  type?: ChecksumType;
}

export interface WriteConditions {
  /** Only write if the current object's ETag equals this (quotes stripped). */
  ifMatch?: string;
  /** '*': only write if no object exists. */
  ifNoneMatch?: '*';
}

export interface PutObjectOptions {
  /** Declared size in bytes, when known. A stream that ends short or runs long → IncompleteBody. */
  size?: number;
  headers?: ContentHeaders;
  userMetadata?: Record<string, string>;
  storageClass?: string;
  /** Base64 Content-MD5 to verify. */
  contentMd5?: string;
  checksum?: ChecksumRequest;
  conditions?: WriteConditions;
  sse?: SseRequest;
  signal?: AbortSignal;
}

export interface GetObjectOptions {
  range?: ByteRange;
  /** 1-based; serves only that part of a multipart object. */
  partNumber?: number;
  /** The customer key of an SSE-C object. */
  sse?: SseRequest;
  signal?: AbortSignal;
}

export interface GetObjectResult {
  info: ObjectInfo;
  /** Streams the requested bytes; errors (never wrong bytes) if data cannot be reconstructed. */
  stream: Readable;
  /** The range served, when a range or part was requested. */
  range?: ByteRange;
}

export interface ListObjectsOptions {
  prefix?: string;
  delimiter?: string;
  /** Exclusive: list keys (and prefixes) strictly after this. Serves marker, start-after and continuation tokens. */
  after?: string;
  /** 0..1000 */
  maxKeys?: number;
  signal?: AbortSignal;
}

export interface ListObjectsResult {
  objects: ObjectInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** Last key or common prefix returned; the `after` of the next page. */
  nextAfter?: string;
}

export interface MultipartUploadInfo {
  bucket: string;
  key: string;
  uploadId: string;
  initiated: Date;
  storageClass: string;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: ChecksumType;
  sse?: SseInfo;
}

export interface CreateMultipartOptions {
  headers?: ContentHeaders;
  userMetadata?: Record<string, string>;
  storageClass?: string;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: ChecksumType;
  sse?: SseRequest;
  signal?: AbortSignal;
}

export interface PutPartOptions {
  /** The customer key, when the upload is SSE-C. */
  sse?: SseRequest;
  size?: number;
  contentMd5?: string;
  checksum?: ChecksumRequest;
  signal?: AbortSignal;
}

export interface CompletePart {
  partNumber: number;
  /** As the client sent it; quotes are ignored. */
  etag: string;
  checksums?: Checksums;
}

export interface CompleteMultipartOptions {
  conditions?: WriteConditions;
  /** Full-object checksum the client asserts for the whole object, if any. */
  checksums?: Checksums;
  signal?: AbortSignal;
}

export interface ListPartsOptions {
  /** Exclusive. */
  partNumberMarker?: number;
  maxParts?: number;
  signal?: AbortSignal;
}

export interface ListPartsResult {
  upload: MultipartUploadInfo;
  parts: PartInfo[];
  isTruncated: boolean;
  nextPartNumberMarker?: number;
}

export interface ListUploadsOptions {
  prefix?: string;
  delimiter?: string;
  keyMarker?: string;
  uploadIdMarker?: string;
  maxUploads?: number;
  signal?: AbortSignal;
}

export interface ListUploadsResult {
  uploads: MultipartUploadInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker?: string;
  nextUploadIdMarker?: string;
}

/** How the store is laid out, for banners, health and admin. */
export interface StorageTopology {
  deploymentId: string;
  sets: Array<{
    index: number;
    drives: Array<{
      path: string;
      state: 'online' | 'offline' | 'healing';
      /** Calls, failures and time spent in the drive's operations since this process started. */
      io?: { operations: number; errors: number; seconds: number };
    }>;
    dataShards: number;
    parityShards: number;
    readQuorum: number;
    writeQuorum: number;
  }>;
  storageClasses: Record<string, { parity: number }>;
}

export interface ObjectLayer {
  topology(): StorageTopology;

  makeBucket(bucket: string, opts?: { signal?: AbortSignal }): Promise<BucketInfo>;
  getBucketInfo(bucket: string, opts?: { signal?: AbortSignal }): Promise<BucketInfo>;
  listBuckets(opts?: { signal?: AbortSignal }): Promise<BucketInfo[]>;
  /** BucketNotEmpty while it holds objects; incomplete multipart uploads are aborted with it. */
  deleteBucket(bucket: string, opts?: { signal?: AbortSignal }): Promise<void>;

  putObject(bucket: string, key: string, body: Readable, opts?: PutObjectOptions): Promise<ObjectInfo>;
  getObject(bucket: string, key: string, opts?: GetObjectOptions): Promise<GetObjectResult>;
  /** With `sse` (SSE-C key) the key is checked as a GET would; without, HEAD of an SSE-C object needs none here. */
  headObject(bucket: string, key: string, opts?: { partNumber?: number; sse?: SseRequest; signal?: AbortSignal }): Promise<ObjectInfo>;
  /** Idempotent: deleting a missing key succeeds. Returns the info of what was removed, if anything. */
  deleteObject(bucket: string, key: string, opts?: { signal?: AbortSignal }): Promise<ObjectInfo | undefined>;
  listObjects(bucket: string, opts?: ListObjectsOptions): Promise<ListObjectsResult>;

  createMultipartUpload(bucket: string, key: string, opts?: CreateMultipartOptions): Promise<MultipartUploadInfo>;
  putObjectPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    opts?: PutPartOptions,
  ): Promise<PartInfo>;
  listParts(bucket: string, key: string, uploadId: string, opts?: ListPartsOptions): Promise<ListPartsResult>;
  listMultipartUploads(bucket: string, opts?: ListUploadsOptions): Promise<ListUploadsResult>;
  /** Parts are referenced in place, never copied again. */
  completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: CompletePart[],
    opts?: CompleteMultipartOptions,
  ): Promise<ObjectInfo>;
  abortMultipartUpload(bucket: string, key: string, uploadId: string, opts?: { signal?: AbortSignal }): Promise<void>;

  /** Bucket default encryption; undefined when none is set. */
  getBucketEncryption?(bucket: string, opts?: { signal?: AbortSignal }): Promise<BucketEncryption | undefined>;
  /** Sets (or with undefined, removes) the bucket default encryption. */
  putBucketEncryption?(bucket: string, cfg: BucketEncryption | undefined, opts?: { signal?: AbortSignal }): Promise<void>;

  // ---- healing (storage/heal) ----
  /** Start the healer in this process: queue drain, scanner, drive rebuilds. Once per deployment (the background worker). */
  startHealing(opts?: Partial<HealOptions>): void;
  /** What the healer is doing, as the process running it last published it (any worker can answer). */
  healStatus(): Promise<HealStatus>;
  /** Ask the healer to sweep a bucket/prefix (or everything); returns the queued sweep. */
  requestHeal(req: HealRequest): Promise<HealSweepStatus>;

  /** Flush and close drives; in-flight calls finish first. */
  close(): Promise<void>;
}
