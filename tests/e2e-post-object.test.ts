import { createHash, createHmac, randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from './helpers/server.js';

/**
 * Browser form uploads (POST Object) against a real server: forms built and
 * signed by hand as AWS's docs describe (SigV4 over the base64 policy), and
 * by the AWS SDK's own createPresignedPost as an independent client.
 */

let server: RunningServer;
let s3: S3Client;
const BUCKET = 'posts';

beforeAll(async () => {
  server = await startServer({ drives: 4 });
  s3 = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    maxAttempts: 1,
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterAll(async () => {
  s3?.destroy();
  await server?.stop();
});

type Field = [string, string];
interface FilePart {
  data: Buffer;
  filename?: string;
}

/** multipart/form-data by hand: fields, the file part, then fields after it. */
function form(fields: Field[], file?: FilePart, after: Field[] = []): { body: Buffer; type: string } {
  const boundary = `----cairn${randomBytes(8).toString('hex')}`;
  const parts: Buffer[] = [];
  const field = ([n, v]: Field) =>
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${n}"\r\n\r\n${v}\r\n`));
  fields.forEach(field);
  if (file) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.filename ?? 'blob'}"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      ),
      file.data,
      Buffer.from('\r\n'),
    );
  }
  after.forEach(field);
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}

const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** SigV4 POST fields for a policy (AWS: "Calculating a signature" for browser-based uploads). */
function signed(conditions: unknown[], opts: { expiresIn?: number; secret?: string; accessKey?: string; policyDoc?: unknown } = {}): Field[] {
  const now = new Date();
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const credential = `${opts.accessKey ?? server.accessKey}/${day}/${server.region}/s3/aws4_request`;
  const expiration = new Date(now.getTime() + (opts.expiresIn ?? 600) * 1000).toISOString();
  const doc = opts.policyDoc ?? {
    expiration,
    conditions: [
      ...conditions,
      { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' },
      { 'x-amz-credential': credential },
      { 'x-amz-date': amzDate },
    ],
  };
  const policy = Buffer.from(JSON.stringify(doc)).toString('base64');
  const key = hmac(hmac(hmac(hmac(`AWS4${opts.secret ?? server.secretKey}`, day), server.region), 's3'), 'aws4_request');
  return [
    ['policy', policy],
    ['x-amz-algorithm', 'AWS4-HMAC-SHA256'],
    ['x-amz-credential', credential],
    ['x-amz-date', amzDate],
    ['x-amz-signature', hmac(key, policy).toString('hex')],
  ];
}

async function post(f: { body: Buffer; type: string }, bucket = BUCKET): Promise<Response> {
  return fetch(`${server.endpoint}/${bucket}`, { method: 'POST', body: f.body, headers: { 'content-type': f.type }, redirect: 'manual' });
}

async function body(key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

async function exists(key: string): Promise<boolean> {
  const r = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key }));
  return (r.Contents ?? []).some((o) => o.Key === key);
}

async function errorOf(r: Response): Promise<{ status: number; code: string; message: string }> {
  const text = await r.text();
  return { status: r.status, code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? '', message: /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? '' };
}

const BASE = (key: string): unknown[] => [{ bucket: BUCKET }, ['starts-with', '$key', key], ['content-length-range', 0, 1024 * 1024]];

