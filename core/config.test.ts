import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseAddress } from './config.js';

const creds = { CAIRN_ROOT_USER: 'admin', CAIRN_ROOT_PASSWORD: 'secret-password' };

describe('loadConfig', () => {
  it('resolves flags over environment over defaults, and freezes', () => {
    const c = loadConfig({ drives: ['/d1'], region: 'eu-west-1' }, { ...creds, CAIRN_REGION: 'us-west-2', CAIRN_DOMAIN: 'S3.Example.com, b.org' });
    expect(c.region).toBe('eu-west-1');
    expect(c.domains).toEqual(['s3.example.com', 'b.org']);
    expect(c.address).toEqual({ host: '', port: 9000 });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.drives)).toBe(true);
  });

  it('refuses to start without credentials unless in dev mode', () => {
    expect(() => loadConfig({ drives: ['/d1'] }, {})).toThrow(/CAIRN_ROOT_USER/);
    const dev = loadConfig({ dev: true }, {});
    expect(dev.rootUser).toBe('cairnadmin');
    expect(dev.defaultCredentials).toBe(true);
    expect(dev.drives).toHaveLength(4);
  });

  it('parses storage-class parity and rejects nonsense', () => {
    const c = loadConfig({ drives: ['/d'] }, { ...creds, CAIRN_STORAGE_CLASS_STANDARD: 'EC:3', CAIRN_STORAGE_CLASS_RRS: 'EC:1' });
    expect([c.standardParity, c.reducedParity]).toEqual([3, 1]);
    expect(() => loadConfig({ drives: ['/d'] }, { ...creds, CAIRN_STORAGE_CLASS_STANDARD: '3' })).toThrow(/EC:N/);
    expect(() => loadConfig({ drives: ['/d'], logLevel: 'loud' }, creds)).toThrow(/log level/);
    expect(() => loadConfig({ drives: ['/d'], workers: '0' }, creds)).toThrow(/worker/);
    expect(() => loadConfig({ drives: ['/d', '/d'] }, creds)).toThrow(/twice/);
  });

  it('runs one worker per core unless told otherwise (--workers, then CAIRN_WORKERS)', () => {
    expect(loadConfig({ drives: ['/d'] }, creds).workers).toBe(availableParallelism());
    expect(loadConfig({ drives: ['/d'] }, { ...creds, CAIRN_WORKERS: '3' }).workers).toBe(3);
    expect(loadConfig({ drives: ['/d'], workers: '1' }, { ...creds, CAIRN_WORKERS: '3' }).workers).toBe(1);
    expect(loadConfig({ drives: ['/d'], workers: 'auto' }, creds).workers).toBe(availableParallelism());
    expect(() => loadConfig({ drives: ['/d'], workers: 'many' }, creds)).toThrow(/worker/);
  });

  it('expands drive patterns through the given expander', () => {
    const c = loadConfig({ drives: ['/x{1...3}'] }, creds, (a) => (a === '/x{1...3}' ? ['/x1', '/x2', '/x3'] : [a]));
    expect(c.drives).toEqual(['/x1', '/x2', '/x3']);
  });
});

describe('parseAddress', () => {
  it('accepts host:port, :port and [v6]:port', () => {
    expect(parseAddress('127.0.0.1:9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseAddress(':0')).toEqual({ host: '', port: 0 });
    expect(parseAddress('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(() => parseAddress('9000')).toThrow();
    expect(() => parseAddress('h:70000')).toThrow();
  });
});
