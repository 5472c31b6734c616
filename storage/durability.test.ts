import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openObjectLayer } from './index.js';
import type { ObjectLayer } from './object-layer.js';
import { bodyOf, generatedStream, md5Of, pattern, readAll, tempDrives } from './test-support.js';

let ctx: Awaited<ReturnType<typeof tempDrives>>;
let ol: ObjectLayer;
const BLOCK = 64 * 1024;
const open = () => openObjectLayer({ drives: ctx.drives, blockSize: BLOCK, inlineThreshold: 1024 });

beforeEach(async () => {
  ctx = await tempDrives(4);
  ol = await open();
  await ol.makeBucket('bkt');
});
afterEach(async () => {
  await ol.close().catch(() => {});
  await ctx.cleanup();
});

/** Every shard file of the store, per drive. */
async function shardFiles(drive: string): Promise<string[]> {
  const out: string[] = [];
  const root = join(drive, 'data');
  for (const a of await readdir(root).catch(() => [])) {
    for (const b of await readdir(join(root, a))) for (const f of await readdir(join(root, a, b))) out.push(join(root, a, b, f));
  }
  return out;
}

async function flipByte(file: string, at: number): Promise<void> {
  const buf = await readFile(file);
  buf[at % buf.length] ^= 0xff;
  await writeFile(file, buf);
}

