import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openObjectLayer } from '../index.js';
import type { ErasureObjectLayer } from '../object-layer-impl.js';
import type { ObjectRecord } from '../metadata-record.js';
import { slotsByShard } from '../erasure-set.js';
import { bodyOf, pattern, readAll, tempDrives } from '../test-support.js';
import { healObject } from './heal-object.js';

/** 4 drives, one set, 2 data + 2 parity; 64 KiB stripes so multi-stripe objects stay small. */
let ctx: Awaited<ReturnType<typeof tempDrives>>;
let ol: ErasureObjectLayer;
const BLOCK = 64 * 1024;
const MiB = 1024 * 1024;
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

const recordOf = (key: string): ObjectRecord => {
  for (let i = 0; i < 4; i++) {
    const r = set().drives[i]?.getObject('bkt', key);
    if (r) return r;
  }
  throw new Error(`no record of ${key}`);
};
const dataDirPath = (slot: number, dataDir: string) => join(ctx.drives[slot]!, 'data', dataDir.slice(0, 2), dataDir);
const shardPath = (slot: number, key: string, file = 'part.1') => join(dataDirPath(slot, recordOf(key).dataDir), file);

/** Every shard file of the object on every drive: slot → file → sha256 (deep-equal on MiB buffers is slow). */
async function snapshot(key: string): Promise<Array<Map<string, string>>> {
  const dd = recordOf(key).dataDir;
  return Promise.all(
    ctx.drives.map(async (_, slot) => {
      const m = new Map<string, string>();
      for (const f of await readdir(dataDirPath(slot, dd)).catch(() => [] as string[])) {
        m.set(f, createHash('sha256').update(await readFile(join(dataDirPath(slot, dd), f))).digest('hex'));
      }
      return m;
    }),
  );
}

const heal = (key: string, o: Partial<Parameters<typeof healObject>[3]> = {}) => healObject(set(), 'bkt', key, { deep: false, ...o });

