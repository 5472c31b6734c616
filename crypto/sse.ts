/**
 * Object keys and how they are sealed (SSE-S3, SSE-KMS, SSE-C).
 *
 * Every encrypted object gets a random 256-bit object key. Its data streams
 * are encrypted with keys derived from it (streamKey: one per single-part
 * object, one per multipart part), and the object key itself is stored only
 * sealed, in a SealedObjectKey record in the object's metadata:
 *
 * - SSE-S3 / SSE-KMS (envelope): the KMS generates a fresh data key per object
 *   under the context {bucket, key, …SSE-KMS context}; the object key is sealed
 *   with AES-256-GCM under HMAC-SHA256(data key, "cairn-sse v1 kek"). Stored: the
 *   KMS key id and version, the KMS's encrypted data key, IV and sealed key.
 * - SSE-C: the object key is sealed under HKDF-SHA256(customer key, salt,
 *   "cairn-sse-c v1 kek"). The customer key is never stored; a check value
 *   HKDF(customer key, salt, "cairn-sse-c v1 check") lets a read tell a wrong
 *   key (SSECustomerKeyMismatch) from a damaged record.
 *
 * The seal's AAD binds the record to its bucket and object key (as MinIO
 * does), so a record copied to another object does not open: copies re-seal.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { CryptoError } from './errors.js';
import type { Kms, KmsContext } from './kms.js';

export type SseType = 'SSE-S3' | 'SSE-KMS' | 'SSE-C';

/** Where the sealed key belongs; part of the seal's AAD and of the KMS context. */
export interface ObjectBinding {
  readonly bucket: string;
  readonly key: string;
}

/** What storage persists in the object's metadata record. Plain JSON; binary fields are base64. */
export interface SealedObjectKey {
  readonly v: 1;
  readonly type: SseType;
  /** how the object key is sealed: AES-256-GCM under a KEK derived as described above */
  readonly sealAlgorithm: 'AES-256-GCM';
  readonly iv: string;
  /** 32-byte sealed object key followed by the 16-byte tag */
  readonly sealedKey: string;
  /** SSE-S3 / SSE-KMS */
  readonly kmsKeyId?: string;
  readonly kmsKeyVersion?: number;
  readonly encryptedDataKey?: string;
  /** SSE-KMS: the client's x-amz-server-side-encryption-context, returned on HEAD/GET */
  readonly kmsContext?: Readonly<Record<string, string>>;
  /** SSE-C */
  readonly salt?: string;
  readonly keyCheck?: string;
}

export type SealRequest =
  | { readonly type: 'SSE-S3'; readonly kms: Kms }
  | { readonly type: 'SSE-KMS'; readonly kms: Kms; readonly keyId?: string; readonly context?: KmsContext }
  | { readonly type: 'SSE-C'; readonly customerKey: Buffer };

/** Keys a read may need: the KMS for SSE-S3/SSE-KMS, the customer's key for SSE-C. */
export interface UnsealKeys {
  readonly kms?: Kms;
  readonly customerKey?: Buffer;
}

export function newObjectKey(): Buffer {
  return randomBytes(32);
}

/**
 * The key of one data stream of an object: partNumber 0 for a single-part
 * object, 1..10000 for multipart parts. HMAC-SHA256(object key,
 * "cairn-sse stream v1" | u32 big-endian part number).
 */
export function streamKey(objectKey: Buffer, partNumber = 0): Buffer {
  if (!Number.isInteger(partNumber) || partNumber < 0 || partNumber > 0xffffffff) throw new RangeError(`bad part number ${partNumber}`);
  const n = Buffer.alloc(4);
  n.writeUInt32BE(partNumber);
  return createHmac('sha256', objectKey).update('cairn-sse stream v1').update(n).digest();
}

/** The KMS context of an object's data key: bucket and key always, plus the SSE-KMS context. */
export function kmsContextFor(binding: ObjectBinding, extra: KmsContext = {}): KmsContext {
  // "aws:s3:arn"-style binding under reserved names the client context cannot override.
  return { ...extra, 'cairn:bucket': binding.bucket, 'cairn:object': binding.key };
}

function sealAad(type: SseType, binding: ObjectBinding, kmsKeyId: string | undefined, kmsContext: KmsContext | undefined): Buffer {
  const ctx = kmsContext ? Object.fromEntries(Object.keys(kmsContext).sort().map((k) => [k, kmsContext[k]])) : null;
  return Buffer.from(JSON.stringify(['cairn-sse v1', type, binding.bucket, binding.key, kmsKeyId ?? null, ctx]), 'utf8');
}

