import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openObjectLayer } from './index.js';
import type { ObjectLayer } from './object-layer.js';
import { bodyOf, pattern, readAll, tempDrives } from './test-support.js';

let ctx: Awaited<ReturnType<typeof tempDrives>>;
let ol: ObjectLayer;

beforeEach(async () => {
  ctx = await tempDrives(4);
  ol = await openObjectLayer({ drives: ctx.drives, blockSize: 64 * 1024, inlineThreshold: 4096 });
  await ol.makeBucket('bkt');
});
afterEach(async () => {
  await ol.close();
  await ctx.cleanup();
});

const md5hex = (b: Buffer) => createHash('md5').update(b).digest('hex');

describe('object layer on one 2+2 set', () => {
  it('reports its topology', () => {
    const t = ol.topology();
    expect(t.sets).toHaveLength(1);
    expect(t.sets[0]).toMatchObject({ dataShards: 2, parityShards: 2, readQuorum: 2, writeQuorum: 3 });
    expect(t.sets[0]!.drives.map((d) => d.state)).toEqual(['online', 'online', 'online', 'online']);
  });

  it('manages buckets', async () => {
    await expect(ol.makeBucket('bkt')).rejects.toMatchObject({ code: 'BucketExists' });
    await expect(ol.makeBucket('Bad_Name')).rejects.toMatchObject({ code: 'InvalidBucketName' });
    await ol.makeBucket('other');
    expect((await ol.listBuckets()).map((b) => b.name)).toEqual(['bkt', 'other']);
    await ol.putObject('other', 'x', bodyOf(Buffer.from('x')));
    await expect(ol.deleteBucket('other')).rejects.toMatchObject({ code: 'BucketNotEmpty' });
    await ol.deleteObject('other', 'x');
    await ol.deleteBucket('other');
    await expect(ol.getBucketInfo('other')).rejects.toMatchObject({ code: 'BucketNotFound' });
    await expect(ol.putObject('nope', 'k', bodyOf(Buffer.alloc(1)))).rejects.toMatchObject({ code: 'BucketNotFound' });
  });

  for (const size of [0, 1, 4096, 4097, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 10 * 64 * 1024 + 7]) {
    it(`round-trips ${size} bytes`, async () => {
      const data = pattern(size, size + 1);
      const info = await ol.putObject('bkt', `obj-${size}`, bodyOf(data, 10_000), {
        size,
        headers: { contentType: 'application/x-test' },
        userMetadata: { a: 'b' },
      });
      expect(info.etag).toBe(md5hex(data));
      expect(info.size).toBe(size);
      const got = await ol.getObject('bkt', `obj-${size}`);
      expect(got.info).toMatchObject({ etag: md5hex(data), size, headers: { contentType: 'application/x-test' }, userMetadata: { a: 'b' } });
      const bytes = await readAll(got.stream);
      expect(bytes.equals(data)).toBe(true);
    });
  }

  it('serves byte ranges, including across blocks', async () => {
    const data = pattern(300_000, 7);
    await ol.putObject('bkt', 'r', bodyOf(data));
    for (const [start, end] of [
      [0, 0],
      [65_535, 65_537],
      [1000, 299_999],
      [299_999, 299_999],
    ] as const) {
      const got = await ol.getObject('bkt', 'r', { range: { start, end } });
      expect(got.range).toEqual({ start, end });
      expect((await readAll(got.stream)).equals(data.subarray(start, end + 1))).toBe(true);
    }
    await expect(ol.getObject('bkt', 'r', { range: { start: 10, end: 300_000 } })).rejects.toMatchObject({
      code: 'InvalidRange',
    });
  });

  it('heads, overwrites and deletes', async () => {
    await ol.putObject('bkt', 'k', bodyOf(Buffer.from('first')));
    await ol.putObject('bkt', 'k', bodyOf(Buffer.from('second!')));
    const head = await ol.headObject('bkt', 'k');
    expect(head.size).toBe(7);
    expect((await readAll((await ol.getObject('bkt', 'k')).stream)).toString()).toBe('second!');
    const removed = await ol.deleteObject('bkt', 'k');
    expect(removed?.size).toBe(7);
    await expect(ol.headObject('bkt', 'k')).rejects.toMatchObject({ code: 'ObjectNotFound' });
    expect(await ol.deleteObject('bkt', 'k')).toBeUndefined();
  });

  it('validates keys and stores hostile keys safely', async () => {
    await expect(ol.putObject('bkt', 'a\0b', bodyOf(Buffer.alloc(1)))).rejects.toMatchObject({ code: 'InvalidObjectName' });
    await expect(ol.putObject('bkt', 'x'.repeat(1025), bodyOf(Buffer.alloc(1)))).rejects.toMatchObject({
      code: 'InvalidObjectName',
    });
    const data = pattern(10_000, 3);
    await ol.putObject('bkt', '../../etc/passwd', bodyOf(data));
    expect((await readAll((await ol.getObject('bkt', '../../etc/passwd')).stream)).equals(data)).toBe(true);
  });

  it('checks sizes and digests, committing nothing on mismatch', async () => {
    await expect(ol.putObject('bkt', 'short', bodyOf(Buffer.alloc(10)), { size: 11 })).rejects.toMatchObject({
      code: 'IncompleteBody',
    });
    await expect(ol.putObject('bkt', 'long', bodyOf(Buffer.alloc(100_000)), { size: 99_999 })).rejects.toMatchObject({
      code: 'IncompleteBody',
    });
    const data = pattern(100_000, 9);
    await expect(
      ol.putObject('bkt', 'md5', bodyOf(data), { contentMd5: createHash('md5').update('other').digest('base64') }),
    ).rejects.toMatchObject({ code: 'BadDigest' });
    await expect(
      ol.putObject('bkt', 'sha', bodyOf(data), { checksum: { algorithm: 'SHA256', expected: 'AAAA' } }),
    ).rejects.toMatchObject({ code: 'BadDigest' });
    for (const k of ['short', 'long', 'md5', 'sha']) await expect(ol.headObject('bkt', k)).rejects.toMatchObject({ code: 'ObjectNotFound' });
    const sha = createHash('sha256').update(data).digest('base64');
    const ok = await ol.putObject('bkt', 'sha', bodyOf(data), {
      contentMd5: createHash('md5').update(data).digest('base64'),
      checksum: { algorithm: 'SHA256', expected: () => sha },
    });
    expect(ok.checksums.SHA256).toBe(sha);
    expect((await ol.headObject('bkt', 'sha')).checksums.SHA256).toBe(sha);
    await expect(ol.putObject('bkt', 'big', bodyOf(Buffer.alloc(1)), { size: 6 * 1024 ** 3 })).rejects.toMatchObject({
      code: 'EntityTooLarge',
    });
    await expect(ol.putObject('bkt', 'sc', bodyOf(Buffer.alloc(1)), { storageClass: 'GLACIER' })).rejects.toMatchObject({
      code: 'InvalidStorageClass',
    });
  });

  it('lists with prefix, delimiter, after and maxKeys', async () => {
    const keys = ['a/1', 'a/2', 'a/b/3', 'b', 'c/x', 'c/y', 'd', 'é', '😀'];
    await Promise.all(keys.map((k) => ol.putObject('bkt', k, bodyOf(Buffer.from(k)))));
    const all = await ol.listObjects('bkt');
    expect(all.objects.map((o) => o.key)).toEqual(keys);
    expect(all.isTruncated).toBe(false);
    expect(all.objects[0]).toMatchObject({ size: 3, etag: md5hex(Buffer.from('a/1')), storageClass: 'STANDARD' });

    const top = await ol.listObjects('bkt', { delimiter: '/' });
    expect(top.commonPrefixes).toEqual(['a/', 'c/']);
    expect(top.objects.map((o) => o.key)).toEqual(['b', 'd', 'é', '😀']);

    const inA = await ol.listObjects('bkt', { prefix: 'a/', delimiter: '/' });
    expect(inA.objects.map((o) => o.key)).toEqual(['a/1', 'a/2']);
    expect(inA.commonPrefixes).toEqual(['a/b/']);

    // Paging through with delimiter: prefixes count toward maxKeys and nextAfter skips them.
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await ol.listObjects('bkt', { delimiter: '/', maxKeys: 2, ...(after ? { after } : {}) });
      seen.push(...page.commonPrefixes, ...page.objects.map((o) => o.key));
      if (!page.isTruncated) break;
      after = page.nextAfter;
    }
    expect(seen.sort()).toEqual(['a/', 'b', 'c/', 'd', 'é', '😀'].sort());

    const afterB = await ol.listObjects('bkt', { after: 'b', maxKeys: 2 });
    expect(afterB.objects.map((o) => o.key)).toEqual(['c/x', 'c/y']);
    expect(afterB).toMatchObject({ isTruncated: true, nextAfter: 'c/y' });
    expect((await ol.listObjects('bkt', { prefix: 'zz' })).objects).toEqual([]);
  });
});