describe('POST Object: success', () => {
  it('stores the file with Content-Type and metadata; default 204 with ETag', async () => {
    const conditions = [...BASE('ok/'), ['starts-with', '$Content-Type', 'text/'], ['eq', '$x-amz-meta-color', 'blue']];
    const r = await post(
      form(
        [['key', 'ok/a.txt'], ['Content-Type', 'text/plain'], ['x-amz-meta-color', 'blue'], ...signed(conditions), ['x-ignore-me', 'whatever']],
        { data: Buffer.from('hello post') },
        [['x-amz-meta-after', 'ignored']],
      ),
    );
    expect(r.status).toBe(204);
    expect(r.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
    expect((await body('ok/a.txt')).toString()).toBe('hello post');
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'ok/a.txt' }));
    expect(head.ContentType).toBe('text/plain');
    expect(head.Metadata).toEqual({ color: 'blue' });
  });

  it('201 returns the PostResponse document; ${filename} is substituted', async () => {
    const conditions = [...BASE('up/'), ['eq', '$success_action_status', '201']];
    const r = await post(form([['key', 'up/${filename}'], ['success_action_status', '201'], ...signed(conditions)], { data: Buffer.from('x'), filename: 'pic.png' }));
    expect(r.status).toBe(201);
    const xml = await r.text();
    expect(xml).toContain('<Key>up/pic.png</Key>');
    expect(xml).toContain(`<Bucket>${BUCKET}</Bucket>`);
    expect(xml).toMatch(/<ETag>(&quot;|")[0-9a-f]{32}(&quot;|")<\/ETag>/);
    expect((await body('up/pic.png')).toString()).toBe('x');
  });

  it('success_action_redirect answers 303 with bucket, key and etag', async () => {
    const conditions = [...BASE('redir'), ['starts-with', '$success_action_redirect', 'https://example.com/']];
    const r = await post(form([['key', 'redir'], ['success_action_redirect', 'https://example.com/done'], ...signed(conditions)], { data: Buffer.from('r') }));
    expect(r.status).toBe(303);
    const loc = new URL(r.headers.get('location')!);
    expect(loc.origin + loc.pathname).toBe('https://example.com/done');
    expect(loc.searchParams.get('bucket')).toBe(BUCKET);
    expect(loc.searchParams.get('key')).toBe('redir');
    expect(loc.searchParams.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
  });

  it('streams a multi-MiB file', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const conditions = [{ bucket: BUCKET }, ['eq', '$key', 'big'], ['content-length-range', 1, 8 * 1024 * 1024]];
    const r = await post(form([['key', 'big'], ...signed(conditions)], { data }));
    expect(r.status).toBe(204);
    expect((await body('big')).equals(data)).toBe(true);
  });

  it('accepts the older SigV2 form (AWSAccessKeyId + base64 HMAC-SHA1 signature)', async () => {
    const policy = Buffer.from(
      JSON.stringify({ expiration: new Date(Date.now() + 600_000).toISOString(), conditions: [{ bucket: BUCKET }, { key: 'v2' }] }),
    ).toString('base64');
    const signature = createHmac('sha1', server.secretKey).update(policy).digest('base64');
    const r = await post(form([['key', 'v2'], ['AWSAccessKeyId', server.accessKey], ['policy', policy], ['signature', signature]], { data: Buffer.from('two') }));
    expect(r.status).toBe(204);
    expect((await body('v2')).toString()).toBe('two');
  });

  it('checks an x-amz-checksum-sha256 field against the file', async () => {
    const data = Buffer.from('checked');
    const good = createHash('sha256').update(data).digest('base64');
    const ok = await post(form([['key', 'sum'], ['x-amz-checksum-sha256', good], ...signed(BASE('sum'))], { data }));
    expect(ok.status).toBe(204);
    const bad = await post(form([['key', 'sum-bad'], ['x-amz-checksum-sha256', createHash('sha256').update('other').digest('base64')], ...signed(BASE('sum-bad'))], { data }));
    expect(bad.status).toBe(400);
    expect(await exists('sum-bad')).toBe(false);
  });

  it('accepts a form from the AWS SDK createPresignedPost', async () => {
    const { url, fields } = await createPresignedPost(s3, {
      Bucket: BUCKET,
      Key: 'sdk/${filename}',
      Conditions: [['content-length-range', 0, 100], ['starts-with', '$key', 'sdk/']],
      Fields: { 'Content-Type': 'text/csv' },
      Expires: 300,
    });
    const fd = new FormData();
    for (const [k, v] of Object.entries(fields)) fd.append(k, v);
    fd.append('file', new Blob(['a,b\n1,2\n']), 'data.csv');
    const r = await fetch(url, { method: 'POST', body: fd, redirect: 'manual' });
    expect(r.status).toBe(204);
    expect((await body('sdk/data.csv')).toString()).toBe('a,b\n1,2\n');
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'sdk/data.csv' }));
    expect(head.ContentType).toBe('text/csv');
  });
});

