/**
 * SigV4 canonical request pieces, built from the request exactly as received.
 *
 * S3 is the one service whose canonical URI is the path as the client encoded it,
 * not re-normalised (no dot-segment removal, `//` kept). Clients agree on how to
 * encode (RFC 3986 unreserved kept, everything else %XX upper-case, '/' kept in
 * paths), so the raw path is normally the canonical URI. A client or proxy that
 * sends a character raw which it signed encoded (or vice versa) is covered by a
 * second candidate: decode, then re-encode the AWS way. Both candidates name the
 * same resource, so accepting either weakens nothing (MinIO and Garage use only
 * the second form; the first is needed for clients that sign `%2F` inside a key).
 */
import type { IncomingHttpHeaders } from 'node:http';

const HEX = '0123456789ABCDEF';

/** 1 for bytes SigV4 never encodes: A-Z a-z 0-9 - . _ ~ */
const UNRESERVED = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9\-._~]/.test(ch)) UNRESERVED[c] = 1;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Percent-decode to bytes. A '%' not followed by two hex digits stays a literal '%'
 * (S3 then encodes it as %25, as clients that sent it raw will have signed it).
 */
export function percentDecode(s: string, plusAsSpace = false): Buffer {
  if (!s.includes('%') && !(plusAsSpace && s.includes('+'))) return Buffer.from(s, 'utf8');
  const raw = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(raw.length);
  let o = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === 0x25 && i + 2 < raw.length) {
      const h = hexVal(raw[i + 1]!);
      const l = hexVal(raw[i + 2]!);
      if (h >= 0 && l >= 0) {
        out[o++] = (h << 4) | l;
        i += 2;
        continue;
      }
    }
    out[o++] = plusAsSpace && c === 0x2b ? 0x20 : c;
  }
  return out.subarray(0, o);
}

/** SigV4 URI-encoding of raw bytes; '/' is kept when `keepSlash` (paths), encoded otherwise (query). */
export function awsUriEncode(bytes: Uint8Array, keepSlash: boolean): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (UNRESERVED[c] === 1 || (keepSlash && c === 0x2f)) out += String.fromCharCode(c);
    else out += '%' + HEX[c >> 4] + HEX[c & 15];
  }
  return out;
}

/** Path and query of a request-target; absolute-form (`http://host/p?q`) is reduced to origin-form. */
export function splitRawUrl(rawUrl: string): { path: string; query: string } {
  let url = rawUrl;
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?]*/.exec(url);
  if (scheme) url = url.slice(scheme[0].length);
  const hash = url.indexOf('#');
  if (hash >= 0) url = url.slice(0, hash);
  const q = url.indexOf('?');
  const path = q >= 0 ? url.slice(0, q) : url;
  return { path: path === '' ? '/' : path, query: q >= 0 ? url.slice(q + 1) : '' };
}

/** Only characters SigV4 keeps as they are in a path (unreserved and '/'). */
function isPlainPath(p: string): boolean {
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c > 0x7f || (UNRESERVED[c] !== 1 && c !== 0x2f)) return false;
  }
  return true;
}

/** Canonical URI candidates, most likely first, without duplicates. */
export function canonicalUriCandidates(rawPath: string): string[] {
  // Nearly every path is unreserved characters and '/': it is its own re-encoding.
  if (isPlainPath(rawPath)) return [rawPath];
  const reencoded = awsUriEncode(percentDecode(rawPath), true);
  return reencoded === rawPath ? [rawPath] : [rawPath, reencoded];
}

export interface QueryParam {
  /** Decoded name, as a string (for looking up X-Amz-* parameters). */
  name: string;
  value: string;
  /** The parameter exactly as it appeared, for re-encoding. */
  rawName: string;
  rawValue: string;
}

