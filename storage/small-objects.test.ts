import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openObjectLayer } from './index.js';
import type { CheckedDrive } from './checked-drive.js';
import type { LocalDrive } from './local-drive.js';
import { objectRecordInline } from './metadata-record.js';
import type { ErasureObjectLayer } from './object-layer-impl.js';
import { bodyOf, pattern, readAll, tempDrives } from './test-support.js';

/** The small-object fast paths: declared-size bodies read whole, inline coding, resolve by bytes. */

let ctx: Awaited<ReturnType<typeof tempDrives>>;
let ol: ErasureObjectLayer;

beforeEach(async () => {
  ctx = await tempDrives(6);
  ol = (await openObjectLayer({ drives: ctx.drives, standardParity: 2, inlineThreshold: 8192 })) as ErasureObjectLayer;
  await ol.makeBucket('bkt');
});
afterEach(async () => {
  await ol.close();
  await ctx.cleanup();
});

describe('small objects', () => {
  it('rejects bodies longer or shorter than declared, and aborted ones, leaving nothing', async () => {
    await expect(ol.putObject('bkt', 'long', bodyOf(Buffer.alloc(20)), { size: 10 })).rejects.toMatchObject({ code: 'IncompleteBody' });
    await expect(ol.putObject('bkt', 'short', bodyOf(Buffer.alloc(10)), { size: 20 })).rejects.toMatchObject({ code: 'IncompleteBody' });
    const ac = new AbortController();
    const never = new Readable({ read() {} });
    const p = ol.putObject('bkt', 'aborted', never, { size: 10, signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'Aborted' });
    const broken = new Readable({ read() {} });
    const q = ol.putObject('bkt', 'broken', broken, { size: 10 });
    broken.destroy(new Error('socket hang up'));
    await expect(q).rejects.toThrow('socket hang up');
    await expect(ol.putObject('bkt', 'md5', bodyOf(Buffer.from('x')), { size: 1, contentMd5: 'AAAAAAAAAAAAAAAAAAAAAA==' })).rejects.toMatchObject({ code: 'BadDigest' });
    expect((await ol.listObjects('bkt')).objects).toEqual([]);
  });

  it('reads back through parity when an inline data shard is corrupt or missing', async () => {
    const data = pattern(5000, 3);
    await ol.putObject('bkt', 'k', bodyOf(data), { size: data.length });
    const set = ol.sets[0]!;
    const rec = set.drives[0]!.getObject('bkt', 'k')!;
    const slotOfShard0 = rec.layout.distribution.indexOf(0);
    const slotOfShard1 = rec.layout.distribution.indexOf(1);
    // Flip the last byte of shard 0's block inside its stored record (bitrot in the metadata).
    const d = (set.drives[slotOfShard0] as CheckedDrive).innerDrive as LocalDrive;
    const raw = d.getObjectRaw('bkt', 'k')!;
    const inline = objectRecordInline(raw)!;
    raw[raw.indexOf(inline) + inline.length - 1]! ^= 0xff;
    await (d as unknown as { objects: { put(k: Buffer, v: Buffer): Promise<boolean> } }).objects.put(Buffer.from('bkt\0k'), raw);
    expect((await readAll((await ol.getObject('bkt', 'k')).stream)).equals(data)).toBe(true);
    await set.drives[slotOfShard1]!.deleteObject('bkt', 'k');
    expect((await readAll((await ol.getObject('bkt', 'k', { range: { start: 100, end: 4999 } })).stream)).equals(data.subarray(100))).toBe(true);
  });

  it('overwrites by modification time even when a drive holds a record from the future', async () => {
    await ol.putObject('bkt', 'k', bodyOf(Buffer.from('old')), { size: 3 });
    const set = ol.sets[0]!;
    const rec = set.drives[0]!.getObject('bkt', 'k')!;
    // A clock-skewed writer left a version one hour ahead on every drive.
    const future = { ...rec, modTime: rec.modTime + 3_600_000 };
    for (const d of set.drives) await d!.commitObject('bkt', 'k', future);
    const info = await ol.putObject('bkt', 'k', bodyOf(Buffer.from('new!')), { size: 4 });
    expect(info.modTime.getTime()).toBeGreaterThanOrEqual(Math.floor(future.modTime));
    expect((await readAll((await ol.getObject('bkt', 'k')).stream)).toString()).toBe('new!');
  });

  it('stops reading records once the drives read agree, and still finds the newest version', async () => {
    await ol.putObject('bkt', 'k', bodyOf(Buffer.from('v1')), { size: 2 });
    const set = ol.sets[0]!;
    let reads = 0;
    const restore = set.drives.map((d) => {
      const orig = d!.getObjectRaw.bind(d);
      d!.getObjectRaw = (b: string, k: string) => (reads++, orig(b, k));
      return () => delete (d as unknown as Record<string, unknown>).getObjectRaw;
    });
    try {
      expect((await ol.headObject('bkt', 'k')).size).toBe(2);
      expect(reads).toBe(4); // k = 4 agree, 6 − 4 < 4: the other two cannot change the answer
      // A newer version on 4 drives, including the 2 read last: all 6 must be read.
      const rec = set.drives[0]!.getObject('bkt', 'k')!;
      const newer = { ...rec, modTime: rec.modTime + 1, etag: 'newer', inline: undefined };
      const dist = rec.layout.distribution;
      const lastRead = [dist.indexOf(4), dist.indexOf(5)];
      const firstRead = [dist.indexOf(0), dist.indexOf(1)];
      for (const slot of [...lastRead, ...firstRead]) await set.drives[slot]!.commitObject('bkt', 'k', newer);
      reads = 0;
      expect((await ol.headObject('bkt', 'k')).etag).toBe('newer');
      expect(reads).toBe(6);
    } finally {
      restore.forEach((r) => r());
    }
  });
});
