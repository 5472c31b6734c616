import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openObjectLayer } from '../index.js';
import type { ErasureObjectLayer } from '../object-layer-impl.js';
import { bodyOf, pattern, readAll, shardFiles, tempDrives } from '../test-support.js';
import type { HealHost } from './host.js';
import { emptyTotals } from './host.js';
import { Scanner } from './scanner.js';
import { DEFAULT_HEAL_OPTIONS, type HealOptions } from './types.js';

let ctx: Awaited<ReturnType<typeof tempDrives>>;
let ol: ErasureObjectLayer;
const BLOCK = 64 * 1024;

beforeEach(async () => {
  ctx = await tempDrives(4);
  ol = (await openObjectLayer({ drives: ctx.drives, blockSize: BLOCK, inlineThreshold: 1024 })) as ErasureObjectLayer;
  await ol.makeBucket('bkt');
});
afterEach(async () => {
  await ol.close().catch(() => {});
  await ctx.cleanup();
});

const host = (): HealHost => ({
  sets: ol.sets,
  bucketNames: async () => (await ol.listBuckets()).map((b) => b.name),
  readBucket: (n) => ol.readBucket(n),
});

function scanner(opts: Partial<HealOptions> = {}) {
  const totals = emptyTotals();
  const s = new Scanner(host(), { ...DEFAULT_HEAL_OPTIONS, scannerObjectsPerSecond: 100_000, scannerBytesPerSecond: 1 << 30, ...opts }, totals, 0);
  return { s, totals };
}

describe('scanner', () => {
  it('deep mode finds a flipped byte and restores the shard byte-identical', async () => {
    const data = pattern(3 * BLOCK + 77, 3);
    await ol.putObject('bkt', 'obj', bodyOf(data));
    const before = await shardFiles(ctx.drives[1]!);
    expect(before.size).toBe(1);
    const [rel, orig] = [...before][0]!;
    const broken = Buffer.from(orig);
    broken[broken.length - 10]! ^= 0xff;
    await writeFile(join(ctx.drives[1]!, 'data', rel), broken);

    // Normal mode checks presence and size only: the flip stays.
    const normal = scanner({ scannerMode: 'normal' });
    await normal.s.runCycle();
    expect((await readFile(join(ctx.drives[1]!, 'data', rel))).equals(broken)).toBe(true);

    const deep = scanner({ scannerMode: 'deep' });
    await deep.s.runCycle();
    const after = await shardFiles(ctx.drives[1]!);
    expect([...after.values()].map((b) => b.equals(orig))).toEqual([true]);
    expect(deep.totals.objectsHealed).toBe(1);
    const st = deep.s.status()!;
    expect(st.mode).toBe('deep');
    expect(st.objectsScanned).toBe(1);
    expect(st.bytesDone).toBeGreaterThan(0);
    expect((await readAll((await ol.getObject('bkt', 'obj')).stream)).equals(data)).toBe(true);
  });

  it('normal mode restores a deleted shard file', async () => {
    const data = pattern(2 * BLOCK, 4);
    await ol.putObject('bkt', 'a', bodyOf(data));
    await ol.putObject('bkt', 'b', bodyOf(pattern(BLOCK, 5)));
    const before = await shardFiles(ctx.drives[3]!);
    expect(before.size).toBe(2);
    const [rel, orig] = [...before][0]!;
    await rm(join(ctx.drives[3]!, 'data', rel));

    const { s, totals } = scanner({ scannerMode: 'normal' });
    await s.runCycle();
    expect((await readFile(join(ctx.drives[3]!, 'data', rel))).equals(orig)).toBe(true);
    expect(totals.objectsHealed).toBe(1);
    expect(s.status()!.objectsScanned).toBe(2);
    expect(s.status()!.cycle).toBe(1);
  });

  it('removes orphan data dirs older than the grace period and keeps younger ones', async () => {
    await ol.putObject('bkt', 'kept', bodyOf(pattern(BLOCK, 6)));
    const drive = ctx.drives[0]!;
    const referenced = await shardFiles(drive);
    const mk = async (dir: string, ageMs: number) => {
      const p = join(drive, 'data', dir.slice(0, 2), dir);
      await mkdir(p, { recursive: true });
      await writeFile(join(p, 'part.1'), 'leftover');
      const t = new Date(Date.now() - ageMs);
      await utimes(p, t, t);
      return p;
    };
    const old = await mk('0a0a0a0a-0000-4000-8000-000000000001', 2 * 3600_000);
    const young = await mk('0b0b0b0b-0000-4000-8000-000000000002', 1000);
    // The referenced object's data dir is old too: it must stay because a record names it.
    for (const rel of referenced.keys()) {
      const t = new Date(Date.now() - 2 * 3600_000);
      await utimes(join(drive, 'data', rel, '..'), t, t);
    }

    const { s, totals } = scanner({ orphanGraceMs: 3600_000 });
    await s.runCycle();
    await expect(stat(old)).rejects.toThrow();
    expect((await stat(young)).isDirectory()).toBe(true);
    for (const [rel, bytes] of referenced) expect((await readFile(join(drive, 'data', rel))).equals(bytes)).toBe(true);
    expect(totals.orphansRemoved).toBe(1);
  });

  it('removes a dangling record that only one drive holds', async () => {
    await ol.putObject('bkt', 'gone', bodyOf(pattern(BLOCK, 7)));
    await ol.putObject('bkt', 'stays', bodyOf(pattern(BLOCK, 8)));
    // A delete that reached all drives but one.
    for (const i of [0, 1, 2]) await ol.sets[0]!.drives[i]!.deleteObject('bkt', 'gone');
    expect(ol.sets[0]!.drives[3]!.getObject('bkt', 'gone')).toBeDefined();

    const { s, totals } = scanner();
    await s.runCycle();
    expect(ol.sets[0]!.drives[3]!.getObject('bkt', 'gone')).toBeUndefined();
    expect(totals.danglingRemoved).toBe(1);
    for (const d of ol.sets[0]!.drives) expect(d!.getObject('bkt', 'stays')).toBeDefined();
  });
});