describe('degraded operation', () => {
  it('reads byte-identical with any m=2 drives wiped', async () => {
    const data = pattern(5 * BLOCK + 123, 11);
    await ol.putObject('bkt', 'o', bodyOf(data));
    for (const [a, b] of [
      [0, 1],
      [1, 3],
      [2, 3],
    ] as const) {
      await ol.close();
      ol = await open();
      // Lose two drives' shard files while the store runs.
      for (const i of [a, b]) await rm(join(ctx.drives[i]!, 'data'), { recursive: true, force: true });
      expect((await readAll((await ol.getObject('bkt', 'o')).stream)).equals(data)).toBe(true);
      // Put the data back for the next pair: rewrite the object.
      await ol.putObject('bkt', 'o', bodyOf(data));
    }
  });

  it('detects flipped bytes and still serves the right bytes; m+1 corrupt → error, never wrong bytes', async () => {
    const data = pattern(4 * BLOCK, 12);
    await ol.putObject('bkt', 'o', bodyOf(data));
    await flipByte((await shardFiles(ctx.drives[0]!))[0]!, 1000);
    expect((await readAll((await ol.getObject('bkt', 'o')).stream)).equals(data)).toBe(true);
    // A second bad shard in the same block: still m = 2 failures, still correct.
    await flipByte((await shardFiles(ctx.drives[1]!))[0]!, 1000);
    expect((await readAll((await ol.getObject('bkt', 'o')).stream)).equals(data)).toBe(true);
    // A third in the same block: fewer than k good shards left.
    await flipByte((await shardFiles(ctx.drives[2]!))[0]!, 1000);
    const got = await ol.getObject('bkt', 'o');
    const chunks: Buffer[] = [];
    await expect(
      (async () => {
        for await (const c of got.stream) chunks.push(c as Buffer);
      })(),
    ).rejects.toMatchObject({ code: expect.stringMatching(/CorruptData|ReadQuorumNotReached/) });
    // What did arrive before the error is a correct prefix.
    const prefix = Buffer.concat(chunks);
    expect(prefix.equals(data.subarray(0, prefix.length))).toBe(true);
  });

  it('fails with a clear error when m+1 drives are gone', async () => {
    const data = pattern(3 * BLOCK, 13);
    await ol.putObject('bkt', 'o', bodyOf(data));
    for (const i of [0, 1, 2]) await rm(join(ctx.drives[i]!, 'data'), { recursive: true, force: true });
    await expect(ol.getObject('bkt', 'o')).rejects.toMatchObject({ code: 'ReadQuorumNotReached' });
  });

  it('refuses a write below write quorum and leaves nothing behind', async () => {
    const old = pattern(2 * BLOCK, 14);
    await ol.putObject('bkt', 'o', bodyOf(old));
    await ol.close();
    ol = await open();
    // Two broken drives: their tmp dirs become files, so shard writes fail there.
    for (const i of [0, 3]) {
      const tmp = join(ctx.drives[i]!, '.cairn', 'tmp');
      await rm(tmp, { recursive: true, force: true });
      await writeFile(tmp, 'not a dir');
    }
    await expect(ol.putObject('bkt', 'o', bodyOf(pattern(3 * BLOCK, 15)))).rejects.toMatchObject({
      code: 'WriteQuorumNotReached',
    });
    await expect(ol.putObject('bkt', 'new', bodyOf(pattern(3 * BLOCK, 16)))).rejects.toMatchObject({
      code: 'WriteQuorumNotReached',
    });
    await expect(ol.headObject('bkt', 'new')).rejects.toMatchObject({ code: 'ObjectNotFound' });
    expect((await readAll((await ol.getObject('bkt', 'o')).stream)).equals(old)).toBe(true);
    for (const d of ctx.drives) expect(await shardFiles(d)).toHaveLength(1);
  });

  it('keeps a streaming reader intact across a concurrent overwrite and delete', async () => {
    const v1 = pattern(20 * BLOCK, 17);
    await ol.putObject('bkt', 'o', bodyOf(v1));
    const got = await ol.getObject('bkt', 'o');
    const it = got.stream[Symbol.asyncIterator]();
    const first = (await it.next()).value as Buffer;
    await ol.putObject('bkt', 'o', bodyOf(pattern(20 * BLOCK, 18)));
    await ol.deleteObject('bkt', 'o');
    const rest: Buffer[] = [first];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value as Buffer);
    expect(Buffer.concat(rest).equals(v1)).toBe(true);
    for (const d of ctx.drives) expect(await shardFiles(d)).toHaveLength(0);
  });

  it('round-trips 100 MiB streamed without holding it (bounded RSS)', async () => {
    await ol.close();
    ol = await openObjectLayer({ drives: ctx.drives });
    const size = 100 * 1024 * 1024;
    const expected = await md5Of(generatedStream(size, 5));
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      const info = await ol.putObject('bkt', 'big', generatedStream(size, 5), { size });
      expect(info.etag).toBe(expected.md5);
      const got = await md5Of((await ol.getObject('bkt', 'big')).stream);
      expect(got).toEqual(expected);
    } finally {
      clearInterval(timer);
    }
    // Far below the object size: stripes and chunks only.
    expect(peak - before).toBeLessThan(60 * 1024 * 1024);
  });
});

describe('drive formats', () => {
  it('refuses a drive in the wrong slot, naming it', async () => {
    await ol.close();
    const swapped = [ctx.drives[1]!, ctx.drives[0]!, ctx.drives[2]!, ctx.drives[3]!];
    await expect(openObjectLayer({ drives: swapped })).rejects.toThrow(new RegExp(`drive ${ctx.drives[1]}.*slot`));
    ol = await open();
  });

  it('recognises a blank drive as a replacement and serves degraded meanwhile', async () => {
    const data = pattern(3 * BLOCK, 19);
    await ol.putObject('bkt', 'o', bodyOf(data));
    await ol.close();
    await rm(ctx.drives[2]!, { recursive: true, force: true });
    ol = await open();
    expect(ol.topology().sets[0]!.drives.map((d) => d.state)).toEqual(['online', 'online', 'healing', 'online']);
    expect(JSON.parse(await readFile(join(ctx.drives[2]!, '.cairn', 'format.json'), 'utf8'))).toMatchObject({
      setIndex: 0,
      slot: 2,
    });
    expect((await readAll((await ol.getObject('bkt', 'o')).stream)).equals(data)).toBe(true);
    expect((await ol.listObjects('bkt')).objects.map((o) => o.key)).toEqual(['o']);
  });
});
