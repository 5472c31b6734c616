import { createHash, createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SignatureV4 } from '@smithy/signature-v4';
import { S3Error } from '../s3-error.js';
import { authenticate, decodeBody, type AuthInput, type CredentialStore } from './index.js';

const AK = 'AKIAIOSFODNN7EXAMPLE';
const SK = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const store: CredentialStore = { lookup: async (ak) => (ak === AK ? { secretKey: SK } : undefined) };
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** The hash constructor the smithy signer expects, backed by node:crypto. */
class Sha256 {
  private readonly h;
  constructor(secret?: string | Uint8Array) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  }
  update(data: string | Uint8Array): void {
    this.h.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.h.digest();
  }
}

const signer = (region = 'us-east-1', secret = SK) =>
  new SignatureV4({
    service: 's3',
    region,
    credentials: { accessKeyId: AK, secretAccessKey: secret },
    sha256: Sha256,
    uriEscapePath: false, // S3: the path is already encoded and signed as sent
    applyChecksum: true,
  });

/** RFC 3986 escaping exactly as the SDK puts keys and query values on the wire. */
const escape = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
const encodeKey = (key: string) => key.split('/').map(escape).join('/');
const queryString = (q: Record<string, string | string[]>) =>
  Object.entries(q)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${escape(k)}=${escape(x)}`))
    .join('&');

const NOW = new Date('2026-05-01T12:00:00Z');

interface Req {
  method?: string;
  path: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
}

async function signHeader(r: Req, opts: { region?: string; secret?: string; date?: Date } = {}): Promise<AuthInput> {
  const signed = await signer(opts.region, opts.secret).sign(
    {
      method: r.method ?? 'GET',
      protocol: 'http:',
      hostname: 'localhost',
      port: 9000,
      path: r.path,
      query: r.query ?? {},
      headers: { host: 'localhost:9000', 'x-amz-content-sha256': EMPTY, ...r.headers },
    },
    { signingDate: opts.date ?? NOW },
  );
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) headers[k.toLowerCase()] = v;
  const qs = queryString(r.query ?? {});
  return { method: r.method ?? 'GET', rawUrl: r.path + (qs ? '?' + qs : ''), headers };
}

async function presign(r: Req, expiresIn = 3600, date = NOW): Promise<AuthInput> {
  const p = await signer().presign(
    {
      method: r.method ?? 'GET',
      protocol: 'http:',
      hostname: 'localhost',
      port: 9000,
      path: r.path,
      query: r.query ?? {},
      headers: { host: 'localhost:9000', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...r.headers },
    },
    { signingDate: date, expiresIn },
  );
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.headers)) headers[k.toLowerCase()] = v;
  return { method: r.method ?? 'GET', rawUrl: r.path + '?' + queryString(p.query as Record<string, string>), headers };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(S3Error);
    return (e as S3Error).code;
  }
  return 'resolved';
}

const HOSTILE_KEYS = [
  'plain.txt',
  'with space/and+plus.txt',
  'unicode/ünïcødé/日本語.bin',
  'percent%20literal%2F%',
  "tilde~bang!star*quote'paren().txt",
  'double//slash///end/',
  'dot/./dotdot/../x',
  'equals=amp&semicolon;colon:at@dollar$comma,',
  '#hash?question[bracket]{brace}|pipe^caret`back\\slash"quote<lt>gt',
  ' leading and trailing ',
];

