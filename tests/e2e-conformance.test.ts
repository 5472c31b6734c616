import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import {
  CreateBucketCommand,
  GetBucketAclCommand,
  GetBucketVersioningCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectVersionsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutBucketAclCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, rawRequest, signHeaders } from './helpers/raw-s3.js';
import { failure, sdkClient } from './helpers/sdk.js';
import { startServer, type RunningServer } from './helpers/server.js';

/**
 * Behaviours ceph/s3-tests pins (docs/compatibility.md), each checked here with
 * our own clients: unversioned ListObjectVersions, canned-ACL errors, non-ASCII
 * metadata, url encoding, re-creating a bucket, overlapping PUTs, empty
 * Content-Type / Expect, Content-Encoding kept as sent.
 */

let server: RunningServer;
let s3: S3Client;
const B = 'conformance';

beforeAll(async () => {
  server = await startServer({ drives: 4 });
  s3 = sdkClient(server);
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  for (const Key of ['a/1', 'a/2', 'b', 'c d', 'q+x']) await s3.send(new PutObjectCommand({ Bucket: B, Key, Body: Key }));
});

afterAll(async () => {
  s3?.destroy();
  await server?.stop();
});

async function signedRaw(method: string, path: string, query: Record<string, string>, headers: Record<string, string> = {}, body?: Buffer) {
  const signed = await signHeaders(server, { method, path, query, headers });
  const qs = Object.entries(query)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return rawRequest(server, { method, url: qs ? `${path}?${qs}` : path, headers: signed, ...(body ? { body } : {}) });
}

describe('ListObjectVersions and GetBucketVersioning (never-versioned bucket)', () => {
  it('lists every object as its one null version, with prefix and delimiter', async () => {
    const all = await s3.send(new ListObjectVersionsCommand({ Bucket: B }));
    expect(all.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest])).toEqual([
      ['a/1', 'null', true],
      ['a/2', 'null', true],
      ['b', 'null', true],
      ['c d', 'null', true],
      ['q+x', 'null', true],
    ]);
    expect(all.DeleteMarkers).toBeUndefined();
    expect(all.Versions?.[0]?.ETag).toBe(`"${createHash('md5').update('a/1').digest('hex')}"`);
    const top = await s3.send(new ListObjectVersionsCommand({ Bucket: B, Delimiter: '/' }));
    expect(top.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/']);
    expect(top.Versions?.map((v) => v.Key)).toEqual(['b', 'c d', 'q+x']);
    const under = await s3.send(new ListObjectVersionsCommand({ Bucket: B, Prefix: 'a/' }));
    expect(under.Versions?.map((v) => v.Key)).toEqual(['a/1', 'a/2']);
  });

  it('pages with key-marker / version-id-marker and url-encodes keys on request', async () => {
    const seen: string[] = [];
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await s3.send(new ListObjectVersionsCommand({ Bucket: B, MaxKeys: 2, KeyMarker, VersionIdMarker }));
      seen.push(...(page.Versions ?? []).map((v) => v.Key!));
      if (!page.IsTruncated) break;
      expect(page.NextVersionIdMarker).toBe('null');
      KeyMarker = page.NextKeyMarker;
      VersionIdMarker = page.NextVersionIdMarker;
    }
    expect(seen).toEqual(['a/1', 'a/2', 'b', 'c d', 'q+x']);
    const enc = await s3.send(new ListObjectVersionsCommand({ Bucket: B, Prefix: 'c', EncodingType: 'url' }));
    expect(enc.Versions?.map((v) => v.Key)).toEqual(['c%20d']);
  });

  it('refuses a version-id-marker without key-marker, or naming a version that cannot exist', async () => {
    const lone = await signedRaw('GET', `/${B}`, { versions: '', 'version-id-marker': 'null' });
    expect([lone.status, errorCode(lone.body)]).toEqual([400, 'InvalidArgument']);
    const bogus = await signedRaw('GET', `/${B}`, { versions: '', 'key-marker': 'b', 'version-id-marker': 'abc' });
    expect([bogus.status, errorCode(bogus.body)]).toEqual([400, 'InvalidArgument']);
  });

  it('reports versioning as never enabled', async () => {
    const v = await s3.send(new GetBucketVersioningCommand({ Bucket: B }));
    expect(v.$metadata.httpStatusCode).toBe(200);
    expect(v.Status).toBeUndefined();
    expect((await failure(s3.send(new GetBucketVersioningCommand({ Bucket: 'no-such-bucket-here' })))).name).toBe('NoSuchBucket');
  });
});