describe('healObject: shard files', () => {
  it('restores a deleted shard file byte-identical; a second run finds nothing to do', async () => {
    const data = pattern(5 * BLOCK + 77, 1);
    await ol.putObject('bkt', 'o', bodyOf(data));
    const before = await snapshot('o');
    await rm(shardPath(1, 'o'));
    const r = await heal('o');
    expect(r).toMatchObject({ state: 'healed', slotsHealed: [1] });
    expect(r.bytesWritten).toBe((await readFile(shardPath(0, 'o'))).length);
    expect(await snapshot('o')).toEqual(before);
    expect(await heal('o')).toMatchObject({ state: 'ok', slotsHealed: [], bytesWritten: 0 });
  });

  it('finds a flipped byte only in deep mode, and restores the shard', async () => {
    const data = pattern(3 * BLOCK, 2);
    await ol.putObject('bkt', 'o', bodyOf(data));
    const before = await snapshot('o');
    const file = shardPath(2, 'o');
    const bad = await readFile(file);
    bad[bad.length - 100]! ^= 0x01;
    await writeFile(file, bad);
    // Normal mode checks presence, header and size only.
    expect(await heal('o')).toMatchObject({ state: 'ok', bytesVerified: 0 });
    expect((await readFile(file)).equals(bad)).toBe(true);
    const r = await heal('o', { deep: true });
    expect(r).toMatchObject({ state: 'healed', slotsHealed: [2] });
    expect(r.bytesVerified).toBeGreaterThan(3 * bad.length);
    expect(await snapshot('o')).toEqual(before);
  });

  it('also rebuilds a source found corrupt while it was read for the rebuild (normal mode)', async () => {
    await ol.putObject('bkt', 'o', bodyOf(pattern(3 * BLOCK, 17)));
    const slotOf = slotsByShard(recordOf('o').layout);
    const before = await snapshot('o');
    // A parity shard is missing; data shard 0 (read to rebuild it) has a flipped byte nobody checked yet.
    await rm(shardPath(slotOf[2]!, 'o'));
    const file = shardPath(slotOf[0]!, 'o');
    const bad = await readFile(file);
    bad[100]! ^= 0x10;
    await writeFile(file, bad);
    const r = await heal('o');
    expect(r).toMatchObject({ state: 'healed', slotsHealed: [slotOf[0]!, slotOf[2]!].sort() });
    expect(await snapshot('o')).toEqual(before);
  });

  it('restores a truncated shard file (wrong size)', async () => {
    await ol.putObject('bkt', 'o', bodyOf(pattern(2 * BLOCK + 5, 3)));
    const before = await snapshot('o');
    await writeFile(shardPath(0, 'o'), (await readFile(shardPath(0, 'o'))).subarray(0, 1000));
    expect(await heal('o')).toMatchObject({ state: 'healed', slotsHealed: [0] });
    expect(await snapshot('o')).toEqual(before);
  });

  it('restores a missing record: metadata only when the files are there, files and record when not', async () => {
    await ol.putObject('bkt', 'o', bodyOf(pattern(2 * BLOCK, 4)));
    const raw = drive(0).getObjectRaw('bkt', 'o')!;
    const before = await snapshot('o');
    await drive(3).deleteObject('bkt', 'o');
    let r = await heal('o');
    expect(r).toMatchObject({ state: 'healed', slotsHealed: [3], bytesWritten: 0 });
    expect(drive(3).getObjectRaw('bkt', 'o')!.equals(raw)).toBe(true);

    await drive(3).deleteObject('bkt', 'o');
    await rm(dataDirPath(3, recordOf('o').dataDir), { recursive: true });
    r = await heal('o');
    expect(r).toMatchObject({ state: 'healed', slotsHealed: [3] });
    expect(r.bytesWritten).toBeGreaterThan(0);
    expect(drive(3).getObjectRaw('bkt', 'o')!.equals(raw)).toBe(true);
    expect(await snapshot('o')).toEqual(before);
  });

  it('heals two slots at once (m = 2 lost) and only the target slot when asked', async () => {
    const data = pattern(4 * BLOCK + 1, 5);
    await ol.putObject('bkt', 'o', bodyOf(data));
    const before = await snapshot('o');
    await rm(shardPath(0, 'o'));
    await rm(shardPath(3, 'o'));
    expect(await heal('o', { targetSlots: [3] })).toMatchObject({ state: 'healed', slotsHealed: [3] });
    expect((await snapshot('o'))[0]!.size).toBe(0);
    expect((await snapshot('o'))[3]).toEqual(before[3]);
    await rm(shardPath(3, 'o'));
    expect(await heal('o')).toMatchObject({ state: 'healed', slotsHealed: [0, 3] });
    expect(await snapshot('o')).toEqual(before);
    expect((await readAll((await ol.getObject('bkt', 'o')).stream)).equals(data)).toBe(true);
  });

  it('fails (and changes nothing) when fewer than k good shards are left', async () => {
    await ol.putObject('bkt', 'o', bodyOf(pattern(2 * BLOCK, 6)));
    for (const slot of [0, 1, 2]) await rm(shardPath(slot, 'o'));
    const r = await heal('o');
    expect(r.state).toBe('failed');
    expect(r.slotsHealed).toEqual([]);
    expect((await snapshot('o')).map((m) => m.size)).toEqual([0, 0, 0, 1]);
  });

  it('heals a multipart object part by part: a missing middle part file on one drive', async () => {
    const up = await ol.createMultipartUpload('bkt', 'mp');
    const parts = [pattern(5 * MiB, 7), pattern(5 * MiB + 3, 8), pattern(1234, 9)];
    const infos = [];
    for (let i = 0; i < 3; i++) infos.push(await ol.putObjectPart('bkt', 'mp', up.uploadId, i + 1, bodyOf(parts[i]!)));
    await ol.completeMultipartUpload('bkt', 'mp', up.uploadId, infos.map((p, i) => ({ partNumber: i + 1, etag: p.etag })));
    const rec = recordOf('mp');
    expect(rec.parts).toHaveLength(3);
    const before = await snapshot('mp');
    expect(before[2]!.size).toBe(3);
    await rm(shardPath(2, 'mp', rec.parts[1]!.file));
    // And the whole data dir of another drive.
    await rm(dataDirPath(0, rec.dataDir), { recursive: true });
    const r = await heal('mp');
    expect(r).toMatchObject({ state: 'healed', slotsHealed: [0, 2] });
    expect(await snapshot('mp')).toEqual(before);
    expect((await readAll((await ol.getObject('bkt', 'mp')).stream)).equals(Buffer.concat(parts))).toBe(true);
  });

  it('heals an SSE-C object without its key (shards hold ciphertext)', async () => {
    const sse = { type: 'SSE-C' as const, customerKey: randomBytes(32) };
    const data = pattern(3 * BLOCK + 11, 10);
    await ol.putObject('bkt', 'enc', bodyOf(data), { sse });
    expect(recordOf('enc').sse).toBeDefined();
    const before = await snapshot('enc');
    await rm(shardPath(1, 'enc'));
    expect(await heal('enc')).toMatchObject({ state: 'healed', slotsHealed: [1] });
    expect(await snapshot('enc')).toEqual(before);
    // Readable from any k drives, including the healed one.
    await rm(shardPath(0, 'enc'));
    await rm(shardPath(2, 'enc'));
    expect((await readAll((await ol.getObject('bkt', 'enc', { sse })).stream)).equals(data)).toBe(true);
  });
});