/** Split a raw query string into parameters (no '=' → empty value). */
export function parseQuery(rawQuery: string): QueryParam[] {
  const out: QueryParam[] = [];
  if (rawQuery === '') return out;
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq >= 0 ? part.slice(0, eq) : part;
    const rawValue = eq >= 0 ? part.slice(eq + 1) : '';
    out.push({
      rawName,
      rawValue,
      name: percentDecode(rawName).toString('utf8'),
      value: percentDecode(rawValue).toString('utf8'),
    });
  }
  return out;
}

/**
 * Canonical query string: each name and value decoded and re-encoded the SigV4 way,
 * sorted by encoded name then value. `plusAsSpace` picks how a raw '+' was meant:
 * SigV4 clients always send %2B / %20, so a raw '+' is ambiguous and the caller
 * tries both (form-encoding says space, RFC 3986 says plus).
 */
export function canonicalQueryString(params: readonly QueryParam[], exclude: string | undefined, plusAsSpace: boolean): string {
  const pairs: [string, string][] = [];
  for (const p of params) {
    if (exclude !== undefined && p.name === exclude) continue;
    pairs.push([awsUriEncode(percentDecode(p.rawName, plusAsSpace), false), awsUriEncode(percentDecode(p.rawValue, plusAsSpace), false)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The text a client meant by a header value. Node hands header bytes over as
 * latin1 (one char per byte). SDK signers put the value's *text* into the
 * canonical request as UTF-8, but send it as either UTF-8 bytes (Python's
 * botocore: `é` → C3 A9) or latin1 bytes (Node: `é` → E9). So bytes that form
 * valid UTF-8 are read as UTF-8, anything else stays latin1; hashing the
 * result as UTF-8 then reproduces what the client signed in both cases.
 */
export function headerValueText(v: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(v)) return v;
  try {
    return STRICT_UTF8.decode(Buffer.from(v, 'latin1'));
  } catch {
    return v;
  }
}

/** Trim and collapse inner runs of spaces/tabs, as the SDK signers do. */
function canonicalHeaderValue(v: string): string {
  if (isCanonicalAscii(v)) return v;
  return headerValueText(v).replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');
}

/** ASCII without tabs, leading/trailing spaces or runs of spaces: already canonical (nearly every value; no regex then). */
function isCanonicalAscii(v: string): boolean {
  const last = v.length - 1;
  for (let i = 0; i <= last; i++) {
    const c = v.charCodeAt(i);
    if (c > 0x7f || c === 0x09) return false;
    if (c === 0x20 && (i === 0 || i === last || v.charCodeAt(i + 1) === 0x20)) return false;
  }
  return true;
}

/**
 * `name:value\n` lines for the signed headers, in the order the client listed them.
 * Repeated headers are joined with ',' (from rawHeaders when available).
 */
export function canonicalHeaders(
  signed: readonly string[],
  headers: IncomingHttpHeaders,
  rawHeaders: readonly string[] | undefined,
): string {
  let byName: Map<string, string[]> | undefined;
  if (rawHeaders) {
    byName = new Map();
    const wanted = new Set(signed);
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const n = rawHeaders[i]!.toLowerCase();
      if (!wanted.has(n)) continue;
      const list = byName.get(n);
      if (list) list.push(rawHeaders[i + 1]!);
      else byName.set(n, [rawHeaders[i + 1]!]);
    }
  }
  let out = '';
  for (const name of signed) {
    let values: readonly string[];
    if (byName) values = byName.get(name) ?? [];
    else {
      const v = headers[name];
      values = v === undefined ? [] : Array.isArray(v) ? v : [String(v)];
    }
    out += `${name}:${values.map(canonicalHeaderValue).join(',')}\n`;
  }
  return out;
}

export function canonicalRequest(
  method: string,
  uri: string,
  query: string,
  headerLines: string,
  signedHeaders: string,
  payloadHash: string,
): string {
  return `${method}\n${uri}\n${query}\n${headerLines}\n${signedHeaders}\n${payloadHash}`;
}
