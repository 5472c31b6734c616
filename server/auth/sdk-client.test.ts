/**
 * The real @aws-sdk/client-s3 against a bare node:http server that does nothing but
 * authenticate + decodeBody: proves the SDK's own signing and body framing (signed
 * hashes, STREAMING-UNSIGNED-PAYLOAD-TRAILER with its CRC trailer, presigned URLs)
 * are accepted byte for byte, for hostile keys.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createChecksum, parseChecksumAlgorithm } from '../../core/checksums.js';
import { S3Error } from '../s3-error.js';
import { authenticate, decodeBody, type CredentialStore, type PayloadMode } from './index.js';

const AK = 'CAIRNTESTKEY';
const SK = 'cairn/test+secret';
const store: CredentialStore = { lookup: async (ak) => (ak === AK ? { secretKey: SK } : undefined) };

interface Seen {
  method: string;
  url: string;
  mode: PayloadMode;
  body: Buffer;
  trailer?: { algorithm: string; value: string | undefined; computed: string };
}
const seen: Seen[] = [];
let server: Server;
let endpoint: string;

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const input = { method: req.method!, rawUrl: req.url!, headers: req.headers, rawHeaders: req.rawHeaders };
    const ctx = await authenticate(input, store);
    const d = decodeBody(req, ctx, req.headers);
    const chunks: Buffer[] = [];
    for await (const c of d.stream) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const entry: Seen = { method: req.method!, url: req.url!, mode: ctx.payloadMode, body };
    if (d.trailer) {
      const ck = createChecksum(d.trailer.algorithm);
      ck.update(body);
      entry.trailer = { algorithm: d.trailer.algorithm, value: d.trailer.value(), computed: ck.digest().toString('base64') };
    }
    seen.push(entry);
    if (req.method === 'GET' && req.url!.includes('list-type=2')) {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>');
    } else if (req.method === 'GET') {
      res.writeHead(200, { 'content-length': '2', etag: '"x"' });
      res.end('ok');
    } else {
      res.writeHead(200, { etag: '"d41d8cd98f00b204e9800998ecf8427e"' });
      res.end();
    }
  } catch (err) {
    const e = err instanceof S3Error ? err : new S3Error('InternalError', 500, String(err));
    res.writeHead(e.status, { 'content-type': 'application/xml' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${e.code}</Code><Message>${e.message}</Message></Error>`);
  }
}

beforeAll(async () => {
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const client = (secret = SK) =>
  new S3Client({
    endpoint,
    region: 'eu-cairn-1',
    forcePathStyle: true,
    credentials: { accessKeyId: AK, secretAccessKey: secret },
    maxAttempts: 1,
  });

const KEYS = ['simple', 'a b+c', 'ünïcødé/日本語', "!*'()~", 'pct%25%2F%', 'double//slash', 'q?x=1&y#z', 'trailing/'];

describe('real S3 client against authenticate + decodeBody', () => {
  it.each(KEYS)('PutObject with a Buffer body, key %j', async (key) => {
    const body = Buffer.from(`content of ${key}`);
    await client().send(new PutObjectCommand({ Bucket: 'bkt', Key: key, Body: body }));
    const last = seen.at(-1)!;
    expect(last.body.equals(body)).toBe(true);
    if (last.trailer) expect(last.trailer.value).toBe(last.trailer.computed);
  });

  it('PutObject with a stream body uses aws-chunked + trailer and decodes exactly', async () => {
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
    const parts = [data.subarray(0, 100_000), data.subarray(100_000, 250_000), data.subarray(250_000)];
    await client().send(
      new PutObjectCommand({ Bucket: 'bkt', Key: 'stream/ü x', Body: Readable.from(parts), ContentLength: data.length, ChecksumAlgorithm: 'CRC32C' }),
    );
    const last = seen.at(-1)!;
    expect(last.body.equals(data)).toBe(true);
    expect(last.mode).toMatch(/^streaming-/);
    expect(last.trailer?.algorithm).toBe(parseChecksumAlgorithm('crc32c'));
    expect(last.trailer?.value).toBe(last.trailer?.computed);
  });

  it('GetObject / HeadObject / ListObjectsV2 with hostile keys and prefixes', async () => {
    for (const key of KEYS) {
      await client().send(new HeadObjectCommand({ Bucket: 'bkt', Key: key }));
      const got = await client().send(new GetObjectCommand({ Bucket: 'bkt', Key: key, Range: 'bytes=0-1' }));
      expect(await got.Body!.transformToString()).toBe('ok');
      await client().send(new ListObjectsV2Command({ Bucket: 'bkt', Prefix: key, Delimiter: '/', StartAfter: key + '~' }));
    }
  });

  it('presigned GET and PUT URLs work through fetch', async () => {
    for (const key of KEYS) {
      const url = await getSignedUrl(client(), new GetObjectCommand({ Bucket: 'bkt', Key: key, ResponseContentType: 'a/b; c=d' }), { expiresIn: 60 });
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(seen.at(-1)!.mode).toBe('presigned');
    }
    const putUrl = await getSignedUrl(client(), new PutObjectCommand({ Bucket: 'bkt', Key: 'up load' }), { expiresIn: 60 });
    const res = await fetch(putUrl, { method: 'PUT', body: 'presigned body' });
    expect(res.status).toBe(200);
    expect(seen.at(-1)!.body.toString()).toBe('presigned body');
  });

  it('a wrong secret is refused with SignatureDoesNotMatch', async () => {
    await expect(client('wrong').send(new HeadObjectCommand({ Bucket: 'bkt', Key: 'k' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    await expect(client('wrong').send(new PutObjectCommand({ Bucket: 'bkt', Key: 'k', Body: 'x' }))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
  });
});
