/**
 * SigV4 request authentication: Authorization header or presigned query string.
 * Checks the seed signature only; the body (signed hash, aws-chunked signatures,
 * trailer) is checked while it streams, by decodeBody().
 */
import type { IncomingHttpHeaders } from 'node:http';
import { accessDenied, invalidAccessKeyId, invalidArgument, invalidRequest, notImplemented, S3Error, signatureDoesNotMatch } from '../s3-error.js';
import {
  canonicalHeaders,
  canonicalQueryString,
  canonicalRequest,
  canonicalUriCandidates,
  parseQuery,
  splitRawUrl,
  type QueryParam,
} from './canonical.js';
import {
  authorizationHeaderMalformed,
  authorizationQueryParametersError,
  missingSecurityHeader,
  requestTimeTooSkewed,
} from './errors.js';
import { ALGORITHM, formatAmzDate, hmacHex, parseAmzDate, signaturesEqual, signingKey, stringToSign } from './signing.js';
import { trailerAlgorithm } from './trailer.js';
import type { AuthContext, AuthInput, CredentialStore, PayloadMode } from './types.js';

export interface AuthOptions {
  now?: Date;
  /** Allowed clock difference; AWS uses 15 minutes. */
  maxSkewMs?: number;
}

const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGN_EXPIRES_S = 604800;
const SIGV4A = 'AWS4-ECDSA-P256-SHA256';
const HEX64 = /^[0-9a-fA-F]{64}$/;

const STREAMING_MODES: Record<string, PayloadMode> = {
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD': 'streaming-signed',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER': 'streaming-signed-trailer',
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER': 'streaming-unsigned-trailer',
};

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : String(v);
}

/** `{ [name]: value }` when value is defined, `{}` otherwise (exactOptionalPropertyTypes-friendly spreads). */
function optional<K extends string>(name: K, value: string | undefined): { [P in K]?: string } {
  return value === undefined ? {} : ({ [name]: value } as { [P in K]?: string });
}

const headersNotSigned = (names: string[]) =>
  new S3Error('AccessDenied', 403, 'There were headers present in the request which were not signed', {
    HeadersNotSigned: names.join(', '),
  });

/**
 * Not an async function, nor are the helpers: the only wait is the credential lookup, and
 * one `.then()` after it costs less than a chain of async frames (profiles of small
 * requests showed them). Every failure, thrown here or in the lookup, is a rejection.
 */
export function authenticate(input: AuthInput, store: CredentialStore, opts: AuthOptions = {}): Promise<AuthContext> {
  try {
    return authenticateOrThrow(input, store, opts);
  } catch (err) {
    return Promise.reject(err);
  }
}

function authenticateOrThrow(input: AuthInput, store: CredentialStore, opts: AuthOptions): Promise<AuthContext> {
  const now = opts.now ?? new Date();
  const maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const { path, query } = splitRawUrl(input.rawUrl);
  const params = parseQuery(query);
  const auth = header(input.headers, 'authorization');
  const presignParam = params.some((p) => p.name === 'X-Amz-Algorithm' || p.name === 'X-Amz-Signature' || p.name === 'X-Amz-Credential');

  if (auth !== undefined && auth.trim() !== '') {
    if (presignParam) throw invalidArgument('Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified');
    return headerAuth(input, auth.trim(), path, params, store, now, maxSkewMs);
  }
  if (presignParam) return presignedAuth(input, path, params, store, now, maxSkewMs);
  if (params.some((p) => p.name === 'Signature') && params.some((p) => p.name === 'AWSAccessKeyId')) throw sigV2Unsupported();
  throw accessDenied();
}

/** Signature V2 is not supported: every maintained client (s3cmd ≥ 2.0, rclone, mc, SDKs) speaks V4. */
const sigV2Unsupported = () =>
  invalidRequest('The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');

interface Credential {
  accessKey: string;
  date: string;
  region: string;
  scope: string;
}

