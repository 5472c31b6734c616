import { createHash } from 'node:crypto';
import { combineCrc, createChecksum } from '../../core/checksums.js';
import { ObjectLayerError } from '../../storage/errors.js';
import type {
  ByteRange,
  ChecksumAlgorithm,
  Checksums,
  CompletePart,
  ListUploadsResult,
  MultipartUploadInfo,
  ObjectInfo,
  PartInfo,
} from '../../storage/object-layer.js';
import { decodeBody } from '../auth/index.js';
import {
  checksumsFromXml,
  checksumValuesFrom,
  checksumXml,
  multipartChecksumFrom,
  partChecksumRequest,
  writeChecksumHeaders,
} from '../checksum-headers.js';
import { writeConditionsFrom } from '../conditional.js';
import { continueIfExpected, ownerOf, sendXml, type RequestContext } from '../context.js';
import {
  checksumRequestFrom,
  contentHeadersFrom,
  contentMd5From,
  quoteEtag,
  storageClassFrom,
  userMetadataFrom,
  validateKey,
} from '../headers.js';
import { s3UrlEncode } from './list.js';
import { S3Error, invalidArgument } from '../s3-error.js';
import { malformedXml, parseXml, readCappedBody, xmlDocument, xmlList, xmlText, type XmlChild } from '../xml.js';

/**
 * The multipart family: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
 * AbortMultipartUpload, ListParts, ListMultipartUploads. (UploadPartCopy is in copy.ts.)
 */

type ObjectOp = { bucket: string; key: string };
type UploadOp = ObjectOp & { uploadId: string };

export const MAX_PART_NUMBER = 10000;
export const MAX_PART_SIZE = 5 * 1024 ** 3;
const MAX_LIST = 1000;
/** 10,000 parts with every optional element fit well below this. */
const MAX_COMPLETE_BODY = 8 << 20;

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

function parseEncoding(raw: string | undefined): boolean {
  if (raw === undefined || raw === '') return false;
  if (raw.toLowerCase() !== 'url') {
    throw invalidArgument('Invalid Encoding Method specified in Request', { ArgumentName: 'encoding-type' });
  }
  return true;
}

function ownerXml(ctx: RequestContext): XmlChild[] {
  const o = ownerOf(ctx.auth.accessKey);
  const who: XmlChild[] = [
    ['ID', o.id],
    ['DisplayName', o.displayName],
  ];
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
  const enc = headers['content-encoding'];
  const upload = await ctx.deps.objects.createMultipartUpload(op.bucket, op.key, {
    headers: contentHeadersFrom(headers, Array.isArray(enc) ? enc.join(',') : enc),
    userMetadata: userMetadataFrom(headers),
    storageClass: storageClassFrom(headers),
    ...(checksum ?? {}),
    signal: ctx.signal,
  });
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
    signal: ctx.signal,
  });
  writePartResponseHeaders(ctx, part);
  ctx.reply.code(200).send();
}

interface ParsedComplete {
  parts: CompletePart[];
}

/** `<CompleteMultipartUpload><Part><PartNumber/><ETag/>[<ChecksumX/>]</Part>…`; anything else is MalformedXML. */
export function parseCompleteBody(body: Buffer): ParsedComplete {
  const root = parseXml(body, 'CompleteMultipartUpload');
  if (root === '' || root === undefined) throw malformedXml();
  if (typeof root !== 'object' || root === null) throw malformedXml();
  const parts: CompletePart[] = [];
  for (const raw of xmlList((root as Record<string, unknown>).Part)) {
    if (typeof raw !== 'object' || raw === null) throw malformedXml();
    const el = raw as Record<string, unknown>;
    const num = xmlText(el.PartNumber)?.trim();
    const etag = xmlText(el.ETag);
    if (num === undefined || etag === undefined || !/^\d{1,9}$/.test(num)) throw malformedXml();
    const checksums = checksumsFromXml(el, xmlText);
    parts.push({ partNumber: Number(num), etag: etag.trim(), ...(Object.keys(checksums).length > 0 ? { checksums } : {}) });
  }
  if (parts.length === 0) throw malformedXml();
  return { parts };
}