describe('healObject: races', () => {
  it('an overwrite landing while a slot is rebuilt wins; the rebuilt data dir is removed', async () => {
    await ol.putObject('bkt', 'o', bodyOf(pattern(2 * BLOCK, 18)));
    const old = recordOf('o');
    await drive(3).deleteObject('bkt', 'o');
    await rm(dataDirPath(3, old.dataDir), { recursive: true });
    const v2 = pattern(BLOCK + 5, 19);
    const real = drive(3);
    let fired = false;
    // Drive 3 runs the overwrite right after the heal's shard file is written, before its record commits.
    set().drives[3] = new Proxy(real, {
      get(target, prop) {
        if (prop === 'createShardWriter') {
          return (tmpId: string, file: string) => {
            const w = target.createShardWriter(tmpId, file);
            if (!tmpId.startsWith('heal-') || fired) return w;
            return {
              ...w,
              finish: async () => {
                await w.finish();
                fired = true;
                await ol.putObject('bkt', 'o', bodyOf(v2));
              },
            };
          };
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    try {
      const r = await heal('o');
      expect(fired).toBe(true);
      expect(r, String(r.error)).toMatchObject({ state: 'ok', slotsHealed: [] });
    } finally {
      set().drives[3] = real;
    }
    expect(real.getObject('bkt', 'o')!.dataDir).not.toBe(old.dataDir);
    expect(await readdir(dataDirPath(3, old.dataDir)).catch(() => 'gone')).toBe('gone');
    expect((await readAll((await ol.getObject('bkt', 'o')).stream)).equals(v2)).toBe(true);
  });
});

describe('healObject: inline objects', () => {
  it('restores the record (with its inline shard) on a drive that lost it', async () => {
    await ol.putObject('bkt', 'small', bodyOf(pattern(300, 11)), { size: 300 });
    const raws = [0, 1, 2, 3].map((s) => drive(s).getObjectRaw('bkt', 'small')!);
    expect(recordOf('small').inline).toBeDefined();
    await drive(1).deleteObject('bkt', 'small');
    const r = await heal('small');
    expect(r).toMatchObject({ state: 'healed', slotsHealed: [1] });
    expect(drive(1).getObjectRaw('bkt', 'small')!.equals(raws[1]!)).toBe(true);
  });

  it('replaces a corrupt inline shard (found in normal mode: it is in memory anyway)', async () => {
    await ol.putObject('bkt', 'small', bodyOf(pattern(500, 12)), { size: 500 });
    const good = drive(2).getObject('bkt', 'small')!;
    const rawGood = drive(2).getObjectRaw('bkt', 'small')!;
    const inline = Buffer.from(good.inline!);
    inline[inline.length - 1]! ^= 0xff;
    // Same version, damaged bytes: put it in place of the good record.
    await drive(2).deleteObject('bkt', 'small');
    await drive(2).commitObject('bkt', 'small', { ...good, inline });
    expect(await heal('small')).toMatchObject({ state: 'healed', slotsHealed: [2] });
    expect(drive(2).getObjectRaw('bkt', 'small')!.equals(rawGood)).toBe(true);
  });
});

describe('healObject: dangling records', () => {
  it('removes a record (and its data dir) that fewer than k drives hold, once past the grace period', async () => {
    await ol.putObject('bkt', 'd', bodyOf(pattern(2 * BLOCK, 13)));
    const rec = recordOf('d');
    // A delete that reached every drive but slot 2.
    for (const slot of [0, 1, 3]) await drive(slot).deleteObject('bkt', 'd');
    await expect(ol.headObject('bkt', 'd')).rejects.toMatchObject({ code: 'ObjectNotFound' });
    // Young: it might be a write still committing elsewhere.
    const young = await heal('d');
    expect(young).toMatchObject({ state: 'failed', error: { code: 'TooRecent' } });
    expect(drive(2).getObject('bkt', 'd')).toBeDefined();
    const r = await heal('d', { danglingGraceMs: 0 });
    expect(r, `${String(r.error)}; online ${set().onlineDrives().length}`).toMatchObject({ state: 'dangling-removed' });
    expect(drive(2).getObject('bkt', 'd')).toBeUndefined();
    expect(await readdir(dataDirPath(2, rec.dataDir)).catch(() => 'gone')).toBe('gone');
    expect(await heal('d')).toMatchObject({ state: 'absent' });
  });

  it('replaces the leftover of a failed newer write on one drive by the quorum version', async () => {
    await ol.putObject('bkt', 'v', bodyOf(pattern(BLOCK, 16)));
    const v1 = recordOf('v');
    const raw1 = drive(1).getObjectRaw('bkt', 'v')!;
    // A newer write that committed on slot 0 only and failed to roll back.
    await drive(0).commitObject('bkt', 'v', { ...v1, modTime: v1.modTime + 1, dataDir: randomUUID() });
    expect((await ol.headObject('bkt', 'v')).modTime.getTime()).toBe(Math.floor(v1.modTime));
    const young = await heal('v');
    expect(young).toMatchObject({ state: 'failed', error: { code: 'TooRecent' } });
    expect(drive(0).getObject('bkt', 'v')!.modTime).toBe(v1.modTime + 1);
    const r = await heal('v', { danglingGraceMs: 0 });
    expect(r, String(r.error)).toMatchObject({ state: 'healed', slotsHealed: [0], bytesWritten: 0 });
    expect(drive(0).getObjectRaw('bkt', 'v')!.equals(raw1)).toBe(true);
  });

  it('does not remove an object below read quorum while drives that may hold it are offline', async () => {
    await ol.putObject('bkt', 'q', bodyOf(pattern(2 * BLOCK, 14)));
    const rec = recordOf('q');
    await drive(1).deleteObject('bkt', 'q');
    // Slots 2 and 3 go offline: one holder online, one drive without it.
    const saved = [set().drives[2]!, set().drives[3]!];
    set().drives[2] = null;
    set().drives[3] = null;
    try {
      const r = await heal('q', { danglingGraceMs: 0 });
      expect(r).toMatchObject({ state: 'failed', error: { code: 'BelowReadQuorum' } });
      expect(drive(0).getObject('bkt', 'q')).toBeDefined();
      expect(await readdir(dataDirPath(0, rec.dataDir))).toEqual(['part.1']);
    } finally {
      set().drives[2] = saved[0]!;
      set().drives[3] = saved[1]!;
    }
    // With them back it is readable, and heals.
    expect(await heal('q')).toMatchObject({ state: 'healed', slotsHealed: [1] });
  });

  it('reports an offline slot in scope as not healed (the object stays queued)', async () => {
    await ol.putObject('bkt', 'x', bodyOf(pattern(BLOCK, 15)));
    const saved = set().drives[3]!;
    set().drives[3] = null;
    try {
      expect(await heal('x')).toMatchObject({ state: 'failed', offlineSlots: [3], error: { code: 'DriveOffline' } });
      expect(await heal('x', { targetSlots: [0] })).toMatchObject({ state: 'ok' });
    } finally {
      set().drives[3] = saved;
    }
  });
});
