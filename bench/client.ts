/**
 * The lean load generator's S3 client: node:http(s) with a keep-alive agent,
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
  /** Sockets kept open to the endpoint; at least the concurrency. */
  maxSockets: number;
}

/** A body of `size` bytes made of `pattern` repeated: random bytes generated once, written as views. */
export interface BodySource {
  size: number;
  pattern: Buffer;
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
  /** Compare the first bytes of the body with this pattern (repeated from offset 0). */
  verify?: { pattern: Buffer; bytes: number };
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Response body bytes received. */
  bytes: number;
  /** Request body bytes sent. */
  sent: number;
  /** From the request start to the response headers. */
  ttfbMs: number;
  /** From the request start to the last body byte. */
  latencyMs: number;
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

export class S3Client {
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

  /** One request; resolves for every status (callers decide what is an error), rejects on transport errors. */
  request(spec: RequestSpec): Promise<Response> {
    let path = '/';
    if (spec.bucket !== undefined) path += uriEncode(spec.bucket, false);
    if (spec.key !== undefined) path += '/' + uriEncode(spec.key, true);
    const query = canonicalQuery(spec.query);
    const size = spec.body === undefined ? 0 : Buffer.isBuffer(spec.body) ? spec.body.length : spec.body.size;
    const headers: Record<string, string | number> = this.signer.sign({
      method: spec.method,
      path,
      query,
      host: this.host,
      ...(spec.headers ? { extra: spec.headers } : {}),
    });
    if (spec.method === 'PUT' || spec.method === 'POST') headers['content-length'] = size;
    const start = performance.now();
    return new Promise<Response>((resolve, reject) => {
      const req = this.mod.request(
        { agent: this.agent, hostname: this.hostname, port: this.port, method: spec.method, path: query ? `${path}?${query}` : path, headers },
        (res) => {
          const ttfbMs = performance.now() - start;
          let bytes = 0;
          let text: string[] | undefined;
          const collect = spec.text === true || (res.statusCode ?? 0) >= 300;
          const verify = spec.verify;
          let corrupt = false;
          res.on('data', (chunk: Buffer) => {
            if (verify && bytes < verify.bytes && !corrupt) corrupt = !matches(chunk, bytes, verify);
            bytes += chunk.length;
            if (collect) (text ??= []).push(chunk.toString('utf8'));
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              bytes,
              sent: size,
              ttfbMs,
              latencyMs: performance.now() - start,
              ...(text ? { text: text.join('') } : {}),
              ...(corrupt ? { corrupt } : {}),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      writeBody(req, spec.body);
    });
  }

  /** request() that rejects with S3RequestError on a status ≥ 300. */
  async ok(spec: RequestSpec): Promise<Response> {
    const res = await this.request(spec);
    if (res.status >= 300) throw errorOf(spec, res);
    if (res.corrupt) throw new S3RequestError(res.status, 'BenchCorruptBody', `${spec.method} ${spec.key}: body differs from what was written`);
    return res;
  }
}

export function errorOf(spec: RequestSpec, res: Response): S3RequestError {
  const code = /<Code>([^<]*)<\/Code>/.exec(res.text ?? '')?.[1] ?? `HTTP${res.status}`;
  return new S3RequestError(res.status, code, `${spec.method} ${spec.bucket ?? ''}/${spec.key ?? ''}: ${res.status} ${code}`);
}

function matches(chunk: Buffer, offset: number, verify: { pattern: Buffer; bytes: number }): boolean {
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
