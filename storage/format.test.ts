import { describe, expect, it } from 'vitest';
import { expandDrivePattern } from './drive-pattern.js';
import { chooseSetDriveCount } from './format.js';
import { validateBucketName, validateObjectKey } from './names.js';
import { defaultParity } from './quorum.js';
import { parityFor, resolveParity } from './storage-class.js';

describe('topology rules', () => {
  it('chooses set sizes like MinIO', () => {
    expect([4, 6, 8, 12, 16, 32, 24, 2, 3, 18].map((n) => chooseSetDriveCount(n))).toEqual([4, 6, 8, 12, 16, 16, 12, 2, 3, 9]);
    expect(chooseSetDriveCount(8, 4)).toBe(4);
    expect(() => chooseSetDriveCount(8, 3)).toThrow();
    expect(() => chooseSetDriveCount(1)).toThrow();
  });

  it('defaults parity by set size and validates storage classes', () => {
    expect([2, 3, 4, 5, 6, 7, 8, 16].map(defaultParity)).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
    expect(resolveParity(4)).toEqual({ standard: 2, reduced: 1 });
    expect(resolveParity(8)).toEqual({ standard: 4, reduced: 2 });
    expect(() => resolveParity(4, 3)).toThrow();
    expect(parityFor(resolveParity(8), 'REDUCED_REDUNDANCY')).toBe(2);
    expect(() => parityFor(resolveParity(8), 'GLACIER')).toThrow(expect.objectContaining({ code: 'InvalidStorageClass' }));
  });

  it('expands drive patterns', () => {
    expect(expandDrivePattern('/data{1...3}')).toEqual(['/data1', '/data2', '/data3']);
    expect(expandDrivePattern('/d{01...03}/x')).toEqual(['/d01/x', '/d02/x', '/d03/x']);
    expect(expandDrivePattern('/h{1...2}/d{1...2}')).toEqual(['/h1/d1', '/h1/d2', '/h2/d1', '/h2/d2']);
    expect(expandDrivePattern('/plain')).toEqual(['/plain']);
  });

  it('validates names', () => {
    for (const ok of ['abc', 'my.bucket-1', 'a'.repeat(63)]) expect(() => validateBucketName(ok)).not.toThrow();
    for (const bad of ['ab', 'ABC', '192.168.1.1', 'a..b', '-ab', 'a'.repeat(64), 'a_b']) {
      expect(() => validateBucketName(bad)).toThrow(expect.objectContaining({ code: 'InvalidBucketName' }));
    }
    expect(() => validateObjectKey('../x')).not.toThrow();
    expect(() => validateObjectKey('\uD800')).toThrow(expect.objectContaining({ code: 'InvalidObjectName' }));
  });
});
