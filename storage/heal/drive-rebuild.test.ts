import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openObjectLayer } from '../index.js';
import { decodeObjectRecord } from '../metadata-record.js';
import type { ErasureObjectLayer } from '../object-layer-impl.js';
import { bodyOf, pattern, shardFiles, tempDrives, until } from '../test-support.js';
import { REBUILD_TRACKER } from './drive-rebuild.js';

let ctx: Awaited<ReturnType<typeof tempDrives>>;
let ol: ErasureObjectLayer;
let logs: Array<Record<string, unknown>>;
const BLOCK = 64 * 1024;
const SCANNER_OFF = { scannerObjectsPerSecond: 0 };

function open(): Promise<ErasureObjectLayer> {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  return openObjectLayer({ drives: ctx.drives, blockSize: BLOCK, inlineThreshold: 1024, logger }) as Promise<ErasureObjectLayer>;
}

beforeEach(async () => {
  logs = [];
  ctx = await tempDrives(4);
  ol = await open();
});
afterEach(async () => {
  await ol.close().catch(() => {});
  await ctx.cleanup();
});

const stateOf = (slot: number) => ol.topology().sets[0]!.drives[slot]!.state;

/** Objects: some inline (≤ 1 KiB), some in shard files, in two buckets. */
async function fill(count: number): Promise<Array<[string, string]>> {
  const keys: Array<[string, string]> = [];
  for (const bucket of ['alpha', 'beta']) await ol.makeBucket(bucket);
  for (let i = 0; i < count; i++) {
    const bucket = i % 3 === 0 ? 'beta' : 'alpha';
    const key = `obj/${String(i).padStart(4, '0')}`;
    const size = i % 2 === 0 ? 300 + i : BLOCK + 1000 * i;
    await ol.putObject(bucket, key, bodyOf(pattern(size, i + 1)));
    keys.push([bucket, key]);
  }
  return keys;
}

describe('replaced drive rebuild', () => {
  it('rebuilds a wiped drive: records and shard files byte-identical, buckets back, tracker gone, online', async () => {
    const keys = await fill(12);
    const slot = 2;
    const drive = ol.sets[0]!.drives[slot]!;
    const records = new Map(keys.map(([b, k]) => [`${b}/${k}`, drive.getObjectRaw(b, k)!]));
    const shards = await shardFiles(ctx.drives[slot]!);
    expect(shards.size).toBe(6);
    await ol.close();

    await rm(ctx.drives[slot]!, { recursive: true, force: true });
    ol = await open();
    expect(stateOf(slot)).toBe('healing');
    ol.startHealing(SCANNER_OFF);
    await until(() => stateOf(slot) === 'online');

    const d = ol.sets[0]!.drives[slot]!;
    expect(d.listBuckets().map((b) => b.name).sort()).toEqual(['alpha', 'beta']);
    for (const [b, k] of keys) {
      const raw = d.getObjectRaw(b, k);
      expect(raw, `${b}/${k}`).toBeDefined();
      const want = records.get(`${b}/${k}`)!;
      expect(decodeObjectRecord(raw!)).toEqual(decodeObjectRecord(want));
      expect(raw!.equals(want), `${b}/${k} record bytes`).toBe(true);
    }
    const rebuilt = await shardFiles(ctx.drives[slot]!);
    expect([...rebuilt.keys()].sort()).toEqual([...shards.keys()].sort());
    for (const [rel, bytes] of shards) expect(rebuilt.get(rel)!.equals(bytes), rel).toBe(true);
    expect(await d.readSysFile(REBUILD_TRACKER)).toBeUndefined();
    const done = logs.find((l) => l.msg === 'drive rebuild done');
    expect(done?.objects).toBe(12);
  });

  it('another instance on the same drives (a worker without the healer) shows the drive healing until the rebuild ends', async () => {
    const keys = await fill(6);
    const slot = 3;
    await ol.close();
    await rm(ctx.drives[slot]!, { recursive: true, force: true });
    ol = await open(); // formats the blank drive and writes its tracker
    // In one process a second open removes the first one's tmp dir (same pid: "a previous
    // incarnation"), which would break the tracker write in flight: let it land first.
    await until(async () => (await ol.sets[0]!.drives[slot]!.readSysFile(REBUILD_TRACKER)) !== undefined);
    const other = await open(); // sees a formatted drive: healing only through the tracker
    try {
      const otherState = () => other.topology().sets[0]!.drives[slot]!.state;
      await until(() => otherState() === 'healing');
      ol.startHealing(SCANNER_OFF);
      await until(() => stateOf(slot) === 'online');
      await until(() => otherState() === 'online');
      for (const [b, k] of keys) expect(other.sets[0]!.drives[slot]!.getObject(b, k), `${b}/${k}`).toBeDefined();
    } finally {
      await other.close();
    }
  });

  it('resumes an interrupted rebuild from its tracker after a restart', async () => {
    const keys = await fill(90);
    const slot = 1;
    const records = new Map(keys.map(([b, k]) => [`${b}/${k}`, ol.sets[0]!.drives[slot]!.getObjectRaw(b, k)!]));
    await ol.close();
    await rm(ctx.drives[slot]!, { recursive: true, force: true });

    ol = await open();
    ol.startHealing(SCANNER_OFF);
    await until(async () => (await ol.healStatus()).rebuilds.some((r) => r.objectsScanned >= 20));
    await ol.close(); // stops the healer midway; the tracker keeps the resume point

    const saved = JSON.parse((await readFile(join(ctx.drives[slot]!, '.cairn', 'sys', REBUILD_TRACKER))).toString()) as {
      objectsScanned: number;
      bucket?: string;
      key?: string;
    };
    expect(saved.objectsScanned).toBeGreaterThanOrEqual(20);
    expect(saved.objectsScanned).toBeLessThan(keys.length);
    expect(saved.bucket).toBeDefined();

    logs = [];
    ol = await open();
    // Not blank any more, so format says online: the tracker makes it healing.
    await until(() => stateOf(slot) === 'healing');
    ol.startHealing(SCANNER_OFF);
    await until(() => stateOf(slot) === 'online');
    const started = logs.find((l) => l.msg === 'drive rebuild started');
    expect(started?.resumeAt).toBeDefined();
    // Counters continue from the tracker: each object counted once over both runs.
    expect(logs.find((l) => l.msg === 'drive rebuild done')?.objects).toBe(keys.length);
    const d = ol.sets[0]!.drives[slot]!;
    for (const [b, k] of keys) expect(d.getObjectRaw(b, k)?.equals(records.get(`${b}/${k}`)!), `${b}/${k}`).toBe(true);
    expect(await d.readSysFile(REBUILD_TRACKER)).toBeUndefined();
  });
});
