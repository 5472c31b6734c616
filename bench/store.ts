/**
 * What a workload drives: the S3 operations it needs, timed. Cairn, the no-op
 * server, s3rver and any S3 endpoint are one HTTP implementation; the raw-disk
 * and in-process baselines implement the same calls without HTTP, so every
 * figure in a ratio comes from the same workload code.
 */
import type { BodySource } from './client.js';

export interface Timed {
  latencyMs: number;
  ttfbMs: number;
  /** Payload bytes moved (sent for writes, received for reads). */
  bytes: number;
}

/** latencyMs: the HTTP exchange only (request handed to the socket → last response byte), without scanning the XML. */
export interface ListPage extends Timed {
  keys: number;
  /** The client's own time to scan the page for keys, IsTruncated and NextContinuationToken. */
  scanMs: number;
  /** Opaque: pass back to get the next page; undefined when this was the last. */
  next?: string;
}

export interface Store {
  readonly name: string;
  /** Which operations this store can run; a workload needing more is skipped for it. */
  readonly supports: ReadonlySet<'put' | 'get' | 'head' | 'delete' | 'list' | 'multipart'>;
  /** The process to sample for RSS and CPU (with its children), if known. */
  readonly pid?: number;
  createBucket(bucket: string): Promise<void>;
  put(bucket: string, key: string, body: BodySource): Promise<Timed>;
  /** verifyBytes > 0: compare that many leading bytes with the pattern (throws on mismatch). */
  get(bucket: string, key: string, verify?: { pattern: Buffer; bytes: number }): Promise<Timed>;
  head(bucket: string, key: string): Promise<Timed>;
  delete(bucket: string, key: string): Promise<Timed>;
  list(bucket: string, prefix: string, next: string | undefined, maxKeys: number): Promise<ListPage>;
  multipart(bucket: string, key: string, body: BodySource, partSize: number, partConcurrency: number): Promise<Timed>;
  /** Best-effort removal of what the bench put in a bucket, and of the bucket when dropBucket (external endpoints). */
  removeBucket(bucket: string, keys: Iterable<string>, dropBucket: boolean): Promise<void>;
  close(): Promise<void>;
}

export class BenchCorruption extends Error {
  readonly code = 'BenchCorruptBody';
}