describe('authenticate: Authorization header', () => {
  it('accepts the AWS documented GET Object example', async () => {
    const input: AuthInput = {
      method: 'GET',
      rawUrl: '/test.txt',
      headers: {
        host: 'examplebucket.s3.amazonaws.com',
        range: 'bytes=0-9',
        'x-amz-content-sha256': EMPTY,
        'x-amz-date': '20130524T000000Z',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
      },
    };
    const ctx = await authenticate(input, store, { now: new Date('2013-05-24T00:05:00Z') });
    expect(ctx).toMatchObject({ accessKey: AK, region: 'us-east-1', scope: '20130524/us-east-1/s3/aws4_request', payloadMode: 'signed', contentSha256: EMPTY });
    expect(ctx.signature).toBe('f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
  });

  it.each(HOSTILE_KEYS)('verifies SDK-signed requests for key %j', async (key) => {
    const input = await signHeader({ path: '/bucket/' + encodeKey(key) });
    await expect(authenticate(input, store, { now: NOW })).resolves.toMatchObject({ accessKey: AK });
  });

  it('verifies hostile query strings (sorted, repeated, empty values, + and unicode)', async () => {
    const query = {
      'list-type': '2',
      prefix: "a b+c/é%~!*'()",
      delimiter: '/',
      'continuation-token': 'x==',
      acl: '',
      'z-repeated': ['b', 'a', 'a b'],
    };
    const input = await signHeader({ path: '/bucket', query });
    await expect(authenticate(input, store, { now: NOW })).resolves.toBeDefined();
  });

  it('accepts a raw + in the query however the client meant it', async () => {
    // Signed as literal '+' (%2B) and as space (%20); the wire shows a raw '+' for both.
    for (const meant of ['a+b', 'a b']) {
      const input = await signHeader({ path: '/bucket', query: { prefix: meant } });
      input.rawUrl = '/bucket?prefix=a+b';
      await expect(authenticate(input, store, { now: NOW })).resolves.toBeDefined();
    }
  });

  it('accepts characters sent raw that the client signed encoded', async () => {
    const input = await signHeader({ path: '/bucket/' + encodeKey("x!*'() y") });
    input.rawUrl = "/bucket/x!*'()%20y";
    await expect(authenticate(input, store, { now: NOW })).resolves.toBeDefined();
  });

  it('accepts %2F inside a key, signed as sent', async () => {
    const input = await signHeader({ path: '/bucket/a%2Fb' });
    await expect(authenticate(input, store, { now: NOW })).resolves.toBeDefined();
  });

  it('exposes a signed x-amz-security-token for iam to check', async () => {
    const input = await signHeader({ path: '/bucket/k', headers: { 'x-amz-security-token': 'session/token+1' } });
    expect(String(input.headers.authorization)).toContain('x-amz-security-token');
    await expect(authenticate(input, store, { now: NOW })).resolves.toMatchObject({ securityToken: 'session/token+1' });
    const plain = await authenticate(await signHeader({ path: '/bucket/k' }), store, { now: NOW });
    expect(plain.securityToken).toBeUndefined();
  });

  it('accepts any region name the client signed with', async () => {
    const input = await signHeader({ path: '/bucket/k' }, { region: 'garage-home-1' });
    await expect(authenticate(input, store, { now: NOW })).resolves.toMatchObject({ region: 'garage-home-1' });
  });

  it('accepts an Authorization header with or without spaces after commas', async () => {
    const input = await signHeader({ path: '/bucket/k' });
    input.headers.authorization = String(input.headers.authorization).replace(/, /g, ',');
    await expect(authenticate(input, store, { now: NOW })).resolves.toBeDefined();
  });

  it('canonicalises header values: trimmed, inner runs collapsed, repeats joined with ","', async () => {
    const input = await signHeader({ path: '/bucket/k', headers: { 'x-amz-meta-a': '  one   two\tthree  ' } });
    input.headers['x-amz-meta-a'] = 'one two three';
    await expect(authenticate(input, store, { now: NOW })).resolves.toBeDefined();

    const rep = await signHeader({ path: '/bucket/k', headers: { 'x-amz-meta-r': 'v1,v2' } });
    const rawHeaders = Object.entries(rep.headers)
      .filter(([k]) => k !== 'x-amz-meta-r')
      .flatMap(([k, v]) => [k, String(v)]);
    rawHeaders.push('X-Amz-Meta-R', ' v1 ', 'x-amz-meta-r', 'v2');
    await expect(authenticate({ ...rep, rawHeaders }, store, { now: NOW })).resolves.toBeDefined();
  });

  it('derives the payload mode from x-amz-content-sha256', async () => {
    const cases = {
      'UNSIGNED-PAYLOAD': 'unsigned',
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD': 'streaming-signed',
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER': 'streaming-signed-trailer',
      'STREAMING-UNSIGNED-PAYLOAD-TRAILER': 'streaming-unsigned-trailer',
    } as const;
    for (const [value, mode] of Object.entries(cases)) {
      const input = await signHeader({
        method: 'PUT',
        path: '/bucket/k',
        headers: { 'x-amz-content-sha256': value, 'x-amz-decoded-content-length': '5', 'x-amz-trailer': 'x-amz-checksum-crc32' },
      });
      await expect(authenticate(input, store, { now: NOW })).resolves.toMatchObject({ payloadMode: mode });
    }
  });

  it('rejects with the right S3 codes', async () => {
    const ok = await signHeader({ path: '/bucket/k' });
    const opts = { now: NOW };
    // wrong secret
    expect(await code(authenticate(await signHeader({ path: '/bucket/k' }, { secret: 'nope' }), store, opts))).toBe('SignatureDoesNotMatch');
    // unknown key
    expect(await code(authenticate(ok, { lookup: async () => undefined }, opts))).toBe('InvalidAccessKeyId');
    // tampered path / query / signed header
    expect(await code(authenticate({ ...ok, rawUrl: '/bucket/k2' }, store, opts))).toBe('SignatureDoesNotMatch');
    expect(await code(authenticate({ ...ok, rawUrl: '/bucket/k?acl' }, store, opts))).toBe('SignatureDoesNotMatch');
    expect(await code(authenticate({ ...ok, method: 'DELETE' }, store, opts))).toBe('SignatureDoesNotMatch');
    expect(await code(authenticate({ ...ok, headers: { ...ok.headers, host: 'evil:9000' } }, store, opts))).toBe('SignatureDoesNotMatch');
    // skew: 16 minutes either way
    expect(await code(authenticate(ok, store, { now: new Date(NOW.getTime() + 16 * 60_000) }))).toBe('RequestTimeTooSkewed');
    expect(await code(authenticate(ok, store, { now: new Date(NOW.getTime() - 16 * 60_000) }))).toBe('RequestTimeTooSkewed');
    await expect(authenticate(ok, store, { now: new Date(NOW.getTime() + 14 * 60_000) })).resolves.toBeDefined();
    // anonymous
    expect(await code(authenticate({ method: 'GET', rawUrl: '/bucket/k', headers: { host: 'h' } }, store, opts))).toBe('AccessDenied');
    // signature V2 and V4a
    expect(await code(authenticate({ ...ok, headers: { ...ok.headers, authorization: 'AWS AKID:c2lnbmF0dXJl' } }, store, opts))).toBe('InvalidRequest');
    expect(await code(authenticate({ method: 'GET', rawUrl: '/b/k?AWSAccessKeyId=A&Signature=s&Expires=1', headers: {} }, store, opts))).toBe('InvalidRequest');
    const v4a = String(ok.headers.authorization).replace('AWS4-HMAC-SHA256', 'AWS4-ECDSA-P256-SHA256');
    expect(await code(authenticate({ ...ok, headers: { ...ok.headers, authorization: v4a } }, store, opts))).toBe('NotImplemented');
    // malformed header
    const noSig = String(ok.headers.authorization).replace(/, Signature=.*/, '');
    expect(await code(authenticate({ ...ok, headers: { ...ok.headers, authorization: noSig } }, store, opts))).toBe('AuthorizationHeaderMalformed');
    const badCred = String(ok.headers.authorization).replace('/s3/', '/ec2/');
    expect(await code(authenticate({ ...ok, headers: { ...ok.headers, authorization: badCred } }, store, opts))).toBe('AuthorizationHeaderMalformed');
    const otherDay = String(ok.headers.authorization).replace('/20260501/', '/20260502/');
    expect(await code(authenticate({ ...ok, headers: { ...ok.headers, authorization: otherDay } }, store, opts))).toBe('AuthorizationHeaderMalformed');
    // x-amz-content-sha256 missing or nonsense
    const { 'x-amz-content-sha256': _drop, ...noSha } = ok.headers;
    expect(await code(authenticate({ ...ok, headers: noSha }, store, opts))).toBe('InvalidRequest');
    const weird = await signHeader({ path: '/bucket/k', headers: { 'x-amz-content-sha256': 'WHATEVER' } });
    expect(await code(authenticate(weird, store, opts))).toBe('InvalidRequest');
    const v4aStream = await signHeader({ path: '/bucket/k', headers: { 'x-amz-content-sha256': 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD' } });
    expect(await code(authenticate(v4aStream, store, opts))).toBe('NotImplemented');
    // streaming without x-amz-decoded-content-length
    const noDecoded = await signHeader({ method: 'PUT', path: '/bucket/k', headers: { 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' } });
    expect(await code(authenticate(noDecoded, store, opts))).toBe('MissingSecurityHeader');
    // trailer mode announcing something that is not a checksum
    const badTrailer = await signHeader({
      method: 'PUT',
      path: '/bucket/k',
      headers: { 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'x-amz-decoded-content-length': '1', 'x-amz-trailer': 'x-amz-meta-foo' },
    });
    expect(await code(authenticate(badTrailer, store, opts))).toBe('InvalidRequest');
  });

  it('requires host, x-amz-date and x-amz-content-sha256 to be signed', async () => {
    const ok = await signHeader({ path: '/bucket/k' });
    for (const name of ['host', 'x-amz-date', 'x-amz-content-sha256']) {
      const auth = String(ok.headers.authorization).replace(/SignedHeaders=([^,]*)/, (_m, list: string) =>
        'SignedHeaders=' + list.split(';').filter((h) => h !== name).join(';'),
      );
      expect(auth).not.toBe(ok.headers.authorization);
      expect(await code(authenticate({ ...ok, headers: { ...ok.headers, authorization: auth } }, store, { now: NOW }))).toBe('AccessDenied');
    }
  });
});

describe('authenticate: presigned URLs', () => {
  it.each(HOSTILE_KEYS)('verifies an SDK presigned GET for key %j', async (key) => {
    const input = await presign({ path: '/bucket/' + encodeKey(key), query: { 'response-content-type': 'text/plain; charset=utf-8' } });
    const ctx = await authenticate(input, store, { now: new Date(NOW.getTime() + 60_000) });
    expect(ctx).toMatchObject({ payloadMode: 'presigned', accessKey: AK });
    expect(ctx.contentSha256).toBeUndefined();
  });

  it('verifies a presigned PUT carrying a signed header', async () => {
    const input = await presign({ method: 'PUT', path: '/bucket/k', headers: { 'content-md5': '1B2M2Y8AsgTpgAmY7PhCfg==' } });
    expect(input.rawUrl).toContain('X-Amz-SignedHeaders=content-md5%3Bhost');
    await expect(authenticate(input, store, { now: NOW })).resolves.toMatchObject({ payloadMode: 'presigned' });
  });

  it('expires, is not valid before its date, and rejects tampering', async () => {
    const input = await presign({ path: '/bucket/k' }, 60);
    expect(await code(authenticate(input, store, { now: new Date(NOW.getTime() + 61_000) }))).toBe('AccessDenied');
    await authenticate(input, store, { now: new Date(NOW.getTime() + 61_000) }).catch((e: S3Error) => expect(e.message).toBe('Request has expired'));
    expect(await code(authenticate(input, store, { now: new Date(NOW.getTime() - 16 * 60_000) }))).toBe('AccessDenied');
    expect(await code(authenticate({ ...input, rawUrl: input.rawUrl.replace('X-Amz-Expires=60', 'X-Amz-Expires=6000') }, store, { now: NOW }))).toBe(
      'SignatureDoesNotMatch',
    );
    expect(await code(authenticate({ ...input, rawUrl: input.rawUrl.replace('/bucket/k', '/bucket/j') }, store, { now: NOW }))).toBe('SignatureDoesNotMatch');
    expect(await code(authenticate({ ...input, rawUrl: input.rawUrl + '&extra=1' }, store, { now: NOW }))).toBe('SignatureDoesNotMatch');
  });

  it('validates the query parameters', async () => {
    const input = await presign({ path: '/bucket/k' }, 60);
    const opts = { now: NOW };
    const mutate = (from: RegExp, to: string) => authenticate({ ...input, rawUrl: input.rawUrl.replace(from, to) }, store, opts);
    expect(await code(mutate(/X-Amz-Expires=60/, 'X-Amz-Expires=604801'))).toBe('AuthorizationQueryParametersError');
    expect(await code(mutate(/X-Amz-Expires=60/, 'X-Amz-Expires=0'))).toBe('AuthorizationQueryParametersError');
    expect(await code(mutate(/&X-Amz-SignedHeaders=[^&]*/, ''))).toBe('AuthorizationQueryParametersError');
    expect(await code(mutate(/X-Amz-Date=[^&]*/, 'X-Amz-Date=2026-05-01'))).toBe('AuthorizationQueryParametersError');
    expect(await code(mutate(/X-Amz-Algorithm=[^&]*/, 'X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256'))).toBe('NotImplemented');
    expect(await code(mutate(/X-Amz-Credential=AKIAIOSFODNN7EXAMPLE/, 'X-Amz-Credential=AKIDUNKNOWN'))).toBe('InvalidAccessKeyId');
    expect(await code(authenticate({ ...input, headers: { ...input.headers, authorization: 'AWS4-HMAC-SHA256 x' } }, store, opts))).toBe('InvalidArgument');
  });
});

describe('decodeBody for whole-body payloads', () => {
  const put = async (body: Buffer, claimed: string) => {
    const input = await signHeader({ method: 'PUT', path: '/bucket/k', headers: { 'x-amz-content-sha256': claimed, 'content-length': String(body.length) } });
    const ctx = await authenticate(input, store, { now: NOW });
    const d = decodeBody(Readable.from([body.subarray(0, 3), body.subarray(3)]), ctx, input.headers);
    const chunks: Buffer[] = [];
    for await (const c of d.stream) chunks.push(c as Buffer);
    return { data: Buffer.concat(chunks), size: d.size };
  };

  it('passes a body whose SHA-256 matches the signed one', async () => {
    const body = Buffer.from('hello, world');
    const sha = createHash('sha256').update(body).digest('hex');
    await expect(put(body, sha)).resolves.toEqual({ data: body, size: body.length });
  });

  it('fails the stream with XAmzContentSHA256Mismatch when it does not', async () => {
    const sha = createHash('sha256').update('something else').digest('hex');
    expect(await code(put(Buffer.from('hello, world'), sha))).toBe('XAmzContentSHA256Mismatch');
  });

  it('returns the raw stream untouched for UNSIGNED-PAYLOAD', async () => {
    const input = await signHeader({ method: 'PUT', path: '/b/k', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-encoding': 'gzip' } });
    const ctx = await authenticate(input, store, { now: NOW });
    const raw = Readable.from([Buffer.from('x')]);
    const d = decodeBody(raw, ctx, input.headers);
    expect(d.stream).toBe(raw);
    expect(d.contentEncoding).toBe('gzip');
  });
});
