import { decodeBody } from '../auth/index.js';
import { continueIfExpected, sendXml, type RequestContext } from '../context.js';
import type { BucketEncryption, ObjectLayer } from '../../storage/object-layer.js';
import { S3Error, notImplemented } from '../s3-error.js';
import { parseXml, readCappedBody, xmlDocument, xmlList, xmlText } from '../xml.js';

/** Put/Get/DeleteBucketEncryption: the bucket's default server-side encryption (one rule, as AWS). */

const malformed = () => new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema.');

const notFound = () =>
  new S3Error('ServerSideEncryptionConfigurationNotFoundError', 404, 'The server side encryption configuration was not found');

function objectLayerWith(ctx: RequestContext): Required<Pick<ObjectLayer, 'getBucketEncryption' | 'putBucketEncryption'>> {
  const o = ctx.deps.objects;
  if (!o.getBucketEncryption || !o.putBucketEncryption) throw notImplemented('Bucket encryption is not supported by this storage.');
  return { getBucketEncryption: o.getBucketEncryption.bind(o), putBucketEncryption: o.putBucketEncryption.bind(o) };
}

const obj = (v: unknown): Record<string, unknown> => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw malformed();
  return v as Record<string, unknown>;
};

/** `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>…` → the one default. */
export function parseEncryptionConfiguration(body: Buffer): BucketEncryption {
  const conf = obj(parseXml(body, 'ServerSideEncryptionConfiguration'));
  const rules = xmlList(conf.Rule);
  if (rules.length !== 1) throw malformed();
  const rule = obj(rules[0]);
  const by = obj(rule.ApplyServerSideEncryptionByDefault);
  const alg = xmlText(by.SSEAlgorithm);
  const keyId = xmlText(by.KMSMasterKeyID);
  const bucketKey = xmlText(rule.BucketKeyEnabled);
  if (alg === 'AES256') {
    if (keyId !== undefined) throw new S3Error('InvalidArgument', 400, 'a KMS key id may only be given with aws:kms');
    return { algorithm: 'SSE-S3', ...(bucketKey === 'true' ? { bucketKeyEnabled: true } : {}) };
  }
  if (alg === 'aws:kms') return { algorithm: 'SSE-KMS', ...(keyId ? { kmsKeyId: keyId } : {}), ...(bucketKey === 'true' ? { bucketKeyEnabled: true } : {}) };
  throw malformed();
}

export async function putBucketEncryption(ctx: RequestContext, op: { bucket: string }): Promise<void> {
  const decoded = decodeBody(ctx.req.raw, ctx.auth, ctx.req.headers);
  continueIfExpected(ctx);
  const cfg = parseEncryptionConfiguration(await readCappedBody(decoded.stream));
  await objectLayerWith(ctx).putBucketEncryption(op.bucket, cfg, { signal: ctx.signal });
  ctx.reply.code(200).send();
}

export async function getBucketEncryption(ctx: RequestContext, op: { bucket: string }): Promise<void> {
  const cfg = await objectLayerWith(ctx).getBucketEncryption(op.bucket, { signal: ctx.signal });
  if (!cfg) throw notFound();
  sendXml(
    ctx,
    xmlDocument('ServerSideEncryptionConfiguration', [
      [
        'Rule',
        [
          [
            'ApplyServerSideEncryptionByDefault',
            [['SSEAlgorithm', cfg.algorithm === 'SSE-KMS' ? 'aws:kms' : 'AES256'], cfg.kmsKeyId !== undefined && ['KMSMasterKeyID', cfg.kmsKeyId]],
          ],
          ['BucketKeyEnabled', cfg.bucketKeyEnabled === true],
        ],
      ],
    ]),
  );
}

export async function deleteBucketEncryption(ctx: RequestContext, op: { bucket: string }): Promise<void> {
  await objectLayerWith(ctx).putBucketEncryption(op.bucket, undefined, { signal: ctx.signal });
  ctx.reply.code(204).send();
}
