import { describe, expect, it } from 'vitest';
import type { Drive } from './drive.js';
import { instrumentDrive, ioStatsOf } from './drive-stats.js';

describe('instrumentDrive', () => {
  it('counts calls, failures (thrown or rejected) and time, and keeps results and `this`', async () => {
    const inner = {
      base: 40,
      sync(n: number) {
        return this.base + n;
      },
      async ok() {
        return 'fine';
      },
      async bad() {
        throw new Error('EIO');
      },
      throws() {
        throw new Error('EACCES');
      },
    };
    const { drive, stats } = instrumentDrive(inner as unknown as Drive);
    const d = drive as unknown as typeof inner;
    expect(d.sync(2)).toBe(42);
    expect(await d.ok()).toBe('fine');
    await expect(d.bad()).rejects.toThrow('EIO');
    expect(() => d.throws()).toThrow('EACCES');
    expect(d.base).toBe(40);
    expect(stats).toMatchObject({ operations: 4, errors: 2 });
    expect(stats.seconds).toBeGreaterThanOrEqual(0);
    expect(ioStatsOf(drive)).toBe(stats);
    expect(ioStatsOf(inner as unknown as Drive)).toBeUndefined();
  });
});