function parseCredential(value: string, malformed: (msg: string) => S3Error): Credential {
  const parts = value.split('/');
  if (parts.length < 5) throw malformed('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".');
  const terminal = parts.pop()!;
  const service = parts.pop()!;
  const region = parts.pop()!;
  const date = parts.pop()!;
  const accessKey = parts.join('/');
  if (terminal !== 'aws4_request') throw malformed(`incorrect terminal "${terminal}". This endpoint uses "aws4_request".`);
  if (service !== 's3') throw malformed(`incorrect service "${service}". This endpoint belongs to "s3".`);
  if (!/^\d{8}$/.test(date)) throw malformed(`incorrect date format "${date}". This date in the credential must be in the format "yyyyMMdd".`);
  if (region === '' || accessKey === '') throw malformed('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".');
  return { accessKey, date, region, scope: `${date}/${region}/s3/aws4_request` };
}

function parseSignedHeaders(value: string, malformed: (msg: string) => S3Error): string[] {
  const list = value.split(';');
  if (list.some((h) => h === '' || h !== h.toLowerCase().trim())) throw malformed('the SignedHeaders are mal-formed.');
  return list;
}

function headerAuth(
  input: AuthInput,
  auth: string,
  path: string,
  params: QueryParam[],
  store: CredentialStore,
  now: Date,
  maxSkewMs: number,
): Promise<AuthContext> {
  const sp = auth.indexOf(' ');
  const algorithm = sp < 0 ? auth : auth.slice(0, sp);
  if (algorithm === SIGV4A) throw notImplemented('Signature Version 4A (AWS4-ECDSA-P256-SHA256) is not implemented');
  if (algorithm === 'AWS') throw sigV2Unsupported();
  if (algorithm !== ALGORITHM) throw invalidArgument('Unsupported Authorization Type', { ArgumentName: 'Authorization', ArgumentValue: auth });

  // `name=value` parts between commas, each trimmed; a part without a name is skipped.
  // Scanned in place rather than split and trimmed twice (every signed request has one).
  const fields = new Map<string, string>();
  for (let i = sp + 1; ; ) {
    const comma = auth.indexOf(',', i);
    const end = comma < 0 ? auth.length : comma;
    const eq = auth.indexOf('=', i);
    if (eq >= 0 && eq < end) {
      const name = auth.slice(i, eq).trim();
      if (name !== '') fields.set(name, auth.slice(eq + 1, end).trim());
    }
    if (comma < 0) break;
    i = comma + 1;
  }
  const credValue = fields.get('Credential');
  const signedValue = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credValue === undefined) throw authorizationHeaderMalformed('missing Credential.');
  if (signedValue === undefined) throw authorizationHeaderMalformed('missing SignedHeaders.');
  if (signature === undefined) throw authorizationHeaderMalformed('missing Signature.');
  const cred = parseCredential(credValue, authorizationHeaderMalformed);
  const signed = parseSignedHeaders(signedValue, authorizationHeaderMalformed);

  // The signing time: x-amz-date, else Date (RFC 1123). Either way it must be signed,
  // or a captured request could be replayed with a fresh date.
  const { headers } = input;
  const xAmzDate = header(headers, 'x-amz-date');
  let date: Date | undefined;
  let amzDate: string;
  if (xAmzDate !== undefined) {
    date = parseAmzDate(xAmzDate.trim());
    amzDate = xAmzDate.trim();
    if (!signed.includes('x-amz-date')) throw headersNotSigned(['x-amz-date']);
  } else {
    const d = header(headers, 'date');
    const ms = d === undefined ? NaN : Date.parse(d);
    date = Number.isNaN(ms) ? undefined : new Date(ms);
    amzDate = date ? formatAmzDate(date) : '';
    if (date && !signed.includes('date')) throw headersNotSigned(['date']);
  }
  if (!date) throw accessDenied('AWS authentication requires a valid Date or x-amz-date header');
  if (amzDate.slice(0, 8) !== cred.date) {
    throw authorizationHeaderMalformed(`Invalid credential date "${cred.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`);
  }
  if (!signed.includes('host')) throw headersNotSigned(['host']);

  const contentSha = header(headers, 'x-amz-content-sha256')?.trim();
  if (contentSha === undefined) throw invalidRequest('Missing required header for this request: x-amz-content-sha256');
  if (!signed.includes('x-amz-content-sha256')) throw headersNotSigned(['x-amz-content-sha256']);
  let payloadMode: PayloadMode;
  let contentSha256: string | undefined;
  if (HEX64.test(contentSha)) {
    payloadMode = 'signed';
    contentSha256 = contentSha.toLowerCase();
  } else if (contentSha === 'UNSIGNED-PAYLOAD') {
    payloadMode = 'unsigned';
  } else if (STREAMING_MODES[contentSha] !== undefined) {
    payloadMode = STREAMING_MODES[contentSha]!;
    checkStreamingHeaders(headers, payloadMode);
  } else if (contentSha.startsWith('STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD')) {
    throw notImplemented('Signature Version 4A streaming payloads are not implemented');
  } else {
    throw invalidRequest('x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.');
  }

  const signedDate = date;
  return lookupSecret(store, cred.accessKey).then((secret) => {
    checkSkew(signedDate, now, maxSkewMs);
    const key = signingKey(secret, cred.date, cred.region);
    verifySignature(input, path, params, undefined, signed, contentSha, amzDate, cred.scope, key, signature, cred.accessKey);
    return {
      accessKey: cred.accessKey,
      region: cred.region,
      date: signedDate,
      scope: cred.scope,
      signingKey: key,
      signature: signature.toLowerCase(),
      payloadMode,
      ...(contentSha256 !== undefined ? { contentSha256 } : {}),
      ...optional('securityToken', header(headers, 'x-amz-security-token')),
    };
  });
}

