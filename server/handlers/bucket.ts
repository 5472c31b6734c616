import { decodeBody } from '../auth/index.js';
import { continueIfExpected, ownerXml, sendXml, type RequestContext } from '../context.js';
import { ObjectLayerError } from '../../storage/errors.js';
import { checkCannedAcl } from '../headers.js';
import { S3Error, notImplemented } from '../s3-error.js';
import { parseXml, readCappedBody, xmlDocument, xmlText, xmlTextDocument, type XmlChild } from '../xml.js';
import { decodeToken, encodeToken } from './list.js';

/** ListBuckets, Create/Head/Delete Bucket, GetBucketLocation. */

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4_RE = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** AWS's general-purpose bucket naming rules. */
export function validBucketName(b: string): boolean {
  return (
    BUCKET_RE.test(b) &&
    !IPV4_RE.test(b) &&
    !b.includes('..') &&
    !b.includes('.-') &&
    !b.includes('-.') &&
    !b.startsWith('xn--') &&
    !b.startsWith('sthree-') &&
    !b.endsWith('-s3alias') &&
    !b.endsWith('--ol-s3')
  );
}

export async function listBuckets(ctx: RequestContext): Promise<void> {
  const q = ctx.routed.query;
  const prefix = q.get('prefix') ?? '';
  const maxRaw = q.get('max-buckets');
  let max = 10_000;
  if (maxRaw !== undefined) {
    max = Number(maxRaw);
    if (!/^\d+$/.test(maxRaw) || max < 1 || max > 10_000) {
      throw new S3Error('InvalidArgument', 400, 'Argument max-buckets must be an integer between 1 and 10000.');
    }
  }
  const token = q.get('continuation-token');
  const after = token === undefined ? undefined : decodeToken(token);
  const region = q.get('bucket-region');
  const all = (await ctx.deps.objects.listBuckets({ signal: ctx.signal }))
    .filter((b) => b.name.startsWith(prefix) && (after === undefined || b.name > after))
    .filter(() => region === undefined || region === ctx.deps.region)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const page = all.slice(0, max);
  const truncated = all.length > page.length;
  const last = page[page.length - 1];
  const body = xmlDocument('ListAllMyBucketsResult', [
    ['Owner', ownerXml(ctx.auth.accessKey)],
    [
      'Buckets',
      page.map((b): XmlChild => [
        'Bucket',
        [
          ['Name', b.name],
          ['CreationDate', b.created],
          ['BucketRegion', ctx.deps.region],
        ],
      ]),
    ],
    truncated && last !== undefined && ['ContinuationToken', encodeToken(last.name)],
    q.has('prefix') && ['Prefix', prefix],
  ]);
  sendXml(ctx, body);
}

export async function createBucket(ctx: RequestContext, op: { bucket: string }): Promise<void> {
  if (!validBucketName(op.bucket)) throw new S3Error('InvalidBucketName', 400, 'The specified bucket is not valid.');
  const headers = ctx.req.headers;
  // Object Lock needs versioning and retention: refuse rather than pretend.
  if (String(headers['x-amz-bucket-object-lock-enabled'] ?? '').toLowerCase() === 'true') {
    throw notImplemented('Object Lock is not implemented yet.');
  }
  checkCannedAcl(headers);
  if (Object.keys(headers).some((h) => h.startsWith('x-amz-grant-'))) throw notImplemented('Bucket ACLs are not implemented yet.');
  const hasBody = headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
  if (hasBody) {
    const decoded = decodeBody(ctx.req.raw, ctx.auth, headers);
    continueIfExpected(ctx);
    const body = await readCappedBody(decoded.stream);
    if (body.length > 0) {
      const conf = parseXml(body, 'CreateBucketConfiguration');
      const location =
        conf !== null && typeof conf === 'object' ? xmlText((conf as Record<string, unknown>).LocationConstraint) : undefined;
      if (location !== undefined && location !== '' && location !== ctx.deps.region) {
        throw new S3Error(
          'IllegalLocationConstraintException',
          400,
          `The ${location} location constraint is incompatible for the region specific endpoint this request was sent to.`,
        );
      }
    }
  }
  try {
    await ctx.deps.objects.makeBucket(op.bucket, { signal: ctx.signal });
  } catch (err) {
    // us-east-1 keeps S3's legacy answer: re-creating a bucket you own succeeds
    // (and changes nothing); every other region says 409 BucketAlreadyOwnedByYou.
    // With one identity, an existing bucket is always the caller's own.
    const exists = err instanceof ObjectLayerError && err.code === 'BucketExists';
    if (!exists || ctx.deps.region !== 'us-east-1') throw err;
  }
  ctx.reply.header('location', `/${op.bucket}`);
  ctx.reply.code(200).send();
}

export async function headBucket(ctx: RequestContext, op: { bucket: string }): Promise<void> {
  await ctx.deps.objects.getBucketInfo(op.bucket, { signal: ctx.signal });
  ctx.reply.header('x-amz-bucket-region', ctx.deps.region);
  ctx.reply.code(200).send();
}

export async function deleteBucket(ctx: RequestContext, op: { bucket: string }): Promise<void> {
  await ctx.deps.objects.deleteBucket(op.bucket, { signal: ctx.signal });
  ctx.reply.code(204).send();
}

export async function getBucketLocation(ctx: RequestContext, op: { bucket: string }): Promise<void> {
  await ctx.deps.objects.getBucketInfo(op.bucket, { signal: ctx.signal });
  // us-east-1 is reported as an empty constraint, as AWS does.
  const region = ctx.deps.region === 'us-east-1' ? '' : ctx.deps.region;
  sendXml(ctx, xmlTextDocument('LocationConstraint', region));
}
