import { describe, expect, it } from 'vitest';
import { parseCopySource, parseCopySourceRange } from './copy.js';

describe('parseCopySource', () => {
  it('decodes once, keeps +, splits versionId before decoding', () => {
    expect(parseCopySource('/b/dir/a%20b+c%3Fd')).toEqual({ bucket: 'b', key: 'dir/a b+c?d' });
    expect(parseCopySource('b/k%25?versionId=null')).toEqual({ bucket: 'b', key: 'k%', versionId: 'null' });
    expect(parseCopySource('b/a//b/')).toEqual({ bucket: 'b', key: 'a//b/' });
  });
  it('refuses what names no key', () => {
    for (const bad of [undefined, 'bucket', '/bucket/', '/', '%zz/k']) expect(() => parseCopySource(bad)).toThrow();
  });
});

describe('parseCopySourceRange', () => {
  it('accepts only bytes=first-last', () => {
    expect(parseCopySourceRange('bytes=0-9')).toEqual({ start: 0, end: 9 });
    expect(parseCopySourceRange(undefined)).toBeUndefined();
    for (const bad of ['bytes=5-', 'bytes=-5', 'bytes=9-0', 'items=0-1']) expect(() => parseCopySourceRange(bad)).toThrow();
  });
});