describe('POST Object: refusals store nothing', () => {
  const cases: { name: string; key: string; make: (key: string) => { body: Buffer; type: string }; status: number; code: string; message?: RegExp }[] = [
    {
      name: 'no policy (anonymous)',
      key: 'no-policy',
      make: (key) => form([['key', key]], { data: Buffer.from('x') }),
      status: 403,
      code: 'AccessDenied',
    },
    {
      name: 'expired policy',
      key: 'expired',
      make: (key) => form([['key', key], ...signed(BASE(key), { expiresIn: -60 })], { data: Buffer.from('x') }),
      status: 403,
      code: 'AccessDenied',
      message: /Policy expired/,
    },
    {
      name: 'wrong secret',
      key: 'badsig',
      make: (key) => form([['key', key], ...signed(BASE(key), { secret: 'not-the-secret' })], { data: Buffer.from('x') }),
      status: 403,
      code: 'SignatureDoesNotMatch',
    },
    {
      name: 'unknown access key',
      key: 'badkey',
      make: (key) => form([['key', key], ...signed(BASE(key), { accessKey: 'NOBODY' })], { data: Buffer.from('x') }),
      status: 403,
      code: 'InvalidAccessKeyId',
    },
    {
      name: 'condition failed',
      key: 'cond',
      make: (key) => form([['key', key], ...signed([{ bucket: BUCKET }, ['eq', '$key', 'other']])], { data: Buffer.from('x') }),
      status: 403,
      code: 'AccessDenied',
      message: /Policy Condition failed/,
    },
    {
      name: 'field not covered by a condition',
      key: 'extra',
      make: (key) => form([['key', key], ['x-amz-meta-sneaky', '1'], ...signed(BASE(key))], { data: Buffer.from('x') }),
      status: 403,
      code: 'AccessDenied',
      message: /Extra input fields: x-amz-meta-sneaky/,
    },
    {
      name: 'bucket not in the policy',
      key: 'nobucket',
      make: (key) => form([['key', key], ...signed([['eq', '$key', key]])], { data: Buffer.from('x') }),
      status: 403,
      code: 'AccessDenied',
    },
    {
      name: 'file over content-length-range',
      key: 'toolarge',
      make: (key) => form([['key', key], ...signed([{ bucket: BUCKET }, ['eq', '$key', key], ['content-length-range', 0, 10]])], { data: Buffer.alloc(11) }),
      status: 400,
      code: 'EntityTooLarge',
    },
    {
      name: 'file under content-length-range',
      key: 'toosmall',
      make: (key) => form([['key', key], ...signed([{ bucket: BUCKET }, ['eq', '$key', key], ['content-length-range', 5, 10]])], { data: Buffer.alloc(4) }),
      status: 400,
      code: 'EntityTooSmall',
    },
    {
      name: 'no file part',
      key: 'nofile',
      make: (key) => form([['key', key], ...signed(BASE(key))]),
      status: 400,
      code: 'InvalidArgument',
    },
    {
      name: 'no key field',
      key: 'nokey',
      make: () => form(signed([{ bucket: BUCKET }]), { data: Buffer.from('x') }),
      status: 400,
      code: 'InvalidArgument',
    },
    {
      name: 'policy without expiration',
      key: 'noexp',
      make: (key) => form([['key', key], ...signed([], { policyDoc: { conditions: [{ bucket: BUCKET }] } })], { data: Buffer.from('x') }),
      status: 400,
      code: 'InvalidPolicyDocument',
    },
    {
      name: 'no signature',
      key: 'nosig',
      make: (key) => form([['key', key], ...signed(BASE(key)).filter(([n]) => n !== 'x-amz-signature')], { data: Buffer.from('x') }),
      status: 400,
      code: 'InvalidArgument',
    },
  ];
  for (const c of cases) {
    it(`${c.name} → ${c.status} ${c.code}`, async () => {
      const e = await errorOf(await post(c.make(c.key)));
      expect(e.status).toBe(c.status);
      expect(e.code).toBe(c.code);
      if (c.message) expect(e.message).toMatch(c.message);
      expect(await exists(c.key)).toBe(false);
    });
  }

  it('an acl field asking for public access is refused (ACLs are not built), not silently dropped', async () => {
    const conditions = [...BASE('acl/'), { acl: 'public-read' }];
    const e = await errorOf(await post(form([['key', 'acl/x'], ['acl', 'public-read'], ...signed(conditions)], { data: Buffer.from('x') })));
    expect(e.status).toBe(501);
    expect(e.code).toBe('NotImplemented');
    expect(await exists('acl/x')).toBe(false);
  });

  it('a policy for another bucket does not open this one', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'posts-other' }));
    const e = await errorOf(await post(form([['key', 'wrongb'], ...signed(BASE('wrongb'))], { data: Buffer.from('x') }), 'posts-other'));
    expect(e.status).toBe(403);
    const r = await s3.send(new ListObjectsV2Command({ Bucket: 'posts-other' }));
    expect(r.KeyCount).toBe(0);
  });

  it('a non-multipart POST to a bucket is refused', async () => {
    const r = await fetch(`${server.endpoint}/${BUCKET}`, { method: 'POST', body: 'key=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect((await errorOf(r)).status).toBe(412);
  });
});
