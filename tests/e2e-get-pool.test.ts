/**
 * Large GETs reuse the read path's output chunks (erasure/chunk-pool.ts,
 * server/response-body.ts): a chunk goes back to the pool after its socket
 * write, and the next request — maybe another object — reads into it. These
 * GETs run concurrently, several rounds, against a real `cairn server` with one
 * worker (one pool), and every body must be exactly the object's bytes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkClient } from './helpers/sdk.js';
import { startServer, type RunningServer } from './helpers/server.js';

const MiB = 1024 * 1024;
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

let server: RunningServer;
let s3: S3Client;
const objects = new Map<string, Buffer>();

beforeAll(async () => {
  server = await startServer({ drives: 6, args: ['--workers', '1'] });
  s3 = sdkClient(server);
  await s3.send(new CreateBucketCommand({ Bucket: 'pool' }));
  for (const [key, size] of [['a', 9 * MiB + 5], ['b', 6 * MiB], ['c', 7 * MiB + 333]] as const) {
    const body = randomBytes(size);
    objects.set(key, body);
    await s3.send(new PutObjectCommand({ Bucket: 'pool', Key: key, Body: body }));
  }
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  await server?.stop();
});

async function get(key: string, range?: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: 'pool', Key: key, ...(range ? { Range: range } : {}) }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

describe('GET with pooled read chunks', () => {
  it('concurrent whole-object GETs of different objects, several rounds, return exactly their bytes', async () => {
    for (let round = 0; round < 4; round++) {
      const keys = ['a', 'b', 'c', 'a', 'c', 'b'];
      const bodies = await Promise.all(keys.map((k) => get(k)));
      keys.forEach((k, i) => expect(md5(bodies[i]!), `round ${round} ${k}`).toBe(md5(objects.get(k)!)));
    }
  }, 120_000);

  it('ranged GETs mixed with whole ones stay exact', async () => {
    const a = objects.get('a')!;
    const [whole, mid, tail] = await Promise.all([get('a'), get('a', `bytes=${MiB - 7}-${3 * MiB + 11}`), get('c', 'bytes=-1000')]);
    expect(md5(whole)).toBe(md5(a));
    expect(mid.equals(a.subarray(MiB - 7, 3 * MiB + 12))).toBe(true);
    expect(tail.equals(objects.get('c')!.subarray(-1000))).toBe(true);
  }, 60_000);
});
