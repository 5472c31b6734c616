import { describe, expect, it } from 'vitest';
import { loadConfig, parseDuration } from './config.js';

describe('parseDuration', () => {
  it('reads units, bare seconds and off', () => {
    expect(parseDuration('X', '24h')).toBe(86_400_000);
    expect(parseDuration('X', '90s')).toBe(90_000);
    expect(parseDuration('X', '500ms')).toBe(500);
    expect(parseDuration('X', '7d')).toBe(7 * 86_400_000);
    expect(parseDuration('X', '30')).toBe(30_000);
    expect(parseDuration('X', 'off')).toBe(0);
    expect(() => parseDuration('X', 'soon')).toThrow(/duration/);
  });

  it('defaults CAIRN_MULTIPART_EXPIRY to one day', () => {
    const env = { CAIRN_ROOT_USER: 'admin', CAIRN_ROOT_PASSWORD: 'password1' };
    expect(loadConfig({ drives: ['/tmp/x'] }, env).multipartExpiryMs).toBe(86_400_000);
    expect(loadConfig({ drives: ['/tmp/x'] }, { ...env, CAIRN_MULTIPART_EXPIRY: '2h' }).multipartExpiryMs).toBe(7_200_000);
  });
});
