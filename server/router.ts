import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { S3Error, notImplemented } from './s3-error.js';
import { invalidUri } from './errors.js';

/**
 * Request → one closed union of S3 operations. Routing works on the raw URL
 * as received (fastify only sees a single wildcard route), so `a//b`, `dir/`,
 * `%2F` and `+` keep their S3 meaning: the path is percent-decoded once and a
 * literal `+` stays a plus.
 *
 * Adding an operation: a member in `Op`, a line in `ACCESS`, a case in
 * `routeRequest` and one in the dispatch switch (server/dispatch.ts); the
 * compiler points at every place that is missing.
 */

export type Op =
  | { op: 'ListBuckets' }
  | { op: 'CreateBucket'; bucket: string }
  | { op: 'HeadBucket'; bucket: string }
  | { op: 'DeleteBucket'; bucket: string }
  | { op: 'GetBucketLocation'; bucket: string }
  | { op: 'ListObjects'; bucket: string }
  | { op: 'ListObjectsV2'; bucket: string }
  | { op: 'DeleteObjects'; bucket: string }
  /** Browser form upload: authenticated by its own policy signature, not by authenticate(). */
  | { op: 'PostObject'; bucket: string }
  | { op: 'PutObject'; bucket: string; key: string }
  | { op: 'GetObject'; bucket: string; key: string }
  | { op: 'HeadObject'; bucket: string; key: string }
  | { op: 'DeleteObject'; bucket: string; key: string }
  | { op: 'CopyObject'; bucket: string; key: string }
  | { op: 'GetObjectAttributes'; bucket: string; key: string }
  | { op: 'CreateMultipartUpload'; bucket: string; key: string }
  | { op: 'UploadPart'; bucket: string; key: string; uploadId: string }
  | { op: 'UploadPartCopy'; bucket: string; key: string; uploadId: string }
  | { op: 'CompleteMultipartUpload'; bucket: string; key: string; uploadId: string }
  | { op: 'AbortMultipartUpload'; bucket: string; key: string; uploadId: string }
  | { op: 'ListParts'; bucket: string; key: string; uploadId: string }
  | { op: 'ListMultipartUploads'; bucket: string }
  | { op: 'GetBucketEncryption'; bucket: string }
  | { op: 'PutBucketEncryption'; bucket: string }
  | { op: 'DeleteBucketEncryption'; bucket: string }
  | { op: 'ListObjectVersions'; bucket: string }
  | { op: 'GetBucketVersioning'; bucket: string }
  | { op: 'GetBucketAcl'; bucket: string }
  | { op: 'GetObjectAcl'; bucket: string; key: string }
  | { op: 'PutBucketAcl'; bucket: string }
  | { op: 'PutObjectAcl'; bucket: string; key: string }
  /** Recognised as S3 but not implemented (yet): answered 501 after authentication. */
  | { op: 'NotImplemented'; bucket?: string; key?: string; what: string };

export type OpName = Op['op'];

/** The IAM action each operation needs; the policy engine will read this table. */
export const ACCESS: Readonly<Record<OpName, string>> = {
  ListBuckets: 's3:ListAllMyBuckets',
  CreateBucket: 's3:CreateBucket',
  HeadBucket: 's3:ListBucket',
  DeleteBucket: 's3:DeleteBucket',
  GetBucketLocation: 's3:GetBucketLocation',
  ListObjects: 's3:ListBucket',
  ListObjectsV2: 's3:ListBucket',
  DeleteObjects: 's3:DeleteObject',
  PostObject: 's3:PutObject',
  PutObject: 's3:PutObject',
  GetObject: 's3:GetObject',
  HeadObject: 's3:GetObject',
  DeleteObject: 's3:DeleteObject',
  // CopyObject also needs s3:GetObject on the source; the policy engine checks that separately.
  CopyObject: 's3:PutObject',
  GetObjectAttributes: 's3:GetObjectAttributes',
  CreateMultipartUpload: 's3:PutObject',
  UploadPart: 's3:PutObject',
  UploadPartCopy: 's3:PutObject',
  CompleteMultipartUpload: 's3:PutObject',
  AbortMultipartUpload: 's3:AbortMultipartUpload',
  ListParts: 's3:ListMultipartUploadParts',
  ListMultipartUploads: 's3:ListBucketMultipartUploads',
  GetBucketEncryption: 's3:GetEncryptionConfiguration',
  PutBucketEncryption: 's3:PutEncryptionConfiguration',
  DeleteBucketEncryption: 's3:PutEncryptionConfiguration',
  ListObjectVersions: 's3:ListBucketVersions',
  GetBucketVersioning: 's3:GetBucketVersioning',
  GetBucketAcl: 's3:GetBucketAcl',
  GetObjectAcl: 's3:GetObjectAcl',
  PutBucketAcl: 's3:PutBucketAcl',
  PutObjectAcl: 's3:PutObjectAcl',
  NotImplemented: 's3:*',
};

