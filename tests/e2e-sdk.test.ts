import { createHash, randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketPolicyCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkClient } from './helpers/sdk.js';
import { startServer, type RunningServer } from './helpers/server.js';

/**
 * The S3 front end against a real `cairn server` process, driven by
 * @aws-sdk/client-s3 at its default settings (aws-chunked bodies with a CRC32
 * trailer for streams) and with checksums only when required.
 */

let server: RunningServer;
let s3: S3Client; // SDK defaults
let s3plain: S3Client; // requestChecksumCalculation: WHEN_REQUIRED

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

const client = (extra: Partial<S3ClientConfig> = {}): S3Client => sdkClient(server, extra);

async function bodyOf(c: S3Client, Bucket: string, Key: string, Range?: string): Promise<Buffer> {
  const r = await c.send(new GetObjectCommand({ Bucket, Key, Range }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

/** The S3 error an SDK call fails with: code and HTTP status. */
async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof S3ServiceException) return { name: err.name, status: err.$metadata.httpStatusCode };
    throw err;
  }
  throw new Error('expected the call to fail');
}

/** A stream the SDK cannot rewind or measure: it goes aws-chunked with a trailer by default. */
function streamOf(buf: Buffer, chunk = 64 * 1024): Readable {
  let off = 0;
  return new Readable({
    read() {
      if (off >= buf.length) return this.push(null);
      this.push(buf.subarray(off, off + chunk));
      off += chunk;
    },
  });
}

beforeAll(async () => {
  server = await startServer({ drives: 4, env: { CAIRN_DOMAIN: 's3.cairn.test' } });
  s3 = client();
  s3plain = client({ requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
});

afterAll(async () => {
  s3?.destroy();
  s3plain?.destroy();
  await server?.stop();
});

describe('buckets', () => {
  it('create, head, list, locate, refuse duplicates and bad names, delete', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'crud' }));
    await s3.send(new HeadBucketCommand({ Bucket: 'crud' }));
    const list = await s3.send(new ListBucketsCommand({}));
    expect(list.Buckets?.map((b) => b.Name)).toContain('crud');
    expect(list.Owner?.DisplayName).toBe(server.accessKey);
    const loc = await s3.send(new GetBucketLocationCommand({ Bucket: 'crud' }));
    expect(loc.LocationConstraint ?? '').toBe('');

    // us-east-1 (the test server's region) keeps S3's legacy answer for your own bucket: 200.
    expect((await s3.send(new CreateBucketCommand({ Bucket: 'crud' }))).$metadata.httpStatusCode).toBe(200);
    expect(await failure(s3.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })))).toEqual({
      name: 'InvalidBucketName',
      status: 400,
    });
    expect(
      await failure(
        s3.send(new CreateBucketCommand({ Bucket: 'elsewhere', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } })),
      ),
    ).toMatchObject({ status: 400, name: 'IllegalLocationConstraintException' });

    await s3.send(new PutObjectCommand({ Bucket: 'crud', Key: 'x', Body: 'x' }));
    expect(await failure(s3.send(new DeleteBucketCommand({ Bucket: 'crud' })))).toEqual({ name: 'BucketNotEmpty', status: 409 });
    await s3.send(new DeleteObjectCommand({ Bucket: 'crud', Key: 'x' }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'crud' }));
    expect((await failure(s3.send(new HeadBucketCommand({ Bucket: 'crud' })))).status).toBe(404);
    expect(await failure(s3.send(new ListObjectsV2Command({ Bucket: 'crud' })))).toEqual({ name: 'NoSuchBucket', status: 404 });
  });

  it('refuses uploads to a missing bucket without creating it, and the connection stays usable', async () => {
    for (const Body of [randomBytes(5 << 20), streamOf(randomBytes(1 << 20))]) {
      expect(
        await failure(s3.send(new PutObjectCommand({ Bucket: 'no-such-bucket', Key: 'k', Body, ContentLength: Buffer.isBuffer(Body) ? Body.length : 1 << 20 }))),
      ).toEqual({ name: 'NoSuchBucket', status: 404 });
    }
    expect((await failure(s3.send(new HeadBucketCommand({ Bucket: 'no-such-bucket' })))).status).toBe(404);
    expect((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).not.toContain('no-such-bucket');
  });

  it('accepts a CreateBucketConfiguration naming its own region', async () => {
    await s3plain.send(
      new CreateBucketCommand({ Bucket: 'with-config', CreateBucketConfiguration: { LocationConstraint: 'us-east-1' as never } }),
    );
    await s3.send(new HeadBucketCommand({ Bucket: 'with-config' }));
  });
});

