import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedStream, sdkClient, streamDigest } from './helpers/sdk.js';
import { startServer, type RunningServer } from './helpers/server.js';

/**
 * @aws-sdk/lib-storage's Upload of a 200 MiB stream at default SDK settings:
 * CreateMultipartUpload with CRC32, 40 parts of 5 MiB, 4 in flight (so they
 * finish out of order), each aws-chunked with a CRC32 trailer. The data is
 * generated on the fly and verified by hashing the GET stream: neither side
 * holds the object in memory.
 */

const MiB = 1 << 20;
let server: RunningServer;
let s3: S3Client;

beforeAll(async () => {
  server = await startServer({ drives: 4 });
  s3 = sdkClient(server);
  await s3.send(new CreateBucketCommand({ Bucket: 'big' }));
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  await server?.stop();
});

describe('lib-storage Upload', () => {
  it('uploads 200 MiB from a stream and reads back the same bytes', async () => {
    const size = 200 * MiB;
    const src = generatedStream(size, 'lib-storage-200');
    const upload = new Upload({ client: s3, params: { Bucket: 'big', Key: 'two-hundred', Body: src.stream }, queueSize: 4, partSize: 5 * MiB });
    const done = await upload.done();
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-40"$/);
    // COMPOSITE CRC32 over the 40 part checksums.
    expect(done.ChecksumCRC32).toMatch(/^[A-Za-z0-9+/]{6}==-40$/);

    const head = await s3.send(new HeadObjectCommand({ Bucket: 'big', Key: 'two-hundred', ChecksumMode: 'ENABLED' }));
    expect(head.ContentLength).toBe(size);
    expect(head.PartsCount).toBe(40);
    expect(head.ChecksumCRC32).toBe(done.ChecksumCRC32);
    expect(head.ChecksumType).toBe('COMPOSITE');

    const get = await s3.send(new GetObjectCommand({ Bucket: 'big', Key: 'two-hundred' }));
    const got = await streamDigest(get.Body as AsyncIterable<Uint8Array>);
    expect(got.size).toBe(size);
    expect(got.sha256).toBe(src.digest());
  }, 240_000);
});
