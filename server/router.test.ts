import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { bucketFromHost, parseQuery, routeOf, routeRequest } from './router.js';

const route = (method: string, url: string, host = '127.0.0.1:9000', domains: string[] = [], headers: Record<string, string> = {}) =>
  routeRequest(method, url, host, domains, headers);

describe('routeRequest', () => {
  it('routes one request once and answers the same routing or error again (routeOf)', () => {
    const req = (method: string, url: string, headers: Record<string, string>) => ({ method, url, headers }) as unknown as IncomingMessage;
    const get = req('GET', '/b/k', { host: 'h' });
    const first = routeOf(get, []);
    expect(first.op).toEqual({ op: 'GetObject', bucket: 'b', key: 'k' });
    expect(routeOf(get, [])).toBe(first);
    const copy = req('PUT', '/b/k', { host: 'h', 'x-amz-copy-source': '/src/k' });
    expect(routeOf(copy, []).op).toEqual({ op: 'CopyObject', bucket: 'b', key: 'k' });
    const bad = req('GET', '/b/%ZZ', { host: 'h' });
    let thrown: unknown;
    try {
      routeOf(bad, []);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: 'InvalidURI' });
    // The same error object, not a second routing.
    let again: unknown;
    try {
      routeOf(bad, []);
    } catch (err) {
      again = err;
    }
    expect(again).toBe(thrown);
  });

  it('maps path-style requests to operations', () => {
    expect(route('GET', '/').op).toEqual({ op: 'ListBuckets' });
    expect(route('PUT', '/b').op).toEqual({ op: 'CreateBucket', bucket: 'b' });
    expect(route('PUT', '/b/').op).toEqual({ op: 'CreateBucket', bucket: 'b' });
    expect(route('GET', '/b?list-type=2&prefix=a').op).toEqual({ op: 'ListObjectsV2', bucket: 'b' });
    expect(route('GET', '/b?location').op).toEqual({ op: 'GetBucketLocation', bucket: 'b' });
    expect(route('POST', '/b?delete').op).toEqual({ op: 'DeleteObjects', bucket: 'b' });
    expect(route('GET', '/b/k?x-id=GetObject').op).toEqual({ op: 'GetObject', bucket: 'b', key: 'k' });
  });

  it('keeps keys exactly: double and trailing slashes, %2F, plus, unicode', () => {
    expect(route('PUT', '/b/a//b').op).toMatchObject({ key: 'a//b' });
    expect(route('PUT', '/b/dir/').op).toMatchObject({ key: 'dir/' });
    expect(route('PUT', '/b/a%2Fb').op).toMatchObject({ key: 'a/b' });
    expect(route('PUT', '/b/a+b').op).toMatchObject({ key: 'a+b' });
    expect(route('PUT', '/b/a%20b').op).toMatchObject({ key: 'a b' });
    expect(route('PUT', '/b/%C3%A9t%C3%A9').op).toMatchObject({ key: 'été' });
    expect(route('PUT', '/b/../x').op).toMatchObject({ key: '../x' });
  });

  it('answers unknown sub-resources with NotImplemented, never another operation', () => {
    for (const q of ['policy', 'tagging', 'lifecycle', 'cors', 'website']) {
      expect(route('GET', `/b?${q}`).op.op).toBe('NotImplemented');
      expect(route('PUT', `/b/k?${q}`).op.op).toBe('NotImplemented');
    }
    expect(route('PUT', '/b/k?uploads').op.op).toBe('NotImplemented');
    expect(route('GET', '/b/k?versionId=abc').op.op).toBe('NotImplemented');
    expect(route('GET', '/b/k?versionId=null').op.op).toBe('GetObject');
    expect(route('POST', '/b/k').op.op).toBe('NotImplemented');
    expect(route('GET', '/b?list-type=3').op.op).toBe('NotImplemented');
  });

  it('rejects broken percent-encoding', () => {
    expect(() => route('GET', '/b/%ZZ')).toThrow(expect.objectContaining({ code: 'InvalidURI' }));
    expect(() => route('GET', '/b/%C3')).toThrow(expect.objectContaining({ code: 'InvalidURI' }));
  });

  it('takes the bucket from the Host header under a configured domain', () => {
    const r = route('GET', '/some//key', 'photos.s3.example.com:9000', ['s3.example.com']);
    expect(r.op).toEqual({ op: 'GetObject', bucket: 'photos', key: 'some//key' });
    expect(r.virtualHost).toBe(true);
    expect(route('GET', '/', 's3.example.com', ['s3.example.com']).op).toEqual({ op: 'ListBuckets' });
    expect(route('GET', '/?list-type=2', 'b.s3.example.com', ['s3.example.com']).op).toEqual({ op: 'ListObjectsV2', bucket: 'b' });
    expect(bucketFromHost('other.com', ['s3.example.com'])).toBeUndefined();
  });
});

describe('routeRequest: versions and ACLs', () => {
  it('routes the read side of versioning and ACLs, and PutBucketVersioning stays NotImplemented', () => {
    expect(route('GET', '/b?versions&key-marker=k&version-id-marker=null&max-keys=2').op).toEqual({ op: 'ListObjectVersions', bucket: 'b' });
    expect(route('GET', '/b?versioning').op).toEqual({ op: 'GetBucketVersioning', bucket: 'b' });
    expect(route('GET', '/b?acl').op).toEqual({ op: 'GetBucketAcl', bucket: 'b' });
    expect(route('PUT', '/b?acl').op).toEqual({ op: 'PutBucketAcl', bucket: 'b' });
    expect(route('GET', '/b/k?acl').op).toEqual({ op: 'GetObjectAcl', bucket: 'b', key: 'k' });
    expect(route('PUT', '/b/k?acl').op).toEqual({ op: 'PutObjectAcl', bucket: 'b', key: 'k' });
    expect(route('PUT', '/b?versioning').op.op).toBe('NotImplemented');
    expect(route('GET', '/b?versions&version-id=x').op.op).toBe('NotImplemented');
  });
});

describe('parseQuery', () => {
  it('decodes + as space and keeps valueless parameters', () => {
    const q = parseQuery('prefix=a+b%2Bc&delete&x=1&x=2');
    expect(q.get('prefix')).toBe('a b+c');
    expect(q.get('delete')).toBe('');
    expect(q.get('x')).toBe('1');
  });
});
