import { describe, expect, it } from 'vitest';
import { canonicalHeaders, headerValueText } from './canonical.js';

describe('header values as the client signed them', () => {
  it('reads UTF-8 bytes as UTF-8 and lone latin1 bytes as latin1', () => {
    // Node hands header bytes over one char per byte.
    const utf8Bytes = Buffer.from('Hello World\u00e9', 'utf8').toString('latin1');
    expect(headerValueText(utf8Bytes)).toBe('Hello World\u00e9');
    expect(headerValueText('Hello World\u00e9')).toBe('Hello World\u00e9');
    expect(headerValueText('plain ascii')).toBe('plain ascii');
  });

  it('puts the text into the canonical headers', () => {
    const raw = ['X-Amz-Meta-A', Buffer.from('\u00e9\u00e8', 'utf8').toString('latin1')];
    expect(canonicalHeaders(['x-amz-meta-a'], {}, raw)).toBe('x-amz-meta-a:\u00e9\u00e8\n');
  });
});
