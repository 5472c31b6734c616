import { ObjectLayerError } from './errors.js';

/**
 * S3 naming rules, checked once at the object layer's edge. Keys are never
 * used as paths (data dirs are random uuids), so `../x` is a legal key here.
 */

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4_RE = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

export function validateBucketName(bucket: string): void {
  if (
    !BUCKET_RE.test(bucket) ||
    IPV4_RE.test(bucket) ||
    bucket.includes('..') ||
    bucket.includes('.-') ||
    bucket.includes('-.') ||
    bucket.startsWith('xn--') ||
    bucket.endsWith('-s3alias')
  ) {
    throw new ObjectLayerError('InvalidBucketName', `invalid bucket name: ${JSON.stringify(bucket)}`);
  }
}

export const MAX_KEY_BYTES = 1024;
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function validateObjectKey(key: string): void {
  if (key.length === 0) throw new ObjectLayerError('InvalidObjectName', 'object key is empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new ObjectLayerError('InvalidObjectName', `object key longer than ${MAX_KEY_BYTES} bytes`);
  }
  if (key.includes('\0')) throw new ObjectLayerError('InvalidObjectName', 'object key contains NUL');
  // Lone surrogates cannot round-trip through UTF-8 and would alias other keys.
  if (LONE_SURROGATE_RE.test(key)) throw new ObjectLayerError('InvalidObjectName', 'object key is not valid UTF-8');
}
