import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, md5hex, sdkClient } from './helpers/sdk.js';
import { startServer, type RunningServer } from './helpers/server.js';

/** Server-side encryption end to end: SSE-S3, SSE-KMS, SSE-C single-part objects, ranges, wrong keys, nothing in plaintext on disk. */

const KiB = 1024;
const MiB = 1 << 20;
const P = 64 * KiB; // package size of stream format v1
let server: RunningServer;
let s3: S3Client;
const Bucket = 'sse';
const masterKey = randomBytes(32);

/** A recognisable, non-repeating-per-package 1 MiB+ pattern: "CAIRN-PLAINTEXT-<offset>" over and over. */
function pattern(size: number): Buffer {
  const out = Buffer.alloc(size);
  let o = 0;
  while (o < size) o += out.write(`CAIRN-PLAINTEXT-${String(o).padStart(10, '0')}|`, o);
  return out;
}

const customer = (key: Buffer) => ({
  SSECustomerAlgorithm: 'AES256',
  SSECustomerKey: key.toString('base64'),
  SSECustomerKeyMD5: createHash('md5').update(key).digest('base64'),
});

beforeAll(async () => {
  server = await startServer({ drives: 4, env: { CAIRN_KMS_SECRET_KEY: `cairn-key:${masterKey.toString('base64')}` } });
  s3 = sdkClient(server);
  await s3.send(new CreateBucketCommand({ Bucket }));
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  await server?.stop();
});

async function get(Key: string, extra: Record<string, unknown> = {}): Promise<{ body: Buffer; head: Record<string, unknown> }> {
  const r = await s3.send(new GetObjectCommand({ Bucket, Key, ...extra }));
  return { body: Buffer.from(await r.Body!.transformToByteArray()), head: r as unknown as Record<string, unknown> };
}

/** Every file under the drive directories (shards and LMDB data files). */
async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await allFiles(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

const body = pattern(MiB + 3 * KiB + 5);
const ranges: Array<[number, number]> = [
  [0, 0],
  [P - 1, P - 1],
  [P - 1, P],
  [P, P],
  [P + 1, 2 * P + 1],
  [3 * P - 1, 5 * P + 1],
  [body.length - 1, body.length - 1],
  [0, body.length - 1],
];

describe('SSE-S3', () => {
  it('PUT/GET/HEAD: ETag is the plaintext MD5, headers say AES256, ranges across package boundaries', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 's3', Body: body, ServerSideEncryption: 'AES256' }));
    expect(put.ServerSideEncryption).toBe('AES256');
    expect(put.ETag).toBe(`"${md5hex(body)}"`);
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 's3' }));
    expect(head.ServerSideEncryption).toBe('AES256');
    expect(head.ContentLength).toBe(body.length);
    const got = await get('s3');
    expect(got.body.equals(body)).toBe(true);
    expect(got.head.ServerSideEncryption).toBe('AES256');
    for (const [a, b] of ranges) {
      const r = await get('s3', { Range: `bytes=${a}-${b}` });
      expect(r.body.equals(body.subarray(a, b + 1)), `range ${a}-${b}`).toBe(true);
    }
  });

  it('small (inline) and empty objects', async () => {
    for (const size of [0, 1, P - 1, P, P + 1]) {
      const b = pattern(size);
      await s3.send(new PutObjectCommand({ Bucket, Key: `small-${size}`, Body: b, ServerSideEncryption: 'AES256' }));
      expect((await get(`small-${size}`)).body.equals(b)).toBe(true);
    }
  });

  it('plain objects stay plain: no SSE header', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'plain', Body: 'hello' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'plain' }));
    expect(head.ServerSideEncryption).toBeUndefined();
    expect(head.ETag).toBe(`"${md5hex(Buffer.from('hello'))}"`);
  });
});

