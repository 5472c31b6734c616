import { describe, expect, it } from 'vitest';
import { checkCopySourcePreconditions, etagListMatches, evaluateReadPreconditions, writeConditionsFrom } from './conditional.js';

const info = { etag: 'abc123', modTime: new Date('2025-06-01T12:00:00.700Z') };
const at = (iso: string) => new Date(iso).toUTCString();

describe('evaluateReadPreconditions', () => {
  it('compares dates at one-second resolution', () => {
    // Last-Modified shows 12:00:00; asking "modified since 12:00:00" must be 304.
    expect(evaluateReadPreconditions({ 'if-modified-since': at('2025-06-01T12:00:00Z') }, info).outcome).toBe('not-modified');
    expect(evaluateReadPreconditions({ 'if-modified-since': at('2025-06-01T11:59:59Z') }, info).outcome).toBe('proceed');
    expect(evaluateReadPreconditions({ 'if-unmodified-since': at('2025-06-01T12:00:00Z') }, info).outcome).toBe('proceed');
    expect(evaluateReadPreconditions({ 'if-unmodified-since': at('2025-06-01T11:59:59Z') }, info)).toEqual({
      outcome: 'failed',
      condition: 'If-Unmodified-Since',
    });
  });

  it('applies AWS precedence', () => {
    expect(
      evaluateReadPreconditions({ 'if-match': '"abc123"', 'if-unmodified-since': at('2000-01-01T00:00:00Z') }, info).outcome,
    ).toBe('proceed');
    expect(
      evaluateReadPreconditions({ 'if-none-match': '"abc123"', 'if-modified-since': at('2000-01-01T00:00:00Z') }, info).outcome,
    ).toBe('not-modified');
    expect(evaluateReadPreconditions({ 'if-match': '"nope"', 'if-none-match': '"abc123"' }, info)).toEqual({
      outcome: 'failed',
      condition: 'If-Match',
    });
  });

  it('ignores unparseable dates', () => {
    expect(evaluateReadPreconditions({ 'if-unmodified-since': 'yesterday-ish' }, info).outcome).toBe('proceed');
  });
});

describe('etagListMatches', () => {
  it('handles *, lists, weak tags and bare values', () => {
    expect(etagListMatches('*', 'x')).toBe(true);
    expect(etagListMatches('"a", "abc123"', 'abc123')).toBe(true);
    expect(etagListMatches('W/"abc123"', '"abc123"')).toBe(true);
    expect(etagListMatches('abc123', 'abc123')).toBe(true);
    expect(etagListMatches('"abc12"', 'abc123')).toBe(false);
  });
});

describe('checkCopySourcePreconditions', () => {
  it('turns not-modified into 412 naming the copy-source header', () => {
    try {
      checkCopySourcePreconditions({ 'x-amz-copy-source-if-none-match': 'abc123' }, info);
      expect.unreachable();
    } catch (err) {
      expect((err as { status: number }).status).toBe(412);
      expect((err as { extra: Record<string, string> }).extra.Condition).toBe('x-amz-copy-source-If-None-Match');
    }
    expect(() => checkCopySourcePreconditions({ 'x-amz-copy-source-if-match': 'abc123' }, info)).not.toThrow();
  });
});

describe('writeConditionsFrom', () => {
  it('maps * and ETags to storage conditions', () => {
    expect(writeConditionsFrom({ 'if-none-match': '*' })).toEqual({ conditions: { ifNoneMatch: '*' } });
    expect(writeConditionsFrom({ 'if-match': '"abc"' })).toEqual({ conditions: { ifMatch: 'abc' } });
    expect(writeConditionsFrom({ 'if-none-match': '"abc"' })).toEqual({ ifNoneMatchEtag: '"abc"' });
    expect(writeConditionsFrom({})).toEqual({});
  });
});
