import { CreateBucketCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkClient } from './helpers/sdk.js';
import { startServer, type RunningServer } from './helpers/server.js';

/** Incomplete uploads older than CAIRN_MULTIPART_EXPIRY are aborted in the background. */

let server: RunningServer;
let s3: S3Client;

beforeAll(async () => {
  server = await startServer({ drives: 4, env: { CAIRN_MULTIPART_EXPIRY: '2s' } });
  s3 = sdkClient(server);
  await s3.send(new CreateBucketCommand({ Bucket: 'expiring' }));
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  await server?.stop();
});

describe('multipart expiry', () => {
  it('aborts an abandoned upload once it is older than the configured age', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'expiring', Key: 'abandoned' }));
    const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'expiring' }));
    expect(listed.Uploads?.map((u) => u.UploadId)).toEqual([UploadId]);
    // Poll: the sweep runs every second with a 2 s expiry; give it generous room on a busy machine.
    let remaining = listed.Uploads?.length ?? 0;
    for (let i = 0; i < 60 && remaining > 0; i++) {
      await new Promise((r) => setTimeout(r, 500));
      remaining = (await s3.send(new ListMultipartUploadsCommand({ Bucket: 'expiring' }))).Uploads?.length ?? 0;
    }
    expect(remaining).toBe(0);
  }, 60_000);
});
