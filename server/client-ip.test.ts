import { describe, expect, it } from 'vitest';
import { ClientIpResolver, normalizeIp, parseCidr } from './client-ip.js';

describe('ClientIpResolver', () => {
  const r = new ClientIpResolver(['10.0.0.0/8', '127.0.0.1', 'fd00::/8']);

  it('ignores forwarding headers from an untrusted peer (they are client-controlled)', () => {
    expect(r.resolve('203.0.113.9', { 'x-forwarded-for': '1.2.3.4', 'x-real-ip': '5.6.7.8' })).toBe('203.0.113.9');
  });

  it('walks X-Forwarded-For right to left past trusted hops', () => {
    // client spoofed 6.6.6.6; the real client 198.51.100.7 was appended by our first proxy
    expect(r.resolve('10.1.1.1', { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.2.2.2' })).toBe('198.51.100.7');
    expect(r.resolve('::ffff:10.1.1.1', { 'x-forwarded-for': '198.51.100.7' })).toBe('198.51.100.7');
    expect(r.resolve('fd00::1', { 'x-forwarded-for': '2001:db8::5' })).toBe('2001:db8::5');
  });

  it('uses X-Real-IP when there is no X-Forwarded-For, and the peer when neither is usable', () => {
    expect(r.resolve('127.0.0.1', { 'x-real-ip': '127.0.0.2' })).toBe('127.0.0.2');
    expect(r.resolve('127.0.0.1', { 'x-real-ip': 'garbage' })).toBe('127.0.0.1');
    expect(r.resolve('127.0.0.1', {})).toBe('127.0.0.1');
  });

  it('believes X-Forwarded-Proto only from trusted peers', () => {
    expect(r.forwardedTls('10.0.0.5', { 'x-forwarded-proto': 'https' })).toBe(true);
    expect(r.forwardedTls('192.0.2.1', { 'x-forwarded-proto': 'https' })).toBe(false);
    expect(r.forwardedTls('10.0.0.5', { 'x-forwarded-proto': 'http' })).toBe(false);
  });

  it('trusts nobody when the list is empty', () => {
    const none = new ClientIpResolver([]);
    expect(none.resolve('127.0.0.1', { 'x-real-ip': '1.1.1.1' })).toBe('127.0.0.1');
  });
});

describe('parseCidr / normalizeIp', () => {
  it('parses addresses and prefixes, rejects the rest', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('::1')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' });
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/prefix/);
    expect(() => parseCidr('example.com')).toThrow(/not an IP/);
    expect(normalizeIp('::ffff:192.168.1.1')).toBe('192.168.1.1');
    expect(normalizeIp('[::1]')).toBe('::1');
  });
});
