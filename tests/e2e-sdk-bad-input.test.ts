import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { crc32 } from 'node:zlib';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeKey, errorCode, rawRequest, signHeaders } from './helpers/raw-s3.js';
import { startServer, type RunningServer } from './helpers/server.js';

/**
 * Bad input loses nothing: every malformed, truncated or refused request gets
 * an S3 error (or a closed connection) and leaves no object behind.
 */

let server: RunningServer;
let s3: S3Client;
const BUCKET = 'bad-input';

const crc32b64 = (b: Buffer) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(b) >>> 0);
  return out.toString('base64');
};

/** An aws-chunked body (unsigned, CRC32 trailer) as the SDK sends it. */
function awsChunked(data: Buffer, chunk = 64 * 1024, trailer = crc32b64(data)): Buffer {
  const parts: Buffer[] = [];
  for (let off = 0; off < data.length; off += chunk) {
    const c = data.subarray(off, off + chunk);
    parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`0\r\nx-amz-checksum-crc32:${trailer}\r\n\r\n`));
  return Buffer.concat(parts);
}

async function chunkedHeaders(key: string, encodedLength: number, decodedLength: number) {
  return signHeaders(server, {
    method: 'PUT',
    path: `/${BUCKET}/${encodeKey(key)}`,
    payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    headers: {
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': String(decodedLength),
      'x-amz-trailer': 'x-amz-checksum-crc32',
      'content-length': String(encodedLength),
    },
  });
}

