import { createCipheriv, createHash } from 'node:crypto';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { S3Client, S3ServiceException, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { RunningServer } from './server.js';

/** @aws-sdk/client-s3 against a spawned server, plus the few helpers the e2e suites share. */

export function sdkClient(server: RunningServer, extra: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    maxAttempts: 1,
    ...extra,
  });
}

export interface Failure {
  name: string;
  status: number | undefined;
  message: string;
  raw: S3ServiceException;
}

/** The S3 error a call fails with; throws if it succeeds or fails some other way. */
export async function failure(p: Promise<unknown>): Promise<Failure> {
  try {
    await p;
  } catch (err) {
    if (err instanceof S3ServiceException) {
      return { name: err.name, status: err.$metadata.httpStatusCode, message: err.message, raw: err };
    }
    throw err;
  }
  throw new Error('expected the call to fail');
}

export const md5hex = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** The multipart ETag of these parts: md5 of the concatenated part md5s, `-N`. */
export function multipartEtag(parts: Buffer[]): string {
  const h = createHash('md5');
  for (const p of parts) h.update(createHash('md5').update(p).digest());
  return `"${h.digest('hex')}-${parts.length}"`;
}

/** A stream the SDK cannot rewind or measure (so it goes aws-chunked with a trailer). */
export function streamOf(buf: Buffer, chunk = 64 * 1024): Readable {
  let off = 0;
  return new Readable({
    read() {
      if (off >= buf.length) return this.push(null);
      this.push(buf.subarray(off, off + chunk));
      off += chunk;
    },
  });
}

/**
 * `size` pseudo-random bytes generated on the fly (AES-256-CTR over zeros, keyed
 * by `seed`), never held in memory; `digest()` is the SHA-256 of what was read.
 */
export function generatedStream(size: number, seed: string, chunk = 1 << 20): { stream: Readable; digest: () => string } {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(chunk);
  const hash = createHash('sha256');
  let left = size;
  const stream = new Readable({
    read() {
      if (left === 0) return this.push(null);
      const n = Math.min(chunk, left);
      left -= n;
      const out = cipher.update(zeros.subarray(0, n));
      hash.update(out);
      this.push(out);
    },
  });
  let hex: string | undefined;
  return { stream, digest: () => (hex ??= hash.digest('hex')) };
}

/** SHA-256 of a response body, streamed. */
export async function streamDigest(body: AsyncIterable<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of body) {
    h.update(chunk);
    size += chunk.length;
  }
  return { sha256: h.digest('hex'), size };
}

/**
 * An unsigned raw HTTP request, for what the SDK will not send (malformed
 * bodies, odd headers). The server answers 403 to anonymous requests, so this
 * is only for checking that something fails before authentication matters,
 * or pair it with a presigned URL.
 */
export function rawRequest(
  url: string,
  method: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
