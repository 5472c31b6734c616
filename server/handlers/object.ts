import { decodeBody } from '../auth/index.js';
import type { RequestContext } from '../context.js';
import { continueIfExpected } from '../context.js';
import {
  MAX_PUT_SIZE,
  checksumRequestFrom,
  contentHeadersFrom,
  contentMd5From,
  quoteEtag,
  refuseUnsupportedWriteHeaders,
  storageClassFrom,
  userMetadataFrom,
  validateKey,
  writeObjectHeaders,
} from '../headers.js';
import { checksumHeaderName } from '../../core/checksums.js';
import type { ByteRange, ObjectInfo } from '../../storage/object-layer.js';
import { parseRange, resolveRange } from '../range.js';
import { ReleasingBody } from '../response-body.js';
import { memoryBodyOf } from '../../storage/memory-body.js';
import { S3Error } from '../s3-error.js';
import { sseReadRequestFrom, sseWriteRequestFrom, writeSseHeaders } from '../sse.js';
import { answeredByPreconditions, hasReadPreconditions, refuseIfNoneMatchEtag, writeConditionsFrom } from '../conditional.js';
import { partRangeOf, readPartNumberFrom, writePartChecksums } from './multipart.js';

/** PUT / GET / HEAD / DELETE Object. */

type ObjectOp = { bucket: string; key: string };

export async function putObject(ctx: RequestContext, op: ObjectOp): Promise<void> {
  validateKey(op.key);
  const headers = ctx.req.headers;
  refuseUnsupportedWriteHeaders(headers);
  // Everything that can be refused from headers alone is refused before the
  // client is told to send its body.
  const storageClass = storageClassFrom(headers);
  const userMetadata = userMetadataFrom(headers);
  const contentMd5 = contentMd5From(headers);
  const sse = sseWriteRequestFrom(headers);
  const { conditions, ifNoneMatchEtag } = writeConditionsFrom(headers);
  const decoded = decodeBody(ctx.req.raw, ctx.auth, headers);
  if (decoded.size === undefined) {
    throw new S3Error('MissingContentLength', 411, 'You must provide the Content-Length HTTP header.');
  }
  if (decoded.size > MAX_PUT_SIZE) {
    throw new S3Error('EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed object size.');
  }
  const checksum = checksumRequestFrom(headers, decoded.trailer);
  if (ifNoneMatchEtag !== undefined) {
    await refuseIfNoneMatchEtag(ifNoneMatchEtag, () =>
      ctx.deps.objects.headObject(op.bucket, op.key, { signal: ctx.signal }).catch((err: unknown) => {
        if ((err as { code?: string }).code === 'ObjectNotFound') return undefined;
        throw err;
      }),
    );
  }
  continueIfExpected(ctx);
  const info = await ctx.deps.objects.putObject(op.bucket, op.key, decoded.stream, {
    size: decoded.size,
    headers: contentHeadersFrom(headers, decoded.contentEncoding),
    userMetadata,
    storageClass,
    contentMd5,
    checksum,
    ...(conditions ? { conditions } : {}),
    ...(sse ? { sse } : {}),
    signal: ctx.signal,
  });
  ctx.reply.header('etag', quoteEtag(info.etag));
  writeSseHeaders(ctx.reply, info, sse?.type === 'SSE-C' ? sse.customerKey : undefined);
  if (checksum) {
    const value = info.checksums[checksum.algorithm];
    if (value) ctx.reply.header(checksumHeaderName(checksum.algorithm), value);
    if (info.checksumType) ctx.reply.header('x-amz-checksum-type', info.checksumType);
  }
  ctx.reply.code(200).send();
}

function checksumMode(ctx: RequestContext): boolean {
  const v = ctx.req.headers['x-amz-checksum-mode'];
  return typeof v === 'string' && v.toUpperCase() === 'ENABLED';
}

/** Range of a GET/HEAD resolved against the current size; undefined = whole object. */
async function wantedRange(ctx: RequestContext, op: ObjectOp, info?: ObjectInfo): Promise<{ range?: ByteRange; info?: ObjectInfo }> {
  const header = ctx.req.headers.range;
  const parsed = parseRange(header);
  if (parsed.kind === 'none' || header === undefined) return { info };
  const sse = sseReadRequestFrom(ctx.req.headers);
  const current = info ?? (await ctx.deps.objects.headObject(op.bucket, op.key, { ...(sse ? { sse } : {}), signal: ctx.signal }));
  return { range: resolveRange(parsed, current.size, header), info: current };
}

