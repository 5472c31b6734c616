import { describe, expect, it } from 'vitest';
import { checkPostPolicy, parsePostPolicy } from './post-policy.js';

const b64 = (doc: unknown) => Buffer.from(JSON.stringify(doc)).toString('base64');
const LATER = '2099-01-01T00:00:00Z';
const fields = (o: Record<string, string>) => new Map(Object.entries(o));

describe('parsePostPolicy', () => {
  it('reads exact, eq, starts-with and content-length-range conditions; names lower-cased', () => {
    const p = parsePostPolicy(
      b64({
        expiration: LATER,
        conditions: [{ bucket: 'b' }, ['eq', '$Key', 'k'], ['StArTs-WiTh', '$Content-Type', 'text/'], ['content-length-range', 1, '10']],
      }),
    );
    expect(p.expiration.toISOString()).toBe('2099-01-01T00:00:00.000Z');
    expect(p.conditions).toEqual([
      { kind: 'eq', field: 'bucket', value: 'b' },
      { kind: 'eq', field: 'key', value: 'k' },
      { kind: 'starts-with', field: 'content-type', prefix: 'text/' },
      { kind: 'content-length-range', min: 1, max: 10 },
    ]);
  });

  it.each([
    ['not JSON', 'bm90IGpzb24='],
    ['no expiration', b64({ conditions: [] })],
    ['EXPIRATION (keys are case-sensitive)', b64({ EXPIRATION: LATER, conditions: [] })],
    ['expiration not ISO 8601 UTC', b64({ expiration: '2099-01-01 00:00:00+00:00', conditions: [] })],
    ['no conditions', b64({ expiration: LATER })],
    ['CONDITIONS', b64({ expiration: LATER, CONDITIONS: [] })],
    ['empty condition object', b64({ expiration: LATER, conditions: [{}] })],
    ['content-length-range with one bound', b64({ expiration: LATER, conditions: [['content-length-range', 0]] })],
    ['negative content-length-range', b64({ expiration: LATER, conditions: [['content-length-range', -1, 0]] })],
    ['unknown operator', b64({ expiration: LATER, conditions: [['ends-with', '$key', 'x']] })],
    ['field without $', b64({ expiration: LATER, conditions: [['eq', 'key', 'x']] })],
  ])('refuses %s with 400 InvalidPolicyDocument', (_name, policy) => {
    expect(() => parsePostPolicy(policy)).toThrow(expect.objectContaining({ code: 'InvalidPolicyDocument', status: 400 }));
  });
});

describe('checkPostPolicy', () => {
  const policy = parsePostPolicy(
    b64({ expiration: LATER, conditions: [{ bucket: 'b' }, ['starts-with', '$key', 'up/'], ['content-length-range', 0, 5]] }),
  );

  it('passes a matching form and returns the length range; exempt fields need no condition', () => {
    const range = checkPostPolicy(policy, fields({ bucket: 'b', key: 'up/x', policy: 'p', 'x-amz-signature': 's', 'x-ignore-a': '1' }));
    expect(range).toEqual({ min: 0, max: 5 });
  });

  it('refuses an expired policy', () => {
    expect(() => checkPostPolicy(policy, fields({ bucket: 'b', key: 'up/x' }), new Date('2100-01-01T00:00:00Z'))).toThrow(
      /Policy expired/,
    );
  });

  it('refuses a failed condition, a missing field and an uncovered field with 403', () => {
    const denied = expect.objectContaining({ code: 'AccessDenied', status: 403 });
    expect(() => checkPostPolicy(policy, fields({ bucket: 'b', key: 'down/x' }))).toThrow(denied);
    expect(() => checkPostPolicy(policy, fields({ key: 'up/x' }))).toThrow(denied);
    expect(() => checkPostPolicy(policy, fields({ bucket: 'b', key: 'up/x', acl: 'public-read' }))).toThrow(/Extra input fields: acl/);
  });

  it('matches values case-sensitively', () => {
    const p = parsePostPolicy(b64({ expiration: LATER, conditions: [{ bucket: 'b' }, { key: 'K' }] }));
    expect(() => checkPostPolicy(p, fields({ bucket: 'b', key: 'k' }))).toThrow(/Policy Condition failed/);
  });
});
