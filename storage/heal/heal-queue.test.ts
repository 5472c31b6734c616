import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openObjectLayer } from '../index.js';
import { slotsByShard } from '../erasure-set.js';
import type { ErasureObjectLayer } from '../object-layer-impl.js';
import { bodyOf, pattern, readAll, tempDrives } from '../test-support.js';
import { healObject } from './heal-object.js';
import { HealQueue } from './heal-queue.js';

let ctx: Awaited<ReturnType<typeof tempDrives>>;
let ol: ErasureObjectLayer;
const BLOCK = 64 * 1024;
const open = async () => (ol = (await openObjectLayer({ drives: ctx.drives, blockSize: BLOCK, inlineThreshold: 1024 })) as ErasureObjectLayer);
const set = () => ol.sets[0]!;
const drive = (slot: number) => set().drives[slot]!;

beforeEach(async () => {
  ctx = await tempDrives(4);
  await open();
  await ol.makeBucket('bkt');
});
afterEach(async () => {
  await ol.close().catch(() => {});
  await ctx.cleanup();
});

const shardPath = (slot: number, key: string) => {
  const rec = ol.sets[0]!.drives.find((d) => d?.getObject('bkt', key))!.getObject('bkt', key)!;
  return join(ctx.drives[slot]!, 'data', rec.dataDir.slice(0, 2), rec.dataDir, 'part.1');
};
const sha = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

/** What a healer does: take, heal (deep for degraded reads: the cause may be bitrot), done. */
async function drain(q: HealQueue): Promise<string[]> {
  const healed: string[] = [];
  for (const t of q.take(100)) {
    const r = await healObject(t.set, t.bucket, t.key, { deep: t.reason === 'read' });
    expect(r.state).toMatch(/ok|healed/);
    if (r.state === 'healed') healed.push(t.key);
    await q.done(t.set, [t]);
  }
  return healed;
}

describe('HealQueue', () => {
  it('dedups, persists on every online drive of the set, takes the union, forgets on done', async () => {
    const q = ol.healQueue;
    q.queue('bkt', 'a', 'read');
    q.queue('bkt', 'a', 'write');
    q.queue('bkt', 'b', 'scanner');
    // Visible to take() before the flush, and once only.
    expect(q.take(10).map((t) => [t.key, t.reason])).toEqual([
      ['a', 'write'],
      ['b', 'scanner'],
    ]);
    expect(q.length()).toBe(2);
    await q.flush();
    for (let slot = 0; slot < 4; slot++) expect(drive(slot).healQueue(10).map((i) => i.key)).toEqual(['a', 'b']);
    // A hint only one drive holds (the others lost theirs) is still taken.
    await drive(2).queueHeal([{ bucket: 'bkt', key: 'c', reason: 'delete', queuedAt: 1 }]);
    const taken = q.take(10);
    expect(taken.map((t) => t.key)).toEqual(['a', 'b', 'c']);
    expect(taken.every((t) => t.set === set())).toBe(true);
    expect(q.take(2).map((t) => t.key)).toEqual(['a', 'b']);
    await q.done(set(), [{ bucket: 'bkt', key: 'a' }, { bucket: 'bkt', key: 'c' }]);
    for (let slot = 0; slot < 4; slot++) expect(drive(slot).healQueue(10).map((i) => i.key)).toEqual(['b']);
    expect(q.length()).toBe(1);
  });

  it('flushes by itself, and drops (and counts) hints beyond the per-drive limit', async () => {
    const q = new HealQueue(ol.sets, () => set(), { queueLimit: 3, flushMs: 10 });
    for (const k of ['k1', 'k2']) q.queue('bkt', k, 'write');
    // The timer writes them without anyone calling flush().
    for (let i = 0; i < 200 && drive(0).healQueueSize() < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(drive(0).healQueueSize()).toBe(2);
    for (const k of ['k3', 'k4', 'k5']) q.queue('bkt', k, 'write');
    await q.flush();
    expect(q.dropped).toBe(2);
    expect(drive(3).healQueue(10).map((i) => i.key)).toEqual(['k1', 'k2', 'k3']);
    await q.close();
    q.queue('bkt', 'after-close', 'write');
    expect(q.take(10).map((t) => t.key)).not.toContain('after-close');
  });
});

describe('healing through the queue', () => {
  it('a degraded GET serves the right bytes and queues the key persistently; draining heals it', async () => {
    const data = pattern(3 * BLOCK + 9, 21);
    await ol.putObject('bkt', 'o', bodyOf(data));
    // Damage the slot that holds data shard 0, which every read uses.
    const slot = slotsByShard(drive(0).getObject('bkt', 'o')!.layout)[0]!;
    const file = shardPath(slot, 'o');
    const good = await sha(file);
    await writeFile(file, (await readFile(file)).subarray(0, 1000));
    expect((await readAll((await ol.getObject('bkt', 'o')).stream)).equals(data)).toBe(true);
    // Survives a restart: close (flushes), reopen, the drives still have it.
    await ol.close();
    await open();
    expect(drive(0).healQueue(10)).toEqual([expect.objectContaining({ bucket: 'bkt', key: 'o', reason: 'read' })]);
    expect(await drain(ol.healQueue)).toEqual(['o']);
    expect(await sha(file)).toBe(good);
    expect(ol.healQueue.length()).toBe(0);
  });

  it('a PUT with a drive offline queues the key; with the drive back, draining the queue completes it', async () => {
    await ol.close();
    const fmt = join(ctx.drives[3]!, '.cairn', 'format.json');
    const saved = await readFile(fmt);
    await writeFile(fmt, 'not a format record');
    await open();
    expect(set().onlineDrives()).toHaveLength(3);
    const data = pattern(2 * BLOCK + 3, 22);
    await ol.putObject('bkt', 'p', bodyOf(data));
    await ol.putObject('bkt', 'small', bodyOf(pattern(100, 23)), { size: 100 });
    await ol.close();
    await writeFile(fmt, saved);
    await open();
    expect(drive(3).getObject('bkt', 'p')).toBeUndefined();
    expect(ol.healQueue.take(10).map((t) => [t.key, t.reason])).toEqual([
      ['p', 'write'],
      ['small', 'write'],
    ]);
    expect((await drain(ol.healQueue)).sort()).toEqual(['p', 'small']);
    expect(drive(3).getObjectRaw('bkt', 'p')!.equals(drive(0).getObjectRaw('bkt', 'p')!)).toBe(true);
    expect(drive(3).getObject('bkt', 'small')!.inline).toBeDefined();
    expect(ol.healQueue.length()).toBe(0);
    // Drive 3's shard is right: read with only it and one other drive holding shards.
    for (const s of [0, 1]) await rm(shardPath(s, 'p'));
    expect((await readAll((await ol.getObject('bkt', 'p')).stream)).equals(data)).toBe(true);
  });
});
