/** The Store over S3 HTTP: Cairn, the no-op server, s3rver or any S3 endpoint. */
import { performance } from 'node:perf_hooks';
import { S3Client, errorOf, S3RequestError, type BodySource, type ClientOptions, type RequestSpec } from './client.js';
import type { ListPage, Store, Timed } from './store.js';

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const unescapeXml = (s: string) => s.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => XML_ENTITIES[e]!);

export class HttpStore implements Store {
  readonly supports = new Set(['put', 'get', 'head', 'delete', 'list', 'multipart'] as const);
  readonly client: S3Client;

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
    this.client = new S3Client(opts);
  }

  private async ok(spec: RequestSpec): Promise<Timed & { text?: string; etag?: string }> {
    const r = await this.client.ok(spec);
    const bytes = spec.method === 'GET' ? r.bytes : r.sent;
    const etag = r.headers.etag;
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
    const r = await this.ok({ method: 'GET', bucket, query, text: true });
    const xml = r.text ?? '';
    let keys = 0;
    for (let i = xml.indexOf('<Key>'); i >= 0; i = xml.indexOf('<Key>', i + 5)) keys++;
    const truncated = /<IsTruncated>true<\/IsTruncated>/.test(xml);
    const token = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1];
    if (truncated && token === undefined) throw new S3RequestError(200, 'BenchBadListing', 'truncated listing without NextContinuationToken');
    return { latencyMs: r.latencyMs, ttfbMs: r.ttfbMs, bytes: r.bytes, keys, ...(truncated && token !== undefined ? { next: unescapeXml(token) } : {}) };
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
