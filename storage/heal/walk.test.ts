import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openObjectLayer } from '../index.js';
import type { ErasureObjectLayer } from '../object-layer-impl.js';
import { bodyOf, pattern, tempDrives } from '../test-support.js';
import { walkKeys } from './walk.js';

let ctx: Awaited<ReturnType<typeof tempDrives>>;
let ol: ErasureObjectLayer;

beforeEach(async () => {
  ctx = await tempDrives(4);
  ol = (await openObjectLayer({ drives: ctx.drives, inlineThreshold: 4096 })) as ErasureObjectLayer;
  await ol.makeBucket('bkt');
});
afterEach(async () => {
  await ol.close().catch(() => {});
  await ctx.cleanup();
});

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const k of it) out.push(k);
  return out;
}

describe('walkKeys', () => {
  it('merges every drive in byte order across cursor reopens, including keys only one drive holds', async () => {
    const keys = Array.from({ length: 23 }, (_, i) => `k/${String(i).padStart(2, '0')}`);
    for (const k of keys) await ol.putObject('bkt', k, bodyOf(pattern(100, 1)));
    const set = ol.sets[0]!;
    // One key left on drive 3 only, one missing from drive 0 only.
    for (const i of [0, 1, 2]) await set.drives[i]!.deleteObject('bkt', 'k/05');
    await set.drives[0]!.deleteObject('bkt', 'k/17');
    // Keys whose UTF-16 order differs from their UTF-8 byte order.
    const astral = 'z/\u{1F600}';
    const bmp = 'z/\uFF61';
    for (const k of [bmp, astral]) await ol.putObject('bkt', k, bodyOf(pattern(10, 2)));

    const all = await collect(walkKeys(set, 'bkt', { batch: 4 }));
    expect(all).toEqual([...keys, bmp, astral]);
    expect(await collect(walkKeys(set, 'bkt', { prefix: 'k/1', batch: 3 }))).toEqual(keys.slice(10, 20));
    expect(await collect(walkKeys(set, 'bkt', { after: 'k/19', prefix: 'k/', batch: 2 }))).toEqual(keys.slice(20));
  });
});