function aesSeal(kek: Buffer, plaintext: Buffer, aad: Buffer): { iv: string; sealedKey: string } {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', kek, iv);
  c.setAAD(aad);
  const sealed = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  return { iv: iv.toString('base64'), sealedKey: sealed.toString('base64') };
}

function aesOpen(kek: Buffer, s: SealedObjectKey, aad: Buffer): Buffer {
  const iv = Buffer.from(s.iv, 'base64');
  const sealed = Buffer.from(s.sealedKey, 'base64');
  if (iv.length !== 12 || sealed.length !== 48) throw new CryptoError('InvalidSealedKey', 'sealed object key has the wrong size');
  const d = createDecipheriv('aes-256-gcm', kek, iv);
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(32));
  try {
    return Buffer.concat([d.update(sealed.subarray(0, 32)), d.final()]);
  } catch {
    throw new CryptoError('UnsealFailed', 'sealed object key does not open (record damaged or moved to another object)');
  }
}

const kmsKek = (dataKey: Buffer) => createHmac('sha256', dataKey).update('cairn-sse v1 kek').digest();
const ssecDerive = (customerKey: Buffer, salt: Buffer, info: string) => Buffer.from(hkdfSync('sha256', customerKey, salt, info, 32));

function checkCustomerKey(k: Buffer | undefined): Buffer {
  if (!k) throw new CryptoError('SSECustomerKeyMissing', 'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.');
  if (k.length !== 32) throw new CryptoError('InvalidSSECustomerKey', 'The secret key was invalid for the specified algorithm.');
  return k;
}

/** Seals `objectKey` for `binding` as `req` asks. Calls the KMS once for SSE-S3/SSE-KMS. */
export async function sealObjectKey(req: SealRequest, objectKey: Buffer, binding: ObjectBinding): Promise<SealedObjectKey> {
  if (objectKey.length !== 32) throw new CryptoError('InvalidSealedKey', 'object key must be 32 bytes');
  if (req.type === 'SSE-C') {
    const ck = checkCustomerKey(req.customerKey);
    const salt = randomBytes(32);
    const kek = ssecDerive(ck, salt, 'cairn-sse-c v1 kek');
    return {
      v: 1,
      type: 'SSE-C',
      sealAlgorithm: 'AES-256-GCM',
      ...aesSeal(kek, objectKey, sealAad('SSE-C', binding, undefined, undefined)),
      salt: salt.toString('base64'),
      keyCheck: ssecDerive(ck, salt, 'cairn-sse-c v1 check').toString('base64'),
    };
  }
  const keyId = (req.type === 'SSE-KMS' ? req.keyId : undefined) || req.kms.defaultKeyId;
  const userCtx = req.type === 'SSE-KMS' && req.context && Object.keys(req.context).length > 0 ? { ...req.context } : undefined;
  const dk = await req.kms.generateDataKey(keyId, kmsContextFor(binding, userCtx));
  try {
    return {
      v: 1,
      type: req.type,
      sealAlgorithm: 'AES-256-GCM',
      ...aesSeal(kmsKek(dk.plaintext), objectKey, sealAad(req.type, binding, keyId, userCtx)),
      kmsKeyId: keyId,
      kmsKeyVersion: dk.keyVersion,
      encryptedDataKey: dk.ciphertext.toString('base64'),
      ...(userCtx ? { kmsContext: userCtx } : {}),
    };
  } finally {
    dk.plaintext.fill(0);
  }
}

/** A new object key, sealed: what a PUT or CreateMultipartUpload starts with. */
export async function newSealedObjectKey(req: SealRequest, binding: ObjectBinding): Promise<{ objectKey: Buffer; sealed: SealedObjectKey }> {
  const objectKey = newObjectKey();
  return { objectKey, sealed: await sealObjectKey(req, objectKey, binding) };
}

/**
 * Opens a sealed object key. SSE-C: a missing key is SSECustomerKeyMissing, a
 * wrong one SSECustomerKeyMismatch (never garbage). KMS errors pass through
 * (KmsUnavailable, KmsKeyNotFound, KmsDecryptFailed).
 */
