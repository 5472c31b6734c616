import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, md5hex, multipartEtag, sdkClient } from './helpers/sdk.js';
import { startServer, type RunningServer } from './helpers/server.js';

/** Multipart uploads end to end with @aws-sdk/client-s3 at its default (checksum) settings. */

const MiB = 1 << 20;
let server: RunningServer;
let s3: S3Client;
const bucket = 'mp-bucket';
let seq = 0;
const keyName = (s: string) => `${s}-${++seq}`;

beforeAll(async () => {
  server = await startServer({ drives: 4 });
  s3 = sdkClient(server);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  await server?.stop();
});

async function create(Key: string): Promise<string> {
  const r = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }));
  expect(r.UploadId).toBeTruthy();
  return r.UploadId!;
}

async function put(Key: string, UploadId: string, PartNumber: number, Body: Buffer) {
  const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber, Body }));
  return { PartNumber, ETag: r.ETag!, ChecksumCRC32: r.ChecksumCRC32 };
}

async function bodyOf(Key: string, extra: { PartNumber?: number } = {}) {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key, ...extra }));
  return { r, body: Buffer.from(await r.Body!.transformToByteArray()) };
}

describe('multipart upload', () => {
  it('uploads parts concurrently and out of order, replaces a re-uploaded part, and completes with the S3 ETag', async () => {
    const Key = keyName('ooo');
    const UploadId = await create(Key);
    const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(MiB + 7)];
    const stale = randomBytes(5 * MiB);
    // Part 2 first with stale bytes, then everything at once in reverse order.
    await put(Key, UploadId, 2, stale);
    const done = await Promise.all([3, 2, 1].map((n) => put(Key, UploadId, n, parts[n - 1]!)));
    done.sort((a, b) => a.PartNumber - b.PartNumber);
    expect(done[1]!.ETag).toBe(`"${md5hex(parts[1]!)}"`);

    const listed = await s3.send(new ListPartsCommand({ Bucket: bucket, Key, UploadId }));
    expect(listed.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual(
      parts.map((p, i) => [i + 1, p.length, `"${md5hex(p)}"`]),
    );

    const c = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key,
        UploadId,
        MultipartUpload: { Parts: done.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })) },
      }),
    );
    expect(c.ETag).toBe(multipartEtag(parts));
    expect(c.Key).toBe(Key);

    const { r, body } = await bodyOf(Key);
    expect(r.ETag).toBe(multipartEtag(parts));
    expect(body.equals(Buffer.concat(parts))).toBe(true);

    // partNumber=N reads serve exactly that part, with the part count.
    const second = await bodyOf(Key, { PartNumber: 2 });
    expect(second.r.$metadata.httpStatusCode).toBe(206);
    expect(second.r.PartsCount).toBe(3);
    expect(second.r.ContentRange).toBe(`bytes ${5 * MiB}-${10 * MiB - 1}/${11 * MiB + 7}`);
    expect(second.body.equals(parts[1]!)).toBe(true);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key, PartNumber: 3 }));
    expect(head.ContentLength).toBe(MiB + 7);
    expect(head.PartsCount).toBe(3);
    expect((await failure(s3.send(new HeadObjectCommand({ Bucket: bucket, Key, PartNumber: 4 })))).status).toBe(400);
    expect((await failure(s3.send(new GetObjectCommand({ Bucket: bucket, Key, PartNumber: 4 })))).name).toBe('InvalidPart');

    // The upload is gone once completed.
    expect((await failure(s3.send(new ListPartsCommand({ Bucket: bucket, Key, UploadId })))).name).toBe('NoSuchUpload');
  });

  it('pages ListParts with max-parts and part-number-marker', async () => {
    const Key = keyName('pages');
    const UploadId = await create(Key);
    await Promise.all([1, 2, 3, 4, 5].map((n) => put(Key, UploadId, n, Buffer.from(`part ${n}`))));
    const p1 = await s3.send(new ListPartsCommand({ Bucket: bucket, Key, UploadId, MaxParts: 2 }));
    expect(p1.Parts?.map((p) => p.PartNumber)).toEqual([1, 2]);
    expect(p1.IsTruncated).toBe(true);
    expect(p1.NextPartNumberMarker).toBe('2');
    expect(p1.MaxParts).toBe(2);
    const p2 = await s3.send(
      new ListPartsCommand({ Bucket: bucket, Key, UploadId, MaxParts: 2, PartNumberMarker: p1.NextPartNumberMarker }),
    );
    expect(p2.Parts?.map((p) => p.PartNumber)).toEqual([3, 4]);
    const p3 = await s3.send(new ListPartsCommand({ Bucket: bucket, Key, UploadId, PartNumberMarker: '4' }));
    expect(p3.Parts?.map((p) => p.PartNumber)).toEqual([5]);
    expect(p3.IsTruncated).toBe(false);
    // Default checksums: the SDK asked for CRC32 parts, the server stored and returns them.
    expect(p3.Parts?.[0]?.ChecksumCRC32).toMatch(/^[A-Za-z0-9+/]{6}==$/);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId }));
  });

  it('answers each completion error with its S3 code', async () => {
    const Key = keyName('errors');
    const UploadId = await create(Key);
    const small1 = await put(Key, UploadId, 1, Buffer.from('tiny one'));
    const small2 = await put(Key, UploadId, 2, Buffer.from('tiny two'));
    const complete = (Parts: Array<{ PartNumber: number; ETag: string }>, id = UploadId) =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId: id, MultipartUpload: { Parts } }));

    let f = await failure(complete([small1, small2]));
    expect([f.name, f.status]).toEqual(['EntityTooSmall', 400]);
    f = await failure(complete([small2, small1]));
    expect([f.name, f.status]).toEqual(['InvalidPartOrder', 400]);
    f = await failure(complete([{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }]));
    expect([f.name, f.status]).toEqual(['InvalidPart', 400]);
    f = await failure(complete([{ PartNumber: 3, ETag: small1.ETag }]));
    expect([f.name, f.status]).toEqual(['InvalidPart', 400]);
    f = await failure(complete([]));
    expect([f.name, f.status]).toEqual(['MalformedXML', 400]);
    f = await failure(
      s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, MpuObjectSize: 9, MultipartUpload: { Parts: [small1] } })),
    );
    expect([f.name, f.status]).toEqual(['InvalidRequest', 400]);
    f = await failure(complete([small1], '3c8a58a1-0000-4000-8000-000000000000'));
    expect([f.name, f.status]).toEqual(['NoSuchUpload', 404]);
    f = await failure(complete([small1], 'not-an-upload-id'));
    expect([f.name, f.status]).toEqual(['NoSuchUpload', 404]);

    for (const PartNumber of [0, 10001]) {
      f = await failure(s3.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber, Body: Buffer.from('x') })));
      expect([f.name, f.status]).toEqual(['InvalidArgument', 400]);
    }
    f = await failure(
      s3.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId: '3c8a58a1-0000-4000-8000-000000000000', PartNumber: 1, Body: Buffer.from('x') })),
    );
    expect([f.name, f.status]).toEqual(['NoSuchUpload', 404]);

    // A single small part is a valid (last) part; a part listed twice counts once, with its last ETag.
    const ok = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key,
        UploadId,
        MpuObjectSize: 8,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: small2.ETag }, small1] },
      }),
    );
    expect(ok.ETag).toBe(multipartEtag([Buffer.from('tiny one')]));
    expect((await bodyOf(Key)).body.toString()).toBe('tiny one');
    // Retrying a completion that succeeded answers the same result; other parts do not.
    const again = await complete([small1]);
    expect(again.ETag).toBe(ok.ETag);
    expect((await failure(complete([small2]))).name).toBe('NoSuchUpload');
  });

  it('aborts with 204 and forgets the upload', async () => {
    const Key = keyName('abort');
    const UploadId = await create(Key);
    await put(Key, UploadId, 1, Buffer.from('doomed'));
    const r = await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId }));
    expect(r.$metadata.httpStatusCode).toBe(204);
    expect((await failure(s3.send(new ListPartsCommand({ Bucket: bucket, Key, UploadId })))).name).toBe('NoSuchUpload');
    expect((await failure(s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId })))).name).toBe('NoSuchUpload');
    expect((await failure(s3.send(new HeadObjectCommand({ Bucket: bucket, Key })))).status).toBe(404);
  });

  it('lists uploads with prefix, delimiter and key/upload-id marker paging', async () => {
    const Bucket = 'mp-list';
    await s3.send(new CreateBucketCommand({ Bucket }));
    const ids: Record<string, string> = {};
    for (const Key of ['a/1', 'a/2', 'b', 'c', 'c']) {
      const r = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
      ids[`${Key}#${Object.keys(ids).length}`] = r.UploadId!;
    }
    const all = await s3.send(new ListMultipartUploadsCommand({ Bucket }));
    expect(all.Uploads?.map((u) => u.Key)).toEqual(['a/1', 'a/2', 'b', 'c', 'c']);
    expect(all.IsTruncated).toBe(false);

    const delim = await s3.send(new ListMultipartUploadsCommand({ Bucket, Delimiter: '/' }));
    expect(delim.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/']);
    expect(delim.Uploads?.map((u) => u.Key)).toEqual(['b', 'c', 'c']);

    const pre = await s3.send(new ListMultipartUploadsCommand({ Bucket, Prefix: 'a/' }));
    expect(pre.Uploads?.map((u) => u.Key)).toEqual(['a/1', 'a/2']);

    const seen: string[] = [];
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await s3.send(new ListMultipartUploadsCommand({ Bucket, MaxUploads: 2, KeyMarker, UploadIdMarker }));
      expect(page.MaxUploads).toBe(2);
      seen.push(...(page.Uploads ?? []).map((u) => `${u.Key}:${u.UploadId}`));
      if (!page.IsTruncated) break;
      KeyMarker = page.NextKeyMarker;
      UploadIdMarker = page.NextUploadIdMarker;
    }
    expect(seen).toEqual(all.Uploads!.map((u) => `${u.Key}:${u.UploadId}`));
  });

  it('honours If-None-Match: * and If-Match on CompleteMultipartUpload', async () => {
    const Key = keyName('cond');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'already here' }));
    const UploadId = await create(Key);
    const p = await put(Key, UploadId, 1, Buffer.from('new body'));
    const Parts = [{ PartNumber: 1, ETag: p.ETag }];
    const f = await failure(
      s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, IfNoneMatch: '*', MultipartUpload: { Parts } })),
    );
    expect([f.name, f.status]).toEqual(['PreconditionFailed', 412]);
    const g = await failure(
      s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, IfMatch: '"0123"', MultipartUpload: { Parts } })),
    );
    expect(g.status).toBe(412);
    const current = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key }));
    const ok = await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, IfMatch: current.ETag, MultipartUpload: { Parts } }),
    );
    expect(ok.ETag).toBe(multipartEtag([Buffer.from('new body')]));
    expect((await bodyOf(Key)).body.toString()).toBe('new body');
  });

  it('lets DeleteBucket remove a bucket that holds only incomplete uploads', async () => {
    const Bucket = 'mp-deleted';
    await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'obj', Body: 'x' }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'pending' }));
    expect((await failure(s3.send(new DeleteBucketCommand({ Bucket })))).name).toBe('BucketNotEmpty');
    // The refused delete left the upload alone.
    expect((await s3.send(new ListPartsCommand({ Bucket, Key: 'pending', UploadId }))).UploadId).toBe(UploadId);
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'obj' }));
    await s3.send(new DeleteBucketCommand({ Bucket }));
    expect((await failure(s3.send(new ListMultipartUploadsCommand({ Bucket })))).name).toBe('NoSuchBucket');
  });

  it('keeps the metadata given at creation', async () => {
    const Key = keyName('meta');
    const r = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key, ContentType: 'text/x-cairn', Metadata: { colour: 'teal' } }),
    );
    const p = await put(Key, r.UploadId!, 1, Buffer.from('with metadata'));
    await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId: r.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p.ETag }] } }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key }));
    expect(head.ContentType).toBe('text/x-cairn');
    expect(head.Metadata).toEqual({ colour: 'teal' });
  });
});
