import { describe, expect, it } from 'vitest';
import { checksumValuesFrom, multipartChecksumFrom, partChecksumRequest } from './checksum-headers.js';

describe('multipartChecksumFrom', () => {
  it('defaults the type per algorithm', () => {
    expect(multipartChecksumFrom({ 'x-amz-checksum-algorithm': 'crc32' })).toEqual({ checksumAlgorithm: 'CRC32', checksumType: 'COMPOSITE' });
    expect(multipartChecksumFrom({ 'x-amz-checksum-algorithm': 'CRC64NVME' })).toEqual({
      checksumAlgorithm: 'CRC64NVME',
      checksumType: 'FULL_OBJECT',
    });
    expect(multipartChecksumFrom({})).toBeUndefined();
  });

  it('refuses combinations AWS refuses', () => {
    const code = (h: Record<string, string>) => {
      try {
        multipartChecksumFrom(h);
      } catch (err) {
        return (err as { code: string }).code;
      }
      return 'ok';
    };
    expect(code({ 'x-amz-checksum-algorithm': 'SHA256', 'x-amz-checksum-type': 'FULL_OBJECT' })).toBe('InvalidRequest');
    expect(code({ 'x-amz-checksum-algorithm': 'CRC64NVME', 'x-amz-checksum-type': 'COMPOSITE' })).toBe('InvalidRequest');
    expect(code({ 'x-amz-checksum-type': 'COMPOSITE' })).toBe('InvalidRequest');
    expect(code({ 'x-amz-checksum-algorithm': 'MD5' })).toBe('InvalidRequest');
    expect(code({ 'x-amz-checksum-algorithm': 'CRC32C', 'x-amz-checksum-type': 'FULL_OBJECT' })).toBe('ok');
  });
});

describe('partChecksumRequest', () => {
  it('computes the upload algorithm when the part sent none, refuses another one', () => {
    expect(partChecksumRequest(undefined, 'SHA1')).toEqual({ algorithm: 'SHA1' });
    expect(partChecksumRequest({ algorithm: 'CRC32' }, undefined)).toEqual({ algorithm: 'CRC32' });
    expect(() => partChecksumRequest({ algorithm: 'CRC32' }, 'SHA1')).toThrow(/mismatch/);
  });
});

describe('checksumValuesFrom', () => {
  it('validates each value', () => {
    expect(checksumValuesFrom({ 'x-amz-checksum-crc32': 'AAAAAA==' })).toEqual({ CRC32: 'AAAAAA==' });
    expect(() => checksumValuesFrom({ 'x-amz-checksum-crc32': 'AAAA' })).toThrow();
  });
});