describe('objects', () => {
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'objects' }));
  });

  for (const [label, c] of [
    ['SDK defaults', () => s3],
    ['checksums WHEN_REQUIRED', () => s3plain],
  ] as const) {
    it(`round-trips 0 B, 1 B and 5 MiB buffers and a 20 MiB stream (${label})`, async () => {
      const cl = c();
      const cases: Array<[string, Buffer, boolean]> = [
        ['empty', Buffer.alloc(0), false],
        ['one', Buffer.from('z'), false],
        ['five', randomBytes(5 << 20), false],
        ['twenty', randomBytes(20 << 20), true],
      ];
      for (const [name, data, streamed] of cases) {
        const Key = `${label}/${name}`;
        const put = await cl.send(
          new PutObjectCommand({
            Bucket: 'objects',
            Key,
            Body: streamed ? streamOf(data) : data,
            ContentLength: data.length,
          }),
        );
        expect(put.ETag).toBe(`"${md5(data)}"`);
        const head = await cl.send(new HeadObjectCommand({ Bucket: 'objects', Key }));
        expect(head.ContentLength).toBe(data.length);
        expect(head.ETag).toBe(`"${md5(data)}"`);
        const got = await bodyOf(cl, 'objects', Key);
        expect(got.length).toBe(data.length);
        expect(md5(got)).toBe(md5(data));
      }
    });
  }

  it('serves ranges with 206 and Content-Range, and 416 for unsatisfiable ones', async () => {
    const data = randomBytes(300_000);
    await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'ranged', Body: data }));
    const cases: Array<[string, number, number]> = [
      ['bytes=0-0', 0, 0],
      ['bytes=100-199', 100, 199],
      ['bytes=299990-', 299_990, 299_999],
      ['bytes=-10', 299_990, 299_999],
      ['bytes=200000-999999', 200_000, 299_999],
    ];
    for (const [Range, start, end] of cases) {
      const r = await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'ranged', Range }));
      expect(r.$metadata.httpStatusCode).toBe(206);
      expect(r.ContentRange).toBe(`bytes ${start}-${end}/300000`);
      expect(r.ContentLength).toBe(end - start + 1);
      const got = Buffer.from(await r.Body!.transformToByteArray());
      expect(got.equals(data.subarray(start, end + 1))).toBe(true);
    }
    // Several ranges: S3 ignores the header and serves the whole object.
    const multi = await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'ranged', Range: 'bytes=0-1,5-6' }));
    expect(multi.$metadata.httpStatusCode).toBe(200);
    expect(multi.ContentLength).toBe(300_000);
    await multi.Body!.transformToByteArray();

    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'ranged', Range: 'bytes=300000-' })))).toEqual({
      name: 'InvalidRange',
      status: 416,
    });
    await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'empty-ranged', Body: '' }));
    expect(
      (await failure(s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'empty-ranged', Range: 'bytes=0-' })))).status,
    ).toBe(416);
  });

  it('round-trips user metadata and content headers; honours response overrides', async () => {
    const Expires = new Date('2030-01-02T03:04:05Z');
    await s3.send(
      new PutObjectCommand({
        Bucket: 'objects',
        Key: 'meta',
        Body: 'hello',
        ContentType: 'text/plain; charset=utf-8',
        ContentEncoding: 'identity',
        ContentDisposition: 'attachment; filename="a.txt"',
        ContentLanguage: 'fr',
        CacheControl: 'max-age=60',
        Expires,
        Metadata: { colour: 'blue', 'two-words': 'a b' },
        StorageClass: 'REDUCED_REDUNDANCY',
      }),
    );
    const h = await s3.send(new HeadObjectCommand({ Bucket: 'objects', Key: 'meta' }));
    expect(h.ContentType).toBe('text/plain; charset=utf-8');
    expect(h.ContentEncoding).toBe('identity');
    expect(h.ContentDisposition).toBe('attachment; filename="a.txt"');
    expect(h.ContentLanguage).toBe('fr');
    expect(h.CacheControl).toBe('max-age=60');
    expect(h.Expires?.getTime()).toBe(Expires.getTime());
    expect(h.Metadata).toEqual({ colour: 'blue', 'two-words': 'a b' });
    expect(h.StorageClass).toBe('REDUCED_REDUNDANCY');
    expect(h.LastModified).toBeInstanceOf(Date);

    const o = await s3.send(
      new GetObjectCommand({
        Bucket: 'objects',
        Key: 'meta',
        ResponseContentType: 'application/x-override',
        ResponseContentDisposition: 'inline; filename="é.txt"',
        ResponseCacheControl: 'no-store',
      }),
    );
    expect(o.ContentType).toBe('application/x-override');
    expect(o.CacheControl).toBe('no-store');
    expect(Buffer.from(o.ContentDisposition!, 'latin1').toString('utf8')).toBe('inline; filename="é.txt"');
    expect(await o.Body!.transformToString()).toBe('hello');

    expect(
      await failure(s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'glacier', Body: 'x', StorageClass: 'GLACIER' }))),
    ).toEqual({ name: 'InvalidStorageClass', status: 400 });
    expect((await failure(s3.send(new HeadObjectCommand({ Bucket: 'objects', Key: 'glacier' })))).status).toBe(404);
  });

  it('keeps hostile keys exactly', async () => {
    const keys = [
      'unicode/日本語/ключ/😀',
      'with space  and more',
      'plus+sign+',
      'literal%2Fpercent',
      'a//b',
      'dir/',
      '../x',
      './y/../../z',
      `xml&<>"'chars`,
      'k'.repeat(1024),
      '€'.repeat(341) + 'a', // 1024 bytes of UTF-8
    ];
    for (const [i, Key] of keys.entries()) {
      await s3.send(new PutObjectCommand({ Bucket: 'objects', Key, Body: `v${i}` }));
    }
    for (const [i, Key] of keys.entries()) {
      expect(await (await s3.send(new GetObjectCommand({ Bucket: 'objects', Key }))).Body!.transformToString()).toBe(`v${i}`);
    }
    // `a//b` and `a/b`, `dir/` and `dir` are different keys.
    expect((await failure(s3.send(new HeadObjectCommand({ Bucket: 'objects', Key: 'a/b' })))).status).toBe(404);
    expect((await failure(s3.send(new HeadObjectCommand({ Bucket: 'objects', Key: 'dir' })))).status).toBe(404);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'objects', EncodingType: 'url' }));
    const names = (listed.Contents ?? []).map((c) => decodeURIComponent(c.Key!.replace(/\+/g, ' ')));
    for (const k of keys) expect(names).toContain(k);

    expect(
      await failure(s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'k'.repeat(1025), Body: 'x' }))),
    ).toEqual({ name: 'KeyTooLongError', status: 400 });
  });

  it('deletes objects idempotently with 204', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'gone', Body: 'x' }));
    const d = await s3.send(new DeleteObjectCommand({ Bucket: 'objects', Key: 'gone' }));
    expect(d.$metadata.httpStatusCode).toBe(204);
    expect((await failure(s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'gone' })))).name).toBe('NoSuchKey');
    const again = await s3.send(new DeleteObjectCommand({ Bucket: 'objects', Key: 'gone' }));
    expect(again.$metadata.httpStatusCode).toBe(204);
  });
});