/** Query parameters, decoded; a parameter without `=` has value ''. First occurrence wins. */
export type Query = ReadonlyMap<string, string>;

export interface RoutedRequest {
  op: Op;
  query: Query;
  /** Resource for error documents: `/bucket/key` as S3 shows it. */
  resource: string;
  /** True when the bucket came from the Host header. */
  virtualHost: boolean;
}

/** Parameters that never select an operation: SDK hints, presigned auth, response overrides. */
const NEUTRAL = /^(x-id|x-amz-[a-z0-9-]+|response-(content-type|content-language|expires|cache-control|content-disposition|content-encoding))$/;

const LIST_V1 = new Set(['prefix', 'delimiter', 'max-keys', 'marker', 'encoding-type']);
const LIST_V2 = new Set([
  'list-type',
  'prefix',
  'delimiter',
  'max-keys',
  'start-after',
  'continuation-token',
  'encoding-type',
  'fetch-owner',
]);
const LIST_BUCKETS = new Set(['prefix', 'max-buckets', 'continuation-token', 'bucket-region']);
const LIST_VERSIONS = new Set(['versions', 'prefix', 'delimiter', 'key-marker', 'version-id-marker', 'max-keys', 'encoding-type']);
const LIST_UPLOADS = new Set(['uploads', 'prefix', 'delimiter', 'key-marker', 'upload-id-marker', 'max-uploads', 'encoding-type']);

/**
 * The routing of one HTTP request, computed once: server/ops.ts needs it for metrics and
 * log fields before the S3 handler in server/app.ts dispatches on it. A request that
 * cannot be routed throws the same S3Error to both.
 */
const routedRequests = new WeakMap<IncomingMessage, { routed: RoutedRequest } | { error: unknown }>();

export function routeOf(req: IncomingMessage, domains: readonly string[]): RoutedRequest {
  let r = routedRequests.get(req);
  if (!r) {
    try {
      r = { routed: routeRequest(req.method ?? 'GET', req.url ?? '/', req.headers.host, domains, req.headers) };
    } catch (error) {
      r = { error };
    }
    routedRequests.set(req, r);
  }
  if ('error' in r) throw r.error;
  return r.routed;
}

/** `headers` tells CopyObject / UploadPartCopy (x-amz-copy-source) from PutObject / UploadPart. */
export function routeRequest(
  method: string,
  rawUrl: string,
  host: string | undefined,
  domains: readonly string[],
  headers?: IncomingHttpHeaders,
): RoutedRequest {
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = parseQuery(q < 0 ? '' : rawUrl.slice(q + 1));
  if (!rawPath.startsWith('/')) throw invalidUri();
  const path = decodePath(rawPath);

  let bucket: string | undefined;
  let key: string | undefined;
  const vhostBucket = bucketFromHost(host, domains);
  if (vhostBucket !== undefined) {
    bucket = vhostBucket;
    key = path.length > 1 ? path.slice(1) : undefined;
  } else {
    const slash = path.indexOf('/', 1);
    const first = slash < 0 ? path.slice(1) : path.slice(1, slash);
    bucket = first === '' ? undefined : first;
    const rest = slash < 0 ? '' : path.slice(slash + 1);
    key = rest === '' ? undefined : rest;
  }
  const resource = bucket === undefined ? '/' : key === undefined ? `/${bucket}` : `/${bucket}/${key}`;
  const op = pickOp(method, bucket, key, query, headers?.['x-amz-copy-source'] !== undefined);
  return { op, query, resource, virtualHost: vhostBucket !== undefined };
}

