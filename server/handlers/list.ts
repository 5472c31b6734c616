import type { ObjectInfo } from '../../storage/object-layer.js';
import { ownerXml, sendXml, type RequestContext } from '../context.js';
import { quoteEtag } from '../headers.js';
import { invalidArgument } from '../s3-error.js';
import { xmlDocument, type XmlChild } from '../xml.js';

/** ListObjects (v1) and ListObjectsV2. */

const MAX_KEYS = 1000;

/**
 * Continuation tokens are opaque to clients: a version tag and the `after` key,
 * base64url (no `+`, which a client that forgets to escape it would turn into a space).
 */
const TOKEN_TAG = 'c1:';

export function encodeToken(after: string): string {
  return Buffer.from(TOKEN_TAG + after, 'utf8').toString('base64url');
}

export function decodeToken(token: string): string {
  const bad = () => invalidArgument('The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
  // Node's base64 decoder reads both alphabets.
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(token)) throw bad();
  const s = Buffer.from(token, 'base64').toString('utf8');
  if (!s.startsWith(TOKEN_TAG)) throw bad();
  return s.slice(TOKEN_TAG.length);
}

/**
 * encoding-type=url as AWS applies it: everything but RFC 3986 unreserved
 * characters and `/` is percent-encoded, a space as `%20` (not form
 * encoding's `+`: ceph/s3-tests pins `quux%20ab/`, and a `+` in a key is `%2B`).
 */
export function s3UrlEncode(s: string): string {
  return encodeURIComponent(s)
    .replace(/%2F/g, '/')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function parseMaxKeys(raw: string | undefined): number {
  if (raw === undefined) return MAX_KEYS;
  if (!/^\d+$/.test(raw) || Number(raw) > 2147483647) {
    throw invalidArgument('Provided max-keys not an integer or within integer range', { ArgumentName: 'max-keys' });
  }
  return Math.min(Number(raw), MAX_KEYS);
}

export function parseEncoding(raw: string | undefined): boolean {
  if (raw === undefined || raw === '') return false;
  if (raw.toLowerCase() !== 'url') {
    throw invalidArgument('Invalid Encoding Method specified in Request', { ArgumentName: 'encoding-type' });
  }
  return true;
}

interface Page {
  objects: ObjectInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextAfter?: string;
}

export async function fetchPage(
  ctx: RequestContext,
  bucket: string,
  prefix: string,
  delimiter: string,
  after: string | undefined,
  maxKeys: number,
): Promise<Page> {
  if (maxKeys === 0) {
    // Still answer NoSuchBucket for a missing bucket.
    await ctx.deps.objects.getBucketInfo(bucket, { signal: ctx.signal });
    return { objects: [], commonPrefixes: [], isTruncated: false };
  }
  return ctx.deps.objects.listObjects(bucket, {
    prefix: prefix || undefined,
    delimiter: delimiter || undefined,
    after: after || undefined,
    maxKeys,
    signal: ctx.signal,
  });
}

function contents(o: ObjectInfo, enc: (s: string) => string, owner: XmlChild): XmlChild {
  const algs = Object.keys(o.checksums);
  return [
    'Contents',
    [
      ['Key', enc(o.key)],
      ['LastModified', o.modTime],
      ['ETag', quoteEtag(o.etag)],
      ...algs.map((a): XmlChild => ['ChecksumAlgorithm', a]),
      algs.length > 0 && o.checksumType !== undefined && ['ChecksumType', o.checksumType],
      ['Size', o.size],
      ['StorageClass', o.storageClass || 'STANDARD'],
      owner,
    ],
  ];
}

export async function listObjectsV2(ctx: RequestContext, op: { bucket: string }): Promise<void> {
  const q = ctx.routed.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const maxKeys = parseMaxKeys(q.get('max-keys'));
  const url = parseEncoding(q.get('encoding-type'));
  const enc = url ? s3UrlEncode : (s: string) => s;
  const rawToken = q.get('continuation-token');
  const startAfter = q.get('start-after');
  // An empty token is treated as absent, as AWS does (and echoed as sent).
  const token = rawToken === '' ? undefined : rawToken;
  const after = token !== undefined ? decodeToken(token) : startAfter;
  const fetchOwner = q.get('fetch-owner') === 'true';
  const page = await fetchPage(ctx, op.bucket, prefix, delimiter, after, maxKeys);
  const ownerEl: XmlChild = fetchOwner && ['Owner', ownerXml(ctx.auth.accessKey)];
  const body = xmlDocument('ListBucketResult', [
    ['Name', op.bucket],
    ['Prefix', enc(prefix)],
    startAfter !== undefined && ['StartAfter', enc(startAfter)],
    rawToken !== undefined && ['ContinuationToken', rawToken],
    page.isTruncated && page.nextAfter !== undefined && ['NextContinuationToken', encodeToken(page.nextAfter)],
    ['KeyCount', page.objects.length + page.commonPrefixes.length],
    ['MaxKeys', maxKeys],
    delimiter !== '' && ['Delimiter', enc(delimiter)],
    url && ['EncodingType', 'url'],
    ['IsTruncated', page.isTruncated],
    ...page.objects.map((o) => contents(o, enc, ownerEl)),
    ...commonPrefixesXml(page.commonPrefixes, enc),
  ]);
  sendXml(ctx, body);
}

export async function listObjectsV1(ctx: RequestContext, op: { bucket: string }): Promise<void> {
  const q = ctx.routed.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const maxKeys = parseMaxKeys(q.get('max-keys'));
  const url = parseEncoding(q.get('encoding-type'));
  const enc = url ? s3UrlEncode : (s: string) => s;
  const marker = q.get('marker') ?? '';
  const page = await fetchPage(ctx, op.bucket, prefix, delimiter, marker, maxKeys);
  const ownerEl: XmlChild = ['Owner', ownerXml(ctx.auth.accessKey)];
  const body = xmlDocument('ListBucketResult', [
    ['Name', op.bucket],
    // AWS encodes Delimiter, Marker, NextMarker, Key and CommonPrefixes in v1, but
    // echoes Prefix as sent (botocore decodes exactly those elements).
    ['Prefix', prefix],
    ['Marker', enc(marker)],
    // AWS returns NextMarker only when a delimiter was given; otherwise clients use the last Key.
    page.isTruncated && delimiter !== '' && page.nextAfter !== undefined && ['NextMarker', enc(page.nextAfter)],
    ['MaxKeys', maxKeys],
    delimiter !== '' && ['Delimiter', enc(delimiter)],
    url && ['EncodingType', 'url'],
    ['IsTruncated', page.isTruncated],
    ...page.objects.map((o) => contents(o, enc, ownerEl)),
    ...commonPrefixesXml(page.commonPrefixes, enc),
  ]);
  sendXml(ctx, body);
}

/** One `<CommonPrefixes><Prefix>` element per rolled-up prefix, as every listing shows them. */
export function commonPrefixesXml(prefixes: string[], enc: (s: string) => string): XmlChild[] {
  return prefixes.map((p): XmlChild => ['CommonPrefixes', [['Prefix', enc(p)]]]);
}
