/**
 * The no-op S3 server: what HTTP alone can do on this machine. node:http, PUT
 * bodies counted and discarded, GET bodies served from one preallocated buffer,
 * S3-shaped answers (ETag, multipart XML, ListObjectsV2 pages) with no storage.
 * Only object sizes and key names are remembered, so GET/HEAD/LIST answer like
 * a real store. Run as a process (`node dist/bench/noop-server.js [port]`) so it
 * sits on its own core, like the server it stands in for.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

const ETAG = '"d41d8cd98f00b204e9800998ecf8427e"';
const PATTERN = randomBytes(1 << 20);

const escapeXml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

class KeySet {
  private readonly sizes = new Map<string, number>();
  private sorted: string[] = [];
  private dirty = false;

  set(key: string, size: number): void {
    if (!this.sizes.has(key)) this.dirty = true;
    this.sizes.set(key, size);
  }
  size(key: string): number | undefined {
    return this.sizes.get(key);
  }
  delete(key: string): void {
    if (this.sizes.delete(key)) this.dirty = true;
  }
  /** Keys with this prefix (strictly after `after` when given), at most max + 1 to know truncation. */
  page(prefix: string, after: string | undefined, max: number): string[] {
    if (this.dirty) {
      this.sorted = [...this.sizes.keys()].sort();
      this.dirty = false;
    }
    const a = this.sorted;
    const strict = after !== undefined && after >= prefix;
    const from = strict ? after : prefix;
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (a[mid]! < from || (strict && a[mid] === from)) lo = mid + 1;
      else hi = mid;
    }
    const out: string[] = [];
    for (let i = lo; i < a.length && out.length <= max; i++) {
      if (!a[i]!.startsWith(prefix)) break;
      out.push(a[i]!);
    }
    return out;
  }
}

function drain(req: http.IncomingMessage, done: (bytes: number) => void): void {
  let n = 0;
  req.on('data', (c: Buffer) => (n += c.length));
  req.on('end', () => done(n));
}

function sendBody(res: http.ServerResponse, size: number): void {
  let left = size;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, PATTERN.length);
      left -= n;
      if (!res.write(n === PATTERN.length ? PATTERN : PATTERN.subarray(0, n)) && left > 0) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

function xml(res: http.ServerResponse, body: string): void {
  res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function createNoopServer(): http.Server {
  const keys = new KeySet();
  const uploads = new Map<string, number>();
  let nextUpload = 0;
  return http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const q = url.searchParams;
    const id = `${bucket}/${key}`;
    switch (req.method) {
      case 'PUT':
        return drain(req, (n) => {
          const uploadId = q.get('uploadId');
          if (uploadId !== null) uploads.set(uploadId, (uploads.get(uploadId) ?? 0) + n);
          else if (key !== '') keys.set(id, n);
          res.writeHead(200, { etag: ETAG, 'content-length': 0 });
          res.end();
        });
      case 'POST':
        return drain(req, () => {
          if (q.has('uploads')) {
            const uploadId = `u${nextUpload++}`;
            uploads.set(uploadId, 0);
            return xml(res, `<InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${escapeXml(key)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`);
          }
          const uploadId = q.get('uploadId') ?? '';
          keys.set(id, uploads.get(uploadId) ?? 0);
          uploads.delete(uploadId);
          return xml(res, `<CompleteMultipartUploadResult><Key>${escapeXml(key)}</Key><ETag>${ETAG}</ETag></CompleteMultipartUploadResult>`);
        });
      case 'GET':
      case 'HEAD': {
        if (key === '') {
          const prefix = `${bucket}/${q.get('prefix') ?? ''}`;
          const max = Math.min(1000, Number(q.get('max-keys') ?? 1000));
          const token = q.get('continuation-token');
          const page = keys.page(prefix, token === null ? undefined : `${bucket}/${token}`, max);
          const truncated = page.length > max;
          if (truncated) page.pop();
          const strip = bucket.length + 1;
          const items = page.map((k) => `<Contents><Key>${escapeXml(k.slice(strip))}</Key><Size>${keys.size(k) ?? 0}</Size><ETag>${ETAG}</ETag></Contents>`).join('');
          const next = truncated ? `<NextContinuationToken>${escapeXml(page[page.length - 1]!.slice(strip))}</NextContinuationToken>` : '';
          return xml(res, `<ListBucketResult><Name>${bucket}</Name><KeyCount>${page.length}</KeyCount><IsTruncated>${truncated}</IsTruncated>${next}${items}</ListBucketResult>`);
        }
        const size = keys.size(id);
        if (size === undefined) {
          res.writeHead(404, { 'content-type': 'application/xml' });
          return void res.end(req.method === 'HEAD' ? undefined : '<Error><Code>NoSuchKey</Code></Error>');
        }
        res.writeHead(200, { etag: ETAG, 'content-length': size, 'content-type': 'application/octet-stream' });
        if (req.method === 'HEAD') return void res.end();
        return sendBody(res, size);
      }
      case 'DELETE':
        if (key !== '') keys.delete(id);
        res.writeHead(204);
        return void res.end();
      default:
        res.writeHead(405);
        res.end();
    }
  });
}

export async function startNoopServer(port = 0, host = '127.0.0.1'): Promise<{ server: http.Server; endpoint: string }> {
  const server = createNoopServer();
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const addr = server.address() as AddressInfo;
  return { server, endpoint: `http://${host}:${addr.port}` };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { endpoint } = await startNoopServer(Number(process.argv[2] ?? 0));
  process.stdout.write(`noop listening on ${endpoint}\n`);
}
