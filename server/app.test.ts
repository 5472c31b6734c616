import { describe, expect, it } from 'vitest';
import { redactUrl } from './app.js';

describe('redactUrl', () => {
  it('hides presigned signatures, credentials and tokens, keeping the rest', () => {
    const u = '/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F2026&X-Amz-Signature=abc123&x-amz-security-token=tok&partNumber=1';
    expect(redactUrl(u)).toBe(
      '/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=[redacted]&X-Amz-Signature=[redacted]&x-amz-security-token=[redacted]&partNumber=1',
    );
    expect(redactUrl('/plain/key')).toBe('/plain/key');
  });
});
