import { createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CryptoError } from '../crypto/errors.js';
import type { Kms } from '../crypto/kms.js';
import { ciphertextRangeFor, encryptedSize, newStreamParams, type StreamParams } from '../crypto/package-format.js';
import { createDecryptStream, createEncryptStream, type EncryptStream } from '../crypto/package-stream.js';
import { newSealedObjectKey, streamKey, unsealObjectKey, type ObjectBinding, type SealRequest, type SealedObjectKey } from '../crypto/sse.js';
import type { ErasureSet, Resolved } from './erasure-set.js';
import type { BucketRecord, ObjectPartRecord, ObjectRecord, SseRecord } from './metadata-record.js';
import type { BucketEncryption, ByteRange, SseInfo, SseRequest } from './object-layer.js';

/**
 * Server-side encryption inside the one write/read pipeline (crypto/README.md):
 * body → hashes (plaintext) → EncryptStream → erasure encoder on PUT, and
 * shards → erasure decoder (ciphertext range) → DecryptStream on GET. The
 * record keeps the plaintext sizes; shard files hold encryptedSize(size).
 */

/** What storage needs from the process: the KMS (if any) and the server-wide "encrypt everything" switch. */
export interface SseSettings {
  kms?: Kms;
  /** CAIRN_SSE_AUTO=on: objects written without SSE and without a bucket default get SSE-S3. */
  auto?: boolean;
}

/** The bucket default encryption kept in the bucket record's config. */
export function bucketEncryptionOf(r: BucketRecord | undefined): BucketEncryption | undefined {
  const e = r?.config?.['encryption'];
  return e && typeof e === 'object' ? (e as BucketEncryption) : undefined;
}

/** Which seal a write gets: what the request asks, else the bucket default, else the server-wide setting. */
export function sealRequestOf(req: SseRequest | undefined, bucketDefault: BucketEncryption | undefined, s: SseSettings): SealRequest | undefined {
  const r: SseRequest | undefined =
    req ??
    (bucketDefault
      ? bucketDefault.algorithm === 'SSE-KMS'
        ? { type: 'SSE-KMS', ...(bucketDefault.kmsKeyId ? { keyId: bucketDefault.kmsKeyId } : {}) }
        : { type: 'SSE-S3' }
      : s.auto
        ? { type: 'SSE-S3' }
        : undefined);
  if (!r) return undefined;
  if (r.type === 'SSE-C') return { type: 'SSE-C', customerKey: r.customerKey };
  if (!s.kms) {
    throw new CryptoError('KmsUnsupported', 'Server-side encryption with SSE-S3 or SSE-KMS needs a KMS; none is configured (CAIRN_KMS_SECRET_KEY, CAIRN_KMS_KEY_FILE or Vault).');
  }
  if (r.type === 'SSE-S3') return { type: 'SSE-S3', kms: s.kms };
  return { type: 'SSE-KMS', kms: s.kms, ...(r.keyId ? { keyId: r.keyId } : {}), ...(r.context ? { context: r.context } : {}) };
}

/** The object key of one write (a PUT, or a multipart upload's parts), open for as long as the write lasts. */
export class WriteEncryption {
  private constructor(
    private readonly objectKey: Buffer,
    readonly sealed: SealedObjectKey,
  ) {}

  /** A new object key sealed as `req` asks: KMS errors happen here, before any body byte is read. */
  static async begin(req: SealRequest, binding: ObjectBinding): Promise<WriteEncryption> {
    const { objectKey, sealed } = await newSealedObjectKey(req, binding);
    return new WriteEncryption(objectKey, sealed);
  }

  /** Reopens the key of an upload (UploadPart): SSE-C needs the customer's key again. */
  static async reopen(sse: SseRecord, binding: ObjectBinding, req: SseRequest | undefined, kms: Kms | undefined): Promise<WriteEncryption> {
    return new WriteEncryption(await openObjectKey(sse, binding, req, kms), sse.sealed);
  }

  /** The encryptor of data stream `partNumber` (0: a single-part object), as writeData takes it. */
  encryptor(partNumber: number): { stream: EncryptStream; storedSize(n: number): number } {
    const params = newStreamParams();
    return { stream: createEncryptStream(streamKey(this.objectKey, partNumber), params), storedSize: (n) => encryptedSize(n, params.packageLog2) };
  }

  /**
   * AWS: the ETag of an SSE-S3 object is the MD5 of its plaintext; for SSE-KMS
   * and SSE-C it is not. Ours is a keyed MD5 of the plaintext MD5 under the
   * object key: stable for the object, random-looking, reveals nothing.
   */
  etag(md5: Buffer, partNumber: number): string {
    if (this.sealed.type === 'SSE-S3') return md5.toString('hex');
    return createHmac('md5', this.objectKey).update(`etag ${partNumber}`).update(md5).digest('hex');
  }

