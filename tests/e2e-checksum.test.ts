import { createHash, randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type ChecksumAlgorithm,
  type ChecksumType,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChecksum, type ChecksumAlgorithm as Alg } from '../core/checksums.js';
import { failure, sdkClient, streamOf } from './helpers/sdk.js';
import { startServer, type RunningServer } from './helpers/server.js';

/** Flexible checksums end to end: headers, aws-chunked trailers, multipart composite / full-object, GetObjectAttributes. */

const MiB = 1 << 20;
const ALGS: Alg[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];
let server: RunningServer;
let s3: S3Client; // SDK defaults
let s3plain: S3Client; // checksums only when required
const Bucket = 'sums';

const sum = (alg: Alg, ...bufs: Buffer[]) => {
  const c = createChecksum(alg);
  for (const b of bufs) c.update(b);
  return c.digest().toString('base64');
};
const field = (alg: Alg) => `Checksum${alg}` as const;

beforeAll(async () => {
  server = await startServer({ drives: 4 });
  s3 = sdkClient(server);
  s3plain = sdkClient(server, { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  await s3.send(new CreateBucketCommand({ Bucket }));
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  s3plain?.destroy();
  await server?.stop();
});

async function storedChecksum(Key: string) {
  const head = await s3plain.send(new HeadObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
  const plain = await s3plain.send(new HeadObjectCommand({ Bucket, Key }));
  return { head, plain };
}

describe('single PUT checksums', () => {
  for (const alg of ALGS) {
    it(`${alg}: header and trailer round trip, returned only with checksum mode`, async () => {
      const body = randomBytes(300_001);
      const want = sum(alg, body);

      // Header: the value computed here, sent as x-amz-checksum-<alg>.
      await s3plain.send(new PutObjectCommand({ Bucket, Key: `h-${alg}`, Body: body, [field(alg)]: want }));
      const { head, plain } = await storedChecksum(`h-${alg}`);
      expect(head[field(alg)]).toBe(want);
      expect(head.ChecksumType).toBe('FULL_OBJECT');
      expect(plain[field(alg)]).toBeUndefined();

      // Trailer: the SDK streams aws-chunked and sends the checksum after the body.
      const cmd = new PutObjectCommand({ Bucket, Key: `t-${alg}`, Body: streamOf(body), ContentLength: body.length, ChecksumAlgorithm: alg as ChecksumAlgorithm });
      let sent: Record<string, string> = {};
      cmd.middlewareStack.add(
        (next) => async (args) => {
          sent = { ...(args.request as { headers: Record<string, string> }).headers };
          return next(args);
        },
        { step: 'finalizeRequest', priority: 'low' },
      );
      const put = await s3.send(cmd);
      expect(sent['x-amz-trailer']).toBe(`x-amz-checksum-${alg.toLowerCase()}`);
      expect(put[field(alg)]).toBe(want);
      // The SDK validates the body against the returned checksum on GET.
      const get = await s3.send(new GetObjectCommand({ Bucket, Key: `t-${alg}`, ChecksumMode: 'ENABLED' }));
      expect(get[field(alg)]).toBe(want);
      expect(Buffer.from(await get.Body!.transformToByteArray()).equals(body)).toBe(true);

      // A wrong value stores nothing.
      const wrong = sum(alg, Buffer.from('something else'));
      const f = await failure(s3plain.send(new PutObjectCommand({ Bucket, Key: `bad-${alg}`, Body: body, [field(alg)]: wrong })));
      expect([f.name, f.status]).toEqual(['BadDigest', 400]);
      expect((await failure(s3plain.send(new HeadObjectCommand({ Bucket, Key: `bad-${alg}` })))).status).toBe(404);
    });
  }

  it('rejects malformed checksum values and verifies Content-MD5', async () => {
    const body = Buffer.from('md5 me');
    let f = await failure(s3plain.send(new PutObjectCommand({ Bucket, Key: 'malformed', Body: body, ChecksumCRC32: 'not base64!' })));
    expect([f.name, f.status]).toEqual(['InvalidRequest', 400]);
    f = await failure(s3plain.send(new PutObjectCommand({ Bucket, Key: 'malformed', Body: body, ChecksumSHA256: sum('CRC32', body) })));
    expect([f.name, f.status]).toEqual(['InvalidRequest', 400]);

    const md5 = createHash('md5').update(body).digest('base64');
    await s3plain.send(new PutObjectCommand({ Bucket, Key: 'md5-ok', Body: body, ContentMD5: md5 }));
    f = await failure(
      s3plain.send(new PutObjectCommand({ Bucket, Key: 'md5-bad', Body: body, ContentMD5: createHash('md5').update('x').digest('base64') })),
    );
    expect([f.name, f.status]).toEqual(['BadDigest', 400]);
    f = await failure(s3plain.send(new PutObjectCommand({ Bucket, Key: 'md5-bad', Body: body, ContentMD5: 'short' })));
    expect([f.name, f.status]).toEqual(['InvalidDigest', 400]);
  });
});

async function multipart(Key: string, alg: Alg, type: ChecksumType | undefined, parts: Buffer[]) {
  const created = await s3.send(
    new CreateMultipartUploadCommand({ Bucket, Key, ChecksumAlgorithm: alg as ChecksumAlgorithm, ...(type ? { ChecksumType: type } : {}) }),
  );
  expect(created.ChecksumAlgorithm).toBe(alg);
  const UploadId = created.UploadId!;
  const done = await Promise.all(
    parts.map(async (Body, i) => {
      const r = await s3.send(
        new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 1, Body, ChecksumAlgorithm: alg as ChecksumAlgorithm }),
      );
      expect(r[field(alg)]).toBe(sum(alg, Body));
      return { PartNumber: i + 1, ETag: r.ETag!, [field(alg)]: r[field(alg)] };
    }),
  );
  return s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: done } }));
}