describe('listing', () => {
  const keys = ['a/1', 'a/2', 'a/b/3', 'b/4', 'c', 'd e/5', 'd+e/6', 'z\u0001ctl'];
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'listing' }));
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: 'listing', Key, Body: Key }));
  });

  it('lists v2 with prefix, delimiter and continuation tokens', async () => {
    const top = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Delimiter: '/', EncodingType: 'url' }));
    const dec = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    expect(top.CommonPrefixes?.map((p) => dec(p.Prefix!))).toEqual(['a/', 'b/', 'd e/', 'd+e/']);
    expect(top.Contents?.map((c) => dec(c.Key!))).toEqual(['c', 'z\u0001ctl']);
    expect(top.KeyCount).toBe(6);
    expect(top.EncodingType).toBe('url');

    const under = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'a/', Delimiter: '/' }));
    expect(under.Contents?.map((c) => c.Key)).toEqual(['a/1', 'a/2']);
    expect(under.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/b/']);
    expect(under.Contents?.[0]?.ETag).toBe(`"${md5(Buffer.from('a/1'))}"`);
    expect(under.Contents?.[0]?.Size).toBe(3);
    expect(under.Contents?.[0]?.Owner).toBeUndefined();

    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: 'listing', MaxKeys: 3, ContinuationToken: token, EncodingType: 'url', FetchOwner: true }),
      );
      pages++;
      seen.push(...(page.Contents ?? []).map((c) => dec(c.Key!)));
      expect(page.Contents?.[0]?.Owner?.DisplayName).toBe(server.accessKey);
      token = page.NextContinuationToken;
      expect(page.IsTruncated).toBe(token !== undefined);
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toEqual([...keys].sort());

    const after = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', StartAfter: 'b/4' }));
    expect(after.Contents?.map((c) => c.Key)).toEqual(['c', 'd e/5', 'd+e/6', 'z\u0001ctl']);
    expect(after.StartAfter).toBe('b/4');

    expect(await failure(s3.send(new ListObjectsV2Command({ Bucket: 'listing', ContinuationToken: 'bm9wZQ==' })))).toEqual({
      name: 'InvalidArgument',
      status: 400,
    });
  });

  it('lists v1 with markers; NextMarker only with a delimiter', async () => {
    const p1 = await s3.send(new ListObjectsCommand({ Bucket: 'listing', MaxKeys: 2 }));
    expect(p1.Contents?.map((c) => c.Key)).toEqual(['a/1', 'a/2']);
    expect(p1.IsTruncated).toBe(true);
    expect(p1.NextMarker).toBeUndefined();
    expect(p1.Contents?.[0]?.Owner?.DisplayName).toBe(server.accessKey);
    const p2 = await s3.send(new ListObjectsCommand({ Bucket: 'listing', MaxKeys: 2, Marker: 'a/2' }));
    expect(p2.Contents?.map((c) => c.Key)).toEqual(['a/b/3', 'b/4']);

    const d1 = await s3.send(new ListObjectsCommand({ Bucket: 'listing', Delimiter: '/', MaxKeys: 2 }));
    expect(d1.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/', 'b/']);
    expect(d1.NextMarker).toBe('b/');
    const d2 = await s3.send(new ListObjectsCommand({ Bucket: 'listing', Delimiter: '/', Marker: d1.NextMarker }));
    expect(d2.Contents?.map((c) => c.Key)).toEqual(['c', 'z\u0001ctl']);
    expect(d2.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['d e/', 'd+e/']);
    expect(d2.IsTruncated).toBe(false);
  });
});

