import { describe, expect, it } from 'vitest';
import { AggregatorRegistry } from 'prom-client';
import type { HealStatus } from '../storage/heal/types.js';
import type { StorageTopology } from '../storage/object-layer.js';
import { CairnMetrics } from './metrics.js';

const topology = (): StorageTopology => ({
  deploymentId: 'd',
  sets: [
    { index: 0, drives: [{ path: '/a1', state: 'online' }, { path: '/a2', state: 'online' }], dataShards: 1, parityShards: 1, readQuorum: 1, writeQuorum: 2 },
    { index: 1, drives: [{ path: '/b1', state: 'healing' }, { path: '/b2', state: 'online' }], dataShards: 1, parityShards: 1, readQuorum: 1, writeQuorum: 2 },
  ],
  storageClasses: {},
});

const status = (): HealStatus => ({
  active: true,
  queue: { length: 7, dropped: 2 },
  rebuilds: [
    {
      set: 1, // the healer's own numbering; the label follows the drive gauges (found by path)
      slot: 0,
      path: '/b1',
      objectsScanned: 40,
      objectsHealed: 38,
      objectsFailed: 1,
      bytesDone: 4096,
      objectsTotal: 100,
      objectsPerSecond: 10,
      bytesPerSecond: 1000,
      etaSeconds: 6,
      startedAt: 't',
      updatedAt: 't',
    },
  ],
  sweeps: [],
  scanner: { objectsScanned: 55, objectsHealed: 0, objectsFailed: 0, bytesDone: 0, objectsPerSecond: 1, bytesPerSecond: 0, startedAt: 't', updatedAt: 't', mode: 'normal', cycle: 3, running: true },
  totals: { objectsHealed: 12, bytesHealed: 3_000_000, failures: 1, orphansRemoved: 0, danglingRemoved: 0 },
  updatedAt: 't',
});

describe('heal metrics', () => {
  it('read 0 until the heal source is set, then the published status', async () => {
    const m = new CairnMetrics({ topology });
    const before = await m.render();
    expect(before).toContain('cairn_heal_objects_total 0');
    expect(before).toContain('cairn_heal_queue_length 0');
    expect(before).toContain('cairn_heal_active 0');
    expect(before).not.toContain('cairn_heal_eta_seconds{');

    m.reportHealing(async () => status());
    const text = await m.render();
    expect(text).toContain('cairn_heal_objects_total 12');
    expect(text).toContain('cairn_heal_bytes_total 3000000');
    expect(text).toContain('cairn_heal_failures_total 1');
    expect(text).toContain('cairn_heal_queue_length 7');
    expect(text).toContain('cairn_heal_queue_dropped_total 2');
    expect(text).toContain('cairn_heal_active 1');
    expect(text).toContain('cairn_scanner_objects_total 55');
    expect(text).toContain('cairn_heal_rebuild_objects_remaining{set="2",drive="/b1"} 60');
    expect(text).toContain('cairn_heal_eta_seconds{set="2",drive="/b1"} 6');
  });

  it('a failing source reads as no healer rather than failing the scrape', async () => {
    const m = new CairnMetrics({ topology });
    m.reportHealing(async () => {
      throw new Error('status file unreadable');
    });
    expect(await m.render()).toContain('cairn_heal_objects_total 0');
  });

  it('merged across workers with max: N workers reporting one healer do not multiply it', async () => {
    const workers = [new CairnMetrics({ topology }), new CairnMetrics({ topology })];
    for (const w of workers) w.reportHealing(async () => status());
    const merged = await AggregatorRegistry.aggregate(await Promise.all(workers.map((w) => w.registry.getMetricsAsJSON()))).metrics();
    expect(merged).toContain('cairn_heal_objects_total 12');
    expect(merged).toContain('cairn_heal_queue_length 7');
    expect(merged).toContain('cairn_heal_eta_seconds{set="2",drive="/b1"} 6');
  });
});