  record(multipart: boolean): SseRecord {
    return multipart ? { sealed: this.sealed, multipart: true } : { sealed: this.sealed };
  }

  dispose(): void {
    this.objectKey.fill(0);
  }
}

/** Opens the object key of a stored object or upload. Plaintext objects read with an SSE-C key: InvalidRequest, as AWS. */
export async function openObjectKey(sse: SseRecord, binding: ObjectBinding, req: SseRequest | undefined, kms: Kms | undefined): Promise<Buffer> {
  const customerKey = req?.type === 'SSE-C' ? req.customerKey : undefined;
  return unsealObjectKey(sse.sealed, binding, { ...(kms ? { kms } : {}), ...(customerKey ? { customerKey } : {}) });
}

/** A read of a plaintext object must not carry an SSE-C key (AWS: 400). */
export function refuseKeyForPlaintext(req: SseRequest | undefined): void {
  if (req?.type === 'SSE-C') throw new CryptoError('SSECustomerKeyNotExpected', 'The object was not encrypted with a customer-provided key.');
}

export function sseInfoOf(sse: SseRecord | undefined): SseInfo | undefined {
  if (!sse) return undefined;
  const s = sse.sealed;
  return {
    algorithm: s.type,
    ...(s.kmsKeyId !== undefined && s.type === 'SSE-KMS' ? { kmsKeyId: s.kmsKeyId } : {}),
    ...(s.kmsContext ? { kmsContext: { ...s.kmsContext } } : {}),
  };
}

/** The record as the erasure layer sees one encrypted part: ciphertext sizes. */
function cipherView(rec: ObjectRecord, part: ObjectPartRecord, params: StreamParams): ObjectRecord {
  const size = encryptedSize(part.size, params.packageLog2);
  return { ...rec, size, parts: [{ ...part, size }] };
}

/**
 * Plaintext bytes `range` (inclusive; whole object when undefined) of an
 * encrypted object: per part, only the ciphertext packages covering the range
 * are read and decrypted. The first part is opened before returning so a
 * missing quorum is a clear error, not a cut stream; a package that fails
 * authentication errors the stream (never wrong bytes).
 */
export async function openDecryptedRead(
  set: ErasureSet,
  bucket: string,
  key: string,
  resolved: Resolved,
  range: ByteRange | undefined,
  objectKey: Buffer,
  signal?: AbortSignal,
): Promise<Readable> {
  const rec = resolved.rec;
  const multipart = rec.sse?.multipart === true;
  const start = range?.start ?? 0;
  const endExcl = range ? range.end + 1 : rec.size;
  const pieces: Array<{ part: ObjectPartRecord; from: number; to: number }> = [];
  let off = 0;
  for (const part of rec.parts) {
    const pStart = off;
    off += part.size;
    if (rec.size === 0) {
      pieces.push({ part, from: 0, to: 0 }); // authenticate the one empty package
      break;
    }
    if (part.size === 0 || off <= start || pStart >= endExcl) continue;
    pieces.push({ part, from: Math.max(start, pStart) - pStart, to: Math.min(endExcl, off) - pStart });
  }
  const open = async (p: (typeof pieces)[number]) => {
    const params = p.part.sse;
    if (!params) throw new CryptoError('InvalidSealedKey', `part ${p.part.number} of an encrypted object has no stream params`);
    const r = ciphertextRangeFor(p.from, p.to, p.part.size, params.packageLog2);
    const ct = await set.openRead(bucket, key, { ...resolved, rec: cipherView(rec, p.part, params) }, { start: r.cipherStart, end: r.cipherEnd - 1 }, signal);
    const dec = createDecryptStream(streamKey(objectKey, multipart ? p.part.number : 0), { params, range: r });
    pipeline(ct, dec).catch(() => undefined); // errors reach the reader through `dec`
    return dec;
  };
  const first = pieces.length > 0 ? await open(pieces[0]!) : undefined;
  if (first && pieces.length === 1) {
    // The common case (single-part object, or a range inside one part): hand out the decrypt
    // stream itself; wrapping it in a generator cost three stream hops per package.
    first.once('close', () => objectKey.fill(0));
    return first;
  }
  async function* generate(): AsyncGenerator<Buffer> {
    let current = first;
    try {
      for (let j = 0; j < pieces.length; j++) {
        current = j === 0 ? first! : await open(pieces[j]!);
        for await (const chunk of current) yield chunk as Buffer;
      }
    } finally {
      current?.destroy();
      objectKey.fill(0);
    }
  }
  const out = Readable.from(generate(), { objectMode: false });
  out.once('close', () => first?.destroy());
  return out;
}
