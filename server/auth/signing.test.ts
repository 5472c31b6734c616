import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatAmzDate, parseAmzDate, sha256Hex } from './signing.js';

/** The regex versions these replaced: the hand-written ones must agree with them everywhere. */
function referenceFormat(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}
function referenceParse(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return referenceFormat(d) === s ? d : undefined;
}

describe('amz dates', () => {
  it('formats like toISOString without separators and milliseconds', () => {
    const dates = [0, 1, 999, 86_399_999, Date.UTC(2026, 10, 26, 0, 5, 9, 123), Date.UTC(9999, 11, 31, 23, 59, 59), Date.UTC(1000, 0, 1)];
    for (let i = 0; i < 2000; i++) dates.push(Math.floor(Math.random() * 4e12));
    // Years outside 1000–9999 keep toISOString's own form.
    dates.push(Date.UTC(999, 0, 1), Date.UTC(10000, 0, 1), -1e13);
    for (const t of dates) expect(formatAmzDate(new Date(t))).toBe(referenceFormat(new Date(t)));
    expect(formatAmzDate(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)))).toBe('20260102T030405Z');
  });

  it('parses exactly what the regex parser accepted, to the same instant', () => {
    const inputs = [
      '20260102T030405Z',
      '20261126T000509Z',
      '20240229T235959Z', // leap day
      '20230229T000000Z', // not a leap year: rolls over, refused
      '20261301T000000Z', // month 13
      '20261100T000000Z', // day 0
      '20261126T240000Z', // hour 24
      '20261126T006000Z',
      '20261126T000061Z',
      '00500101T000000Z', // years below 100 map to 19xx in Date.UTC: refused by the round trip
      '2026-11-26T00:05:09Z',
      '20261126T000509',
      '20261126 000509Z',
      '2026112GT000509Z',
      '20261126T000509z',
      '२०२६1126T000509Z', // non-ASCII digits are not \d
      ' 20261126T000509Z',
      '',
    ];
    for (let i = 0; i < 500; i++) inputs.push(referenceFormat(new Date(Math.floor(Math.random() * 4e12))));
    for (const s of inputs) {
      const got = parseAmzDate(s);
      const want = referenceParse(s);
      expect(got?.getTime(), s).toBe(want?.getTime());
    }
    expect(parseAmzDate('20260102T030405Z')?.getTime()).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(parseAmzDate('20261301T000000Z')).toBeUndefined();
  });
});

describe('sha256Hex', () => {
  it('hashes strings as UTF-8 and bytes as they are', () => {
    for (const v of ['', 'abc', 'été ☃', 'GET\n/b/k\n\nhost:x\n']) {
      expect(sha256Hex(v)).toBe(createHash('sha256').update(v).digest('hex'));
    }
    const bytes = Buffer.from([0, 1, 2, 255]);
    expect(sha256Hex(bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));
  });
});
