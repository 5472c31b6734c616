import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';
import { CHECKSUM_ALGORITHMS, checksumHeaderName, isValidChecksumValue, parseChecksumAlgorithm } from '../core/checksums.js';
import type { ChecksumAlgorithm, ChecksumRequest, ContentHeaders, ObjectInfo } from '../storage/object-layer.js';
import { S3Error, invalidArgument, invalidRequest, notImplemented } from './s3-error.js';
import type { Query } from './router.js';
import { headerValueText } from './auth/canonical.js';

/** Request and response headers of an object: metadata in, metadata out. */

/** AWS: user metadata (names + values) is limited to 2 KB. */
const MAX_USER_METADATA = 2048;
export const MAX_KEY_BYTES = 1024;
/** AWS's single-PUT limit. */
export const MAX_PUT_SIZE = 5 * 1024 ** 3;

export const STORAGE_CLASSES = new Set(['STANDARD', 'REDUCED_REDUNDANCY']);

function one(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

export function contentHeadersFrom(headers: IncomingHttpHeaders, contentEncoding: string | undefined): ContentHeaders {
  const out: ContentHeaders = {};
  const set = (k: keyof ContentHeaders, v: string | undefined) => {
    if (v !== undefined && v !== '') out[k] = v;
  };
  set('contentType', one(headers, 'content-type'));
  set('contentEncoding', contentEncoding);
  set('contentDisposition', one(headers, 'content-disposition'));
  set('contentLanguage', one(headers, 'content-language'));
  set('cacheControl', one(headers, 'cache-control'));
  set('expires', one(headers, 'expires'));
  return out;
}

export function userMetadataFrom(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  let size = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const k = name.slice('x-amz-meta-'.length);
    const v = headerValueText(Array.isArray(value) ? value.join(',') : value);
    size += k.length + Buffer.byteLength(v);
    out[k] = v;
  }
  if (size > MAX_USER_METADATA) {
    throw new S3Error('MetadataTooLarge', 400, 'Your metadata headers exceed the maximum allowed metadata size.');
  }
  return out;
}

/**
 * A stored metadata value as a response header. Node writes header strings as
 * latin1, so text within U+0000..U+00FF goes out byte for byte and clients
 * (which read response headers as latin1) get the same text back; beyond that,
 * S3's mail-safe RFC 2047 form `=?UTF-8?B?...?=`.
 */
export function metadataHeaderValue(v: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\xff]*$/.test(v)) return v;
  return `=?UTF-8?B?${Buffer.from(v, 'utf8').toString('base64')}?=`;
}

export function storageClassFrom(headers: IncomingHttpHeaders): string | undefined {
  const sc = one(headers, 'x-amz-storage-class');
  if (sc === undefined) return undefined;
  if (!STORAGE_CLASSES.has(sc)) throw new S3Error('InvalidStorageClass', 400, 'The storage class you specified is not valid');
  return sc;
}

/** Content-MD5, checked for shape: base64 of 16 bytes. */
export function contentMd5From(headers: IncomingHttpHeaders): string | undefined {
  const v = one(headers, 'content-md5');
  if (v === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]{22}==$/.test(v.trim())) {
    throw new S3Error('InvalidDigest', 400, 'The Content-MD5 you specified was invalid.');
  }
  return v.trim();
}

/**
 * The checksum to verify or compute while storing: a `x-amz-checksum-<alg>`
 * header, or the aws-chunked trailer, or just the algorithm the SDK names.
 */
/** [algorithm, its x-amz-checksum-* header]: named once, not per PUT. */
const CHECKSUM_HEADER_NAMES: ReadonlyArray<readonly [ChecksumAlgorithm, string]> = CHECKSUM_ALGORITHMS.map((a) => [a, checksumHeaderName(a)] as const);

