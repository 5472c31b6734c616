import type { ObjectInfo } from '../../storage/object-layer.js';
import { ownerXml, sendXml, type RequestContext } from '../context.js';
import type { Query } from '../router.js';
import { invalidArgument } from '../s3-error.js';
import { escapeXml, isoDate, xmlElement, XmlWriter, type XmlChild } from '../xml.js';

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
  // Most keys are unreserved characters and `/` only: nothing to encode, skip the three passes.
  if (UNRESERVED.test(s)) return s;
  return encodeURIComponent(s)
    .replace(/%2F/g, '/')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const UNRESERVED = /^[A-Za-z0-9\-._~/]*$/;

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

/** The query parameters every listing shares (ListObjects v1/v2, ListObjectVersions), validated. */
export function listQuery(q: Query) {
  const url = parseEncoding(q.get('encoding-type'));
  return {
    prefix: q.get('prefix') ?? '',
    delimiter: q.get('delimiter') ?? '',
    maxKeys: parseMaxKeys(q.get('max-keys')),
    url,
    enc: url ? s3UrlEncode : (x: string) => x,
  };
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

/**
 * One `<Contents>` as markup. Written as one template string per key into an
 * XmlWriter, a 1000-key page costs ~0.6 ms CPU, against ~4.5 ms through the
 * element tree, one big string and Buffer.from (same bytes; measured on a loaded
 * 2-core machine, where that was half of a page's server time).
 */
export function contentsXml(o: ObjectInfo, enc: (s: string) => string, owner: string): string {
  let checksums = '';
  const algs = Object.keys(o.checksums);
  if (algs.length > 0) {
    for (const a of algs) checksums += xmlElement('ChecksumAlgorithm', a);
    if (o.checksumType !== undefined) checksums += xmlElement('ChecksumType', o.checksumType);
  }
  return (
    `<Contents><Key>${escapeXml(enc(o.key))}</Key><LastModified>${isoDate(o.modTime.getTime())}</LastModified>` +
    // The quotes always need escaping: written escaped, so only the ETag itself is tested.
    `<ETag>&quot;${escapeXml(o.etag)}&quot;</ETag>${checksums}<Size>${o.size}</Size>` +
    `<StorageClass>${escapeXml(o.storageClass || 'STANDARD')}</StorageClass>${owner}</Contents>`
  );
}

/** Head elements, then the keys and prefixes of the page, as one UTF-8 body. */
function renderPage(head: readonly XmlChild[], page: Page, enc: (s: string) => string, owner: string): Buffer {
  // ~250 bytes per <Contents> of a short key (more with an owner); growing copies are the fallback.
  const perKey = 256 + owner.length;
  const w = new XmlWriter('ListBucketResult', head, { sizeHint: 1024 + page.objects.length * perKey + page.commonPrefixes.length * 64 });
  for (const o of page.objects) w.raw(contentsXml(o, enc, owner));
  w.children(commonPrefixesXml(page.commonPrefixes, enc));
  return w.end();
}

export async function listObjectsV2(ctx: RequestContext, op: { bucket: string }): Promise<void> {
  const q = ctx.routed.query;
  const { prefix, delimiter, maxKeys, url, enc } = listQuery(q);
  const rawToken = q.get('continuation-token');
  const startAfter = q.get('start-after');
  // An empty token is treated as absent, as AWS does (and echoed as sent).
  const token = rawToken === '' ? undefined : rawToken;
  const after = token !== undefined ? decodeToken(token) : startAfter;
  const fetchOwner = q.get('fetch-owner') === 'true';
  const page = await fetchPage(ctx, op.bucket, prefix, delimiter, after, maxKeys);
  const owner = fetchOwner ? xmlElement('Owner', ownerXml(ctx.auth.accessKey)) : '';
  const head: XmlChild[] = [
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
  ];
  sendXml(ctx, renderPage(head, page, enc, owner));
}

export async function listObjectsV1(ctx: RequestContext, op: { bucket: string }): Promise<void> {
  const q = ctx.routed.query;
  const { prefix, delimiter, maxKeys, url, enc } = listQuery(q);
  const marker = q.get('marker') ?? '';
  const page = await fetchPage(ctx, op.bucket, prefix, delimiter, marker, maxKeys);
  const owner = xmlElement('Owner', ownerXml(ctx.auth.accessKey));
  const head: XmlChild[] = [
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
  ];
  sendXml(ctx, renderPage(head, page, enc, owner));
}

/** One `<CommonPrefixes><Prefix>` element per rolled-up prefix, as every listing shows them. */
export function commonPrefixesXml(prefixes: string[], enc: (s: string) => string): XmlChild[] {
  return prefixes.map((p): XmlChild => ['CommonPrefixes', [['Prefix', enc(p)]]]);
}