export async function unsealObjectKey(sealed: SealedObjectKey, binding: ObjectBinding, keys: UnsealKeys): Promise<Buffer> {
  const s = parseSealedObjectKey(sealed);
  if (s.type === 'SSE-C') {
    const ck = checkCustomerKey(keys.customerKey);
    const salt = Buffer.from(s.salt!, 'base64');
    const check = ssecDerive(ck, salt, 'cairn-sse-c v1 check');
    const stored = Buffer.from(s.keyCheck!, 'base64');
    if (stored.length !== check.length || !timingSafeEqual(stored, check)) {
      throw new CryptoError('SSECustomerKeyMismatch', 'The provided customer key does not match the key the object was encrypted with.');
    }
    return aesOpen(ssecDerive(ck, salt, 'cairn-sse-c v1 kek'), s, sealAad('SSE-C', binding, undefined, undefined));
  }
  if (keys.customerKey) throw new CryptoError('SSECustomerKeyNotExpected', 'The object was not encrypted with a customer-provided key.');
  if (!keys.kms) throw new CryptoError('KmsUnavailable', 'no KMS configured to open this object');
  const dataKey = await keys.kms.decryptDataKey(s.kmsKeyId!, Buffer.from(s.encryptedDataKey!, 'base64'), kmsContextFor(binding, s.kmsContext));
  try {
    return aesOpen(kmsKek(dataKey), s, sealAad(s.type, binding, s.kmsKeyId, s.kmsContext));
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Rotation (`cairn admin kms rotate`): re-wraps the encrypted data key under
 * the newest version of its KMS key. The data key, hence the sealed object key
 * and the object's data, stay as they are; only the record changes. Returns the
 * record unchanged for SSE-C (nothing of ours to rotate) and when the version
 * is already the newest.
 */
export async function rotateSealedKey(sealed: SealedObjectKey, binding: ObjectBinding, kms: Kms): Promise<SealedObjectKey> {
  const s = parseSealedObjectKey(sealed);
  if (s.type === 'SSE-C') return s;
  const r = await kms.rewrap(s.kmsKeyId!, Buffer.from(s.encryptedDataKey!, 'base64'), kmsContextFor(binding, s.kmsContext));
  if (r.keyVersion === s.kmsKeyVersion) return s;
  return { ...s, kmsKeyVersion: r.keyVersion, encryptedDataKey: r.ciphertext.toString('base64') };
}

/**
 * CopyObject / key change without touching the data: opens the source's
 * object key and seals the same key for the destination. The ciphertext (and
 * its stream params) can be copied byte for byte. Use this only when the copy
 * keeps the data as is; a copy that re-encrypts makes a new object key.
 */
export async function resealObjectKey(
  sealed: SealedObjectKey,
  from: ObjectBinding,
  fromKeys: UnsealKeys,
  to: SealRequest,
  toBinding: ObjectBinding,
): Promise<SealedObjectKey> {
  const objectKey = await unsealObjectKey(sealed, from, fromKeys);
  try {
    return await sealObjectKey(to, objectKey, toBinding);
  } finally {
    objectKey.fill(0);
  }
}

/** Validates a record read back from metadata (throws InvalidSealedKey). */
export function parseSealedObjectKey(x: unknown): SealedObjectKey {
  const bad = (why: string) => new CryptoError('InvalidSealedKey', `sealed object key record: ${why}`);
  if (typeof x !== 'object' || x === null) throw bad('not an object');
  const r = x as Record<string, unknown>;
  if (r.v !== 1) throw bad(`unknown version ${String(r.v)}`);
  if (r.type !== 'SSE-S3' && r.type !== 'SSE-KMS' && r.type !== 'SSE-C') throw bad(`unknown type ${String(r.type)}`);
  if (r.sealAlgorithm !== 'AES-256-GCM') throw bad('unknown seal algorithm');
  for (const f of ['iv', 'sealedKey'] as const) if (typeof r[f] !== 'string') throw bad(`${f} missing`);
  if (r.type === 'SSE-C') {
    if (typeof r.salt !== 'string' || typeof r.keyCheck !== 'string') throw bad('SSE-C salt or key check missing');
  } else {
    if (typeof r.kmsKeyId !== 'string' || typeof r.encryptedDataKey !== 'string' || typeof r.kmsKeyVersion !== 'number') throw bad('KMS fields missing');
    if (r.kmsContext !== undefined) {
      if (typeof r.kmsContext !== 'object' || r.kmsContext === null || Object.values(r.kmsContext).some((v) => typeof v !== 'string')) throw bad('kmsContext malformed');
    }
  }
  return r as unknown as SealedObjectKey;
}