/** The upload and every current part, by number (at most 10 pages of 1000). */
async function allParts(ctx: RequestContext, op: UploadOp): Promise<{ upload: MultipartUploadInfo; parts: Map<number, PartInfo> }> {
  const parts = new Map<number, PartInfo>();
  let marker: number | undefined;
  for (;;) {
    const page = await ctx.deps.objects.listParts(op.bucket, op.key, op.uploadId, {
      ...(marker !== undefined ? { partNumberMarker: marker } : {}),
      maxParts: MAX_LIST,
      signal: ctx.signal,
    });
    for (const p of page.parts) parts.set(p.partNumber, p);
    if (!page.isTruncated || page.nextPartNumberMarker === undefined) return { upload: page.upload, parts };
    marker = page.nextPartNumberMarker;
  }
}

/**
 * What the object's checksum will be, computed as storage does (composite:
 * checksum of the part digests + `-N`; full object: CRCs combined), so a value
 * the client asserts on CompleteMultipartUpload is checked before committing.
 */
export function expectedObjectChecksum(
  alg: ChecksumAlgorithm,
  type: 'COMPOSITE' | 'FULL_OBJECT',
  parts: Array<{ size: number; checksums: Checksums }>,
): string | undefined {
  if (parts.length === 0 || parts.some((p) => p.checksums[alg] === undefined)) return undefined;
  const digests = parts.map((p) => Buffer.from(p.checksums[alg]!, 'base64'));
  if (type === 'FULL_OBJECT' && alg.startsWith('CRC')) {
    let acc: Buffer = digests[0]!;
    for (let i = 1; i < digests.length; i++) acc = combineCrc(alg, acc, digests[i]!, parts[i]!.size);
    return acc.toString('base64');
  }
  const c = createChecksum(alg);
  for (const d of digests) c.update(d);
  return `${c.digest().toString('base64')}-${parts.length}`;
}

function checkAssertedChecksum(
  asserted: Checksums,
  upload: MultipartUploadInfo,
  listed: CompletePart[],
  stored: Map<number, PartInfo>,
): void {
  for (const [alg, value] of Object.entries(asserted) as Array<[ChecksumAlgorithm, string]>) {
    if (alg !== upload.checksumAlgorithm) {
      throw new S3Error('InvalidRequest', 400, `The upload was created using the ${(upload.checksumAlgorithm ?? 'null').toLowerCase()} checksum algorithm; ${alg.toLowerCase()} was provided.`);
    }
    const chosen = listed.map((c) => stored.get(c.partNumber)).filter((p): p is PartInfo => p !== undefined);
    if (chosen.length !== listed.length) return; // storage answers InvalidPart
    const want = expectedObjectChecksum(alg, upload.checksumType ?? 'COMPOSITE', chosen);
    // A composite value may be asserted with or without its `-N` suffix.
    if (want !== undefined && want !== value && want.replace(/-\d+$/, '') !== value) {
      throw new S3Error('BadDigest', 400, `The ${alg.toLowerCase()} you specified did not match the calculated checksum.`);
    }
  }
}

/** A part checksum the client lists must be the one stored for that part (AWS: InvalidPart). */
function checkListedChecksums(listed: CompletePart[], stored: Map<number, PartInfo>): void {
  for (const c of listed) {
    if (!c.checksums) continue;
    const have = stored.get(c.partNumber);
    if (!have) continue; // storage answers InvalidPart for the missing part
    for (const [alg, value] of Object.entries(c.checksums) as Array<[keyof Checksums, string]>) {
      if (have.checksums[alg] !== value) {
        throw new S3Error(
          'InvalidPart',
          400,
          "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
        );
      }
    }
  }
}

