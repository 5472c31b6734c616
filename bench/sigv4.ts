/**
 * A lean SigV4 header signer for the load generator: one SHA-256 of the canonical
 * request and one HMAC per request, the signing key derived once per (day, region).
 * Bodies are never hashed (`UNSIGNED-PAYLOAD`), which every S3 accepts over any
 * transport for header auth. Kept apart from server/auth on purpose: bench must
 * be able to talk to any S3, so it cannot share (and mask) the verifier's bugs.
 */
import { createHash, createHmac } from 'node:crypto';

export interface Credentials {
  accessKey: string;
  secretKey: string;
  region: string;
}

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

const HEX = '0123456789ABCDEF';
const UNRESERVED = new Uint8Array(256);
for (let c = 0; c < 256; c++) if (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(c))) UNRESERVED[c] = 1;

/** RFC 3986 encoding the SigV4 way; '/' kept in paths (keepSlash), encoded in query parts. */
export function uriEncode(s: string, keepSlash: boolean): string {
  // Fast path: bench keys are plain ASCII, so most strings need no work at all.
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || (UNRESERVED[c] !== 1 && !(keepSlash && c === 0x2f))) {
      plain = false;
      break;
    }
  }
  if (plain) return s;
  const bytes = Buffer.from(s, 'utf8');
  let out = '';
  for (const c of bytes) {
    if (UNRESERVED[c] === 1 || (keepSlash && c === 0x2f)) out += String.fromCharCode(c);
    else out += '%' + HEX[c >> 4] + HEX[c & 15];
  }
  return out;
}

/** `a=1&b=2`, names and values encoded and sorted as the canonical query wants; also usable on the wire. */
export function canonicalQuery(query: Readonly<Record<string, string>> | undefined): string {
  if (!query) return '';
  const pairs = Object.entries(query).map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

export interface SignInput {
  method: string;
  /** Already encoded path (`uriEncode(path, true)`), exactly as sent. */
  path: string;
  /** Canonical query string (canonicalQuery), exactly as sent. */
  query: string;
  /** host[:port] exactly as sent in the Host header. */
  host: string;
  /** Extra headers to sign, lower-case names (e.g. content-md5); optional. */
  extra?: Readonly<Record<string, string>>;
  now?: Date;
}

export class Signer {
  private keyDay = '';
  private key: Buffer = Buffer.alloc(0);
  private readonly scopeTail: string;

  constructor(private readonly creds: Credentials) {
    this.scopeTail = `/${creds.region}/s3/aws4_request`;
  }

  private signingKey(day: string): Buffer {
    if (day !== this.keyDay) {
      const kDate = createHmac('sha256', 'AWS4' + this.creds.secretKey).update(day).digest();
      const kRegion = createHmac('sha256', kDate).update(this.creds.region).digest();
      const kService = createHmac('sha256', kRegion).update('s3').digest();
      this.key = createHmac('sha256', kService).update('aws4_request').digest();
      this.keyDay = day;
    }
    return this.key;
  }

  /** Headers to add to the request: host, x-amz-date, x-amz-content-sha256, authorization (+ extra). */
  sign(input: SignInput): Record<string, string> {
    const amzDate = (input.now ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const day = amzDate.slice(0, 8);
    const headers: Record<string, string> = {
      host: input.host,
      'x-amz-content-sha256': UNSIGNED_PAYLOAD,
      'x-amz-date': amzDate,
    };
    if (input.extra) for (const [k, v] of Object.entries(input.extra)) headers[k] = v.trim();
    const names = Object.keys(headers).sort();
    let lines = '';
    for (const n of names) lines += `${n}:${headers[n]}\n`;
    const signedHeaders = names.join(';');
    const canonical = `${input.method}\n${input.path}\n${input.query}\n${lines}\n${signedHeaders}\n${UNSIGNED_PAYLOAD}`;
    const scope = day + this.scopeTail;
    const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
    const signature = createHmac('sha256', this.signingKey(day)).update(toSign).digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${this.creds.accessKey}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return headers;
  }
}