/** aws-chunked needs the decoded length, and trailer modes a valid x-amz-trailer. */
function checkStreamingHeaders(headers: IncomingHttpHeaders, mode: PayloadMode): void {
  const decoded = header(headers, 'x-amz-decoded-content-length');
  if (decoded === undefined) throw missingSecurityHeader('x-amz-decoded-content-length');
  if (!/^\d{1,16}$/.test(decoded.trim())) throw invalidArgument('x-amz-decoded-content-length must be a non-negative integer');
  if (mode === 'streaming-signed-trailer' || mode === 'streaming-unsigned-trailer') {
    trailerAlgorithm(headers); // throws if absent or not a checksum
  }
}

function lookupSecret(store: CredentialStore, accessKey: string): Promise<string> {
  return store.lookup(accessKey).then((found) => {
    if (!found) throw invalidAccessKeyId();
    return found.secretKey;
  });
}

function checkSkew(date: Date, now: Date, maxSkewMs: number): void {
  if (Math.abs(now.getTime() - date.getTime()) > maxSkewMs) {
    throw requestTimeTooSkewed(formatAmzDate(date), formatAmzDate(now));
  }
}

/**
 * Recompute the seed signature and compare in constant time. Tries each canonical
 * URI candidate, and for a query containing a raw '+' both of its readings
 * (see canonical.ts); all candidates denote the same request.
 */
function verifySignature(
  input: AuthInput,
  path: string,
  params: QueryParam[],
  excludeParam: string | undefined,
  signed: string[],
  payloadHash: string,
  amzDate: string,
  scope: string,
  key: Buffer,
  provided: string,
  accessKey: string,
): void {
  const headerLines = canonicalHeaders(signed, input.headers, input.rawHeaders);
  const signedList = signed.join(';');
  const queries = [canonicalQueryString(params, excludeParam, false)];
  if (params.some((p) => p.rawName.includes('+') || p.rawValue.includes('+'))) {
    queries.push(canonicalQueryString(params, excludeParam, true));
  }
  let first: { creq: string; sts: string } | undefined;
  for (const uri of canonicalUriCandidates(path)) {
    for (const q of queries) {
      const creq = canonicalRequest(input.method.toUpperCase(), uri, q, headerLines, signedList, payloadHash);
      const sts = stringToSign(amzDate, scope, creq);
      if (signaturesEqual(hmacHex(key, sts), provided)) return;
      first ??= { creq, sts };
    }
  }
  // AWS returns what it signed so client authors can diff it against theirs.
  throw signatureDoesNotMatch({
    AWSAccessKeyId: accessKey,
    StringToSign: first!.sts,
    SignatureProvided: provided,
    CanonicalRequest: first!.creq,
  });
}

function param(params: QueryParam[], name: string): string | undefined {
  return params.find((p) => p.name === name)?.value;
}

