import type { IncomingHttpHeaders } from 'node:http';
import { parseChecksumAlgorithm } from '../../core/checksums.js';
import type { ByteRange, ChecksumAlgorithm, ChecksumRequest, GetObjectResult, ObjectInfo, PartInfo } from '../../storage/object-layer.js';
import { checksumXml, partChecksumRequest } from '../checksum-headers.js';
import { checkCopySourcePreconditions } from '../conditional.js';
import { sendXml, type RequestContext } from '../context.js';
import { contentHeadersFrom, quoteEtag, storageClassFrom, userMetadataFrom, validateKey } from '../headers.js';
import { S3Error, invalidArgument, invalidRequest } from '../s3-error.js';
import { sseReadRequestFrom, sseWriteRequestFrom, writeSseHeaders } from '../sse.js';
import { xmlDocument } from '../xml.js';
import { parsePartNumber } from './multipart.js';

/**
 * CopyObject and UploadPartCopy. Both stream: the source's getObject stream is
 * the body of the destination's putObject / putObjectPart, so nothing is
 * buffered whole and the copy goes through the same erasure pipeline as an
 * upload. The source may be the destination itself (a metadata change): the
 * new write goes to a fresh data dir and replaces the old one on commit.
 */

/** AWS's limit for a copy source without a range (bigger objects need UploadPartCopy). */
export const MAX_COPY_SIZE = 5 * 1024 ** 3;

export interface CopySource {
  bucket: string;
  key: string;
  versionId?: string;
}

function one(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

const badSource = () =>
  invalidArgument('Copy Source must mention the source bucket and key: sourcebucket/sourcekey', {
    ArgumentName: 'x-amz-copy-source',
  });

/**
 * `x-amz-copy-source: [/]bucket/key[?versionId=id]`, percent-encoded. The
 * query is split off before decoding, so a key with an encoded `?` survives;
 * `+` stays a plus, as in paths.
 */
export function parseCopySource(raw: string | undefined): CopySource {
  if (raw === undefined) throw badSource();
  let s = raw.trim();
  let versionId: string | undefined;
  const q = s.indexOf('?');
  if (q >= 0) {
    const query = s.slice(q + 1);
    s = s.slice(0, q);
    for (const part of query.split('&')) {
      const eq = part.indexOf('=');
      const name = eq < 0 ? part : part.slice(0, eq);
      if (name === 'versionId') versionId = eq < 0 ? '' : safeDecode(part.slice(eq + 1));
    }
  }
  const path = safeDecode(s);
  const p = path.startsWith('/') ? path.slice(1) : path;
  const slash = p.indexOf('/');
  if (slash <= 0 || slash === p.length - 1) throw badSource();
  return { bucket: p.slice(0, slash), key: p.slice(slash + 1), ...(versionId !== undefined ? { versionId } : {}) };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw badSource();
  }
}

/** Unversioned buckets have exactly one version, called 'null'. */
function checkVersion(src: CopySource): void {
  if (src.versionId === undefined || src.versionId === 'null') return;
  if (src.versionId === '') throw invalidArgument('Version id cannot be the empty string', { ArgumentName: 'versionId' });
  throw new S3Error('NoSuchVersion', 404, 'The specified version does not exist.', { VersionId: src.versionId });
}

/** Open the source for reading, with its x-amz-copy-source-if-* checked against what is actually served. */
async function openSource(ctx: RequestContext, src: CopySource, range?: ByteRange): Promise<GetObjectResult> {
  checkVersion(src);
  validateKey(src.key);
  // The source's SSE-C key comes in the x-amz-copy-source-server-side-encryption-customer-* trio.
  const sse = sseReadRequestFrom(ctx.req.headers, 'copy-source-');
  const res = await ctx.deps.objects.getObject(src.bucket, src.key, { ...(range ? { range } : {}), ...(sse ? { sse } : {}), signal: ctx.signal });
  try {
    checkCopySourcePreconditions(ctx.req.headers, res.info);
    return res;
  } catch (err) {
    res.stream.destroy();
    throw err;
  }
}

function parseDirective(raw: string | undefined, header: string): 'COPY' | 'REPLACE' {
  if (raw === undefined) return 'COPY';
  const d = raw.trim().toUpperCase();
  if (d === 'COPY' || d === 'REPLACE') return d;
  throw invalidArgument(`Unknown ${header === 'x-amz-metadata-directive' ? 'metadata' : 'tagging'} directive.`, { ArgumentName: header });
}

/** The checksum the copy is stored with: asked for, or else the source's algorithm recomputed over the bytes. */
function copyChecksum(headers: IncomingHttpHeaders, source: ObjectInfo): ChecksumRequest | undefined {
  const raw = one(headers, 'x-amz-checksum-algorithm');
  if (raw !== undefined) {
    const alg = parseChecksumAlgorithm(raw);
    if (!alg) throw invalidRequest('Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]');
    return { algorithm: alg, type: 'FULL_OBJECT' };
  }
  const alg = Object.keys(source.checksums)[0] as ChecksumAlgorithm | undefined;
  return alg ? { algorithm: alg, type: 'FULL_OBJECT' } : undefined;
}

const SELF_COPY =
  "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.";