/**
 * A part number listed several times in a row (a client that re-uploaded a part
 * and recorded both answers) counts once, with its last ETag; AWS and RGW
 * accept that. A decreasing number is still InvalidPartOrder (storage).
 */
export function collapseRepeatedParts(parts: CompletePart[]): CompletePart[] {
  const out: CompletePart[] = [];
  for (const p of parts) {
    if (out.length > 0 && out[out.length - 1]!.partNumber === p.partNumber) out[out.length - 1] = p;
    else out.push(p);
  }
  return out;
}

/**
 * CompleteMultipartUpload retried after it succeeded (a lost response): AWS
 * answers 200 again. The upload is gone, but if the key holds the object these
 * very parts make (same multipart ETag), that completion is the answer.
 */
async function alreadyCompleted(ctx: RequestContext, op: UploadOp, parts: CompletePart[]): Promise<ObjectInfo | undefined> {
  const md5 = createHash('md5');
  for (const p of parts) {
    const hex = p.etag.replace(/^"+|"+$/g, '');
    if (!/^[0-9a-f]{32}$/i.test(hex)) return undefined;
    md5.update(Buffer.from(hex, 'hex'));
  }
  const etag = `${md5.digest('hex')}-${parts.length}`;
  try {
    const info = await ctx.deps.objects.headObject(op.bucket, op.key, { signal: ctx.signal });
    return info.etag === etag ? info : undefined;
  } catch {
    return undefined;
  }
}

export async function completeMultipartUpload(ctx: RequestContext, op: UploadOp): Promise<void> {
  validateKey(op.key);
  const headers = ctx.req.headers;
  const { conditions, ifNoneMatchEtag } = writeConditionsFrom(headers);
  if (ifNoneMatchEtag !== undefined) throw new S3Error('NotImplemented', 501, 'If-None-Match on CompleteMultipartUpload only supports *.');
  const asserted = checksumValuesFrom(headers, true);
  const decoded = decodeBody(ctx.req.raw, ctx.auth, headers);
  continueIfExpected(ctx);
  const body = await readCappedBody(decoded.stream, MAX_COMPLETE_BODY);
  const parts = collapseRepeatedParts(parseCompleteBody(body).parts);
  let info: ObjectInfo;
  try {
    if (parts.some((p) => p.checksums) || Object.keys(asserted).length > 0) {
      const { upload, parts: stored } = await allParts(ctx, op);
      checkListedChecksums(parts, stored);
      checkAssertedChecksum(asserted, upload, parts, stored);
    }
    info = await ctx.deps.objects.completeMultipartUpload(op.bucket, op.key, op.uploadId, parts, {
      ...(conditions ? { conditions } : {}),
      ...(Object.keys(asserted).length > 0 ? { checksums: asserted } : {}),
      signal: ctx.signal,
    });
  } catch (err) {
    const done = err instanceof ObjectLayerError && err.code === 'UploadNotFound' ? await alreadyCompleted(ctx, op, parts) : undefined;
    if (!done) throw err;
    info = done;
  }
  const proto = ctx.req.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http';
  const location = `${proto}://${ctx.req.headers.host ?? 'localhost'}/${op.bucket}/${s3UrlEncode(op.key)}`;
  sendXml(
    ctx,
    xmlDocument('CompleteMultipartUploadResult', [
      ['Location', location],
      ['Bucket', op.bucket],
      ['Key', op.key],
      ['ETag', quoteEtag(info.etag)],
      ...checksumXml(info.checksums),
      Object.keys(info.checksums).length > 0 && info.checksumType !== undefined && ['ChecksumType', info.checksumType],
    ]),
  );
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
      ['Key', op.key],
      ['UploadId', op.uploadId],
      ...ownerXml(ctx),
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
  const owner = ownerXml(ctx);
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
      ...page.commonPrefixes.map((p): XmlChild => ['CommonPrefixes', [['Prefix', enc(p)]]]),
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
