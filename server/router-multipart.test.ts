import { describe, expect, it } from 'vitest';
import { routeRequest } from './router.js';

const route = (method: string, url: string, headers: Record<string, string> = {}) => routeRequest(method, url, '127.0.0.1', [], headers).op;
const id = '0b0e3c1c-1f5e-4d7a-9c4e-3a2b1c0d9e8f';

describe('routing of multipart, copy and attribute operations', () => {
  it('maps each multipart call', () => {
    expect(route('POST', '/b/k?uploads')).toEqual({ op: 'CreateMultipartUpload', bucket: 'b', key: 'k' });
    expect(route('PUT', `/b/k?partNumber=3&uploadId=${id}`)).toEqual({ op: 'UploadPart', bucket: 'b', key: 'k', uploadId: id });
    expect(route('PUT', `/b/k?partNumber=3&uploadId=${id}`, { 'x-amz-copy-source': 'a/b' })).toEqual({
      op: 'UploadPartCopy',
      bucket: 'b',
      key: 'k',
      uploadId: id,
    });
    expect(route('POST', `/b/k?uploadId=${id}`)).toEqual({ op: 'CompleteMultipartUpload', bucket: 'b', key: 'k', uploadId: id });
    expect(route('DELETE', `/b/k?uploadId=${id}`)).toEqual({ op: 'AbortMultipartUpload', bucket: 'b', key: 'k', uploadId: id });
    expect(route('GET', `/b/k?uploadId=${id}&max-parts=2&part-number-marker=1`)).toEqual({ op: 'ListParts', bucket: 'b', key: 'k', uploadId: id });
    expect(route('GET', '/b?uploads&prefix=a&delimiter=/&key-marker=x&upload-id-marker=y&max-uploads=3&encoding-type=url')).toEqual({
      op: 'ListMultipartUploads',
      bucket: 'b',
    });
  });

  it('maps copies, attributes and part reads', () => {
    expect(route('PUT', '/b/k', { 'x-amz-copy-source': 'a/b' })).toEqual({ op: 'CopyObject', bucket: 'b', key: 'k' });
    expect(route('GET', '/b/k?attributes')).toEqual({ op: 'GetObjectAttributes', bucket: 'b', key: 'k' });
    expect(route('GET', '/b/k?partNumber=2')).toEqual({ op: 'GetObject', bucket: 'b', key: 'k' });
    expect(route('HEAD', '/b/k?partNumber=2')).toEqual({ op: 'HeadObject', bucket: 'b', key: 'k' });
  });

  it('keeps unknown combinations unimplemented', () => {
    expect(route('PUT', '/b/k?partNumber=1').op).toBe('NotImplemented');
    expect(route('POST', '/b/k?uploads&tagging').op).toBe('NotImplemented');
    expect(route('GET', `/b/k?uploadId=${id}&acl`).op).toBe('NotImplemented');
    expect(route('DELETE', '/b/k?partNumber=1').op).toBe('NotImplemented');
  });
});
