import { describe, expect, it } from 'vitest';
import type { ObjectInfo } from '../../storage/object-layer.js';
import { isoDate, xmlDocument, xmlElement, XmlWriter, type XmlChild } from '../xml.js';
import { contentsXml, s3UrlEncode } from './list.js';

/** The tree the listing rendered through before the string fast path: the reference bytes. */
function treeContents(o: ObjectInfo, enc: (s: string) => string, owner: XmlChild): string {
  const algs = Object.keys(o.checksums);
  return xmlElement('Contents', [
    ['Key', enc(o.key)],
    ['LastModified', o.modTime],
    ['ETag', `"${o.etag}"`],
    ...algs.map((a): XmlChild => ['ChecksumAlgorithm', a]),
    algs.length > 0 && o.checksumType !== undefined && ['ChecksumType', o.checksumType],
    ['Size', o.size],
    ['StorageClass', o.storageClass || 'STANDARD'],
    owner,
  ]);
}

const info = (key: string, over: Partial<ObjectInfo> = {}): ObjectInfo => ({
  bucket: 'b',
  key,
  versionId: 'null',
  size: 1234,
  etag: 'd41d8cd98f00b204e9800998ecf8427e',
  modTime: new Date(1764100000123),
  headers: {},
  userMetadata: {},
  storageClass: 'STANDARD',
  checksums: {},
  ...over,
});

const hostileKeys = ['plain/key', 'a&b<c>"d\'e', 'cr\rlf\ntab\t\u0001\u007f', 'ключ/😀', '\ufffe\uffff', 'sp ace+plus%', ''];

describe('listing XML fast path', () => {
  it('renders each <Contents> byte-identical to the element tree, raw and url-encoded, with and without owner', () => {
    const ownerTree: XmlChild = ['Owner', [['ID', 'id&1'], ['DisplayName', 'me']]];
    for (const key of hostileKeys) {
      for (const enc of [(s: string) => s, s3UrlEncode]) {
        for (const withOwner of [false, true]) {
          const o = info(key, { storageClass: key === '' ? '' : 'REDUCED_REDUNDANCY' });
          const owner = withOwner ? xmlElement(ownerTree[0], ownerTree[1]) : '';
          expect(contentsXml(o, enc, owner)).toBe(treeContents(o, enc, withOwner && ownerTree));
        }
      }
    }
  });

  it('renders checksum algorithms and type like the tree', () => {
    const o = info('k', { checksums: { CRC32: 'AAAAAA==', SHA256: 'x' }, checksumType: 'FULL_OBJECT' });
    const xml = contentsXml(o, (s) => s, '');
    expect(xml).toBe(treeContents(o, (s) => s, undefined));
    expect(xml).toContain('<ChecksumAlgorithm>CRC32</ChecksumAlgorithm><ChecksumAlgorithm>SHA256</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType>');
  });

  it('isoDate matches toISOString across seconds, out of order, and outside 4-digit years', () => {
    const times = [0, 999, 1000, 1764100000123, 1764100000999, 1764100000000, 1764100001005, 1764100000001, -1, -1001, 253402300799999, 253402300800000, 8.64e15, -8.64e15];
    for (const ms of [...times, ...times.slice().reverse()]) expect(isoDate(ms)).toBe(new Date(ms).toISOString());
    expect(() => isoDate(Number.NaN)).toThrow(RangeError);
  });

  it('XmlWriter produces what xmlDocument does, also past its first buffer with multi-byte text', () => {
    const children: XmlChild[] = [['Name', 'b'], false, ['IsTruncated', true], undefined, ['MaxKeys', 1000]];
    expect(new XmlWriter('R', children).end().toString('utf8')).toBe(xmlDocument('R', children));
    const big: XmlChild[] = Array.from({ length: 3000 }, (_, i): XmlChild => ['Key', `ключ-😀-${i}-&`]);
    const w = new XmlWriter('R', big.slice(0, 1));
    for (const c of big.slice(1)) w.raw(xmlElement(c![0], c![1]));
    const out = w.end();
    expect(out.length).toBeGreaterThan(16 << 10);
    expect(out.toString('utf8')).toBe(xmlDocument('R', big));
  });

  it('s3UrlEncode: the unreserved fast path agrees with full encoding', () => {
    const full = (s: string) =>
      encodeURIComponent(s)
        .replace(/%2F/g, '/')
        .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    for (const s of [...hostileKeys, 'a-b_c.d~e/f/', 'A9z~', "it's(*)!", 'x y']) expect(s3UrlEncode(s)).toBe(full(s));
  });
});
