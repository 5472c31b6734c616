/**
 * The request/response types every bench HTTP client shares, and the node:http
 * client (`--client node`, and every https:// endpoint; raw-client.ts is the
 * default for http://): node:http(s) with a keep-alive agent,
 * SigV4 computed once per request, bodies written from one preallocated buffer
 * (never copied), response bodies drained by counting bytes. Small responses
 * (XML, errors) are collected as text only when the caller asks.
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { canonicalQuery, Signer, uriEncode, type Credentials } from './sigv4.js';

export interface ClientOptions {
  endpoint: string;
  credentials: Credentials;
  /** Sockets kept open to the endpoint; at least the concurrency (the raw client opens them as needed). */
  maxSockets: number;
  /** Which HTTP client: 'raw' (raw-client.ts, the default) or 'node' (node:http, this file). */
  client?: ClientKind;
}

/** A body of `size` bytes made of `pattern` repeated: random bytes generated once, written as views. */
export interface BodySource {
  size: number;
  pattern: Buffer;
}

export const CLIENT_KINDS = ['raw', 'node'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

/** What HttpStore needs from an HTTP client; S3Client (node:http) and RawS3Client both provide it. */
export interface S3Transport {
  readonly opts: ClientOptions;
  /** One request; resolves for every status (callers decide what is an error), rejects on transport errors. */
  request(spec: RequestSpec): Promise<Response>;
  /** request() that rejects with S3RequestError on a status ≥ 300 or a corrupt verified body. */
  ok(spec: RequestSpec): Promise<Response>;
  close(): void;
}

export interface RequestSpec {
  method: 'GET' | 'PUT' | 'HEAD' | 'DELETE' | 'POST';
  bucket?: string;
  key?: string;
  query?: Record<string, string>;
  body?: BodySource | Buffer;
  headers?: Record<string, string>;
  /** Collect the response body as text (XML answers); otherwise it is only counted. */
  text?: boolean;
  /**
   * Hand each piece of a 2xx body to this function as it arrives (listings are scanned so, uncopied).
   * The piece may be a view of a reused read buffer: valid only during the call.
   */
  sink?: (chunk: Buffer) => void;
  /** Compare the first bytes of the body with this pattern (repeated from offset 0). */
  verify?: { pattern: Buffer; bytes: number };
}

export interface Response {
  status: number;
  /** Lower-case names. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Response body bytes received. */
  bytes: number;
  /** Request body bytes sent. */
  sent: number;
  /** From the request start (signed, about to be written) to the response headers (node) / first response byte (raw). */
  ttfbMs: number;
  /** From the request start to the last body byte. */
  latencyMs: number;
  /** The body decoded, when spec.text or the status is ≥ 300 (the error XML). */
  text?: string;
  /** Set when verify was asked and a byte differed. */
  corrupt?: boolean;
}

export class S3RequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class S3Client implements S3Transport {
  private readonly agent: http.Agent;
  private readonly signer: Signer;
  private readonly mod: typeof http | typeof https;
  readonly host: string;
  private readonly hostname: string;
  private readonly port: number;

  constructor(readonly opts: ClientOptions) {
    const url = new URL(opts.endpoint);
    const secure = url.protocol === 'https:';
    this.mod = secure ? https : http;
    this.agent = new this.mod.Agent({ keepAlive: true, maxSockets: opts.maxSockets, maxFreeSockets: opts.maxSockets });
    this.signer = new Signer(opts.credentials);
    this.host = url.host; // includes the port only when it is not the default, as Node sends it
    this.hostname = url.hostname;
    this.port = url.port ? Number(url.port) : secure ? 443 : 80;
  }

  close(): void {
    this.agent.destroy();
  }

  request(spec: RequestSpec): Promise<Response> {
    const { path, headers } = prepare(this.host, spec, this.signer);
    const size = bodySize(spec.body);
    const start = performance.now();
    return new Promise<Response>((resolve, reject) => {
      const req = this.mod.request(
        { agent: this.agent, hostname: this.hostname, port: this.port, method: spec.method, path, headers },
        (res) => {
          const ttfbMs = performance.now() - start;
          let bytes = 0;
          let chunks: Buffer[] | undefined;
          const status = res.statusCode ?? 0;
          const decode = spec.text === true || status >= 300;
          const collect = decode;
          const sink = status < 300 ? spec.sink : undefined;
          const verify = spec.verify;
          let corrupt = false;
          res.on('data', (chunk: Buffer) => {
            if (verify && bytes < verify.bytes && !corrupt) corrupt = !matches(chunk, bytes, verify);
            bytes += chunk.length;
            if (collect) (chunks ??= []).push(chunk); // node:http allocates each chunk afresh: keeping it copies nothing
            sink?.(chunk);
          });
          res.on('end', () => {
            const latencyMs = performance.now() - start;
            const body = collect ? Buffer.concat(chunks ?? []) : undefined;
            resolve({
              status,
              headers: res.headers,
              bytes,
              sent: size,
              ttfbMs,
              latencyMs,
              ...(body ? { text: body.toString('utf8') } : {}),
              ...(corrupt ? { corrupt } : {}),
            });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      writeBody(req, spec.body);
    });
  }

  ok(spec: RequestSpec): Promise<Response> {
    return okOrThrow(spec, this.request(spec));
  }
}

export function bodySize(body: RequestSpec['body']): number {
  return body === undefined ? 0 : Buffer.isBuffer(body) ? body.length : body.size;
}

/** The request target (path?query) and its headers, SigV4-signed once; content-length for PUT/POST. */
export function prepare(host: string, spec: RequestSpec, signer: Signer): { path: string; headers: Record<string, string | number> } {
  let path = '/';
  if (spec.bucket !== undefined) path += uriEncode(spec.bucket, false);
  if (spec.key !== undefined) path += '/' + uriEncode(spec.key, true);
  const query = canonicalQuery(spec.query);
  const headers: Record<string, string | number> = signer.sign({ method: spec.method, path, query, host, ...(spec.headers ? { extra: spec.headers } : {}) });
  if (spec.method === 'PUT' || spec.method === 'POST') headers['content-length'] = bodySize(spec.body);
  return { path: query ? `${path}?${query}` : path, headers };
}

/** The response, or an S3RequestError for a status ≥ 300 (its S3 code from the XML) or a corrupt verified body. */
export async function okOrThrow(spec: RequestSpec, response: Promise<Response>): Promise<Response> {
  const res = await response;
  if (res.status >= 300) throw errorOf(spec, res);
  if (res.corrupt) throw new S3RequestError(res.status, 'BenchCorruptBody', `${spec.method} ${spec.key}: body differs from what was written`);
  return res;
}

export function errorOf(spec: RequestSpec, res: Response): S3RequestError {
  const code = /<Code>([^<]*)<\/Code>/.exec(res.text ?? '')?.[1] ?? `HTTP${res.status}`;
  return new S3RequestError(res.status, code, `${spec.method} ${spec.bucket ?? ''}/${spec.key ?? ''}: ${res.status} ${code}`);
}

export function matches(chunk: Buffer, offset: number, verify: { pattern: Buffer; bytes: number }): boolean {
  const p = verify.pattern;
  const n = Math.min(chunk.length, verify.bytes - offset);
  let i = 0;
  while (i < n) {
    const at = (offset + i) % p.length;
    const len = Math.min(n - i, p.length - at);
    if (chunk.compare(p, at, at + len, i, i + len) !== 0) return false;
    i += len;
  }
  return true;
}

/** Write the body as views of the pattern, honouring backpressure; never allocates per request. */
function writeBody(req: http.ClientRequest, body: BodySource | Buffer | undefined): void {
  if (body === undefined) return void req.end();
  if (Buffer.isBuffer(body)) return void req.end(body);
  const { size, pattern } = body;
  if (size <= pattern.length) return void req.end(size === pattern.length ? pattern : pattern.subarray(0, size));
  let left = size;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, pattern.length);
      left -= n;
      const more = req.write(n === pattern.length ? pattern : pattern.subarray(0, n));
      if (!more && left > 0) {
        req.once('drain', pump);
        return;
      }
    }
    req.end();
  };
  pump();
}
