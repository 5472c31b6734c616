import { describe, expect, it } from 'vitest';
import { ListingScanner, scanListing } from './listing-scan.js';

const PAGE = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><KeyCount>3</KeyCount><IsTruncated>true</IsTruncated>' +
    '<Contents><Key>a&amp;b</Key><Size>0</Size></Contents><Contents><Key>é</Key></Contents><Contents><Key>list/00002</Key></Contents>' +
    '<NextContinuationToken>tok&lt;é&gt;</NextContinuationToken></ListBucketResult>',
);

describe('ListingScanner (the page walk\'s scan of undecoded ListObjectsV2 bytes)', () => {
  it('counts keys, sees truncation and decodes only the continuation token, entities included', () => {
    expect(scanListing(PAGE)).toEqual({ keys: 3, truncated: true, token: 'tok<é>' });
    expect(scanListing(Buffer.from('<ListBucketResult><IsTruncated>false</IsTruncated><KeyCount>0</KeyCount></ListBucketResult>'))).toEqual({ keys: 0, truncated: false });
  });

  it('gives the same answer however the bytes are split across reads', () => {
    const whole = scanListing(PAGE);
    for (let cut = 1; cut < PAGE.length; cut++) {
      const s = new ListingScanner();
      s.feed(PAGE.subarray(0, cut));
      s.feed(PAGE.subarray(cut));
      expect({ keys: s.keys, truncated: s.truncated, token: s.token }, `cut at ${cut}`).toEqual(whole);
    }
    for (const step of [1, 2, 3, 7]) {
      const s = new ListingScanner();
      // Views of one reused buffer, as the raw client hands them: the scanner must copy what it keeps.
      const reused = Buffer.alloc(step);
      for (let i = 0; i < PAGE.length; i += step) {
        const n = PAGE.copy(reused, 0, i, Math.min(PAGE.length, i + step));
        s.feed(reused.subarray(0, n));
        reused.fill(0x3c);
      }
      expect({ keys: s.keys, truncated: s.truncated, token: s.token }, `${step}-byte reads`).toEqual(whole);
    }
  });
});
