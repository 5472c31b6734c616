import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openObjectLayer } from '../index.js';
import type { ErasureObjectLayer } from '../object-layer-impl.js';
import { bodyOf, pattern, tempDrives, until } from '../test-support.js';

let ctx: Awaited<ReturnType<typeof tempDrives>>;
let ol: ErasureObjectLayer;
let other: ErasureObjectLayer | undefined;
const BLOCK = 64 * 1024;
const open = () => openObjectLayer({ drives: ctx.drives, blockSize: BLOCK, inlineThreshold: 1024 }) as Promise<ErasureObjectLayer>;

beforeEach(async () => {
  ctx = await tempDrives(4);
  ol = await open();
  await ol.makeBucket('bkt');
  await ol.makeBucket('other');
});
afterEach(async () => {
  await other?.close().catch(() => {});
  other = undefined;
  await ol.close().catch(() => {});
  await ctx.cleanup();
});

async function firstShardFile(drive: string): Promise<string> {
  const root = join(drive, 'data');
  for (const a of (await readdir(root)).sort()) {
    for (const b of (await readdir(join(root, a))).sort()) {
      for (const f of await readdir(join(root, a, b))) return join(root, a, b, f);
    }
  }
  throw new Error('no shard file');
}

describe('healer', () => {
  it('runs a requested sweep to done with its counts, and removes the request', async () => {
    for (let i = 0; i < 5; i++) await ol.putObject('bkt', `k${i}`, bodyOf(pattern(BLOCK + i, i + 1)));
    // Only bkt's shard files exist yet: the victim is one of them.
    const victim = await firstShardFile(ctx.drives[0]!);
    const bytes = await readFile(victim);
    await rm(victim);
    await ol.putObject('other', 'x', bodyOf(pattern(BLOCK, 9)));

    ol.startHealing({ scannerObjectsPerSecond: 0 });
    const queued = await ol.requestHeal({ bucket: 'bkt' });
    expect(queued.state).toBe('queued');
    expect(queued.id).toMatch(/[0-9a-f-]{36}/);
    await until(async () => (await ol.healStatus()).sweeps.find((s) => s.id === queued.id)?.state === 'done');
    const s = (await ol.healStatus()).sweeps.find((x) => x.id === queued.id)!;
    expect(s.bucket).toBe('bkt');
    expect(s.objectsScanned).toBe(5);
    expect(s.objectsFailed).toBe(0);
    expect(s.objectsHealed).toBe(1);
    expect(s.bytesDone).toBeGreaterThan(0);
    expect((await readFile(victim)).equals(bytes)).toBe(true);
    expect((await ol.sets[0]!.drives[0]!.listSysFiles('heal-request-')).length).toBe(0);
  });

  it('drains the heal queue: a GET that meets bitrot queues the object, the healer restores the shard', async () => {
    const data = pattern(2 * BLOCK + 5, 21);
    await ol.putObject('bkt', 'hot', bodyOf(data));
    // A data shard's drive: the GET must read it, fail its bitrot check and reconstruct.
    const slot = ol.setFor('bkt', 'hot').distribution.indexOf(0);
    const victim = await firstShardFile(ctx.drives[slot]!);
    const bytes = await readFile(victim);
    const broken = Buffer.from(bytes);
    broken[broken.length - 3]! ^= 0x55;
    await writeFile(victim, broken);
    const r = await ol.getObject('bkt', 'hot');
    for await (const _ of r.stream) {
      // drain: the read reconstructs and queues the object
    }
    await until(() => ol.healQueue.length() > 0);
    ol.startHealing({ scannerObjectsPerSecond: 0 });
    await until(async () => (await ol.healStatus()).totals.objectsHealed === 1);
    expect((await readFile(victim)).equals(bytes)).toBe(true);
    await until(() => ol.healQueue.length() === 0);
  });

  it('refuses a sweep of a missing bucket', async () => {
    await expect(ol.requestHeal({ bucket: 'nope' })).rejects.toMatchObject({ code: 'BucketNotFound' });
  });

  it('another instance on the same drives sees the published status and its own requests complete', async () => {
    for (let i = 0; i < 3; i++) await ol.putObject('bkt', `k${i}`, bodyOf(pattern(BLOCK + i, i + 1)));
    other = await open();
    const before = await other.healStatus();
    expect(before.active).toBe(false);

    ol.startHealing({ scannerObjectsPerSecond: 0 });
    await until(async () => (await other!.healStatus()).active);

    // A request made in the worker that does not heal is persisted and picked up by the healer.
    const queued = await other.requestHeal({ deep: true });
    expect(queued.deep).toBe(true);
    const seen = await other.healStatus();
    expect(seen.sweeps.some((s) => s.id === queued.id)).toBe(true);
    await until(async () => (await other!.healStatus()).sweeps.find((s) => s.id === queued.id)?.state === 'done');
    const s = (await other.healStatus()).sweeps.find((x) => x.id === queued.id)!;
    expect(s.objectsScanned).toBe(3);
    expect(s.bytesDone).toBe(0); // nothing needed writing
  });
});
