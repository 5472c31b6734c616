import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { authenticate, type CredentialStore } from '../server/auth/index.js';
import { canonicalQuery, Signer, uriEncode } from './sigv4.js';

const AK = 'AKIAIOSFODNN7EXAMPLE';
const SK = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const store: CredentialStore = { lookup: async (ak) => (ak === AK ? { secretKey: SK } : undefined) };

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

const cases = [
  { method: 'PUT', path: '/bucket/put/w0/1', query: {} },
  { method: 'GET', path: '/bucket', query: { 'list-type': '2', 'max-keys': '1000', prefix: 'list/', 'continuation-token': 'list/0999+x=y' } },
  { method: 'POST', path: '/bucket/k%20ey/ü', query: { uploads: '' } },
  { method: 'PUT', path: '/bucket/mp', query: { partNumber: '3', uploadId: 'a/b+c==' } },
];

describe('bench SigV4 signer', () => {
  const now = new Date('2026-11-25T12:34:56Z');
  const signer = new Signer({ accessKey: AK, secretKey: SK, region: 'eu-west-3' });

  it.each(cases)('signs $method $path like the AWS SDK signer', async ({ method, path, query }) => {
    const encPath = path.split('/').map((p) => uriEncode(decodeURIComponent(p), false)).join('/');
    const q = canonicalQuery(query);
    const ours = signer.sign({ method, path: encPath, query: q, host: '127.0.0.1:9000', now });
    const sdk = new SignatureV4({ service: 's3', region: 'eu-west-3', credentials: { accessKeyId: AK, secretAccessKey: SK }, sha256: Sha256, uriEscapePath: false, applyChecksum: false });
    const signed = await sdk.sign(
      { method, protocol: 'http:', hostname: '127.0.0.1', port: 9000, path: encPath, query, headers: { host: '127.0.0.1:9000', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
      { signingDate: now },
    );
    const sig = (h: string) => /Signature=([0-9a-f]{64})/.exec(h)?.[1];
    expect(sig(ours.authorization!)).toBe(sig(String(signed.headers.authorization)));
  });

  it.each(cases)('passes Cairn verification for $method $path', async ({ method, path, query }) => {
    const encPath = path.split('/').map((p) => uriEncode(decodeURIComponent(p), false)).join('/');
    const q = canonicalQuery(query);
    const headers = signer.sign({ method, path: encPath, query: q, host: 'localhost:9000', now });
    const ctx = await authenticate({ method, rawUrl: q ? `${encPath}?${q}` : encPath, headers }, store, { now });
    expect(ctx.accessKey).toBe(AK);
    expect(ctx.payloadMode).toBe('unsigned');
    // A changed path must not verify.
    await expect(authenticate({ method, rawUrl: encPath + 'x', headers }, store, { now })).rejects.toThrow();
  });
});
