import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StorageTopology } from '../storage/object-layer.js';
import { clusterInfo, readiness } from './health.js';

function topo(states: Array<'online' | 'offline' | 'healing'>, paths?: string[]): StorageTopology {
  return {
    deploymentId: 'dep',
    sets: [
      {
        index: 0,
        drives: states.map((state, i) => ({ path: paths?.[i] ?? `/nonexistent/d${i}`, state })),
        dataShards: 2,
        parityShards: 2,
        readQuorum: 2,
        writeQuorum: 3,
      },
    ],
    storageClasses: { STANDARD: { parity: 2 } },
  };
}

describe('readiness', () => {
  it('is ready with write quorum, not ready below it even when reads still work', () => {
    expect(readiness(topo(['online', 'online', 'online', 'offline'])).ready).toBe(true);
    const r = readiness(topo(['online', 'healing', 'offline', 'offline']));
    expect(r.ready).toBe(false);
    expect(r.sets[0]).toMatchObject({ set: 1, onlineDrives: 2, readable: true, writable: false });
  });

  it('counts a healing drive as online', () => {
    expect(readiness(topo(['online', 'healing', 'online', 'offline'])).ready).toBe(true);
  });
});

describe('clusterInfo', () => {
  it('sums space from statfs and leaves it out for a missing drive', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-health-'));
    try {
      const info = await clusterInfo(topo(['online', 'offline'], [dir, join(dir, 'missing')]), '1.2.3');
      expect(info.version).toBe('1.2.3');
      expect(info.ready).toBe(false);
      const [a, b] = info.sets[0]!.driveList;
      expect(a!.totalBytes).toBeGreaterThan(0);
      expect(b!.totalBytes).toBeUndefined();
      expect(info.totals).toMatchObject({ drives: 2, onlineDrives: 1, totalBytes: a!.totalBytes });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
