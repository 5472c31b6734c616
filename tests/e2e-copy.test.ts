import { randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, md5hex, multipartEtag, sdkClient } from './helpers/sdk.js';
import { startServer, type RunningServer } from './helpers/server.js';

/** CopyObject and UploadPartCopy end to end. */

const MiB = 1 << 20;
let server: RunningServer;
let s3: S3Client;
const src = 'copy-src';
const dst = 'copy-dst';

beforeAll(async () => {
  server = await startServer({ drives: 4 });
  s3 = sdkClient(server);
  await s3.send(new CreateBucketCommand({ Bucket: src }));
  await s3.send(new CreateBucketCommand({ Bucket: dst }));
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  await server?.stop();
});

async function bodyOf(Bucket: string, Key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket, Key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

/** The SDK sends CopySource as given: callers URL-encode it, as with AWS. */
const source = (Bucket: string, Key: string) => `${Bucket}/${encodeURIComponent(Key).replace(/%2F/g, '/')}`;

describe('CopyObject', () => {
  it('copies across buckets, keys with special characters, metadata by default', async () => {
    const body = randomBytes(3 * MiB + 11);
    const keys = ['plain', 'dir/with space+plus', 'qu?est#ion%25 & ünïcødé', 'a//double/slash/'];
    for (const Key of keys) {
      await s3.send(
        new PutObjectCommand({ Bucket: src, Key, Body: body, ContentType: 'application/x-test', Metadata: { origin: 'src' } }),
      );
      const r = await s3.send(new CopyObjectCommand({ Bucket: dst, Key: `copy/${Key}`, CopySource: source(src, Key) }));
      expect(r.CopyObjectResult?.ETag).toBe(`"${md5hex(body)}"`);
      expect(r.CopyObjectResult?.LastModified).toBeInstanceOf(Date);
      const head = await s3.send(new HeadObjectCommand({ Bucket: dst, Key: `copy/${Key}` }));
      expect(head.ContentType).toBe('application/x-test');
      expect(head.Metadata).toEqual({ origin: 'src' });
      expect((await bodyOf(dst, `copy/${Key}`)).equals(body)).toBe(true);
    }
  });

  it('replaces metadata with REPLACE, also onto itself, and refuses a self-copy that changes nothing', async () => {
    const Key = 'self';
    await s3.send(new PutObjectCommand({ Bucket: src, Key, Body: 'self body', Metadata: { v: '1' }, ContentType: 'text/plain' }));
    const f = await failure(s3.send(new CopyObjectCommand({ Bucket: src, Key, CopySource: source(src, Key) })));
    expect([f.name, f.status]).toEqual(['InvalidRequest', 400]);
    expect(f.message).toContain('copy an object to itself without changing');

    await s3.send(
      new CopyObjectCommand({
        Bucket: src,
        Key,
        CopySource: source(src, Key),
        MetadataDirective: 'REPLACE',
        Metadata: { v: '2' },
        ContentType: 'text/x-replaced',
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: src, Key }));
    expect(head.Metadata).toEqual({ v: '2' });
    expect(head.ContentType).toBe('text/x-replaced');
    expect((await bodyOf(src, Key)).toString()).toBe('self body');

    // Changing the storage class is a change too.
    await s3.send(new CopyObjectCommand({ Bucket: src, Key, CopySource: source(src, Key), StorageClass: 'REDUCED_REDUNDANCY' }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: src, Key }))).StorageClass).toBe('REDUCED_REDUNDANCY');
  });

  it('evaluates x-amz-copy-source-if-* on the source', async () => {
    const Key = 'conditional';
    await s3.send(new PutObjectCommand({ Bucket: src, Key, Body: 'conditional body' }));
    const { ETag, LastModified } = await s3.send(new HeadObjectCommand({ Bucket: src, Key }));
    const past = new Date(LastModified!.getTime() - 3600_000);
    const future = new Date(LastModified!.getTime() + 3600_000);
    const copy = (extra: object) => s3.send(new CopyObjectCommand({ Bucket: dst, Key, CopySource: source(src, Key), ...extra }));

    for (const bad of [
      { CopySourceIfMatch: '"deadbeef"' },
      { CopySourceIfNoneMatch: ETag },
      { CopySourceIfModifiedSince: future },
      { CopySourceIfUnmodifiedSince: past },
    ]) {
      const f = await failure(copy(bad));
      expect([f.name, f.status], JSON.stringify(bad)).toEqual(['PreconditionFailed', 412]);
    }
    for (const good of [
      { CopySourceIfMatch: ETag },
      { CopySourceIfNoneMatch: '"deadbeef"' },
      { CopySourceIfModifiedSince: past },
      { CopySourceIfUnmodifiedSince: future },
      // AWS precedence: If-Match true wins over If-Unmodified-Since false.
      { CopySourceIfMatch: ETag, CopySourceIfUnmodifiedSince: past },
    ]) {
      const r = await copy(good);
      expect(r.CopyObjectResult?.ETag, JSON.stringify(good)).toBe(ETag);
    }
    // If-None-Match false + If-Modified-Since true → 412.
    const f = await failure(copy({ CopySourceIfNoneMatch: ETag, CopySourceIfModifiedSince: past }));
    expect(f.status).toBe(412);
  });

  it('reports missing sources and bad copy-source syntax', async () => {
    let f = await failure(s3.send(new CopyObjectCommand({ Bucket: dst, Key: 'x', CopySource: source(src, 'missing') })));
    expect([f.name, f.status]).toEqual(['NoSuchKey', 404]);
    f = await failure(s3.send(new CopyObjectCommand({ Bucket: dst, Key: 'x', CopySource: source('no-such-bucket-here', 'k') })));
    expect([f.name, f.status]).toEqual(['NoSuchBucket', 404]);
    f = await failure(s3.send(new CopyObjectCommand({ Bucket: dst, Key: 'x', CopySource: 'just-a-bucket' })));
    expect([f.name, f.status]).toEqual(['InvalidArgument', 400]);
    await s3.send(new PutObjectCommand({ Bucket: src, Key: 'v', Body: 'v' }));
    const ok = await s3.send(new CopyObjectCommand({ Bucket: dst, Key: 'v', CopySource: `${source(src, 'v')}?versionId=null` }));
    expect(ok.CopyObjectResult?.ETag).toBe(`"${md5hex(Buffer.from('v'))}"`);
    f = await failure(s3.send(new CopyObjectCommand({ Bucket: dst, Key: 'v', CopySource: `${source(src, 'v')}?versionId=abc` })));
    expect(f.status).toBe(404);
  });

  it('copies a multipart object into a single-part one with the same bytes', async () => {
    const Key = 'mp-source';
    const parts = [randomBytes(5 * MiB), randomBytes(1234)];
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: src, Key }));
    const done = [];
    for (const [i, Body] of parts.entries()) {
      const r = await s3.send(new UploadPartCommand({ Bucket: src, Key, UploadId, PartNumber: i + 1, Body }));
      done.push({ PartNumber: i + 1, ETag: r.ETag });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: src, Key, UploadId, MultipartUpload: { Parts: done } }));
    const r = await s3.send(new CopyObjectCommand({ Bucket: dst, Key, CopySource: source(src, Key) }));
    expect(r.CopyObjectResult?.ETag).toBe(`"${md5hex(Buffer.concat(parts))}"`);
    expect((await bodyOf(dst, Key)).equals(Buffer.concat(parts))).toBe(true);
  });
});

