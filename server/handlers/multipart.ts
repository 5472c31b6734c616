import { sseReadRequestFrom, sseWriteRequestFrom, writeSseHeaders } from '../sse.js';
import type { ByteRange, ListUploadsResult, MultipartUploadInfo, ObjectInfo, PartInfo } from '../../storage/object-layer.js';
import { decodeBody } from '../auth/index.js';
import { checksumXml, multipartChecksumFrom, partChecksumRequest, writeChecksumHeaders } from '../checksum-headers.js';
import { continueIfExpected, ownerXml, sendXml, type RequestContext } from '../context.js';
import {
  checksumRequestFrom,
  contentHeadersFrom,
  contentMd5From,
  quoteEtag,
  storageClassFrom,
  userMetadataFrom,
  validateKey,
} from '../headers.js';
import { S3Error, invalidArgument } from '../s3-error.js';
import { xmlDocument, type XmlChild } from '../xml.js';
import { commonPrefixesXml, parseEncoding, s3UrlEncode } from './list.js';

/**
 * The multipart family: CreateMultipartUpload, UploadPart, AbortMultipartUpload,
 * ListParts, ListMultipartUploads, and partNumber=N reads. CompleteMultipartUpload
 * is in multipart-complete.ts, UploadPartCopy in copy.ts.
 */

type ObjectOp = { bucket: string; key: string };
type UploadOp = ObjectOp & { uploadId: string };

export const MAX_PART_NUMBER = 10000;
export const MAX_PART_SIZE = 5 * 1024 ** 3;
const MAX_LIST = 1000;

/** `partNumber` of UploadPart / UploadPartCopy: 1..10000. */
export function parsePartNumber(raw: string | undefined): number {
  if (raw === undefined || !/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_PART_NUMBER) {
    throw invalidArgument('Part number must be an integer between 1 and 10000, inclusive', {
      ArgumentName: 'partNumber',
      ArgumentValue: raw ?? '',
    });
  }
  return Number(raw);
}

function parseMax(raw: string | undefined, name: string): number {
  if (raw === undefined) return MAX_LIST;
  if (!/^\d+$/.test(raw) || Number(raw) > 2147483647) {
    throw invalidArgument(`Provided ${name} not an integer or within integer range`, { ArgumentName: name, ArgumentValue: raw });
  }
  return Math.min(Number(raw), MAX_LIST);
}

function initiatorAndOwner(ctx: RequestContext): XmlChild[] {
  const who = ownerXml(ctx.auth.accessKey);
  return [
    ['Initiator', who],
    ['Owner', who],
  ];
}

function uploadChecksumXml(u: MultipartUploadInfo): XmlChild[] {
  return [u.checksumAlgorithm !== undefined && ['ChecksumAlgorithm', u.checksumAlgorithm], u.checksumAlgorithm !== undefined && u.checksumType !== undefined && ['ChecksumType', u.checksumType]];
}

export async function createMultipartUpload(ctx: RequestContext, op: ObjectOp): Promise<void> {
  validateKey(op.key);
  const headers = ctx.req.headers;
  const checksum = multipartChecksumFrom(headers);
  const sse = sseWriteRequestFrom(headers);
  const enc = headers['content-encoding'];
  const upload = await ctx.deps.objects.createMultipartUpload(op.bucket, op.key, {
    headers: contentHeadersFrom(headers, Array.isArray(enc) ? enc.join(',') : enc),
    userMetadata: userMetadataFrom(headers),
    storageClass: storageClassFrom(headers),
    ...(checksum ?? {}),
    ...(sse ? { sse } : {}),
    signal: ctx.signal,
  });
  writeSseHeaders(ctx.reply, upload, sse?.type === 'SSE-C' ? sse.customerKey : undefined);
  if (upload.checksumAlgorithm) {
    ctx.reply.header('x-amz-checksum-algorithm', upload.checksumAlgorithm);
    if (upload.checksumType) ctx.reply.header('x-amz-checksum-type', upload.checksumType);
  }
  sendXml(
    ctx,
    xmlDocument('InitiateMultipartUploadResult', [
      ['Bucket', op.bucket],
      ['Key', op.key],
      ['UploadId', upload.uploadId],
    ]),
  );
}

