import { writeSseHeaders } from '../sse.js';
import { createHash } from 'node:crypto';
import { combineCrc, createChecksum } from '../../core/checksums.js';
import { ObjectLayerError } from '../../storage/errors.js';
import type { ChecksumAlgorithm, Checksums, CompletePart, MultipartUploadInfo, ObjectInfo, PartInfo } from '../../storage/object-layer.js';
import { decodeBody } from '../auth/index.js';
import { checksumsFromXml, checksumValuesFrom, checksumXml } from '../checksum-headers.js';
import { writeConditionsFrom } from '../conditional.js';
import { continueIfExpected, sendXml, type RequestContext } from '../context.js';
import { quoteEtag, validateKey } from '../headers.js';
import { S3Error, invalidArgument } from '../s3-error.js';
import { malformedXml, parseXml, readCappedBody, xmlDocument, xmlList, xmlText } from '../xml.js';
import { s3UrlEncode } from './list.js';

/**
 * CompleteMultipartUpload: parse the part list, check what the client asserts
 * (part checksums, a full-object checksum, x-amz-mp-object-size) against the
 * stored parts before anything is committed, then let storage commit. Retries
 * of a completion that already succeeded answer 200 again, as on AWS.
 */

type UploadOp = { bucket: string; key: string; uploadId: string };

const MAX_LIST = 1000;
/** 10,000 parts with every optional element fit well below this. */
const MAX_COMPLETE_BODY = 8 << 20;

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

/** x-amz-mp-object-size: the total the client expects (AWS: a mismatch is InvalidRequest). */
function parseObjectSize(raw: string | string[] | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const v = Array.isArray(raw) ? raw.join(',') : raw;
  if (!/^\d{1,16}$/.test(v.trim())) throw invalidArgument('x-amz-mp-object-size must be a non-negative integer', { ArgumentName: 'x-amz-mp-object-size' });
  return Number(v.trim());
}

function checkObjectSize(expected: number | undefined, listed: CompletePart[], stored: Map<number, PartInfo>): void {
  if (expected === undefined) return;
  let total = 0;
  for (const c of listed) {
    const p = stored.get(c.partNumber);
    if (!p) return; // storage answers InvalidPart
    total += p.size;
  }
  if (total !== expected) {
    throw new S3Error('InvalidRequest', 400, `The provided 'x-amz-mp-object-size' header value ${expected} does not match what was computed: ${total}`);
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
  const mpSize = parseObjectSize(headers['x-amz-mp-object-size']);
  const decoded = decodeBody(ctx.req.raw, ctx.auth, headers);
  continueIfExpected(ctx);
  const body = await readCappedBody(decoded.stream, MAX_COMPLETE_BODY);
  const parts = collapseRepeatedParts(parseCompleteBody(body).parts);
  let info: ObjectInfo;
  try {
    if (parts.some((p) => p.checksums) || Object.keys(asserted).length > 0 || mpSize !== undefined) {
      const { upload, parts: stored } = await allParts(ctx, op);
      checkListedChecksums(parts, stored);
      checkAssertedChecksum(asserted, upload, parts, stored);
      checkObjectSize(mpSize, parts, stored);
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
  writeSseHeaders(ctx.reply, info);
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