describe('multipart checksums', () => {
  const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(777)];

  for (const alg of ['CRC32', 'CRC32C', 'SHA1', 'SHA256'] as Alg[]) {
    it(`${alg} COMPOSITE: checksum of part checksums, -N`, async () => {
      const Key = `composite-${alg}`;
      const c = await multipart(Key, alg, undefined, parts);
      const digests = parts.map((p) => Buffer.from(sum(alg, p), 'base64'));
      const want = `${sum(alg, ...digests)}-3`;
      expect(c[field(alg)]).toBe(want);
      expect(c.ChecksumType).toBe('COMPOSITE');
      const { head } = await storedChecksum(Key);
      expect(head[field(alg)]).toBe(want);
      expect(head.ChecksumType).toBe('COMPOSITE');

      const attrs = await s3.send(
        new GetObjectAttributesCommand({ Bucket, Key, ObjectAttributes: ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'], MaxParts: 2 }),
      );
      // A part read shows (and the SDK verifies) that part's own checksum.
      const part = await s3.send(new GetObjectCommand({ Bucket, Key, PartNumber: 2, ChecksumMode: 'ENABLED' }));
      expect(part[field(alg)]).toBe(sum(alg, parts[1]!));
      expect(Buffer.from(await part.Body!.transformToByteArray()).equals(parts[1]!)).toBe(true);
      expect(attrs.Checksum?.[field(alg)]).toBe(want);
      expect(attrs.Checksum?.ChecksumType).toBe('COMPOSITE');
      expect(attrs.ObjectSize).toBe(10 * MiB + 777);
      expect(attrs.StorageClass).toBe('STANDARD');
      expect(attrs.ETag).toMatch(/^[0-9a-f]{32}-3$/);
      expect(attrs.ObjectParts?.TotalPartsCount).toBe(3);
      expect(attrs.ObjectParts?.IsTruncated).toBe(true);
      expect(attrs.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size, p[field(alg)]])).toEqual([
        [1, 5 * MiB, sum(alg, parts[0]!)],
        [2, 5 * MiB, sum(alg, parts[1]!)],
      ]);
      const rest = await s3.send(
        new GetObjectAttributesCommand({ Bucket, Key, ObjectAttributes: ['ObjectParts'], PartNumberMarker: attrs.ObjectParts!.NextPartNumberMarker }),
      );
      expect(rest.ObjectParts?.Parts?.map((p) => p.PartNumber)).toEqual([3]);
      expect(rest.ObjectParts?.IsTruncated).toBe(false);
      expect(rest.ETag).toBeUndefined();
    });
  }

  for (const alg of ['CRC32', 'CRC32C', 'CRC64NVME'] as Alg[]) {
    it(`${alg} FULL_OBJECT: the CRC of the whole object`, async () => {
      const Key = `full-${alg}`;
      const c = await multipart(Key, alg, 'FULL_OBJECT', parts);
      const want = sum(alg, ...parts);
      expect(c[field(alg)]).toBe(want);
      expect(c.ChecksumType).toBe('FULL_OBJECT');
      // The SDK checks the streamed body against it.
      const get = await s3.send(new GetObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
      expect(get[field(alg)]).toBe(want);
      expect(Buffer.from(await get.Body!.transformToByteArray()).equals(Buffer.concat(parts))).toBe(true);
    });
  }

  it('checks a checksum asserted on CompleteMultipartUpload before committing', async () => {
    const Key = 'asserted';
    const body = Buffer.from('one small part');
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ChecksumAlgorithm: 'SHA256' }));
    const p = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: body, ChecksumAlgorithm: 'SHA256' }));
    const Parts = [{ PartNumber: 1, ETag: p.ETag, ChecksumSHA256: p.ChecksumSHA256 }];
    const want = `${sum('SHA256', Buffer.from(sum('SHA256', body), 'base64'))}-1`;
    const f = await failure(
      s3.send(
        new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, ChecksumSHA256: `${sum('SHA256', Buffer.from('x'))}-1`, MultipartUpload: { Parts } }),
      ),
    );
    expect([f.name, f.status]).toEqual(['BadDigest', 400]);
    const ok = await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, ChecksumSHA256: want, MultipartUpload: { Parts } }));
    expect(ok.ChecksumSHA256).toBe(want);
  });

  it('refuses checksum type / algorithm combinations AWS refuses, and parts with another algorithm', async () => {
    for (const [alg, type] of [
      ['SHA1', 'FULL_OBJECT'],
      ['SHA256', 'FULL_OBJECT'],
      ['CRC64NVME', 'COMPOSITE'],
    ] as const) {
      const f = await failure(
        s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'bad-combo', ChecksumAlgorithm: alg, ChecksumType: type })),
      );
      expect([f.name, f.status], `${alg} ${type}`).toEqual(['InvalidRequest', 400]);
    }
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mixed', ChecksumAlgorithm: 'CRC32C' }));
    const f = await failure(
      s3.send(new UploadPartCommand({ Bucket, Key: 'mixed', UploadId, PartNumber: 1, Body: Buffer.from('x'), ChecksumAlgorithm: 'SHA1' })),
    );
    expect([f.name, f.status]).toEqual(['InvalidRequest', 400]);
    // A part sent without any checksum gets the upload's algorithm computed.
    const r = await s3plain.send(new UploadPartCommand({ Bucket, Key: 'mixed', UploadId, PartNumber: 1, Body: Buffer.from('plain part') }));
    expect(r.ChecksumCRC32C).toBe(sum('CRC32C', Buffer.from('plain part')));
    // A listed part checksum that is not the stored one is InvalidPart.
    const g = await failure(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key: 'mixed',
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: r.ETag, ChecksumCRC32C: sum('CRC32C', Buffer.from('other')) }] },
        }),
      ),
    );
    expect([g.name, g.status]).toEqual(['InvalidPart', 400]);
  });
});

