import { createHash } from 'node:crypto';
import { CHECKSUM_ALGORITHMS, checksumHeaderName, createChecksum } from '../../core/checksums.js';
import { decodeBody } from '../auth/index.js';
import { continueIfExpected, sendXml, type RequestContext } from '../context.js';
import { toS3Error } from '../errors.js';
import { contentMd5From, validateKey } from '../headers.js';
import { S3Error } from '../s3-error.js';
import { malformedXml, parseXml, readCappedBody, xmlDocument, xmlList, xmlText, type XmlChild } from '../xml.js';

/** POST /bucket?delete — DeleteObjects. */

const MAX_OBJECTS = 1000;
/** 1000 keys of up to 1024 bytes, XML-escaped, fit comfortably. */
const MAX_BODY = 4 << 20;
const CONCURRENCY = 16;

interface Entry {
  key: string;
  versionId?: string;
}

export async function deleteObjects(ctx: RequestContext, op: { bucket: string }): Promise<void> {
  const headers = ctx.req.headers;
  const md5 = contentMd5From(headers);
  const decoded = decodeBody(ctx.req.raw, ctx.auth, headers);
  const headerAlg = CHECKSUM_ALGORITHMS.find((a) => headers[checksumHeaderName(a)] !== undefined);
  if (md5 === undefined && headerAlg === undefined && decoded.trailer === undefined) {
    // AWS requires an integrity check on this call; either kind will do.
    throw new S3Error('InvalidRequest', 400, 'Missing required header for this request: Content-MD5 or x-amz-checksum-*');
  }
  continueIfExpected(ctx);
  const body = await readCappedBody(decoded.stream, MAX_BODY);
  verifyDigests(ctx, body, md5, headerAlg, decoded.trailer);

  const { entries, quiet } = parseDelete(body);
  const results: XmlChild[] = new Array(entries.length);
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const i = next++;
      results[i] = await deleteOne(ctx, op.bucket, entries[i]!, quiet);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, entries.length) }, worker));
  sendXml(ctx, xmlDocument('DeleteResult', results));
}

async function deleteOne(ctx: RequestContext, bucket: string, e: Entry, quiet: boolean): Promise<XmlChild> {
  try {
    if (e.versionId !== undefined && e.versionId !== 'null') {
      throw new S3Error('NoSuchVersion', 404, 'The specified version does not exist.');
    }
    validateKey(e.key);
    await ctx.deps.objects.deleteObject(bucket, e.key, { signal: ctx.signal });
    if (quiet) return undefined;
    return ['Deleted', [['Key', e.key], e.versionId !== undefined && ['VersionId', e.versionId]]];
  } catch (err) {
    const { s3, internal } = toS3Error(err);
    // A missing bucket fails the whole request, as on AWS.
    if (s3.code === 'NoSuchBucket') throw err;
    if (internal) ctx.log.error({ err, key: e.key }, 'DeleteObjects: internal error');
    return [
      'Error',
      [
        ['Key', e.key],
        e.versionId !== undefined && ['VersionId', e.versionId],
        ['Code', s3.code],
        ['Message', s3.message],
      ],
    ];
  }
}

function verifyDigests(
  ctx: RequestContext,
  body: Buffer,
  md5: string | undefined,
  headerAlg: (typeof CHECKSUM_ALGORITHMS)[number] | undefined,
  trailer: { algorithm: (typeof CHECKSUM_ALGORITHMS)[number]; value: () => string | undefined } | undefined,
): void {
  if (md5 !== undefined && createHash('md5').update(body).digest('base64') !== md5) {
    throw new S3Error('BadDigest', 400, 'The Content-MD5 you specified did not match what we received.');
  }
  const check = (alg: (typeof CHECKSUM_ALGORITHMS)[number], expected: string | undefined) => {
    const c = createChecksum(alg);
    c.update(body);
    if (expected === undefined || c.digest().toString('base64') !== expected.trim()) {
      throw new S3Error('BadDigest', 400, `The ${alg} you specified did not match the calculated checksum.`);
    }
  };
  if (headerAlg !== undefined) {
    const v = ctx.req.headers[checksumHeaderName(headerAlg)];
    check(headerAlg, Array.isArray(v) ? v[0] : v);
  }
  if (trailer) check(trailer.algorithm, trailer.value());
}

export function parseDelete(body: Buffer): { entries: Entry[]; quiet: boolean } {
  const root = parseXml(body, 'Delete');
  if (root === null || typeof root !== 'object') throw malformedXml();
  const r = root as Record<string, unknown>;
  const quietText = xmlText(r.Quiet);
  const quiet = quietText !== undefined && quietText.trim().toLowerCase() === 'true';
  const objects = xmlList(r.Object);
  if (objects.length === 0 || objects.length > MAX_OBJECTS) throw malformedXml();
  const entries = objects.map((o): Entry => {
    if (o === null || typeof o !== 'object') throw malformedXml();
    const rec = o as Record<string, unknown>;
    if (Array.isArray(rec.Key)) throw malformedXml();
    const key = xmlText(rec.Key);
    if (key === undefined || key === '') throw malformedXml();
    const versionId = xmlText(rec.VersionId);
    return versionId === undefined || versionId === '' ? { key } : { key, versionId };
  });
  return { entries, quiet };
}