function pickOp(method: string, bucket: string | undefined, key: string | undefined, query: Query, copy = false): Op {
  // Parameters that are neither neutral nor part of the chosen operation name a
  // sub-resource or feature we do not implement: 501, never a wrong success.
  const unsupported = (allowed: ReadonlySet<string> = new Set()): string | undefined => {
    for (const name of query.keys()) {
      const n = name.toLowerCase();
      if (!allowed.has(n) && !NEUTRAL.test(n)) return name;
    }
    return undefined;
  };
  const ni = (what: string): Op => ({ op: 'NotImplemented', bucket, key, what });

  if (bucket === undefined) {
    if (method === 'GET' || method === 'HEAD') {
      const extra = unsupported(LIST_BUCKETS);
      return extra ? ni(`?${extra}`) : { op: 'ListBuckets' };
    }
    return ni(`${method} /`);
  }

  if (key === undefined) {
    switch (method) {
      case 'GET': {
        if (query.has('location')) {
          const extra = unsupported(new Set(['location']));
          return extra ? ni(`?${extra}`) : { op: 'GetBucketLocation', bucket };
        }
        if (query.has('uploads')) {
          const extra = unsupported(LIST_UPLOADS);
          return extra ? ni(`?${extra}`) : { op: 'ListMultipartUploads', bucket };
        }
        if (query.has('encryption')) {
          const extra = unsupported(new Set(['encryption']));
          return extra ? ni(`?${extra}`) : { op: 'GetBucketEncryption', bucket };
        }
        if (query.has('versions')) {
          const extra = unsupported(LIST_VERSIONS);
          return extra ? ni(`?${extra}`) : { op: 'ListObjectVersions', bucket };
        }
        if (query.has('versioning')) {
          const extra = unsupported(new Set(['versioning']));
          return extra ? ni(`?${extra}`) : { op: 'GetBucketVersioning', bucket };
        }
        if (query.has('acl')) {
          const extra = unsupported(new Set(['acl']));
          return extra ? ni(`?${extra}`) : { op: 'GetBucketAcl', bucket };
        }
        if (query.get('list-type') === '2') {
          const extra = unsupported(LIST_V2);
          return extra ? ni(`?${extra}`) : { op: 'ListObjectsV2', bucket };
        }
        const extra = unsupported(LIST_V1);
        if (query.has('list-type')) return ni(`list-type=${query.get('list-type')}`);
        return extra ? ni(`?${extra}`) : { op: 'ListObjects', bucket };
      }
      case 'HEAD': {
        const extra = unsupported();
        return extra ? ni(`?${extra}`) : { op: 'HeadBucket', bucket };
      }
      case 'PUT': {
        if (query.has('encryption')) {
          const extra = unsupported(new Set(['encryption']));
          return extra ? ni(`?${extra}`) : { op: 'PutBucketEncryption', bucket };
        }
        if (query.has('acl')) {
          const extra = unsupported(new Set(['acl']));
          return extra ? ni(`?${extra}`) : { op: 'PutBucketAcl', bucket };
        }
        const extra = unsupported();
        return extra ? ni(`?${extra}`) : { op: 'CreateBucket', bucket };
      }
      case 'DELETE': {
        if (query.has('encryption')) {
          const extra = unsupported(new Set(['encryption']));
          return extra ? ni(`?${extra}`) : { op: 'DeleteBucketEncryption', bucket };
        }
        const extra = unsupported();
        return extra ? ni(`?${extra}`) : { op: 'DeleteBucket', bucket };
      }
      case 'POST': {
        if (query.has('delete')) {
          const extra = unsupported(new Set(['delete']));
          return extra ? ni(`?${extra}`) : { op: 'DeleteObjects', bucket };
        }
        const extra = unsupported();
        return extra ? ni(`?${extra}`) : { op: 'PostObject', bucket };
      }
      default:
        return ni(method);
    }
  }

  // versionId=null addresses the only version an unversioned bucket has.
  const version = query.get('versionId') === 'null' ? ['versionid'] : [];
  const objectOp = (allowed: string[], make: () => Op): Op => {
    const extra = unsupported(new Set([...version, ...allowed]));
    return extra ? ni(`?${extra}`) : make();
  };
  const uploadId = query.get('uploadId');
  switch (method) {
    case 'GET':
      if (uploadId !== undefined) {
        return objectOp(['uploadid', 'max-parts', 'part-number-marker', 'encoding-type'], () => ({ op: 'ListParts', bucket, key, uploadId }));
      }
      if (query.has('attributes')) return objectOp(['attributes'], () => ({ op: 'GetObjectAttributes', bucket, key }));
      if (query.has('acl')) return objectOp(['acl'], () => ({ op: 'GetObjectAcl', bucket, key }));
      return objectOp(['partnumber'], () => ({ op: 'GetObject', bucket, key }));
    case 'HEAD':
      return objectOp(['partnumber'], () => ({ op: 'HeadObject', bucket, key }));
    case 'PUT':
      if (uploadId !== undefined || query.has('partNumber')) {
        return objectOp(['uploadid', 'partnumber'], () =>
          uploadId === undefined
            ? ni('partNumber without uploadId')
            : { op: copy ? 'UploadPartCopy' : 'UploadPart', bucket, key, uploadId },
        );
      }
      if (query.has('acl')) return objectOp(['acl'], () => ({ op: 'PutObjectAcl', bucket, key }));
      return objectOp([], () => ({ op: copy ? 'CopyObject' : 'PutObject', bucket, key }));
    case 'POST':
      if (query.has('uploads')) return objectOp(['uploads'], () => ({ op: 'CreateMultipartUpload', bucket, key }));
      if (uploadId !== undefined) return objectOp(['uploadid'], () => ({ op: 'CompleteMultipartUpload', bucket, key, uploadId }));
      return objectOp([], () => ni('POST object'));
    case 'DELETE':
      if (uploadId !== undefined) return objectOp(['uploadid'], () => ({ op: 'AbortMultipartUpload', bucket, key, uploadId }));
      return objectOp([], () => ({ op: 'DeleteObject', bucket, key }));
    default:
      return ni(`${method} object`);
  }
}

/** Percent-decode once; `+` is a literal plus in a path. Invalid escapes or UTF-8 → InvalidURI. */
export function decodePath(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw invalidUri();
  }
}

/** Query strings are form-ish: `+` means space, as S3 and the SDKs treat it. */
export function parseQuery(raw: string): Query {
  const out = new Map<string, string>();
  if (raw === '') return out;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodeQueryComponent(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decodeQueryComponent(part.slice(eq + 1));
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}

function decodeQueryComponent(s: string): string {
  const spaced = s.replace(/\+/g, ' ');
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    throw new S3Error('InvalidArgument', 400, 'Invalid query string encoding');
  }
}

/** `bucket.s3.example.com[:port]` with domain `s3.example.com` → `bucket`. */
export function bucketFromHost(host: string | undefined, domains: readonly string[]): string | undefined {
  if (!host || domains.length === 0) return undefined;
  const h = host.replace(/:\d+$/, '').toLowerCase().replace(/\.$/, '');
  for (const d of domains) {
    if (h.length > d.length + 1 && h.endsWith(`.${d}`)) return h.slice(0, h.length - d.length - 1);
  }
  return undefined;
}

export const notImplementedFor = (what: string) =>
  notImplemented(`Cairn does not implement this operation yet (${what}).`);
