import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StorageTopology } from '../storage/object-layer.js';
import { drivesView, matchAdminHeal, setQuorum } from './admin-heal.js';

const topology = (states: Array<'online' | 'offline' | 'healing'>, paths?: string[]): StorageTopology => ({
  deploymentId: 'd',
  storageClasses: {},
  sets: [
    {
      index: 0,
      drives: states.map((state, i) => ({ path: paths?.[i] ?? `/d${i + 1}`, state, io: { operations: 10 * i, errors: 0, seconds: 0.5 } })),
      dataShards: 2,
      parityShards: 2,
      readQuorum: 2,
      writeQuorum: 3,
    },
  ],
});

describe('matchAdminHeal: which requests are the admin API, which stay S3', () => {
  it('takes plain GETs of the heal and drives paths and POSTs with heal parameters', () => {
    expect(matchAdminHeal('GET', '/cairn/admin/v1/heal', '')).toEqual({ op: 'HealStatus' });
    expect(matchAdminHeal('GET', '/cairn/admin/v1/drives', '')).toEqual({ op: 'Drives' });
    expect(matchAdminHeal('POST', '/cairn/admin/v1/heal', '')).toEqual({ op: 'HealStart', request: {} });
    expect(matchAdminHeal('POST', '/cairn/admin/v1/heal', 'bucket=b&prefix=p%2Fq&deep=true')).toEqual({
      op: 'HealStart',
      request: { bucket: 'b', prefix: 'p/q', deep: true },
    });
    expect(matchAdminHeal('POST', '/cairn/admin/v1/heal', 'deep=false')).toEqual({ op: 'HealStart', request: { deep: false } });
    // A presigned URL's parameters are the signature, not the call.
    expect(matchAdminHeal('GET', '/cairn/admin/v1/heal', 'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab&X-Amz-Credential=x')).toEqual({ op: 'HealStatus' });
  });

  it('leaves S3 calls on keys of a bucket named cairn to S3', () => {
    expect(matchAdminHeal('POST', '/cairn/admin/v1/heal', 'uploads')).toBeUndefined();
    expect(matchAdminHeal('POST', '/cairn/admin/v1/heal', 'uploadId=u1')).toBeUndefined();
    expect(matchAdminHeal('GET', '/cairn/admin/v1/heal', 'versionId=null')).toBeUndefined();
    expect(matchAdminHeal('GET', '/cairn/admin/v1/drives', 'partNumber=1')).toBeUndefined();
    expect(matchAdminHeal('PUT', '/cairn/admin/v1/heal', '')).toBeUndefined();
    expect(matchAdminHeal('DELETE', '/cairn/admin/v1/heal', '')).toBeUndefined();
    expect(matchAdminHeal('POST', '/cairn/admin/v1/drives', '')).toBeUndefined();
    expect(matchAdminHeal('GET', '/cairn/admin/v1/heal/x', '')).toBeUndefined();
    expect(matchAdminHeal('GET', '/cairn', '')).toBeUndefined();
  });
});

describe('setQuorum', () => {
  it('says ok, degraded or lost from the drives counted for quorum', () => {
    expect(setQuorum(topology(['online', 'online', 'online', 'online']))[0]).toMatchObject({ set: 1, online: 4, total: 4, quorum: 'ok', readable: true, writable: true });
    // A healing drive counts for quorum but the set is not at full redundancy.
    expect(setQuorum(topology(['online', 'healing', 'online', 'online']))[0]).toMatchObject({ online: 4, quorum: 'degraded' });
    expect(setQuorum(topology(['online', 'offline', 'offline', 'online']))[0]).toMatchObject({ online: 2, quorum: 'degraded', readable: true, writable: false });
    expect(setQuorum(topology(['offline', 'offline', 'offline', 'online']))[0]).toMatchObject({ online: 1, quorum: 'lost', readable: false });
    expect(setQuorum(topology(['online', 'offline', 'online', 'online']))[0]!.drives).toEqual([
      { slot: 1, path: '/d1', state: 'online' },
      { slot: 2, path: '/d2', state: 'offline' },
      { slot: 3, path: '/d3', state: 'online' },
      { slot: 4, path: '/d4', state: 'online' },
    ]);
  });
});

describe('drivesView', () => {
  it('lists every drive with its state, I/O counters and the space of reachable ones', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cairn-admin-drives-'));
    try {
      const view = await drivesView(topology(['online', 'offline'], [root, join(root, 'missing')]));
      expect(view.drives).toHaveLength(2);
      expect(view.drives[0]).toMatchObject({ set: 1, slot: 1, path: root, state: 'online', io: { operations: 0 } });
      expect(view.drives[0]!.totalBytes).toBeGreaterThan(0);
      expect(view.drives[0]!.freeBytes).toBeGreaterThan(0);
      expect(view.drives[1]).toMatchObject({ slot: 2, state: 'offline', io: { operations: 10 } });
      expect(view.drives[1]!.totalBytes).toBeUndefined();
      expect(view.sets[0]).toMatchObject({ online: 1, total: 2 });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