async function exists(Key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

/** Truncated uploads surface as a socket error on our side; what matters is what the server kept. */
const settle = (p: Promise<unknown>) => p.then(() => undefined, () => undefined);

beforeAll(async () => {
  server = await startServer({ drives: 4 });
  s3 = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterAll(async () => {
  s3?.destroy();
  await server?.stop();
});

describe('truncated and mis-sized bodies', () => {
  it('a plain PUT cut off mid-body stores nothing', async () => {
    const headers = await signHeaders(server, { method: 'PUT', path: `/${BUCKET}/cut`, headers: { 'content-length': String(1 << 20) } });
    await settle(rawRequest(server, { method: 'PUT', url: `/${BUCKET}/cut`, headers, truncateAfter: randomBytes(300_000) }));
    expect(await exists('cut')).toBe(false);
  });

  it('an aws-chunked PUT cut off mid-frame stores nothing', async () => {
    const body = awsChunked(randomBytes(500_000));
    const headers = await chunkedHeaders('cut-chunked', body.length, 500_000);
    await settle(rawRequest(server, { method: 'PUT', url: `/${BUCKET}/cut-chunked`, headers, truncateAfter: body.subarray(0, 200_000) }));
    expect(await exists('cut-chunked')).toBe(false);
  });

  it('decoded length shorter or longer than declared, broken framing, or a wrong trailer: 400, nothing stored', async () => {
    const data = randomBytes(100_000);
    const cases: Array<[string, Buffer, number]> = [
      ['declared-longer', awsChunked(data), 150_000],
      ['declared-shorter', awsChunked(data), 50_000],
      ['bad-frame', Buffer.concat([Buffer.from('zz;junk\r\n'), data, Buffer.from('\r\n0\r\n\r\n')]), 100_000],
      ['bad-trailer', awsChunked(data, 64 * 1024, crc32b64(Buffer.from('other'))), 100_000],
    ];
    for (const [key, body, declared] of cases) {
      const headers = await chunkedHeaders(key, body.length, declared);
      const r = await rawRequest(server, { method: 'PUT', url: `/${BUCKET}/${key}`, headers, body });
      expect(r.status, key).toBe(400);
      expect(errorCode(r.body), key).toMatch(/^(IncompleteBody|InvalidRequest|BadDigest|MalformedTrailerError|InvalidChunkSizeError)$/);
      expect(r.headers['x-amz-request-id']).toBeTruthy();
      expect(await exists(key), key).toBe(false);
    }
    // The same body, well-formed, is stored: the cases above fail for their flaw alone.
    const ok = awsChunked(data);
    const r = await rawRequest(server, { method: 'PUT', url: `/${BUCKET}/well-formed`, headers: await chunkedHeaders('well-formed', ok.length, data.length), body: ok });
    expect(r.status).toBe(200);
    expect(r.headers.etag).toBe(`"${createHash('md5').update(data).digest('hex')}"`);
  });

  it('Content-MD5 and x-amz-checksum-* mismatches are BadDigest and store nothing', async () => {
    const body = Buffer.from('the real body');
    for (const [key, extra] of [
      ['md5-bad', { 'content-md5': createHash('md5').update('other').digest('base64') }],
      ['crc-bad', { 'x-amz-checksum-crc32': crc32b64(Buffer.from('other')) }],
    ] as const) {
      const headers = await signHeaders(server, {
        method: 'PUT',
        path: `/${BUCKET}/${key}`,
        headers: { 'content-length': String(body.length), ...extra },
      });
      const r = await rawRequest(server, { method: 'PUT', url: `/${BUCKET}/${key}`, headers, body });
      expect(r.status, key).toBe(400);
      expect(errorCode(r.body), key).toBe('BadDigest');
      expect(await exists(key), key).toBe(false);
    }
  });
});

describe('hostile requests', () => {
  it('an upload refused after 100-continue is answered, and the connection stays open', async () => {
    // What the SDK does for large bodies: Expect: 100-continue, then the body.
    // The bucket check fails only after the client was told to go ahead.
    const body = Buffer.alloc(16 << 20, 1);
    const headers = await signHeaders(server, {
      method: 'PUT',
      path: '/no-such-bucket/k',
      headers: { 'content-length': String(body.length), expect: '100-continue' },
    });
    const r = await new Promise<{ status: number; connection?: string; body: string }>((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port: server.port,
        method: 'PUT',
        path: '/no-such-bucket/k',
        headers: { ...headers, connection: 'keep-alive' },
        agent: false,
      });
      req.on('continue', () => req.end(body));
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text });
          req.destroy();
        });
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(r.status).toBe(404);
    expect(errorCode(r.body)).toBe('NoSuchBucket');
    expect(r.connection).toBe('keep-alive');
  });

  it('HEAD errors carry no body; 416 names the object size in Content-Range', async () => {
    const missing = `/${BUCKET}/missing`;
    const head = await rawRequest(server, { method: 'HEAD', url: missing, headers: await signHeaders(server, { method: 'HEAD', path: missing }) });
    expect(head.status).toBe(404);
    expect(head.body).toBe('');
    expect(head.headers['x-amz-request-id']).toMatch(/^[0-9A-F]{16}$/);

    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sized', Body: Buffer.alloc(10) }));
    const url = `/${BUCKET}/sized`;
    const r = await rawRequest(server, {
      method: 'GET',
      url,
      headers: { ...(await signHeaders(server, { method: 'GET', path: url, headers: { range: 'bytes=10-' } })) },
    });
    expect(r.status).toBe(416);
    expect(r.headers['content-range']).toBe('bytes */10');
    expect(errorCode(r.body)).toBe('InvalidRange');
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'sized' }));
  });

  it('a NUL in a key is InvalidArgument', async () => {
    const url = `/${BUCKET}/a%00b`;
    const headers = await signHeaders(server, { method: 'PUT', path: url, headers: { 'content-length': '1' } });
    const r = await rawRequest(server, { method: 'PUT', url, headers, body: Buffer.from('x') });
    expect(r.status).toBe(400);
    expect(errorCode(r.body)).toBe('InvalidArgument');
  });

  it('broken percent-encoding is InvalidURI, as XML with a request id', async () => {
    const r = await rawRequest(server, { method: 'GET', url: `/${BUCKET}/%ZZ` });
    expect(r.status).toBe(400);
    expect(errorCode(r.body)).toBe('InvalidURI');
    expect(r.headers['content-type']).toBe('application/xml');
    expect(r.headers['x-amz-request-id']).toMatch(/^[0-9A-F]{16}$/);
    expect(r.headers['x-amz-id-2']).toBeTruthy();
  });

  it('oversized headers get an S3 error document', async () => {
    const r = await rawRequest(server, { method: 'GET', url: `/${BUCKET}`, headers: { 'x-big': 'a'.repeat(64 * 1024) } });
    expect(r.status).toBe(400);
    expect(errorCode(r.body)).toBe('RequestHeaderSectionTooLarge');
    expect(r.headers['x-amz-request-id']).toBeTruthy();
  });

  it('an unsupported method is MethodNotAllowed', async () => {
    const r = await rawRequest(server, { method: 'PATCH', url: `/${BUCKET}/k` });
    expect(r.status).toBe(405);
    expect(errorCode(r.body)).toBe('MethodNotAllowed');
  });

  it('refuses an unauthenticated 100-continue PUT without asking for the body', async () => {
    const url = `/${BUCKET}/expect`;
    const headers = await signHeaders(server, {
      method: 'PUT',
      path: url,
      secretKey: 'wrong-secret-key',
      headers: { 'content-length': String(10 << 20), expect: '100-continue' },
    });
    const result = await new Promise<{ status: number; continued: boolean; body: string }>((resolve, reject) => {
      let continued = false;
      const req = httpRequest({ host: '127.0.0.1', port: server.port, method: 'PUT', path: url, headers, agent: false });
      req.on('continue', () => {
        continued = true;
        req.end(Buffer.alloc(10 << 20));
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, continued, body });
          req.destroy();
        });
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(result.continued).toBe(false);
    expect(result.status).toBe(403);
    expect(errorCode(result.body)).toBe('SignatureDoesNotMatch');
    expect(await exists('expect')).toBe(false);
  });

  it('DeleteObjects needs an integrity header and well-formed XML', async () => {
    const xml = Buffer.from('<Delete><Object><Key>k</Key></Object></Delete>');
    const noDigest = await signHeaders(server, {
      method: 'POST',
      path: `/${BUCKET}`,
      query: { delete: '' },
      headers: { 'content-length': String(xml.length) },
    });
    const r1 = await rawRequest(server, { method: 'POST', url: `/${BUCKET}?delete`, headers: noDigest, body: xml });
    expect(r1.status).toBe(400);
    expect(errorCode(r1.body)).toBe('InvalidRequest');

    const bad = Buffer.from('<Delete><Object><Key>k</Key></Object>');
    const withMd5 = await signHeaders(server, {
      method: 'POST',
      path: `/${BUCKET}`,
      query: { delete: '' },
      headers: { 'content-length': String(bad.length), 'content-md5': createHash('md5').update(bad).digest('base64') },
    });
    const r2 = await rawRequest(server, { method: 'POST', url: `/${BUCKET}?delete`, headers: withMd5, body: bad });
    expect(r2.status).toBe(400);
    expect(errorCode(r2.body)).toBe('MalformedXML');
  });

  it('a download abandoned midway does not disturb the server', async () => {
    const data = randomBytes(8 << 20);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'abandoned', Body: data }));
    const url = `/${BUCKET}/abandoned`;
    const headers = await signHeaders(server, { method: 'GET', path: url });
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: server.port, method: 'GET', path: url, headers, agent: false }, (res) => {
        expect(res.statusCode).toBe(200);
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
      req.end();
    });
    const again = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'abandoned' }));
    expect(Buffer.from(await again.Body!.transformToByteArray()).equals(data)).toBe(true);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'abandoned' }));
  });

  it('the server is still healthy and only the well-formed object exists', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'after', Body: 'ok' }));
    const l = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    expect(l.Contents?.map((c) => c.Key).sort()).toEqual(['after', 'well-formed']);
    // None of the above was our fault: nothing was logged as an internal error.
    expect(server.output()).not.toMatch(/"level":(50|60)/);
  });
});

