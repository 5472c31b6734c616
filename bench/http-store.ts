/** The Store over S3 HTTP: Cairn, the no-op server, s3rver or any S3 endpoint. */
import { performance } from 'node:perf_hooks';
import { S3Client, errorOf, S3RequestError, type BodySource, type ClientOptions, type RequestSpec, type S3Transport } from './client.js';
import { ListingScanner, unescapeXml } from './listing-scan.js';
import { RawS3Client } from './raw-client.js';
import type { ListPage, Store, Timed } from './store.js';


export class HttpStore implements Store {
  readonly supports = new Set(['put', 'get', 'head', 'delete', 'list', 'multipart'] as const);
  readonly client: S3Transport;

  /**
   * verifyBodies false: the target does not store bytes (the no-op server serves
   * its own), so GET bodies cannot be compared with what was written.
   * writeHeaders: sent with every PUT and CreateMultipartUpload (SSE: `x-amz-server-side-encryption`).
   */
  constructor(
    readonly name: string,
    opts: ClientOptions,
    readonly pid?: number,
    private readonly verifyBodies = true,
    private readonly writeHeaders?: Record<string, string>,
  ) {
    this.client = createClient(opts);
  }

  private async ok(spec: RequestSpec): Promise<Timed & { text?: string; etag?: string }> {
    const r = await this.client.ok(spec);
    const bytes = spec.method === 'GET' ? r.bytes : r.sent;
    const etag = r.headers.etag;
    if (Array.isArray(etag)) throw new S3RequestError(r.status, 'BenchBadResponse', 'several ETag headers');
    return { latencyMs: r.latencyMs, ttfbMs: r.ttfbMs, bytes, ...(r.text !== undefined ? { text: r.text } : {}), ...(etag ? { etag } : {}) };
  }

  async createBucket(bucket: string): Promise<void> {
    const r = await this.client.request({ method: 'PUT', bucket, body: Buffer.alloc(0) });
    // Re-using a bucket this bench created earlier is fine.
    if (r.status >= 300 && !/BucketAlreadyOwnedByYou/.test(r.text ?? '')) throw errorOf({ method: 'PUT', bucket }, r);
  }

  put(bucket: string, key: string, body: BodySource): Promise<Timed> {
    return this.ok({ method: 'PUT', bucket, key, body, ...(this.writeHeaders ? { headers: this.writeHeaders } : {}) });
  }

  get(bucket: string, key: string, verify?: { pattern: Buffer; bytes: number }): Promise<Timed> {
    return this.ok({ method: 'GET', bucket, key, ...(verify && this.verifyBodies ? { verify } : {}) });
  }

  head(bucket: string, key: string): Promise<Timed> {
    return this.ok({ method: 'HEAD', bucket, key });
  }

  delete(bucket: string, key: string): Promise<Timed> {
    return this.ok({ method: 'DELETE', bucket, key });
  }

  async list(bucket: string, prefix: string, next: string | undefined, maxKeys: number): Promise<ListPage> {
    const query: Record<string, string> = { 'list-type': '2', 'max-keys': String(maxKeys), prefix };
    if (next !== undefined) query['continuation-token'] = next;
    // The page is scanned as it arrives (no copy, no decode); the scan's own time is taken out of the exchange's.
    const scan = new ListingScanner();
    let scanMs = 0;
    const sink = (chunk: Buffer) => {
      const t = performance.now();
      scan.feed(chunk);
      scanMs += performance.now() - t;
    };
    const r = await this.ok({ method: 'GET', bucket, query, sink });
    const { keys, truncated, token } = scan;
    if (truncated && token === undefined) throw new S3RequestError(200, 'BenchBadListing', 'truncated listing without NextContinuationToken');
    return { latencyMs: r.latencyMs - scanMs, ttfbMs: r.ttfbMs, bytes: r.bytes, keys, scanMs, ...(truncated && token !== undefined ? { next: token } : {}) };
  }

  async multipart(bucket: string, key: string, body: BodySource, partSize: number, partConcurrency: number): Promise<Timed> {
    const start = performance.now();
    const create = await this.ok({ method: 'POST', bucket, key, query: { uploads: '' }, text: true, ...(this.writeHeaders ? { headers: this.writeHeaders } : {}) });
    const uploadId = /<UploadId>([^<]*)<\/UploadId>/.exec(create.text ?? '')?.[1];
    if (uploadId === undefined) throw new S3RequestError(200, 'BenchBadResponse', 'CreateMultipartUpload without UploadId');
    const id = unescapeXml(uploadId);
    const parts = Math.max(1, Math.ceil(body.size / partSize));
    const etags: string[] = new Array<string>(parts);
    let nextPart = 0;
    const worker = async () => {
      while (nextPart < parts) {
        const i = nextPart++;
        const size = Math.min(partSize, body.size - i * partSize);
        const r = await this.ok({ method: 'PUT', bucket, key, query: { partNumber: String(i + 1), uploadId: id }, body: { size, pattern: body.pattern } });
        if (r.etag === undefined) throw new S3RequestError(200, 'BenchBadResponse', 'UploadPart without ETag');
        etags[i] = r.etag;
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(partConcurrency, parts) }, worker));
      const xml =
        '<CompleteMultipartUpload>' +
        etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('') +
        '</CompleteMultipartUpload>';
      const done = await this.ok({ method: 'POST', bucket, key, query: { uploadId: id }, body: Buffer.from(xml), text: true });
      // CompleteMultipartUpload may fail with 200 and an <Error> body.
      if (/<Error>/.test(done.text ?? '')) throw new S3RequestError(200, /<Code>([^<]*)</.exec(done.text ?? '')?.[1] ?? 'InternalError', 'CompleteMultipartUpload failed');
      return { latencyMs: performance.now() - start, ttfbMs: create.latencyMs, bytes: body.size };
    } catch (err) {
      await this.client.request({ method: 'DELETE', bucket, key, query: { uploadId: id } }).catch(() => undefined);
      throw err;
    }
  }

  async removeBucket(bucket: string, keys: Iterable<string>, dropBucket: boolean): Promise<void> {
    const list = [...keys];
    let i = 0;
    const worker = async () => {
      while (i < list.length) await this.client.request({ method: 'DELETE', bucket, key: list[i++]! }).catch(() => undefined);
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    if (dropBucket) await this.client.request({ method: 'DELETE', bucket }).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

/** The client asked for; https endpoints always get node:http (the raw client has no TLS). */
export function createClient(opts: ClientOptions): S3Transport {
  const raw = (opts.client ?? 'raw') === 'raw' && new URL(opts.endpoint).protocol === 'http:';
  return raw ? new RawS3Client(opts) : new S3Client(opts);
}
