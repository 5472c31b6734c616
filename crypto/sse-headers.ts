/**
 * Validation of the S3 encryption request headers, as AWS documents them. Pure
 * functions over header values so server/ calls them with whatever it parsed;
 * every failure is a CryptoError whose CRYPTO_S3_ERRORS entry is AWS's answer.
 *
 *   x-amz-server-side-encryption                      AES256 | aws:kms
 *   x-amz-server-side-encryption-aws-kms-key-id       (aws:kms only)
 *   x-amz-server-side-encryption-context              base64 of a JSON object of strings (aws:kms only)
 *   x-amz-server-side-encryption-customer-algorithm   AES256
 *   x-amz-server-side-encryption-customer-key         base64 of 32 bytes
 *   x-amz-server-side-encryption-customer-key-MD5     base64 of the key's MD5
 * (and the x-amz-copy-source-server-side-encryption-customer-* trio for the copy source)
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { CryptoError } from './errors.js';

export interface SseCustomerHeaders {
  readonly algorithm?: string | undefined;
  readonly key?: string | undefined;
  readonly keyMd5?: string | undefined;
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The customer key from the SSE-C trio, or undefined when none of the three is
 * present. Any partial or inconsistent trio is an error.
 */
export function parseSseCustomerHeaders(h: SseCustomerHeaders): Buffer | undefined {
  if (h.algorithm === undefined && h.key === undefined && h.keyMd5 === undefined) return undefined;
  if (h.algorithm === undefined) {
    throw new CryptoError(
      'InvalidSSECustomerKey',
      'Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.',
    );
  }
  if (h.algorithm !== 'AES256') {
    throw new CryptoError('InvalidEncryptionAlgorithm', 'The encryption request you specified is not valid. The valid value is AES256.');
  }
  if (h.key === undefined || h.key === '') {
    throw new CryptoError('InvalidSSECustomerKey', 'Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.');
  }
  const key = B64.test(h.key) ? Buffer.from(h.key, 'base64') : Buffer.alloc(0);
  if (key.length !== 32) throw new CryptoError('InvalidSSECustomerKey', 'The secret key was invalid for the specified algorithm.');
  if (h.keyMd5 === undefined || h.keyMd5 === '') {
    throw new CryptoError(
      'InvalidSSECustomerKey',
      'Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.',
    );
  }
  const md5 = B64.test(h.keyMd5) ? Buffer.from(h.keyMd5, 'base64') : Buffer.alloc(0);
  const actual = createHash('md5').update(key).digest();
  if (md5.length !== 16 || !timingSafeEqual(md5, actual)) {
    throw new CryptoError('SSECustomerKeyMd5Mismatch', 'The calculated MD5 hash of the key did not match the hash that was provided.');
  }
  return key;
}

/** base64 MD5 of a customer key, for the x-amz-server-side-encryption-customer-key-MD5 response header. */
export function customerKeyMd5(key: Buffer): string {
  return createHash('md5').update(key).digest('base64');
}

/** x-amz-server-side-encryption → the SSE type it asks for (undefined when absent). */
export function parseSseHeader(value: string | undefined): 'SSE-S3' | 'SSE-KMS' | undefined {
  if (value === undefined) return undefined;
  if (value === 'AES256') return 'SSE-S3';
  if (value === 'aws:kms') return 'SSE-KMS';
  throw new CryptoError('InvalidEncryptionAlgorithm', 'The encryption request you specified is not valid. Valid values are AES256 and aws:kms.');
}

/** The SSE type as the x-amz-server-side-encryption response header spells it (SSE-C: none; it sends the customer headers). */
export function sseHeaderValue(type: 'SSE-S3' | 'SSE-KMS' | 'SSE-C'): string | undefined {
  return type === 'SSE-S3' ? 'AES256' : type === 'SSE-KMS' ? 'aws:kms' : undefined;
}

/** x-amz-server-side-encryption-context → its key/value pairs (undefined when absent). */
export function parseKmsContextHeader(value: string | undefined): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const bad = () => new CryptoError('InvalidEncryptionContext', 'The encryption context must be base64-encoded UTF-8 JSON of string values.');
  if (!B64.test(value)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64').toString('utf8'));
  } catch {
    throw bad();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad();
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== 'string' || k.startsWith('cairn:')) throw bad();
    out[k] = v;
  }
  return out;
}

/** The context as the x-amz-server-side-encryption-context response header carries it. */
export function kmsContextHeaderValue(ctx: Readonly<Record<string, string>>): string {
  return Buffer.from(JSON.stringify(ctx), 'utf8').toString('base64');
}