/** The upload's own record (its checksum algorithm decides how parts are checksummed). */
async function uploadOf(ctx: RequestContext, op: UploadOp): Promise<MultipartUploadInfo> {
  const r = await ctx.deps.objects.listParts(op.bucket, op.key, op.uploadId, { maxParts: 0, signal: ctx.signal });
  return r.upload;
}

export function writePartResponseHeaders(ctx: RequestContext, part: PartInfo): void {
  ctx.reply.header('etag', quoteEtag(part.etag));
  writeChecksumHeaders(ctx.reply, part.checksums, undefined);
}

export async function uploadPart(ctx: RequestContext, op: UploadOp): Promise<void> {
  validateKey(op.key);
  const headers = ctx.req.headers;
  const partNumber = parsePartNumber(ctx.routed.query.get('partNumber'));
  const contentMd5 = contentMd5From(headers);
  const sse = sseReadRequestFrom(headers);
  const decoded = decodeBody(ctx.req.raw, ctx.auth, headers);
  if (decoded.size === undefined) {
    throw new S3Error('MissingContentLength', 411, 'You must provide the Content-Length HTTP header.');
  }
  if (decoded.size > MAX_PART_SIZE) {
    throw new S3Error('EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed object size.');
  }
  const upload = await uploadOf(ctx, op);
  const checksum = partChecksumRequest(checksumRequestFrom(headers, decoded.trailer), upload.checksumAlgorithm);
  continueIfExpected(ctx);
  const part = await ctx.deps.objects.putObjectPart(op.bucket, op.key, op.uploadId, partNumber, decoded.stream, {
    size: decoded.size,
    ...(contentMd5 !== undefined ? { contentMd5 } : {}),
    ...(checksum ? { checksum } : {}),
    ...(sse ? { sse } : {}),
    signal: ctx.signal,
  });
  writePartResponseHeaders(ctx, part);
  writeSseHeaders(ctx.reply, upload, sse?.type === 'SSE-C' ? sse.customerKey : undefined);
  ctx.reply.code(200).send();
}

export async function abortMultipartUpload(ctx: RequestContext, op: UploadOp): Promise<void> {
  validateKey(op.key);
  await ctx.deps.objects.abortMultipartUpload(op.bucket, op.key, op.uploadId, { signal: ctx.signal });
  ctx.reply.code(204).send();
}

export async function listParts(ctx: RequestContext, op: UploadOp): Promise<void> {
  validateKey(op.key);
  const q = ctx.routed.query;
  const maxParts = parseMax(q.get('max-parts'), 'max-parts');
  const rawMarker = q.get('part-number-marker');
  if (rawMarker !== undefined && rawMarker !== '' && !/^\d+$/.test(rawMarker)) {
    throw invalidArgument('Provided part-number-marker not an integer or within integer range', {
      ArgumentName: 'part-number-marker',
      ArgumentValue: rawMarker,
    });
  }
  const marker = rawMarker ? Number(rawMarker) : 0;
  const url = parseEncoding(q.get('encoding-type'));
  const page = await ctx.deps.objects.listParts(op.bucket, op.key, op.uploadId, {
    partNumberMarker: marker,
    maxParts,
    signal: ctx.signal,
  });
  const last = page.parts[page.parts.length - 1];
  const next = page.nextPartNumberMarker ?? last?.partNumber ?? marker;
  sendXml(
    ctx,
    xmlDocument('ListPartsResult', [
      ['Bucket', op.bucket],
      ['Key', url ? s3UrlEncode(op.key) : op.key],
      ['UploadId', op.uploadId],
      ...initiatorAndOwner(ctx),
      ['StorageClass', page.upload.storageClass || 'STANDARD'],
      ['PartNumberMarker', marker],
      ['NextPartNumberMarker', next],
      ['MaxParts', maxParts],
      ['IsTruncated', page.isTruncated],
      ...uploadChecksumXml(page.upload),
      ...page.parts.map(
        (p): XmlChild => [
          'Part',
          [['PartNumber', p.partNumber], ['LastModified', p.modTime], ['ETag', quoteEtag(p.etag)], ['Size', p.size], ...checksumXml(p.checksums)],
        ],
      ),
    ]),
  );
}

