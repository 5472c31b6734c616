import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { createChecksum, type Checksum } from '../core/checksums.js';
import { ObjectLayerError } from './errors.js';
import type { ChecksumRequest } from './object-layer.js';

/**
 * First stage of every write: counts bytes against the declared size and the
 * size limit, and feeds MD5 (the ETag) and the requested checksum as the bytes
 * pass. Digests are checked by `verify()` after the stream ends, before any
 * metadata is committed.
 */
export class BodyHasher extends Transform {
  bytes = 0;
  private readonly md5: Hash = createHash('md5');
  private readonly checksum?: Checksum;
  private md5Digest?: Buffer;
  private checksumDigest?: Buffer;

  constructor(
    private readonly declaredSize: number | undefined,
    private readonly maxSize: number,
    private readonly checksumRequest?: ChecksumRequest,
  ) {
    super({ highWaterMark: 1 << 20 });
    if (checksumRequest) this.checksum = createChecksum(checksumRequest.algorithm);
  }

  /** Counts and hashes one chunk; throws EntityTooLarge / IncompleteBody. Also usable without piping. */
  feed(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxSize) {
      throw new ObjectLayerError('EntityTooLarge', `body exceeds the maximum of ${this.maxSize} bytes`);
    }
    if (this.declaredSize !== undefined && this.bytes > this.declaredSize) {
      throw new ObjectLayerError('IncompleteBody', `body is longer than the declared ${this.declaredSize} bytes`);
    }
    this.md5.update(chunk);
    this.checksum?.update(chunk);
  }

  /** The body ended: checks the declared size and finishes the digests. */
  finishBody(): void {
    if (this.declaredSize !== undefined && this.bytes !== this.declaredSize) {
      throw new ObjectLayerError('IncompleteBody', `body has ${this.bytes} bytes, ${this.declaredSize} were declared`);
    }
    this.md5Digest = this.md5.digest();
    this.checksumDigest = this.checksum?.digest();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.feed(chunk);
    } catch (err) {
      return cb(err as Error);
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    try {
      this.finishBody();
    } catch (err) {
      return cb(err as Error);
    }
    cb();
  }

  get md5Hex(): string {
    return this.md5Bytes.toString('hex');
  }

  get md5Bytes(): Buffer {
    if (!this.md5Digest) throw new Error('body not finished');
    return this.md5Digest;
  }

  /** Base64 checksum as S3 shows it, if one was requested. */
  get checksumValue(): string | undefined {
    return this.checksumDigest?.toString('base64');
  }

  /** BadDigest on Content-MD5 or checksum mismatch. Call after the stream finished. */
  verify(contentMd5: string | undefined): void {
    if (contentMd5 !== undefined && contentMd5 !== this.md5Bytes.toString('base64')) {
      throw new ObjectLayerError('BadDigest', 'the Content-MD5 you specified did not match what was received');
    }
    const req = this.checksumRequest;
    if (!req || req.expected === undefined) return;
    const expected = typeof req.expected === 'function' ? req.expected() : req.expected;
    if (expected !== undefined && expected !== this.checksumValue) {
      throw new ObjectLayerError('BadDigest', `the ${req.algorithm} checksum you specified did not match what was received`);
    }
  }
}
