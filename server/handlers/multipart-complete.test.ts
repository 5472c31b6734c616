import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createChecksum, type ChecksumAlgorithm } from '../../core/checksums.js';
import { collapseRepeatedParts, expectedObjectChecksum, parseCompleteBody } from './multipart-complete.js';

const b64 = (alg: ChecksumAlgorithm, ...bufs: Buffer[]) => {
  const c = createChecksum(alg);
  for (const b of bufs) c.update(b);
  return c.digest().toString('base64');
};

describe('parseCompleteBody', () => {
  it('reads parts with optional checksums', () => {
    const xml = Buffer.from(
      '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber><ETag>"abc"</ETag>' +
        '<ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part><Part><ETag>def</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>',
    );
    expect(parseCompleteBody(xml).parts).toEqual([
      { partNumber: 1, etag: '"abc"', checksums: { CRC32: 'AAAAAA==' } },
      { partNumber: 2, etag: 'def' },
    ]);
  });
  it('answers MalformedXML for empty lists, missing fields and garbage', () => {
    for (const body of [
      '<CompleteMultipartUpload></CompleteMultipartUpload>',
      '<CompleteMultipartUpload><Part><ETag>x</ETag></Part></CompleteMultipartUpload>',
      '<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>',
      '<Other/>',
      'not xml',
    ]) {
      expect(() => parseCompleteBody(Buffer.from(body)), body).toThrow(expect.objectContaining({ code: 'MalformedXML' }));
    }
  });
});

describe('collapseRepeatedParts', () => {
  it('keeps the last of consecutive repeats and leaves order problems to storage', () => {
    const p = (partNumber: number, etag: string) => ({ partNumber, etag });
    expect(collapseRepeatedParts([p(1, 'a'), p(1, 'b'), p(2, 'c')])).toEqual([p(1, 'b'), p(2, 'c')]);
    expect(collapseRepeatedParts([p(2, 'a'), p(1, 'b')])).toEqual([p(2, 'a'), p(1, 'b')]);
  });
});

describe('expectedObjectChecksum', () => {
  const parts = [randomBytes(1000), randomBytes(3333), randomBytes(17)];
  const withSums = (alg: ChecksumAlgorithm) => parts.map((p) => ({ size: p.length, checksums: { [alg]: b64(alg, p) } }));
  it('FULL_OBJECT equals the CRC of the whole object', () => {
    for (const alg of ['CRC32', 'CRC32C', 'CRC64NVME'] as const) {
      expect(expectedObjectChecksum(alg, 'FULL_OBJECT', withSums(alg))).toBe(b64(alg, ...parts));
    }
  });
  it('COMPOSITE is the checksum of the part digests with -N', () => {
    const digests = parts.map((p) => Buffer.from(b64('SHA256', p), 'base64'));
    expect(expectedObjectChecksum('SHA256', 'COMPOSITE', withSums('SHA256'))).toBe(`${b64('SHA256', ...digests)}-3`);
    expect(expectedObjectChecksum('SHA256', 'COMPOSITE', [{ size: 1, checksums: {} }])).toBeUndefined();
  });
});