describe('ACLs (not built): owner-only is true, anything more is refused', () => {
  it('shows the owner FULL_CONTROL grant for buckets and objects', async () => {
    const acl = await s3.send(new GetBucketAclCommand({ Bucket: B }));
    expect(acl.Grants).toEqual([
      { Grantee: { Type: 'CanonicalUser', ID: acl.Owner?.ID, DisplayName: server.accessKey }, Permission: 'FULL_CONTROL' },
    ]);
    expect(acl.Owner?.ID).toMatch(/^[0-9a-f]{64}$/);
    const obj = await s3.send(new GetObjectAclCommand({ Bucket: B, Key: 'b' }));
    expect(obj.Grants?.[0]?.Permission).toBe('FULL_CONTROL');
    expect((await failure(s3.send(new GetObjectAclCommand({ Bucket: B, Key: 'missing' })))).status).toBe(404);
  });

  it('accepts private, answers 501 for real canned ACLs and 400 for unknown ones', async () => {
    await s3.send(new PutBucketAclCommand({ Bucket: B, ACL: 'private' }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'acl-private', Body: 'x', ACL: 'private' }));
    expect((await failure(s3.send(new PutBucketAclCommand({ Bucket: B, ACL: 'public-read' })))).status).toBe(501);
    expect((await failure(s3.send(new PutObjectCommand({ Bucket: B, Key: 'acl-public', Body: 'x', ACL: 'public-read' })))).status).toBe(501);
    expect((await failure(s3.send(new CreateBucketCommand({ Bucket: 'acl-public-bucket', ACL: 'public-read-write' })))).status).toBe(501);
    const bad = await signedRaw('PUT', `/${B}`, { acl: '' }, { 'x-amz-acl': 'public-ready' });
    expect([bad.status, errorCode(bad.body)]).toEqual([400, 'InvalidArgument']);
    const badPut = await signedRaw('PUT', `/${B}/acl-bad`, {}, { 'x-amz-acl': 'nonsense' }, Buffer.from('x'));
    expect([badPut.status, errorCode(badPut.body)]).toEqual([400, 'InvalidArgument']);
    expect((await failure(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'acl-public' })))).status).toBe(404);
  });
});

describe('headers', () => {
  it('verifies and returns non-ASCII metadata sent as latin1 (Node) or UTF-8 bytes (botocore)', async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'meta-node', Body: 'x', Metadata: { meta1: 'Hello World\u00e9' } }));
    const got = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'meta-node' }));
    expect(got.Metadata?.meta1).toBe('Hello World\u00e9');
    // botocore signs the text and sends its UTF-8 bytes: emulate with the reference signer.
    const signed = await signHeaders(server, { method: 'PUT', path: `/${B}/meta-py`, headers: { 'x-amz-meta-meta1': 'Hello World\u00e9' } });
    signed['x-amz-meta-meta1'] = Buffer.from('Hello World\u00e9', 'utf8').toString('latin1');
    const put = await rawRequest(server, { method: 'PUT', url: `/${B}/meta-py`, headers: signed, body: Buffer.from('x') });
    expect(put.status).toBe(200);
    expect((await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'meta-py' }))).Metadata?.meta1).toBe('Hello World\u00e9');
  });

  it('accepts an empty Content-Type and an empty Expect', async () => {
    const ct = await signedRaw('PUT', `/${B}/empty-ct`, {}, { 'content-type': '' }, Buffer.from('bar'));
    expect(ct.status).toBe(200);
    const ex = await signedRaw('PUT', `/${B}/empty-expect`, {}, { expect: '' }, Buffer.from('bar'));
    expect(ex.status).toBe(200);
    const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'empty-ct' }));
    expect(await got.Body!.transformToString()).toBe('bar');
  });

  it('keeps Content-Encoding as sent', async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'enc', Body: 'x', ContentEncoding: 'deflate, gzip' }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'enc' }))).ContentEncoding).toBe('deflate, gzip');
  });

  it('answers InvalidURI for a path that is not UTF-8', async () => {
    const r = await signedRaw('GET', `/${B}/%AE%8A-`, {});
    expect([r.status, errorCode(r.body)]).toEqual([400, 'InvalidURI']);
  });
});