export function checksumRequestFrom(
  headers: IncomingHttpHeaders,
  trailer: { algorithm: ChecksumAlgorithm; value: () => string | undefined } | undefined,
): ChecksumRequest | undefined {
  const present = CHECKSUM_HEADER_NAMES.filter(([, name]) => headers[name] !== undefined).map(([a]) => a);
  if (present.length > 1) throw invalidRequest('Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  const sdkAlg = one(headers, 'x-amz-sdk-checksum-algorithm');
  const declared = sdkAlg === undefined ? undefined : parseChecksumAlgorithm(sdkAlg);
  if (sdkAlg !== undefined && declared === undefined) {
    throw invalidRequest('Value for x-amz-sdk-checksum-algorithm header is invalid.');
  }
  if (trailer) {
    if (present.length > 0) throw invalidRequest('Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
    return { algorithm: trailer.algorithm, expected: trailer.value };
  }
  const alg = present[0];
  if (alg !== undefined) {
    const value = one(headers, checksumHeaderName(alg))!.trim();
    if (!isValidChecksumValue(alg, value)) {
      throw invalidRequest(`Value for ${checksumHeaderName(alg)} header is invalid.`);
    }
    if (declared !== undefined && declared !== alg) {
      throw invalidRequest('Value for x-amz-sdk-checksum-algorithm header is invalid.');
    }
    return { algorithm: alg, expected: value };
  }
  return declared ? { algorithm: declared } : undefined;
}

export function validateKey(key: string): void {
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new S3Error('KeyTooLongError', 400, 'Your key is too long');
  if (key.includes('\0')) throw invalidArgument('Object key must not contain NUL characters.');
}

/** Quoted, as S3 shows ETags in headers and XML. */
export const quoteEtag = (etag: string) => `"${etag}"`;

/** Last-Modified strings by whole second: toUTCString() per GET/HEAD showed in profiles, and hot objects repeat. */
const httpDates = new Map<number, string>();
const HTTP_DATES_MAX = 4096;

export function httpDate(d: Date): string {
  const ms = d.getTime();
  // Sub-second parts do not show in the string; NaN (an invalid date) is never cached.
  const second = Math.floor(ms / 1000);
  let s = httpDates.get(second);
  if (s === undefined) {
    s = d.toUTCString();
    if (!Number.isNaN(second)) {
      if (httpDates.size >= HTTP_DATES_MAX) httpDates.clear();
      httpDates.set(second, s);
    }
  }
  return s;
}

const OVERRIDES: ReadonlyArray<[string, string]> = [
  ['response-content-type', 'content-type'],
  ['response-content-language', 'content-language'],
  ['response-expires', 'expires'],
  ['response-cache-control', 'cache-control'],
  ['response-content-disposition', 'content-disposition'],
  ['response-content-encoding', 'content-encoding'],
];

/** Headers of GET/HEAD Object. `withChecksums` only when the client asked and the whole object is served. */
export function writeObjectHeaders(reply: FastifyReply, info: ObjectInfo, query: Query, withChecksums: boolean): void {
  const h = info.headers;
  reply.header('etag', quoteEtag(info.etag));
  reply.header('last-modified', httpDate(info.modTime));
  reply.header('accept-ranges', 'bytes');
  reply.header('content-type', h.contentType ?? 'binary/octet-stream');
  if (h.contentEncoding) reply.header('content-encoding', h.contentEncoding);
  if (h.contentDisposition) reply.header('content-disposition', h.contentDisposition);
  if (h.contentLanguage) reply.header('content-language', h.contentLanguage);
  if (h.cacheControl) reply.header('cache-control', h.cacheControl);
  if (h.expires) reply.header('expires', h.expires);
  for (const [k, v] of Object.entries(info.userMetadata)) reply.header(`x-amz-meta-${k}`, metadataHeaderValue(v));
  if (info.storageClass && info.storageClass !== 'STANDARD') reply.header('x-amz-storage-class', info.storageClass);
  if (info.parts && info.parts.length > 0) reply.header('x-amz-mp-parts-count', String(info.parts.length));
  if (withChecksums) {
    for (const [alg, value] of Object.entries(info.checksums)) {
      if (value) reply.header(checksumHeaderName(alg as ChecksumAlgorithm), value);
    }
    if (info.checksumType) reply.header('x-amz-checksum-type', info.checksumType);
  }
  for (const [param, header] of OVERRIDES) {
    const v = query.get(param);
    if (v === undefined) continue;
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(v)) throw invalidArgument(`Invalid value for ${param}`);
    // Node writes header strings as latin1: hand it the UTF-8 bytes so non-ASCII survives.
    reply.header(header, Buffer.from(v, 'utf8').toString('latin1'));
  }
}

/** Canned ACLs that mean what a bucket without ACLs already does. */
const HARMLESS_ACLS = new Set(['private', 'bucket-owner-full-control']);
/** Every canned ACL S3 knows; anything else is a client error, not a missing feature. */
const CANNED_ACLS = new Set([
  ...HARMLESS_ACLS,
  'public-read',
  'public-read-write',
  'aws-exec-read',
  'authenticated-read',
  'bucket-owner-read',
  'log-delivery-write',
]);

/**
 * `x-amz-acl`: an unknown value → 400 InvalidArgument (as AWS); a real canned
 * ACL that would grant more than the owner's FULL_CONTROL → 501, since ACLs are
 * not built and storing the object anyway would be a wrong success.
 */
export function checkCannedAcl(headers: IncomingHttpHeaders): void {
  const acl = one(headers, 'x-amz-acl')?.trim();
  if (acl === undefined) return;
  if (!CANNED_ACLS.has(acl)) throw invalidArgument('Invalid canned ACL value in x-amz-acl.', { ArgumentName: 'x-amz-acl', ArgumentValue: acl });
  if (!HARMLESS_ACLS.has(acl)) throw notImplemented(`The canned ACL ${JSON.stringify(acl)} is not implemented yet (ACLs are not built).`);
}

/**
 * Write headers asking for features Cairn does not have yet. Storing the object
 * anyway would be a wrong success (plaintext where encryption was asked, public
 * where private was assumed, no retention where a lock was asked), so: 501.
 */
export function refuseUnsupportedWriteHeaders(headers: IncomingHttpHeaders): void {
  const refuse = (what: string) => {
    throw notImplemented(`${what} is not implemented yet.`);
  };
  for (const name of Object.keys(headers)) {
    if (name.startsWith('x-amz-grant-')) refuse('Access control lists');
    if (name.startsWith('x-amz-object-lock-')) refuse('Object Lock');
  }
  checkCannedAcl(headers);
  if (one(headers, 'x-amz-tagging') !== undefined) refuse('Object tagging');
  if (one(headers, 'x-amz-website-redirect-location') !== undefined) refuse('Website redirects');
}