function writeRangeHeaders(ctx: RequestContext, info: ObjectInfo, range: ByteRange | undefined): void {
  if (range) {
    ctx.reply.code(206);
    ctx.reply.header('content-range', `bytes ${range.start}-${range.end}/${info.size}`);
    ctx.reply.header('content-length', String(range.end - range.start + 1));
  } else {
    ctx.reply.code(200);
    ctx.reply.header('content-length', String(info.size));
  }
}

export async function getObject(ctx: RequestContext, op: ObjectOp): Promise<void> {
  validateKey(op.key);
  const partNumber = readPartNumberFrom(ctx.routed.query, ctx.req.headers.range);
  const sse = sseReadRequestFrom(ctx.req.headers);
  // Preconditions are judged before any data is opened, and again on what is served.
  const pre = hasReadPreconditions(ctx.req.headers)
    ? await ctx.deps.objects.headObject(op.bucket, op.key, { ...(sse ? { sse } : {}), signal: ctx.signal })
    : undefined;
  if (pre && answeredByPreconditions(ctx.reply, ctx.req.headers, pre)) return;
  // A ranged GET needs the size first; the object may change in between, in
  // which case storage answers InvalidRange rather than serving wrong bytes.
  const { range } = partNumber === undefined ? await wantedRange(ctx, op, pre) : {};
  const res = await ctx.deps.objects.getObject(op.bucket, op.key, {
    range,
    ...(partNumber !== undefined ? { partNumber } : {}),
    ...(sse ? { sse } : {}),
    signal: ctx.signal,
  });
  try {
    if (pre && answeredByPreconditions(ctx.reply, ctx.req.headers, res.info)) {
      res.stream.destroy();
      return;
    }
    const served = res.range ?? range;
    writeObjectHeaders(ctx.reply, res.info, ctx.routed.query, checksumMode(ctx) && served === undefined);
    writeSseHeaders(ctx.reply, res.info, sse?.type === 'SSE-C' ? sse.customerKey : undefined);
    if (partNumber !== undefined && checksumMode(ctx)) writePartChecksums(ctx, res.info, partNumber);
    writeRangeHeaders(ctx, res.info, served);
  } catch (err) {
    res.stream.destroy();
    throw err;
  }
  // Gives pooled read chunks back once the socket has them (server/response-body.ts).
  // A small object's bytes are in memory already (storage/memory-body.ts): sent whole, no pipe.
  const whole = memoryBodyOf(res.stream);
  ctx.reply.send(whole ?? new ReleasingBody(res.stream));
}

export async function headObject(ctx: RequestContext, op: ObjectOp): Promise<void> {
  validateKey(op.key);
  const partNumber = readPartNumberFrom(ctx.routed.query, ctx.req.headers.range);
  const sse = sseReadRequestFrom(ctx.req.headers);
  const info = await ctx.deps.objects.headObject(op.bucket, op.key, {
    ...(partNumber !== undefined ? { partNumber } : {}),
    ...(sse ? { sse } : {}),
    signal: ctx.signal,
  });
  if (answeredByPreconditions(ctx.reply, ctx.req.headers, info)) return;
  const { range } = partNumber !== undefined ? { range: partRangeOf(info, partNumber) } : await wantedRange(ctx, op, info);
  writeObjectHeaders(ctx.reply, info, ctx.routed.query, checksumMode(ctx) && range === undefined);
  writeSseHeaders(ctx.reply, info, sse?.type === 'SSE-C' ? sse.customerKey : undefined);
  if (partNumber !== undefined && checksumMode(ctx)) writePartChecksums(ctx, info, partNumber);
  writeRangeHeaders(ctx, info, range);
  ctx.reply.send();
}

export async function deleteObject(ctx: RequestContext, op: ObjectOp): Promise<void> {
  validateKey(op.key);
  await ctx.deps.objects.deleteObject(op.bucket, op.key, { signal: ctx.signal });
  ctx.reply.code(204).send();
}
