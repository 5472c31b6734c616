import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const base = { CAIRN_ROOT_USER: 'admin', CAIRN_ROOT_PASSWORD: 'password1' };
const load = (env: Record<string, string>) => loadConfig({ drives: ['/d1'] }, { ...base, ...env });

describe('CAIRN_DRIVE_TIMEOUT_MS / CAIRN_DRIVE_PROBE_INTERVAL_MS', () => {
  it('unset leaves the storage defaults; set, they are read as milliseconds', () => {
    expect(load({})).toMatchObject({ driveTimeoutMs: undefined, driveProbeIntervalMs: undefined });
    expect(load({ CAIRN_DRIVE_TIMEOUT_MS: '2500', CAIRN_DRIVE_PROBE_INTERVAL_MS: '200' })).toMatchObject({
      driveTimeoutMs: 2500,
      driveProbeIntervalMs: 200,
    });
  });

  it('refuses anything but a whole number above 0', () => {
    for (const v of ['0', '-5', '1.5', '10s', 'soon']) {
      expect(() => load({ CAIRN_DRIVE_TIMEOUT_MS: v })).toThrow(ConfigError);
      expect(() => load({ CAIRN_DRIVE_PROBE_INTERVAL_MS: v })).toThrow(/CAIRN_DRIVE_PROBE_INTERVAL_MS/);
    }
  });
});