describe('listing details', () => {
  it('encodes a space as %20, and echoes the v1 Prefix as sent', async () => {
    const v2 = await s3.send(new ListObjectsV2Command({ Bucket: B, Delimiter: '/', EncodingType: 'url', Prefix: 'c ' }));
    expect(v2.Contents?.map((c) => c.Key)).toEqual(['c%20d']);
    expect(v2.Prefix).toBe('c%20');
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: B, EncodingType: 'url', Prefix: 'q+' }));
    expect(v1.Contents?.map((c) => c.Key)).toEqual(['q%2Bx']);
    expect(v1.Prefix).toBe('q+');
  });

  it('treats an empty continuation-token as absent', async () => {
    const r = await signedRaw('GET', `/${B}`, { 'list-type': '2', 'continuation-token': '' });
    expect(r.status).toBe(200);
    expect(r.body).toContain('<Key>a/1</Key>');
    expect(r.body).toContain('<ContinuationToken></ContinuationToken>');
  });
});

describe('buckets and overlapping writes', () => {
  it('re-creating your own bucket in us-east-1 succeeds and keeps its objects', async () => {
    const again = await s3.send(new CreateBucketCommand({ Bucket: B }));
    expect(again.$metadata.httpStatusCode).toBe(200);
    expect((await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'b' }))).ContentLength).toBe(1);
  });

  it('pages ListBuckets with max-buckets and a continuation token', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: `${B}-2` }));
    const first = await s3.send(new ListBucketsCommand({ MaxBuckets: 1 }));
    expect(first.Buckets?.map((b) => b.Name)).toEqual([B]);
    expect(first.ContinuationToken).toBeDefined();
    const second = await s3.send(new ListBucketsCommand({ MaxBuckets: 1, ContinuationToken: first.ContinuationToken }));
    expect(second.Buckets?.map((b) => b.Name)).toEqual([`${B}-2`]);
    expect(second.ContinuationToken).toBeUndefined();
  });

  it('of two overlapping PUTs the one that completes last wins', async () => {
    const size = 256 * 1024;
    const slow = new PassThrough();
    const first = s3.send(new PutObjectCommand({ Bucket: B, Key: 'dual', Body: slow, ContentLength: size }));
    slow.write(Buffer.alloc(size / 2, 'B'));
    // The later-started write runs to completion while the first is mid-body.
    await new Promise((r) => setTimeout(r, 200));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'dual', Body: Buffer.alloc(size, 'A') }));
    slow.end(Buffer.alloc(size / 2, 'B'));
    await first;
    const body = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: B, Key: 'dual' }))).Body!.transformToByteArray());
    expect(body.equals(Buffer.alloc(size, 'B'))).toBe(true);
  });

  it('a wrong checksum of the right shape is BadDigest, a malformed one InvalidRequest', async () => {
    const wrong = createHash('sha256').update('other').digest('base64');
    const e1 = await failure(s3.send(new PutObjectCommand({ Bucket: B, Key: 'ck', Body: 'data', ChecksumSHA256: wrong })));
    expect(e1.name).toBe('BadDigest');
    const e2 = await signedRaw('PUT', `/${B}/ck`, {}, { 'x-amz-checksum-sha256': 'bad' }, Buffer.from('data'));
    expect([e2.status, errorCode(e2.body)]).toEqual([400, 'InvalidRequest']);
  });
});