describe('DeleteObjects', () => {
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'multi-delete' }));
  });

  for (const [label, c] of [
    ['SDK defaults', () => s3],
    ['checksums WHEN_REQUIRED', () => s3plain],
  ] as const) {
    it(`deletes verbosely and quietly (${label})`, async () => {
      const keys = ['one', 'two & <three>', 'dir/four', 'cr\rlf\nkey'];
      for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: 'multi-delete', Key, Body: 'x' }));
      const verbose = await c().send(
        new DeleteObjectsCommand({
          Bucket: 'multi-delete',
          Delete: { Objects: [...keys, 'never-existed'].map((Key) => ({ Key })) },
        }),
      );
      expect(verbose.Deleted?.map((d) => d.Key).sort()).toEqual([...keys, 'never-existed'].sort());
      expect(verbose.Errors ?? []).toEqual([]);
      const left = await s3.send(new ListObjectsV2Command({ Bucket: 'multi-delete' }));
      expect(left.KeyCount).toBe(0);

      for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: 'multi-delete', Key, Body: 'x' }));
      const quiet = await c().send(
        new DeleteObjectsCommand({
          Bucket: 'multi-delete',
          Delete: { Quiet: true, Objects: [...keys.map((Key) => ({ Key })), { Key: 'k'.repeat(1025) }] },
        }),
      );
      expect(quiet.Deleted ?? []).toEqual([]);
      expect(quiet.Errors?.map((e) => [e.Key?.length, e.Code])).toEqual([[1025, 'KeyTooLongError']]);
      expect((await s3.send(new ListObjectsV2Command({ Bucket: 'multi-delete' }))).KeyCount).toBe(0);
    });
  }
});

describe('presigned URLs', () => {
  it('PUT and GET through presigned URLs; a tampered one is refused', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'presigned' }));
    const putUrl = await getSignedUrl(s3plain, new PutObjectCommand({ Bucket: 'presigned', Key: 'p q+r' }), { expiresIn: 300 });
    const put = await fetch(putUrl, { method: 'PUT', body: 'via presign' });
    expect(put.status).toBe(200);
    const getUrl = await getSignedUrl(s3plain, new GetObjectCommand({ Bucket: 'presigned', Key: 'p q+r' }), { expiresIn: 300 });
    const get = await fetch(getUrl);
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('via presign');
    expect(get.headers.get('x-amz-request-id')).toMatch(/^[0-9A-F]{16}$/);

    const tampered = getUrl.replace('p%20q%2Br', 'other');
    const bad = await fetch(tampered);
    expect(bad.status).toBe(403);
    expect(await bad.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });
});