export async function copyObject(ctx: RequestContext, op: { bucket: string; key: string }): Promise<void> {
  validateKey(op.key);
  const headers = ctx.req.headers;
  const src = parseCopySource(one(headers, 'x-amz-copy-source'));
  const directive = parseDirective(one(headers, 'x-amz-metadata-directive'), 'x-amz-metadata-directive');
  parseDirective(one(headers, 'x-amz-tagging-directive'), 'x-amz-tagging-directive');
  const storageClass = storageClassFrom(headers);
  // Target encryption: as asked, else the bucket default / server setting (the source's is not inherited, as AWS).
  const sse = sseWriteRequestFrom(headers);
  const replaced =
    directive === 'REPLACE'
      ? { headers: contentHeadersFrom(headers, one(headers, 'content-encoding')), userMetadata: userMetadataFrom(headers) }
      : undefined;
  const changesSomething =
    replaced !== undefined ||
    storageClass !== undefined ||
    sse !== undefined ||
    headers['x-amz-website-redirect-location'] !== undefined;

  const res = await openSource(ctx, src);
  let info: ObjectInfo;
  try {
    if (src.bucket === op.bucket && src.key === op.key && !changesSomething) throw invalidRequest(SELF_COPY);
    if (res.info.size > MAX_COPY_SIZE) {
      throw invalidRequest(`The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_COPY_SIZE}`);
    }
    const checksum = copyChecksum(headers, res.info);
    info = await ctx.deps.objects.putObject(op.bucket, op.key, res.stream, {
      size: res.info.size,
      headers: replaced?.headers ?? res.info.headers,
      userMetadata: replaced?.userMetadata ?? res.info.userMetadata,
      ...(storageClass !== undefined ? { storageClass } : {}),
      ...(checksum ? { checksum } : {}),
      ...(sse ? { sse } : {}),
      signal: ctx.signal,
    });
  } finally {
    // On success the stream was consumed; on failure nobody else will read it.
    if (!res.stream.readableEnded) res.stream.destroy();
  }
  if (src.versionId !== undefined) ctx.reply.header('x-amz-copy-source-version-id', 'null');
  writeSseHeaders(ctx.reply, info, sse?.type === 'SSE-C' ? sse.customerKey : undefined);
  sendXml(
    ctx,
    xmlDocument('CopyObjectResult', [
      ['LastModified', info.modTime],
      ['ETag', quoteEtag(info.etag)],
      ...checksumXml(info.checksums),
      Object.keys(info.checksums).length > 0 && info.checksumType !== undefined && ['ChecksumType', info.checksumType],
    ]),
  );
}

/** `x-amz-copy-source-range: bytes=first-last`, both required. */
export function parseCopySourceRange(raw: string | undefined): ByteRange | undefined {
  if (raw === undefined) return undefined;
  const m = /^bytes=(\d{1,16})-(\d{1,16})$/.exec(raw.trim());
  if (!m || Number(m[2]) < Number(m[1])) {
    throw invalidArgument(
      'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
      { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: raw },
    );
  }
  return { start: Number(m[1]), end: Number(m[2]) };
}

export async function uploadPartCopy(ctx: RequestContext, op: { bucket: string; key: string; uploadId: string }): Promise<void> {
  validateKey(op.key);
  const headers = ctx.req.headers;
  const partNumber = parsePartNumber(ctx.routed.query.get('partNumber'));
  const partSse = sseReadRequestFrom(headers); // the upload's SSE-C key, when it is SSE-C
  const src = parseCopySource(one(headers, 'x-amz-copy-source'));
  const range = parseCopySourceRange(one(headers, 'x-amz-copy-source-range'));
  if (range && range.end - range.start + 1 > MAX_COPY_SIZE) {
    throw invalidArgument('Part size must not exceed 5 GiB', { ArgumentName: 'x-amz-copy-source-range' });
  }
  // The upload decides the part's checksum; it must exist before we read the source.
  const { upload } = await ctx.deps.objects.listParts(op.bucket, op.key, op.uploadId, { maxParts: 0, signal: ctx.signal });
  const res = await openSource(ctx, src, range);
  let part: PartInfo;
  try {
    const size = res.range ? res.range.end - res.range.start + 1 : res.info.size;
    if (size > MAX_COPY_SIZE) {
      throw invalidRequest(`The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_COPY_SIZE}`);
    }
    const checksum = partChecksumRequest(undefined, upload.checksumAlgorithm);
    part = await ctx.deps.objects.putObjectPart(op.bucket, op.key, op.uploadId, partNumber, res.stream, {
      size,
      ...(checksum ? { checksum } : {}),
      ...(partSse ? { sse: partSse } : {}),
      signal: ctx.signal,
    });
  } finally {
    if (!res.stream.readableEnded) res.stream.destroy();
  }
  if (src.versionId !== undefined) ctx.reply.header('x-amz-copy-source-version-id', 'null');
  writeSseHeaders(ctx.reply, upload, partSse?.type === 'SSE-C' ? partSse.customerKey : undefined);
  sendXml(
    ctx,
    xmlDocument('CopyPartResult', [['LastModified', part.modTime], ['ETag', quoteEtag(part.etag)], ...checksumXml(part.checksums)]),
  );
}
