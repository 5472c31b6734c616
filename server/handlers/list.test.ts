import { describe, expect, it } from 'vitest';
import { decodeToken, encodeToken, s3UrlEncode } from './list.js';

describe('listing helpers', () => {
  it('continuation tokens round-trip any key and carry no + / =', () => {
    for (const key of ['a', 'dir/', 'ключ/😀', 'x'.repeat(1024), '?>>?']) {
      const t = encodeToken(key);
      expect(t).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeToken(t)).toBe(key);
    }
  });

  it('rejects tokens it did not issue', () => {
    for (const t of ['bm9wZQ==', '%%%', Buffer.from('c2:x').toString('base64url')]) {
      expect(() => decodeToken(t)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    }
  });

  it('url-encodes like AWS: slashes kept, space as %20, plus escaped', () => {
    expect(s3UrlEncode('a b+c/d&é*')).toBe('a%20b%2Bc/d%26%C3%A9%2A');
    expect(s3UrlEncode('\u0001')).toBe('%01');
  });
});