describe('virtual-host style', () => {
  it('addresses buckets as BUCKET.s3.cairn.test', async () => {
    // Every name resolves to loopback for this client only; the Host header carries the bucket.
    const lookup = (_h: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) =>
      opts.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4);
    const agent = new Agent({ lookup: lookup as never });
    const vh = client({
      endpoint: `http://s3.cairn.test:${server.port}`,
      forcePathStyle: false,
      requestHandler: new NodeHttpHandler({ httpAgent: agent }),
    });
    try {
      await vh.send(new CreateBucketCommand({ Bucket: 'vhost' }));
      await vh.send(new PutObjectCommand({ Bucket: 'vhost', Key: 'a//b/', Body: 'virtual' }));
      expect(await bodyOf(s3, 'vhost', 'a//b/').then((b) => b.toString())).toBe('virtual');
      expect(await bodyOf(vh, 'vhost', 'a//b/').then((b) => b.toString())).toBe('virtual');
      const l = await vh.send(new ListObjectsV2Command({ Bucket: 'vhost' }));
      expect(l.Contents?.map((c) => c.Key)).toEqual(['a//b/']);
    } finally {
      vh.destroy();
      agent.destroy();
    }
  });
});

describe('unsupported and unauthorised requests', () => {
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'guarded' }));
  });

  it('answers NotImplemented for sub-resources it does not implement', async () => {
    expect(await failure(s3.send(new GetBucketPolicyCommand({ Bucket: 'guarded' })))).toEqual({ name: 'NotImplemented', status: 501 });
    expect(
      await failure(
        s3.send(new PutBucketVersioningCommand({ Bucket: 'guarded', VersioningConfiguration: { Status: 'Enabled' } })),
      ),
    ).toEqual({ name: 'NotImplemented', status: 501 });
  });

  it('refuses writes asking for features it lacks instead of silently ignoring them', async () => {
    const asks: Array<[string, Partial<ConstructorParameters<typeof PutObjectCommand>[0]>]> = [
      ['sse', { ServerSideEncryption: 'AES256' }],
      ['acl', { ACL: 'public-read' }],
      ['tagging', { Tagging: 'a=b' }],
    ];
    for (const [Key, extra] of asks) {
      expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'guarded', Key, Body: 'x', ...extra }))), Key).toEqual({
        name: 'NotImplemented',
        status: 501,
      });
    }
    await s3.send(new PutObjectCommand({ Bucket: 'guarded', Key: 'private-acl', Body: 'x', ACL: 'private' }));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'guarded' }));
    expect(listed.Contents?.map((c) => c.Key)).toEqual(['private-acl']);
    await s3.send(new DeleteObjectCommand({ Bucket: 'guarded', Key: 'private-acl' }));
  });

  it('refuses wrong secrets, unknown keys and anonymous requests, storing nothing', async () => {
    const wrong = client({ credentials: { accessKeyId: server.accessKey, secretAccessKey: 'not-the-secret' } });
    const unknown = client({ credentials: { accessKeyId: 'nobody-here', secretAccessKey: 'whatever-secret' } });
    try {
      for (const [c, name] of [
        [wrong, 'SignatureDoesNotMatch'],
        [unknown, 'InvalidAccessKeyId'],
      ] as const) {
        expect(await failure(c.send(new PutObjectCommand({ Bucket: 'guarded', Key: `by-${name}`, Body: randomBytes(3 << 20) })))).toEqual({
          name,
          status: 403,
        });
        expect(
          await failure(c.send(new PutObjectCommand({ Bucket: 'guarded', Key: `stream-${name}`, Body: streamOf(randomBytes(1 << 20)), ContentLength: 1 << 20 }))),
        ).toEqual({ name, status: 403 });
      }
      const anon = await fetch(`${server.endpoint}/guarded/anon`, { method: 'PUT', body: 'x' });
      expect(anon.status).toBe(403);
      expect(await anon.text()).toContain('<Code>AccessDenied</Code>');
      expect(anon.headers.get('x-amz-request-id')).toBeTruthy();
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'guarded' }));
      expect(listed.KeyCount).toBe(0);
    } finally {
      wrong.destroy();
      unknown.destroy();
    }
  });
});

describe('server log', () => {
  it('recorded no internal error for anything above', () => {
    expect(server.output()).not.toMatch(/"level":(50|60)/);
  });
});
