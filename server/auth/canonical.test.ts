import { describe, expect, it } from 'vitest';
import { awsUriEncode, canonicalHeaders, canonicalUriCandidates, headerValueText, percentDecode } from './canonical.js';

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

describe('canonical header values', () => {
  /** The regex-only rule, before the fast path for values that are already canonical. */
  const reference = (v: string) => headerValueText(v).replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');

  it('trims and collapses spaces and tabs exactly as the regex rule, fast path or not', () => {
    const values = [
      'plain',
      'a b',
      'a  b',
      ' a',
      'a ',
      '  a  b  ',
      'a\tb',
      '\t',
      ' ',
      '',
      'x\u0001y',
      'x\u007fy',
      'caf\u00e9',
      Buffer.from('caf\u00e9  bar', 'utf8').toString('latin1'),
      'AWS4-HMAC-SHA256 Credential=AK/20261126/us-east-1/s3/aws4_request',
      '20261126T000509Z',
      'UNSIGNED-PAYLOAD',
    ];
    for (const v of values) {
      expect(canonicalHeaders(['x-h'], {}, ['X-H', v]), JSON.stringify(v)).toBe(`x-h:${reference(v)}\n`);
      expect(canonicalHeaders(['x-h'], { 'x-h': v }, undefined), JSON.stringify(v)).toBe(`x-h:${reference(v)}\n`);
    }
  });
});

describe('canonical URI candidates', () => {
  it('is the raw path alone when it re-encodes to itself, and both forms otherwise', () => {
    const reference = (p: string) => {
      const re = awsUriEncode(percentDecode(p), true);
      return re === p ? [p] : [p, re];
    };
    const paths = ['/', '/b/k', '/b/a-b_c.d~e/f', '/b//k/', '/b/a%2Fb', '/b/a b', '/b/a+b', '/b/%c3%a9', '/b/\u00e9', '/b/k?', '/b/%', '/b/a%20b'];
    for (const p of paths) expect(canonicalUriCandidates(p), p).toEqual(reference(p));
    expect(canonicalUriCandidates('/b/k')).toEqual(['/b/k']);
    expect(canonicalUriCandidates('/b/a+b')).toEqual(['/b/a+b', '/b/a%2Bb']);
  });
});
