import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, sdkClient } from './helpers/sdk.js';
import { startServer, type RunningServer } from './helpers/server.js';

/** Conditional GET/HEAD (304/412 with AWS's precedence) and conditional PUT. */

let server: RunningServer;
let s3: S3Client;
const Bucket = 'cond';
const Key = 'target';
let etag: string;
let past: Date;
let future: Date;

beforeAll(async () => {
  server = await startServer({ drives: 4 });
  s3 = sdkClient(server);
  await s3.send(new CreateBucketCommand({ Bucket }));
  await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'conditional body' }));
  const head = await s3.send(new HeadObjectCommand({ Bucket, Key }));
  etag = head.ETag!;
  past = new Date(head.LastModified!.getTime() - 3600_000);
  future = new Date(head.LastModified!.getTime() + 3600_000);
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  await server?.stop();
});

interface Conds {
  IfMatch?: string;
  IfNoneMatch?: string;
  IfModifiedSince?: Date;
  IfUnmodifiedSince?: Date;
}

async function statusOf(method: 'GET' | 'HEAD', c: Conds): Promise<{ status: number; name?: string; etag?: string; body?: string }> {
  try {
    if (method === 'GET') {
      const r = await s3.send(new GetObjectCommand({ Bucket, Key, ...c }));
      return { status: r.$metadata.httpStatusCode!, body: await r.Body!.transformToString(), etag: r.ETag! };
    }
    const r = await s3.send(new HeadObjectCommand({ Bucket, Key, ...c }));
    return { status: r.$metadata.httpStatusCode!, etag: r.ETag! };
  } catch (err) {
    const f = await failure(Promise.reject(err));
    const headers = (f.raw.$response?.headers ?? {}) as Record<string, string>;
    return { status: f.status!, name: f.name, ...(headers.etag ? { etag: headers.etag } : {}) };
  }
}

describe('conditional GET and HEAD', () => {
  const cases: Array<[string, () => Conds, number]> = [
    ['If-Match matching', () => ({ IfMatch: etag }), 200],
    ['If-Match *', () => ({ IfMatch: '*' }), 200],
    ['If-Match other', () => ({ IfMatch: '"0badc0de"' }), 412],
    ['If-Match list containing it', () => ({ IfMatch: `"0badc0de", ${etag}` }), 200],
    ['If-None-Match matching', () => ({ IfNoneMatch: etag }), 304],
    ['If-None-Match other', () => ({ IfNoneMatch: '"0badc0de"' }), 200],
    ['If-None-Match *', () => ({ IfNoneMatch: '*' }), 304],
    ['If-Modified-Since past', () => ({ IfModifiedSince: past }), 200],
    ['If-Modified-Since future', () => ({ IfModifiedSince: future }), 304],
    ['If-Unmodified-Since past', () => ({ IfUnmodifiedSince: past }), 412],
    ['If-Unmodified-Since future', () => ({ IfUnmodifiedSince: future }), 200],
    // AWS's documented precedence.
    ['If-Match true + If-Unmodified-Since false', () => ({ IfMatch: etag, IfUnmodifiedSince: past }), 200],
    ['If-None-Match false + If-Modified-Since true', () => ({ IfNoneMatch: etag, IfModifiedSince: past }), 304],
    ['If-None-Match true + If-Modified-Since false', () => ({ IfNoneMatch: '"0badc0de"', IfModifiedSince: future }), 200],
    ['If-Match false + If-None-Match false', () => ({ IfMatch: '"0badc0de"', IfNoneMatch: etag }), 412],
  ];
  for (const method of ['GET', 'HEAD'] as const) {
    for (const [name, conds, want] of cases) {
      it(`${method} ${name} → ${want}`, async () => {
        const r = await statusOf(method, conds());
        expect(r.status).toBe(want);
        if (want === 200 && method === 'GET') expect(r.body).toBe('conditional body');
        if (want === 304) expect(r.etag).toBe(etag);
        if (want === 412 && method === 'GET') expect(r.name).toBe('PreconditionFailed');
      });
    }
  }

  it('ignores an unparseable date', async () => {
    for (const header of ['if-modified-since', 'if-unmodified-since']) {
      const cmd = new GetObjectCommand({ Bucket, Key });
      cmd.middlewareStack.add(
        (next) => async (args) => {
          (args.request as { headers: Record<string, string> }).headers[header] = 'not a date';
          return next(args);
        },
        { step: 'build' },
      );
      const r = await s3.send(cmd);
      expect(r.$metadata.httpStatusCode).toBe(200);
      expect(await r.Body!.transformToString()).toBe('conditional body');
    }
  });
});

describe('conditional PUT', () => {
  it('If-None-Match: * creates only; If-Match replaces only the expected ETag', async () => {
    const k = 'put-cond';
    await s3.send(new PutObjectCommand({ Bucket, Key: k, Body: 'first', IfNoneMatch: '*' }));
    const f = await failure(s3.send(new PutObjectCommand({ Bucket, Key: k, Body: 'second', IfNoneMatch: '*' })));
    expect([f.name, f.status]).toEqual(['PreconditionFailed', 412]);
    const cur = await s3.send(new HeadObjectCommand({ Bucket, Key: k }));
    const g = await failure(s3.send(new PutObjectCommand({ Bucket, Key: k, Body: 'third', IfMatch: '"0badc0de"' })));
    expect(g.status).toBe(412);
    await s3.send(new PutObjectCommand({ Bucket, Key: k, Body: 'fourth', IfMatch: cur.ETag }));
    const r = await s3.send(new GetObjectCommand({ Bucket, Key: k }));
    expect(await r.Body!.transformToString()).toBe('fourth');
  });

  it('lets exactly one of many concurrent If-None-Match: * writers win', async () => {
    const k = 'race';
    const bodies = Array.from({ length: 8 }, () => randomBytes(64 * 1024));
    const results = await Promise.allSettled(
      bodies.map((Body) => s3.send(new PutObjectCommand({ Bucket, Key: k, Body, IfNoneMatch: '*' }))),
    );
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect((await failure(Promise.reject(r.reason))).status).toBe(412);
    }
    const stored = await s3.send(new GetObjectCommand({ Bucket, Key: k }));
    expect(Buffer.from(await stored.Body!.transformToByteArray()).equals(bodies[won[0]!]!)).toBe(true);
  });
});