describe('KMS health', () => {
  it('is exported to Prometheus as cairn_kms_online', async () => {
    const res = await fetch(`${server.endpoint}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^cairn_kms_online 1$/m);
    expect(text).toMatch(/^cairn_kms_latency_seconds \d/m);
  });
});

describe('SSE-KMS', () => {
  it('names the key, returns the context, ETag is not the plaintext MD5', async () => {
    const ctx = Buffer.from(JSON.stringify({ project: 'cairn' })).toString('base64');
    const put = await s3.send(
      new PutObjectCommand({ Bucket, Key: 'kms', Body: body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'cairn-key', SSEKMSEncryptionContext: ctx }),
    );
    expect(put.ServerSideEncryption).toBe('aws:kms');
    expect(put.SSEKMSKeyId).toBe('cairn-key');
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(put.ETag).not.toBe(`"${md5hex(body)}"`);
    const got = await get('kms');
    expect(got.body.equals(body)).toBe(true);
    expect(got.head.SSEKMSKeyId).toBe('cairn-key');
    expect(got.head.ETag).toBe(put.ETag);
    const r = await get('kms', { Range: `bytes=${P - 1}-${2 * P}` });
    expect(r.body.equals(body.subarray(P - 1, 2 * P + 1))).toBe(true);
  });

  it('an unknown KMS key is refused before any data is stored', async () => {
    const f = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'kms-bad', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'nope' })));
    expect(f.status).toBe(400);
    expect((await failure(s3.send(new HeadObjectCommand({ Bucket, Key: 'kms-bad' })))).status).toBe(404);
  });
});

describe('SSE-C', () => {
  const key = randomBytes(32);
  it('needs the key on GET and HEAD: none → 400, wrong → 403 and no data, right → bytes and key MD5', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'ssec', Body: body, ...customer(key) }));
    expect(put.SSECustomerAlgorithm).toBe('AES256');
    expect(put.SSECustomerKeyMD5).toBe(customer(key).SSECustomerKeyMD5);
    expect(put.ETag).not.toBe(`"${md5hex(body)}"`);
    expect((await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'ssec' })))).status).toBe(400);
    expect((await failure(s3.send(new HeadObjectCommand({ Bucket, Key: 'ssec' })))).status).toBe(400);
    const wrong = await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'ssec', ...customer(randomBytes(32)) })));
    expect([wrong.status, wrong.name]).toEqual([403, 'AccessDenied']);
    expect(wrong.raw.$response?.body ? 'body' : 'none').toBeDefined();
    expect((await failure(s3.send(new HeadObjectCommand({ Bucket, Key: 'ssec', ...customer(randomBytes(32)) })))).status).toBe(403);
    const got = await get('ssec', customer(key));
    expect(got.body.equals(body)).toBe(true);
    expect(got.head.SSECustomerKeyMD5).toBe(customer(key).SSECustomerKeyMD5);
    for (const [a, b] of ranges.slice(0, 5)) {
      const r = await get('ssec', { Range: `bytes=${a}-${b}`, ...customer(key) });
      expect(r.body.equals(body.subarray(a, b + 1))).toBe(true);
    }
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'ssec', ...customer(key) }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.SSECustomerAlgorithm).toBe('AES256');
  });

  // (A bad key MD5 is crypto/sse.test.ts's: the SDK recomputes the MD5 header itself.)
  it('a key for a plaintext object is a 400', async () => {
    expect((await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'plain', ...customer(key) })))).status).toBe(400);
  });

  it('no file under the drives holds the plaintext of an encrypted object or the customer key', async () => {
    // The pattern's first package and a chunk from the middle; the key and its base64.
    const needles = [body.subarray(0, 64), body.subarray(700 * KiB, 700 * KiB + 64), key, Buffer.from(key.toString('base64'))];
    let scanned = 0;
    for (const d of server.drives) {
      for (const f of await allFiles(d)) {
        const data = await readFile(f);
        scanned++;
        for (const n of needles) expect(data.includes(n), `${f} holds a needle`).toBe(false);
      }
    }
    expect(scanned).toBeGreaterThan(8);
  });
});

describe('multipart', () => {
  const part1 = pattern(5 * MiB + 7);
  const part2 = randomBytes(P + 1);
  const whole = Buffer.concat([part1, part2]);

  async function upload(Key: string, create: Record<string, unknown>, partExtra: Record<string, unknown> = {}) {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ...create }));
    const parts = [];
    for (const [i, Body] of [part1, part2].entries()) {
      const r = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 1, Body, ...partExtra }));
      parts.push({ PartNumber: i + 1, ETag: r.ETag! });
    }
    return s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts }, ...partExtra }));
  }

  it('SSE-KMS: parts are separately keyed streams; ranges across the part boundary', async () => {
    const done = await upload('mp-kms', { ServerSideEncryption: 'aws:kms' });
    expect(done.ETag).toMatch(/-2"$/);
    const got = await get('mp-kms');
    expect(got.body.equals(whole)).toBe(true);
    expect(got.head.ServerSideEncryption).toBe('aws:kms');
    for (const [a, b] of [[part1.length - P - 1, part1.length + 1], [part1.length - 1, part1.length], [part1.length, whole.length - 1], [P - 1, P]] as const) {
      const r = await get('mp-kms', { Range: `bytes=${a}-${b}` });
      expect(r.body.equals(whole.subarray(a, b + 1)), `range ${a}-${b}`).toBe(true);
    }
    const p2 = await get('mp-kms', { PartNumber: 2 });
    expect(p2.body.equals(part2)).toBe(true);
  });

  it('SSE-C: every part needs the key; wrong key on GET → 403', async () => {
    const key = randomBytes(32);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mp-ssec', ...customer(key) }));
    const f = await failure(s3.send(new UploadPartCommand({ Bucket, Key: 'mp-ssec', UploadId, PartNumber: 1, Body: part1 })));
    expect(f.status).toBe(400);
    const parts = [];
    for (const [i, Body] of [part1, part2].entries()) {
      const r = await s3.send(new UploadPartCommand({ Bucket, Key: 'mp-ssec', UploadId, PartNumber: i + 1, Body, ...customer(key) }));
      expect(r.SSECustomerKeyMD5).toBe(customer(key).SSECustomerKeyMD5);
      parts.push({ PartNumber: i + 1, ETag: r.ETag! });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'mp-ssec', UploadId, MultipartUpload: { Parts: parts } }));
    expect((await get('mp-ssec', customer(key))).body.equals(whole)).toBe(true);
    expect((await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'mp-ssec', ...customer(randomBytes(32)) })))).status).toBe(403);
  });
});

describe('copy', () => {
  const src = pattern(300 * KiB + 3);
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);
  const copySourceKey = (k: Buffer) => ({
    CopySourceSSECustomerAlgorithm: 'AES256',
    CopySourceSSECustomerKey: k.toString('base64'),
    CopySourceSSECustomerKeyMD5: createHash('md5').update(k).digest('base64'),
  });

  it('CopyObject SSE-C → SSE-C (new key) → SSE-S3, and the source key is required', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'c-src', Body: src, ...customer(keyA) }));
    expect((await failure(s3.send(new CopyObjectCommand({ Bucket, Key: 'c-b', CopySource: `${Bucket}/c-src` })))).status).toBe(400);
    const r = await s3.send(new CopyObjectCommand({ Bucket, Key: 'c-b', CopySource: `${Bucket}/c-src`, ...copySourceKey(keyA), ...customer(keyB) }));
    expect(r.SSECustomerKeyMD5).toBe(customer(keyB).SSECustomerKeyMD5);
    expect((await get('c-b', customer(keyB))).body.equals(src)).toBe(true);
    expect((await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'c-b', ...customer(keyA) })))).status).toBe(403);
    const s = await s3.send(new CopyObjectCommand({ Bucket, Key: 'c-s3', CopySource: `${Bucket}/c-b`, ...copySourceKey(keyB), ServerSideEncryption: 'AES256' }));
    expect(s.ServerSideEncryption).toBe('AES256');
    expect(s.CopyObjectResult?.ETag).toBe(`"${md5hex(src)}"`);
    expect((await get('c-s3')).body.equals(src)).toBe(true);
  });

  it('UploadPartCopy from an SSE-C source into an SSE-KMS upload, with a source range', async () => {
    const big = pattern(5 * MiB + 100);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'pc-src', Body: big, ...customer(keyA) }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'pc', ServerSideEncryption: 'aws:kms' }));
    const p1 = await s3.send(new UploadPartCopyCommand({ Bucket, Key: 'pc', UploadId, PartNumber: 1, CopySource: `${Bucket}/pc-src`, ...copySourceKey(keyA) }));
    const p2 = await s3.send(
      new UploadPartCopyCommand({ Bucket, Key: 'pc', UploadId, PartNumber: 2, CopySource: `${Bucket}/pc-src`, CopySourceRange: `bytes=${P - 1}-${2 * P}`, ...copySourceKey(keyA) }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({ Bucket, Key: 'pc', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.CopyPartResult!.ETag! }, { PartNumber: 2, ETag: p2.CopyPartResult!.ETag! }] } }),
    );
    expect((await get('pc')).body.equals(Buffer.concat([big, big.subarray(P - 1, 2 * P + 1)]))).toBe(true);
  });
});

describe('tampering', () => {
  /** The newest shard file `part.1` under a drive: the object just written. */
  async function newestShard(drive: string): Promise<string> {
    let best: { f: string; t: number } | undefined;
    for (const f of await allFiles(drive)) {
      if (!f.endsWith('/part.1')) continue;
      const t = (await stat(f)).mtimeMs;
      if (!best || t > best.t) best = { f, t };
    }
    return best!.f;
  }
  async function flip(file: string, at: number) {
    const b = await readFile(file);
    b[at] = b[at]! ^ 0x01;
    await writeFile(file, b);
  }

  it('a flipped ciphertext byte is healed from parity on one drive and fails the GET on all: never wrong bytes', async () => {
    const b = pattern(2 * MiB);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'flip', Body: b, ServerSideEncryption: 'AES256' }));
    const shards = await Promise.all(server.drives.map(newestShard));
    await flip(shards[0]!, 1000);
    expect((await get('flip')).body.equals(b)).toBe(true);
    for (const s of shards.slice(1)) await flip(s, 1000);
    const outcome = await get('flip').then(
      (r) => (r.body.equals(b) ? 'healed' : 'WRONG BYTES'),
      () => 'failed',
    );
    expect(outcome).not.toBe('WRONG BYTES');
    expect(outcome).toBe('failed');
  });
});
