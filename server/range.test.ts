import { describe, expect, it } from 'vitest';
import { parseRange, resolveRange } from './range.js';

const r = (h: string, size: number) => resolveRange(parseRange(h), size, h);

describe('ranges', () => {
  it('resolves the three forms and clamps the end', () => {
    expect(r('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(r('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(r('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(r('bytes=-1000', 100)).toEqual({ start: 0, end: 99 });
    expect(r('bytes=50-5000', 100)).toEqual({ start: 50, end: 99 });
  });

  it('ignores what it cannot parse, including multiple ranges', () => {
    for (const h of ['bytes=0-1,5-6', 'items=0-1', 'bytes=5-3', 'bytes=-', 'garbage']) expect(r(h, 100)).toBeUndefined();
  });

  it('rejects unsatisfiable ranges with the object size', () => {
    expect(() => r('bytes=100-', 100)).toThrow(expect.objectContaining({ code: 'InvalidRange', size: 100 }));
    expect(() => r('bytes=-0', 100)).toThrow(expect.objectContaining({ code: 'InvalidRange' }));
    expect(() => r('bytes=0-', 0)).toThrow(expect.objectContaining({ code: 'InvalidRange', size: 0 }));
  });
});
