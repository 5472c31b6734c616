import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openObjectLayer } from './index.js';
import { SetListCursor } from './listing.js';
import type { ErasureObjectLayer } from './object-layer-impl.js';
import type { ObjectRecord } from './metadata-record.js';
import { bodyOf, tempDrives } from './test-support.js';

let ctx: Awaited<ReturnType<typeof tempDrives>>;
let ol: ErasureObjectLayer;

beforeEach(async () => {
  ctx = await tempDrives(6);
  ol = (await openObjectLayer({ drives: ctx.drives, standardParity: 2, inlineThreshold: 4096 })) as ErasureObjectLayer;
  await ol.makeBucket('bkt');
});
afterEach(async () => {
  await ol.close();
  await ctx.cleanup();
});

async function listAll(maxKeys = 1000): Promise<{ keys: string[]; etags: string[]; pages: number }> {
  const keys: string[] = [];
  const etags: string[] = [];
  let after: string | undefined;
  let pages = 0;
  for (;;) {
    const r = await ol.listObjects('bkt', { maxKeys, ...(after !== undefined ? { after } : {}) });
    pages++;
    for (const o of r.objects) {
      keys.push(o.key);
      etags.push(o.etag);
    }
    if (!r.isTruncated) return { keys, etags, pages };
    after = r.nextAfter;
  }
}

/** Deterministic PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x / 0x80000000;
  };
}

describe('listing a 4+2 set from 4 scanned drives', () => {
  it('lists exactly what quorum over all drives says, whatever the drives disagree on', async () => {
    const set = ol.sets[0]!;
    const drives = set.drives.map((d) => d!);
    const rand = rng(42);
    const expected = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const key = `k${String(i).padStart(2, '0')}`;
      await ol.putObject('bkt', key, bodyOf(Buffer.from(key)), { size: 3 });
      const rec1 = drives[0]!.getObject('bkt', key)!;
      const rec2: ObjectRecord = { ...rec1, modTime: rec1.modTime + 1, dataDir: randomUUID(), etag: `v2-${key}` };
      let v1 = 0;
      let v2 = 0;
      for (const d of drives) {
        const r = rand();
        if (r < 0.5) v1++;
        else if (r < 0.85) {
          v2++;
          await d.commitObject('bkt', key, rec2);
        } else await d.deleteObject('bkt', key);
      }
      if (v2 >= 4) expected.set(key, rec2.etag);
      else if (v1 >= 4) expected.set(key, rec1.etag);
    }
    // The patterns must include the interesting cases for the test to mean anything.
    expect(expected.size).toBeGreaterThan(5);
    expect(expected.size).toBeLessThan(40);
    const got = await listAll();
    expect(got.keys).toEqual([...expected.keys()]);
    expect(got.etags).toEqual([...expected.values()]);
    const paged = await listAll(3);
    expect(paged.keys).toEqual([...expected.keys()]);
  });

  it('needs no point lookups when the drives agree, and finds keys held mostly by unscanned drives', async () => {
    for (const key of ['a', 'b', 'c']) await ol.putObject('bkt', key, bodyOf(Buffer.from(key)), { size: 1 });
    const set = ol.sets[0]!;
    const healthy = new SetListCursor(set, 'bkt', '', { left: 100 });
    healthy.seek(Buffer.alloc(0));
    const seen: string[] = [];
    for (let it = healthy.next(); it; it = healthy.next()) seen.push(it.key);
    healthy.close();
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(healthy.lookups).toBe(0);
    // 'b' now on slots 2..5 only: 2 scanned holders + 2 unscanned = k.
    await set.drives[0]!.deleteObject('bkt', 'b');
    await set.drives[1]!.deleteObject('bkt', 'b');
    const degraded = new SetListCursor(set, 'bkt', '', { left: 100 });
    degraded.seek(Buffer.alloc(0));
    seen.length = 0;
    for (let it = degraded.next(); it; it = degraded.next()) seen.push(it.key);
    degraded.close();
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(degraded.lookups).toBe(1);
    await set.drives[2]!.deleteObject('bkt', 'b');
    expect((await listAll()).keys).toEqual(['a', 'c']);
  });

  it('still lists everything with a drive offline', async () => {
    for (const key of ['x', 'y', 'z']) await ol.putObject('bkt', key, bodyOf(Buffer.from(key)), { size: 1 });
    const set = ol.sets[0]!;
    const saved = set.drives[0]!;
    set.drives[0] = null;
    try {
      expect((await listAll()).keys).toEqual(['x', 'y', 'z']);
      expect((await ol.getObject('bkt', 'y')).info.size).toBe(1);
    } finally {
      set.drives[0] = saved;
    }
  });

  it('bounds the keys examined per call: a run below quorum ends the page early, and paging continues', async () => {
    const set = ol.sets[0]!;
    await ol.putObject('bkt', 'zz-real', bodyOf(Buffer.from('r')), { size: 1 });
    const template = set.drives[0]!.getObject('bkt', 'zz-real')!;
    // 20 keys that exist on one drive only (leftovers): never listed.
    for (let i = 0; i < 20; i++) {
      await set.drives[i % 4]!.commitObject('bkt', `junk-${String(i).padStart(2, '0')}`, { ...template, dataDir: randomUUID() });
    }
    const first = await ol.listObjects('bkt', { maxKeys: 1 });
    // Budget: 1 key × 6 drives skipped, the 7th skipped key ends the page, truncated and empty.
    expect(first.objects).toEqual([]);
    expect(first.isTruncated).toBe(true);
    expect(first.nextAfter).toBe('junk-06');
    const all = await listAll(1);
    expect(all.keys).toEqual(['zz-real']);
    expect(all.pages).toBeGreaterThan(3);
    expect((await listAll()).keys).toEqual(['zz-real']);
  });
});
