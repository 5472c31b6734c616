/**
 * SigV4 primitives: signing-key derivation (cached), HMAC, constant-time compare.
 */
import { createHmac, hash, timingSafeEqual } from 'node:crypto';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export function sha256Hex(data: string | Uint8Array): string {
  // One-shot: no Hash object per call (a string is hashed as UTF-8, as Hash.update does).
  return hash('sha256', data, 'hex');
}

export function hmacHex(key: Buffer, data: string): string {
  return createHmac('sha256', key).update(data).digest('hex');
}

// Four HMACs per derivation; a key is valid for one (secret, day, region), so a
// small cache saves them on nearly every request. Keyed by the secret itself so a
// rotated secret can never hit a stale key. Cleared wholesale when full: cheaper
// than LRU bookkeeping and the working set is (active keys × 1–2 days).
const MAX_CACHED_KEYS = 4096;
const keyCache = new Map<string, Buffer>();

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
export function signingKey(secret: string, date: string, region: string, service = 's3'): Buffer {
  const id = `${date}\n${region}\n${service}\n${secret}`;
  let key = keyCache.get(id);
  if (!key) {
    const kDate = createHmac('sha256', 'AWS4' + secret).update(date).digest();
    const kRegion = createHmac('sha256', kDate).update(region).digest();
    const kService = createHmac('sha256', kRegion).update(service).digest();
    key = createHmac('sha256', kService).update('aws4_request').digest();
    if (keyCache.size >= MAX_CACHED_KEYS) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
}

/** String to sign for the request (seed) signature. */
export function stringToSign(amzDate: string, scope: string, canonicalRequest: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
}

/** Constant-time equality of two hex signatures (case-insensitive on the client side). */
export function signaturesEqual(expectedHex: string, providedHex: string): boolean {
  const a = Buffer.from(expectedHex, 'latin1');
  const b = Buffer.from(providedHex.toLowerCase(), 'latin1');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The number written by the ASCII digits s[from, to), or -1 if any is not a digit. */
function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** yyyymmddThhmmssZ → Date; undefined if malformed. Parsed by hand: every signed request has one. */
export function parseAmzDate(s: string): Date | undefined {
  if (s.length !== 16 || s.charCodeAt(8) !== 0x54 /* T */ || s.charCodeAt(15) !== 0x5a /* Z */) return undefined;
  const y = digits(s, 0, 4);
  const mo = digits(s, 4, 6);
  const day = digits(s, 6, 8);
  const h = digits(s, 9, 11);
  const mi = digits(s, 11, 13);
  const sec = digits(s, 13, 15);
  if (y < 0 || mo < 0 || day < 0 || h < 0 || mi < 0 || sec < 0) return undefined;
  const d = new Date(Date.UTC(y, mo - 1, day, h, mi, sec));
  // Reject rollovers like month 13 or second 61, which Date.UTC silently normalises.
  return formatAmzDate(d) === s ? d : undefined;
}

const pad2 = (n: number) => (n < 10 ? '0' + n : String(n));

/** Date → yyyymmddThhmmssZ (the ISO form without separators and milliseconds). */
export function formatAmzDate(d: Date): string {
  const y = d.getUTCFullYear();
  // Outside four-digit years toISOString has its own (signed, six-digit) form: keep it.
  if (!(y >= 1000 && y <= 9999)) return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return (
    String(y) +
    pad2(d.getUTCMonth() + 1) +
    pad2(d.getUTCDate()) +
    'T' +
    pad2(d.getUTCHours()) +
    pad2(d.getUTCMinutes()) +
    pad2(d.getUTCSeconds()) +
    'Z'
  );
}