describe('shutdown', () => {
  it('SIGTERM drains an in-flight upload, then exits 0', async () => {
    const own = await startServer({ drives: 4 });
    const c = new S3Client({
      endpoint: own.endpoint,
      region: own.region,
      forcePathStyle: true,
      credentials: { accessKeyId: own.accessKey, secretAccessKey: own.secretKey },
    });
    try {
      await c.send(new CreateBucketCommand({ Bucket: 'drain' }));
      const data = randomBytes(2 << 20);
      const headers = await signHeaders(own, { method: 'PUT', path: '/drain/inflight', headers: { 'content-length': String(data.length) } });
      const response = new Promise<number>((resolve, reject) => {
        // 100-continue: the server answers it only from inside the handler, so SIGTERM below
        // surely arrives while this request is in flight (not still queued in a socket buffer).
        const req = httpRequest({
          host: '127.0.0.1',
          port: own.port,
          method: 'PUT',
          path: '/drain/inflight',
          headers: { ...headers, expect: '100-continue' },
          agent: false,
        });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.on('continue', () => {
          req.write(data.subarray(0, 1 << 20), () => {
            // Half the body is in; now ask the server to stop, then send the rest.
            own.proc.kill('SIGTERM');
            setTimeout(() => req.end(data.subarray(1 << 20)), 300);
          });
        });
      });
      const exited = new Promise<number | null>((r) => own.proc.once('exit', (code) => r(code)));
      expect(await response).toBe(200);
      const code = await exited;
      await own.stop();
      expect(code).toBe(0);
      expect(own.output()).not.toMatch(/"level":(50|60)/);
    } finally {
      c.destroy();
    }
  });
});