export async function listMultipartUploads(ctx: RequestContext, op: { bucket: string }): Promise<void> {
  const q = ctx.routed.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const keyMarker = q.get('key-marker') ?? '';
  // AWS ignores upload-id-marker without a key-marker.
  const uploadIdMarker = keyMarker === '' ? '' : (q.get('upload-id-marker') ?? '');
  const maxUploads = parseMax(q.get('max-uploads'), 'max-uploads');
  const url = parseEncoding(q.get('encoding-type'));
  const enc = url ? s3UrlEncode : (s: string) => s;
  const page: ListUploadsResult =
    maxUploads === 0
      ? (await ctx.deps.objects.getBucketInfo(op.bucket, { signal: ctx.signal }), { uploads: [], commonPrefixes: [], isTruncated: false })
      : await ctx.deps.objects.listMultipartUploads(op.bucket, {
          ...(prefix !== '' ? { prefix } : {}),
          ...(delimiter !== '' ? { delimiter } : {}),
          ...(keyMarker !== '' ? { keyMarker } : {}),
          ...(uploadIdMarker !== '' ? { uploadIdMarker } : {}),
          maxUploads,
          signal: ctx.signal,
        });
  const owner = initiatorAndOwner(ctx);
  sendXml(
    ctx,
    xmlDocument('ListMultipartUploadsResult', [
      ['Bucket', op.bucket],
      ['KeyMarker', enc(keyMarker)],
      ['UploadIdMarker', uploadIdMarker],
      ['NextKeyMarker', enc(page.nextKeyMarker ?? '')],
      ['NextUploadIdMarker', page.nextUploadIdMarker ?? ''],
      delimiter !== '' && ['Delimiter', enc(delimiter)],
      ['Prefix', enc(prefix)],
      ['MaxUploads', maxUploads],
      url && ['EncodingType', 'url'],
      ['IsTruncated', page.isTruncated],
      ...page.uploads.map(
        (u): XmlChild => [
          'Upload',
          [
            ['Key', enc(u.key)],
            ['UploadId', u.uploadId],
            ...owner,
            ['StorageClass', u.storageClass || 'STANDARD'],
            ['Initiated', u.initiated],
            ...uploadChecksumXml(u),
          ],
        ],
      ),
      ...commonPrefixesXml(page.commonPrefixes, enc),
    ]),
  );
}

// ---- partNumber=N on GetObject / HeadObject ---------------------------------

/** `?partNumber=N` of a GET/HEAD, validated; AWS refuses it together with a Range header. */
export function readPartNumberFrom(query: ReadonlyMap<string, string>, rangeHeader: string | undefined): number | undefined {
  const raw = query.get('partNumber');
  if (raw === undefined) return undefined;
  const n = parsePartNumber(raw);
  if (rangeHeader !== undefined) throw new S3Error('InvalidRequest', 400, 'Cannot specify both Range header and partNumber query parameter');
  return n;
}

/** Bytes of part N; a single-PUT object is its own part 1. Undefined for an empty object (served whole). */
export function partRangeOf(info: ObjectInfo, partNumber: number): ByteRange | undefined {
  if (!info.parts) return info.size === 0 ? undefined : { start: 0, end: info.size - 1 };
  let start = 0;
  for (const p of info.parts) {
    if (p.partNumber === partNumber) return p.size === 0 ? undefined : { start, end: start + p.size - 1 };
    start += p.size;
  }
  return undefined;
}

/** With checksum mode, a part read shows that part's own checksum (what its bytes hash to). */
export function writePartChecksums(ctx: RequestContext, info: ObjectInfo, partNumber: number): void {
  const part = info.parts?.find((p) => p.partNumber === partNumber);
  if (part) writeChecksumHeaders(ctx.reply, part.checksums, undefined);
}