function presignedAuth(
  input: AuthInput,
  path: string,
  params: QueryParam[],
  store: CredentialStore,
  now: Date,
  maxSkewMs: number,
): Promise<AuthContext> {
  const algorithm = param(params, 'X-Amz-Algorithm');
  const credValue = param(params, 'X-Amz-Credential');
  const dateValue = param(params, 'X-Amz-Date');
  const expiresValue = param(params, 'X-Amz-Expires');
  const signedValue = param(params, 'X-Amz-SignedHeaders');
  const signature = param(params, 'X-Amz-Signature');
  if (algorithm === SIGV4A) throw notImplemented('Signature Version 4A (AWS4-ECDSA-P256-SHA256) is not implemented');
  if (
    algorithm === undefined ||
    credValue === undefined ||
    dateValue === undefined ||
    expiresValue === undefined ||
    signedValue === undefined ||
    signature === undefined
  ) {
    throw authorizationQueryParametersError(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  if (algorithm !== ALGORITHM) throw authorizationQueryParametersError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  const malformed = (msg: string) => authorizationQueryParametersError(`Error parsing the X-Amz-Credential parameter; ${msg}`);
  const cred = parseCredential(credValue, malformed);
  const signed = parseSignedHeaders(signedValue, (m) => authorizationQueryParametersError(`X-Amz-SignedHeaders: ${m}`));
  const date = parseAmzDate(dateValue);
  if (!date) throw authorizationQueryParametersError('X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'"');
  if (dateValue.slice(0, 8) !== cred.date) {
    throw malformed(`Invalid credential date "${cred.date}". This date is not the same as X-Amz-Date: "${dateValue.slice(0, 8)}".`);
  }
  if (!/^\d{1,7}$/.test(expiresValue)) throw authorizationQueryParametersError('X-Amz-Expires should be a number');
  const expires = Number(expiresValue);
  if (expires < 1) throw authorizationQueryParametersError('X-Amz-Expires must be non-negative');
  if (expires > MAX_PRESIGN_EXPIRES_S) {
    throw authorizationQueryParametersError('X-Amz-Expires must be less than a week (in seconds) that is 604800');
  }
  if (!signed.includes('host')) throw headersNotSigned(['host']);

  // Payload hash: the signed X-Amz-Content-Sha256 query parameter (the SDK presigner
  // hoists it, in whatever case), else a signed header, else UNSIGNED-PAYLOAD.
  let payloadHash = params.find((p) => p.name.toLowerCase() === 'x-amz-content-sha256')?.value;
  if (payloadHash === undefined && signed.includes('x-amz-content-sha256')) payloadHash = header(input.headers, 'x-amz-content-sha256')?.trim();
  payloadHash ??= 'UNSIGNED-PAYLOAD';
  let contentSha256: string | undefined;
  if (HEX64.test(payloadHash)) contentSha256 = payloadHash.toLowerCase();
  else if (payloadHash !== 'UNSIGNED-PAYLOAD') throw invalidRequest('X-Amz-Content-Sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value for presigned requests.');

  const signedHash = payloadHash;
  return lookupSecret(store, cred.accessKey).then((secret) => {
    if (date.getTime() - now.getTime() > maxSkewMs) throw accessDenied('Request is not valid yet');
    if (now.getTime() > date.getTime() + expires * 1000) {
      throw new S3Error('AccessDenied', 403, 'Request has expired', {
        'X-Amz-Expires': expiresValue,
        Expires: new Date(date.getTime() + expires * 1000).toISOString(),
        ServerTime: now.toISOString(),
      });
    }

    const key = signingKey(secret, cred.date, cred.region);
    verifySignature(input, path, params, 'X-Amz-Signature', signed, signedHash, dateValue, cred.scope, key, signature, cred.accessKey);
    return {
      accessKey: cred.accessKey,
      region: cred.region,
      date,
      scope: cred.scope,
      signingKey: key,
      signature: signature.toLowerCase(),
      payloadMode: 'presigned' as const,
      ...(contentSha256 !== undefined ? { contentSha256 } : {}),
      ...optional('securityToken', param(params, 'X-Amz-Security-Token') ?? header(input.headers, 'x-amz-security-token')),
    };
  });
}
