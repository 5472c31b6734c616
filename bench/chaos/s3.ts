/**
 * The few S3 calls the chaos harness makes, on node:http with the bench's
 * SigV4 signer: bodies are streamed from the deterministic content generator
 * and responses are hashed as they arrive, so a 64 MiB object is never held.
 */
import http from 'node:http';
import { createHash } from 'node:crypto';
import { canonicalQuery, Signer, uriEncode, type Credentials } from '../sigv4.js';
import { contentChunks } from './content.js';

export interface Reply {
  status: number;
  /** Small bodies (XML) as text; GET bodies are only hashed. */
  text: string;
  sha256: string;
  bytes: number;
  etag: string | undefined;
}

export interface Body {
  key: string;
  gen: number;
  offset: number;
  size: number;
}

export class ChaosS3 {
  private readonly agent: http.Agent;
  private readonly signer: Signer;
  private readonly url: URL;

  constructor(endpoint: string, creds: Credentials, sockets: number) {
    this.url = new URL(endpoint);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
    this.signer = new Signer(creds);
  }

  close(): void {
    this.agent.destroy();
  }

  /** Resolves for every status; rejects on transport errors (a killed server). `keepText`: keep a GET object body as text too (small JSON answers). */
  request(method: string, bucket: string, key: string | undefined, query: Record<string, string> | undefined, body?: Body | Buffer, keepText = false): Promise<Reply> {
    let path = '/' + uriEncode(bucket, false);
    if (key !== undefined) path += '/' + uriEncode(key, true);
    const q = canonicalQuery(query);
    const headers: Record<string, string | number> = this.signer.sign({ method, path, query: q, host: this.url.host });
    const size = body === undefined ? 0 : Buffer.isBuffer(body) ? body.length : body.size;
    if (method === 'PUT' || method === 'POST') headers['content-length'] = size;
    return new Promise<Reply>((resolve, reject) => {
      const req = http.request(
        { agent: this.agent, hostname: this.url.hostname, port: this.url.port, method, path: q ? `${path}?${q}` : path, headers },
        (res) => {
          const hash = createHash('sha256');
          const text: Buffer[] = [];
          let bytes = 0;
          const keep = keepText || method !== 'GET' || key === undefined || (res.statusCode ?? 0) >= 300;
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            hash.update(c);
            if (keep && bytes < 1 << 20) text.push(c);
          });
          res.on('end', () => {
            // A server killed mid-body ends the stream short: that is a transport error, not an answer.
            const want = Number(res.headers['content-length'] ?? NaN);
            if (Number.isFinite(want) && want !== bytes) return reject(new Error(`short body: ${bytes} of ${want}`));
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(text).toString(), sha256: hash.digest('hex'), bytes, etag: res.headers.etag });
          });
          res.on('error', reject);
          res.on('aborted', () => reject(new Error('response aborted')));
        },
      );
      req.on('error', reject);
      if (body === undefined) return void req.end();
      if (Buffer.isBuffer(body)) return void req.end(body);
      const chunks = contentChunks(body.key, body.gen, body.size, body.offset);
      const pump = (): void => {
        for (;;) {
          const next = chunks.next();
          if (next.done) return void req.end();
          if (!req.write(next.value)) return void req.once('drain', pump);
        }
      };
      pump();
    });
  }

  /** Keys and sizes of every listed object (ListObjectsV2, all pages). */
  async list(bucket: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    let token: string | undefined;
    for (;;) {
      const query: Record<string, string> = { 'list-type': '2', 'max-keys': '1000' };
      if (token) query['continuation-token'] = token;
      const r = await this.request('GET', bucket, undefined, query);
      if (r.status !== 200) throw new Error(`list: ${r.status} ${r.text.slice(0, 200)}`);
      for (const m of r.text.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        const k = /<Key>([^<]*)<\/Key>/.exec(m[1]!)?.[1];
        const s = /<Size>(\d+)<\/Size>/.exec(m[1]!)?.[1];
        if (k !== undefined) out.set(unxml(k), Number(s));
      }
      token = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(r.text)?.[1];
      if (!/<IsTruncated>true<\/IsTruncated>/.test(r.text) || !token) return out;
      token = unxml(token);
    }
  }
}

function unxml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}
