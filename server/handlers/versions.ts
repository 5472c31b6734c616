import type { ObjectInfo } from '../../storage/object-layer.js';
import { ownerXml, sendXml, type RequestContext } from '../context.js';
import { quoteEtag } from '../headers.js';
import { invalidArgument } from '../s3-error.js';
import { xmlDocument, type XmlChild } from '../xml.js';
import { commonPrefixesXml, fetchPage, listQuery } from './list.js';

/**
 * ListObjectVersions and GetBucketVersioning for buckets that were never
 * versioned — the only kind Cairn has. AWS answers a never-versioned bucket
 * with every object as its single version, VersionId `null`, IsLatest true,
 * no delete markers; and GetBucketVersioning with an empty
 * `<VersioningConfiguration/>` (no Status). Clients that clean a bucket the
 * version-aware way (ceph/s3-tests' fixtures, `aws s3 rb --force` on
 * versioned buckets, Terraform) therefore work unmodified.
 */

/** The VersionId S3 shows for objects written while versioning was never enabled. */
export const NULL_VERSION = 'null';

function version(o: ObjectInfo, enc: (s: string) => string, owner: XmlChild): XmlChild {
  const algs = Object.keys(o.checksums);
  return [
    'Version',
    [
      ['Key', enc(o.key)],
      ['VersionId', NULL_VERSION],
      ['IsLatest', true],
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

/**
 * Where a page starts. Each key has exactly one version, `null`, which sorts
 * as the key's only entry: `key-marker=k` alone or with `version-id-marker=null`
 * both resume after `k`. Any other version id names a version that cannot exist.
 */
function startAfter(keyMarker: string, versionIdMarker: string): string {
  if (versionIdMarker !== '') {
    if (keyMarker === '') {
      throw invalidArgument('A version-id marker cannot be specified without a key marker.', {
        ArgumentName: 'version-id-marker',
        ArgumentValue: versionIdMarker,
      });
    }
    if (versionIdMarker !== NULL_VERSION) {
      throw invalidArgument('Invalid version id specified', {
        ArgumentName: 'version-id-marker',
        ArgumentValue: versionIdMarker,
      });
    }
  }
  return keyMarker;
}

export async function listObjectVersions(ctx: RequestContext, op: { bucket: string }): Promise<void> {
  const q = ctx.routed.query;
  const { prefix, delimiter, maxKeys, url, enc } = listQuery(q);
  const keyMarker = q.get('key-marker') ?? '';
  const versionIdMarker = q.get('version-id-marker') ?? '';
  const after = startAfter(keyMarker, versionIdMarker);
  const page = await fetchPage(ctx, op.bucket, prefix, delimiter, after, maxKeys);
  const ownerEl: XmlChild = ['Owner', ownerXml(ctx.auth.accessKey)];
  const next = page.isTruncated ? page.nextAfter : undefined;
  // A common prefix has no version: NextVersionIdMarker only follows a key.
  const nextIsKey = next !== undefined && !page.commonPrefixes.includes(next);
  const body = xmlDocument('ListVersionsResult', [
    ['Name', op.bucket],
    // For this call AWS encodes Prefix too (KeyMarker, NextKeyMarker, Prefix, Delimiter, Key).
    ['Prefix', enc(prefix)],
    ['KeyMarker', enc(keyMarker)],
    ['VersionIdMarker', versionIdMarker],
    next !== undefined && ['NextKeyMarker', enc(next)],
    nextIsKey && ['NextVersionIdMarker', NULL_VERSION],
    ['MaxKeys', maxKeys],
    delimiter !== '' && ['Delimiter', enc(delimiter)],
    url && ['EncodingType', 'url'],
    ['IsTruncated', page.isTruncated],
    ...page.objects.map((o) => version(o, enc, ownerEl)),
    ...commonPrefixesXml(page.commonPrefixes, enc),
  ]);
  sendXml(ctx, body);
}

/** Never enabled, never suspended: the empty configuration, as AWS shows such a bucket. */
export async function getBucketVersioning(ctx: RequestContext, op: { bucket: string }): Promise<void> {
  await ctx.deps.objects.getBucketInfo(op.bucket, { signal: ctx.signal });
  sendXml(ctx, xmlDocument('VersioningConfiguration', []));
}