describe('UploadPartCopy', () => {
  it('builds an object from ranges of another, across buckets', async () => {
    const whole = randomBytes(12 * MiB + 5);
    await s3.send(new PutObjectCommand({ Bucket: src, Key: 'big source', Body: whole }));
    const Key = 'assembled';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: dst, Key }));
    const ranges: Array<[number, number]> = [
      [0, 5 * MiB - 1],
      [5 * MiB, 10 * MiB - 1],
      [10 * MiB, whole.length - 1],
    ];
    const done = await Promise.all(
      ranges.map(async ([a, b], i) => {
        const r = await s3.send(
          new UploadPartCopyCommand({
            Bucket: dst,
            Key,
            UploadId,
            PartNumber: i + 1,
            CopySource: source(src, 'big source'),
            CopySourceRange: `bytes=${a}-${b}`,
          }),
        );
        expect(r.CopyPartResult?.ETag).toBe(`"${md5hex(whole.subarray(a, b + 1))}"`);
        return { PartNumber: i + 1, ETag: r.CopyPartResult!.ETag! };
      }),
    );
    const c = await s3.send(new CompleteMultipartUploadCommand({ Bucket: dst, Key, UploadId, MultipartUpload: { Parts: done } }));
    expect(c.ETag).toBe(multipartEtag(ranges.map(([a, b]) => whole.subarray(a, b + 1))));
    expect((await bodyOf(dst, Key)).equals(whole)).toBe(true);
  });

  it('copies a whole source without a range and rejects bad ranges', async () => {
    await s3.send(new PutObjectCommand({ Bucket: src, Key: 'small', Body: 'twenty-two bytes long!' }));
    const Key = 'part-copy-errors';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: dst, Key }));
    const whole = await s3.send(
      new UploadPartCopyCommand({ Bucket: dst, Key, UploadId, PartNumber: 1, CopySource: source(src, 'small') }),
    );
    expect(whole.CopyPartResult?.ETag).toBe(`"${md5hex(Buffer.from('twenty-two bytes long!'))}"`);
    const beyond = await failure(
      s3.send(
        new UploadPartCopyCommand({ Bucket: dst, Key, UploadId, PartNumber: 2, CopySource: source(src, 'small'), CopySourceRange: 'bytes=0-22' }),
      ),
    );
    expect(['InvalidRange', 'InvalidArgument']).toContain(beyond.name);
    const syntax = await failure(
      s3.send(
        new UploadPartCopyCommand({ Bucket: dst, Key, UploadId, PartNumber: 2, CopySource: source(src, 'small'), CopySourceRange: 'bytes=5-' }),
      ),
    );
    expect([syntax.name, syntax.status]).toEqual(['InvalidArgument', 400]);
    const noUpload = await failure(
      s3.send(
        new UploadPartCopyCommand({ Bucket: dst, Key, UploadId: '3c8a58a1-0000-4000-8000-000000000000', PartNumber: 1, CopySource: source(src, 'small') }),
      ),
    );
    expect(noUpload.name).toBe('NoSuchUpload');
  });
});