describe('GetObjectAttributes', () => {
  it('answers a single-part object without ObjectParts and rejects unknown attributes', async () => {
    const body = Buffer.from('attributes');
    await s3plain.send(new PutObjectCommand({ Bucket, Key: 'attr', Body: body, ChecksumSHA1: sum('SHA1', body) }));
    const a = await s3.send(
      new GetObjectAttributesCommand({ Bucket, Key: 'attr', ObjectAttributes: ['ETag', 'Checksum', 'ObjectParts', 'ObjectSize'] }),
    );
    expect(a.ETag).toBe(createHash('md5').update(body).digest('hex'));
    expect(a.Checksum?.ChecksumSHA1).toBe(sum('SHA1', body));
    expect(a.ObjectParts).toBeUndefined();
    expect(a.ObjectSize).toBe(body.length);
    expect(a.LastModified).toBeInstanceOf(Date);
    const f = await failure(
      s3.send(new GetObjectAttributesCommand({ Bucket, Key: 'attr', ObjectAttributes: ['Bogus' as 'ETag'] })),
    );
    expect([f.name, f.status]).toEqual(['InvalidArgument', 400]);
    const g = await failure(s3.send(new GetObjectAttributesCommand({ Bucket, Key: 'missing', ObjectAttributes: ['ETag'] })));
    expect(g.status).toBe(404);
  });
});
