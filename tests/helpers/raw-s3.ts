import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { RunningServer } from './server.js';

/**
 * Hand-made S3 requests for what an SDK will not send: truncated bodies, broken
 * aws-chunked frames, odd Host headers, oversized headers. Signed with the AWS
 * reference signer (@smithy/signature-v4), independent of Cairn's verifier.
 */

class Sha256 {
  private h: Hash | Hmac;
  constructor(private readonly secret?: string | Uint8Array) {
    this.h = secret ? createHmac('sha256', secret) : createHash('sha256');
  }
  update(data: string | Uint8Array): void {
    this.h.update(typeof data === 'string' ? Buffer.from(data) : data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = this.secret ? createHmac('sha256', this.secret) : createHash('sha256');
  }
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface SignOptions {
  method: string;
  /** Already percent-encoded path, e.g. `/bucket/a%20b`. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** x-amz-content-sha256; default UNSIGNED-PAYLOAD. */
  payloadHash?: string;
  /** Host header to sign and send; default the server's host:port. */
  host?: string;
  secretKey?: string;
  accessKey?: string;
}

/** Signed headers for a request, ready for rawRequest(). */
export async function signHeaders(server: RunningServer, o: SignOptions): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    service: 's3',
    region: server.region,
    credentials: { accessKeyId: o.accessKey ?? server.accessKey, secretAccessKey: o.secretKey ?? server.secretKey },
    sha256: Sha256,
    uriEscapePath: false,
  });
  const host = o.host ?? new URL(server.endpoint).host;
  const signed = await signer.sign({
    method: o.method,
    protocol: 'http:',
    hostname: host.replace(/:\d+$/, ''),
    port: Number(new URL(server.endpoint).port),
    path: o.path,
    query: o.query ?? {},
    headers: { host, 'x-amz-content-sha256': o.payloadHash ?? 'UNSIGNED-PAYLOAD', ...(o.headers ?? {}) },
  });
  return signed.headers as Record<string, string>;
}

export interface RawRequestOptions {
  method: string;
  /** Path and query as they go on the request line. */
  url: string;
  headers?: OutgoingHttpHeaders;
  /** Written then the request is ended. */
  body?: Buffer;
  /** Write these bytes, then destroy the socket without ending the request. */
  truncateAfter?: Buffer;
}

export function rawRequest(server: RunningServer, o: RawRequestOptions): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: server.port, method: o.method, path: o.url, headers: o.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (o.truncateAfter) {
      req.write(o.truncateAfter, () => setTimeout(() => req.destroy(new Error('truncated on purpose')), 50));
      return;
    }
    req.end(o.body);
  });
}

/** `<Code>` of an S3 error document. */
export function errorCode(body: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
}

/** Percent-encode a key for a path the way SDKs do (slashes kept). */
export function encodeKey(key: string): string {
  return key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}
