import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseByteSize } from './config.js';

const base = { CAIRN_ROOT_USER: 'admin', CAIRN_ROOT_PASSWORD: 'password1' };
const load = (env: Record<string, string>) => loadConfig({ drives: ['/d1'] }, { ...base, ...env });

describe('CAIRN_SCANNER_*', () => {
  it('defaults: 200 objects/s, 64 MiB/s, normal, every hour', () => {
    expect(load({}).scanner).toEqual({ objectsPerSecond: 200, bytesPerSecond: 64 * 1024 * 1024, mode: 'normal', intervalMs: 3_600_000 });
  });

  it('reads rate, mode, interval (as other durations) and byte rate', () => {
    expect(load({ CAIRN_SCANNER_RATE: '0', CAIRN_SCANNER_MODE: 'DEEP', CAIRN_SCANNER_INTERVAL: '30s', CAIRN_SCANNER_BYTES_RATE: '500MB' }).scanner).toEqual({
      objectsPerSecond: 0,
      bytesPerSecond: 500_000_000,
      mode: 'deep',
      intervalMs: 30_000,
    });
    expect(load({ CAIRN_SCANNER_INTERVAL: '10m' }).scanner.intervalMs).toBe(600_000);
    expect(load({ CAIRN_SCANNER_INTERVAL: '250ms' }).scanner.intervalMs).toBe(250);
  });

  it('refuses nonsense', () => {
    expect(() => load({ CAIRN_SCANNER_RATE: '-1' })).toThrow(ConfigError);
    expect(() => load({ CAIRN_SCANNER_RATE: 'fast' })).toThrow(/CAIRN_SCANNER_RATE/);
    expect(() => load({ CAIRN_SCANNER_MODE: 'paranoid' })).toThrow(/CAIRN_SCANNER_MODE/);
    expect(() => load({ CAIRN_SCANNER_INTERVAL: 'soon' })).toThrow(/CAIRN_SCANNER_INTERVAL/);
    expect(() => load({ CAIRN_SCANNER_BYTES_RATE: '64 lots' })).toThrow(/CAIRN_SCANNER_BYTES_RATE/);
    expect(() => load({ CAIRN_SCANNER_BYTES_RATE: '0' })).toThrow(/CAIRN_SCANNER_BYTES_RATE/);
  });

  it('parseByteSize: binary and decimal units, bare bytes', () => {
    expect(parseByteSize('x', '4096')).toBe(4096);
    expect(parseByteSize('x', '1KiB')).toBe(1024);
    expect(parseByteSize('x', '1.5 GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseByteSize('x', '2kb')).toBe(2000);
  });
});
